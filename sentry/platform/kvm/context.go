package kvm

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// maxSpuriousRetries bounds the re-runs of a page fault that the tables
// allow (see addressSpace.permits) before it is reported anyway.
const maxSpuriousRetries = 3

// context runs one task.
//
// Switch, Release, PullFPState and PushFPState are called only by the task's goroutine,
// which is locked to the OS thread tid (the platform's precondition);
// Interrupt may be called from any goroutine.
type context struct {
	p *Platform
	// tid is the task's host thread; immutable.
	tid int32

	// interrupted records an Interrupt not yet reported by a Switch;
	// wake carries it to a Switch waiting for a vCPU (capacity 1).
	interrupted atomic.Bool
	wake        chan struct{}
	// running is the vCPU a Switch in progress holds, for Interrupt.
	running atomic.Pointer[vCPU]

	// Fields used only by the task's goroutine.

	// last is the vCPU of the previous Switch, tried first.
	last *vCPU
	// fpGiven is the slice the platform last stored in st.FP; a
	// different st.FP means the kernel replaced the FPU state.
	fpGiven []byte
	// lastVia is how the last syscall arrived (for the probe).
	lastVia  syscallVia
	released bool

	// FPU state hand-off, protected by machine.fpMu. The task's live
	// state is in the vCPU fpIn when it is not nil (and then
	// fpIn.fpOwner == this context), otherwise in fp.
	fp   []byte
	fpIn *vCPU
}

var _ platform.Context = (*context)(nil)

// Interrupt implements platform.Context.Interrupt.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if v := c.running.Load(); v != nil {
		v.kick()
	}
}

// Release implements platform.Context.Release.
func (c *context) Release() {
	if c.released {
		return
	}
	c.released = true
	m := c.p.m
	m.fpMu.Lock()
	if c.fpIn != nil {
		c.fpIn.fpOwner.Store(nil)
		c.fpIn = nil
	}
	m.fpMu.Unlock()
	c.last = nil
}

// Switch implements platform.Context.Switch.
func (c *context) Switch(pas platform.AddressSpace, st *arch.State) (platform.Trap, error) {
	as, ok := pas.(*addressSpace)
	if !ok || as.m != c.p.m {
		return platform.Trap{}, fmt.Errorf("kvm: Switch with an address space of another platform")
	}
	if c.released {
		return platform.Trap{}, fmt.Errorf("kvm: Switch on a released context")
	}
	if !arch.IsCanonical(st.Regs.Rip) {
		// Linux returns with IRET, which faults on a non-canonical
		// RIP; the fault becomes SIGSEGV with si_code SI_KERNEL.
		// Running is pointless: report it at once.
		return platform.Trap{Kind: platform.TrapException, Signo: int(unix.SIGSEGV), Code: siKernel}, nil
	}
	if !arch.IsCanonical(st.Regs.Fs_base) || !arch.IsCanonical(st.Regs.Gs_base) {
		return platform.Trap{}, fmt.Errorf("kvm: non-canonical FS or GS base %#x/%#x", st.Regs.Fs_base, st.Regs.Gs_base)
	}
	m := c.p.m
	var v *vCPU
	for {
		var err error
		v, err = m.pool.acquireOrWake(c.last, c.tid, c.wake)
		if err == nil {
			break
		}
		if err != errWaitInterrupted {
			return platform.Trap{}, err
		}
		if c.interrupted.Swap(false) {
			return platform.Trap{Kind: platform.TrapInterrupted}, nil
		}
		// A wake whose Interrupt an earlier Switch already reported.
	}
	defer m.pool.release(v)
	c.last = v
	// Drop a stale kick (one that arrived after an earlier KVM_RUN
	// returned); an Interrupt from now on is seen through running or the
	// flag.
	setImmediateExit(v.run, 0)
	c.running.Store(v)
	defer c.running.Store(nil)
	if err := c.loadFP(v, st); err != nil {
		return platform.Trap{}, err
	}
	return c.run(v, as, st)
}

// run is the vCPU loop: enter, run, classify, until a trap to report.
func (c *context) run(v *vCPU, as *addressSpace, st *arch.State) (platform.Trap, error) {
	m := c.p.m
	resume := false
	spurious := 0
	for {
		if err := as.enter(v); err != nil {
			return platform.Trap{}, err
		}
		if !resume {
			// An Interrupt after this check kicks v (running is
			// set), and the kick's immediate_exit is not cleared
			// before KVM_RUN reads it.
			if c.interrupted.Swap(false) {
				v.as.Store(nil)
				return platform.Trap{Kind: platform.TrapInterrupted}, nil
			}
			gen := as.gen.Load()
			rflags := userRFlags(st.Regs.Eflags)
			path := chooseReturn(entryState{
				cpl:           v.cpl,
				sameTask:      v.userOwner == c,
				atSyscallStub: v.atSyscallStub,
				sysretAllowed: c.p.entry.sysretAllowed(),
				needCR3:       v.cr3 != as.root || v.flushedAS != as || v.flushedGen != gen,
			}, &st.Regs, rflags)
			v.prepare(path, st, rflags, as.root)
			v.pendingAS, v.pendingGen = as, gen
		}
		v.runSeq.Add(1)
		v.inGuest.Store(true)
		m.wd.entering()
		errno := v.be.run()
		v.inGuest.Store(false)
		setImmediateExit(v.run, 0)
		v.as.Store(nil)

		e := v.readExit(errno)
		res := classify(&e, v)
		v.cpl = e.cs & 3
		v.cr3 = v.run.Sync.Sregs.CR3
		v.atSyscallStub = res.via == viaRing0
		v.userOwner = nil
		if v.cpl == 3 {
			v.userOwner = c
		}
		resume = false
		switch res.kind {
		case exitResume:
			resume = true
			continue
		case exitBeforeUser:
			c.interrupted.Store(false)
			return res.trap, nil
		case exitFailed:
			v.broken = true
			return platform.Trap{}, res.err
		}
		// exitTrap: the guest reached user mode, so it went through
		// the flush this entry prepared.
		v.flushedAS, v.flushedGen = v.pendingAS, v.pendingGen
		applyTrapRegs(&res, &v.run.Sync.Sregs, st)
		if res.via != viaNone {
			c.lastVia = res.via
		}
		switch res.trap.Kind {
		case platform.TrapInterrupted:
			c.interrupted.Store(false)
		case platform.TrapFault:
			if spurious < maxSpuriousRetries && as.permits(res.trap.Addr, res.trap.Access) {
				// The tables allow the access: a stale
				// translation. Flush and retry.
				spurious++
				v.flushedAS = nil
				continue
			}
		}
		if res.fpuCode {
			res.trap.Code = c.fpuCode(v, res.vector)
		}
		if res.vector == vectorUD && as.firstByte(res.trap.Addr) == opIntN {
			// `int n` on a gate the application may not use is a
			// #GP on hardware; the PVM of the development hosts
			// raises #UD instead. `int n` is never undefined, so
			// the #UD is that #GP.
			res.trap, _, _ = exceptionTrap(vectorGP, 0, 0, res.trap.Addr, st.Regs.Eflags)
		}
		return res.trap, nil
	}
}

