package proc

import (
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
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

// sockets calls fn once for every socket file open in the sandbox.
func (s *kernelSource) sockets(fn func(f *vfs.File)) {
	seen := map[vfs.FileImpl]bool{}
	ns := s.k.RootPIDNamespace()
	for _, pid := range s.k.ProcessIDs(ns) {
		pi, ok := s.k.ProcessSnapshot(ns, pid)
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

// InetSockets implements NetSource.InetSockets.
func (s *kernelSource) InetSockets() []netif.InetSocket {
	n, err := s.k.CallerNetwork()
	if err != nil {
		return nil
	}
	st, ok := n.(*netif.Stack)
	if !ok {
		return nil
	}
	owners := map[tcpip.Endpoint]netif.Owner{}
	s.sockets(func(f *vfs.File) {
		if is, ok := f.Impl().(*inet.Socket); ok {
			if a, err := is.Stat(); err == nil {
				owners[is.Endpoint()] = netif.Owner{UID: a.Uid, Inode: a.Ino}
			}
		}
	})
	return st.InetSockets(owners)
}

// UnixSockets implements NetSource.UnixSockets: the sockets of the
// reader's network namespace, as Linux's unix_seq_next skips those of
// other namespaces (a socket's namespace is the one it was made in).
func (s *kernelSource) UnixSockets() []UnixSocket {
	var out []UnixSocket
	ns := any(s.k.CallerNetNamespace())
	s.sockets(func(f *vfs.File) {
		us, ok := f.Impl().(*unixsock.Socket)
		if !ok || us.Namespace() != ns {
			return
		}
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
	})
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
	s.sockets(func(*vfs.File) { n++ })
	return n
}
