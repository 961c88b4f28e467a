package arch

import (
	"encoding/binary"
	"testing"
)

// TestHostXState checks the measured geometry against what any XSAVE host
// must have: x87 and SSE enabled, an image holding at least the legacy
// area and the header, and, with AVX enabled, its component inside.
func TestHostXState(t *testing.T) {
	x := HostXState()
	t.Logf("features %#x, size %d, component ends %v", x.Features, x.Size, x.ends[:8])
	if x.Features&(XFeatureX87|XFeatureSSE) != XFeatureX87|XFeatureSSE {
		t.Errorf("features %#x lack x87 or SSE", x.Features)
	}
	if !x.HasXSAVE() {
		if x.Size != FPStateSize {
			t.Errorf("no XSAVE but size %d", x.Size)
		}
		return
	}
	if x.Features&(1<<2) != 0 {
		if x.Fit(1<<2, x.Size) == 0 {
			t.Errorf("AVX component (ends at %d) beyond the image's %d bytes", x.ends[2], x.Size)
		}
	}
}

func TestSanitizeFP(t *testing.T) {
	le := binary.LittleEndian
	fp := make([]byte, 1024)
	le.PutUint32(fp[fxMXCSR:], 0xffffffff)
	le.PutUint64(fp[XSaveHeaderOffset:], 0xff)    // bits 3.. not enabled
	le.PutUint64(fp[XSaveHeaderOffset+8:], 1<<63) // compacted: XRSTOR would fault
	fp[XSaveHeaderEnd-1] = 1                      // reserved
	x := XState{Features: 0xff, Size: 1024}
	x.ends[2] = 832
	x.ends[3] = 2000 // beyond the image
	x.SanitizeFP(fp, XFeatureX87|XFeatureSSE|1<<2|1<<3)
	if got := le.Uint32(fp[fxMXCSR:]); got != mxcsrValid {
		t.Errorf("MXCSR %#x", got)
	}
	if got := le.Uint64(fp[XSaveHeaderOffset:]); got != 7 {
		t.Errorf("XSTATE_BV %#x, want 7", got)
	}
	for i := XSaveHeaderOffset + 8; i < XSaveHeaderEnd; i++ {
		if fp[i] != 0 {
			t.Fatalf("header byte %d = %#x, want 0", i, fp[i])
		}
	}
}
