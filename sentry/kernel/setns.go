package kernel

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// setns(2): a task joins namespaces named by /proc/[pid]/ns files (whose
// vfs.NamespaceInode holds one of the namespace objects below) or by a
// pidfd (the process's namespaces of each kind asked for).

// initialNetNS is the object that stands for the initial network
// namespace in /proc/[pid]/ns/net files (a task in it has a nil netns).
var initialNetNS = struct {
	once sync.Once
	ns   *NetNamespace
}{}

// InitialNetNamespace returns the object that stands for the sandbox's
// initial network namespace.
func InitialNetNamespace() *NetNamespace {
	initialNetNS.once.Do(func() { initialNetNS.ns = &NetNamespace{ino: initialNetNamespaceID} })
	return initialNetNS.ns
}

// NetNamespaceOrInitial returns the task's network namespace, the
// InitialNetNamespace object for the initial one.
func (t *Task) NetNamespaceOrInitial() *NetNamespace {
	if n := t.netns.Load(); n != nil {
		return n
	}
	return InitialNetNamespace()
}

// NamespaceFlag returns the CLONE_NEW* flag of a namespace object as
// setns(2) takes it, 0 for an object that is none.
func NamespaceFlag(ns any) uint64 {
	switch ns.(type) {
	case *vfs.MountNamespace:
		return unix.CLONE_NEWNS
	case *UTSNamespace:
		return unix.CLONE_NEWUTS
	case *IPCNamespace:
		return unix.CLONE_NEWIPC
	case *NetNamespace:
		return unix.CLONE_NEWNET
	case *PIDNamespace:
		return unix.CLONE_NEWPID
	case *CgroupNamespace:
		return unix.CLONE_NEWCGROUP
	case *TimeNamespace:
		return unix.CLONE_NEWTIME
	case *UserNamespace:
		return unix.CLONE_NEWUSER
	}
	return 0
}

// Namespaces returns the namespaces of the process that setns(2) with a
// pidfd joins, those of kinds flags asks for (CLONE_NEW* flags of the
// kinds the sandbox has): its user, mount, UTS, IPC, network, cgroup and
// time namespaces and its active PID namespace. ESRCH once it exited.
func (tg *ThreadGroup) Namespaces(flags uint64) ([]any, error) {
	k := tg.k
	k.mu.Lock()
	var rep *Task
	if !tg.zombie {
		if _, live := tg.tasks[tg.leader]; live {
			rep = tg.leader
		} else {
			for t := range tg.tasks {
				rep = t
				break
			}
		}
	}
	var out []any
	if rep != nil {
		if flags&unix.CLONE_NEWUSER != 0 {
			out = append(out, rep.creds.UserNamespace())
		}
		if flags&unix.CLONE_NEWUTS != 0 {
			out = append(out, rep.uts)
		}
		if flags&unix.CLONE_NEWIPC != 0 {
			out = append(out, rep.IPCNamespace())
		}
		if flags&unix.CLONE_NEWNET != 0 {
			out = append(out, rep.NetNamespaceOrInitial())
		}
		if flags&unix.CLONE_NEWPID != 0 {
			out = append(out, rep.pidns)
		}
		if flags&(unix.CLONE_NEWCGROUP|unix.CLONE_NEWTIME) != 0 {
			s := rep.nsSet()
			if flags&unix.CLONE_NEWCGROUP != 0 {
				out = append(out, s.cgroup)
			}
			if flags&unix.CLONE_NEWTIME != 0 {
				out = append(out, s.time)
			}
		}
	}
	k.mu.Unlock()
	if rep == nil {
		return nil, unix.ESRCH
	}
	if flags&unix.CLONE_NEWNS != 0 {
		mnt, err := tg.MountNamespace()
		if err != nil {
			return nil, err
		}
		out = append(out, mnt)
	}
	return out, nil
}

