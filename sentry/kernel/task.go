package kernel

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Task is one thread of an application. Each task runs on its own
// goroutine, locked to its OS thread unless the platform is
// platform.ThreadFree (task_run.go).
type Task struct {
	k *Kernel
	// tg is the task's thread group; changed only by execve, under k.mu.
	tg *ThreadGroup
	// tid is the thread ID; changed only by execve (a non-leader taking
	// over the group's ID), under k.mu.
	tid int32
	// container is the pod container the task belongs to, nil outside
	// pod mode; immutable.
	container *Container
	// pidns is the PID namespace the task lives in; immutable.
	pidns *PIDNamespace
	// childPIDNS is the namespace the task's children are created in
	// (pid_for_children): pidns, or a namespace below it after
	// unshare(CLONE_NEWPID). Protected by k.mu.
	childPIDNS *PIDNamespace

	// Fields below are used only by the task's own goroutine.

	st  arch.State
	ctx platform.Context
	mm  *mm.MemoryManager
	fds *FDTable
	fs  *FSContext
	uts *UTSNamespace
	// ipc and netns are the task's IPC and network namespaces, nil for
	// the kernel's (netns.go); written only by the task's goroutine,
	// read by anyone.
	ipc   atomic.Pointer[IPCNamespace]
	netns atomic.Pointer[NetNamespace]
	// namespaces are the task's cgroup and time namespaces (nsproxy.go),
	// nil for the initial ones; written by the task's goroutine (unshare,
	// setns) or by clone before the child runs, read by anyone.
	namespaces atomic.Pointer[nsSet]
	// creds are the task's credentials.
	creds Credentials
	// name is the command name (comm); exe the executable's path.
	name, exe string
	// clearChildTID is set_tid_address's pointer: zeroed and woken at exit.
	clearChildTID uint64
	// robustList is set_robust_list's head.
	robustList uint64
	// futex is the task's part in the PI futex protocol (futex.go).
	futex taskFutexState
	// altStack is the sigaltstack.
	altStack SignalStack
	// vforkDone is closed when a vfork child execs or exits, releasing its
	// parent.
	vforkDone chan struct{}
	// seccomp holds the application's seccomp filters.
	seccomp seccomp.State
	// buf is a scratch buffer for copies between files and application
	// memory, reused to keep the syscall path free of allocation; kept is
	// its pool entry when it came from the pool; big is a larger one,
	// held only during a system call (scratch.go).
	buf  []byte
	kept *[]byte
	big  *[]byte
	// restartErrno and restartNr describe a system call that returned an
	// ERESTART error, until signal delivery decides between a restart and
	// EINTR.
	restartErrno unix.Errno
	restartNr    uint64
	// restartBlock continues a system call that returned
	// ERESTARTRESTARTBLOCK (a relative sleep, with the time left) when
	// restart_syscall(2) runs it; only the task's goroutine uses it.
	restartBlock func(t *Task) (uint64, error)
	// faults remembers the task's last fault (mm.HandleTaskFault); only
	// the task's goroutine uses it.
	faults mm.FaultState
	// taskFaults counts the faults served for the task (page_faults.go).
	taskFaults
	// faultAddr is the address of the last fault, for the signal frame's
	// cr2.
	faultAddr uint64
	// faultErr is the page-fault error code of the last fault, for the
	// signal frame's err (pageFaultErrorCode).
	faultErr uint64
	// semUndo is the task's System V semaphore undo list (sem.go), shared
	// with the tasks cloned with CLONE_SYSVSEM; nil until first used.
	semUndo *semUndoList
	// createdShm is set once the task creates a System V shared memory
	// segment, so that only such tasks look for theirs at exit
	// (exitShm). Set and read by the task's own goroutine.
	createdShm bool

	// Fields below are protected by k.mu.

	// sigmask is the blocked signal set.
	sigmask SigSet
	// savedMask is restored after the next signal delivery
	// (rt_sigsuspend, ppoll); valid when haveSavedMask.
	savedMask     SigSet
	haveSavedMask bool
	// realBlocked is the mask rt_sigtimedwait restores, while it waits
	// with the awaited signals unblocked (WaitForSignals); they still
	// count as blocked for whether a signal is ignored (Linux's
	// real_blocked).
	realBlocked SigSet
	// pending holds signals sent to this thread.
	pending pendingSignals
	// killed is set when the task must exit at its next check (group
	// exit, execve by another thread).
	killed bool

	// waitState is StateSleeping or StateDiskSleep while the task waits
	// in the sentry, 0 otherwise (/proc's state); written by the task,
	// read by anyone.
	waitState atomic.Uint32

	// runningCtx publishes ctx to other goroutines (kick) once the task's
	// goroutine made it.
	runningCtx atomic.Pointer[platform.Context]
	// interrupt wakes the task from a blocking wait in the sentry; a
	// buffered channel so a wake-up before the wait is kept.
	interrupt chan struct{}
	// done is closed when the task has exited.
	done chan struct{}
	// exitStatus is the status the task exits with.
	exitStatus int

	// userNS and sysNS are the task's CPU time as the sentry measures it:
	// time running application code (the platform switch's wall time),
	// and the wall time the sentry spent serving its system calls and
	// faults less the time the task slept in them (blockedNS), as
	// gVisor accounts it. Reading the host thread's CPU clock instead is
	// a host system call at each end, which on a virtual machine cost
	// more than the getppid it measured; a long piece is bounded by the
	// host's count (platform.UserTimeBounder, hostThreadCPU, and the
	// kernel's sysCPU where tasks run on any host thread). Written by the
	// task, read by anyone.
	userNS, sysNS atomic.Int64
	// traps counts the task's returns from application code to the
	// sentry: system calls, faults, exceptions, interruptions. Written
	// by the task (a plain store: it is the only writer), read by
	// anyone.
	traps atomic.Uint64
	// blockedNS is how long the task has slept since it last left
	// application code. Used only by the task's goroutine.
	blockedNS int64
	// threadCPUTimersState keeps the timers on the task's own CPU clock
	// (cpu_timers.go).
	threadCPUTimersState

	// hostCPU bounds sysNS, and userNS where the platform runs the
	// application there too, by the CPU clock of the host thread a task
	// is locked to. Used only by the task's goroutine.
	hostCPU hostThreadCPU
	// startTime is when the task was created.
	startTime time.Time
	// nextCPUCheck is the CPU time (ns) at which to check RLIMIT_CPU.
	nextCPUCheck int64

	// Protected by k.mu: process-wide settings kept per task as Linux
	// does.
	dumpable    bool
	pdeathsig   unix.Signal
	noNewPrivs  bool
	keepCaps    bool
	personality uint32
	// nice is the task's nice value (nice.go).
	nice int32
	// io is the task's I/O context (ioprio.go), nil until a priority
	// is set; CLONE_IO shares it.
	io *ioContext
	// schedPolicy is the task's scheduling policy and
	// schedResetOnFork SCHED_RESET_ON_FORK (sched_policy.go).
	schedPolicy      int32
	schedResetOnFork bool
}

