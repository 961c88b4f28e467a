package netstack

import (
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

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
//
// Short timers get the slack Linux gives them. gVisor arms its tail loss
// probe (RACK-TLP) at twice the smoothed RTT and its RACK reordering timer
// at the RTT plus a fraction, both exact; Linux arms them in jiffies plus
// TCP_TIMEOUT_MIN, two jiffies (8 ms with Debian's HZ=250), because an ACK
// may wait that long to be processed while nothing is lost. In a sentry it
// waits more often: the ACK sits in the link's queue while the pod's one
// CPU runs the application's writes. Measured (tcpdump on the host's end,
// pod → host TCP), the pod's probes retransmitted data the host had
// acknowledged 0.3-2.8 ms before; each brought back a DSACK that gVisor
// took for a loss, 13-76 spurious recoveries in a 2 s stream, and a
// stream at 1-6 Gbit/s where runs without them made 10-15. So every timer
// shorter than the minimum RTO (only those two, among TCP's) fires
// tcpTimeoutMin later; the others are unchanged. An immediate one (0)
// stays immediate.
const (
	coarseFrom    = time.Second
	coarseGrain   = 64 * time.Millisecond
	tcpTimeoutMin = 8 * time.Millisecond
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
// that a timer of d set at now falls in, or for a shorter one d itself, or
// d plus tcpTimeoutMin for one shorter than tcp.MinRTO.
func coarsen(now, d time.Duration) time.Duration {
	if d > 0 && d < tcp.MinRTO {
		return d + tcpTimeoutMin
	}
	if d < coarseFrom {
		return d
	}
	due := now + d
	if r := due % coarseGrain; r != 0 {
		due += coarseGrain - r
	}
	return due - now
}
