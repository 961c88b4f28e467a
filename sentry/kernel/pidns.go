package kernel

import (
	"golang.org/x/sys/unix"
)

// PID namespaces.
//
// Inside the kernel every task, thread group, process group and session is
// named by its ID in the root PID namespace (the kernel's own): Task.tid,
// ThreadGroup.id, ThreadGroup.pgid and ThreadGroup.sid are root IDs, and
// Kernel.tasks and Kernel.threadGroups are keyed by them. The root
// namespace is what `cocoon do` runs in and what the daemon sees (the
// control protocol's PIDs are root IDs).
//
// A namespace below the root is a translation table: for every root ID
// visible in it, the number it has there (fromRoot, and toRoot the other
// way). A task created in namespace N gets an ID in N and in each of N's
// ancestors, each from that namespace's own counter, so it is visible in N
// and above it, never below; its thread group shares its leader's IDs. An
// ID stays allocated, in every namespace it has a number in, while a task,
// an unreaped thread group or a process group or session (ThreadGroup.pgid
// and sid) uses it, as Linux's struct pid does (releaseIDLocked).
//
// Every place an ID crosses the user boundary translates through the
// caller's namespace (Task.PIDNamespace): IDs coming in with the Lookup*
// methods, IDs going out with Task.IDOf* and PIDNamespace.IDOf*. An ID not
// visible in the namespace reads as 0 (getppid of a namespace's init, the
// si_pid of a signal from an ancestor namespace) and one that has no
// number there is ESRCH. The root namespace translates as the identity,
// so a sandbox whose processes all live in it behaves as it did before
// namespaces existed.
//
// A namespace's init is the first process created in it (ID 1). Signals
// it has no handler for are ignored when they come from inside its
// namespace; SIGKILL and SIGSTOP from an ancestor namespace reach it.
// Orphans of the namespace are reparented to it (or to a subreaper inside
// the namespace). When it exits, no process can be created in the
// namespace any more (ENOMEM), every other process in it (nested
// namespaces included) is SIGKILLed, and init becomes a zombie for its
// parent only once all of them have been reaped (Linux's
// zap_pid_ns_processes), so that a parent that reaped a namespace's init
// knows the namespace is empty.
//
// In pod mode each container has a namespace of its own, a child of the
// root, made with the container; its init is the container's init and the
// processes the daemon execs into the container join it (their parent is
// outside the namespace: getppid is 0). clone(CLONE_NEWPID) and
// unshare(CLONE_NEWPID) (which changes only the namespace of the caller's
// later children, pid_for_children) make namespaces below any namespace,
// up to maxPIDNSLevel deep.

// NoPIDNamespace is ProcessInfo.ChildPIDNamespace for a namespace made by
// unshare whose first process does not exist yet: Linux's
// /proc/[pid]/ns/pid_for_children is then unreadable (ENOENT).
const NoPIDNamespace = ^uint64(0)

// maxPIDNSLevel is Linux's MAX_PID_NS_LEVEL: the deepest namespace's level
// (the root's is 0).
const maxPIDNSLevel = 32

// PIDNamespace is a PID namespace.
type PIDNamespace struct {
	k *Kernel
	// parent is nil for the root namespace; level counts the ancestors.
	parent *PIDNamespace
	level  int
	// ino is the namespace's inode number (/proc/[pid]/ns/pid); 0 for
	// the root, which /proc shows with Linux's initial number.
	ino uint64

	// Fields below are protected by k.mu.

	// next is the next ID to try; the root namespace uses Kernel.nextID.
	next int32
	// fromRoot maps the root ID of everything visible here to its ID
	// here; toRoot is the reverse. Both are nil in the root namespace.
	fromRoot map[int32]int32
	toRoot   map[int32]int32
	// init is the namespace's init, nil until its first process exists.
	init *ThreadGroup
	// dead is set once init has exited: no process may be created here.
	dead bool
	// procs counts the thread groups, init included, with an ID here
	// that are not reaped (not kept for the root).
	procs int
	// exitingInit is init when it has exited while other processes of the
	// namespace remained; it becomes a zombie once they are reaped.
	exitingInit *ThreadGroup
}

