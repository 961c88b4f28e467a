package systrap

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
)

// errStubDied is returned when a stub thread is gone (killed from outside,
// by a host resource limit, or by its own seccomp filter).
var errStubDied = errors.New("systrap: stub process exited")

// errReloading is returned by a Switch into an address space an execve is
// reloading (reload.go): no context may run there until it ends.
var errReloading = errors.New("systrap: address space being reloaded by an execve")

// tracee is a stub thread the factory traces: the master, the first thread
// of each stub process (which edits the address space and clones the
// application threads), and a new application thread until it is set up.
// Every ptrace request on it comes from the factory's thread; wait4 may
// come from any thread of the sentry.
//
// These helpers are the ptrace platform's (sentry/platform/ptrace/thread.go),
// copied: the two platforms inject system calls the same way.
type tracee struct {
	tgid int
	tid  int
	// template holds the registers the thread stopped with when the
	// factory first saw it; injected system calls start from a copy of it
	// so the segment registers are valid.
	template arch.Registers
}

// waitStop waits for the thread's next stop and returns its status.
//
// It never blocks in wait4 on the thread alone. A killed stub's leader is
// not reported until every other thread of its process is reaped, and a
// traced thread stays a zombie until its tracer reaps it: a thread the
// factory cloned a moment before the kill, or one another sentry thread
// traces, would hold the leader's report back while that thread's reaper
// waits behind the factory. So waitStop sleeps until any child has
// something to report, without taking it, and reaps exited ones that are
// not t: they are dead, and reaping them is what lets the leader go (a
// reaper that comes later finds ECHILD, which reads as gone).
func (t *tracee) waitStop() (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(t.tid, &ws, unix.WALL|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			return ws, errStubDied
		}
		if err != nil {
			return ws, fmt.Errorf("systrap: wait4(%d): %w", t.tid, err)
		}
		if pid == t.tid {
			if ws.Exited() || ws.Signaled() {
				return ws, errStubDied
			}
			if ws.Stopped() {
				return ws, nil
			}
			continue
		}
		other, exited, err := waitAny()
		switch {
		case err == unix.EINTR:
		case err != nil:
			return ws, fmt.Errorf("systrap: waitid: %w", err)
		case other == t.tid:
		case exited:
			_, _ = unix.Wait4(other, &ws, unix.WALL|unix.WNOHANG, nil)
		default:
			// Another tracee's stop, which its own waiter takes.
			_ = unix.Nanosleep(&unix.Timespec{Nsec: 20000}, nil)
		}
	}
}

// waitAny sleeps until a child or tracee of the sentry has a state change
// to report and returns its ID, leaving the report in place.
func waitAny() (pid int, exited bool, err error) {
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WSTOPPED|unix.WALL|unix.WNOWAIT, nil); err != nil {
		return 0, false, err
	}
	// siginfo_t for SIGCHLD: si_pid follows signo, errno, code and padding.
	pid = int(*(*int32)(unsafe.Pointer(uintptr(unsafe.Pointer(&info)) + 16)))
	const cldExited, cldKilled, cldDumped = 1, 2, 3 // si_code of SIGCHLD
	switch info.Code {
	case cldExited, cldKilled, cldDumped:
		exited = true
	}
	return pid, exited, nil
}

// setOptions sets the tracing options: the thread dies with its tracer.
func (t *tracee) setOptions(extra int) error {
	if err := unix.PtraceSetOptions(t.tid, unix.PTRACE_O_EXITKILL|extra); err != nil {
		return fmt.Errorf("systrap: setting ptrace options on %d: %w", t.tid, err)
	}
	return nil
}

// captureTemplate records the current registers as the injection template.
func (t *tracee) captureTemplate() error {
	if err := unix.PtraceGetRegs(t.tid, &t.template); err != nil {
		return fmt.Errorf("systrap: reading stub registers: %w", err)
	}
	return nil
}

