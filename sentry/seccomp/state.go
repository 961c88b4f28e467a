package seccomp

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Mode is a task's seccomp mode (SECCOMP_MODE_*), what PR_GET_SECCOMP
// returns.
type Mode uint32

// Modes.
const (
	ModeDisabled Mode = 0
	ModeStrict   Mode = 1
	ModeFilter   Mode = 2
)

func (m Mode) String() string {
	switch m {
	case ModeDisabled:
		return "disabled"
	case ModeStrict:
		return "strict"
	case ModeFilter:
		return "filter"
	}
	return "unknown"
}

// State is one task's seccomp state, Linux's struct seccomp: its mode and
// its filters. The zero value is ModeDisabled.
//
// The task reads its State on every system call without locks; other
// threads change it (SECCOMP_FILTER_FLAG_TSYNC). Reads are atomic
// snapshots; every change must be made by this package's functions
// inside Caller.LockThreadGroup, which serialises them.
type State struct {
	p atomic.Pointer[snapshot]
}

type snapshot struct {
	mode    Mode
	filters Filters
}

var disabled = &snapshot{}

func (s *State) load() *snapshot {
	if p := s.p.Load(); p != nil {
		return p
	}
	return disabled
}

// Mode returns the mode.
func (s *State) Mode() Mode { return s.load().mode }

// Enabled reports whether the task's system calls must be checked (the
// mode is not ModeDisabled). It is the only cost of seccomp on the
// system calls of tasks that never use it.
func (s *State) Enabled() bool {
	p := s.p.Load()
	return p != nil && p.mode != ModeDisabled
}

// Filters returns the filters.
func (s *State) Filters() Filters { return s.load().filters }

// Snapshot returns the mode and the filters, read together.
func (s *State) Snapshot() (Mode, Filters) {
	p := s.load()
	return p.mode, p.filters
}

// InheritFrom gives s parent's mode and filters, for fork, vfork and
// clone (threads or not), as copy_seccomp does. Call it from the
// parent with the lock Caller.LockThreadGroup takes held, so that the child
// gets the parent's state from either before or after a concurrent TSYNC
// of the parent's group, and the child is then visible to later TSYNCs.
func (s *State) InheritFrom(parent *State) { s.p.Store(parent.p.Load()) }

// Reset returns s to ModeDisabled. Linux has no way to leave seccomp;
// this is for reusing task structures and tests.
func (s *State) Reset() { s.p.Store(nil) }

// strictSyscalls are the system calls SECCOMP_MODE_STRICT allows on
// x86-64 (mode1_syscalls): read, write, exit (not exit_group) and
// rt_sigreturn.
var strictSyscalls = [...]int32{unix.SYS_READ, unix.SYS_WRITE, unix.SYS_EXIT, unix.SYS_RT_SIGRETURN}

// StrictAllowed reports whether SECCOMP_MODE_STRICT allows system call nr.
func StrictAllowed(nr int32) bool {
	for _, s := range strictSyscalls {
		if nr == s {
			return true
		}
	}
	return false
}

// VerdictKind says what the kernel must do with a system call at entry.
type VerdictKind int

const (
	// VerdictRun: run the system call (SECCOMP_RET_ALLOW, SECCOMP_RET_LOG).
	VerdictRun VerdictKind = iota
	// VerdictReturn: do not run it; set rax to Verdict.Return and go back
	// to user mode as after any system call (pending signals are then
	// delivered). SECCOMP_RET_ERRNO, and SECCOMP_RET_TRACE and
	// SECCOMP_RET_USER_NOTIF without a tracer or listener (-ENOSYS).
	VerdictReturn
	// VerdictTrap: do not run it; set rax to orig_rax (Linux's
	// syscall_rollback: the handler sees the original registers) and
	// force SIGSYS with the siginfo of Verdict.SigInfo, as a synchronous
	// fault signal: delivered even if blocked or ignored (then reset to
	// SIG_DFL and unblocked, so it kills with a core dump).
	VerdictTrap
	// VerdictKillThread: SECCOMP_RET_KILL_THREAD. Do not run it. If the
	// task is the last live thread of its group, do as VerdictKillProcess;
	// otherwise only this thread exits, with exit code SIGSYS.
	VerdictKillThread
	// VerdictKillProcess: SECCOMP_RET_KILL_PROCESS or an unknown action.
	// Do not run it; kill the whole thread group with SIGSYS (default
	// action core: wait status WTERMSIG == SIGSYS, with the core-dump bit
	// only where the sentry reports core dumps for other core signals),
	// whatever the SIGSYS disposition and mask.
	VerdictKillProcess
	// VerdictStrictKill: a call SECCOMP_MODE_STRICT does not allow. Do not
	// run it; the thread exits as if killed by SIGKILL (do_exit(SIGKILL)):
	// only this thread, the group ends with status SIGKILL if it was the
	// last one.
	VerdictStrictKill
)