// newRootPIDNamespace returns k's root namespace.
func newRootPIDNamespace(k *Kernel) *PIDNamespace {
	return &PIDNamespace{k: k}
}

// newChildLocked returns a new namespace below ns (ENOSPC past the nesting
// limit).
//
// Preconditions: k.mu is held.
func (ns *PIDNamespace) newChildLocked() (*PIDNamespace, error) {
	if ns.level >= maxPIDNSLevel {
		return nil, unix.ENOSPC
	}
	nsIDsInit.Do(func() { nextNSID.Store(firstDynamicNSID) })
	return &PIDNamespace{
		k:        ns.k,
		parent:   ns,
		level:    ns.level + 1,
		ino:      nextNSID.Add(1),
		next:     1,
		fromRoot: make(map[int32]int32),
		toRoot:   make(map[int32]int32),
	}, nil
}

// NewPIDNamespace returns a new namespace, a child of the root.
func (k *Kernel) NewPIDNamespace() *PIDNamespace {
	k.mu.Lock()
	defer k.mu.Unlock()
	ns, _ := k.rootPIDNS.newChildLocked()
	return ns
}

// RootPIDNamespace returns the kernel's root namespace.
func (k *Kernel) RootPIDNamespace() *PIDNamespace { return k.rootPIDNS }

// Parent returns the parent namespace, nil for the root.
func (ns *PIDNamespace) Parent() *PIDNamespace { return ns.parent }

// Level returns the number of ancestors of ns.
func (ns *PIDNamespace) Level() int { return ns.level }

// Ino returns the namespace's inode number, 0 for the root namespace.
func (ns *PIDNamespace) Ino() uint64 { return ns.ino }

// isRoot reports whether ns is the root namespace.
func (ns *PIDNamespace) isRoot() bool { return ns.parent == nil }

// idLocked returns the ID root has in ns, 0 if it is not visible there.
//
// Preconditions: k.mu is held.
func (ns *PIDNamespace) idLocked(root int32) int32 {
	if ns.isRoot() || root <= 0 {
		return root
	}
	return ns.fromRoot[root]
}

// rootLocked returns the root ID of ID id of ns; ok is false when id names
// nothing there (for the root namespace, any positive id is returned).
//
// Preconditions: k.mu is held.
func (ns *PIDNamespace) rootLocked(id int32) (int32, bool) {
	if id <= 0 {
		return 0, false
	}
	if ns.isRoot() {
		return id, true
	}
	r, ok := ns.toRoot[id]
	return r, ok
}

// isAncestorOf reports whether ns is other or one of its ancestors.
func (ns *PIDNamespace) isAncestorOf(other *PIDNamespace) bool {
	for n := other; n != nil && n.level >= ns.level; n = n.parent {
		if n == ns {
			return true
		}
	}
	return false
}

// canSeeLocked reports whether root ID root is visible in ns.
//
// Preconditions: k.mu is held.
func (ns *PIDNamespace) canSeeLocked(root int32) bool {
	return ns.idLocked(root) != 0
}

// allocLocked returns an unused ID of a namespace below the root.
//
// Preconditions: k.mu is held.
func (ns *PIDNamespace) allocLocked() int32 {
	for {
		id := ns.next
		ns.next++
		if ns.next >= PIDMax {
			ns.next = 2
		}
		if _, used := ns.toRoot[id]; !used {
			return id
		}
	}
}

