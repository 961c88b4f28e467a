package kvm

import "encoding/binary"

// The IDT: one 64-bit interrupt gate per vector, each pointing at that
// vector's stub in the trampoline (trampoline.go).

// Exception vectors (SDM Vol. 3A 6.3.1, Table 6-1).
const (
	vectorDE  = 0  // divide error
	vectorDB  = 1  // debug
	vectorNMI = 2  // non-maskable interrupt
	vectorBP  = 3  // breakpoint (int3)
	vectorOF  = 4  // overflow (into; invalid in 64-bit mode)
	vectorBR  = 5  // bound range (bound; invalid in 64-bit mode)
	vectorUD  = 6  // invalid opcode
	vectorNM  = 7  // device not available
	vectorDF  = 8  // double fault
	vectorCSO = 9  // coprocessor segment overrun (never on 64-bit CPUs)
	vectorTS  = 10 // invalid TSS
	vectorNP  = 11 // segment not present
	vectorSS  = 12 // stack-segment fault
	vectorGP  = 13 // general protection
	vectorPF  = 14 // page fault
	vectorMF  = 16 // x87 floating-point error
	vectorAC  = 17 // alignment check
	vectorMC  = 18 // machine check
	vectorXM  = 19 // SIMD floating-point exception
	vectorVE  = 20 // virtualization exception
	vectorCP  = 21 // control protection

	numVectors = 256
	idtLimit   = numVectors*16 - 1
)

// vectorHasErrorCode reports whether the processor pushes an error code for
// the exception (SDM Vol. 3A Table 6-1: #DF, #TS, #NP, #SS, #GP, #PF, #AC,
// #CP, and the AMD-defined #VC (29) and #SX (30)). Software interrupts
// never push one, but only #BP and #OF can be raised by `int n` from user
// mode here (the other gates have DPL 0, so `int n` on them is a #GP).
func vectorHasErrorCode(v int) bool {
	switch v {
	case vectorDF, vectorTS, vectorNP, vectorSS, vectorGP, vectorPF, vectorAC, vectorCP, 29, 30:
		return true
	}
	return false
}

// IST indices (SDM Vol. 3A 6.14.5): #DF, NMI and #MC run on their own
// known-good stacks, so they are delivered correctly even when the ring-0
// stack pointer is bad (an overflow into a guard page, or SYSCALL's user
// RSP while the LSTAR stub runs).
const (
	istDF  = 1
	istNMI = 2
	istMC  = 3
)

// gateIST returns the IST slot of the vector's gate.
func gateIST(v int) uint8 {
	switch v {
	case vectorDF:
		return istDF
	case vectorNMI:
		return istNMI
	case vectorMC:
		return istMC
	}
	return 0
}

// gateDPL returns the DPL of the vector's gate: the privilege `int n`,
// `int3` and `into` need to raise it (SDM Vol. 3A 6.12.1.1; hardware
// exceptions ignore it). #BP and #OF have DPL 3, as on Linux, so the
// application's int3 reaches the #BP stub and becomes SIGTRAP rather than a
// #GP (SIGSEGV); every other vector has DPL 0, so `int n` on it is a #GP.
func gateDPL(v int) uint8 {
	if v == vectorBP || v == vectorOF {
		return 3
	}
	return 0
}

// gateTypeInterrupt is a 64-bit interrupt gate (clears IF on entry).
const gateTypeInterrupt = 0xe

// interruptGate encodes a 64-bit IDT gate (SDM Vol. 3A 6.14.1, Figure 6-8):
// offset[15:0], selector, IST (bits 2:0 of byte 4), P|DPL|0|type,
// offset[31:16], offset[63:32], reserved.
func interruptGate(offset uint64, sel uint16, ist, dpl uint8) [16]byte {
	var g [16]byte
	le := binary.LittleEndian
	le.PutUint16(g[0:], uint16(offset))
	le.PutUint16(g[2:], sel)
	g[4] = ist & 7
	g[5] = 0x80 | (dpl&3)<<5 | gateTypeInterrupt
	le.PutUint16(g[6:], uint16(offset>>16))
	le.PutUint32(g[8:], uint32(offset>>32))
	return g
}

// buildIDT returns the IDT page: the gate of vector v points at
// vectorStubVA(v) in the kernel code segment.
func buildIDT() [pageSize]byte {
	var idt [pageSize]byte
	for v := 0; v < numVectors; v++ {
		g := interruptGate(vectorStubVA(v), kernelCS, gateIST(v), gateDPL(v))
		copy(idt[16*v:], g[:])
	}
	return idt
}

// gateInfo is a decoded IDT gate.
type gateInfo struct {
	offset   uint64
	selector uint16
	ist      uint8
	typ      uint8
	dpl      uint8
	present  bool
}

func decodeGate(g []byte) gateInfo {
	le := binary.LittleEndian
	return gateInfo{
		offset:   uint64(le.Uint16(g[0:])) | uint64(le.Uint16(g[6:]))<<16 | uint64(le.Uint32(g[8:]))<<32,
		selector: le.Uint16(g[2:]),
		ist:      g[4] & 7,
		typ:      g[5] & 0xf,
		dpl:      (g[5] >> 5) & 3,
		present:  g[5]&0x80 != 0,
	}
}
