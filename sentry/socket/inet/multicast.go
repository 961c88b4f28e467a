package inet

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// The multicast groups a socket joined, for the listings of /proc/net/igmp
// and igmp6 (and `ip maddr`): netstack keeps each endpoint's memberships
// to itself, so the socket records those its joins made.

// Membership is a multicast group a socket joined on an interface.
type Membership struct {
	Index int32
	Group netip.Addr
}

// joinOrder numbers joins across every socket, since Linux lists an
// interface's groups by when they were first joined.
var joinOrder atomic.Uint64

// memberships are a socket's joined groups.
type memberships struct {
	// mu protects joined, each group's place in joinOrder.
	mu     sync.Mutex
	joined map[Membership]uint64
}

// membershipIndex returns the interface a join or leave of m acts on,
// resolved as netstack resolves it (0: none): the one given, the one with
// the interface address given, or the one the route to the group leaves
// by.
func (s *Socket) membershipIndex(m tcpip.MembershipOption) tcpip.NICID {
	proto := ipv4.ProtocolNumber
	if m.MulticastAddr.Len() == header.IPv6AddressSize {
		proto = ipv6.ProtocolNumber
	}
	if m.InterfaceAddr.Len() != 0 && !m.InterfaceAddr.Unspecified() {
		return s.stack.CheckLocalAddress(m.NIC, proto, m.InterfaceAddr)
	}
	if m.NIC != 0 {
		return m.NIC
	}
	r, err := s.stack.FindRoute(0, tcpip.Address{}, m.MulticastAddr, proto, false /* multicastLoop */)
	if err != nil {
		return 0
	}
	defer r.Release()
	return r.NICID()
}

// setMembershipOpt joins (add) or leaves the group of m and records the
// change.
func (s *Socket) setMembershipOpt(add bool, m tcpip.MembershipOption) error {
	index := s.membershipIndex(m)
	if add {
		o := tcpip.AddMembershipOption(m)
		if err := s.ep.SetSockOpt(&o); err != nil {
			return errno(err)
		}
	} else {
		o := tcpip.RemoveMembershipOption(m)
		if err := s.ep.SetSockOpt(&o); err != nil {
			return errno(err)
		}
	}
	group, ok := netip.AddrFromSlice(m.MulticastAddr.AsSlice())
	if !ok || index == 0 {
		return nil
	}
	key := Membership{Index: int32(index), Group: group}
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	if !add {
		delete(s.groups.joined, key)
		return nil
	}
	if s.groups.joined == nil {
		s.groups.joined = map[Membership]uint64{}
	}
	s.groups.joined[key] = joinOrder.Add(1)
	return nil
}

// Memberships calls fn for every group the socket is in, with the place
// of its join among all sockets' joins.
func (s *Socket) Memberships(fn func(m Membership, order uint64)) {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	for m, order := range s.groups.joined {
		fn(m, order)
	}
}
