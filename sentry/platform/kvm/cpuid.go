package kvm

// CPUID: every vCPU gets exactly what KVM_GET_SUPPORTED_CPUID reports
// (KVM_SET_CPUID2 on each vCPU), so the application sees the host's
// features as far as KVM virtualizes them. The platform reads a few leaves
// itself to decide how to set the vCPUs up.

// cpuidFlagSignificantIndex is KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the entry
// applies to one sub-leaf (Index) only.
const cpuidFlagSignificantIndex = 1

// Feature bits (SDM Vol. 2A, CPUID).
const (
	cpuid1ECXXSAVE   = 1 << 26 // leaf 1 ECX: XSAVE/XRSTOR, XSETBV/XGETBV, XCR0
	cpuidExtEDXNX    = 1 << 20 // leaf 0x80000001 EDX: execute-disable bit
	cpuidExtEDXLM    = 1 << 29 // leaf 0x80000001 EDX: long mode
	cpuidExtEDXSysc  = 1 << 11 // leaf 0x80000001 EDX: SYSCALL/SYSRET in 64-bit mode
	defaultPhysBits  = 36      // MAXPHYADDR when leaf 0x80000008 is absent (SDM 4.1.4)
	leafXSAVE        = 0xd     // XSAVE state enumeration
	leafExtMax       = 0x80000000
	leafExtFeatures  = 0x80000001
	leafAddressSizes = 0x80000008
)

// XCR0 state components (SDM Vol. 1 13.1).
const (
	xfeatureX87      = 1 << 0
	xfeatureSSE      = 1 << 1
	xfeatureAVX      = 1 << 2
	xfeatureOpmask   = 1 << 5
	xfeatureZMMHi256 = 1 << 6
	xfeatureHi16ZMM  = 1 << 7
	xfeatureAVX512   = xfeatureOpmask | xfeatureZMMHi256 | xfeatureHi16ZMM
)

// cpuidSet is the supported CPUID table.
type cpuidSet struct {
	entries []kvmCPUIDEntry2
}

// lookup returns the entry for leaf function, sub-leaf index.
func (c *cpuidSet) lookup(function, index uint32) (kvmCPUIDEntry2, bool) {
	for _, e := range c.entries {
		if e.Function != function {
			continue
		}
		if e.Flags&cpuidFlagSignificantIndex != 0 && e.Index != index {
			continue
		}
		return e, true
	}
	return kvmCPUIDEntry2{}, false
}

// hasNX reports whether the execute-disable bit exists (EFER.NXE may be
// set and PTE bit 63 means NX).
func (c *cpuidSet) hasNX() bool {
	e, ok := c.lookup(leafExtFeatures, 0)
	return ok && e.EDX&cpuidExtEDXNX != 0
}

// hasLongMode reports whether 64-bit mode and SYSCALL in it exist.
func (c *cpuidSet) hasLongMode() bool {
	e, ok := c.lookup(leafExtFeatures, 0)
	return ok && e.EDX&cpuidExtEDXLM != 0 && e.EDX&cpuidExtEDXSysc != 0
}

// hasXSAVE reports whether the guest may enable XSAVE.
func (c *cpuidSet) hasXSAVE() bool {
	e, ok := c.lookup(1, 0)
	return ok && e.ECX&cpuid1ECXXSAVE != 0
}

// physAddrBits returns the guest's MAXPHYADDR.
func (c *cpuidSet) physAddrBits() int {
	if e, ok := c.lookup(leafAddressSizes, 0); ok && e.EAX&0xff != 0 {
		return int(e.EAX & 0xff)
	}
	return defaultPhysBits
}

// guestXCR0 returns the XCR0 value the vCPUs run with: the user state
// components KVM supports among x87, SSE, AVX and AVX-512, in a
// combination XSETBV accepts (SDM Vol. 1 13.3: x87 always; AVX needs SSE;
// the three AVX-512 components go together and need AVX). Components
// needing more than XCR0 (PKRU needs CR4.PKE, AMX needs a permission
// request, supervisor states need XSS) are left off.
func (c *cpuidSet) guestXCR0() uint64 {
	e, ok := c.lookup(leafXSAVE, 0)
	if !ok {
		return xfeatureX87 | xfeatureSSE
	}
	supported := uint64(e.EAX) | uint64(e.EDX)<<32
	x := uint64(xfeatureX87 | xfeatureSSE)
	if supported&xfeatureAVX != 0 {
		x |= xfeatureAVX
		if supported&xfeatureAVX512 == xfeatureAVX512 {
			x |= xfeatureAVX512
		}
	}
	return x
}
