package kernel

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// CloneOptions are clone(2)/clone3(2)'s arguments.
type CloneOptions struct {
	Flags      uint64
	ExitSignal unix.Signal
	Stack      uint64
	ParentTID  uint64
	ChildTID   uint64
	TLS        uint64
	// PIDFD is where CLONE_PIDFD stores the new pidfd (clone's parent_tid,
	// clone3's pidfd field).
	PIDFD uint64
}

// namespaceFlags are the CLONE_NEW* flags.
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWTIME

// supportedNamespaces are the kinds of namespace Unshare (uts.go) makes.
const supportedNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// cloneNamespaces are the kinds of namespace clone and UnshareNamespaces
// make: those, the cgroup and time namespaces (nsproxy.go) and user
// namespaces (userns.go).
const cloneNamespaces = supportedNamespaces | extraNamespaceFlags | unix.CLONE_NEWUSER

// Clone creates a task as clone(2) does and returns its thread ID in the
// caller's PID namespace.
func (t *Task) Clone(opts CloneOptions) (int32, error) {
	f := opts.Flags
	switch {
	case f&unix.CLONE_SIGHAND != 0 && f&unix.CLONE_VM == 0,
		f&unix.CLONE_THREAD != 0 && f&unix.CLONE_SIGHAND == 0,
		f&unix.CLONE_FS != 0 && f&unix.CLONE_NEWNS != 0,
		f&unix.CLONE_THREAD != 0 && f&(unix.CLONE_NEWPID|unix.CLONE_NEWUSER) != 0,
		f&unix.CLONE_PIDFD != 0 && f&unix.CLONE_THREAD != 0,
		f&unix.CLONE_PIDFD != 0 && f&unix.CLONE_PARENT_SETTID != 0 && opts.PIDFD == opts.ParentTID,
		// A new IPC namespace cannot share the caller's semaphore
		// undo list (copy_namespaces).
		f&unix.CLONE_NEWIPC != 0 && f&unix.CLONE_SYSVSEM != 0,
		// A new user namespace cannot share the caller's root and
		// working directory, which its root could then change.
		f&unix.CLONE_NEWUSER != 0 && f&unix.CLONE_FS != 0:
		return 0, unix.EINVAL
	}
	// The child's credentials: with CLONE_NEWUSER, every capability in a
	// new user namespace below the caller's (copy_creds), which then owns
	// the child's other new namespaces; those ask for CAP_SYS_ADMIN in
	// the child's user namespace (copy_namespaces).
	creds := t.creds
	if f&unix.CLONE_NEWUSER != 0 {
		ns, err := t.newUserNamespace()
		if err != nil {
			return 0, err
		}
		creds = inUserNamespace(creds, ns)
	}
	if f&namespaceFlags&^unix.CLONE_NEWUSER != 0 && !creds.HasOwnCap(CapSysAdmin) {
		return 0, unix.EPERM
	}
	var netns *NetNamespace
	if f&unix.CLONE_NEWNET != 0 {
		var err error
		if netns, err = newNetNamespace(t.k); err != nil {
			t.k.Log.Warn("network namespace", "err", err)
			return 0, unix.ENOMEM
		}
	} else if netns = t.netns.Load(); netns != nil {
		// The caller is in it: it cannot have gone.
		netns.incUsers()
	}

	var childMM *mm.MemoryManager
	if f&unix.CLONE_VM != 0 {
		t.mm.IncUsers()
		childMM = t.mm
	} else {
		as, err := t.k.Platform.NewAddressSpace()
		if err != nil {
			if netns != nil {
				netns.decUsers()
			}
			return 0, unix.ENOMEM
		}
		childMM = t.mm.Fork(as, t.st.Regs.Rsp, t.st.Regs.Fs_base)
	}
	fds := t.fds
	if f&unix.CLONE_FILES != 0 {
		fds.IncRef()
	} else {
		fds = fds.Fork()
	}
	fs := t.fs
	if f&unix.CLONE_FS != 0 {
		fs.incRef()
	} else {
		fs = fs.fork()
		if f&unix.CLONE_NEWNS != 0 {
			fs.moveToCopy(t.MountNamespace())
		}
	}
	if err := t.ctx.PullFPState(&t.st); err != nil {
		t.k.Log.Debug("reading FP state for clone", "err", err)
	}

	child := &Task{
		k:         t.k,
		container: t.container,
		st:        t.st,
		mm:        childMM,
		fds:       fds,
		fs:        fs,
		uts:       t.uts,
		creds:     creds,
		name:      t.name,
		exe:       t.exe,
		interrupt: make(chan struct{}, 1),
		done:      make(chan struct{}),
		startTime: time.Now(),
	}
	child.st.FP = append([]byte(nil), t.st.FP...)
	if f&unix.CLONE_NEWUTS != 0 {
		child.uts = t.uts.clone(creds.UserNamespace())
	}
	ipc := t.ipc.Load()
	if f&unix.CLONE_NEWIPC != 0 {
		ipc = newIPCNamespace(t.k, newNSID())
	}
	if ipc != nil {
		ipc.incUsers()
		child.ipc.Store(ipc)
	}
	child.netns.Store(netns)
	child.st.Regs.Rax = 0
	if opts.Stack != 0 {
		child.st.Regs.Rsp = opts.Stack
	}
	if f&unix.CLONE_SETTLS != 0 {
		child.st.Regs.Fs_base = opts.TLS
	}
	if f&unix.CLONE_VM == 0 || f&unix.CLONE_VFORK != 0 {
		child.altStack = t.altStack
	}
	if f&unix.CLONE_CHILD_CLEARTID != 0 {
		child.clearChildTID = opts.ChildTID
	}
	var vforkDone chan struct{}
	if f&unix.CLONE_VFORK != 0 {
		vforkDone = make(chan struct{})
		child.vforkDone = vforkDone
	}

	k := t.k
	k.mu.Lock()
	if lim := t.tg.limits[unix.RLIMIT_NPROC].Cur; t.creds.UID != 0 && !t.creds.HasCap(CapSysResource) && !t.creds.HasCap(CapSysAdmin) {
		n := uint64(0)
		for _, task := range k.tasks {
			if task.creds.UID == t.creds.UID {
				n++
			}
		}
		if n >= lim {
			k.mu.Unlock()
			child.releaseUnstarted()
			return 0, unix.EAGAIN
		}
	}
	if t.tg.exiting || t.killed {
		k.mu.Unlock()
		child.releaseUnstarted()
		return 0, ERESTARTNOINTR
	}
	// The child's PID namespace: the caller's pid_for_children, or a new
	// one below it. Linux refuses a thread in another namespace than its
	// group's, a new namespace over an unshared one not used yet, and
	// CLONE_PARENT from an init (which would make a sibling of init).
	ns := t.childPIDNS
	switch {
	case f&unix.CLONE_THREAD != 0 && ns != t.pidns,
		f&unix.CLONE_PARENT != 0 && t.tg.isInitLocked(),
		f&unix.CLONE_NEWPID != 0 && ns != t.pidns:
		k.mu.Unlock()
		child.releaseUnstarted()
		return 0, unix.EINVAL
	}
	if f&unix.CLONE_NEWPID != 0 {
		var err error
		if ns, err = ns.newChildLocked(); err != nil {
			k.mu.Unlock()
			child.releaseUnstarted()
			return 0, err
		}
	}
	tid, err := k.allocIDsLocked(ns)
	if err != nil {
		k.mu.Unlock()
		child.releaseUnstarted()
		return 0, err
	}
	child.tid = tid
	child.pidns, child.childPIDNS = ns, ns
	child.sigmask = t.sigmask
	child.seccomp.InheritFrom(&t.seccomp)
	child.dumpable, child.noNewPrivs, child.keepCaps, child.personality = t.dumpable, t.noNewPrivs, t.keepCaps, t.personality
	child.nice = t.nice
	child.inheritSchedPolicyLocked(t)
	child.inheritIOContextLocked(t, f)
	if f&unix.CLONE_THREAD != 0 {
		child.tg = t.tg
	} else {
		handlers := t.tg.handlers
		if f&unix.CLONE_SIGHAND == 0 {
			handlers = handlers.copy()
		}
		parent := t.tg
		if f&unix.CLONE_PARENT != 0 && t.tg.parent != nil {
			parent = t.tg.parent
		}
		child.tg = k.newThreadGroup(tid, ns, parent, handlers, t.tg.limits)
		child.tg.inheritOOMLocked(t.tg)
		child.tg.leader = child
		child.tg.exitSignal = opts.ExitSignal
		child.tg.pgid, child.tg.sid = t.tg.pgid, t.tg.sid
		if c := t.tg.container; c != nil {
			child.tg.container = c
			c.live++
		}
	}
	child.tg.tasks[child] = struct{}{}
	k.tasks[tid] = child
	// What the caller and the child are told: the child's ID in the
	// caller's namespace, and in its own.
	callerTID := t.pidns.idLocked(tid)
	ownTID := ns.idLocked(tid)
	k.mu.Unlock()

	if f&unix.CLONE_SYSVSEM != 0 {
		// The child shares the caller's SEM_UNDO adjustments; without
		// the flag it starts with none (copy_semundo).
		child.semUndo = t.shareSemUndo()
	}

	if f&unix.CLONE_PIDFD != 0 {
		pf, err := k.NewPIDFD(k.rootPIDNS, tid, 0)
		if err == nil {
			fd, ferr := t.fds.NewFD(pf, 0, true, t.RLimit(unix.RLIMIT_NOFILE).Cur)
			pf.DecRef()
			if ferr == nil {
				var b [4]byte
				binary.LittleEndian.PutUint32(b[:], uint32(fd))
				_, _ = t.CopyOut(opts.PIDFD, b[:])
			}
		}
	}
	if f&unix.CLONE_PARENT_SETTID != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(callerTID))
		_, _ = t.CopyOut(opts.ParentTID, b[:])
	}
	// The child's cgroup and time namespaces; with a time namespace
	// that has offsets, its copy of the caller's vDSO data page is
	// switched on its own thread before it runs.
	nss, switchVDSO := t.cloneNSSet(f, creds.UserNamespace())
	if nss != initialNSSet {
		child.setNSSet(nss)
	}
	setChildTID := f&unix.CLONE_CHILD_SETTID != 0
	go child.goroutine(func() error {
		if switchVDSO {
			child.useTimeNamespaceVDSO()
		}
		if setChildTID {
			// Written by the child into its own memory, as Linux's
			// schedule_tail does.
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], uint32(ownTID))
			_, _ = child.CopyOut(opts.ChildTID, b[:])
		}
		return nil
	}, nil)

	if vforkDone != nil {
		// The parent waits until the child execs or exits (killably on
		// Linux: a kill of the parent ends its wait too), in an
		// uninterruptible sleep as far as /proc is concerned.
		t.waitState.Store(uint32(StateDiskSleep))
		defer t.waitState.Store(0)
		defer t.chargeBlocked(time.Now())
		for {
			select {
			case <-vforkDone:
				return callerTID, nil
			case <-t.interrupt:
				t.k.mu.Lock()
				dead := t.killed || t.tg.exiting
				t.k.mu.Unlock()
				if dead {
					return callerTID, nil
				}
			}
		}
	}
	return callerTID, nil
}

// releaseUnstarted drops what a clone took for a child that never ran.
func (t *Task) releaseUnstarted() {
	t.mm.DecUsers()
	t.fds.DecRef()
	t.fs.decRef()
	t.setNetNS(nil)
	if ipc := t.ipc.Swap(nil); ipc != nil {
		ipc.decUsers()
	}
}
