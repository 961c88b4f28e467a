package systrap

import (
	"sync"
	"time"
)

// stubSpinBudget is how long a stub thread polls for the sentry's answer
// before it sleeps on the futex. The stub counts PAUSE instructions, whose
// latency differs forty-fold between CPUs (a few cycles on older AMD cores,
// ~140 on recent Intel ones), so the count is calibrated once per process:
// a fixed count that spins 20 µs on one machine gives up after 1 µs on
// another, and then every system call pays a futex wake-up.
const stubSpinBudget = 20 * time.Microsecond

// Bounds of the calibrated count: a host that runs PAUSE absurdly fast or
// slow (or a measurement preempted throughout) still spins a sane while.
const (
	minStubSpin = 200
	maxStubSpin = 1 << 20
)

var calibrateOnce sync.Once

// pauseLoop executes PAUSE n times (pause_amd64.s).
func pauseLoop(n uint32)

// calibrateStubSpin sets stubSpin to the PAUSE count that takes about
// stubSpinBudget on this CPU. The fastest of a few rounds is taken, since
// preemption only ever makes a round slower.
func calibrateStubSpin() {
	calibrateOnce.Do(func() {
		const n = 4096
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			pauseLoop(n)
			if d := time.Since(start); d < best {
				best = d
			}
		}
		if best <= 0 {
			stubSpin = maxStubSpin
			return
		}
		stubSpin = int(min(max(int64(stubSpinBudget)*n/int64(best), minStubSpin), maxStubSpin))
	})
}
