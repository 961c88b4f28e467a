package kvm

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// fakeStack is a stack page holding words from base.
type fakeStack struct {
	base  uint64
	words []uint64
}

func (f fakeStack) readFrame(va uint64, n int) (w [maxFrameWords]uint64, ok bool) {
	if va < f.base || (va-f.base)%8 != 0 || (va-f.base)/8+uint64(n) > uint64(len(f.words)) {
		return w, false
	}
	copy(w[:n], f.words[(va-f.base)/8:])
	return w, true
}

const (
	testRSP0   = 0x7fffc0013000 // a stack top, as stackTop gives
	userRSP    = 0x7ffd0000
	userRIP    = 0x401000
	userFlags  = rflagsIF | rflagsFixed | rflagsCF
	testRAX    = 39
	faultAddr  = 0x600123
	frameWords = 6
)

// exceptionExit returns the exit of exception v raised in user mode at
// userRIP, with its frame (and error code) on a fake RSP0 stack.
func exceptionExit(v int, errCode, cr2, rip, rflags uint64, cs uint64) (*exitState, fakeStack) {
	frame := []uint64{rip, cs, rflags, userRSP, userSS}
	if vectorHasErrorCode(v) {
		frame = append([]uint64{errCode}, frame...)
	}
	rsp := uint64(testRSP0) - 8*uint64(len(frame))
	e := &exitState{
		reason: exitIO,
		io:     ioExit{Direction: ioDirOut, Size: vectorIOSize, Port: uint16(v), Count: 1},
		regs:   kvmRegs{RAX: testRAX, RBX: 2, RCX: 3, R11: 4, RSP: rsp, RIP: vectorStubVA(v), RFLAGS: kernelRFlags},
		cs:     kernelCS,
		cr2:    cr2,
	}
	return e, fakeStack{base: rsp, words: frame}
}

func TestClassifySyscall(t *testing.T) {
	// VMX: the LSTAR stub's out, RIP at the out (current kernels) or past
	// it (older kernels).
	for _, rip := range []uint64{syscallStubVA, sysretVA} {
		e := &exitState{
			reason: exitIO,
			io:     ioExit{Direction: ioDirOut, Size: syscallIOSize, Port: syscallPort, Count: 1},
			regs:   kvmRegs{RAX: 110, RDI: 1, RCX: userRIP, R11: userFlags, RSP: userRSP, RIP: rip, RFLAGS: rflagsFixed},
			cs:     kernelCS,
		}
		r := classify(e, fakeStack{})
		checkSyscall(t, r, viaRing0, 110)
	}

	// PVM: #PF at the stub, from user mode, IF clear in the frame.
	e, stk := exceptionExit(vectorPF, pfPresent|pfUser|pfFetch, syscallStubVA, syscallStubVA, userFlags&^sfmaskValue, userCS)
	e.regs.RAX, e.regs.RCX, e.regs.R11 = 110, userRIP, userFlags
	r := classify(e, stk)
	checkSyscall(t, r, viaPageFault, 110)
	if r.regs.RSP != userRSP {
		t.Fatalf("PVM syscall RSP %#x, want the frame's %#x", r.regs.RSP, userRSP)
	}
}

func checkSyscall(t *testing.T, r exitResult, via syscallVia, nr uint64) {
	t.Helper()
	if r.kind != exitTrap || r.trap.Kind != platform.TrapSyscall || r.via != via {
		t.Fatalf("classified %+v, want a syscall via %v", r, via)
	}
	if r.regs.RIP != userRIP || r.regs.RFLAGS != userFlags || r.origRAX != nr || int64(r.regs.RAX) != -errnoENOSYS {
		t.Fatalf("syscall regs rip %#x flags %#x orig_rax %d rax %#x", r.regs.RIP, r.regs.RFLAGS, r.origRAX, r.regs.RAX)
	}
	if r.regs.RCX != userRIP || r.regs.R11 != userFlags || r.regs.RSP != userRSP {
		t.Fatalf("syscall rcx %#x r11 %#x rsp %#x", r.regs.RCX, r.regs.R11, r.regs.RSP)
	}
}

