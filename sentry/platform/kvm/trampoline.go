package kvm

// The trampoline: the only code that ever runs in guest ring 0. It is the
// byte table below, copied into one page of the memory file that every
// address space maps supervisor-only, read and execute, at codeVA.
//
// It has no state and touches no memory except the frame it pops and the
// frames the processor pushes: every exception and every syscall leaves the
// guest with one instruction, and the sentry puts the vCPU back into user
// mode by pointing RIP at one of the return stubs.
//
//	offset  stub                 what it does
//	0x000   vector stubs 0-255   8 bytes each: out %al,$vector; then a halt
//	                             loop that is never reached
//	0x800   syscall stub         LSTAR: out %eax,$0; sysretq
//	0x810   halt stub            CSTAR: hlt; jmp back to the hlt
//	0x820   iret stub            iretq
//	0x830   cr3+iret stub        pop %rax; mov %rax,%cr3; pop %rax; iretq
//	rest                         int3 (0xcc)
//
// Exits. A vector stub's `out` writes AL (whatever the application left
// there; no register is changed) to port = vector with size 1; the syscall
// stub's writes EAX to port 0 with size 4, which is how the two are told
// apart. KVM reports them as KVM_EXIT_IO, with RIP at the `out` on current
// kernels (the skip is deferred to the next KVM_RUN and dropped when RIP has
// been changed; arch/x86/kvm/x86.c complete_fast_pio_out) or just past it
// on older ones and for port 0x7e (KVM_X86_QUIRK_OUT_7E_INC_RIP); the
// classifier accepts both. After an exit the sentry always sets RIP, so the
// halt loops behind the `out`s are never reached; if one is, the hlt exits
// with KVM_EXIT_HLT (there is no in-kernel local APIC), which is reported
// as an error rather than hanging.
//
// Returns. The sentry writes a frame at the top of the vCPU's ring-0 stack,
// points RSP at it and RIP at a return stub:
//
//	iret stub:      RSP -> [RIP, CS, RFLAGS, RSP, SS]
//	cr3+iret stub:  RSP -> [CR3, RAX, RIP, CS, RFLAGS, RSP, SS]
//
// The cr3+iret stub switches address space or flushes the TLB: MOV to CR3
// with CR4.PCIDE=0 invalidates every non-global TLB entry and every
// paging-structure cache entry (SDM Vol. 3A 4.10.4.1), and no entry here is
// global (CR4.PGE is clear, no PTE sets G). The flush is the guest's own
// instruction, so it holds whatever the hypervisor: on VMX with VPID it
// flushes the guest's tagged entries, on shadow paging and PVM the
// hypervisor traps the CR3 write and emulates it. (Loading CR3 through
// KVM_SET_SREGS is not enough: KVM resets its MMU only when the value
// changes, see arch/x86/kvm/x86.c __set_sregs_common.)
//
// After a syscall that came through the syscall stub, the vCPU is in ring 0
// at the `sysretq`; the sentry can return there with RCX = user RIP and R11
// = user RFLAGS instead of building a frame (see returnPath).
const (
	vectorStubSize    = 8
	syscallStubOffset = 0x800
	haltStubOffset    = 0x810
	iretStubOffset    = 0x820
	cr3IretStubOffset = 0x830

	// syscallPort and syscallIOSize identify the syscall stub's `out`;
	// vector stubs use size 1.
	syscallPort   = 0
	syscallIOSize = 4
	vectorIOSize  = 1

	// outLen is the length of `out imm8, al` and `out imm8, eax`.
	outLen = 2

	syscallStubVA = codeVA + syscallStubOffset
	sysretVA      = syscallStubVA + outLen
	haltStubVA    = codeVA + haltStubOffset
	iretStubVA    = codeVA + iretStubOffset
	cr3IretStubVA = codeVA + cr3IretStubOffset
)

// Return frame sizes, in 8-byte words.
const (
	iretFrameWords    = 5
	cr3IretFrameWords = 7
)

