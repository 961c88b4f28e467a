package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// AF_NETLINK sockets (sentry/socket/netlink) have the inet sockets'
// surface (inetSocket), so the handlers of sys_socket_inet.go serve them
// too; what is theirs alone is here. So are the interface ioctls, which
// Linux answers on sockets of every family (netif.Ioctl).

// maxNetlinkProtocol is MAX_LINKS: protocols at or above it are
// EPROTONOSUPPORT before any is looked up.
const maxNetlinkProtocol = 32

// newNetlinkSocket implements socket(2) for AF_NETLINK.
func newNetlinkSocket(t *kernel.Task, typ, protocol int) (uint64, error) {
	flags := typ &^ sockTypeMask
	typ &= sockTypeMask
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 || typ >= sockMax {
		return 0, unix.EINVAL
	}
	if typ != unix.SOCK_RAW && typ != unix.SOCK_DGRAM {
		return 0, unix.ESOCKTNOSUPPORT
	}
	if protocol < 0 || protocol >= maxNetlinkProtocol {
		return 0, unix.EPROTONOSUPPORT
	}
	c := t.Credentials()
	s, err := netlink.New(t.Netlink(), typ, protocol, c.EUID, c.EGID, c.HasCap(capNetAdmin), t.TGID())
	if err == unix.EPROTONOSUPPORT && protocol == unix.NETLINK_NETFILTER {
		// Only a hostNetwork pod lacks it. Debian's and most
		// distributions' iptables is the nf_tables one, which says
		// only "Protocol not supported": say why.
		t.Kernel().LogRatelimited("netlink: NETLINK_NETFILTER (nf_tables, iptables-nft, nft) is not available in a hostNetwork pod, whose packet filter is the node's")
	}
	if err != nil {
		return 0, err
	}
	fd, err := installSocket(t, s, flags)
	return uint64(fd), err
}

// sendDatagram sends one datagram of an inet-surface socket: a netlink
// socket's requests are judged with the caller's CAP_NET_ADMIN, as
// netlink_net_capable judges them.
func sendDatagram(t *kernel.Task, s inetSocket, buf, to []byte, flags int) (int, error) {
	if ns, ok := s.(*netlink.Socket); ok {
		return ns.SendFrom(buf, to, flags, netlink.Sender{NetAdmin: t.Credentials().HasCap(capNetAdmin), PID: t.TGID(), Comm: t.Name()})
	}
	return s.Send(buf, to, flags)
}

// socketFamily returns the address family of a socket file.
func socketFamily(f *vfs.File) int {
	if is, ok := asInetSocket(f.Impl()); ok {
		return is.Family()
	}
	return unix.AF_UNIX
}

// socketIfIoctl serves an interface ioctl (netif.IsIoctl) on socket f
// from the sandbox's network.
func socketIfIoctl(t *kernel.Task, f *vfs.File, req, arg uint64) (uint64, error) {
	n, err := t.Network()
	if err != nil {
		t.Kernel().Log.Warn("network unavailable", "err", err)
		return 0, unix.ENODEV
	}
	return netif.Ioctl(t, n, socketFamily(f), req, arg)
}

// isNetlinkFile reports whether f is an AF_NETLINK socket.
func isNetlinkFile(f *vfs.File) bool {
	_, ok := f.Impl().(*netlink.Socket)
	return ok
}

// isIfIoctl reports whether req is an interface ioctl (netif.IsIoctl).
func isIfIoctl(req uint64) bool { return netif.IsIoctl(req) }
