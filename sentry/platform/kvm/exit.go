package kvm

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Exit classification: the one place that turns what KVM_RUN left in
// kvm_run (and, for exceptions, the frame the processor pushed on the
// ring-0 stack) into a platform.Trap and the task's user registers.
//
// A user `syscall` arrives in one of two ways, and both are accepted on
// every host (the start-up probe only records which one the host uses, to
// choose the return path; probe.go):
//
//   - ring 0 (VMX, SVM): SYSCALL enters the LSTAR stub at CPL 0, whose
//     `out` exits with port syscallPort, size 4. RCX holds the user RIP, R11
//     the user RFLAGS, RSP is still the user's (SYSCALL does not switch
//     stacks).
//   - page fault (this PVM): SYSCALL jumps to LSTAR without leaving CPL 3;
//     the fetch of the supervisor-only stub raises #PF, delivered through
//     the IDT with a frame whose RIP and CR2 are the stub's address, CS the
//     user selector, and RFLAGS with SFMASK applied. RCX and R11 are set
//     as in the ring-0 case.
//
// A user jump to the stub also faults at RIP = CR2 = stub, so the second
// form is recognised only with RFLAGS.IF clear in the frame: SFMASK clears
// IF, and user mode cannot (IOPL is 0, so cli faults and popf leaves IF
// alone; userRFlags always sets it). That jump is then an ordinary user
// #PF on a supervisor address: SIGSEGV. (Were the two ever confused, the
// task would only get the syscall it could have made with `syscall`: the
// classification guards Linux compatibility, not isolation.)

// Linux si_code values (include/uapi/asm-generic/siginfo.h).
const (
	siKernel   = 0x80
	segvMapErr = 1
	segvAccErr = 2
	busAdrAln  = 1
	illIllOpn  = 2
	fpeIntDiv  = 1
	fpeFltDiv  = 3
	fpeFltOvf  = 4
	fpeFltUnd  = 5
	fpeFltRes  = 6
	fpeFltInv  = 7
	trapBrkpt  = 1
	trapTrace  = 2
)

// Page-fault error code bits (SDM Vol. 3A 4.7).
const (
	pfPresent = 1 << 0 // the fault was a protection violation, not a missing page
	pfWrite   = 1 << 1
	pfUser    = 1 << 2
	pfRsvd    = 1 << 3 // a reserved bit was set in a paging entry
	pfFetch   = 1 << 4 // instruction fetch (reported only with NX or SMEP)
)

// errnoENOSYS is what Linux puts in RAX at syscall entry.
const errnoENOSYS = 38

// exitState is what the vCPU loop read from kvm_run after KVM_RUN.
type exitState struct {
	// errno is KVM_RUN's error: 0, or EINTR (a signal or immediate_exit).
	errno  unix.Errno
	reason uint32
	io     ioExit
	regs   kvmRegs
	// cs is the CS selector; its low two bits are the CPL.
	cs  uint16
	cr2 uint64
	// inFlight reports an event KVM has begun delivering and will finish
	// on the next KVM_RUN (an exception or interrupt interrupted by a host
	// signal, see kvm_vcpu_events): the vCPU must resume untouched.
	inFlight bool
	// detail is the first word of the exit union, for error messages
	// (fail_entry's hardware reason, internal's suberror).
	detail uint64
}

// maxFrameWords is the largest exception frame: an error code and the five
// words of an interrupt frame.
const maxFrameWords = iretFrameWords + 1

// stackReader reads exception frames from a vCPU's ring-0 and IST stacks.
type stackReader interface {
	// readFrame returns the n (at most maxFrameWords) words at guest
	// virtual address va; it fails if they are not within one of the
	// vCPU's stack pages. (It returns an array, not a slice, so the
	// classifier allocates nothing.)
	readFrame(va uint64, n int) ([maxFrameWords]uint64, bool)
}

// exitKind says what the vCPU loop does with an exit.
type exitKind int

const (
	// exitTrap: report trap; the task's user registers are in regs.
	exitTrap exitKind = iota + 1
	// exitResume: run again without changing any state.
	exitResume
	// exitBeforeUser: the vCPU was stopped before it reached user mode;
	// the task's registers are unchanged and the trap is TrapInterrupted.
	exitBeforeUser
	// exitFailed: err says what went wrong.
	exitFailed
)

// syscallVia says how a syscall reached the sentry.
type syscallVia int

const (
	viaNone syscallVia = iota
	viaRing0
	viaPageFault
)

// exitResult is the classification of one exit.
type exitResult struct {
	kind exitKind
	trap platform.Trap
	// regs is the task's user register file at the trap, with RIP, RSP
	// and RFLAGS the user's (for exitTrap).
	regs    kvmRegs
	origRAX uint64
	via     syscallVia
	// fpuCode reports that trap.Code must be computed from the FPU state
	// (#MF and #XM).
	fpuCode bool
	// vector is the exception's vector, or -1.
	vector int
	err    error
}

