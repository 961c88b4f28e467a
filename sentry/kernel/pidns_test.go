package kernel

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// bareKernel returns a kernel with only the ID tables, for the namespace
// bookkeeping.
func bareKernel() *Kernel {
	k := &Kernel{
		nextID:       1,
		tasks:        make(map[int32]*Task),
		threadGroups: make(map[int32]*ThreadGroup),
		idNS:         make(map[int32]*PIDNamespace),
	}
	k.rootPIDNS = newRootPIDNamespace(k)
	return k
}

// addProcess makes a one-task process of ns as clone does, without a
// goroutine.
func addProcess(t *testing.T, k *Kernel, ns *PIDNamespace, parent *ThreadGroup) *ThreadGroup {
	t.Helper()
	id, err := k.allocIDsLocked(ns)
	if err != nil {
		t.Fatal(err)
	}
	task := &Task{k: k, tid: id, pidns: ns, childPIDNS: ns}
	tg := k.newThreadGroup(id, ns, parent, &SignalHandlers{}, DefaultLimits())
	tg.leader = task
	tg.tasks[task] = struct{}{}
	task.tg = tg
	k.tasks[id] = task
	return tg
}

func TestPIDNamespaceIDs(t *testing.T) {
	k := bareKernel()
	k.mu.Lock()
	defer k.mu.Unlock()
	root := k.rootPIDNS
	a := addProcess(t, k, root, nil)
	b := addProcess(t, k, root, a)
	ns1, err := root.newChildLocked()
	if err != nil {
		t.Fatal(err)
	}
	init1 := addProcess(t, k, ns1, b)
	ns2, _ := ns1.newChildLocked()
	init2 := addProcess(t, k, ns2, init1)
	leaf := addProcess(t, k, ns2, init2)

	if a.id != 1 || b.id != 2 || init1.id != 3 || init2.id != 4 || leaf.id != 5 {
		t.Fatalf("root IDs %d %d %d %d %d", a.id, b.id, init1.id, init2.id, leaf.id)
	}
	for _, c := range []struct {
		ns   *PIDNamespace
		tg   *ThreadGroup
		want int32
	}{
		{root, leaf, 5}, {ns1, leaf, 3}, {ns2, leaf, 2},
		{ns1, init1, 1}, {ns2, init2, 1}, {ns1, init2, 2},
		{ns1, b, 0}, {ns2, init1, 0},
	} {
		if got := c.ns.idLocked(c.tg.id); got != c.want {
			t.Errorf("level %d: ID of root %d is %d, want %d", c.ns.level, c.tg.id, got, c.want)
		}
	}
	if ns1.init != init1 || ns2.init != init2 || !init2.isInitLocked() || leaf.isInitLocked() {
		t.Fatalf("inits: %v %v", ns1.init, ns2.init)
	}
	if got := ns2.lookupThreadGroupLocked(2); got != leaf {
		t.Fatalf("ns2's 2 is %v", got)
	}
	if got := ns2.lookupThreadGroupLocked(3); got != nil {
		t.Fatalf("ns2 sees %v as 3", got)
	}
	if got := nsIDsOfLocked(ns1, ns2, leaf.id); len(got) != 2 || got[0] != 3 || got[1] != 2 {
		t.Fatalf("NSpid from ns1: %v", got)
	}
	if got := nsIDsOfLocked(root, ns2, leaf.id); len(got) != 3 || got[0] != 5 {
		t.Fatalf("NSpid from the root: %v", got)
	}

	// An ID used as a process group outlives its process.
	b.pgid = leaf.id
	delete(k.tasks, leaf.id)
	delete(k.threadGroups, leaf.id)
	k.releaseIDLocked(leaf.id)
	if ns2.idLocked(leaf.id) != 2 {
		t.Fatal("a process group's ID was released")
	}
	if id := k.allocIDLocked(); id == leaf.id {
		t.Fatal("the root ID of a live process group was reused")
	}
	b.pgid = b.id
	k.releaseIDLocked(leaf.id)
	if ns2.idLocked(leaf.id) != 0 || ns1.idLocked(leaf.id) != 0 || k.idNS[leaf.id] != nil {
		t.Fatal("a free ID is still mapped")
	}

	// A namespace whose init has exited takes no new process.
	ns2.dead = true
	if _, err := k.allocIDsLocked(ns2); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("allocating in a dead namespace: %v", err)
	}
	// Nesting stops at level 32.
	n := root
	for n.level < maxPIDNSLevel {
		child, err := n.newChildLocked()
		if err != nil {
			t.Fatalf("level %d: %v", n.level+1, err)
		}
		n = child
	}
	if _, err := n.newChildLocked(); !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("level 33: %v", err)
	}
}
