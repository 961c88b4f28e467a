package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"golang.org/x/sys/unix"
)

// A task's cgroup and time namespaces, the members of Linux's nsproxy the
// Task struct has no field for, are kept beside it in taskNamespaces: a
// task without an entry is in the initial ones. An entry is made the
// first time a task leaves them (clone, unshare or setns) and goes when
// the task is collected, as the UTS namespace numbers of introspect.go
// do.

// nsSet is a task's cgroup and time namespaces. A value is never changed
// once stored: a change stores a new one, so readers (/proc, from other
// goroutines) need no lock.
type nsSet struct {
	// cgroup is the task's cgroup namespace.
	cgroup *CgroupNamespace
	// time is the namespace the task's clocks are read in;
	// timeForChildren the one its later children join (Linux's
	// time_ns_for_children), different from time after
	// unshare(CLONE_NEWTIME) until a child joins it.
	time, timeForChildren *TimeNamespace
}

// initialNSSet is the set of a task without an entry.
var initialNSSet = &nsSet{cgroup: initialCgroupNS, time: initialTimeNS, timeForChildren: initialTimeNS}

var (
	// taskNamespaces maps tasks that left an initial namespace to their
	// *nsSet. Written by the task's own goroutine (unshare, setns) and
	// by clone for a child that has not started yet.
	taskNamespaces sync.Map // weak.Pointer[Task] → *nsSet
	// anyTaskNamespaces is set once taskNamespaces has an entry, so
	// that the clock system calls of a sandbox that never made a time
	// namespace do not look up their task there.
	anyTaskNamespaces atomic.Bool
)

// nsSet returns the task's cgroup and time namespaces.
func (t *Task) nsSet() *nsSet {
	if !anyTaskNamespaces.Load() {
		return initialNSSet
	}
	if v, ok := taskNamespaces.Load(weak.Make(t)); ok {
		return v.(*nsSet)
	}
	return initialNSSet
}

// setNSSet replaces the task's cgroup and time namespaces.
func (t *Task) setNSSet(s *nsSet) {
	if s == initialNSSet && !anyTaskNamespaces.Load() {
		return
	}
	anyTaskNamespaces.Store(true)
	key := weak.Make(t)
	if _, loaded := taskNamespaces.Swap(key, s); !loaded {
		runtime.AddCleanup(t, func(key weak.Pointer[Task]) { taskNamespaces.Delete(key) }, key)
	}
}

// extraNamespaceFlags are the namespaces whose unshare is done here
// rather than in Unshare (uts.go), which knows only the others.
const extraNamespaceFlags = unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// UnshareNamespaces implements unshare(2): the cgroup and time
// namespaces here, everything else in Unshare. All flags are checked
// before anything changes, as Linux's unshare does.
func (t *Task) UnshareNamespaces(flags uint64) error {
	const supported = unix.CLONE_FILES | unix.CLONE_FS | unix.CLONE_SYSVSEM | cloneNamespaces
	if flags&^supported != 0 {
		return unix.EINVAL
	}
	if flags&namespaceFlags != 0 && !t.creds.HasCap(CapSysAdmin) {
		return unix.EPERM
	}
	if err := t.Unshare(flags &^ extraNamespaceFlags); err != nil {
		return err
	}
	if flags&extraNamespaceFlags == 0 {
		return nil
	}
	// Nothing fails from here on.
	cur := t.nsSet()
	s := *cur
	if flags&unix.CLONE_NEWCGROUP != 0 {
		s.cgroup = newCgroupNamespace()
	}
	if flags&unix.CLONE_NEWTIME != 0 {
		// The caller stays in its time namespace; its later children
		// join the new one (timens_on_fork).
		s.timeForChildren = cur.timeForChildren.clone()
	}
	t.setNSSet(&s)
	return nil
}

// cloneNSSet returns the cgroup and time namespaces of a child that clone
// with flags makes (copy_namespaces, timens_on_fork), and whether the
// child's time namespace has offsets that its vDSO must see.
func (t *Task) cloneNSSet(flags uint64) (*nsSet, bool) {
	cur := t.nsSet()
	s := *cur
	if flags&unix.CLONE_NEWCGROUP != 0 {
		s.cgroup = newCgroupNamespace()
	}
	if flags&unix.CLONE_NEWTIME != 0 {
		s.timeForChildren = cur.timeForChildren.clone()
	}
	switchVDSO := false
	if flags&unix.CLONE_VM == 0 && s.time != s.timeForChildren {
		// A child with an address space of its own joins the time
		// namespace for children; one sharing the caller's (a
		// thread, vfork) stays in the caller's, whose clocks its
		// memory's vDSO reads.
		s.time = s.timeForChildren
		s.time.freeze()
		switchVDSO = s.time.hasOffsets()
	}
	if s == *cur {
		return cur, false
	}
	return &s, switchVDSO
}

// Namespace kinds a process's ns/ links name beyond those ProcessSnapshot
// reports.
const (
	NSCgroup          = "cgroup"
	NSTime            = "time"
	NSTimeForChildren = "time_for_children"
)

// ProcessNamespace returns the namespace behind /proc/[pid]/ns/<kind> of
// process pid of ns, for kind NSCgroup, NSTime or NSTimeForChildren: its
// inode number and the object setns(2) joins. ok is false when the
// process has exited (Linux's ns links of a zombie do not resolve).
func (k *Kernel) ProcessNamespace(ns *PIDNamespace, pid int32, kind string) (ino uint64, obj any, ok bool) {
	rep := k.liveTaskOf(ns, pid)
	if rep == nil {
		return 0, nil, false
	}
	s := rep.nsSet()
	switch kind {
	case NSCgroup:
		return s.cgroup.ino, s.cgroup, true
	case NSTime:
		return s.time.ino, s.time, true
	case NSTimeForChildren:
		return s.timeForChildren.ino, s.timeForChildren, true
	}
	return 0, nil, false
}

// liveTaskOf returns a live task of process pid of ns, the leader when it
// lives; nil when the process is a zombie or does not exist.
func (k *Kernel) liveTaskOf(ns *PIDNamespace, pid int32) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := ns.lookupThreadGroupLocked(pid)
	if tg == nil || tg.zombie {
		return nil
	}
	if _, live := tg.tasks[tg.leader]; live {
		return tg.leader
	}
	for t := range tg.tasks {
		return t
	}
	return nil
}
