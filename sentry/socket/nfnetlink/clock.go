package nfnetlink

import (
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// The interpreter's connection tracking runs a reaper on a timer that
// re-arms itself every second for as long as the process lives, and
// nothing outside gVisor can stop it. Its timers come from the clock the
// rule set is made with, so the rule set gets this one: once the network
// namespace is gone (Close), a timer that fires does nothing and is not
// re-armed.

// stoppableClock is a tcpip.Clock whose timers all end at stop.
type stoppableClock struct {
	tcpip.Clock
	stopped atomic.Bool
}

// AfterFunc implements tcpip.Clock.
func (c *stoppableClock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	return &stoppableTimer{c: c, Timer: c.Clock.AfterFunc(d, func() {
		if !c.stopped.Load() {
			f()
		}
	})}
}

// stop ends every timer of the clock at its next firing.
func (c *stoppableClock) stop() { c.stopped.Store(true) }

// stoppableTimer is a timer of a stoppableClock.
type stoppableTimer struct {
	tcpip.Timer
	c *stoppableClock
}

// Reset implements tcpip.Timer: a stopped clock's timers stay stopped.
func (t *stoppableTimer) Reset(d time.Duration) {
	if t.c.stopped.Load() {
		return
	}
	t.Timer.Reset(d)
}
