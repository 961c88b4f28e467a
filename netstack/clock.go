package netstack

import (
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/cocoonrt/cocoon/internal/monotime"
)

// The stack's clock: gVisor's standard one, with long timers batched.
//
// Every TCP connection closed into TIME-WAIT keeps a timer that fires a
// minute later, each at its own instant. An idle sentry then wakes once per
// expiry (the runtime's poller returns for the timer, the timer's goroutine
// wakes a second thread), which on a virtual machine costs about as much
// CPU as the connection did: measured after 9,000 connections in 5 s
// (TestReportNet's connect client, held open), the next 75 idle seconds
// took 2.8 s of the pod's CPU against 3.4 s for the connections
// themselves, and 3 ms with net.ipv4.tcp_max_tw_buckets=0.
//
// Linux keeps its timers in a wheel whose slots grow coarser with the
// timeout (a minute's timer fires within 4 s after its time), and expires
// a slot's timers together. coarseClock does the same for every timer of
// coarseFrom or more: it fires at the next multiple of coarseGrain on the
// monotonic clock, so timers set within the same 64 ms slot fire on the
// same wake-up. Shorter timers (delayed ACKs, most retransmissions, ARP
// and NDP probes) are left exact. gVisor's TCP timers check the time when
// they fire and only ever act once their own deadline has passed, so a
// later firing is safe; an earlier one never happens.
const (
	coarseFrom  = time.Second
	coarseGrain = 64 * time.Millisecond
)

// coarseClock is a tcpip.Clock whose long timers fire in batches.
type coarseClock struct {
	tcpip.Clock
}

// AfterFunc implements tcpip.Clock.AfterFunc.
func (c coarseClock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	return coarseTimer{c.Clock.AfterFunc(coarsen(monotime.Now(), d), f)}
}

// coarseTimer is a timer of coarseClock.
type coarseTimer struct {
	tcpip.Timer
}

// Reset implements tcpip.Timer.Reset.
func (t coarseTimer) Reset(d time.Duration) {
	t.Timer.Reset(coarsen(monotime.Now(), d))
}

// coarsen returns the delay, from now, to the end of the coarseGrain slot
// that a timer of d set at now falls in, or d itself for a short one.
func coarsen(now, d time.Duration) time.Duration {
	if d < coarseFrom {
		return d
	}
	due := now + d
	if r := due % coarseGrain; r != 0 {
		due += coarseGrain - r
	}
	return due - now
}