// syscall injects a host system call into the stopped thread and returns
// its result. The thread's registers are not preserved.
func (t *tracee) syscall(nr uintptr, args ...uintptr) (uintptr, error) {
	regs := t.template
	regs.Rip = stubSyscallAddr
	regs.Rax = uint64(nr)
	regs.Orig_rax = ^uint64(0)
	var a [6]uintptr
	copy(a[:], args)
	regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 =
		uint64(a[0]), uint64(a[1]), uint64(a[2]), uint64(a[3]), uint64(a[4]), uint64(a[5])
	if err := t.runToTrap(&regs); err != nil {
		return 0, fmt.Errorf("systrap: injecting syscall %d: %w", nr, err)
	}
	if ret := int64(regs.Rax); ret < 0 && ret > -4096 {
		return 0, unix.Errno(-ret)
	}
	return uintptr(regs.Rax), nil
}

// runToTrap runs the stopped thread from regs until it stops on an int3,
// and leaves the registers it stopped with in regs.
func (t *tracee) runToTrap(regs *arch.Registers) error {
	if err := unix.PtraceSetRegs(t.tid, regs); err != nil {
		return fmt.Errorf("setting registers: %w", err)
	}
	for {
		if err := unix.PtraceCont(t.tid, 0); err != nil {
			return fmt.Errorf("resuming stub: %w", err)
		}
		ws, err := t.waitStop()
		if err != nil {
			return err
		}
		sig := ws.StopSignal()
		if sig == unix.SIGTRAP && ws.TrapCause() <= 0 {
			break
		}
		if sig == unix.SIGSTOP || sig == unix.SIGCONT || ws.TrapCause() > 0 {
			// A stop or event that is not the injection's end
			// (a PTRACE_INTERRUPT stop, a host job-control signal).
			continue
		}
		return fmt.Errorf("stub stopped with %v", sig)
	}
	if err := unix.PtraceGetRegs(t.tid, regs); err != nil {
		return fmt.Errorf("reading registers: %w", err)
	}
	return nil
}

// injectEvent injects a fork or clone into t and returns the new task's
// ID from the ptrace event it causes. The new task starts traced by the
// factory and stopped with SIGSTOP.
func (t *tracee) injectEvent(nr uintptr, flags uintptr, event int) (int, error) {
	id, err := t.startEvent(nr, flags, event)
	if err != nil {
		return 0, err
	}
	return id, t.finishEvent(nr)
}

// startEvent is injectEvent up to the event: it returns the new task's ID
// with t let go to finish the call, and finishEvent must follow.
func (t *tracee) startEvent(nr uintptr, flags uintptr, event int) (int, error) {
	regs := t.template
	regs.Rip = stubSyscallAddr
	regs.Rax = uint64(nr)
	regs.Rdi = uint64(flags)
	regs.Rsi, regs.Rdx, regs.R10, regs.R8 = 0, 0, 0, 0
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(t.tid, &regs); err != nil {
		return 0, fmt.Errorf("systrap: injecting syscall %d: %w", nr, err)
	}
	if err := unix.PtraceCont(t.tid, 0); err != nil {
		return 0, fmt.Errorf("systrap: resuming stub for syscall %d: %w", nr, err)
	}
	var ws unix.WaitStatus
	var err error
	for {
		if ws, err = t.waitStop(); err != nil {
			return 0, err
		}
		if ws.StopSignal() != unix.SIGSTOP {
			break
		}
		if err := unix.PtraceCont(t.tid, 0); err != nil {
			return 0, err
		}
	}
	if ws.StopSignal() != unix.SIGTRAP || ws.TrapCause() != event {
		return 0, fmt.Errorf("systrap: stub stopped with %v (event %d) during syscall %d", ws.StopSignal(), ws.TrapCause(), nr)
	}
	msg, err := unix.PtraceGetEventMsg(t.tid)
	if err != nil {
		return 0, fmt.Errorf("systrap: reading new stub task id: %w", err)
	}
	// Let t finish the call and stop on the int3.
	if err := unix.PtraceCont(t.tid, 0); err != nil {
		return 0, fmt.Errorf("systrap: resuming stub after syscall %d: %w", nr, err)
	}
	return int(msg), nil
}

