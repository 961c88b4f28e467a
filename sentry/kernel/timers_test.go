package kernel

import (
	"testing"
	"time"
)

// TestRemainingAfterDeadline checks what timer_gettime reports for a timer
// whose deadline passed before its expiry ran (a loaded machine delays the
// Go timer): Linux's common_timer_get answers 0 for an expired one-shot
// SIGEV_NONE timer, the time to the next period for a periodic one, and
// 1 ns for a timer whose signal is still to be sent.
func TestRemainingAfterDeadline(t *testing.T) {
	past := time.Now().Add(-25 * time.Millisecond)
	for _, tc := range []struct {
		name     string
		notify   int32
		interval time.Duration
		lo, hi   time.Duration
	}{
		{"none one-shot", SigevNone, 0, 0, 0},
		{"none periodic", SigevNone, 10 * time.Millisecond, time.Nanosecond, 10 * time.Millisecond},
		{"signal one-shot", SigevSignal, 0, time.Nanosecond, time.Nanosecond},
		{"signal periodic", SigevSignal, 10 * time.Millisecond, time.Nanosecond, time.Nanosecond},
	} {
		it := &IntervalTimer{notify: tc.notify, interval: tc.interval, deadline: past}
		if got := it.remainingLocked(); got < tc.lo || got > tc.hi {
			t.Errorf("%s: remaining %v, want within [%v, %v]", tc.name, got, tc.lo, tc.hi)
		}
	}
	it := &IntervalTimer{notify: SigevNone, deadline: time.Now().Add(time.Hour)}
	if got := it.remainingLocked(); got <= 59*time.Minute {
		t.Errorf("armed timer: remaining %v, want about an hour", got)
	}
}
