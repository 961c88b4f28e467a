package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
)

// UTSNamespace holds the host and domain names uname reports; tasks share
// one until they unshare(CLONE_NEWUTS).
type UTSNamespace struct {
	// mu protects hostname and domainname.
	mu                   sync.Mutex
	hostname, domainname string
	// userns is the user namespace that owns it, nil for the initial
	// one; immutable.
	userns *UserNamespace
}

// UserNamespace returns the user namespace that owns the namespace.
func (u *UTSNamespace) UserNamespace() *UserNamespace {
	if u.userns == nil {
		return initialUserNS
	}
	return u.userns
}

// Names returns the host and domain names.
func (u *UTSNamespace) Names() (hostname, domainname string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hostname, u.domainname
}

// clone returns a copy of the namespace owned by owner.
func (u *UTSNamespace) clone(owner *UserNamespace) *UTSNamespace {
	h, d := u.Names()
	return &UTSNamespace{hostname: h, domainname: d, userns: owner}
}

// UTS returns the task's UTS namespace.
func (t *Task) UTS() *UTSNamespace { return t.uts }

// SetHostname implements sethostname(2) (setdomain: setdomainname(2)):
// CAP_SYS_ADMIN in the user namespace that owns the UTS namespace.
func (t *Task) SetHostname(name string, domain bool) error {
	if !t.creds.HasCapIn(t.uts.UserNamespace(), CapSysAdmin) {
		return unix.EPERM
	}
	t.uts.mu.Lock()
	defer t.uts.mu.Unlock()
	if domain {
		t.uts.domainname = name
	} else {
		t.uts.hostname = name
	}
	return nil
}

// Unshare implements unshare(2) for the file table, the file-system
// context, the semaphore undo list, the mount, UTS, IPC and network
// namespaces and the PID namespace of later children; the user, cgroup
// and time namespaces are UnshareNamespaces' (nsproxy.go), which checks
// the capability new namespaces ask for.
func (t *Task) Unshare(flags uint64) error {
	const supported = unix.CLONE_FILES | unix.CLONE_FS | unix.CLONE_SYSVSEM | supportedNamespaces
	if flags&^supported != 0 {
		return unix.EINVAL
	}
	if flags&unix.CLONE_NEWPID != 0 {
		// Only the caller's later children are in the new namespace.
		if err := t.UnsharePIDNamespace(); err != nil {
			return err
		}
	}
	if flags&unix.CLONE_NEWNET != 0 {
		if err := t.unshareNet(); err != nil {
			return err
		}
	}
	if flags&unix.CLONE_NEWIPC != 0 {
		t.unshareIPC()
	}
	if flags&unix.CLONE_NEWUTS != 0 {
		uts := t.uts.clone(t.creds.UserNamespace())
		t.k.mu.Lock()
		t.uts = uts
		t.k.mu.Unlock()
	}
	if flags&unix.CLONE_NEWNS != 0 {
		// A new mount namespace implies a file-system context of
		// its own (mounts.go).
		if err := t.unshareMountNamespace(); err != nil {
			return err
		}
	}
	if flags&unix.CLONE_SYSVSEM != 0 {
		// Leaving the shared SEM_UNDO list is an exit for it.
		t.exitSem()
	}
	if flags&unix.CLONE_FILES != 0 && t.fds.refs.Load() > 1 {
		own := t.fds.Fork()
		old := t.fds
		t.k.mu.Lock()
		t.fds = own
		t.k.mu.Unlock()
		old.DecRef()
	}
	if flags&unix.CLONE_FS != 0 && t.fs.refs.Load() > 1 {
		own := t.fs.fork()
		old := t.fs
		// MountUsers and ProcessSnapshot read t.fs under k.mu.
		t.k.mu.Lock()
		t.fs = own
		t.k.mu.Unlock()
		old.decRef()
	}
	return nil
}