// TestClassifyUserJumpToStub: a user jump to the syscall stub faults like a
// PVM syscall but with IF set: it must be a SIGSEGV, never a syscall.
func TestClassifyUserJumpToStub(t *testing.T) {
	e, stk := exceptionExit(vectorPF, pfPresent|pfUser|pfFetch, syscallStubVA, syscallStubVA, userFlags, userCS)
	r := classify(e, stk)
	if r.kind != exitTrap || r.trap != (platform.Trap{Kind: platform.TrapException, Signo: int(unix.SIGSEGV), Code: segvMapErr, Addr: syscallStubVA}) {
		t.Fatalf("classified %+v", r)
	}
}

func TestClassifyExceptions(t *testing.T) {
	exc := func(sig unix.Signal, code int, addr uint64) platform.Trap {
		return platform.Trap{Kind: platform.TrapException, Signo: int(sig), Code: code, Addr: addr}
	}
	fault := func(access platform.AccessType, code int) platform.Trap {
		return platform.Trap{Kind: platform.TrapFault, Addr: faultAddr, Access: access, NotPresent: code == segvMapErr, Signo: int(unix.SIGSEGV), Code: code}
	}
	for _, c := range []struct {
		name    string
		v       int
		err     uint64
		cr2     uint64
		rflags  uint64
		want    platform.Trap
		fpu     bool
		wantErr string
	}{
		{"#DE", vectorDE, 0, 0, userFlags, exc(unix.SIGFPE, fpeIntDiv, userRIP), false, ""},
		{"#DB int1", vectorDB, 0, 0, userFlags, exc(unix.SIGTRAP, trapBrkpt, 0), false, ""},
		{"#DB step", vectorDB, 0, 0, userFlags | rflagsTF, exc(unix.SIGTRAP, trapTrace, 0), false, ""},
		{"#BP", vectorBP, 0, 0, userFlags, exc(unix.SIGTRAP, siKernel, 0), false, ""},
		{"#OF", vectorOF, 0, 0, userFlags, exc(unix.SIGSEGV, siKernel, 0), false, ""},
		{"#BR", vectorBR, 0, 0, userFlags, exc(unix.SIGSEGV, siKernel, 0), false, ""},
		{"#UD", vectorUD, 0, 0, userFlags, exc(unix.SIGILL, illIllOpn, userRIP), false, ""},
		{"#TS", vectorTS, 0x40, 0, userFlags, exc(unix.SIGSEGV, siKernel, 0), false, ""},
		{"#NP", vectorNP, 0x40, 0, userFlags, exc(unix.SIGBUS, siKernel, 0), false, ""},
		{"#SS", vectorSS, 0, 0, userFlags, exc(unix.SIGBUS, siKernel, 0), false, ""},
		{"#GP", vectorGP, 0, 0, userFlags, exc(unix.SIGSEGV, siKernel, 0), false, ""},
		{"#GP int $0x80", vectorGP, 0x80<<3 | 2, 0, userFlags, exc(unix.SIGSEGV, siKernel, 0), false, ""},
		{"#PF read, not present", vectorPF, pfUser, faultAddr, userFlags, fault(platform.Read, segvMapErr), false, ""},
		{"#PF write, read-only", vectorPF, pfUser | pfWrite | pfPresent, faultAddr, userFlags, fault(platform.Write, segvAccErr), false, ""},
		{"#PF fetch, NX", vectorPF, pfUser | pfFetch | pfPresent, faultAddr, userFlags, fault(platform.Execute, segvAccErr), false, ""},
		{"#PF trampoline", vectorPF, pfUser | pfPresent, codeVA, userFlags, exc(unix.SIGSEGV, segvMapErr, codeVA), false, ""},
		{"#PF IDT write", vectorPF, pfUser | pfPresent | pfWrite, idtVA + 8, userFlags, exc(unix.SIGSEGV, segvMapErr, idtVA+8), false, ""},
		{"#PF just below the trampoline range", vectorPF, pfUser, maxUserAddress - 1, userFlags, platform.Trap{Kind: platform.TrapFault, Addr: maxUserAddress - 1, Access: platform.Read, NotPresent: true, Signo: int(unix.SIGSEGV), Code: segvMapErr}, false, ""},
		{"#PF upper half", vectorPF, pfUser, 0xffff800000000000, userFlags, exc(unix.SIGSEGV, segvMapErr, 0xffff800000000000), false, ""},
		{"#PF reserved bit", vectorPF, pfUser | pfRsvd | pfPresent, faultAddr, userFlags, platform.Trap{}, false, "reserved bit"},
		{"#MF", vectorMF, 0, 0, userFlags, exc(unix.SIGFPE, 0, userRIP), true, ""},
		{"#AC", vectorAC, 0, 0, userFlags, exc(unix.SIGBUS, busAdrAln, 0), false, ""},
		{"#XM", vectorXM, 0, 0, userFlags, exc(unix.SIGFPE, 0, userRIP), true, ""},
		{"#CP", vectorCP, 0, 0, userFlags, exc(unix.SIGSEGV, siKernel, 0), false, ""},
		{"NMI", vectorNMI, 0, 0, userFlags, platform.Trap{}, false, "unexpected exception 2"},
		{"#NM", vectorNM, 0, 0, userFlags, platform.Trap{}, false, "unexpected exception 7"},
		{"#DF", vectorDF, 0, 0, userFlags, platform.Trap{}, false, "unexpected exception 8"},
		{"#MC", vectorMC, 0, 0, userFlags, platform.Trap{}, false, "unexpected exception 18"},
		{"vector 32", 32, 0, 0, userFlags, platform.Trap{}, false, "unexpected exception 32"},
		{"vector 255", 255, 0, 0, userFlags, platform.Trap{}, false, "unexpected exception 255"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, stk := exceptionExit(c.v, c.err, c.cr2, userRIP, c.rflags, userCS)
			r := classify(e, stk)
			if c.wantErr != "" {
				if r.kind != exitFailed || !strings.Contains(r.err.Error(), c.wantErr) {
					t.Fatalf("classified %+v, want an error with %q", r, c.wantErr)
				}
				return
			}
			if r.kind != exitTrap || r.trap != c.want || r.fpuCode != c.fpu || r.vector != c.v {
				t.Fatalf("classified %+v, want %+v", r, c.want)
			}
			// The user registers: GPRs as the vCPU had them, RIP,
			// RSP, RFLAGS from the frame; not a syscall.
			if r.regs.RIP != userRIP || r.regs.RSP != userRSP || r.regs.RFLAGS != c.rflags || r.regs.RAX != testRAX || r.regs.RBX != 2 || r.origRAX != ^uint64(0) {
				t.Fatalf("regs %+v orig_rax %#x", r.regs, r.origRAX)
			}
		})
	}
}

