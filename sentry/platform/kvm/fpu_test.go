package kvm

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/arch"
)

func TestInitFPImage(t *testing.T) {
	le := binary.LittleEndian
	for _, f := range []fpFormat{fpFXSAVE, fpXSAVE} {
		img := initFPImage(f)
		if len(img) != f.size() || le.Uint16(img[fxFCW:]) != 0x37f || le.Uint32(img[fxMXCSR:]) != 0x1f80 {
			t.Fatalf("format %d: %x", f, img[:32])
		}
		// The legacy area matches the kernel's idea of a fresh FPU.
		want := arch.InitialFPState()
		for _, off := range []int{fxFCW, fxFSW, fxFTW, fxMXCSR} {
			if img[off] != want[off] {
				t.Fatalf("format %d: byte %d = %#x, arch.InitialFPState has %#x", f, off, img[off], want[off])
			}
		}
	}
	if bv := le.Uint64(initFPImage(fpXSAVE)[xsaveHdrBV:]); bv != xfeatureX87|xfeatureSSE {
		t.Fatalf("XSTATE_BV %#x", bv)
	}
}

func TestImportFPImage(t *testing.T) {
	le := binary.LittleEndian
	fx := arch.InitialFPState()
	le.PutUint32(fx[fxMXCSR:], 0xdead1f80) // reserved bits set
	fx[fxXMM0] = 0x42

	img, err := importFPImage(fpXSAVE, fx, xfeatureX87|xfeatureSSE|xfeatureAVX)
	if err != nil {
		t.Fatal(err)
	}
	if len(img) != sizeofKVMXSAVE || img[fxXMM0] != 0x42 || le.Uint32(img[fxMXCSR:]) != 0x1f80 || le.Uint64(img[xsaveHdrBV:]) != xfeatureX87|xfeatureSSE {
		t.Fatalf("FXSAVE into XSAVE: mxcsr %#x bv %#x", le.Uint32(img[fxMXCSR:]), le.Uint64(img[xsaveHdrBV:]))
	}

	// An XSAVE image from the application: XSTATE_BV bits outside XCR0,
	// a compacted-format XCOMP_BV and reserved header bytes are cleared.
	x := make([]byte, sizeofKVMXSAVE)
	copy(x, fx)
	le.PutUint64(x[xsaveHdrBV:], 0xfc)
	le.PutUint64(x[xsaveHdrComp:], 1<<63|7)
	x[xsaveHdrEnd-1] = 9
	x[xsaveHdrEnd+5] = 0x77 // AVX state
	img, err = importFPImage(fpXSAVE, x, xfeatureX87|xfeatureSSE|xfeatureAVX)
	if err != nil {
		t.Fatal(err)
	}
	if le.Uint64(img[xsaveHdrBV:]) != 7 || !bytes.Equal(img[xsaveHdrComp:xsaveHdrEnd], make([]byte, xsaveHdrEnd-xsaveHdrComp)) || img[xsaveHdrEnd+5] != 0x77 {
		t.Fatalf("header %x", img[xsaveHdrBV:xsaveHdrEnd])
	}

	// Without XSAVE only the legacy area is kept.
	img, err = importFPImage(fpFXSAVE, x, 0)
	if err != nil || len(img) != fxsaveSize || img[fxXMM0] != 0x42 {
		t.Fatalf("into FXSAVE: %d bytes, %v", len(img), err)
	}
	if _, err := importFPImage(fpXSAVE, make([]byte, 100), 3); err == nil {
		t.Fatal("short state accepted")
	}
}

func TestFXSAVEKVMFPURoundTrip(t *testing.T) {
	src := make([]byte, fxsaveSize)
	for i := range src[:416] {
		src[i] = byte(i*7 + 1)
	}
	src[fxFTW+1] = 0 // reserved
	clear(src[fxMXCSRMask : fxMXCSRMask+4])
	// ST registers use 10 of their 16 bytes; kvm_fpu keeps all 16.
	var f kvmFPU
	kvmFPUFromFXSAVE(src, &f)
	le := binary.LittleEndian
	if f.FCW != le.Uint16(src[0:]) || f.MXCSR != le.Uint32(src[24:]) || f.FPR[1][0] != src[48] || f.XMM[15][15] != src[160+255] || f.LastIP != le.Uint64(src[8:]) {
		t.Fatalf("kvm_fpu %+v", f)
	}
	dst := make([]byte, fxsaveSize)
	fxsaveFromKVMFPU(&f, dst)
	if !bytes.Equal(dst, src) {
		t.Fatalf("round trip differs:\n%x\n%x", dst[:64], src[:64])
	}
}

