package kernel

import (
	"runtime"
	"testing"
	"time"
)

// spinFor uses the calling thread's CPU for about d.
func spinFor(d time.Duration) {
	start, _ := threadCPU()
	for {
		if now, _ := threadCPU(); now-start >= d {
			return
		}
	}
}

func TestHostThreadCPUChargesNoWait(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var h hostThreadCPU
	h.mark()
	// A piece that slept the whole time, as a thread waiting for a CPU
	// does: its wall time is not charged.
	time.Sleep(20 * time.Millisecond)
	if got := h.charge(20 * time.Millisecond); got > 5*time.Millisecond {
		t.Errorf("a 20 ms piece that used no CPU was charged %v", got)
	}
	// One that ran is charged what it ran.
	spinFor(10 * time.Millisecond)
	if got := h.charge(time.Hour); got < 10*time.Millisecond || got > time.Second {
		t.Errorf("a piece that ran 10 ms was charged %v", got)
	}
}

func TestHostThreadCPUCountsShortPieces(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var h hostThreadCPU
	h.mark()
	// Short pieces are charged their wall time unread, which is at
	// least their CPU; the next long piece is charged only the CPU
	// the thread used past them.
	for range 10 {
		if got := h.charge(boundByThreadAfter / 2); got != boundByThreadAfter/2 {
			t.Fatalf("a short piece was charged %v, want its wall time", got)
		}
	}
	spinFor(2 * time.Millisecond)
	if got := h.charge(time.Hour); got > 2*time.Millisecond {
		t.Errorf("after 1 ms charged in short pieces and 2 ms used, the long piece was charged %v", got)
	}
	// Charged past the thread's CPU: the excess is owed by the next
	// piece.
	h.mark()
	h.charge(boundByThreadAfter / 2)
	for range 30 {
		h.charge(boundByThreadAfter / 2)
	}
	if got := h.charge(time.Hour); got != 0 {
		t.Errorf("a long piece right after 3.1 ms charged for no CPU was charged %v", got)
	}
	spinFor(time.Millisecond)
	if got := h.charge(time.Hour); got >= time.Millisecond {
		t.Errorf("1 ms used after ~3 ms overcharged was charged %v", got)
	}
}
