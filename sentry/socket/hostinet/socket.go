// Package hostinet implements AF_INET and AF_INET6 sockets of pods with
// hostNetwork: true by host sockets the sentry creates, in the host
// network namespace the sentry runs in for such pods. It is the
// documented reduced-isolation mode (DESIGN.md §5): the sandbox's
// programs use the node's interfaces, addresses and ports, and the host
// kernel's TCP/IP stack parses their packets.
//
// What still holds: the sandbox reaches the host only through the
// operations here. Sockets are TCP, UDP or ICMP ping sockets (no raw or
// packet sockets); setsockopt and getsockopt pass through only a vetted
// list of options (nothing that needs host privileges or names host
// devices: no SO_BINDTODEVICE, SO_MARK, IP_TRANSPARENT, *BUFFORCE, BPF
// filters); no ancillary data; ioctls only FIONREAD and SIOCOUTQ;
// addresses are copied in and out as bytes and checked by the host
// kernel, which knows only the sentry's own (unprivileged) credentials.
//
// As in package inet, operations never block: the host descriptor is
// non-blocking, EAGAIN (EINPROGRESS for connect) goes back to the
// syscall layer, which waits on the socket's queue, woken by the
// package's epoll notifier (notifier.go).
//
// Lock order: Socket.readMu, then notifier.mu, then the waiter queue's.
package hostinet

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// maxSockaddr is sizeof(struct sockaddr_storage).
const maxSockaddr = 128

// Socket is one host-backed AF_INET or AF_INET6 socket; it is also the
// file implementation of its descriptors.
type Socket struct {
	// fd is the host socket, non-blocking and close-on-exec; it is
	// immutable until Close.
	fd       int32
	family   int
	typ      int
	protocol int
	// SocketAttrs are the socket's inode attributes (Stat, SetStat).
	synth.SocketAttrs

	// queue is where the sentry's waiters register; the notifier wakes
	// it on every readiness change of fd.
	queue waiter.Queue
	// notifier is the sentry's epoll notifier fd is registered with.
	notifier *notifier

	// rcvTimeo and sndTimeo are SO_RCVTIMEO and SO_SNDTIMEO (0: none,
	// negative: never wait), kept in the sentry: the host descriptor
	// never waits.
	rcvTimeo, sndTimeo atomic.Int64

	// readMu serializes receives, so that a MSG_PEEK and the read that
	// follows see the same data, as Linux's socket lock ensures for one
	// socket and the host does not across the sentry's two calls.
	readMu sync.Mutex

	// cmsgOn is set once an option that asks for ancillary data was
	// turned on (cmsg.go); receives then ask the host for it.
	cmsgOn atomic.Bool
}

// protocolOf checks the type and protocol as inet does (TCP, UDP and
// ICMP ping sockets; no raw sockets) and returns the IPPROTO_* number.
func protocolOf(family, typ, protocol int) (int, error) {
	switch typ {
	case unix.SOCK_STREAM:
		if protocol != 0 && protocol != unix.IPPROTO_TCP {
			return 0, unix.EPROTONOSUPPORT
		}
		return unix.IPPROTO_TCP, nil
	case unix.SOCK_DGRAM:
		switch {
		case protocol == 0 || protocol == unix.IPPROTO_UDP:
			return unix.IPPROTO_UDP, nil
		case protocol == unix.IPPROTO_ICMP && family == unix.AF_INET,
			protocol == unix.IPPROTO_ICMPV6 && family == unix.AF_INET6:
			return protocol, nil
		}
		return 0, unix.EPROTONOSUPPORT
	case unix.SOCK_RAW:
		// Raw sockets would need CAP_NET_RAW on the host, which the
		// sentry does not have and must not be given.
		return 0, unix.EPROTONOSUPPORT
	}
	return 0, unix.ESOCKTNOSUPPORT
}

// New returns a host socket of the family (AF_INET or AF_INET6), type
// (SOCK_STREAM or SOCK_DGRAM, without flags) and protocol, owned by uid
// and gid in the sandbox.
func New(family, typ, protocol int, uid, gid uint32) (*Socket, error) {
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return nil, unix.EAFNOSUPPORT
	}
	proto, err := protocolOf(family, typ, protocol)
	if err != nil {
		return nil, err
	}
	n, err := getNotifier()
	if err != nil {
		return nil, unix.ENOBUFS
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, hostErr(err)
	}
	return wrap(n, fd, family, typ, proto, uid, gid)
}

// wrap makes a Socket of the host descriptor fd, which it owns (closed
// on failure).
func wrap(n *notifier, fd, family, typ, protocol int, uid, gid uint32) (*Socket, error) {
	s := &Socket{fd: int32(fd), family: family, typ: typ, protocol: protocol, notifier: n}
	s.InitSocketAttrs(uid, gid)
	if err := n.add(s.fd, &s.queue); err != nil {
		unix.Close(fd)
		return nil, unix.ENOBUFS
	}
	return s, nil
}

// hostErr passes the host's errno through, and turns anything else
// (which the host calls here never return) into EIO.
func hostErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(unix.Errno); ok {
		return err
	}
	return unix.EIO
}

// Family returns AF_INET or AF_INET6.
func (s *Socket) Family() int { return s.family }

// Type returns SOCK_STREAM or SOCK_DGRAM.
func (s *Socket) Type() int { return s.typ }

// Protocol returns the IPPROTO_* number (SO_PROTOCOL).
func (s *Socket) Protocol() int { return s.protocol }

// Readiness implements waiter.Waitable by asking the host.
func (s *Socket) Readiness(mask uint32) uint32 {
	fds := []unix.PollFd{{Fd: s.fd, Events: int16(mask)}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return 0
		}
		return uint32(uint16(fds[0].Revents)) & (mask | waiter.EventErr | waiter.EventHUp)
	}
}

// EventRegister implements waiter.Waitable.
func (s *Socket) EventRegister(ch chan struct{}, mask uint32) { s.queue.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (s *Socket) EventUnregister(ch chan struct{}) { s.queue.EventUnregister(ch) }

// Close implements vfs.FileImpl.Close: the host finishes the connection.
func (s *Socket) Close() error {
	s.notifier.remove(s.fd)
	err := unix.Close(int(s.fd))
	// Waiters still registered (another thread in poll) see the close.
	s.queue.Notify(waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp)
	return err
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

// Ioctl implements vfs.Ioctler: SIOCINQ (FIONREAD) and SIOCOUTQ, from
// the host.
func (s *Socket) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	switch request {
	case unix.SIOCINQ, unix.SIOCOUTQ:
	default:
		return 0, unix.ENOTTY
	}
	n, err := unix.IoctlGetInt(int(s.fd), uint(request))
	if err != nil {
		return 0, hostErr(err)
	}
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	if _, err := io.CopyOut(arg, b); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Listening reports SO_ACCEPTCONN.
func (s *Socket) Listening() bool {
	if s.typ != unix.SOCK_STREAM {
		return false
	}
	v, err := unix.GetsockoptInt(int(s.fd), unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	return err == nil && v != 0
}

// RecvResult is the result of a receive, the type package inet uses, so
// that the syscall layer serves both alike.
type RecvResult = inet.RecvResult
