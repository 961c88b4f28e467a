package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/socket/hostinet"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// AF_INET and AF_INET6 sockets come in two implementations with one
// surface: on the sandbox's netstack (sentry/socket/inet), and, for a
// pod with host networking, host sockets the sentry passes through
// (sentry/socket/hostinet). The handlers in sys_socket_inet.go serve
// both through inetSocket.

// inetSocket is an AF_INET or AF_INET6 socket. Accept is apart
// (acceptInet): each implementation returns its own type.
type inetSocket interface {
	vfs.FileImpl
	waiter.Waitable
	Family() int
	Type() int
	Bind(sa []byte) error
	Listen(backlog int) error
	Connect(sa []byte) error
	ConnectResult(sa []byte) error
	Shutdown(how int) error
	Send(src, to []byte, flags int) (int, error)
	Recv(dst []byte, flags int, wantFrom bool) (inet.RecvResult, error)
	Name() []byte
	PeerName() ([]byte, error)
	GetSockOpt(level, name int) ([]byte, error)
	SetSockOpt(level, name int, b []byte, netAdmin bool) error
	Timeout(rcv bool) time.Duration
	SetTimeout(rcv bool, d time.Duration)
}

var (
	_ inetSocket     = (*inet.Socket)(nil)
	_ inetSocket     = (*hostinet.Socket)(nil)
	_ errQueueReader = (*inet.Socket)(nil)
	_ errQueueReader = (*hostinet.Socket)(nil)
)

// asInetSocket returns f's implementation as an inet socket, if it is
// one.
func asInetSocket(impl vfs.FileImpl) (inetSocket, bool) {
	switch s := impl.(type) {
	case *inet.Socket:
		return s, true
	case *hostinet.Socket:
		return s, true
	case *netlink.Socket:
		// AF_NETLINK sockets have the same surface
		// (sys_socket_netlink.go).
		return s, true
	}
	return nil, false
}

// acceptInet takes the next connection of a listening inet socket.
func acceptInet(s inetSocket, uid, gid uint32) (inetSocket, []byte, error) {
	switch s := s.(type) {
	case *inet.Socket:
		ns, peer, err := s.Accept(uid, gid)
		if err != nil {
			return nil, nil, err
		}
		return ns, peer, nil
	case *hostinet.Socket:
		ns, peer, err := s.Accept(uid, gid)
		if err != nil {
			return nil, nil, err
		}
		return ns, peer, nil
	}
	return nil, nil, unix.EOPNOTSUPP
}

// ipprotoMax is IPPROTO_MAX: no IP protocol number reaches it.
const ipprotoMax = 263

// newInetImpl creates the socket of socket(2) for AF_INET and AF_INET6:
// a host socket in a host-network pod, a netstack one otherwise.
func newInetImpl(t *kernel.Task, domain, typ, protocol int) (inetSocket, error) {
	if protocol < 0 || protocol >= ipprotoMax {
		// inet_create's and inet6_create's first check.
		return nil, unix.EINVAL
	}
	c := t.Credentials()
	// The permission checks of Linux's inet_create and ping_init_sock,
	// which hold for host sockets and netstack ones alike.
	switch {
	case typ == unix.SOCK_RAW && !c.HasCap(kernel.CapNetRaw):
		return nil, unix.EPERM
	case typ == unix.SOCK_DGRAM && (protocol == unix.IPPROTO_ICMP || protocol == unix.IPPROTO_ICMPV6) && !t.Kernel().MayOpenPingSocket(c):
		return nil, unix.EACCES
	}
	if t.HostNetwork() {
		s, err := hostinet.New(domain, typ, protocol, c.EUID, c.EGID)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	st, err := t.NetStack()
	if err != nil {
		t.Kernel().Log.Warn("netstack unavailable", "err", err)
		return nil, unix.ENOBUFS
	}
	s, err := inet.New(st, domain, typ, protocol, c.EUID, c.EGID)
	if err != nil {
		return nil, err
	}
	return s, nil
}