func TestClassifyFailures(t *testing.T) {
	// An exception whose frame says ring 0.
	e, stk := exceptionExit(vectorGP, 0, 0, iretStubVA, rflagsFixed, kernelCS)
	if r := classify(e, stk); r.kind != exitFailed || !strings.Contains(r.err.Error(), "ring 0") {
		t.Fatalf("ring-0 #GP: %+v", r)
	}
	// A frame that is not on the vCPU's stacks.
	e, _ = exceptionExit(vectorGP, 0, 0, userRIP, userFlags, userCS)
	if r := classify(e, fakeStack{base: 0x1000, words: make([]uint64, 8)}); r.kind != exitFailed {
		t.Fatalf("frame off the stacks: %+v", r)
	}
	// I/O exits that are not the stubs'.
	for _, e := range []*exitState{
		{reason: exitIO, io: ioExit{Direction: ioDirOut, Size: 1, Port: 14, Count: 1}, regs: kvmRegs{RIP: vectorStubVA(13)}, cs: kernelCS},
		{reason: exitIO, io: ioExit{Direction: ioDirOut, Size: 4, Port: 0, Count: 1}, regs: kvmRegs{RIP: vectorStubVA(0)}, cs: kernelCS},
		{reason: exitIO, io: ioExit{Direction: ioDirOut, Size: 1, Port: 0, Count: 1}, regs: kvmRegs{RIP: syscallStubVA}, cs: kernelCS},
		{reason: exitIO, io: ioExit{Direction: ioDirIn, Size: 4, Port: 0, Count: 1}, regs: kvmRegs{RIP: syscallStubVA}, cs: kernelCS},
		{reason: exitIO, io: ioExit{Direction: ioDirOut, Size: 4, Port: 0, Count: 1}, regs: kvmRegs{RIP: syscallStubVA}, cs: userCS},
		{reason: exitIO, io: ioExit{Direction: ioDirOut, Size: 4, Port: 0, Count: 2}, regs: kvmRegs{RIP: syscallStubVA}, cs: kernelCS},
		{reason: exitHLT, regs: kvmRegs{RIP: haltStubVA + 1}, cs: kernelCS},
		{reason: exitShutdown},
		{reason: exitFailEntry, detail: 0x21},
		{reason: exitInternalError, detail: 1},
		{reason: exitMMIO},
		{reason: exitDebug},
		{errno: unix.EFAULT},
	} {
		if r := classify(e, fakeStack{}); r.kind != exitFailed || r.err == nil {
			t.Errorf("exit %+v: %+v, want a failure", e, r)
		}
	}
}