// allocIDsLocked allocates the IDs of a new task of namespace ns: one in
// ns and in each of its ancestors. It returns the root ID; ENOMEM when the
// namespace's init has exited, as Linux's alloc_pid.
//
// Preconditions: k.mu is held.
func (k *Kernel) allocIDsLocked(ns *PIDNamespace) (int32, error) {
	if ns.dead {
		return 0, unix.ENOMEM
	}
	root := k.allocIDLocked()
	if ns.isRoot() {
		return root, nil
	}
	for n := ns; !n.isRoot(); n = n.parent {
		id := n.allocLocked()
		n.fromRoot[root] = id
		n.toRoot[id] = root
	}
	k.idNS[root] = ns
	return root, nil
}

// releaseIDLocked frees root ID root in the namespaces below the root once
// nothing uses it: no task, no unreaped thread group, no process group or
// session. (Root-only IDs need no bookkeeping: allocIDLocked checks the
// tables.)
//
// Preconditions: k.mu is held.
func (k *Kernel) releaseIDLocked(root int32) {
	ns := k.idNS[root]
	if ns == nil {
		return
	}
	if _, ok := k.tasks[root]; ok {
		return
	}
	if _, ok := k.threadGroups[root]; ok {
		return
	}
	for _, tg := range k.threadGroups {
		if tg.pgid == root || tg.sid == root {
			return
		}
	}
	delete(k.idNS, root)
	for n := ns; !n.isRoot(); n = n.parent {
		id := n.fromRoot[root]
		delete(n.fromRoot, root)
		delete(n.toRoot, id)
	}
}

// threadGroupAddedLocked counts tg, just created, in its namespaces.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) threadGroupAddedLocked() {
	for n := tg.pidns; !n.isRoot(); n = n.parent {
		n.procs++
	}
}

// threadGroupReapedLocked uncounts tg, just reaped, and finishes the exit
// of the inits that waited for it to go.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) threadGroupReapedLocked() {
	var ready []*ThreadGroup
	for n := tg.pidns; !n.isRoot(); n = n.parent {
		n.procs--
		if n.procs == 1 && n.exitingInit != nil {
			ready = append(ready, n.exitingInit)
			n.exitingInit = nil
		}
	}
	for _, init := range ready {
		init.finishExitLocked()
	}
}

// initExitedLocked handles the exit of tg, the init of a namespace below
// the root: the namespace accepts no new process, every other process in
// it is killed, and tg's own exit finishes once they are reaped. It
// reports whether the exit was deferred.
//
// Preconditions: k.mu is held; tg has no tasks left and no children.
func (ns *PIDNamespace) initExitedLocked(tg *ThreadGroup) (deferred bool) {
	ns.dead = true
	for _, other := range ns.k.threadGroups {
		if other != tg && ns.canSeeLocked(other.id) {
			other.killLocked(unix.WaitStatus(unix.SIGKILL))
		}
	}
	if ns.procs > 1 {
		ns.exitingInit = tg
		return true
	}
	return false
}

// PIDNamespace returns the namespace t lives in (where its getpid is
// counted); immutable.
func (t *Task) PIDNamespace() *PIDNamespace { return t.pidns }

// PIDNamespace returns the namespace tg lives in.
func (tg *ThreadGroup) PIDNamespace() *PIDNamespace { return tg.pidns }

// PIDNamespaceForChildren returns the namespace t's children are created
// in (/proc/[pid]/ns/pid_for_children).
func (t *Task) PIDNamespaceForChildren() *PIDNamespace {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.childPIDNS
}

// IDOfThreadGroup returns tg's ID in ns, 0 if it is not visible there.
func (ns *PIDNamespace) IDOfThreadGroup(tg *ThreadGroup) int32 {
	ns.k.mu.Lock()
	defer ns.k.mu.Unlock()
	return ns.idLocked(tg.id)
}

// IDOfTask returns t's thread ID in ns, 0 if it is not visible there.
func (ns *PIDNamespace) IDOfTask(t *Task) int32 {
	ns.k.mu.Lock()
	defer ns.k.mu.Unlock()
	return ns.idLocked(t.tid)
}

