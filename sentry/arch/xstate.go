package arch

import (
	"encoding/binary"
	"sync"
)

// A task's floating-point state (State.FP) is an image in one of two
// layouts, told apart by length: the 512-byte FXSAVE area (x87 and SSE),
// or the XSAVE standard format, that area followed by the 64-byte XSAVE
// header and the other components (AVX upper halves, AVX-512, PKRU, …) at
// the offsets CPUID leaf 0xD gives (SDM Vol. 1 13.4). The XSAVE image is
// what Linux puts in signal frames, and what the platforms read and write:
// the stub's own signal frame (systrap), PTRACE_GETREGSET NT_X86_XSTATE
// (ptrace), KVM_GET_XSAVE (KVM).
const (
	// XSaveHeaderOffset is where the XSAVE header starts: XSTATE_BV,
	// then XCOMP_BV (0 in the standard format), then reserved bytes.
	XSaveHeaderOffset = 512
	// XSaveHeaderEnd is the end of the header, the smallest XSAVE image.
	XSaveHeaderEnd = 576
	// FPSwBytesOffset is where, in the legacy area's software-available
	// bytes, Linux's signal frames carry struct _fpx_sw_bytes.
	FPSwBytesOffset = 464
	// FPXStateMagic1 opens _fpx_sw_bytes when the frame holds an XSAVE
	// image; FPXStateMagic2 follows the image.
	FPXStateMagic1 = 0x46505853
	FPXStateMagic2 = 0x46505845
	// FPXStateMagic2Size is the size of the trailing magic.
	FPXStateMagic2Size = 4

	// XFeatureX87 and XFeatureSSE are the legacy area's components.
	XFeatureX87 = 1 << 0
	XFeatureSSE = 1 << 1

	fxMXCSR = 24
	// mxcsrValid are the MXCSR bits that exist on every x86-64 CPU;
	// setting others makes FXRSTOR/XRSTOR fault.
	mxcsrValid = 0xffff
)

// XState describes the host's XSAVE state: the components Linux enabled
// for user space and the size of their standard-format image.
type XState struct {
	// Features is XCR0: the components present in images.
	Features uint64
	// Size is the size of a standard-format image holding all of
	// Features; FPStateSize when the host has no XSAVE.
	Size int
	// ends[i] is where component i ends in the standard format, for
	// the components in Features beyond SSE.
	ends [64]uint32
}

// Fit returns bv less the components that do not lie wholly within the
// first n bytes of a standard-format image, and less those not in
// Features.
func (x XState) Fit(bv uint64, n int) uint64 {
	bv &= x.Features
	for i := 2; i < 64; i++ {
		if bv&(1<<i) != 0 && int(x.ends[i]) > n {
			bv &^= 1 << i
		}
	}
	return bv
}

// HasXSAVE reports whether the host's state is in XSAVE format.
func (x XState) HasXSAVE() bool { return x.Size >= XSaveHeaderEnd }

// HostXState returns the host's XSAVE state, measured once.
var HostXState = sync.OnceValue(func() XState {
	const cpuid1ECXOSXSAVE = 1 << 27
	maxLeaf, _, _, _ := CPUID(0, 0)
	if maxLeaf < 0xd {
		return XState{Features: XFeatureX87 | XFeatureSSE, Size: FPStateSize}
	}
	if _, _, ecx, _ := CPUID(1, 0); ecx&cpuid1ECXOSXSAVE == 0 {
		return XState{Features: XFeatureX87 | XFeatureSSE, Size: FPStateSize}
	}
	// Leaf 0xD subleaf 0: EBX is the standard-format size for the
	// components XCR0 enables now.
	_, size, _, _ := CPUID(0xd, 0)
	x := XState{Features: xgetbv0(), Size: int(size)}
	for i := 2; i < 64; i++ {
		if x.Features&(1<<i) != 0 {
			// Subleaf i: EAX is the component's size, EBX its offset.
			n, off, _, _ := CPUID(0xd, uint32(i))
			x.ends[i] = off + n
		}
	}
	return x
})

// SanitizeFP makes fp, a state an application supplied (a signal frame),
// safe to load: MXCSR's reserved bits cleared and, for an XSAVE image, the
// header in standard format (XCOMP_BV and the reserved bytes zero) naming
// only components in features that the image holds, with x87 and SSE
// always taken from the legacy area. Each of those would otherwise make
// XRSTOR fault or read past the image, which Linux avoids the same way
// (fpu__restore_sig).
func (x XState) SanitizeFP(fp []byte, features uint64) {
	le := binary.LittleEndian
	le.PutUint32(fp[fxMXCSR:], le.Uint32(fp[fxMXCSR:])&mxcsrValid)
	if len(fp) < XSaveHeaderEnd {
		return
	}
	bv := x.Fit(le.Uint64(fp[XSaveHeaderOffset:])&features, len(fp)) | XFeatureX87 | XFeatureSSE
	clear(fp[XSaveHeaderOffset:XSaveHeaderEnd])
	le.PutUint64(fp[XSaveHeaderOffset:], bv)
}