// Credentials are a task's user and group IDs, kernel IDs (userns.go),
// and its capabilities, which hold in UserNS and the namespaces below it.
type Credentials struct {
	UID, EUID, SUID, FSUID uint32
	GID, EGID, SGID, FSGID uint32
	Groups                 []uint32
	Caps                   Capabilities
	// UserNS is the credentials' user namespace; nil stands for the
	// initial one (UserNamespace).
	UserNS *UserNamespace
}

// SignalStack is a sigaltstack.
type SignalStack struct {
	SP    uint64
	Flags uint32
	Size  uint64
}

// Signal stack flags.
const (
	SSOnStack = 1
	SSDisable = 2
)

// onStack reports whether sp is on the alternate stack.
func (s SignalStack) onStack(sp uint64) bool {
	return s.Size != 0 && s.Flags&SSDisable == 0 && sp > s.SP && sp-s.SP <= s.Size
}

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { return t.k }

// TID returns the task's thread ID in its own PID namespace (gettid).
func (t *Task) TID() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pidns.idLocked(t.tid)
}

// RootTID returns the task's thread ID in the root PID namespace.
func (t *Task) RootTID() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tid
}

// ThreadGroup returns the task's thread group.
func (t *Task) ThreadGroup() *ThreadGroup {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg
}