// classify classifies an exit.
func classify(e *exitState, stk stackReader) exitResult {
	if e.errno == unix.EINTR || (e.errno == 0 && e.reason == exitIntr) {
		return classifyInterrupted(e, stk)
	}
	if e.errno != 0 {
		return failed(fmt.Errorf("KVM_RUN: %w", e.errno))
	}
	rip := e.regs.RIP
	switch e.reason {
	case exitIO:
		if e.cs&3 != 0 || e.io.Direction != ioDirOut || e.io.Count != 1 {
			return failed(fmt.Errorf("unexpected I/O exit (port %#x, size %d, direction %d, count %d) at rip %#x, cs %#x", e.io.Port, e.io.Size, e.io.Direction, e.io.Count, rip, e.cs))
		}
		if e.io.Size == syscallIOSize && e.io.Port == syscallPort && (rip == syscallStubVA || rip == sysretVA) {
			return syscallRing0(e)
		}
		if e.io.Size == vectorIOSize {
			if v, _, ok := vectorOfStub(rip); ok && v == int(e.io.Port) {
				return exception(e, v, stk)
			}
		}
		return failed(fmt.Errorf("I/O exit on port %#x size %d from outside its stub (rip %#x)", e.io.Port, e.io.Size, rip))
	case exitHLT:
		return failed(fmt.Errorf("guest halted in ring 0 at rip %#x", rip))
	case exitShutdown:
		return failed(fmt.Errorf("guest triple fault (rip %#x, cs %#x)", rip, e.cs))
	case exitFailEntry:
		return failed(fmt.Errorf("VM entry failed, hardware reason %#x (rip %#x)", e.detail, rip))
	case exitInternalError:
		return failed(fmt.Errorf("KVM internal error, suberror %d (rip %#x)", uint32(e.detail), rip))
	case exitMMIO:
		return failed(fmt.Errorf("guest accessed unbacked physical address %#x (rip %#x)", e.detail, rip))
	default:
		return failed(fmt.Errorf("unexpected exit reason %d at rip %#x", e.reason, rip))
	}
}

// classifyInterrupted handles KVM_RUN returning EINTR: a Go runtime signal,
// a kick (immediate_exit and SIGURG) or the watchdog. The vCPU may have
// stopped anywhere.
func classifyInterrupted(e *exitState, stk stackReader) exitResult {
	if e.inFlight {
		return exitResult{kind: exitResume, vector: -1}
	}
	rip := e.regs.RIP
	if e.cs&3 == 3 {
		if rip == syscallStubVA && e.regs.RFLAGS&rflagsIF == 0 {
			// PVM: SYSCALL reached LSTAR at CPL 3; the #PF that
			// brings it to the sentry has not been taken yet.
			r := syscallResult(e, e.regs.RSP)
			r.via = viaPageFault
			return r
		}
		// Stopped in user mode: the registers are the task's.
		return exitResult{
			kind:    exitTrap,
			trap:    platform.Trap{Kind: platform.TrapInterrupted},
			regs:    e.regs,
			origRAX: ^uint64(0),
			vector:  -1,
		}
	}
	switch {
	case rip == syscallStubVA:
		// SYSCALL entered the stub; its `out` has not run.
		return syscallRing0(e)
	case rip == sysretVA,
		rip >= iretStubVA && rip < iretStubVA+uint64(len(iretStub)),
		rip >= cr3IretStubVA && rip < cr3IretStubVA+uint64(len(cr3IretStub)):
		// On the way back to user mode, which was not reached.
		return exitResult{kind: exitBeforeUser, trap: platform.Trap{Kind: platform.TrapInterrupted}, vector: -1}
	}
	if v, afterOut, ok := vectorOfStub(rip); ok && !afterOut {
		// The exception was delivered; the stub's `out` has not run.
		return exception(e, v, stk)
	}
	return failed(fmt.Errorf("interrupted in ring 0 at unexpected rip %#x", rip))
}

// syscallRing0 is a syscall through the ring-0 stub.
func syscallRing0(e *exitState) exitResult {
	r := syscallResult(e, e.regs.RSP)
	r.via = viaRing0
	return r
}

// syscallResult builds the TrapSyscall result, with the user registers as
// Linux presents them at syscall entry: RIP = RCX, RFLAGS = R11, orig_rax =
// the syscall number, RAX = -ENOSYS.
func syscallResult(e *exitState, userRSP uint64) exitResult {
	regs := e.regs
	regs.RIP = e.regs.RCX
	regs.RFLAGS = e.regs.R11
	regs.RSP = userRSP
	regs.RAX = ^uint64(errnoENOSYS - 1) // -ENOSYS in two's complement
	return exitResult{
		kind:    exitTrap,
		trap:    platform.Trap{Kind: platform.TrapSyscall},
		regs:    regs,
		origRAX: e.regs.RAX,
		vector:  -1,
	}
}