func TestClassifyInterrupted(t *testing.T) {
	// In user mode: the registers are the task's.
	regs := kvmRegs{RAX: 1, RCX: 2, RSP: userRSP, RIP: userRIP, RFLAGS: userFlags}
	r := classify(&exitState{errno: unix.EINTR, reason: exitIntr, regs: regs, cs: userCS}, fakeStack{})
	if r.kind != exitTrap || r.trap.Kind != platform.TrapInterrupted || r.regs != regs || r.origRAX != ^uint64(0) {
		t.Fatalf("user mode: %+v", r)
	}
	// An event being delivered: resume untouched.
	r = classify(&exitState{errno: unix.EINTR, regs: regs, cs: userCS, inFlight: true}, fakeStack{})
	if r.kind != exitResume {
		t.Fatalf("in flight: %+v", r)
	}
	// PVM: SYSCALL reached LSTAR at CPL 3, the #PF is not taken yet.
	r = classify(&exitState{errno: unix.EINTR, regs: kvmRegs{RAX: 60, RCX: userRIP, R11: userFlags, RSP: userRSP, RIP: syscallStubVA, RFLAGS: rflagsFixed}, cs: userCS}, fakeStack{})
	checkSyscall(t, r, viaPageFault, 60)
	// ...but a user jump there, with IF set, is just an interrupted task.
	r = classify(&exitState{errno: unix.EINTR, regs: kvmRegs{RIP: syscallStubVA, RFLAGS: userFlags}, cs: userCS}, fakeStack{})
	if r.kind != exitTrap || r.trap.Kind != platform.TrapInterrupted {
		t.Fatalf("user at the stub with IF: %+v", r)
	}
	// Ring 0, at the syscall stub before its out: a syscall.
	r = classify(&exitState{errno: unix.EINTR, regs: kvmRegs{RAX: 60, RCX: userRIP, R11: userFlags, RSP: userRSP, RIP: syscallStubVA, RFLAGS: rflagsFixed}, cs: kernelCS}, fakeStack{})
	checkSyscall(t, r, viaRing0, 60)
	// Ring 0, at a vector stub before its out: the exception.
	e, stk := exceptionExit(vectorUD, 0, 0, userRIP, userFlags, userCS)
	e.errno, e.reason = unix.EINTR, exitIntr
	r = classify(e, stk)
	if r.kind != exitTrap || r.trap.Signo != int(unix.SIGILL) {
		t.Fatalf("interrupted at the #UD stub: %+v", r)
	}
	// Ring 0 on the way back to user mode: nothing happened.
	for _, rip := range []uint64{sysretVA, iretStubVA, cr3IretStubVA, cr3IretStubVA + 1, cr3IretStubVA + 4, cr3IretStubVA + 5} {
		r = classify(&exitState{errno: unix.EINTR, regs: kvmRegs{RIP: rip}, cs: kernelCS}, fakeStack{})
		if r.kind != exitBeforeUser || r.trap.Kind != platform.TrapInterrupted {
			t.Fatalf("interrupted at %#x: %+v", rip, r)
		}
	}
	// Anywhere else in ring 0 is a bug.
	for _, rip := range []uint64{haltStubVA, vectorStubVA(3) + 2, codeVA + 0x900, userRIP} {
		r = classify(&exitState{errno: unix.EINTR, regs: kvmRegs{RIP: rip}, cs: kernelCS}, fakeStack{})
		if r.kind != exitFailed {
			t.Fatalf("interrupted at %#x: %+v", rip, r)
		}
	}
}

