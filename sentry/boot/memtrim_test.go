package boot

import (
	"testing"
	"time"
)

// quietLooks feeds m looks of a quiet sentry holding heap and closing
// connections until it asks for a trim, and returns how long that took
// (0: not within limit).
func quietLooks(m *memTrimmer, s *memSample, limit time.Duration) time.Duration {
	for waited := trimEvery; waited <= limit; waited += trimEvery {
		s.allocated += trimQuietAlloc / 8
		if m.look(*s) {
			return waited
		}
	}
	return 0
}

func TestMemTrimmerLeavesABusySentryAlone(t *testing.T) {
	s := memSample{heap: 10 * trimFloor, closing: -1}
	m := newMemTrimmer(s)
	for range 100 {
		s.allocated += trimQuietAlloc
		if m.look(s) {
			t.Fatal("a trim while the sentry allocates")
		}
	}
}

func TestMemTrimmerLeavesASmallHeapAlone(t *testing.T) {
	s := memSample{heap: trimFloor - 1, closing: -1}
	m := newMemTrimmer(s)
	if d := quietLooks(m, &s, time.Hour); d != 0 {
		t.Fatalf("a trim of a %d-byte heap after %v", s.heap, d)
	}
}

func TestMemTrimmerBacksOffWhenTrimsFreeLittle(t *testing.T) {
	s := memSample{heap: 4 * trimFloor, closing: -1}
	m := newMemTrimmer(s)
	// A busy spell, then quiet: the first trim comes one look later.
	s.allocated += 100 * trimQuietAlloc
	m.look(s)
	if d := quietLooks(m, &s, time.Hour); d != trimEvery {
		t.Fatalf("first trim after %v of quiet, want %v", d, trimEvery)
	}
	// Trims that free nothing come ever later, then at the runtime's
	// own period.
	want := trimEvery
	for range 6 {
		m.trimmed(s, s)
		want = min(2*want, trimMaxWait)
		if d := quietLooks(m, &s, time.Hour); d != want {
			t.Fatalf("a trim after %v, want %v", d, want)
		}
	}
	// One that frees most of the heap brings the wait back.
	after := s
	after.heap = s.heap / 4
	m.trimmed(s, after)
	s = after
	s.heap = 4 * trimFloor
	if d := quietLooks(m, &s, time.Hour); d != trimEvery {
		t.Fatalf("after a trim that freed memory, the next after %v, want %v", d, trimEvery)
	}
	// So does activity.
	m.trimmed(s, s)
	s.allocated += trimQuietAlloc
	m.look(s)
	if d := quietLooks(m, &s, time.Hour); d != trimEvery {
		t.Fatalf("after activity, a trim after %v, want %v", d, trimEvery)
	}
}

func TestMemTrimmerTrimsWhenTimeWaitEnds(t *testing.T) {
	s := memSample{heap: 8 * trimFloor, closing: 0}
	m := newMemTrimmer(s)
	// A burst of connections leaves 30,000 in TIME-WAIT; the first
	// quiet trim frees nothing, so the next would wait.
	s.allocated += 100 * trimQuietAlloc
	s.closing = 30000
	m.look(s)
	if d := quietLooks(m, &s, time.Hour); d != trimEvery {
		t.Fatalf("first trim after %v, want %v", d, trimEvery)
	}
	m.trimmed(s, s)
	// They leave TIME-WAIT a minute after they entered it, the
	// sentry still quiet: a trim at the next look.
	s.closing -= trimClosedEndpoints
	s.allocated += trimQuietAlloc / 8
	if !m.look(s) {
		t.Fatalf("%d connections left TIME-WAIT without a trim", trimClosedEndpoints)
	}
	// Fewer than that wait their turn.
	m.trimmed(s, s)
	s.closing -= trimClosedEndpoints - 1
	s.allocated += trimQuietAlloc / 8
	if m.look(s) {
		t.Fatalf("%d connections leaving TIME-WAIT called a trim", trimClosedEndpoints-1)
	}
}

func TestSentryHeapLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		cgroup, app uint64
		want        int64
	}{
		{512 * mib, 100 * mib, 380 * mib}, // what the applications leave, less the reserve
		{512 * mib, 450 * mib, 30 * mib},
		{512 * mib, 500 * mib, 16 * mib}, // never below the floor
		{256 * mib, 300 * mib, 16 * mib},
	} {
		if got := sentryHeapLimit(c.cgroup, c.app); got != c.want {
			t.Errorf("cgroup %d MiB, applications %d MiB: heap limit %d MiB, want %d", c.cgroup/mib, c.app/mib, got/mib, c.want/mib)
		}
	}
}