// exception classifies exception v, whose frame is at the vCPU's RSP.
func exception(e *exitState, v int, stk stackReader) exitResult {
	n, o := iretFrameWords, 0
	if vectorHasErrorCode(v) {
		n, o = iretFrameWords+1, 1
	}
	f, ok := stk.readFrame(e.regs.RSP, n)
	if !ok {
		return failed(fmt.Errorf("exception %d: frame at %#x is not on the vCPU's stacks", v, e.regs.RSP))
	}
	var errCode uint64
	if o == 1 {
		errCode = f[0]
	}
	rip, cs, rflags, rsp := f[o], f[o+1], f[o+2], f[o+3]
	if cs&3 != 3 {
		return failed(fmt.Errorf("exception %d in ring 0 at rip %#x (error code %#x, cr2 %#x, rsp %#x)", v, rip, errCode, e.cr2, rsp))
	}
	if v == vectorPF && rip == syscallStubVA && e.cr2 == syscallStubVA && rflags&rflagsIF == 0 {
		r := syscallResult(e, rsp)
		r.via = viaPageFault
		return r
	}
	trap, fpu, err := exceptionTrap(v, errCode, e.cr2, rip, rflags)
	if err != nil {
		return failed(err)
	}
	regs := e.regs
	regs.RIP, regs.RSP, regs.RFLAGS = rip, rsp, rflags
	return exitResult{
		kind:    exitTrap,
		trap:    trap,
		regs:    regs,
		origRAX: ^uint64(0),
		fpuCode: fpu,
		vector:  v,
	}
}

// exceptionTrap maps an exception from user mode to the trap Linux's
// handlers would produce (arch/x86/kernel/traps.c, arch/x86/mm/fault.c).
// fpu reports that the si_code must come from the FPU state.
func exceptionTrap(v int, errCode, cr2, rip, rflags uint64) (trap platform.Trap, fpu bool, err error) {
	exc := func(sig unix.Signal, code int, addr uint64) platform.Trap {
		return platform.Trap{Kind: platform.TrapException, Signo: int(sig), Code: code, Addr: addr}
	}
	switch v {
	case vectorPF:
		if cr2 >= maxUserAddress {
			// The trampoline's range, or the upper half: no
			// application mapping can exist there, so it never
			// goes to mm. (The PVM of the development hosts
			// reports user accesses to the upper half with the
			// reserved-bit flag: its own entries live there.)
			return exc(unix.SIGSEGV, segvMapErr, cr2), false, nil
		}
		if errCode&pfRsvd != 0 {
			return trap, false, fmt.Errorf("page fault with reserved bit set in a paging entry at %#x (rip %#x, error code %#x)", cr2, rip, errCode)
		}
		code := segvMapErr
		if errCode&pfPresent != 0 {
			code = segvAccErr
		}
		var access platform.AccessType
		switch {
		case errCode&pfFetch != 0:
			access = platform.Execute
		case errCode&pfWrite != 0:
			access = platform.Write
		default:
			access = platform.Read
		}
		return platform.Trap{Kind: platform.TrapFault, Addr: cr2, Access: access, NotPresent: errCode&pfPresent == 0, Signo: int(unix.SIGSEGV), Code: code}, false, nil
	case vectorDE:
		return exc(unix.SIGFPE, fpeIntDiv, rip), false, nil
	case vectorDB:
		// Linux derives the code from DR6; the sentry never arms
		// hardware breakpoints, so a #DB is a single step (TF) or
		// int1.
		if rflags&rflagsTF != 0 {
			return exc(unix.SIGTRAP, trapTrace, 0), false, nil
		}
		return exc(unix.SIGTRAP, trapBrkpt, 0), false, nil
	case vectorBP:
		return exc(unix.SIGTRAP, siKernel, 0), false, nil
	case vectorOF, vectorBR, vectorTS, vectorGP, vectorCP:
		return exc(unix.SIGSEGV, siKernel, 0), false, nil
	case vectorUD:
		return exc(unix.SIGILL, illIllOpn, rip), false, nil
	case vectorCSO:
		return exc(unix.SIGFPE, siKernel, 0), false, nil
	case vectorNP, vectorSS:
		return exc(unix.SIGBUS, siKernel, 0), false, nil
	case vectorMF, vectorXM:
		return exc(unix.SIGFPE, 0, rip), true, nil
	case vectorAC:
		return exc(unix.SIGBUS, busAdrAln, 0), false, nil
	}
	// NMI, #NM (CR0.TS and EM are clear), #DF, #MC, #VE, reserved
	// vectors, and vectors 32-255 (no interrupt is ever injected and
	// `int n` on their DPL-0 gates is a #GP) cannot come from the
	// application.
	return trap, false, fmt.Errorf("unexpected exception %d from user mode at rip %#x (error code %#x)", v, rip, errCode)
}

func failed(err error) exitResult {
	return exitResult{kind: exitFailed, err: fmt.Errorf("kvm: %w", err), vector: -1}
}

// applyTrapRegs stores the user registers of a trap into st.
func applyTrapRegs(r *exitResult, sregs *kvmSregs, st *arch.State) {
	gprsFromKVM(&r.regs, &st.Regs)
	st.Regs.Rip = r.regs.RIP
	st.Regs.Rsp = r.regs.RSP
	st.Regs.Eflags = r.regs.RFLAGS
	st.Regs.Orig_rax = r.origRAX
	segmentsFromSregs(sregs, &st.Regs)
}