// Setns moves the caller into each of namespaces (objects NamespaceFlag
// knows, at most one of each kind), all or none of them.
//
// A user namespace is checked first, and the other kinds with the
// credentials it gives, as Linux's validate_nsset installs it first: it
// must not be the caller's own (EINVAL: re-entering it would restore
// capabilities), the caller must be a process of one thread with a
// file-system context of its own (EINVAL), and hold CAP_SYS_ADMIN in it
// (EPERM); the caller then has every capability in it. Every other kind
// asks for CAP_SYS_ADMIN both in the user namespace that owns it and in
// the caller's own (the mount namespace also for CAP_SYS_CHROOT, and a
// file-system context of the caller's own); a PID namespace must be the
// caller's active one or below it, and becomes the namespace of its later
// children only, as Linux's pidns_install does. Joining an IPC namespace
// leaves the semaphore undo list, as exit_sem does. A time namespace is
// joined only by a process of one thread that shares its address space
// with no other (EUSERS, timens_install), and becomes the namespace of
// the caller and of its later children.
func (t *Task) Setns(namespaces []any) error {
	var (
		user *UserNamespace
		mnt  *vfs.MountNamespace
		uts  *UTSNamespace
		ipc  *IPCNamespace
		net  *NetNamespace
		pid  *PIDNamespace
		cg   *CgroupNamespace
		tns  *TimeNamespace
	)
	for _, ns := range namespaces {
		switch ns := ns.(type) {
		case *UserNamespace:
			user = ns
		case *vfs.MountNamespace:
			mnt = ns
		case *UTSNamespace:
			uts = ns
		case *IPCNamespace:
			ipc = ns
		case *NetNamespace:
			net = ns
		case *PIDNamespace:
			pid = ns
		case *CgroupNamespace:
			cg = ns
		case *TimeNamespace:
			tns = ns
		default:
			return unix.EINVAL
		}
	}
	creds := t.creds
	if user != nil {
		switch {
		case user == creds.UserNamespace(), !t.singleThreaded(), t.fs.refs.Load() > 1:
			return unix.EINVAL
		case !creds.HasCapIn(user, CapSysAdmin):
			return unix.EPERM
		}
		creds = inUserNamespace(creds, user)
	}
	for _, ns := range namespaces {
		if _, ok := ns.(*UserNamespace); ok {
			continue
		}
		if !creds.HasCapIn(namespaceOwner(ns), CapSysAdmin) || !creds.HasOwnCap(CapSysAdmin) {
			return unix.EPERM
		}
	}
	if mnt != nil {
		if !creds.HasOwnCap(capSysChroot) {
			return unix.EPERM
		}
		if t.fs.refs.Load() > 1 {
			return unix.EINVAL
		}
	}
	if pid != nil && (pid.k != t.k || !t.pidns.isAncestorOf(pid)) {
		return unix.EINVAL
	}
	if tns != nil && !t.singleThreadedMM() {
		return unix.EUSERS
	}
	if net != nil && net.stack != nil && net != t.netns.Load() && !net.incUsers() {
		// Stopped with its last task: nothing names it any more.
		return unix.EINVAL
	}
	// Nothing fails from here on.
	if net != nil && net != t.NetNamespaceOrInitial() {
		if net.stack == nil {
			t.setNetNS(nil)
		} else {
			t.setNetNS(net)
		}
	}
	if mnt != nil {
		if err := t.SetMountNamespace(mnt); err != nil {
			return err
		}
	}
	if ipc != nil && ipc != t.IPCNamespace() {
		if ipc == t.k.IPC() {
			t.setIPCNS(nil)
		} else {
			t.setIPCNS(ipc)
		}
	}
	if cg != nil || tns != nil {
		cur := t.nsSet()
		s := *cur
		if cg != nil {
			s.cgroup = cg
		}
		if tns != nil {
			s.time, s.timeForChildren = tns, tns
			tns.freeze()
		}
		t.setNSSet(&s)
		if tns != nil && tns != cur.time && tns.hasOffsets() {
			t.useTimeNamespaceVDSO()
		}
	}
	if user != nil {
		// Last, so that the steps above that check the caller's
		// capabilities themselves see those it had.
		t.UpdateCredentials(func(c *Credentials) { *c = inUserNamespace(*c, user) })
	}
	if uts != nil || pid != nil {
		t.k.mu.Lock()
		if uts != nil {
			t.uts = uts
		}
		if pid != nil {
			t.childPIDNS = pid
		}
		t.k.mu.Unlock()
	}
	return nil
}

// singleThreadedMM reports whether the task is the only task of its
// process and its address space is used by no other process (Linux's
// current_is_single_threaded).
func (t *Task) singleThreadedMM() bool {
	t.k.mu.Lock()
	n := len(t.tg.tasks)
	t.k.mu.Unlock()
	return n == 1 && t.mm.Users() == 1
}
