package kernel

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A task's cgroup and time namespaces, the members of Linux's nsproxy
// that have no field of their own in Task, are kept together in an nsSet
// that Task.namespaces points at (nil: the initial ones).

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

// initialNSSet is the set of a task whose namespaces pointer is nil.
var initialNSSet = &nsSet{cgroup: initialCgroupNS, time: initialTimeNS, timeForChildren: initialTimeNS}

// anyTaskNamespaces is set once a task has left the initial cgroup or
// time namespace, so that the clock system calls of a sandbox that never
// made a time namespace need not look at their task's set.
var anyTaskNamespaces atomic.Bool

// nsSet returns the task's cgroup and time namespaces.
func (t *Task) nsSet() *nsSet {
	if s := t.namespaces.Load(); s != nil {
		return s
	}
	return initialNSSet
}

// setNSSet replaces the task's cgroup and time namespaces.
func (t *Task) setNSSet(s *nsSet) {
	if s != initialNSSet {
		anyTaskNamespaces.Store(true)
	}
	t.namespaces.Store(s)
}

// extraNamespaceFlags are the namespaces whose unshare is done here
// rather than in Unshare (uts.go), which knows only the others.
const extraNamespaceFlags = unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// UnshareNamespaces implements unshare(2): the user, cgroup and time
// namespaces here, everything else in Unshare. All flags are checked
// before anything changes, as Linux's unshare does.
//
// A new user namespace comes first: it implies CLONE_THREAD (EINVAL in a
// process of more than one thread) and CLONE_FS, and the caller gets
// every capability in it. The other new namespaces belong to the
// caller's user namespace, the new one if it made one, and ask for
// CAP_SYS_ADMIN there (unshare_nsproxy_namespaces).
func (t *Task) UnshareNamespaces(flags uint64) error {
	const supported = unix.CLONE_FILES | unix.CLONE_FS | unix.CLONE_SYSVSEM | cloneNamespaces
	if flags&^supported != 0 {
		return unix.EINVAL
	}
	creds := &t.creds
	var userCreds Credentials
	if flags&unix.CLONE_NEWUSER != 0 {
		if !t.singleThreaded() {
			return unix.EINVAL
		}
		flags |= unix.CLONE_FS
		ns, err := t.newUserNamespace()
		if err != nil {
			return err
		}
		userCreds = inUserNamespace(t.creds, ns)
		creds = &userCreds
	}
	others := flags & namespaceFlags &^ unix.CLONE_NEWUSER
	if others != 0 && !creds.HasOwnCap(CapSysAdmin) {
		return unix.EPERM
	}
	if flags&unix.CLONE_NEWUSER != 0 {
		// First, so that the namespaces Unshare makes belong to the
		// new user namespace; taken back if Unshare fails.
		old := t.creds
		t.UpdateCredentials(func(c *Credentials) { *c = userCreds })
		if err := t.Unshare(flags &^ (extraNamespaceFlags | unix.CLONE_NEWUSER)); err != nil {
			t.UpdateCredentials(func(c *Credentials) { *c = old })
			return err
		}
	} else if err := t.Unshare(flags &^ extraNamespaceFlags); err != nil {
		return err
	}
	// Nothing fails from here on.
	if flags&extraNamespaceFlags == 0 {
		return nil
	}
	cur := t.nsSet()
	s := *cur
	if flags&unix.CLONE_NEWCGROUP != 0 {
		s.cgroup = newCgroupNamespace(t.creds.UserNamespace())
	}
	if flags&unix.CLONE_NEWTIME != 0 {
		// The caller stays in its time namespace; its later children
		// join the new one (timens_on_fork).
		s.timeForChildren = cur.timeForChildren.clone()
	}
	t.setNSSet(&s)
	return nil
}

// singleThreaded reports whether the task is the only one of its
// process (thread_group_empty).
func (t *Task) singleThreaded() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return len(t.tg.tasks) == 1
}

// cloneNSSet returns the cgroup and time namespaces of a child that clone
// with flags makes (copy_namespaces, timens_on_fork), new ones owned by
// the child's user namespace owner, and whether the
// child's time namespace has offsets that its vDSO must see.
func (t *Task) cloneNSSet(flags uint64, owner *UserNamespace) (*nsSet, bool) {
	cur := t.nsSet()
	s := *cur
	if flags&unix.CLONE_NEWCGROUP != 0 {
		s.cgroup = newCgroupNamespace(owner)
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
	NSUser            = "user"
	NSCgroup          = "cgroup"
	NSTime            = "time"
	NSTimeForChildren = "time_for_children"
)

// ProcessNamespace returns the namespace behind /proc/[pid]/ns/<kind> of
// process pid of ns, for kind NSUser, NSCgroup, NSTime or
// NSTimeForChildren: its inode number and the object setns(2) joins. ok
// is false when the process has exited (Linux's ns links of a zombie do
// not resolve).
func (k *Kernel) ProcessNamespace(ns *PIDNamespace, pid int32, kind string) (ino uint64, obj any, ok bool) {
	rep := k.liveTaskOf(ns, pid)
	if rep == nil {
		return 0, nil, false
	}
	s := rep.nsSet()
	switch kind {
	case NSUser:
		k.mu.Lock()
		u := rep.creds.UserNamespace()
		k.mu.Unlock()
		return u.ino, u, true
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
