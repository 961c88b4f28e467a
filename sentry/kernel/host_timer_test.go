package kernel

import (
	"testing"
	"time"
)

// waitClosed fails t unless ch is closed within a generous bound: a
// deadlock check, not a measure of speed.
func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never happened", what)
	}
}

// expectExpiry waits a host timer of d out and checks that it did not
// expire early: a wait lasts at least what was asked.
func expectExpiry(t *testing.T, d time.Duration) {
	t.Helper()
	start := time.Now()
	h, fired := startHostTimer(d)
	if h == nil {
		t.Fatalf("no host timer for a %v wait", d)
	}
	waitClosed(t, "the expiry", fired)
	if got := time.Since(start); got < d {
		t.Fatalf("a %v host timer expired after %v", d, got)
	}
	h.stop(fired)
}

func TestHostTimerExpires(t *testing.T) {
	for range 3 { // the pool hands the same timer back each round
		expectExpiry(t, 2*time.Millisecond)
	}
}

func TestHostTimerStopEndsTheWait(t *testing.T) {
	h, fired := startHostTimer(hostTimerLimit - time.Millisecond)
	if h == nil {
		t.Fatal("no host timer for a short wait")
	}
	stopped := make(chan struct{})
	go func() {
		h.stop(fired)
		close(stopped)
	}()
	waitClosed(t, "stop", stopped)
	// The timer went back disarmed: the next wait lasts its own length,
	// whatever the stopped one had armed.
	expectExpiry(t, 3*time.Millisecond)
}

func TestHostTimerOnlyForShortWaits(t *testing.T) {
	for _, d := range []time.Duration{hostTimerMin - time.Microsecond, hostTimerLimit} {
		if h, _ := startHostTimer(d); h != nil {
			t.Fatalf("a %v wait got a host timer; Go's timers serve it", d)
		}
	}
}

// A program's usleep(50) reaches BlockUntil a few µs short of 50 µs,
// after its system call's entry and decoding; it must still be precise.
func TestHostTimerForAFiftyMicrosecondSleep(t *testing.T) {
	h, fired := startHostTimer(50*time.Microsecond - 8*time.Microsecond)
	if h == nil {
		t.Fatal("a usleep(50) waits on a Go timer, which fires a millisecond late on an idle sentry")
	}
	h.stop(fired)
}

func TestHostTimerPoolIsBounded(t *testing.T) {
	type started struct {
		h     *hostTimer
		fired <-chan struct{}
	}
	var held []started
	defer func() {
		for _, s := range held {
			s.h.stop(s.fired)
		}
	}()
	for {
		h, fired := startHostTimer(time.Millisecond)
		if h == nil {
			break
		}
		held = append(held, started{h, fired})
		if len(held) > maxHostTimers {
			t.Fatalf("got %d host timers, the cap is %d", len(held), maxHostTimers)
		}
	}
	if len(held) != maxHostTimers {
		t.Fatalf("the pool ran out after %d host timers, want %d", len(held), maxHostTimers)
	}
}
