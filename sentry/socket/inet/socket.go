// Package inet implements AF_INET and AF_INET6 sockets (ip(7), ipv6(7),
// tcp(7), udp(7), and ICMP ping sockets) inside the sandbox, on the
// sandbox's user-space TCP/IP stack (package netstack). A Socket wraps one
// netstack endpoint and translates Linux's calls, options and errors.
//
// As in package unix, operations never block: where Linux would wait
// they return EAGAIN (EINPROGRESS for connect) and the caller
// (sentry/syscalls) waits on the socket's queue, interruptibly and with
// the socket's timeouts.
//
// Lock order:
//
//	Socket.readMu
//	  netstack's endpoint locks
//	    the writer's locks in RecvTo (a task's memory manager: TCP
//	    copies into it with the endpoint's user lock held, as Linux
//	    copies with the socket owned)
//	    netstack's waiter queue lock
//	      Socket.queue's lock (the bridge in notify)
//
// TCP reads SendFrom's payloader with no lock of the endpoint held.
package inet

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	gwaiter "gvisor.dev/gvisor/pkg/waiter"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/socket/netfilter"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// bindService reports whether the calling task may bind the ports below
// net.ipv4.ip_unprivileged_port_start (CAP_NET_BIND_SERVICE); the kernel
// sets it (SetBindServiceCheck). Without one, every caller may.
var bindService atomic.Pointer[func() bool]

// SetBindServiceCheck sets the function that tells whether the task whose
// system call runs on the calling thread has CAP_NET_BIND_SERVICE.
func SetBindServiceCheck(f func() bool) { bindService.Store(&f) }

func callerMayBindService() bool {
	f := bindService.Load()
	return f == nil || (*f)()
}

// Socket is one AF_INET or AF_INET6 socket; it is also the file
// implementation of its descriptors.
type Socket struct {
	stack    *netstack.Stack
	family   int
	typ      int
	protocol int
	// SocketAttrs are the socket's inode attributes (Stat, SetStat).
	synth.SocketAttrs

	// ep and wq are the netstack endpoint and its event queue; their
	// methods are safe for concurrent use.
	ep tcpip.Endpoint
	wq *gwaiter.Queue
	// bridge forwards wq's events to queue, where the sentry's waiters
	// (blocked calls, poll, epoll) register.
	bridge gwaiter.Entry
	queue  waiter.Queue

	// rcvTimeo and sndTimeo are SO_RCVTIMEO and SO_SNDTIMEO (0: none,
	// negative: never wait).
	rcvTimeo, sndTimeo atomic.Int64

	// readMu serializes receives, so that a MSG_PEEK and the read that
	// follows it see the same data, as Linux's socket lock ensures.
	readMu sync.Mutex

	// backlog is the accept queue's limit the last listen(2) set.
	backlog atomic.Int32

	// owner is what the socket's packets carry as their owner.
	owner *packetOwner

	// syn is set when the socket ended a handshake at its deadline
	// (syn_timeout.go).
	syn synTimeout

	// cmsg holds the cmsg* flags of the ancillary data recvmsg delivers
	// (cmsg.go); cmsgMu serializes its writers with the gVisor flags
	// they derive.
	cmsgMu sync.Mutex
	cmsg   atomic.Uint32

	// noPort is IP_BIND_ADDRESS_NO_PORT's state (bind_no_port.go).
	noPort deferredBind

	// rcvLowat is SO_RCVLOWAT (0: 1), which a stream socket's
	// readiness and blocking receives honour (RcvLowat); rcvbufLocked
	// is set once SO_RCVBUF fixed the receive buffer (SOCK_RCVBUF_LOCK).
	rcvLowat     atomic.Int32
	rcvbufLocked atomic.Bool

	// priority is SO_PRIORITY; fastOpenQueue is TCP_FASTOPEN's queue
	// length (sockopt.go says why neither acts); pmtud holds
	// IP_MTU_DISCOVER's and IPV6_MTU_DISCOVER's values plus one (0:
	// unset).
	priority, fastOpenQueue atomic.Int32
	pmtud                   [2]atomic.Int32
	// fastOpenConnect and fastOpenNoCookie are TCP_FASTOPEN_CONNECT and
	// TCP_FASTOPEN_NO_COOKIE (fastopen.go).
	fastOpenConnect, fastOpenNoCookie atomic.Bool
	// zerocopy is SO_ZEROCOPY; zc numbers and reports the sends it
	// makes MSG_ZEROCOPY ones (zerocopy.go).
	zerocopy atomic.Bool
	zc       zerocopyState
	// dontFrag is IPV6_DONTFRAG (dontfrag.go).
	dontFrag atomic.Bool
	// listenStopped is set while a listener is stopped, in TCP_CLOSE
	// for Linux (disconnect.go). listenMu serializes its changes with
	// the endpoint's (listen, stopping), as Linux's socket lock does;
	// readers load it without.
	listenMu      sync.Mutex
	listenStopped atomic.Bool
	// inq is TCP_INQ (tcp_inq.go).
	inq atomic.Bool
	// debug is SO_DEBUG; incomingCPU is SO_INCOMING_CPU's value plus
	// one (0: never set, which reads -1). Both are only reported
	// (sockopt.go).
	debug       atomic.Bool
	incomingCPU atomic.Int64
	// busyPoll holds SO_BUSY_POLL, SO_PREFER_BUSY_POLL and
	// SO_BUSY_POLL_BUDGET, which only round-trip (package sockopt says
	// why); txRehashOff is a TCP socket's SO_TXREHASH 0 (the flow label
	// is never rehashed: netstack sends none to rehash); selectErrQueue is
	// SO_SELECT_ERR_QUEUE (Readiness).
	busyPoll       [3]atomic.Int32
	txRehashOff    atomic.Bool
	selectErrQueue atomic.Bool

	// groups are the multicast groups the socket joined
	// (multicast.go).
	groups memberships

	// udp holds a UDP socket's SOL_UDP options (udp_segment.go).
	udp udpOptions

	// ctlMu is held for reading by every datagram write, and for
	// writing by one whose control message changes a socket option for
	// itself (cmsg_send.go).
	ctlMu sync.RWMutex
}

