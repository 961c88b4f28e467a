package ptrace

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/cpuledger"
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

const (
	// segvMapErr is SEGV_MAPERR: the page was not mapped.
	segvMapErr = 1
	// segvAccErr is SEGV_ACCERR: the page's protection refused the access.
	segvAccErr = 2
	// eflagsFixed is always set (bit 1 and IF).
	eflagsFixed = 0x202
	// eflagsKernelOnly are flags the application may not set: IOPL, NT, RF,
	// VM, VIF, VIP.
	eflagsKernelOnly = 0x3000 | 0x4000 | 0x10000 | 0x20000 | 0x80000 | 0x100000
)

// context runs one task. It is used only by the task's own (locked) thread,
// except for Interrupt.
type context struct {
	p *Platform
	// running is the stub thread in use by Switch, for Interrupt; nil
	// outside Switch.
	running atomic.Pointer[thread]
	// pendingInterrupt records an Interrupt that arrived outside Switch so
	// the next Switch returns at once.
	pendingInterrupt atomic.Bool
	// fpThread is the stub thread holding the task's live FP state.
	fpThread *thread
	// lastFault is the stub thread the last Switch returned a host
	// SIGSEGV fault from, for FaultAccess; nil otherwise.
	lastFault *thread
	// lastCPU is the ledger of the stub process of the last Switch, for
	// BoundUserTime.
	lastCPU *cpuledger.Ledger
}

var (
	_ platform.Context         = (*context)(nil)
	_ platform.UserTimeBounder = (*context)(nil)
)

// BoundUserTime implements platform.UserTimeBounder with the ledger of the
// stub process that ran the last Switch (cpuledger.Ledger).
func (c *context) BoundUserTime(wall time.Duration) time.Duration {
	if c.lastCPU == nil {
		return wall
	}
	return c.lastCPU.Charge(wall)
}

// NewContext implements platform.Platform.NewContext.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{p: p}, nil
}

// Interrupt implements platform.Context.Interrupt.
func (c *context) Interrupt() {
	c.pendingInterrupt.Store(true)
	if t := c.running.Load(); t != nil {
		t.kick()
	}
}

// Release implements platform.Context.Release: the task is exiting on its
// own thread, whose stub threads end with it.
//
// Preconditions: called by the task's thread.
func (c *context) Release() {
	c.p.spacesMu.Lock()
	spaces := make([]*addressSpace, 0, len(c.p.spaces))
	for as := range c.p.spaces {
		spaces = append(spaces, as)
	}
	c.p.spacesMu.Unlock()
	for _, as := range spaces {
		as.releaseThread()
	}
}

// Switch implements platform.Context.Switch.
func (c *context) Switch(pas platform.AddressSpace, st *arch.State) (platform.Trap, error) {
	as := pas.(*addressSpace)
	c.lastFault = nil
	t, err := as.threadFor()
	if err != nil {
		return platform.Trap{}, err
	}
	t.segvStop = false
	if err := c.loadFP(t, st); err != nil {
		return platform.Trap{}, err
	}
	t.bindToTracerCPU()
	c.lastCPU = as.cpu
	c.running.Store(t)
	defer c.running.Store(nil)
	if c.pendingInterrupt.Swap(false) {
		return platform.Trap{Kind: platform.TrapInterrupted}, nil
	}

	// orig_rax = -1 keeps the host from applying its own syscall-restart
	// logic to the registers we return with.
	st.Regs.Orig_rax = ^uint64(0)
	// The application cannot pick its code and stack segments; the host's
	// user selectors are the only valid ones.
	st.Regs.Cs, st.Regs.Ss = t.template.Cs, t.template.Ss
	st.Regs.Eflags = (st.Regs.Eflags &^ eflagsKernelOnly) | eflagsFixed
	if err := unix.PtraceSetRegs(t.tid, &st.Regs); err != nil {
		return platform.Trap{}, fmt.Errorf("ptrace: setting task registers: %w", err)
	}
	for {
		if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, ptraceSysemu, uintptr(t.tid), 0, 0, 0, 0); errno != 0 {
			return platform.Trap{}, fmt.Errorf("ptrace: PTRACE_SYSEMU: %w", errno)
		}
		ws, err := t.waitStop()
		if err != nil {
			return platform.Trap{}, err
		}
		sig := ws.StopSignal()
		switch sig {
		case stopSyscall:
			if err := unix.PtraceGetRegs(t.tid, &st.Regs); err != nil {
				return platform.Trap{}, fmt.Errorf("ptrace: reading task registers: %w", err)
			}
			return platform.Trap{Kind: platform.TrapSyscall}, nil
		case unix.SIGSTOP:
			if !t.interrupted.Swap(false) {
				// A host SIGSTOP not from us: the application
				// never sees host signals.
				continue
			}
			c.pendingInterrupt.Store(false)
			if err := unix.PtraceGetRegs(t.tid, &st.Regs); err != nil {
				return platform.Trap{}, fmt.Errorf("ptrace: reading task registers: %w", err)
			}
			return platform.Trap{Kind: platform.TrapInterrupted}, nil
		case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP:
			info, err := getSiginfo(t.tid)
			if err != nil {
				return platform.Trap{}, fmt.Errorf("ptrace: reading fault siginfo: %w", err)
			}
			if err := unix.PtraceGetRegs(t.tid, &st.Regs); err != nil {
				return platform.Trap{}, fmt.Errorf("ptrace: reading task registers: %w", err)
			}
			trap := platform.Trap{Kind: platform.TrapException, Signo: int(sig), Code: int(info.Code), Addr: info.Addr}
			if sig == unix.SIGSEGV || sig == unix.SIGBUS {
				trap.Kind = platform.TrapFault
				trap.NotPresent = sig == unix.SIGSEGV && info.Code == segvMapErr
				if sig == unix.SIGSEGV && (info.Code == segvMapErr || info.Code == segvAccErr) {
					// A page fault: probeable until the thread
					// is resumed.
					t.segvStop = true
					c.lastFault = t
				}
			}
			return trap, nil
		default:
			// Other host signals (SIGWINCH, SIGPIPE, ...) are the
			// host's business, not the application's: swallow them.
			continue
		}
	}
}

// loadFP makes sure the stub thread t holds the task's FP state.
func (c *context) loadFP(t *thread, st *arch.State) error {
	if c.fpThread == t {
		return nil
	}
	if c.fpThread != nil {
		// The task moved to another stub thread (a new address space):
		// carry its FP state over.
		// The old stub may be gone already; the new one then starts
		// from the state held in st.
		if fp, err := getFPRegs(c.fpThread.tid, st.FP); err == nil {
			st.FP = fp
		}
	}
	if st.FP != nil {
		if err := setFPRegs(t.tid, st.FP); err != nil {
			return fmt.Errorf("ptrace: loading FP state: %w", err)
		}
	}
	c.fpThread = t
	return nil
}

// PullFPState implements platform.Context.PullFPState.
func (c *context) PullFPState(st *arch.State) error {
	if c.fpThread == nil {
		if len(st.FP) < arch.FPStateSize {
			st.FP = arch.InitialFPState()
		}
		return nil
	}
	fp, err := getFPRegs(c.fpThread.tid, st.FP)
	if err != nil {
		return err
	}
	st.FP = fp
	return nil
}

// PushFPState implements platform.Context.PushFPState.
func (c *context) PushFPState(st *arch.State) error {
	if c.fpThread == nil || st.FP == nil {
		return nil
	}
	return setFPRegs(c.fpThread.tid, st.FP)
}
