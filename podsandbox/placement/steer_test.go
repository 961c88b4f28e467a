package placement

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// steerRun feeds a steerPolicy ticks of traffic at the given rates, in
// bytes a second, and returns its answer after each.
type steerRun struct {
	t              *testing.T
	pol            steerPolicy
	now            time.Time
	sent, received uint64
}

func newSteerRun(t *testing.T) *steerRun {
	r := &steerRun{t: t, now: time.Unix(1000, 0)}
	r.pol.step(r.now, 0, 0, true) // the first look
	return r
}

func (r *steerRun) ticks(n int, sendRate, receiveRate float64, consolidated bool) []bool {
	var out []bool
	for range n {
		r.now = r.now.Add(tick)
		r.sent += uint64(sendRate * tick.Seconds())
		r.received += uint64(receiveRate * tick.Seconds())
		out = append(out, r.pol.step(r.now, r.sent, r.received, consolidated))
	}
	return out
}

func onAt(answers []bool) int {
	for i, on := range answers {
		if on {
			return i + 1
		}
	}
	return -1
}

// A consolidated pod sending a stream is steered from its steerOnTicks-th
// tick; one that stops is let go steerOffTicks ticks later.
func TestSteerPolicyStreamOut(t *testing.T) {
	r := newSteerRun(t)
	got := r.ticks(steerOnTicks+2, 1e9, 1e6, true)
	if n := onAt(got); n != steerOnTicks {
		t.Fatalf("sending 1 GB/s: steered from tick %d (%v), want %d", n, got, steerOnTicks)
	}
	got = r.ticks(steerOffTicks, 0, 0, true)
	for i, on := range got[:steerOffTicks-1] {
		if !on {
			t.Fatalf("quiet tick %d already let go (%v); want steerOffTicks=%d", i+1, got, steerOffTicks)
		}
	}
	if got[steerOffTicks-1] {
		t.Fatalf("still steered after %d quiet ticks", steerOffTicks)
	}
}

// Receiving a stream (its ACKs are all it sends), sending little, and
// sending as much as it receives are not steered.
func TestSteerPolicyOtherTraffic(t *testing.T) {
	for _, c := range []struct {
		name          string
		send, receive float64
	}{
		{"receiving a stream", 2e6, 1e9},
		{"sending below steerRate", steerRate / 2, 0},
		{"sending and receiving alike", 1e9, 1e9 / (steerShare - 1)},
	} {
		r := newSteerRun(t)
		if n := onAt(r.ticks(10, c.send, c.receive, true)); n != -1 {
			t.Errorf("%s: steered from tick %d", c.name, n)
		}
	}
}

// A pod that is spread is let go at once, whatever it sends, and
// starts over when consolidated again.
func TestSteerPolicySpread(t *testing.T) {
	r := newSteerRun(t)
	if n := onAt(r.ticks(steerOnTicks, 1e9, 0, true)); n != steerOnTicks {
		t.Fatalf("steered from tick %d, want %d", n, steerOnTicks)
	}
	if n := onAt(r.ticks(3, 1e9, 0, false)); n != -1 {
		t.Fatalf("spread: still steered at tick %d", n)
	}
	if n := onAt(r.ticks(steerOnTicks, 1e9, 0, true)); n != steerOnTicks {
		t.Fatalf("consolidated again: steered from tick %d, want %d", n, steerOnTicks)
	}
}

// Counters that go back (the link was made anew) are no interval: the
// answer stays what it was.
func TestSteerPolicyCountersBack(t *testing.T) {
	r := newSteerRun(t)
	r.ticks(steerOnTicks, 1e9, 0, true)
	r.now = r.now.Add(tick)
	if !r.pol.step(r.now, 10, 10, true) {
		t.Fatal("counters that went back let the steering go")
	}
	r.sent, r.received = 10, 10
	if got := r.ticks(1, 1e9, 0, true); !got[0] {
		t.Fatal("the tick after counters went back let the steering go")
	}
}

func TestCPUMask(t *testing.T) {
	set := func(cpus ...int) unix.CPUSet {
		var s unix.CPUSet
		for _, c := range cpus {
			s.Set(c)
		}
		return s
	}
	for _, c := range []struct {
		cpus unix.CPUSet
		want string
	}{
		{set(), "0"},
		{set(1), "2"},
		{set(0, 1), "3"},
		{set(0, 31), "80000001"},
		{set(40), "100,00000000"},
		{set(0, 64), "1,00000000,00000001"},
	} {
		if got := cpuMask(c.cpus); got != c.want {
			t.Errorf("cpuMask(%d CPUs) = %q, want %q", c.cpus.Count(), got, c.want)
		}
	}
}