// Netfilter returns the ip_tables state of the socket's stack.
func (s *Socket) Netfilter() *netfilter.Tables {
	return netfilter.Of(s.stack)
}

// Backlog returns the limit of a listening socket's accept queue.
func (s *Socket) Backlog() int { return int(s.backlog.Load()) }

// protocols maps a socket type and protocol argument to a netstack
// transport protocol, as inet_create's protocol switch does.
func transport(family, typ, protocol int) (tcpip.TransportProtocolNumber, int, error) {
	switch typ {
	case linux.SOCK_STREAM:
		if protocol != 0 && protocol != linux.IPPROTO_TCP {
			return 0, 0, linux.EPROTONOSUPPORT
		}
		return tcp.ProtocolNumber, linux.IPPROTO_TCP, nil
	case linux.SOCK_DGRAM:
		switch protocol {
		case 0, linux.IPPROTO_UDP:
			return udp.ProtocolNumber, linux.IPPROTO_UDP, nil
		case linux.IPPROTO_ICMP:
			if family != linux.AF_INET {
				return 0, 0, linux.EPROTONOSUPPORT
			}
			return icmp.ProtocolNumber4, protocol, nil
		case linux.IPPROTO_ICMPV6:
			if family != linux.AF_INET6 {
				return 0, 0, linux.EPROTONOSUPPORT
			}
			return icmp.ProtocolNumber6, protocol, nil
		}
		return 0, 0, linux.EPROTONOSUPPORT
	case linux.SOCK_RAW:
		// Any protocol but IPPROTO_IP (inet_create); the caller
		// checked CAP_NET_RAW. IPPROTO_RAW sockets send whole IP
		// packets and receive nothing.
		if protocol <= 0 || protocol > 255 {
			return 0, 0, linux.EPROTONOSUPPORT
		}
		return tcpip.TransportProtocolNumber(protocol), protocol, nil
	}
	return 0, 0, linux.ESOCKTNOSUPPORT
}

