package netlink

import (
	"cmp"
	"slices"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
)

// The namespace's netlink sockets as /proc/net/netlink lists them: the
// kernel's socket of each protocol it serves, bound to port 0, and the
// bound sockets of programs.

// Listed is one socket of /proc/net/netlink.
type Listed struct {
	Protocol int
	PortID   uint32
	// Groups are the first 32 multicast groups the socket is in.
	Groups uint32
	// RcvBytes are the bytes queued to read; Dumping is set while a
	// dump is in progress.
	RcvBytes int
	Dumping  bool
	Inode    uint64
}

// kernelInodes gives each protocol's kernel socket an inode number,
// allocated the first time it is listed (protected by Namespace.mu).
type kernelInodes map[int]uint64

// Sockets returns the namespace's kernel sockets and bound sockets, by
// protocol, the kernel's first.
func (ns *Namespace) Sockets() []Listed {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.kernelInodes == nil {
		ns.kernelInodes = kernelInodes{}
	}
	var out []Listed
	for protocol := range ns.protocols {
		ino, ok := ns.kernelInodes[protocol]
		if !ok {
			ino = synth.NewIno()
			ns.kernelInodes[protocol] = ino
		}
		out = append(out, Listed{Protocol: protocol, Inode: ino})
	}
	for _, s := range ns.ports {
		s.mu.Lock()
		a, _ := s.Stat()
		out = append(out, Listed{Protocol: s.protocol, PortID: s.portID, Groups: uint32(s.groups), RcvBytes: s.rcvBytes, Dumping: s.dump != nil, Inode: a.Ino})
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Listed) int {
		if c := cmp.Compare(a.Protocol, b.Protocol); c != 0 {
			return c
		}
		return cmp.Compare(a.PortID, b.PortID)
	})
	return out
}
