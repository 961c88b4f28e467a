package kernel

import (
	"cmp"
	"slices"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// The sandbox's open sockets, for the listings of /proc/net and of
// NETLINK_SOCK_DIAG: Linux walks its protocols' hash tables, the sentry
// the descriptor tables of every process, whatever PID namespace the
// reader is in.

// SocketFiles calls fn once for every socket file open in the sandbox.
func (k *Kernel) SocketFiles(fn func(f *vfs.File)) {
	seen := map[vfs.FileImpl]bool{}
	ns := k.RootPIDNamespace()
	for _, pid := range k.ProcessIDs(ns) {
		pi, ok := k.ProcessSnapshot(ns, pid)
		if !ok || pi.FDs == nil {
			continue
		}
		entries, _ := pi.FDs.Snapshot()
		for _, e := range entries {
			impl := e.File.Impl()
			switch impl.(type) {
			case *inet.Socket, *unixsock.Socket, *netlink.Socket:
				if !seen[impl] {
					seen[impl] = true
					fn(e.File)
				}
			}
			e.File.DecRef()
		}
	}
}

// InetSocketsOf lists the TCP and UDP sockets of a network's stack, with
// the owner, inode and backlog of those a descriptor holds; a network
// without a stack of the sandbox's (err, or a hostNetwork pod's) has
// none.
func (k *Kernel) InetSocketsOf(n netif.Network, err error) []netif.InetSocket {
	st, ok := n.(*netif.Stack)
	if err != nil || !ok {
		return nil
	}
	owners := map[tcpip.Endpoint]netif.Owner{}
	k.SocketFiles(func(f *vfs.File) {
		if is, ok := f.Impl().(*inet.Socket); ok {
			if a, err := is.Stat(); err == nil {
				owners[is.Endpoint()] = netif.Owner{UID: a.Uid, Inode: a.Ino, Backlog: uint32(is.Backlog()), Stopped: is.ListenStopped()}
			}
		}
	})
	return st.InetSockets(owners)
}

// RawSocketsOf lists the raw and ping sockets made on stack st (a
// network namespace's), as /proc/net/raw, raw6, icmp and icmp6 show them:
// ordered by their local port, the protocol or identifier that Linux's
// hash tables are keyed on.
func (k *Kernel) RawSocketsOf(st *netstack.Stack) []netif.InetSocket {
	var out []netif.InetSocket
	k.SocketFiles(func(f *vfs.File) {
		is, ok := f.Impl().(*inet.Socket)
		if !ok || is.NetStack() != st {
			return
		}
		raw := is.Type() == unix.SOCK_RAW
		if !raw && is.Protocol() != unix.IPPROTO_ICMP && is.Protocol() != unix.IPPROTO_ICMPV6 {
			return
		}
		a, err := is.Stat()
		if err != nil {
			return
		}
		if s, ok := netif.RawOrPingSocket(is.Endpoint(), is.Family() == unix.AF_INET6, raw, is.Protocol(), netif.Owner{UID: a.Uid, Inode: a.Ino}); ok {
			out = append(out, s)
		}
	})
	slices.SortStableFunc(out, func(a, b netif.InetSocket) int { return cmp.Compare(a.Local.Port(), b.Local.Port()) })
	return out
}

// MulticastJoinsOf lists the multicast groups the sockets made on stack
// st joined, one entry a socket and group.
func (k *Kernel) MulticastJoinsOf(st *netstack.Stack) []netif.Joined {
	var out []netif.Joined
	k.SocketFiles(func(f *vfs.File) {
		if is, ok := f.Impl().(*inet.Socket); ok && is.NetStack() == st {
			is.Memberships(func(m inet.Membership, order uint64) {
				out = append(out, netif.Joined{Index: m.Index, Group: m.Group, Order: order})
			})
		}
	})
	return out
}

// UnixSocketsIn returns the AF_UNIX sockets made in network namespace ns
// (a *NetNamespace, or InitialNetNamespace()'s), as Linux's listings skip
// those of other namespaces.
func (k *Kernel) UnixSocketsIn(ns any) []*unixsock.Socket {
	var out []*unixsock.Socket
	k.SocketFiles(func(f *vfs.File) {
		if us, ok := f.Impl().(*unixsock.Socket); ok && us.Namespace() == ns {
			out = append(out, us)
		}
	})
	return out
}

// unixSocketsOf returns a function listing the unix sockets of namespace
// ns, for sock_diag.
func (k *Kernel) unixSocketsOf(ns *NetNamespace) func() []*unixsock.Socket {
	return func() []*unixsock.Socket { return k.UnixSocketsIn(ns) }
}
