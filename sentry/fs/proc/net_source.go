package proc

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netfilter"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// The kernel's network for /proc/net: that of the reader's network
// namespace. Sockets are found in the descriptor tables of every process
// of the sandbox, whatever PID namespace the reader is in; those listed
// are the ones of the namespace (the inet ones of its stack).

var _ NetSource = (*kernelSource)(nil)

// Network implements NetSource.Network.
func (s *kernelSource) Network() (netif.Network, error) { return s.k.CallerNetwork() }

// HostNetFile implements NetSource.HostNetFile.
func (s *kernelSource) HostNetFile(name string) ([]byte, bool, error) {
	h := s.k.CallerHostNet()
	if h == nil {
		return nil, false, nil
	}
	data, ok, err := h.ProcNet(name)
	if !ok {
		return nil, true, unix.ENOENT
	}
	return data, true, err
}

// IPTableNames implements NetSource.IPTableNames.
func (s *kernelSource) IPTableNames(ipv6 bool) ([]string, error) {
	st, err := s.k.CallerNetStack()
	if err != nil {
		return nil, unix.ENOENT
	}
	return netfilter.Of(st).Names(ipv6), nil
}

// InetSockets implements NetSource.InetSockets.
func (s *kernelSource) InetSockets() []netif.InetSocket {
	return s.k.InetSocketsOf(s.k.CallerNetwork())
}

// RawSockets implements NetSource.RawSockets.
func (s *kernelSource) RawSockets() []netif.InetSocket {
	st, err := s.k.CallerNetStack()
	if err != nil {
		return nil
	}
	return s.k.RawSocketsOf(st)
}

// MulticastJoins implements NetSource.MulticastJoins.
func (s *kernelSource) MulticastJoins() []netif.Joined {
	st, err := s.k.CallerNetStack()
	if err != nil {
		return nil
	}
	return s.k.MulticastJoinsOf(st)
}

// NetlinkSockets implements NetSource.NetlinkSockets: those of the
// reader's network namespace.
func (s *kernelSource) NetlinkSockets() []netlink.Listed {
	return s.k.CallerNetlink().Sockets()
}

// UnixSockets implements NetSource.UnixSockets: the sockets of the
// reader's network namespace.
func (s *kernelSource) UnixSockets() []UnixSocket {
	var out []UnixSocket
	for _, us := range s.k.UnixSocketsIn(s.k.CallerNetNamespace()) {
		a, _ := us.Stat()
		u := UnixSocket{Type: us.Type(), Listening: us.Listening(), Inode: a.Ino}
		if _, err := us.PeerName(); err == nil {
			u.Connected = true
		}
		if name := us.Name(); name != nil {
			u.Path = name.Name
			if name.Abstract {
				// unix_seq_show prints NULs as '@'.
				u.Path = "@" + strings.ReplaceAll(name.Name, "\x00", "@")
			}
		}
		out = append(out, u)
	}
	return out
}

// Counters implements NetSource.Counters.
func (s *kernelSource) Counters() netif.Counters {
	n, err := s.k.CallerNetwork()
	if err != nil {
		return netif.Counters{}
	}
	if st, ok := n.(*netif.Stack); ok {
		return st.Counters()
	}
	return netif.Counters{}
}

// SocketsUsed implements NetSource.SocketsUsed.
func (s *kernelSource) SocketsUsed() int {
	n := 0
	s.k.SocketFiles(func(*vfs.File) { n++ })
	return n
}