// finishEvent waits until t, let go by startEvent, stops on the int3
// after the call.
func (t *tracee) finishEvent(nr uintptr) error {
	for {
		ws, err := t.waitStop()
		if err != nil {
			return fmt.Errorf("systrap: finishing syscall %d: %w", nr, err)
		}
		if ws.StopSignal() == unix.SIGTRAP {
			return nil
		}
		if err := unix.PtraceCont(t.tid, 0); err != nil {
			return err
		}
	}
}

// kill kills the thread's whole stub process and reaps the thread.
func (t *tracee) kill() {
	_ = unix.Kill(t.tgid, unix.SIGKILL)
	t.reap()
}

// reap waits until the (killed) thread is gone.
func (t *tracee) reap() {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(t.tid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			return
		}
		_ = unix.PtraceCont(t.tid, 0)
	}
}

// pokeData writes b at addr in the stopped thread's memory.
func (t *tracee) pokeData(addr uintptr, b []byte) error {
	if _, err := unix.PtracePokeData(t.tid, addr, b); err != nil {
		return fmt.Errorf("systrap: writing stub memory at %#x: %w", addr, err)
	}
	return nil
}

// sockFprog renders a struct sock_fprog for n instructions at addr.
func sockFprog(n int, addr uint64) []byte {
	b := make([]byte, 16)
	*(*uint16)(unsafe.Pointer(&b[0])) = uint16(n)
	*(*uint64)(unsafe.Pointer(&b[8])) = addr
	return b
}

// handOver waits for a new thread's initial SIGSTOP and lets it go,
// asleep in pause(2) at the stub's park loop, so another thread of the
// sentry can seize it. (A hand-over that leaves it stopped with SIGSTOP,
// as the ptrace platform's does, would put the whole stub process in a group
// stop, and the application threads here have no tracer to resume them.)
func handOver(t *tracee) error {
	if ws, err := t.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		return fmt.Errorf("systrap: new stub thread did not stop (%v): %v", ws.StopSignal(), err)
	}
	regs := t.template
	regs.Rip = stubParkAddr
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(t.tid, &regs); err != nil {
		return fmt.Errorf("systrap: parking new stub thread: %w", err)
	}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(t.tid), 0, 0, 0, 0); errno != 0 {
		return fmt.Errorf("systrap: handing over new stub thread: %w", errno)
	}
	return nil
}

// seize makes the calling thread the tracer of stub thread tid of process
// tgid, which the factory handed over, and stops it.
//
// Preconditions: the caller is locked to its OS thread.
func seize(tgid, tid int) (*tracee, error) {
	t := &tracee{tgid: tgid, tid: tid}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, unix.PTRACE_O_EXITKILL, 0, 0); errno != 0 {
		return nil, fmt.Errorf("systrap: seizing stub thread %d: %w", tid, errno)
	}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(tid), 0, 0, 0, 0); errno != 0 {
		return nil, fmt.Errorf("systrap: stopping stub thread %d: %w", tid, errno)
	}
	if _, err := t.waitStop(); err != nil {
		return nil, err
	}
	if err := t.captureTemplate(); err != nil {
		return nil, err
	}
	return t, nil
}

// exit makes the stopped thread exit(2) by itself and reaps it.
func (t *tracee) exit() {
	regs := t.template
	regs.Rip = stubSyscallAddr
	regs.Rax = unix.SYS_EXIT
	regs.Rdi = 0
	regs.Orig_rax = ^uint64(0)
	if unix.PtraceSetRegs(t.tid, &regs) != nil || unix.PtraceCont(t.tid, 0) != nil {
		_ = unix.Tgkill(t.tgid, t.tid, unix.SIGKILL)
	}
	t.reap()
}
