package kvm

import "encoding/binary"

// The GDT, the TSS and the SYSCALL MSRs.
//
// Selectors follow Linux's x86-64 GDT (arch/x86/include/asm/segment.h), so
// the application sees the CS and SS values it sees natively (0x33, 0x2b),
// and SYSCALL/SYSRET work with Linux's STAR value:
//
//	index selector  Linux name     here
//	0     0x00      null           null
//	1     0x08      KERNEL32_CS    null
//	2     0x10      KERNEL_CS      64-bit code, DPL 0
//	3     0x18      KERNEL_DS      data, DPL 0
//	4     0x23      USER32_CS      null: no compatibility mode (see below)
//	5     0x2b      USER_DS        data, DPL 3
//	6     0x33      USER_CS        64-bit code, DPL 3
//	7               (TLS, CPU)     null
//	8-9   0x40      TSS            64-bit TSS (16-byte system descriptor)
//
// Entry 4 stays null on purpose: with no 32-bit code segment the
// application cannot enter compatibility mode, where SYSCALL on AMD CPUs
// would jump to CSTAR and Linux's int $0x80 and sysenter ABIs would apply.
// SYSRET does not read the GDT (it loads fixed attributes, SDM Vol. 2B
// "SYSRET"), so STAR may name selector 0x23 without a descriptor there.
//
// Every code and data descriptor is written with its Accessed bit set, so
// the processor never writes to the GDT when it loads one (SDM Vol. 3A
// 3.4.5.1); the GDT page is still mapped writable for the TSS's sake.
const (
	kernelCS = 0x10
	kernelSS = 0x18
	user32CS = 0x23
	userSS   = 0x2b
	userCS   = 0x33
	tssSel   = 0x40

	gdtEntries = 10
	gdtLimit   = gdtEntries*8 - 1
)

// starValue is IA32_STAR (SDM Vol. 3A 5.8.8): bits 47:32 give SYSCALL's CS
// (kernelCS) and SS (that + 8 = kernelSS); bits 63:48 give SYSRET's base:
// 64-bit SYSRET loads CS = base + 16 and SS = base + 8, both with RPL 3,
// i.e. userCS and userSS.
const starValue = uint64(user32CS)<<48 | uint64(kernelCS)<<32

// RFLAGS bits (SDM Vol. 1 3.4.3).
const (
	rflagsCF    = 1 << 0
	rflagsFixed = 1 << 1 // reserved, always 1
	rflagsTF    = 1 << 8
	rflagsIF    = 1 << 9
	rflagsDF    = 1 << 10
	rflagsIOPL  = 3 << 12
	rflagsNT    = 1 << 14
	rflagsRF    = 1 << 16
	rflagsVM    = 1 << 17
	rflagsAC    = 1 << 18
	rflagsVIF   = 1 << 19
	rflagsVIP   = 1 << 20
)

// sfmaskValue is IA32_FMASK: the RFLAGS bits SYSCALL clears, Linux's
// choice (TF, IF, DF, IOPL, NT, AC). Clearing IF matters beyond interrupts:
// it is how the classifier tells a PVM-style syscall fault from a user jump
// to the stub (exit.go), since user mode always runs with IF set.
const sfmaskValue = rflagsTF | rflagsIF | rflagsDF | rflagsIOPL | rflagsNT | rflagsAC

// segmentDescriptor encodes a code or data segment descriptor (SDM Vol. 3A
// 3.4.5, Figure 3-8): limit[15:0], base[23:0], access byte (P, DPL, S,
// type), limit[19:16] with flags (G, D/B, L, AVL), base[31:24].
func segmentDescriptor(base, limit uint32, access, flags uint8) uint64 {
	return uint64(limit&0xffff) |
		uint64(base&0xffffff)<<16 |
		uint64(access)<<40 |
		uint64((limit>>16)&0xf)<<48 |
		uint64(flags&0xf)<<52 |
		uint64(base>>24)<<56
}

// Access bytes: P=1, DPL, S=1 (code/data), type.
const (
	accessKernelCode = 0x9b // P, DPL 0, S, type 1011: execute/read, accessed
	accessKernelData = 0x93 // P, DPL 0, S, type 0011: read/write, accessed
	accessUserData   = 0xf3 // P, DPL 3, S, type 0011
	accessUserCode   = 0xfb // P, DPL 3, S, type 1011
	flagsCode64      = 0xa  // G, L (64-bit code; D must be 0 with L)
	flagsData        = 0xc  // G, D/B
	// tssTypeBusy is the system-descriptor type of a busy 64-bit TSS. The
	// TR state KVM_SET_SREGS loads must have this type (what LTR would
	// leave), and the GDT copy matches it.
	tssTypeBusy = 0xb
	tssSize     = 104 // 64-bit TSS (SDM Vol. 3A 8.7, Figure 8-11)
	tssLimit    = tssSize - 1
)

