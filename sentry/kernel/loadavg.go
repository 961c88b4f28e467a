package kernel

import (
	"sync"
	"sync/atomic"
	"time"
)

// Load averages (/proc/loadavg), computed as Linux's
// kernel/sched/loadavg.c does: every 5 seconds the number of active tasks
// is sampled and folded into three exponentially-damped moving averages,
// in 11-bit fixed point, with the same constants and rounding.
//
// A task is active (Linux's nr_running + nr_uninterruptible) from the
// start of its goroutine to its end, except while it sleeps
// interruptibly in Task.BlockUntil or is stopped by job control: running
// application code, serving a system call, or waiting on the host (a read
// through the gofer, like Linux's disk wait) all count, as does a vfork
// parent, which Linux also waits for uninterruptibly.
//
// Sampling costs nothing while the pod is idle: the 5-second timer runs
// only while some task is active. When the last sample saw no active
// task the timer is not re-armed, and the samples missed while idle,
// which would all have read zero, are folded in at once (Linux's
// calc_load_n for NO_HZ idle) when a task becomes active again or the
// file is read. A task becoming active costs one atomic add, plus a
// lock only on the transition out of idleness.

// Fixed-point constants of kernel/sched/loadavg.c.
const (
	loadFShift = 11
	loadFixed1 = 1 << loadFShift
	// loadExp[i] is 1/exp(5 s / 1, 5, 15 minutes) in fixed point.
	loadExp1  = 1884
	loadExp5  = 2014
	loadExp15 = 2037
	// loadFreq is the sampling period (LOAD_FREQ).
	loadFreq = 5 * time.Second
)

var loadExps = [3]uint64{loadExp1, loadExp5, loadExp15}

// loadAverage keeps the kernel's load averages; its zero value is ready.
type loadAverage struct {
	// active is the number of active tasks.
	active atomic.Int64
	// sampling is set while the sampler timer is armed; written under mu,
	// read without it on a task's way out of a sleep.
	sampling atomic.Bool

	// mu protects the fields below.
	mu sync.Mutex
	// avenrun are the 1, 5 and 15-minute averages, fixed point.
	avenrun [3]uint64
	// next is when the next sample is due; zero until a task first ran.
	next time.Time
	// timer runs sample; armed only while sampling.
	timer *time.Timer
	// now reads the clock (replaced by tests).
	now func() time.Time
}

// taskActive counts a task that starts or stops sleeping.
func (l *loadAverage) taskActive() {
	if l.active.Add(1) == 1 && !l.sampling.Load() {
		l.startSampling()
	}
}

// taskInactive uncounts a task that sleeps or ends.
func (l *loadAverage) taskInactive() { l.active.Add(-1) }

func (l *loadAverage) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// startSampling arms the sampler after an idle period, first folding in
// the samples that period missed.
func (l *loadAverage) startSampling() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sampling.Load() {
		return
	}
	now := l.clock()
	l.catchUpLocked(now)
	l.sampling.Store(true)
	l.armLocked(l.next.Sub(now))
}

// armLocked (re)starts the sampler timer.
//
// Preconditions: l.mu is held.
func (l *loadAverage) armLocked(d time.Duration) {
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.sample)
	} else {
		l.timer.Reset(d)
	}
}

// catchUpLocked folds in the samples due by now while no task was active,
// or starts the sampling grid at the first call.
//
// Preconditions: l.mu is held; sampling is not running.
func (l *loadAverage) catchUpLocked(now time.Time) {
	if l.next.IsZero() {
		l.next = now.Add(loadFreq)
		return
	}
	if now.Before(l.next) {
		return
	}
	n := uint64(now.Sub(l.next)/loadFreq) + 1
	for i := range l.avenrun {
		l.avenrun[i] = calcLoadN(l.avenrun[i], loadExps[i], 0, n)
	}
	l.next = l.next.Add(time.Duration(n) * loadFreq)
}

// sample is the sampler timer: it takes the samples due, and stops when
// no task is active.
func (l *loadAverage) sample() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.sampling.Load() {
		return
	}
	now := l.clock()
	active := uint64(max(l.active.Load(), 0))
	l.takeSamplesLocked(now, active)
	if active == 0 {
		l.sampling.Store(false)
		// A task that became active before the store saw sampling
		// set and left the restart to us.
		if l.active.Load() == 0 {
			return
		}
		l.sampling.Store(true)
	}
	l.armLocked(l.next.Sub(now))
}

// takeSamplesLocked folds in the samples due by now (one, unless the
// timer ran late), with active tasks.
//
// Preconditions: l.mu is held.
func (l *loadAverage) takeSamplesLocked(now time.Time, active uint64) {
	for !now.Before(l.next) {
		for i := range l.avenrun {
			l.avenrun[i] = calcLoad(l.avenrun[i], loadExps[i], active*loadFixed1)
		}
		l.next = l.next.Add(loadFreq)
	}
}

// averages returns the 1, 5 and 15-minute load averages in fixed point.
func (l *loadAverage) averages() [3]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.sampling.Load() && !l.next.IsZero() {
		l.catchUpLocked(l.clock())
	}
	return l.avenrun
}

// calcLoad folds one sample of active (fixed point) into load, rounding
// up while the load rises (Linux's calc_load).
func calcLoad(load, exp, active uint64) uint64 {
	newLoad := load*exp + active*(loadFixed1-exp)
	if active >= load {
		newLoad += loadFixed1 - 1
	}
	return newLoad / loadFixed1
}

// calcLoadN folds n samples of the same active value (Linux's
// calc_load_n).
func calcLoadN(load, exp, active, n uint64) uint64 {
	return calcLoad(load, fixedPowerInt(exp, loadFShift, n), active)
}

// fixedPowerInt is x**n in fixed point with fracBits fractional bits,
// rounding each step (Linux's fixed_power_int).
func fixedPowerInt(x uint64, fracBits uint, n uint64) uint64 {
	result := uint64(1) << fracBits
	for n != 0 {
		if n&1 != 0 {
			result = (result*x + 1<<(fracBits-1)) >> fracBits
		}
		n >>= 1
		if n == 0 {
			break
		}
		x = (x*x + 1<<(fracBits-1)) >> fracBits
	}
	return result
}

// LoadAverages returns the 1, 5 and 15-minute load averages in Linux's
// fixed point (FSHIFT 11 bits of fraction), and the number of tasks
// active now.
func (k *Kernel) LoadAverages() (avenrun [3]uint64, active int) {
	return k.load.averages(), int(max(k.load.active.Load(), 0))
}
