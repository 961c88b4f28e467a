package netstack

import (
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

func TestCoarsenLeavesMidTimersExact(t *testing.T) {
	for _, d := range []time.Duration{0, tcp.MinRTO, 200 * time.Millisecond, coarseFrom - 1} {
		if got := coarsen(12345*time.Microsecond, d); got != d {
			t.Errorf("coarsen(%v) = %v, want it unchanged", d, got)
		}
	}
}

// Timers shorter than the minimum RTO (TCP's tail loss probe and RACK
// reordering timer) get Linux's TCP_TIMEOUT_MIN on top.
func TestCoarsenDelaysShortTimers(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, 40 * time.Microsecond, time.Millisecond, tcp.MinRTO - 1} {
		if got := coarsen(12345*time.Microsecond, d); got != d+tcpTimeoutMin {
			t.Errorf("coarsen(%v) = %v, want %v", d, got, d+tcpTimeoutMin)
		}
	}
}

func TestCoarsenBatchesLongTimers(t *testing.T) {
	// Timers set at different instants whose deadlines share a slot fire
	// together, at the slot's end, never before their deadline and less
	// than a slot after it.
	const d = 960 * coarseGrain // about a minute, a whole number of slots
	slotEnd := time.Duration(0)
	for _, now := range []time.Duration{
		10*coarseGrain + 1,
		10*coarseGrain + coarseGrain/2,
		11*coarseGrain - 1,
	} {
		got := coarsen(now, d)
		fire := now + got
		if got < d || got >= d+coarseGrain {
			t.Fatalf("coarsen(now %v, %v) = %v: not within a slot after the deadline", now, d, got)
		}
		if fire%coarseGrain != 0 {
			t.Fatalf("a timer set at %v fires at %v, not at a slot's end", now, fire)
		}
		if slotEnd != 0 && fire != slotEnd {
			t.Fatalf("timers due within one slot fire at %v and %v", slotEnd, fire)
		}
		slotEnd = fire
	}
	// A deadline on a slot's end is not moved.
	if d := 16 * coarseGrain; coarsen(3*coarseGrain, d) != d {
		t.Fatalf("a deadline at a slot's end moved to %v", coarsen(3*coarseGrain, d))
	}
}

// recordingClock is a tcpip.Clock that records the delays its timers get.
type recordingClock struct {
	tcpip.Clock
	delays *[]time.Duration
}

func (c recordingClock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	*c.delays = append(*c.delays, d)
	return recordingTimer{c.delays}
}

type recordingTimer struct{ delays *[]time.Duration }

func (t recordingTimer) Stop() bool            { return true }
func (t recordingTimer) Reset(d time.Duration) { *t.delays = append(*t.delays, d) }

func TestCoarseClockCoarsensStartAndReset(t *testing.T) {
	var delays []time.Duration
	c := coarseClock{recordingClock{tcpip.NewStdClock(), &delays}}
	tm := c.AfterFunc(time.Minute, func() {})
	tm.Reset(90 * time.Second)
	tm.Reset(40 * time.Millisecond)
	tm.Reset(tcp.MinRTO)
	if len(delays) != 4 {
		t.Fatalf("the inner clock saw %d delays, want 4", len(delays))
	}
	for i, want := range []time.Duration{time.Minute, 90 * time.Second} {
		if got := delays[i]; got < want || got >= want+coarseGrain {
			t.Errorf("delay %d: the inner clock got %v for %v", i, got, want)
		}
	}
	if delays[2] != 40*time.Millisecond+tcpTimeoutMin {
		t.Errorf("a short reset reached the inner clock as %v", delays[2])
	}
	if delays[3] != tcp.MinRTO {
		t.Errorf("a reset to the minimum RTO reached the inner clock as %v", delays[3])
	}
}