// fpuCode computes the si_code of a #MF or #XM from the vCPU's FPU state.
func (c *context) fpuCode(v *vCPU, vector int) int {
	m := c.p.m
	m.fpMu.Lock()
	defer m.fpMu.Unlock()
	img := make([]byte, m.fp.size())
	if err := v.saveFP(m.fp, img); err != nil {
		return 0
	}
	return fpuExceptionCode(img, vector)
}

// loadFP makes v hold the task's FPU state.
//
// The state moves only when v last ran another task, or the task last ran
// on another vCPU, or the kernel gave a new state (PushFPState, or a st.FP
// that is not the slice the platform last saw there, as for a new task). Moves happen under machine.fpMu:
// the task's live state is taken home from the vCPU holding it, the state
// v holds for another task is sent home to that task, and then v is
// loaded. A vCPU's FPU state changes only in KVM_RUN or by KVM_SET_*, and
// no holder runs a vCPU before passing this function for it, so reading a
// vCPU's state under fpMu here is safe even while another goroutine holds
// that vCPU.
func (c *context) loadFP(v *vCPU, st *arch.State) error {
	m := c.p.m
	if c.fp == nil || !sameSlice(st.FP, c.fpGiven) {
		// A new task (a clone's child starts with a copy of its
		// parent's state in st.FP), or the kernel replaced st.FP
		// without PushFPState.
		if err := c.PushFPState(st); err != nil {
			return err
		}
		if st.FP == nil {
			st.FP = append([]byte(nil), c.fp...)
			c.fpGiven = st.FP
		}
	}
	if v.fpOwner.Load() == c {
		return nil
	}
	m.fpMu.Lock()
	defer m.fpMu.Unlock()
	if u := c.fpIn; u != nil && u != v {
		if err := u.saveFP(m.fp, c.fp); err != nil {
			return err
		}
		u.fpOwner.Store(nil)
		c.fpIn = nil
	}
	if o := v.fpOwner.Load(); o != nil && o != c {
		if err := v.saveFP(m.fp, o.fp); err != nil {
			return err
		}
		o.fpIn = nil
		v.fpOwner.Store(nil)
	}
	if err := v.loadFP(m.fp, c.fp); err != nil {
		return err
	}
	v.fpOwner.Store(c)
	c.fpIn = v
	return nil
}

// PullFPState implements platform.Context.PullFPState: it copies the
// task's current FPU state into st.FP (the platform's image: XSAVE format,
// or FXSAVE without XSAVE; its first 512 bytes are the FXSAVE area). The
// live state stays in a vCPU between Switches and st.FP is not refreshed
// on every trap (that would cost an ioctl per syscall), so the kernel
// calls this before it reads st.FP.
//
// Preconditions: called by the task's goroutine, outside Switch.
func (c *context) PullFPState(st *arch.State) error {
	m := c.p.m
	m.fpMu.Lock()
	defer m.fpMu.Unlock()
	if c.fp == nil {
		c.fp = initFPImage(m.fp)
	}
	if c.fpIn != nil {
		if err := c.fpIn.saveFP(m.fp, c.fp); err != nil {
			return err
		}
	}
	if len(st.FP) != len(c.fp) {
		st.FP = make([]byte, len(c.fp))
	}
	copy(st.FP, c.fp)
	c.fpGiven = st.FP
	return nil
}

// PushFPState implements platform.Context.PushFPState: st.FP (an FXSAVE
// area, or an image PullFPState returned; nil is the initial state) becomes
// the task's state, loaded into the vCPU by the next Switch.
//
// Preconditions: called by the task's goroutine, outside Switch.
func (c *context) PushFPState(st *arch.State) error {
	m := c.p.m
	img := initFPImage(m.fp)
	if st.FP != nil {
		var err error
		if img, err = importFPImage(m.fp, st.FP, m.xcr0); err != nil {
			return err
		}
	}
	m.fpMu.Lock()
	c.fp = img
	if c.fpIn != nil {
		c.fpIn.fpOwner.Store(nil)
		c.fpIn = nil
	}
	m.fpMu.Unlock()
	c.fpGiven = st.FP
	return nil
}

// sameSlice reports whether a and b are the same slice of the same array.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}
