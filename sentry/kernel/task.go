package kernel

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Task is one thread of an application.
type Task struct {
	k *Kernel

	// Fields below are used only by the task's own goroutine.

	tid   int32
	st    arch.State
	ctx   platform.Context
	mm    *mm.MemoryManager
	fds   *FDTable
	cwd   *vfs.Dentry
	creds Credentials
	// umask is the file mode creation mask.
	umask uint32
	// name is the command name (comm).
	name string
	// exe is the path of the running executable.
	exe string
	// rlimits are the task's resource limits.
	rlimits Limits
	// clearChildTID is set_tid_address's pointer.
	clearChildTID uint64
	// robustList is set_robust_list's head.
	robustList uint64
	// sigactions records rt_sigaction; delivery comes with the signals work.
	sigactions [65][4]uint64
	// sigmask is the blocked signal set.
	sigmask uint64
	// altStack records sigaltstack.
	altStack [3]uint64

	// exited is set when the task has finished; status is its wait status
	// (exit code << 8, or the terminating signal).
	exited bool
	status unix.WaitStatus
	// buf is a scratch buffer for copies between files and application
	// memory, reused to keep the syscall path free of allocation.
	buf []byte
}

// Credentials are a task's user and group IDs.
type Credentials struct {
	UID, EUID, SUID, GID, EGID, SGID uint32
}

// NewTask creates the first task of the kernel, with an empty address space,
// the given descriptors and working directory.
//
// Preconditions: the calling goroutine is locked to its OS thread and will
// call Run.
func (k *Kernel) NewTask(fds *FDTable, cwd *vfs.Dentry) (*Task, error) {
	ctx, err := k.Platform.NewContext()
	if err != nil {
		return nil, err
	}
	t := &Task{
		k:       k,
		tid:     k.nextTID.Add(1),
		ctx:     ctx,
		fds:     fds,
		cwd:     cwd,
		umask:   0o022,
		rlimits: DefaultLimits(),
	}
	return t, nil
}

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { return t.k }

// TID returns the task's thread ID.
func (t *Task) TID() int32 { return t.tid }

// MM returns the task's memory manager.
func (t *Task) MM() *mm.MemoryManager { return t.mm }

// FDs returns the task's descriptor table.
func (t *Task) FDs() *FDTable { return t.fds }

// Regs returns the task's registers, for system calls that edit them.
func (t *Task) Regs() *arch.Registers { return &t.st.Regs }

// State returns the task's full machine state.
func (t *Task) State() *arch.State { return &t.st }

// Buffer returns a scratch buffer of n bytes, valid until the next call.
func (t *Task) Buffer(n int) []byte {
	if cap(t.buf) < n {
		t.buf = make([]byte, n)
	}
	return t.buf[:n]
}

// Run runs the task until it exits and returns its wait status.
func (t *Task) Run() unix.WaitStatus {
	for !t.exited {
		trap, err := t.ctx.Switch(t.mm.AddressSpace(), &t.st)
		if err != nil {
			t.k.Log.Error("platform failed to run the task", "tid", t.tid, "err", err)
			t.exitSignal(unix.SIGKILL)
			break
		}
		switch trap.Kind {
		case platform.TrapSyscall:
			t.syscall()
		case platform.TrapFault:
			res := t.mm.HandleFault(trap.Addr, trap.Access)
			if res.Signo != 0 {
				t.k.Log.Debug("fatal fault", "tid", t.tid, "addr", fmt.Sprintf("%#x", trap.Addr), "rip", fmt.Sprintf("%#x", t.st.Regs.Rip), "hostcode", trap.Code, "signal", unix.Signal(res.Signo))
				t.exitSignal(unix.Signal(res.Signo))
			}
		case platform.TrapException:
			// Signal handlers come with the signals work: until then a
			// synchronous signal is fatal, as it is without a handler.
			t.exitSignal(unix.Signal(trap.Signo))
		case platform.TrapInterrupted:
		}
	}
	t.release()
	return t.status
}

// syscall serves the system call the task stopped for.
func (t *Task) syscall() {
	nr := t.st.SyscallNo()
	args := t.st.Args()
	if t.k.Strace != nil {
		t.k.Strace(t, nr, false, 0)
	}
	ret := t.dispatch(nr, args)
	if t.exited {
		return
	}
	t.st.SetReturn(ret)
	if t.k.Strace != nil {
		t.k.Strace(t, nr, true, ret)
	}
}

// Exit ends the task with exit code code.
func (t *Task) Exit(code int) {
	t.exited = true
	t.status = unix.WaitStatus((code & 0xff) << 8)
}

// exitSignal ends the task as killed by sig. Signals whose default action
// dumps core set the core flag, as Linux reports them.
func (t *Task) exitSignal(sig unix.Signal) {
	t.exited = true
	t.status = unix.WaitStatus(sig)
	switch sig {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV, unix.SIGSYS, unix.SIGXCPU, unix.SIGXFSZ:
		t.status |= 0x80
	}
}

// release frees what the task holds.
func (t *Task) release() {
	t.fds.Release()
	if t.mm != nil {
		t.mm.Release()
	}
	t.ctx.Release()
}

// CopyIn, CopyOut and CopyInString access the task's memory.
func (t *Task) CopyIn(addr uint64, dst []byte) (int, error)  { return t.mm.CopyIn(addr, dst) }
func (t *Task) CopyOut(addr uint64, src []byte) (int, error) { return t.mm.CopyOut(addr, src) }
func (t *Task) CopyInString(addr uint64, max int) (string, error) {
	return t.mm.CopyInString(addr, max)
}

// Cwd returns the working directory.
func (t *Task) Cwd() *vfs.Dentry { return t.cwd }

// SetCwd sets the working directory.
func (t *Task) SetCwd(d *vfs.Dentry) { t.cwd = d }

// Credentials returns the task's credentials.
func (t *Task) Credentials() Credentials { return t.creds }

// Umask returns the mask and sets a new one.
func (t *Task) SwapUmask(mask uint32) uint32 {
	old := t.umask
	t.umask = mask & 0o777
	return old
}

// Limits returns the task's resource limits for editing.
func (t *Task) Limits() *Limits { return &t.rlimits }

// SetClearChildTID records set_tid_address.
func (t *Task) SetClearChildTID(addr uint64) { t.clearChildTID = addr }

// SetRobustList records set_robust_list.
func (t *Task) SetRobustList(addr uint64) { t.robustList = addr }

// SigAction returns a pointer to the recorded action of sig.
func (t *Task) SigAction(sig int) *[4]uint64 { return &t.sigactions[sig] }

// SigMask returns a pointer to the blocked set.
func (t *Task) SigMask() *uint64 { return &t.sigmask }

// AltStack returns a pointer to the recorded alternate signal stack.
func (t *Task) AltStack() *[3]uint64 { return &t.altStack }

// Name returns the command name.
func (t *Task) Name() string { return t.name }

// Exe returns the executable's path.
func (t *Task) Exe() string { return t.exe }

// SetName sets the command name.
func (t *Task) SetName(name string) { t.name = name }