// TGID returns the task's process ID in its own PID namespace (getpid).
func (t *Task) TGID() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pidns.idLocked(t.tg.id)
}

// MM returns the task's memory manager.
func (t *Task) MM() *mm.MemoryManager { return t.mm }

// FDs returns the task's descriptor table.
func (t *Task) FDs() *FDTable { return t.fds }

// Regs returns the task's registers, for system calls that edit them.
func (t *Task) Regs() *arch.Registers { return &t.st.Regs }

// State returns the task's full machine state.
func (t *Task) State() *arch.State { return &t.st }

// CopyIn, CopyOut and CopyInString access the task's memory.
func (t *Task) CopyIn(addr uint64, dst []byte) (int, error)  { return t.mm.CopyIn(addr, dst) }
func (t *Task) CopyOut(addr uint64, src []byte) (int, error) { return t.mm.CopyOut(addr, src) }
func (t *Task) CopyInString(addr uint64, max int) (string, error) {
	return t.mm.CopyInString(addr, max)
}

// Cwd returns the working directory.
func (t *Task) Cwd() *vfs.Dentry { return t.fs.Cwd() }

// SetCwd sets the working directory.
func (t *Task) SetCwd(d *vfs.Dentry) { t.fs.SetCwd(d) }

// Root returns the root paths resolve from: the chroot(2) root, or the
// root of the task's mount namespace (its container's in pod mode, the
// sandbox's otherwise).
func (t *Task) Root() *vfs.Dentry {
	if r := t.fs.Root(); r != nil {
		return r
	}
	return t.SandboxRoot()
}

// SetRoot implements chroot(2)'s change.
func (t *Task) SetRoot(d *vfs.Dentry) { t.fs.SetRoot(d) }

// Credentials returns the task's credentials, for reading by the task
// itself; changes go through UpdateCredentials or the Set* methods, which
// hold Kernel.mu.
func (t *Task) Credentials() *Credentials { return &t.creds }

// SwapUmask sets a new file mode creation mask and returns the old one.
func (t *Task) SwapUmask(mask uint32) uint32 { return t.fs.SwapUmask(mask) }

// RLimit returns one of the process's resource limits.
func (t *Task) RLimit(res int) Limit {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.limits[res]
}

// SetRLimit replaces one of the process's resource limits and returns the
// old one.
func (t *Task) SetRLimit(res int, l Limit) Limit {
	t.k.mu.Lock()
	old := t.tg.limits[res]
	t.tg.limits[res] = l
	if res == unix.RLIMIT_CPU {
		t.tg.startCPUTickLocked()
	}
	t.k.mu.Unlock()
	if res == unix.RLIMIT_AS || res == unix.RLIMIT_STACK {
		t.applyMemoryLimits()
	}
	return old
}

// SetClearChildTID records set_tid_address.
func (t *Task) SetClearChildTID(addr uint64) { t.clearChildTID = addr }

// SetRobustList records set_robust_list.
func (t *Task) SetRobustList(addr uint64) { t.robustList = addr }

// RobustList returns the robust list head.
func (t *Task) RobustList() uint64 { return t.robustList }

// Name returns the command name.
func (t *Task) Name() string { return t.name }

// SetName sets the command name.
func (t *Task) SetName(name string) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.name = name
}

// Exe returns the executable's path.
func (t *Task) Exe() string { return t.exe }

// AltStack returns the alternate signal stack for editing.
func (t *Task) AltStack() *SignalStack { return &t.altStack }

// OnAltStack reports whether the task runs on its alternate signal stack.
func (t *Task) OnAltStack() bool { return t.altStack.onStack(t.st.Regs.Rsp) }

// applyMemoryLimits passes the process's address-space and stack limits
// to its memory manager.
func (t *Task) applyMemoryLimits() {
	if t.mm == nil {
		return
	}
	t.mm.SetLimits(t.RLimit(unix.RLIMIT_AS).Cur, t.RLimit(unix.RLIMIT_STACK).Cur)
}
