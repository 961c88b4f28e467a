package netif

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

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
