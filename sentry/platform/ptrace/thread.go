package ptrace

import (
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
)

// Ptrace requests and events x/sys/unix does not name.
const (
	ptraceSysemu = 31
	// stopSyscall is the stop signal of a system-call stop with
	// PTRACE_O_TRACESYSGOOD.
	stopSyscall = unix.SIGTRAP | 0x80
)

// errStubDied is returned when a stub thread is gone (killed from outside,
// or by a host resource limit).
var errStubDied = errors.New("ptrace: stub process exited")

// thread is one traced stub thread. All ptrace requests on it are made by
// the single host thread that traces it (owner); wait4 may come from any
// thread of the sentry.
type thread struct {
	tgid int
	tid  int
	// owner is the host TID of the tracer.
	owner int
	// template holds the registers the thread stopped with when it was
	// attached; injected system calls start from a copy of it so the
	// segment registers are valid.
	template arch.Registers
	// pinned is set once the thread and its tracer share a CPU. Used only
	// by the tracer.
	pinned bool
	// interrupted is set by kick and consumed by the tracer when it sees
	// the SIGSTOP the kick sent.
	interrupted atomic.Bool
	// segvStop is set while the thread sits in the signal-delivery stop
	// of a host SIGSEGV that Switch reported as a fault: the stop a
	// fault probe needs (faultprobe.go). Anything that resumes the
	// thread clears it. Used only by the tracer.
	segvStop bool
	// probeSlot is the thread's slot in the probe area, numbered from 1;
	// 0 when it has none. Set by the address space when it attaches the
	// thread; used only by the tracer after that.
	probeSlot int
}

// waitStop waits for the thread's next stop and returns its status.
func (t *thread) waitStop() (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(t.tid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ws, fmt.Errorf("ptrace: wait4(%d): %w", t.tid, err)
		}
		if ws.Exited() || ws.Signaled() {
			return ws, errStubDied
		}
		if !ws.Stopped() {
			continue
		}
		return ws, nil
	}
}

// kick interrupts the thread: a SIGSTOP makes it stop wherever it runs.
func (t *thread) kick() {
	t.interrupted.Store(true)
	_ = unix.Tgkill(t.tgid, t.tid, unix.SIGSTOP)
}

// setOptions sets the tracing options every stub thread runs with: it dies
// with its tracer, and system-call stops are distinguishable from SIGTRAP.
func (t *thread) setOptions(extra int) error {
	opts := unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD | extra
	if err := unix.PtraceSetOptions(t.tid, opts); err != nil {
		return fmt.Errorf("ptrace: setting options on %d: %w", t.tid, err)
	}
	return nil
}

// syscall injects a host system call into the stopped stub thread and
// returns its result. The thread's application registers are not preserved:
// Switch always sets them in full before it runs application code.
func (t *thread) syscall(nr uintptr, args ...uintptr) (uintptr, error) {
	t.segvStop = false
	regs := t.template
	regs.Rip = stubSyscallAddr
	regs.Rax = uint64(nr)
	regs.Orig_rax = ^uint64(0)
	var a [6]uintptr
	copy(a[:], args)
	regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 =
		uint64(a[0]), uint64(a[1]), uint64(a[2]), uint64(a[3]), uint64(a[4]), uint64(a[5])
	if err := unix.PtraceSetRegs(t.tid, &regs); err != nil {
		return 0, fmt.Errorf("ptrace: setting registers to inject syscall %d: %w", nr, err)
	}
	for {
		if err := unix.PtraceCont(t.tid, 0); err != nil {
			return 0, fmt.Errorf("ptrace: resuming stub for syscall %d: %w", nr, err)
		}
		ws, err := t.waitStop()
		if err != nil {
			return 0, err
		}
		sig := ws.StopSignal()
		if sig == unix.SIGTRAP && ws.TrapCause() <= 0 {
			break
		}
		if sig == unix.SIGSTOP {
			// A kick arrived while the stub served us; the next
			// Switch reports it.
			continue
		}
		return 0, fmt.Errorf("ptrace: stub stopped with %v during injected syscall %d", sig, nr)
	}
	if err := unix.PtraceGetRegs(t.tid, &regs); err != nil {
		return 0, fmt.Errorf("ptrace: reading injected syscall result: %w", err)
	}
	if ret := int64(regs.Rax); ret < 0 && ret > -4096 {
		return 0, unix.Errno(-ret)
	}
	return uintptr(regs.Rax), nil
}

// captureTemplate records the current registers as the injection template.
func (t *thread) captureTemplate() error {
	if err := unix.PtraceGetRegs(t.tid, &t.template); err != nil {
		return fmt.Errorf("ptrace: reading stub registers: %w", err)
	}
	return nil
}

// kill kills the thread's whole stub process and reaps the thread.
func (t *thread) kill() {
	_ = unix.Kill(t.tgid, unix.SIGKILL)
	t.reap()
}

// reap waits until the (killed) thread is gone.
func (t *thread) reap() {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(t.tid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			return
		}
		// A stop (a group stop from a hand-over in the same process)
		// on the way out: let it go on exiting.
		_ = unix.PtraceCont(t.tid, 0)
	}
}

// bindToTracerCPU pins the stub thread and its tracer to the CPU the tracer
// runs on, once per stub thread. Every system call is a hand-off between
// the two; on one CPU it is a plain context switch, across CPUs it costs a
// wake-up interrupt, which on a virtual machine is an expensive exit (the
// round trip halves on the development VM). The tracer is locked to its OS
// thread, so the pin follows the task.
//
// TODO(scheduler): with many tasks, spread tracers over the pod's CPUs
// instead of keeping the CPU each happened to start on.
func (t *thread) bindToTracerCPU() {
	if t.pinned {
		return
	}
	t.pinned = true
	cpu, err := currentCPU()
	if err != nil {
		return
	}
	var set unix.CPUSet
	set.Set(cpu)
	if unix.SchedSetaffinity(0, &set) == nil {
		_ = unix.SchedSetaffinity(t.tid, &set)
	}
}

// exit makes the stopped thread exit(2) by itself and reaps it.
func (t *thread) exit() {
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