// TestClassifyRealStack runs a frame through a vCPU's real stack page.
func TestClassifyRealStack(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	v, _ := m.pool.acquire(nil, 1)
	rsp := v.writeFrame([]uint64{pfUser | pfWrite, userRIP, userCS, userFlags, userRSP, userSS})
	if rsp != stackTop(v.id, stackRSP0)-48 {
		t.Fatalf("frame at %#x", rsp)
	}
	e := &exitState{reason: exitIO, io: ioExit{Direction: ioDirOut, Size: 1, Port: vectorPF, Count: 1}, regs: kvmRegs{RSP: rsp, RIP: vectorStubVA(vectorPF)}, cs: kernelCS, cr2: faultAddr}
	r := classify(e, v)
	if r.kind != exitTrap || r.trap.Kind != platform.TrapFault || r.trap.Access != platform.Write || r.regs.RIP != userRIP {
		t.Fatalf("classified %+v", r)
	}
	// Reads outside the stacks fail: the GDT page, a guard page, another
	// vCPU's stack, and a frame straddling the top of the stack.
	for _, va := range []uint64{vcpuPageVA(v.id, 0), vcpuPageVA(v.id, 1) + pageSize, vcpuPageVA(v.id+1, 1), stackTop(v.id, stackRSP0) - 16, ^uint64(0) - 8} {
		if _, ok := v.readFrame(va, 6); ok {
			t.Errorf("readFrame(%#x) succeeded", va)
		}
	}
	// IST stacks are readable.
	if _, ok := v.readFrame(stackTop(v.id, stackIST1)-48, 6); !ok {
		t.Error("IST1 not readable")
	}
}

func TestApplyTrapRegs(t *testing.T) {
	r := exitResult{regs: kvmRegs{RAX: 1, RBX: 2, RCX: 3, RDX: 4, RSI: 5, RDI: 6, RSP: 7, RBP: 8, R8: 9, R9: 10, R10: 11, R11: 12, R12: 13, R13: 14, R14: 15, R15: 16, RIP: 17, RFLAGS: 18}, origRAX: 19}
	s := kvmSregs{FS: userDataSegment(0, 0x1000), GS: userDataSegment(userSS, 0x2000), DS: userDataSegment(userSS, 0)}
	var st arch.State
	applyTrapRegs(&r, &s, &st)
	want := arch.Registers{Rax: 1, Rbx: 2, Rcx: 3, Rdx: 4, Rsi: 5, Rdi: 6, Rsp: 7, Rbp: 8, R8: 9, R9: 10, R10: 11, R11: 12, R12: 13, R13: 14, R14: 15, R15: 16, Rip: 17, Eflags: 18, Orig_rax: 19,
		Cs: userCS, Ss: userSS, Ds: userSS, Gs: userSS, Fs_base: 0x1000, Gs_base: 0x2000}
	if st.Regs != want {
		t.Fatalf("regs %+v\nwant %+v", st.Regs, want)
	}
	// And back: gprsToKVM is the inverse for the general registers.
	var k kvmRegs
	gprsToKVM(&st.Regs, &k)
	k.RSP, k.RIP, k.RFLAGS = 7, 17, 18
	if k != r.regs {
		t.Fatalf("round trip %+v", k)
	}
	if userSegmentsDiffer(&s, &st.Regs) {
		t.Fatal("segments differ after a round trip")
	}
}
