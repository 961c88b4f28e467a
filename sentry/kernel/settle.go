package kernel

import (
	"sync"
	"time"
)

// processSettle tracks whether a process the daemon started has settled:
// one of its threads has waited in the sentry for the first time (a sleep, a read with
// nothing to read, a wait for a child) or exited. By then a program has
// normally run its start-up code, including the sigaction calls that
// install its handlers for SIGTERM and friends.
//
// A stop that arrives a moment after a start would otherwise find an init
// with no handler yet, and Linux discards such a signal to a namespace's
// init: the stop then takes its whole grace period although the program
// is written to stop at once. Natively the window is a few hundred
// microseconds and runtimes win that race; in the sandbox a program's
// start-up is slower, so the sender waits for it (AwaitSettled).
type processSettle struct {
	// start is when the process was started; immutable.
	start time.Time
	once  sync.Once
	// done is closed once the process has settled.
	done chan struct{}
}

func newProcessSettle() *processSettle {
	return &processSettle{start: time.Now(), done: make(chan struct{})}
}

func (s *processSettle) mark() {
	if s != nil {
		s.once.Do(func() { close(s.done) })
	}
}

// AwaitSettled waits until tg, a process started by StartProcess, has
// first waited in the sentry or exited, or until its start-up grace has
// passed: at most grace after it started. It returns at once for other
// processes.
func (tg *ThreadGroup) AwaitSettled(grace time.Duration) {
	s := tg.settle
	if s == nil {
		return
	}
	left := grace - time.Since(s.start)
	if left <= 0 {
		return
	}
	timer := time.NewTimer(left)
	defer timer.Stop()
	select {
	case <-s.done:
	case <-tg.exited:
	case <-timer.C:
	}
}