// Instruction bytes (Intel SDM Vol. 2).
const (
	opOutImm8AL  = 0xe6 // OUT imm8, AL
	opOutImm8EAX = 0xe7 // OUT imm8, EAX
	opHLT        = 0xf4 // HLT
	opJmpRel8    = 0xeb // JMP rel8
	opInt3       = 0xcc // INT3
	opPopRAX     = 0x58 // POP r64, 58+rd with rd = 0 (RAX)
	opREXW       = 0x48 // REX prefix with W=1 (64-bit operand size)
	opIRET       = 0xcf // IRET; with REX.W, IRETQ
)

// vectorStubVA returns the address of vector v's stub: the IDT gate's
// target.
func vectorStubVA(v int) uint64 {
	return codeVA + uint64(v)*vectorStubSize
}

// vectorStub returns the 8 bytes of vector v's stub.
func vectorStub(v uint8) [vectorStubSize]byte {
	return [vectorStubSize]byte{
		opOutImm8AL, v, // out %al, $v: KVM_EXIT_IO, port v, size 1
		opHLT,           // hlt: never reached (RIP is always moved)
		opJmpRel8, 0xfd, // jmp .-3: back to the hlt (rel8 -3 from the end of the jmp)
		opInt3, opInt3, opInt3, // padding
	}
}

// syscallStub is the LSTAR target.
var syscallStub = [...]byte{
	opOutImm8EAX, syscallPort, // out %eax, $0: KVM_EXIT_IO, port 0, size 4
	opREXW, 0x0f, 0x07, // sysretq: REX.W 0F 07, RIP = RCX, RFLAGS = R11, CS/SS from STAR, CPL 3
}

// haltStub is the CSTAR target (compatibility-mode SYSCALL on AMD, which
// cannot happen: there is no 32-bit code segment) and the guest of the
// raw-exit benchmark: each hlt exits with KVM_EXIT_HLT after KVM has
// skipped it, and the jmp brings the next KVM_RUN back to it.
var haltStub = [...]byte{
	opHLT,           // hlt
	opJmpRel8, 0xfd, // jmp .-3
}

// iretStub returns to user mode from a 5-word frame.
var iretStub = [...]byte{
	opREXW, opIRET, // iretq
}

// cr3IretStub loads CR3 and returns to user mode from a 7-word frame.
var cr3IretStub = [...]byte{
	opPopRAX,         // pop %rax: the new CR3
	0x0f, 0x22, 0xd8, // mov %rax, %cr3: MOV CR3, r64 is 0F 22 /r; ModRM 11 011 000 (mod=3, reg=CR3, rm=RAX)
	opPopRAX,       // pop %rax: the application's RAX
	opREXW, opIRET, // iretq
}

// buildCodePage returns the trampoline page.
func buildCodePage() [pageSize]byte {
	var p [pageSize]byte
	for i := range p {
		p[i] = opInt3
	}
	for v := 0; v < numVectors; v++ {
		s := vectorStub(uint8(v))
		copy(p[v*vectorStubSize:], s[:])
	}
	copy(p[syscallStubOffset:], syscallStub[:])
	copy(p[haltStubOffset:], haltStub[:])
	copy(p[iretStubOffset:], iretStub[:])
	copy(p[cr3IretStubOffset:], cr3IretStub[:])
	return p
}

// vectorOfStub returns the vector whose stub contains rip at its `out`
// instruction (rip == stub) or just past it (rip == stub + outLen), and
// whether rip is such an address.
func vectorOfStub(rip uint64) (v int, afterOut, ok bool) {
	if rip < codeVA || rip >= codeVA+numVectors*vectorStubSize {
		return 0, false, false
	}
	off := rip - codeVA
	switch off % vectorStubSize {
	case 0:
		return int(off / vectorStubSize), false, true
	case outLen:
		return int(off / vectorStubSize), true, true
	}
	return 0, false, false
}