// New returns a socket of the family (AF_INET or AF_INET6), type
// (SOCK_STREAM, SOCK_DGRAM or SOCK_RAW, without flags) and protocol,
// owned by uid and gid.
func New(st *netstack.Stack, family, typ, protocol int, uid, gid uint32) (*Socket, error) {
	tp, proto, err := transport(family, typ, protocol)
	if err != nil {
		return nil, err
	}
	np := ipv4.ProtocolNumber
	if family == linux.AF_INET6 {
		np = ipv6.ProtocolNumber
	}
	wq := &gwaiter.Queue{}
	var ep tcpip.Endpoint
	var terr tcpip.Error
	if typ == linux.SOCK_RAW {
		ep, terr = st.NewRawEndpoint(tp, np, wq, protocol != linux.IPPROTO_RAW)
		if _, unknown := terr.(*tcpip.ErrUnknownProtocol); unknown {
			// The stack has no such protocol to deliver.
			return nil, linux.EPROTONOSUPPORT
		}
	} else {
		ep, terr = st.NewEndpoint(tp, np, wq)
	}
	if terr != nil {
		return nil, errno(terr)
	}
	if family == linux.AF_INET6 && st.BindV6Only() {
		ep.SocketOptions().SetV6Only(true)
	}
	if tp == tcp.ProtocolNumber {
		// The namespace's net.ipv4.tcp_keepalive_* are a new
		// socket's TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
		idle, intvl, probes := st.Keepalive()
		// Linux's sysctls take 0 and negative times, which would
		// make gVisor's keepalive timer fire at once, over and over:
		// a second is the least TCP_KEEPIDLE and TCP_KEEPINTVL take.
		io, vo := tcpip.KeepaliveIdleOption(max(idle, time.Second)), tcpip.KeepaliveIntervalOption(max(intvl, time.Second))
		ep.SetSockOpt(&io)
		ep.SetSockOpt(&vo)
		ep.SetSockOptInt(tcpip.KeepaliveCountOption, max(probes, 1))
	}
	return wrap(st, family, typ, proto, ep, wq, uid, gid), nil
}

func wrap(st *netstack.Stack, family, typ, protocol int, ep tcpip.Endpoint, wq *gwaiter.Queue, uid, gid uint32) *Socket {
	s := &Socket{stack: st, family: family, typ: typ, protocol: protocol, ep: ep, wq: wq}
	s.InitSocketAttrs(uid, gid)
	// The owner match of the stack's packet filter matches the
	// packets of a socket by its opener's user and group, as Linux
	// does by the file's credentials.
	s.owner = &packetOwner{uid: uid, gid: gid}
	ep.SetOwner(s.owner)
	s.bridge.Init(bridge{s}, gwaiter.EventMask(^uint64(0)>>1))
	wq.EventRegister(&s.bridge)
	return s
}

// packetOwner is a socket's owner as its packets carry it.
type packetOwner struct {
	uid, gid uint32
	// dropped is set when the packet filter drops one of the socket's
	// packets on its way out.
	dropped atomic.Bool
}

// KUID implements tcpip.PacketOwner.
func (o *packetOwner) KUID() uint32 { return o.uid }

// KGID implements tcpip.PacketOwner.
func (o *packetOwner) KGID() uint32 { return o.gid }

// OutputDropped implements netfilter.DropListener.
func (o *packetOwner) OutputDropped() { o.dropped.Store(true) }

// bridge is the netstack listener that wakes the sentry's waiters.
type bridge struct{ s *Socket }

// NotifyEvent implements gwaiter.EventListener. netstack calls it with
// its queue locked; Notify only does non-blocking channel sends. Every
// waiter is woken whatever the event: netstack's event sets differ from
// what Readiness derives from them (a FIN is EventIn to netstack, also
// POLLRDHUP to poll), and a spurious wake-up only costs a re-check.
func (b bridge) NotifyEvent(gwaiter.EventMask) {
	b.s.queue.Notify(^uint32(0))
}

// Family returns AF_INET or AF_INET6.
func (s *Socket) Family() int { return s.family }

// Type returns SOCK_STREAM or SOCK_DGRAM.
func (s *Socket) Type() int { return s.typ }

// Protocol returns the IPPROTO_* number (SO_PROTOCOL).
func (s *Socket) Protocol() int { return s.protocol }

// isStream reports whether s is a TCP socket.
func (s *Socket) isStream() bool { return s.typ == linux.SOCK_STREAM }

// Readiness implements waiter.Waitable; netstack's endpoints compute it
// with Linux's tcp_poll and datagram_poll rules.
func (s *Socket) Readiness(mask uint32) uint32 {
	// netstack computes the read and write halves only when asked for
	// their main event (POLLRDHUP comes with the read half).
	r := uint32(s.ep.Readiness(gwaiter.EventMask(mask | waiter.EventIn | waiter.EventOut)))
	if s.ep.SocketOptions().PeekErr() != nil {
		// datagram_poll and tcp_poll: a queued error (or zerocopy
		// report) is POLLERR, and for datagram_poll POLLPRI too with
		// SO_SELECT_ERR_QUEUE (TCP's POLLPRI is urgent data).
		r |= waiter.EventErr
		if !s.isStream() && s.selectErrQueue.Load() {
			r |= waiter.EventPri
		}
	}
	if s.syn.pending.Load() {
		// A connection that timed out is writable and in error until
		// the error is taken, as tcp_poll reports sk_err.
		r |= waiter.EventOut | waiter.EventErr | waiter.EventHUp
	}
	if s.isStream() {
		// A TCP socket that never connected is in TCP_CLOSE without
		// SEND_SHUTDOWN: tcp_poll says writable, netstack does not.
		switch tcp.EndpointState(s.ep.State()) {
		case tcp.StateInitial, tcp.StateBound:
			r |= waiter.EventOut
		}
		if s.listenStopped.Load() {
			// tcp_poll of a socket in TCP_CLOSE.
			r = waiter.EventOut | waiter.EventHUp
		}
		if r&waiter.EventIn != 0 && !s.LowatReadable() {
			r &^= waiter.EventIn
		}
	}
	return r & mask
}