// buildGDT returns the GDT of a vCPU whose TSS is at tssBase.
func buildGDT(tssBase uint64) [gdtEntries]uint64 {
	var g [gdtEntries]uint64
	g[kernelCS>>3] = segmentDescriptor(0, 0xfffff, accessKernelCode, flagsCode64)
	g[kernelSS>>3] = segmentDescriptor(0, 0xfffff, accessKernelData, flagsData)
	g[userSS>>3] = segmentDescriptor(0, 0xfffff, accessUserData, flagsData)
	g[userCS>>3] = segmentDescriptor(0, 0xfffff, accessUserCode, flagsCode64)
	// 16-byte TSS descriptor (SDM Vol. 3A 8.2.3, Figure 8-4): the low
	// 8 bytes as a segment descriptor with S=0, DPL 0, P=1; the next 8
	// bytes hold base[63:32] and zeroes.
	g[tssSel>>3] = segmentDescriptor(uint32(tssBase), tssLimit, 0x80|tssTypeBusy, 0)
	g[tssSel>>3+1] = tssBase >> 32
	return g
}

// buildTSS returns a 64-bit TSS (SDM Vol. 3A Figure 8-11) with RSP0 and
// IST1-7. The I/O map base is set past the limit, so there is no I/O
// permission bitmap and, with IOPL 0, every user-mode I/O instruction
// raises #GP (SDM Vol. 1 19.5.2).
func buildTSS(rsp0 uint64, ist [7]uint64) [tssSize]byte {
	var t [tssSize]byte
	le := binary.LittleEndian
	le.PutUint64(t[4:], rsp0) // RSP0 at offset 4
	for i, v := range ist {
		le.PutUint64(t[36+8*i:], v) // IST1 at offset 36
	}
	le.PutUint16(t[102:], tssSize) // I/O map base address
	return t
}

// segmentInfo is a decoded descriptor.
type segmentInfo struct {
	base    uint64
	limit   uint32 // the raw 20-bit field
	typ     uint8
	s       bool // code/data (true) or system (false)
	dpl     uint8
	present bool
	avl     bool
	long    bool
	db      bool
	gran    bool
}

// decodeDescriptor decodes the 8-byte descriptor d (the low half of a
// system descriptor, for which the caller adds base[63:32]).
func decodeDescriptor(d uint64) segmentInfo {
	access := uint8(d >> 40)
	flags := uint8(d>>52) & 0xf
	return segmentInfo{
		base:    (d>>16)&0xffffff | (d>>56)<<24,
		limit:   uint32(d&0xffff) | uint32((d>>48)&0xf)<<16,
		typ:     access & 0xf,
		s:       access&0x10 != 0,
		dpl:     (access >> 5) & 3,
		present: access&0x80 != 0,
		avl:     flags&1 != 0,
		long:    flags&2 != 0,
		db:      flags&4 != 0,
		gran:    flags&8 != 0,
	}
}

// kvmSegment returns the register state loading the descriptor with
// selector sel leaves, as KVM_SET_SREGS takes it: the limit in bytes
// (scaled by 4 KiB when G is set, SDM Vol. 3A 3.4.5).
func (s segmentInfo) kvmSegment(sel uint16) kvmSegment {
	limit := s.limit
	if s.gran {
		limit = limit<<12 | 0xfff
	}
	return kvmSegment{
		Base:     s.base,
		Limit:    limit,
		Selector: sel,
		Type:     s.typ,
		Present:  b2u8(s.present),
		DPL:      s.dpl,
		DB:       b2u8(s.db),
		S:        b2u8(s.s),
		L:        b2u8(s.long),
		G:        b2u8(s.gran),
		AVL:      b2u8(s.avl),
	}
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Segment register states, derived from the GDT so the two cannot
// disagree.
var (
	gdtTemplate   = buildGDT(0)
	segKernelCode = decodeDescriptor(gdtTemplate[kernelCS>>3]).kvmSegment(kernelCS)
	segKernelData = decodeDescriptor(gdtTemplate[kernelSS>>3]).kvmSegment(kernelSS)
	segUserCode   = decodeDescriptor(gdtTemplate[userCS>>3]).kvmSegment(userCS)
	segUserData   = decodeDescriptor(gdtTemplate[userSS>>3]).kvmSegment(userSS)
	segNull       = kvmSegment{Unusable: 1}
)

// userDataSegment returns the state of a user data segment register (DS,
// ES, FS, GS) holding selector sel with base: a null selector is an
// unusable segment whose base still applies to FS and GS in 64-bit mode
// (SDM Vol. 3A 3.4.4), which is how Linux runs user code; userSS is the
// user data descriptor. Any other selector is not valid for user mode here
// and becomes null.
func userDataSegment(sel uint16, base uint64) kvmSegment {
	if sel == userSS {
		s := segUserData
		s.Base = base
		return s
	}
	s := segNull
	s.Base = base
	return s
}

// trSegment returns the TR state of the vCPU whose TSS is at base.
func trSegment(base uint64) kvmSegment {
	return kvmSegment{
		Base:     base,
		Limit:    tssLimit,
		Selector: tssSel,
		Type:     tssTypeBusy,
		Present:  1,
	}
}
