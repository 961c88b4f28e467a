package inet

// The handshake's deadline. gVisor's TCP retransmits a SYN until its RTO
// would pass 120 s, whatever TCP_SYNCNT or net.ipv4.tcp_syn_retries
// say: 127 s, which is Linux's deadline for its default of 6
// retransmissions. For fewer, the socket ends the handshake itself at
// Linux's deadline and reports ETIMEDOUT, as tcp_write_timeout does; for
// more, gVisor gives up at 127 s all the same.

import (
	"sync/atomic"
	"time"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// stackSynRetries is the number of SYN retransmissions after which
// gVisor's handshake gives up (its backoff reaching the 120 s RTO cap,
// as Linux's linear_backoff_thresh does).
const stackSynRetries = 6

// synDeadline is tcp_model_timeout for n (< 7) SYN retransmissions from
// the initial RTO of 1 s: 1 + 2 + ... + 2^n seconds.
func synDeadline(n int) time.Duration { return time.Duration(2<<n-1) * time.Second }

// synTimeout is the state of a handshake the socket ended.
type synTimeout struct {
	// expired is set when the deadline ended the handshake; pending
	// while its ETIMEDOUT has not been reported (by connect or
	// SO_ERROR).
	expired, pending atomic.Bool
}

// armSynDeadline starts the deadline of a handshake that connect began.
func (s *Socket) armSynDeadline() {
	n, terr := s.ep.GetSockOptInt(tcpip.TCPSynCountOption)
	if terr != nil || n >= stackSynRetries {
		return
	}
	time.AfterFunc(synDeadline(n), s.synExpired)
}

// synExpired ends a handshake still waiting for its SYN-ACK.
func (s *Socket) synExpired() {
	if tcp.EndpointState(s.ep.State()) != tcp.StateSynSent {
		return
	}
	s.syn.expired.Store(true)
	s.syn.pending.Store(true)
	s.ep.Abort()
	s.queue.Notify(waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp)
}

// takeSynError returns ETIMEDOUT once after the deadline ended the
// handshake.
func (s *Socket) takeSynError() linux.Errno {
	if s.syn.pending.Swap(false) {
		return linux.ETIMEDOUT
	}
	return 0
}
