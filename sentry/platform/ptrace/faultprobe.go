package ptrace

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Fault probes: telling a read from a write.
//
// A host SIGSEGV stops the stub before the host delivers it, and what the
// tracer can read at that stop (the registers, PTRACE_GETSIGINFO's si_code
// and si_addr) does not say whether the access was a read, a write or an
// instruction fetch: the page-fault error code is only written into the
// signal frame. The sentry's memory manager rarely needs it (a fault it
// serves is retried, and one on a read-only mapping that repeats must have
// been a write), but a signal the application sees carries it in
// uc_mcontext.err, and for an address with no mapping at all nothing else
// tells a read from a write.
//
// So the stub has a SIGSEGV handler whose entry is its `int3`, and a
// context whose fault becomes a signal asks for the access
// (platform.FaultAccessProber): while the stub thread still sits in the
// fault's signal-delivery stop, the tracer points its stack at the
// thread's probe slot and resumes it with the SIGSEGV. The host writes the
// frame (error code included) into the slot and enters the handler, which
// traps at once; the tracer reads err, and puts back the FP state the
// delivery reset. Faults the sentry serves never pay for it.

// Page-fault error code bits (arch/x86/include/asm/trap_pf.h).
const (
	pfWriteBit = 1 << 1
	pfInstrBit = 1 << 4
)

// Offsets in the frame the host builds for an SA_SIGINFO handler: on entry
// %rdx points at the ucontext, whose uc_mcontext (struct sigcontext)
// starts after uc_flags, uc_link and uc_stack (40 bytes); its err and
// trapno fields follow the 18 general registers and the four segment
// selectors.
const (
	ucMcontextOffset = 40
	scErrOffset      = ucMcontextOffset + 19*8
	scTrapnoOffset   = ucMcontextOffset + 20*8
	trapPageFault    = 14
)

// Linux sigaction flags for the probe handler.
const (
	saSiginfo  = 0x4
	saRestorer = 0x04000000
	saNodefer  = 0x40000000
)

// setUpFaultProbe maps the probe area in the master and installs its
// SIGSEGV handler; forks inherit both. SA_NODEFER leaves the thread's
// signal mask alone, so nothing needs restoring after a probe but the
// registers and FP state.
func setUpFaultProbe(t *thread) error {
	addr, err := t.syscall(unix.SYS_MMAP, probeAreaAddr, probeAreaSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED_NOREPLACE, ^uintptr(0), 0)
	if err != nil {
		return fmt.Errorf("ptrace: mapping the fault probe area: %w", err)
	}
	if addr != probeAreaAddr {
		_, _ = t.syscall(unix.SYS_MUNMAP, addr, probeAreaSize)
		return fmt.Errorf("ptrace: fault probe area mapped at %#x, not %#x", addr, probeAreaAddr)
	}
	return installProbeHandler(t, stubDataAddr)
}

// installProbeHandler makes the stub's SIGSEGV handler the probe's, with
// the struct sigaction written at buf, memory of the stub's the caller
// may use.
func installProbeHandler(t *thread, buf uintptr) error {
	// struct kernel_sigaction { handler, flags, restorer, mask }
	var act [32]byte
	binary.LittleEndian.PutUint64(act[0:], stubTrapAddr)
	binary.LittleEndian.PutUint64(act[8:], saSiginfo|saRestorer|saNodefer)
	binary.LittleEndian.PutUint64(act[16:], stubTrapAddr)
	if _, err := unix.PtracePokeData(t.tid, buf, act[:]); err != nil {
		return fmt.Errorf("ptrace: writing the probe's sigaction: %w", err)
	}
	if _, err := t.syscall(unix.SYS_RT_SIGACTION, uintptr(unix.SIGSEGV), buf, 0, 8); err != nil {
		return fmt.Errorf("ptrace: installing the probe's SIGSEGV handler: %w", err)
	}
	return nil
}

var _ platform.FaultAccessProber = (*context)(nil)

// FaultAccess implements platform.FaultAccessProber.FaultAccess.
func (c *context) FaultAccess() platform.AccessType {
	t := c.lastFault
	c.lastFault = nil
	if t == nil || !t.segvStop || t.probeSlot == 0 {
		return 0
	}
	t.segvStop = false
	code, ok := t.probeFaultCode()
	if !ok {
		return 0
	}
	switch {
	case code&pfInstrBit != 0:
		return platform.Execute
	case code&pfWriteBit != 0:
		return platform.Write
	default:
		return platform.Read
	}
}

// probeFaultCode delivers the SIGSEGV t is stopped for to the probe
// handler and returns the page-fault error code of its frame. On false
// the thread is left stopped in a state the next Switch or injected call
// overwrites; a thread whose probe went wrong does not probe again.
//
// Preconditions: t is in the signal-delivery stop of a host SIGSEGV of a
// page fault (segvStop was set), and has a probe slot.
func (t *thread) probeFaultCode() (uint64, bool) {
	// The delivery resets the FP state for the handler.
	fp, err := getFPRegs(t.tid, nil)
	if err != nil {
		return 0, false
	}
	regs := t.template
	regs.Rsp = probeSlotTop(t.probeSlot)
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(t.tid, &regs); err != nil {
		return 0, false
	}
	sig := uintptr(unix.SIGSEGV)
	for {
		if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_CONT, uintptr(t.tid), 0, sig, 0, 0); errno != 0 {
			return 0, false
		}
		sig = 0
		ws, err := t.waitStop()
		if err != nil {
			return 0, false
		}
		if s := ws.StopSignal(); s == unix.SIGTRAP && ws.TrapCause() <= 0 {
			break
		} else if s != unix.SIGSEGV {
			// A kick (the next Switch reports it) or a host
			// signal, swallowed as Switch does.
			continue
		}
		// The frame could not be written (the host then resets the
		// handler and raises SIGSEGV again): put the handler back for
		// the other threads, and give up on probing in this one.
		_ = installProbeHandler(t, uintptr(probeSlotTop(t.probeSlot))-32)
		t.probeSlot = 0
		_ = setFPRegs(t.tid, fp)
		return 0, false
	}
	defer func() { _ = setFPRegs(t.tid, fp) }()
	if err := unix.PtraceGetRegs(t.tid, &regs); err != nil {
		return 0, false
	}
	var b [16]byte
	if _, err := unix.PtracePeekData(t.tid, uintptr(regs.Rdx)+scErrOffset, b[:]); err != nil {
		return 0, false
	}
	if binary.LittleEndian.Uint64(b[8:]) != trapPageFault {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:8]), true
}

// probeSlotTop is the initial stack pointer of probe slot i (numbered
// from 1): the end of [probeAreaAddr+(i-1)*probeSlotSize, +probeSlotSize).
func probeSlotTop(i int) uint64 {
	return probeAreaAddr + uint64(i)*probeSlotSize
}