// IDOfRoot returns the ID root ID root has in ns, 0 if it is not visible.
func (ns *PIDNamespace) IDOfRoot(root int32) int32 {
	ns.k.mu.Lock()
	defer ns.k.mu.Unlock()
	return ns.idLocked(root)
}

// RootOf returns the root ID of ID id of ns (0 and false if none).
func (ns *PIDNamespace) RootOf(id int32) (int32, bool) {
	ns.k.mu.Lock()
	defer ns.k.mu.Unlock()
	return ns.rootLocked(id)
}

// LookupTask returns the live task with thread ID id in ns.
func (ns *PIDNamespace) LookupTask(id int32) *Task {
	ns.k.mu.Lock()
	defer ns.k.mu.Unlock()
	return ns.lookupTaskLocked(id)
}

func (ns *PIDNamespace) lookupTaskLocked(id int32) *Task {
	root, ok := ns.rootLocked(id)
	if !ok {
		return nil
	}
	return ns.k.tasks[root]
}

// LookupThreadGroup returns the thread group (zombies included, not
// reaped ones) with ID id in ns.
func (ns *PIDNamespace) LookupThreadGroup(id int32) *ThreadGroup {
	ns.k.mu.Lock()
	defer ns.k.mu.Unlock()
	return ns.lookupThreadGroupLocked(id)
}

func (ns *PIDNamespace) lookupThreadGroupLocked(id int32) *ThreadGroup {
	root, ok := ns.rootLocked(id)
	if !ok {
		return nil
	}
	return ns.k.threadGroups[root]
}

// LookupTask returns the live task with thread ID id in t's namespace.
func (t *Task) LookupTask(id int32) *Task { return t.pidns.LookupTask(id) }

// LookupThreadGroup returns the thread group with ID id in t's namespace.
func (t *Task) LookupThreadGroup(id int32) *ThreadGroup { return t.pidns.LookupThreadGroup(id) }

// IDOfThreadGroup returns tg's ID in t's namespace, 0 if not visible.
func (t *Task) IDOfThreadGroup(tg *ThreadGroup) int32 { return t.pidns.IDOfThreadGroup(tg) }

// IDOfTask returns other's thread ID in t's namespace, 0 if not visible.
func (t *Task) IDOfTask(other *Task) int32 { return t.pidns.IDOfTask(other) }

// IDOfRoot translates a root ID (a process group's, a lock owner's) to
// t's namespace, 0 if not visible.
func (t *Task) IDOfRoot(root int32) int32 { return t.pidns.IDOfRoot(root) }

// RootOf translates ID id of t's namespace to a root ID.
func (t *Task) RootOf(id int32) (int32, bool) { return t.pidns.RootOf(id) }

// PPID returns the ID of t's parent process in t's namespace: 0 for init
// and for a process whose parent is outside its namespace.
func (t *Task) PPID() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	p := t.tg.parent
	if p == nil {
		return 0
	}
	return t.pidns.idLocked(p.id)
}

// ProcessGroupIDs returns the process group and session IDs of tg in t's
// namespace (0 for one that is not visible there, as Linux's pid_vnr).
func (t *Task) ProcessGroupIDs(tg *ThreadGroup) (pgid, sid int32) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pidns.idLocked(tg.pgid), t.pidns.idLocked(tg.sid)
}

// UnsharePIDNamespace implements unshare(CLONE_NEWPID): the caller's later
// children are created in a new namespace below its own (the first of them
// is its init). EINVAL when an earlier unshare has not been used by a
// child yet, as Linux refuses to stack them.
//
// The caller (UnshareNamespaces) checks CAP_SYS_ADMIN in the user
// namespace that will own it.
func (t *Task) UnsharePIDNamespace() error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.childPIDNS != t.pidns {
		return unix.EINVAL
	}
	ns, err := t.pidns.newChildLocked()
	if err != nil {
		return err
	}
	t.childPIDNS = ns
	return nil
}
