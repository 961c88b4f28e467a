package boot

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

var retained [][]byte

func retainHeap() {
	for range 64 {
		retained = append(retained, make([]byte, 64<<10))
	}
}

// TestHeapSitesNameTheHolder: a site holding 4 MiB live is listed, by
// its function, among the largest.
func TestHeapSitesNameTheHolder(t *testing.T) {
	retainHeap()
	runtime.GC()
	var b bytes.Buffer
	writeHeapSites(&b)
	retained = nil
	if !strings.Contains(b.String(), "boot.retainHeap") {
		t.Errorf("the heap sites do not name retainHeap:\n%s", b.String())
	}
}

func TestScaleHeapSample(t *testing.T) {
	// Objects far larger than the sampling rate are all recorded.
	if b, o := scaleHeapSample(100<<20, 10, 512<<10); b < 100<<20 || b > 101<<20 || o != 10 {
		t.Errorf("large objects scaled to %d bytes, %d objects", b, o)
	}
	// 8-byte objects are recorded about once in 64 Ki.
	if b, o := scaleHeapSample(800, 100, 512<<10); o < 6_000_000 || o > 7_000_000 || b < o*8-8 || b > o*8+8 {
		t.Errorf("small objects scaled to %d bytes, %d objects", b, o)
	}
}
