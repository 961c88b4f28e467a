package netif

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Linux's neighbour states (NUD_*).
const (
	NUDIncomplete = 0x01
	NUDReachable  = 0x02
	NUDStale      = 0x04
	NUDDelay      = 0x08
	NUDProbe      = 0x10
	NUDFailed     = 0x20
	NUDNoARP      = 0x40
	NUDPermanent  = 0x80
	// NUDValid is NUD_VALID: the states in which the link address is
	// known.
	NUDValid = NUDPermanent | NUDNoARP | NUDReachable | NUDProbe | NUDStale | NUDDelay
)

// Neighbour is one entry of an interface's neighbour table: the ARP
// cache for IPv4, the NDP one for IPv6.
type Neighbour struct {
	// Index is the interface's.
	Index int32
	Addr  netip.Addr
	// LinkAddr is the neighbour's hardware address, nil while unknown.
	LinkAddr []byte
	// State is a NUD_* state.
	State uint16
	// Age is how long ago the entry last changed.
	Age time.Duration
}

// NeighbourLister is a Network whose neighbour tables can be listed.
type NeighbourLister interface {
	Neighbours() ([]Neighbour, error)
}

var _ NeighbourLister = (*Stack)(nil)

// Neighbours implements NeighbourLister: the entries of every NIC that
// resolves link addresses, by interface, then IPv4 before IPv6. A
// loopback has no table, as Linux's lo (IFF_NOARP) keeps no entries
// until traffic goes out on it.
func (s *Stack) Neighbours() ([]Neighbour, error) {
	now := s.st.Clock().NowMonotonic()
	var out []Neighbour
	for id := range s.st.NICInfo() {
		for _, proto := range []tcpip.NetworkProtocolNumber{ipv4.ProtocolNumber, ipv6.ProtocolNumber} {
			entries, err := s.st.Neighbors(id, proto)
			if err != nil {
				// No link resolution on this NIC (ErrNotSupported),
				// or no such protocol: no table.
				continue
			}
			for _, e := range entries {
				state, ok := nudState(e.State)
				if !ok {
					continue
				}
				addr, ok := netip.AddrFromSlice(e.Addr.AsSlice())
				if !ok {
					continue
				}
				n := Neighbour{Index: int32(id), Addr: addr, State: state, Age: now.Sub(e.UpdatedAt)}
				if state&NUDValid != 0 {
					n.LinkAddr = []byte(e.LinkAddr)
				}
				out = append(out, n)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Neighbour) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

// nudState maps netstack's NUD states onto Linux's; entries netstack has
// made but not yet used (Unknown) are not in Linux's tables.
func nudState(st stack.NeighborState) (uint16, bool) {
	switch st {
	case stack.Incomplete:
		return NUDIncomplete, true
	case stack.Reachable:
		return NUDReachable, true
	case stack.Stale:
		return NUDStale, true
	case stack.Delay:
		return NUDDelay, true
	case stack.Probe:
		return NUDProbe, true
	case stack.Static:
		return NUDPermanent, true
	case stack.Unreachable:
		return NUDFailed, true
	}
	return 0, false
}

// NeighbourConfigurator is a Network whose neighbour tables can be
// changed (with CAP_NET_ADMIN, which the caller checks). Errors are
// Linux errnos.
type NeighbourConfigurator interface {
	NeighbourLister
	// SetNeighbour makes addr's entry on interface index a permanent
	// one for lladdr, as RTM_NEWNEIGH does: ENOENT if there is none and
	// not create, EEXIST if there is one and excl; an existing entry
	// keeps its link address unless replace.
	SetNeighbour(index int32, addr netip.Addr, lladdr []byte, create, excl, replace bool) error
	// DelNeighbour removes addr's entry on interface index (ENOENT if
	// there is none).
	DelNeighbour(index int32, addr netip.Addr) error
}

var _ NeighbourConfigurator = (*Stack)(nil)

// findNeighbour returns addr's entry of interface id, and whether the
// interface has a table at all (netstack keeps none on a NIC without
// link resolution, lo).
func (s *Stack) findNeighbour(id tcpip.NICID, addr netip.Addr) (e stack.NeighborEntry, found, table bool) {
	entries, err := s.st.Neighbors(id, protoOf(addr))
	if err != nil {
		return e, false, false
	}
	for _, e := range entries {
		if a, ok := netip.AddrFromSlice(e.Addr.AsSlice()); ok && a == addr {
			if _, ok := nudState(e.State); ok {
				return e, true, true
			}
		}
	}
	return e, false, true
}

// SetNeighbour implements NeighbourConfigurator. netstack holds static
// entries only (AddStaticNeighbor): every entry set here is
// NUD_PERMANENT. An interface without a table (lo: netstack resolves no
// link addresses there, where Linux keeps NUD_NOARP entries) takes none:
// EOPNOTSUPP.
func (s *Stack) SetNeighbour(index int32, addr netip.Addr, lladdr []byte, create, excl, replace bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(index)
	if !s.st.HasNIC(id) {
		return linux.ENODEV
	}
	old, found, table := s.findNeighbour(id, addr)
	switch {
	case !found && !create:
		return linux.ENOENT
	case !table:
		return linux.EOPNOTSUPP
	case found && excl:
		return linux.EEXIST
	case found && !replace && old.State != stack.Unreachable && old.State != stack.Incomplete:
		// neigh_update without NEIGH_UPDATE_F_OVERRIDE keeps a valid
		// entry's link address.
		return nil
	}
	if found {
		s.st.RemoveNeighbor(id, protoOf(addr), tcpipAddr(addr))
	}
	if err := s.st.AddStaticNeighbor(id, protoOf(addr), tcpipAddr(addr), tcpip.LinkAddress(lladdr)); err != nil {
		if _, ok := err.(*tcpip.ErrUnknownNICID); ok {
			return linux.ENODEV
		}
		return linux.EOPNOTSUPP
	}
	return nil
}

// DelNeighbour implements NeighbourConfigurator.
func (s *Stack) DelNeighbour(index int32, addr netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(index)
	if !s.st.HasNIC(id) {
		return linux.ENODEV
	}
	if _, found, _ := s.findNeighbour(id, addr); !found {
		return linux.ENOENT
	}
	if err := s.st.RemoveNeighbor(id, protoOf(addr), tcpipAddr(addr)); err != nil {
		return linux.ENOENT
	}
	return nil
}