func TestFPUExceptionCode(t *testing.T) {
	le := binary.LittleEndian
	img := make([]byte, fxsaveSize)
	x87 := func(cwd, swd uint16) int {
		le.PutUint16(img[fxFCW:], cwd)
		le.PutUint16(img[fxFSW:], swd)
		return fpuExceptionCode(img, vectorMF)
	}
	// All exceptions masked except the one raised.
	if got := x87(0x37f&^0x4, 0x4); got != fpeFltDiv {
		t.Errorf("x87 divide by zero: %d", got)
	}
	if got := x87(0x37f&^0x1, 0x1); got != fpeFltInv {
		t.Errorf("x87 invalid: %d", got)
	}
	if got := x87(0x37f, 0x4); got != 0 {
		t.Errorf("masked x87 exception: %d", got)
	}
	sse := func(mxcsr uint32) int {
		le.PutUint32(img[fxMXCSR:], mxcsr)
		return fpuExceptionCode(img, vectorXM)
	}
	// MXCSR: flags in bits 0-5, masks in 7-12.
	if got := sse(0x1f80&^(0x4<<7) | 0x4); got != fpeFltDiv {
		t.Errorf("SSE divide by zero: %d", got)
	}
	if got := sse(0x1f80&^(0x8<<7) | 0x8); got != fpeFltOvf {
		t.Errorf("SSE overflow: %d", got)
	}
	if got := sse(0x1f80&^(0x10<<7) | 0x10); got != fpeFltUnd {
		t.Errorf("SSE underflow: %d", got)
	}
	if got := sse(0x1f80&^(0x20<<7) | 0x20); got != fpeFltRes {
		t.Errorf("SSE precision: %d", got)
	}
}

func TestCPUID(t *testing.T) {
	c := cpuidSet{entries: []kvmCPUIDEntry2{
		{Function: 1, ECX: cpuid1ECXXSAVE},
		{Function: 7, Index: 1, Flags: cpuidFlagSignificantIndex, EBX: 5},
		{Function: 7, Index: 0, Flags: cpuidFlagSignificantIndex, EBX: 9},
		{Function: leafXSAVE, Index: 0, Flags: cpuidFlagSignificantIndex, EAX: 0xe7},
		{Function: leafExtFeatures, EDX: cpuidExtEDXNX | cpuidExtEDXLM | cpuidExtEDXSysc},
		{Function: leafAddressSizes, EAX: 0x3027},
	}}
	if e, ok := c.lookup(7, 0); !ok || e.EBX != 9 {
		t.Fatalf("leaf 7.0: %+v", e)
	}
	if e, ok := c.lookup(1, 5); !ok || e.ECX != cpuid1ECXXSAVE {
		t.Fatal("leaf 1 ignores the index")
	}
	if !c.hasNX() || !c.hasXSAVE() || !c.hasLongMode() || c.physAddrBits() != 0x27 {
		t.Fatal("features")
	}
	if x := c.guestXCR0(); x != xfeatureX87|xfeatureSSE|xfeatureAVX|xfeatureAVX512 {
		t.Fatalf("XCR0 %#x", x)
	}
	// AVX-512 only whole; AVX-512 without AVX never; PKRU (bit 9) never.
	for _, c := range []struct {
		supported uint32
		want      uint64
	}{
		{0x3, 0x3},
		{0x7, 0x7},
		{0x67, 0x7},
		{0xe3, 0x3},
		{0x2e7, 0xe7},
	} {
		s := cpuidSet{entries: []kvmCPUIDEntry2{{Function: leafXSAVE, Flags: cpuidFlagSignificantIndex, EAX: c.supported}}}
		if got := s.guestXCR0(); got != c.want {
			t.Errorf("supported %#x: XCR0 %#x, want %#x", c.supported, got, c.want)
		}
	}
	if (&cpuidSet{}).physAddrBits() != 36 || (&cpuidSet{}).hasNX() {
		t.Fatal("defaults")
	}
}
