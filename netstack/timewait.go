package netstack

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The TIME-WAIT limit (net.ipv4.tcp_max_tw_buckets).
//
// A connection the sandbox closes first stays in TIME-WAIT for a minute,
// as on Linux; but where Linux keeps a ~200-byte stand-in outside the
// pod's memory, gVisor keeps the whole endpoint, ~7 KiB, in the sentry's
// heap, which the pod's memory limit counts. A web server that closes a
// thousand connections a second holds 60,000 of them: ~400 MiB, twice
// that with the garbage collector's headroom, and a timer each for the
// runtime to sift through. Linux bounds the count
// (tcp_max_tw_buckets, which scales with memory) and, over it, closes the
// connection at once instead of keeping it (TCPTimeWaitOverflow); the
// stack does the same by giving connections that enter TIME-WAIT while the
// count is over the limit no TIME-WAIT at all. The count is the stack's
// connections past ESTABLISHED that are not closed yet (TIME-WAIT, and
// the few in the other closing states), checked as sockets close.

// timeWaitLimit is a stack's TIME-WAIT limit and state.
type timeWaitLimit struct {
	// max is net.ipv4.tcp_max_tw_buckets.
	max atomic.Int64
	// mu serializes changes of overflow with the protocol option they
	// set.
	mu sync.Mutex
	// overflow is set while connections that enter TIME-WAIT close at
	// once.
	overflow atomic.Bool
}

// NoteTCPClose is called when a TCP socket of the stack is closed: it
// turns TIME-WAIT off for the connections that enter it from now on while
// more than net.ipv4.tcp_max_tw_buckets are closing, and on again once
// fewer are.
func (s *Stack) NoteTCPClose() {
	over := s.ClosingConnections() >= s.timeWait.max.Load()
	if s.timeWait.overflow.Load() == over {
		return
	}
	s.timeWait.mu.Lock()
	defer s.timeWait.mu.Unlock()
	if s.timeWait.overflow.Load() == over {
		return
	}
	d := tcpip.TCPTimeWaitTimeoutOption(tcp.DefaultTCPTimeWaitTimeout)
	if over {
		d = 0
	}
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &d); err == nil {
		s.timeWait.overflow.Store(over)
	}
}

// ClosingConnections returns the stack's TCP connections past ESTABLISHED
// that are not closed yet: those in TIME-WAIT, mostly.
func (s *Stack) ClosingConnections() int64 {
	stats := s.Stats().TCP
	return int64(stats.CurrentConnected.Value()) - int64(stats.CurrentEstablished.Value())
}
