package kernel

import (
	"math"
	"testing"
	"time"
)

// TestCalcLoad checks the fixed-point arithmetic against values Linux's
// calc_load gives: one busy task's first sample reads 0.08 in the 1-minute
// average, a constant load converges exactly, an idle one decays to zero.
func TestCalcLoad(t *testing.T) {
	if got := calcLoad(0, loadExp1, loadFixed1); got != 164 {
		t.Errorf("first 1-min sample of one task = %d, want 164", got)
	}
	if got := calcLoad(0, loadExp5, loadFixed1); got != 34 {
		t.Errorf("first 5-min sample = %d, want 34", got)
	}
	if got := calcLoad(0, loadExp15, loadFixed1); got != 11 {
		t.Errorf("first 15-min sample = %d, want 11", got)
	}
	load := uint64(0)
	for range 12 { // one minute
		load = calcLoad(load, loadExp1, loadFixed1)
	}
	// 1 - 1/e of the way up, give or take the rounding.
	if load < 1280 || load > 1310 {
		t.Errorf("1-min average after a minute of one task = %d (%.2f), want about 0.63", load, float64(load)/loadFixed1)
	}
	for range 1000 {
		load = calcLoad(load, loadExp1, loadFixed1)
	}
	if load != loadFixed1 {
		t.Errorf("constant load of one task converges to %d, want %d", load, loadFixed1)
	}
	for range 1000 {
		load = calcLoad(load, loadExp1, 0)
	}
	if load != 0 {
		t.Errorf("idle load decays to %d, want 0", load)
	}
}

// TestCalcLoadN checks that folding n idle samples at once decays the load
// by exp**n, to within the rounding Linux's fixed_power_int has.
func TestCalcLoadN(t *testing.T) {
	if got := fixedPowerInt(loadExp1, loadFShift, 0); got != loadFixed1 {
		t.Errorf("x**0 = %d, want %d", got, loadFixed1)
	}
	if got := fixedPowerInt(loadExp1, loadFShift, 1); got != loadExp1 {
		t.Errorf("x**1 = %d, want %d", got, loadExp1)
	}
	if got := fixedPowerInt(1024, loadFShift, 3); got != 256 {
		t.Errorf("0.5**3 = %d, want 256", got)
	}
	const start = 3 * loadFixed1
	for _, exp := range loadExps {
		for _, n := range []uint64{1, 2, 3, 7, 12, 60, 180} {
			exact := start * math.Pow(float64(exp)/loadFixed1, float64(n))
			got := calcLoadN(start, exp, 0, n)
			if math.Abs(float64(got)-exact) > start/100 {
				t.Errorf("exp %d, %d idle samples at once: %d, want about %.0f", exp, n, got, exact)
			}
		}
	}
}

// TestLoadAverageSampling drives the sampler with a fake clock: samples
// follow the 5-second grid, the sampler stops when it sees no active
// task, and the idle samples it then skips are folded in when the
// averages are read.
func TestLoadAverageSampling(t *testing.T) {
	t0 := time.Unix(1000, 0)
	now := t0
	l := &loadAverage{now: func() time.Time { return now }}
	l.mu.Lock()
	l.catchUpLocked(now)
	l.mu.Unlock()
	if want := t0.Add(loadFreq); !l.next.Equal(want) {
		t.Fatalf("first sample due at %v, want %v", l.next, want)
	}
	// A minute with two active tasks, sampled on time.
	l.sampling.Store(true)
	l.active.Store(2)
	for range 12 {
		now = now.Add(loadFreq)
		l.mu.Lock()
		l.takeSamplesLocked(now, 2)
		l.mu.Unlock()
	}
	busy := l.averages()
	if busy[0] < 2*1280 || busy[0] > 2*1310 || !(busy[0] > busy[1] && busy[1] > busy[2]) {
		t.Fatalf("averages after a busy minute = %v", busy)
	}
	// The tasks sleep; the next sample sees none and stops the sampler
	// without re-arming it.
	l.active.Store(0)
	now = now.Add(loadFreq)
	l.sample()
	if l.sampling.Load() || l.timer != nil {
		t.Fatalf("sampler still running with no active task")
	}
	afterOne := l.averages()
	// A minute later, reading folds in the 12 idle samples.
	now = now.Add(12 * loadFreq)
	idle := l.averages()
	want := afterOne
	for i := range want {
		for range 12 {
			want[i] = calcLoad(want[i], loadExps[i], 0)
		}
		if d := int64(idle[i]) - int64(want[i]); d < -20 || d > 20 {
			t.Errorf("average %d after an idle minute = %d, want about %d", i, idle[i], want[i])
		}
	}
	if !l.next.After(now) || l.next.Sub(now) > loadFreq {
		t.Errorf("next sample at %v, now %v", l.next, now)
	}
	// Reading again at the same time changes nothing.
	if again := l.averages(); again != idle {
		t.Errorf("averages changed without time passing: %v, then %v", idle, again)
	}
}

// TestLoadAverageRestart checks that a task becoming active after an idle
// period restarts the sampler on the grid, the idle samples folded in.
func TestLoadAverageRestart(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &loadAverage{now: func() time.Time { return now }, avenrun: [3]uint64{loadFixed1, loadFixed1, loadFixed1}}
	l.next = now
	now = now.Add(3*loadFreq + time.Second)
	l.taskActive()
	defer func() {
		l.mu.Lock()
		l.timer.Stop()
		l.mu.Unlock()
	}()
	if !l.sampling.Load() {
		t.Fatal("sampler not started")
	}
	if want := time.Unix(1000, 0).Add(4 * loadFreq); !l.next.Equal(want) {
		t.Errorf("next sample at %v, want %v", l.next, want)
	}
	l.mu.Lock()
	got := l.avenrun[0]
	l.mu.Unlock()
	want := uint64(loadFixed1)
	for range 4 {
		want = calcLoad(want, loadExp1, 0)
	}
	if d := int64(got) - int64(want); d < -8 || d > 8 {
		t.Errorf("1-min average after 4 idle samples = %d, want about %d", got, want)
	}
	if n := l.active.Load(); n != 1 {
		t.Errorf("active = %d, want 1", n)
	}
}
