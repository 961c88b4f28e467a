package placement

import (
	"testing"
	"time"
)

// run feeds p n ticks of use, with read returning what times gives for
// the tick's number, and returns the decisions and how often read was
// called.
func run(p *policy, start time.Time, from, n int, use float64, at func(i int) times) (spread []bool, reads int) {
	for i := from; i < from+n; i++ {
		s := p.step(start.Add(time.Duration(i)*tick), use, func() (times, bool) {
			reads++
			return at(i), true
		})
		spread = append(spread, s)
	}
	return spread, reads
}

// share makes times where a share of every tick's CPU (100 clock ticks a
// second, one CPU) is application code.
func share(s float64) func(i int) times {
	return func(i int) times {
		all := uint64(25 * i)
		return times{application: uint64(float64(all) * s), all: all}
	}
}

// trapping adds to at a rate of traps per second of the pod's CPU time.
func trapping(at func(i int) times, rate float64) func(i int) times {
	return func(i int) times {
		t := at(i)
		t.traps, t.trapsKnown = uint64(rate*float64(t.all)/userHZ), true
		return t
	}
}

func TestPolicyKeepsALightPodConsolidated(t *testing.T) {
	p := newPolicy()
	got, reads := run(&p, time.Now(), 0, 40, 0.3, share(1))
	for i, s := range got {
		if s {
			t.Fatalf("tick %d: a pod using 0.3 CPU was spread", i)
		}
	}
	if reads != 0 {
		t.Errorf("a light pod's processes were read %d times; they matter only to a full one", reads)
	}
}

func TestPolicyKeepsASentryBoundPodConsolidated(t *testing.T) {
	p := newPolicy()
	// Each of its traps carries work (a TCP stream's, host → pod).
	got, reads := run(&p, time.Now(), 0, 40, 1.0, trapping(share(0.3), trapHeavy/2))
	for i, s := range got {
		if s {
			t.Fatalf("tick %d: a pod filling its CPU with the sentry's work was spread", i)
		}
	}
	// Each run of saturatedTicks+1 full ticks reads its first and last.
	if want := 2 * 40 / (saturatedTicks + 1); reads != want {
		t.Errorf("read %d times in 40 full ticks, want %d", reads, want)
	}
}

func TestPolicySpreadsAnApplicationBoundPod(t *testing.T) {
	p := newPolicy()
	start := time.Now()
	got, _ := run(&p, start, 0, saturatedTicks+1, 1.0, share(0.95))
	for i, s := range got[:saturatedTicks] {
		if s {
			t.Fatalf("spread at tick %d, before %d full ticks were judged", i, saturatedTicks)
		}
	}
	if !got[saturatedTicks] {
		t.Fatalf("not spread after %d full ticks of application code", saturatedTicks+1)
	}
	// Busy on more than one CPU: it stays spread until the probe.
	n := int(minBackoff / tick)
	got, reads := run(&p, start, saturatedTicks+1, n-1, 1.6, share(0.95))
	for i, s := range got {
		if !s {
			t.Fatalf("consolidated again %d ticks after the spread, before the backoff of %v", i+1, minBackoff)
		}
	}
	if reads != 0 {
		t.Errorf("a spread pod's processes were read %d times: spread, stubs spin and look like application code", reads)
	}
	if got, _ := run(&p, start, saturatedTicks+n, 1, 1.6, share(0.95)); got[0] {
		t.Fatalf("still spread at the probe, %v after the spread", minBackoff)
	}
}

func TestPolicySpreadsAPodOfCheapSystemCalls(t *testing.T) {
	p := newPolicy()
	got, _ := run(&p, time.Now(), 0, saturatedTicks+1, 1.0, trapping(share(0.1), 2*trapHeavy))
	for i, s := range got[:saturatedTicks] {
		if s {
			t.Fatalf("spread at tick %d, before %d full ticks were judged", i, saturatedTicks)
		}
	}
	if !got[saturatedTicks] {
		t.Fatalf("a pod trapping %d times a CPU-second was not spread", 2*trapHeavy)
	}
	if p.why != "system calls" {
		t.Errorf("spread for %q", p.why)
	}
	// A sentry that cannot count its traps: judged on its time alone.
	p = newPolicy()
	unknown := func(i int) times { t := trapping(share(0.1), 2*trapHeavy)(i); t.trapsKnown = false; return t }
	if got, _ := run(&p, time.Now(), 0, saturatedTicks+1, 1.0, unknown); got[saturatedTicks] {
		t.Fatal("spread on traps a sentry did not count")
	}
}

func TestPolicyBacksOffWhileProbesConfirmTheSpread(t *testing.T) {
	p := newPolicy()
	now := time.Now()
	var waits []time.Duration
	for probe := 0; probe < 6; probe++ {
		// Consolidated, full of application code: spread.
		for i := 0; i <= saturatedTicks; i++ {
			now = now.Add(tick)
			if s := p.step(now, 1.0, func() (times, bool) { return share(0.9)(int(now.UnixMilli() / 250)), true }); s != (i == saturatedTicks) {
				t.Fatalf("probe %d tick %d: spread = %v", probe, i, s)
			}
		}
		spreadAt := now
		for p.step(now.Add(tick), 1.8, nil) {
			now = now.Add(tick)
		}
		now = now.Add(tick)
		waits = append(waits, now.Sub(spreadAt))
	}
	want := []time.Duration{4, 8, 16, 32, 64, 64}
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Fatalf("waits before each probe = %v, want %v seconds", waits, want)
		}
	}
}

func TestPolicyConsolidatesAPodThatTurnsLight(t *testing.T) {
	p := newPolicy()
	start := time.Now()
	run(&p, start, 0, saturatedTicks+1, 1.0, share(0.95))
	if !p.spread {
		t.Fatal("not spread")
	}
	got, _ := run(&p, start, saturatedTicks+1, lightTicks, 0.2, nil)
	for i, s := range got[:lightTicks-1] {
		if !s {
			t.Fatalf("consolidated after %d light ticks, want %d", i+1, lightTicks)
		}
	}
	if got[lightTicks-1] {
		t.Fatalf("still spread after %d light ticks", lightTicks)
	}
	if p.backoff != minBackoff {
		t.Errorf("backoff %v after the pod turned light, want %v", p.backoff, minBackoff)
	}
}

func TestPolicyDoesNotJudgeTimesThatStepBack(t *testing.T) {
	p := newPolicy()
	got, _ := run(&p, time.Now(), 0, saturatedTicks+1, 1.0, func(i int) times {
		// A stub process exited during the run: the sums shrink.
		return times{application: uint64(1000 - 10*i), all: uint64(1000 - 5*i)}
	})
	if got[saturatedTicks] {
		t.Fatal("spread on times that stepped back")
	}
	// The sentry restarted its count (it cannot, but a daemon must not
	// trust it).
	p = newPolicy()
	got, _ = run(&p, time.Now(), 0, saturatedTicks+1, 1.0, func(i int) times {
		return times{all: uint64(25 * i), traps: uint64(1_000_000 - 1000*i), trapsKnown: true}
	})
	if got[saturatedTicks] {
		t.Fatal("spread on traps that stepped back")
	}
}

func TestPolicyUnreadableProcessesCountAsNotFull(t *testing.T) {
	p := newPolicy()
	for i := 0; i < 4*saturatedTicks; i++ {
		if p.step(time.Now(), 1.0, func() (times, bool) { return times{}, false }) {
			t.Fatal("spread without its processes' times")
		}
	}
}
