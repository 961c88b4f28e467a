package placement

import "time"

// The policy's constants. A tick is short enough that a pod which starts
// working hard is spread within about a second, long enough that reading
// the counters of every pod costs the node little.
const (
	tick = 250 * time.Millisecond
	// saturatedUse is the use of its one CPU, in CPUs over a tick, at
	// which a consolidated pod counts as filling it.
	saturatedUse = 0.9
	// saturatedTicks is how many ticks in a row a pod must fill its CPU
	// before its application share is judged.
	saturatedTicks = 4
	// applicationHeavy is the share of a saturated pod's CPU time spent
	// in application code above which it is spread.
	applicationHeavy = 0.7
	// trapHeavy is the rate of traps (the hand-offs of system calls
	// and faults to the sentry), per second of a saturated pod's CPU
	// time, above which it is spread although its time goes to the
	// sentry: at that rate the hand-offs themselves are what the pod
	// spends its CPU on. On one CPU each is a pair of context switches
	// between the stub and the sentry; on two they spin for each other
	// (a getppid round trip of 7.5-10 µs against 0.5-1.3 µs on the
	// development VM). Measured there, consolidated, in traps per
	// CPU-second: a loop of 512-byte dd copies 95-120k, and it ran 4-6x
	// faster spread, on the same one CPU of time; a TCP stream 14-34k
	// (either way), HTTP with a fork per request 21k, all faster
	// consolidated. The threshold sits between, 1.6x from either side.
	trapHeavy = 60_000
	// userHZ is the unit of /proc's CPU times: clock ticks a second.
	userHZ = 100
	// lightUse and lightTicks: a spread pod using less than lightUse
	// CPUs for lightTicks ticks in a row fits on one CPU again.
	lightUse   = 0.5
	lightTicks = 4
	// minBackoff and maxBackoff bound how long a spread pod runs before
	// it is consolidated again to see whether it still needs the CPUs.
	minBackoff = 4 * time.Second
	maxBackoff = 64 * time.Second
)

// times are cumulative CPU times of a pod's processes, in clock ticks.
type times struct {
	// application is the time spent running application code: the
	// user time of the platform's stub processes, and the guest time of
	// the sentry (KVM's vCPUs run application code as guest time).
	application uint64
	// all is the user and system time of all the pod's processes.
	all uint64
	// traps counts the hand-offs of the pod's tasks to its sentry
	// (system calls, faults), when trapsKnown: a sentry too old to
	// answer does not say.
	traps      uint64
	trapsKnown bool
}

// policy decides, tick by tick, whether one pod is consolidated on one
// CPU or spread over the CPUs it may use. It is a pure state machine so
// that its decisions can be tested with made-up figures; see the package
// documentation for the rules.
type policy struct {
	spread bool
	// full counts the consecutive saturated ticks of a consolidated pod;
	// base is its times at the first of them.
	full int
	base times
	// light counts the consecutive light ticks of a spread pod.
	light int
	// reprobe is when a spread pod is consolidated again to be judged
	// anew; backoff is the wait before the next such probe.
	reprobe time.Time
	backoff time.Duration
	// why says what the last spread was for, for the log.
	why string
}

func newPolicy() policy { return policy{backoff: minBackoff} }

// step takes the pod's CPU use over the tick that ended at now, in CPUs,
// and returns whether the pod is to be spread. read returns the pod's
// times; it is called only for a consolidated pod that fills its CPU, at
// the start and at the end of a run of full ticks, and false from it
// (the processes could not be read) counts as not full.
func (p *policy) step(now time.Time, use float64, read func() (times, bool)) bool {
	if p.spread {
		if use < lightUse {
			p.light++
		} else {
			p.light = 0
		}
		switch {
		case p.light >= lightTicks:
			// It fits on one CPU again: whatever it did before,
			// judge it from scratch.
			p.consolidate()
			p.backoff = minBackoff
		case !now.Before(p.reprobe):
			p.consolidate()
		}
		return p.spread
	}
	if use < saturatedUse {
		p.full = 0
		return false
	}
	// The times are read at the first full tick and at the last of the
	// run, saturatedTicks later.
	p.full++
	if p.full > 1 && p.full <= saturatedTicks {
		return false
	}
	t, ok := read()
	switch {
	case !ok:
		p.full = 0
		return false
	case p.full == 1:
		p.base = t
		return false
	}
	p.full = 0
	if t.all < p.base.all || t.application < p.base.application {
		return false // a process left: the run cannot be judged
	}
	app, all := t.application-p.base.application, t.all-p.base.all
	trapping := t.trapsKnown && p.base.trapsKnown && t.traps >= p.base.traps &&
		float64(t.traps-p.base.traps)*userHZ >= trapHeavy*float64(all)
	switch {
	case all == 0:
		return false
	case float64(app) >= applicationHeavy*float64(all):
		p.why = "application code"
	case trapping:
		p.why = "system calls"
	default:
		// Its time goes to the sentry in hand-offs that wait: a
		// chain that runs faster on one CPU however busy it is.
		p.backoff = minBackoff
		return false
	}
	p.spread, p.light = true, 0
	p.reprobe = now.Add(p.backoff)
	p.backoff = min(2*p.backoff, maxBackoff)
	return true
}

func (p *policy) consolidate() {
	p.spread, p.full, p.light = false, 0, 0
}
