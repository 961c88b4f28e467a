package inet

import (
	"sync"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// MSG_ZEROCOPY (Documentation/networking/msg_zerocopy.rst). A TCP or UDP
// socket with SO_ZEROCOPY set numbers each send(2) flagged MSG_ZEROCOPY
// that sends data, from 0, and reports through its error queue, with
// SO_EE_ORIGIN_ZEROCOPY, the ranges of those whose buffers the kernel no
// longer uses: until then the program must not write to them. The
// sandbox copies every send (the sentry cannot lend the application's
// pages to netstack), so each is done as it returns, and reported so at
// once with SO_EE_CODE_ZEROCOPY_COPIED, the code Linux gives a send it
// had to copy after all (over loopback, say). A program learns from it
// that zerocopy buys it nothing here, as it would on such a route.
//
// Like Linux (skb_zerocopy_notify_extend), a report still queued takes in
// the next send's number instead of a new one being queued, so a program
// that reads the queue seldom finds one report of a range, and the queue
// stays short. Linux extends only a report at the queue's tail; here the
// last report is extended even if netstack queued an ICMP error behind
// it since, which moves no send's report before that error's.
//
// Without SO_ZEROCOPY, MSG_ZEROCOPY is ignored, as in Linux.

const (
	// eeOriginZerocopy is SO_EE_ORIGIN_ZEROCOPY.
	eeOriginZerocopy = 5
	// eeCodeZerocopyCopied is SO_EE_CODE_ZEROCOPY_COPIED.
	eeCodeZerocopyCopied = 1
)

// zerocopyState numbers a socket's zerocopy sends and reports them.
type zerocopyState struct {
	// mu protects next, last and the hi of the report last points to.
	mu sync.Mutex
	// next is the number of the next zerocopy send (sk_zckey).
	next uint32
	// last is the report queued last, nil once RecvErr took it.
	last *zerocopyReport
}

// zerocopyReport is the cause of a report: sends lo to hi are done.
type zerocopyReport struct {
	lo uint32
	// hi is guarded by zerocopyState.mu: it grows while the report is
	// queued.
	hi uint32
}

// Origin implements tcpip.SockErrorCause.
func (*zerocopyReport) Origin() tcpip.SockErrOrigin { return eeOriginZerocopy }

// Type implements tcpip.SockErrorCause.
func (*zerocopyReport) Type() uint8 { return 0 }

// Code implements tcpip.SockErrorCause.
func (*zerocopyReport) Code() uint8 { return eeCodeZerocopyCopied }

// Info implements tcpip.SockErrorCause: the first send of the range.
func (r *zerocopyReport) Info() uint32 { return r.lo }

// zerocopyAllowed reports whether SO_ZEROCOPY may be set on the socket:
// TCP and UDP only (sk_setsockopt).
func (s *Socket) zerocopyAllowed() bool {
	return s.isStream() || (s.typ == linux.SOCK_DGRAM && s.protocol == linux.IPPROTO_UDP)
}

// ZerocopySent reports a send(2) with MSG_ZEROCOPY that sent data: with
// SO_ZEROCOPY on, it takes the next number and reports it done.
func (s *Socket) ZerocopySent() {
	if !s.zerocopy.Load() {
		return
	}
	z := &s.zc
	z.mu.Lock()
	id := z.next
	z.next++
	if r := z.last; r != nil && r.hi+1 == id && r.hi-r.lo < ^uint32(0)-1 {
		r.hi = id
		z.mu.Unlock()
		return
	}
	r := &zerocopyReport{lo: id, hi: id}
	z.last = r
	// Queued under mu, so that a later send sees it queued.
	s.ep.SocketOptions().QueueErr(&tcpip.SockError{Cause: r})
	z.mu.Unlock()
	s.queue.Notify(waiter.EventErr)
}

// takeZerocopy returns the range of report r, which RecvErr has just
// taken off the queue: it grows no more.
func (s *Socket) takeZerocopy(r *zerocopyReport) (lo, hi uint32) {
	z := &s.zc
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.last == r {
		z.last = nil
	}
	return r.lo, r.hi
}

// zerocopyControl encodes report lo-hi as errControl does an error:
// struct sock_extended_err with no errno, SO_EE_CODE_ZEROCOPY_COPIED,
// ee_info lo and ee_data hi, then no offender (ip_recv_error zeroes it).
func (s *Socket) zerocopyControl(lo, hi uint32) []byte {
	b := make([]byte, sizeofSockExtendedErr, sizeofSockExtendedErr+sizeofSockaddrIn6)
	b[4] = eeOriginZerocopy
	b[6] = eeCodeZerocopyCopied
	le.PutUint32(b[8:], lo)
	le.PutUint32(b[12:], hi)
	return s.recvErrControl(b, nil)
}