// RcvLowat returns SO_RCVLOWAT: the bytes a stream socket's blocking
// receive waits for (at most what it asks for), and that make it
// readable to poll (tcp_poll's tcp_stream_is_readable).
func (s *Socket) RcvLowat() int {
	return int(max(s.rcvLowat.Load(), 1))
}

// LowatReadable reports whether a stream socket is readable under
// SO_RCVLOWAT: the data queued reaches it, or no more
// will come (the peer shut down, the connection ended or failed), or it
// listens (a connection to accept).
func (s *Socket) LowatReadable() bool {
	lowat := s.RcvLowat()
	if lowat <= 1 || s.Listening() {
		return true
	}
	if q, terr := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption); terr == nil && q >= lowat {
		return true
	}
	end := uint32(s.ep.Readiness(gwaiter.EventRdHUp | gwaiter.EventHUp | gwaiter.EventErr))
	return end != 0
}

// EventRegister implements waiter.Waitable.
func (s *Socket) EventRegister(ch chan struct{}, mask uint32) { s.queue.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (s *Socket) EventUnregister(ch chan struct{}) { s.queue.EventUnregister(ch) }

// Close implements vfs.FileImpl.Close: netstack finishes the connection
// (FIN, or RST with unread data or SO_LINGER 0) in the background.
func (s *Socket) Close() error {
	s.wq.EventUnregister(&s.bridge)
	s.ep.Close()
	if s.isStream() {
		s.stack.NoteTCPClose()
	}
	// Waiters still registered (another thread in poll) see the close.
	s.queue.Notify(waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp)
	return nil
}

// IsStream implements vfs.Streamer: sockets have no position.
func (*Socket) IsStream() bool { return true }

// ReadAt implements vfs.FileImpl.ReadAt for the generic paths (splice,
// sendfile).
func (s *Socket) ReadAt(dst []byte, _ int64) (int, error) {
	res, err := s.Recv(dst, 0, false)
	return res.N, err
}

// WriteAt implements vfs.FileImpl.WriteAt for the generic paths.
func (s *Socket) WriteAt(src []byte, _ int64) (int, error) {
	return s.Send(src, nil, 0)
}

// Timeout returns SO_RCVTIMEO (rcv) or SO_SNDTIMEO; 0 is none, a
// negative value means not to wait at all.
func (s *Socket) Timeout(rcv bool) time.Duration {
	if rcv {
		return time.Duration(s.rcvTimeo.Load())
	}
	return time.Duration(s.sndTimeo.Load())
}

// SetTimeout sets SO_RCVTIMEO (rcv) or SO_SNDTIMEO.
func (s *Socket) SetTimeout(rcv bool, d time.Duration) {
	if rcv {
		s.rcvTimeo.Store(int64(d))
	} else {
		s.sndTimeo.Store(int64(d))
	}
}

// Ioctl implements vfs.Ioctler: SIOCINQ (FIONREAD) and SIOCOUTQ.
func (s *Socket) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	var opt tcpip.SockOptInt
	switch request {
	case linux.SIOCINQ:
		if s.isStream() && s.Listening() {
			return 0, linux.EINVAL
		}
		opt = tcpip.ReceiveQueueSizeOption
	case linux.SIOCOUTQ:
		if s.isStream() && s.Listening() {
			return 0, linux.EINVAL
		}
		opt = tcpip.SendQueueSizeOption
	default:
		return 0, linux.ENOTTY
	}
	n, terr := s.ep.GetSockOptInt(opt)
	if terr != nil {
		return 0, errno(terr)
	}
	if _, err := io.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(n))); err != nil {
		return 0, linux.EFAULT
	}
	return 0, nil
}

// Listening reports SO_ACCEPTCONN.
func (s *Socket) Listening() bool {
	return s.isStream() && tcp.EndpointState(s.ep.State()) == tcp.StateListen && !s.listenStopped.Load()
}