func (k VerdictKind) String() string {
	switch k {
	case VerdictRun:
		return "run"
	case VerdictReturn:
		return "return"
	case VerdictTrap:
		return "trap"
	case VerdictKillThread:
		return "kill_thread"
	case VerdictKillProcess:
		return "kill_process"
	case VerdictStrictKill:
		return "strict_kill"
	}
	return "unknown"
}

// Verdict is the decision for one system call.
type Verdict struct {
	Kind VerdictKind
	// Return is the value for rax with VerdictReturn.
	Return uint64
	// Action and Data are the winning filter result (ActionAllow in
	// ModeDisabled, ActionKillThread for VerdictStrictKill). A kernel
	// that implements ptrace should check Action == ActionTrace itself:
	// with a tracer that set PTRACE_O_TRACESECCOMP, Linux stops the task
	// for PTRACE_EVENT_SECCOMP with event message Data instead of
	// failing with ENOSYS, then runs the call unless the tracer set
	// orig_rax to -1 (re-running the filters on the possibly changed
	// call).
	Action Action
	Data   uint16
	// Log is whether Linux, with the default
	// /proc/sys/kernel/seccomp/actions_logged (every action but allow),
	// would write an audit record: kill actions and SECCOMP_RET_LOG
	// always, trap/errno/user_notif/trace only from a filter installed
	// with SECCOMP_FILTER_FLAG_LOG, allow never.
	Log bool
}

// SigInfo returns the siginfo_t of the SIGSYS a VerdictTrap (or a kill)
// sends for the system call d.
func (v Verdict) SigInfo(d SeccompData) [SizeofSigInfo]byte {
	return SigSysFields(d.Nr, d.InstructionPointer, d.Arch, int32(v.Data))
}

// Check decides what to do with system call d at entry. Call it for every
// system call while Enabled, after the ptrace syscall-entry stop (if any)
// and before the call runs; also for a restarted call
// (restart_syscall, or a call re-executed after ERESTART*), which is a
// new entry.
func (s *State) Check(d SeccompData) Verdict {
	p := s.load()
	switch p.mode {
	case ModeDisabled:
		return Verdict{Kind: VerdictRun, Action: ActionAllow}
	case ModeStrict:
		if StrictAllowed(d.Nr) {
			return Verdict{Kind: VerdictRun, Action: ActionAllow}
		}
		return Verdict{Kind: VerdictStrictKill, Action: ActionKillThread, Log: true}
	}
	return VerdictOf(p.filters.run(&d))
}

// VerdictOf returns the verdict for a filter result.
func VerdictOf(r Result) Verdict {
	v := Verdict{Action: r.Action(), Data: r.Data()}
	switch v.Action {
	case ActionAllow:
		v.Kind = VerdictRun
	case ActionLog:
		v.Kind, v.Log = VerdictRun, true
	case ActionErrno:
		e := uint64(v.Data)
		if e > MaxErrno {
			e = MaxErrno
		}
		v.Kind, v.Return, v.Log = VerdictReturn, -e, r.Log
	case ActionTrace, ActionUserNotif:
		enosys := uint64(unix.ENOSYS)
		v.Kind, v.Return, v.Log = VerdictReturn, -enosys, r.Log
	case ActionTrap:
		v.Kind, v.Log = VerdictTrap, r.Log
	case ActionKillThread:
		v.Kind, v.Log = VerdictKillThread, true
	default:
		v.Kind, v.Log = VerdictKillProcess, true
	}
	return v
}
