package netif

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/netstack"
)

// Linux's MTU bounds of an Ethernet device (ETH_MIN_MTU, ETH_MAX_MTU):
// those of a veth.
const (
	ethMinMTU = 68
	ethMaxMTU = 65535
)

// tunTxQueueLen is a TUN or TAP device's queue length (TUN_READQ_SIZE).
const tunTxQueueLen = 500

// Stack is the network of the sandbox's own TCP/IP stack. netstack keeps
// no route metadata (origin, scope, metric) and no local table, so they
// are derived as Linux would have made them: a route that covers an
// address of its interface without a gateway is the kernel's prefix
// route; every address has its local (and IPv4 broadcast) route.
type Stack struct {
	st *netstack.Stack

	// mu serializes changes, so that a change and the routes it implies
	// (an address's prefix route) are made together.
	mu sync.Mutex

	// addedMu protects added and lastSeq; it nests inside mu (whose
	// holders list addresses, which reads added).
	addedMu sync.Mutex
	// added describes the addresses added through AddAddress with what
	// netstack does not keep. An address not in it came with its
	// interface: CNI's (made with the standard broadcast), lo's and
	// the IPv6 link-local ones.
	added   map[ifAddr]addedAddr
	lastSeq uint64

	// wentDownMu protects wentDown, the interfaces taken down since
	// they were last up (Interface.GroupsDropped); it nests inside mu.
	wentDownMu sync.Mutex
	wentDown   map[tcpip.NICID]bool
}

// limitedBroadcast is 255.255.255.255, which needs no route.
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// ifAddr is an address of an interface.
type ifAddr struct {
	index int32
	addr  netip.Addr
}

// addedAddr is what an added address was given.
type addedAddr struct {
	// broadcast is IFA_BROADCAST's address; invalid when it gave none
	// or 0.0.0.0.
	broadcast netip.Addr
	// seq orders the additions (from 1), which Linux lists addresses
	// by within a scope.
	seq uint64
	// scope is an IPv4 address's RT_SCOPE_*, which the request gave.
	scope uint8
	// label is an IPv4 address's label ("": the interface's name).
	label string
	// secondary is set for an IPv4 address added to an interface that
	// had one in the same subnet (same prefix length) already, its
	// primary (inet_insert_ifa): Linux lists it after every primary,
	// and deleting the primary deletes it or promotes it (DelAddress).
	secondary bool
}

var _ Configurator = (*Stack)(nil)

// NewStack returns the network of st.
func NewStack(st *netstack.Stack) *Stack { return &Stack{st: st} }

// Interfaces implements Network.Interfaces, in ifindex order.
func (s *Stack) Interfaces() ([]Interface, error) {
	info := s.st.NICInfo()
	out := make([]Interface, 0, len(info))
	for id, ni := range info {
		out = append(out, s.describe(id, &ni))
	}
	slices.SortFunc(out, func(a, b Interface) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

// upLocked reports a NIC's administrative state: whether it is enabled,
// and for lo also whether its gate is open (see SetUp). It takes no lock
// of s; the name says callers may hold s.mu.
func (s *Stack) upLocked(id tcpip.NICID, ni *stack.NICInfo) bool {
	return ni.Flags.Running && !(id == netstack.LoopbackNIC && s.st.LoopbackDown())
}

// setWentDown records an interface that was up (wasUp) being taken down,
// or any being brought up.
func (s *Stack) setWentDown(id tcpip.NICID, up, wasUp bool) {
	s.wentDownMu.Lock()
	defer s.wentDownMu.Unlock()
	switch {
	case up:
		delete(s.wentDown, id)
	case wasUp:
		if s.wentDown == nil {
			s.wentDown = map[tcpip.NICID]bool{}
		}
		s.wentDown[id] = true
	}
}

// describe describes NIC id as interfaceOf does, and a TUN or TAP device
// as tun_net_init sets one up.
func (s *Stack) describe(id tcpip.NICID, ni *stack.NICInfo) Interface {
	up := s.upLocked(id, ni)
	it := interfaceOf(id, ni, up)
	s.wentDownMu.Lock()
	it.GroupsDropped = s.wentDown[id]
	s.wentDownMu.Unlock()
	if f, err := s.st.NICForwarding(id, ipv6.ProtocolNumber); err == nil {
		it.Forwarding6 = f
	}
	d, ok := s.st.TUNDevice(ni.Name)
	if !ok {
		return it
	}
	it.Kind, it.TUN = "tun", d
	if d.TAP && it.Type == linux.ARPHRD_ETHER {
		// An Ethernet device (ether_setup) with room for its header
		// under MAX_MTU.
		it.MaxMTU = ethMaxMTU - header.EthernetMinimumSize
	}
	switch {
	case up && d.Files == 0:
		// A persistent device that no file holds has no carrier.
		it.Flags &^= linux.IFF_RUNNING | IFFLowerUp
		it.OperState = OperDown
	case up:
		// Nobody sets a TUN or TAP device's operational state.
		it.OperState = OperUnknown
	}
	return it
}

// interfaceOf describes a NIC, up or not, as Linux describes a loopback
// or Ethernet device.
func interfaceOf(id tcpip.NICID, ni *stack.NICInfo, up bool) Interface {
	it := Interface{
		Index: int32(id), Name: ni.Name, MTU: ni.MTU, TxQueueLen: DefaultTxQueueLen, Link: int32(id),
		Stats: Stats{
			RxPackets: ni.Stats.Rx.Packets.Value(), RxBytes: ni.Stats.Rx.Bytes.Value(),
			TxPackets: ni.Stats.Tx.Packets.Value(), TxBytes: ni.Stats.Tx.Bytes.Value(),
			RxDropped: ni.Stats.DisabledRx.Packets.Value(),
			TxDropped: ni.Stats.TxPacketsDroppedNoBufferSpace.Value(),
			RxErrors:  ni.Stats.MalformedL4RcvdPackets.Value(),
		},
	}
	if up {
		it.Flags = linux.IFF_UP | linux.IFF_RUNNING | IFFLowerUp
	}
	mac := []byte(ni.LinkAddress)
	if ni.Flags.Loopback {
		it.Type = linux.ARPHRD_LOOPBACK
		it.Flags |= linux.IFF_LOOPBACK
		// The loopback device has no link state: "unknown" while up.
		it.OperState = OperUnknown
		if !up {
			it.OperState = OperDown
		}
		it.Addr = make([]byte, 6)
		it.Broadcast = make([]byte, 6)
		return it
	}
	if ni.ARPHardwareType == header.ARPHardwareNone {
		// A TUN device (sentry/fs/tun) as tun_net_init makes one:
		// point-to-point, no ARP and no hardware address, whose
		// operational state nobody sets ("unknown" while up).
		it.Type = linux.ARPHRD_NONE
		it.Flags |= linux.IFF_POINTOPOINT | linux.IFF_NOARP | linux.IFF_MULTICAST
		it.TxQueueLen = tunTxQueueLen
		it.MinMTU, it.MaxMTU = ethMinMTU, ethMaxMTU
		it.OperState = OperDown
		if up {
			it.OperState = OperUnknown
		}
		return it
	}
	it.Type = linux.ARPHRD_ETHER
	it.Flags |= linux.IFF_BROADCAST | linux.IFF_MULTICAST
	if ni.Flags.Promiscuous {
		it.Flags |= linux.IFF_PROMISC
	}
	it.OperState = OperDown
	if up {
		it.OperState = OperUp
	}
	it.MinMTU, it.MaxMTU = ethMinMTU, ethMaxMTU
	it.Addr = slices.Clone(mac)
	if len(it.Addr) != 6 {
		it.Addr = make([]byte, 6)
	}
	it.Broadcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	return it
}

// Addresses implements Network.Addresses: IPv4 first, then IPv6, each
// by interface.
func (s *Stack) Addresses() ([]Address, error) {
	info := s.st.NICInfo()
	all := s.st.AllAddresses()
	var v4, v6 []listed
	for id, ni := range info {
		// netstack's NIC snapshot has the usable addresses; an IPv6
		// one added to an interface that is down (or still checking
		// it is unique) is only in the full list, and Linux lists it
		// as tentative.
		addrs := slices.Clone(ni.ProtocolAddresses)
		tentative := make(map[tcpip.Address]bool)
		for _, pa := range all[id] {
			if pa.Protocol == ipv6.ProtocolNumber && !slices.ContainsFunc(addrs, func(p tcpip.ProtocolAddress) bool { return p.AddressWithPrefix.Address == pa.AddressWithPrefix.Address }) {
				addrs = append(addrs, pa)
				tentative[pa.AddressWithPrefix.Address] = true
			}
		}
		for _, pa := range addrs {
			ip, ok := netip.AddrFromSlice(pa.AddressWithPrefix.Address.AsSlice())
			if !ok {
				continue
			}
			a := Address{
				Index:  int32(id),
				Prefix: netip.PrefixFrom(ip, pa.AddressWithPrefix.PrefixLen),
				Scope:  AddrScope(ip),
				// Every address of the stack was configured (by
				// CNI, at boot or through rtnetlink): none expires.
				Flags: linux.IFA_F_PERMANENT,
			}
			if tentative[pa.AddressWithPrefix.Address] {
				a.Flags |= linux.IFA_F_TENTATIVE
			}
			added, ok := s.addedOf(a.Index, ip)
			if added.secondary {
				a.Flags |= linux.IFA_F_SECONDARY
			}
			if ok && ip.Is4() {
				a.Scope = added.scope
			}
			if ip.Is4() {
				a.Label = ni.Name
				if added.label != "" {
					a.Label = added.label
				}
				a.Broadcast = added.broadcast
				if !ok && !ni.Flags.Loopback && ni.ARPHardwareType != header.ARPHardwareNone {
					a.Broadcast, _ = IPv4Broadcast(a.Prefix)
				}
				v4 = append(v4, listed{a, added.seq})
			} else {
				v6 = append(v6, listed{a, added.seq})
			}
		}
	}
	// Linux lists an interface's primary IPv4 addresses narrowest scope
	// first (host, link, global) and in the order they were added within
	// a scope, then its secondary ones in the order they were added
	// (inet_insert_ifa); its IPv6 ones global first and newest first
	// (ipv6_link_dev_addr). Those the interface came with go first within
	// their scope, by address.
	order := func(v6 bool) func(a, b listed) int {
		return func(a, b listed) int {
			if c := cmp.Compare(a.Index, b.Index); c != 0 {
				return c
			}
			aSecondary, bSecondary := a.Flags&linux.IFA_F_SECONDARY != 0, b.Flags&linux.IFA_F_SECONDARY != 0
			if aSecondary != bSecondary {
				if aSecondary {
					return 1
				}
				return -1
			}
			if aSecondary {
				return cmp.Compare(a.seq, b.seq)
			}
			// RT_SCOPE_*: 0 global, 253 link, 254 host.
			if c := cmp.Compare(b.Scope, a.Scope); c != 0 {
				if v6 {
					return -c
				}
				return c
			}
			if (a.seq == 0) != (b.seq == 0) {
				return cmp.Compare(a.seq, b.seq) // 0 first
			}
			if c := cmp.Compare(a.seq, b.seq); c != 0 {
				if v6 {
					return -c
				}
				return c
			}
			return a.Prefix.Addr().Compare(b.Prefix.Addr())
		}
	}
	slices.SortFunc(v4, order(false))
	slices.SortFunc(v6, order(true))
	out := make([]Address, 0, len(v4)+len(v6))
	for _, l := range append(v4, v6...) {
		out = append(out, l.Address)
	}
	return out, nil
}

// listed is an address being listed and its addition's sequence number
// (0: it came with the interface).
type listed struct {
	Address
	seq uint64
}

// addedOf returns what AddAddress recorded of an address of interface
// index, false for one the interface came with.
func (s *Stack) addedOf(index int32, addr netip.Addr) (addedAddr, bool) {
	s.addedMu.Lock()
	defer s.addedMu.Unlock()
	a, ok := s.added[ifAddr{index, addr}]
	return a, ok
}

// Routes implements Network.Routes: IPv4's main and local tables, then
// IPv6's.
func (s *Stack) Routes() ([]Route, error) {
	ifs, _ := s.Interfaces()
	addrs, _ := s.Addresses()
	loopback := func(index int32) bool {
		it, ok := ByIndex(ifs, index)
		return ok && it.Flags&linux.IFF_LOOPBACK != 0
	}
	up := func(index int32) bool {
		it, ok := ByIndex(ifs, index)
		return ok && it.Flags&linux.IFF_UP != 0
	}
	var main4, local4, main6, local6 []Route
	for _, r := range s.st.GetRouteTable() {
		dst, ok := subnetPrefix(r.Destination)
		if !ok {
			continue
		}
		rt := Route{Table: linux.RT_TABLE_MAIN, Type: linux.RTN_UNICAST, Protocol: linux.RTPROT_BOOT, Dst: dst, OIF: int32(r.NIC)}
		if gw, ok := netip.AddrFromSlice(r.Gateway.AsSlice()); ok && r.Gateway.Len() > 0 {
			rt.Gateway = gw
		}
		if src, ok := netip.AddrFromSlice(r.SourceHint.AsSlice()); ok && r.SourceHint.Len() > 0 {
			rt.PrefSrc = src
		}
		// The kernel's route to an address's prefix.
		var owner *Address
		for i := range addrs {
			if a := &addrs[i]; a.Index == rt.OIF && a.Prefix.Masked() == dst && !rt.Gateway.IsValid() {
				owner = a
				break
			}
		}
		if owner != nil {
			rt.Protocol = linux.RTPROT_KERNEL
		}
		if dst.Addr().Is4() {
			rt.Family = linux.AF_INET
			rt.Scope = linux.RT_SCOPE_UNIVERSE
			if !rt.Gateway.IsValid() {
				rt.Scope = linux.RT_SCOPE_LINK
			}
			if owner != nil && !rt.PrefSrc.IsValid() {
				rt.PrefSrc = owner.Prefix.Addr()
			}
			if owner != nil && loopback(rt.OIF) {
				// 127.0.0.0/8 is a local route on Linux.
				rt.Table, rt.Type, rt.Scope = linux.RT_TABLE_LOCAL, linux.RTN_LOCAL, linux.RT_SCOPE_HOST
				local4 = append(local4, rt)
				continue
			}
			main4 = append(main4, rt)
			continue
		}
		if owner != nil && loopback(rt.OIF) && owner.Prefix.Bits() == 128 {
			// ::1/128 is only the local route below, as on Linux.
			continue
		}
		rt.Family = linux.AF_INET6
		rt.Priority = IPv6PrioKernel
		if rt.Gateway.IsValid() || owner == nil {
			rt.Priority = IPv6PrioUser
		}
		main6 = append(main6, rt)
	}
	v6ifs := map[int32]bool{}
	for _, a := range addrs {
		host := netip.PrefixFrom(a.Prefix.Addr(), a.Prefix.Addr().BitLen())
		local := Route{Table: linux.RT_TABLE_LOCAL, Type: linux.RTN_LOCAL, Protocol: linux.RTPROT_KERNEL, Dst: host, OIF: a.Index}
		if a.Prefix.Addr().Is4() {
			local.Family, local.Scope, local.PrefSrc = linux.AF_INET, linux.RT_SCOPE_HOST, a.Prefix.Addr()
			local4 = append(local4, local)
			if !up(a.Index) {
				// The broadcast routes go while the interface is
				// down, the local ones stay (fib_sync_down_dev).
				continue
			}
			// fib_add_ifaddr: the prefix's broadcast address, and
			// the one the address was given.
			subnet, _ := IPv4Broadcast(a.Prefix)
			bcasts := []netip.Addr{subnet}
			if b := a.Broadcast; b.IsValid() && b != subnet && b != limitedBroadcast {
				bcasts = append(bcasts, b)
			}
			for _, b := range bcasts {
				if b.IsValid() {
					local4 = append(local4, Route{
						Family: linux.AF_INET, Table: linux.RT_TABLE_LOCAL, Type: linux.RTN_BROADCAST,
						Protocol: linux.RTPROT_KERNEL, Scope: linux.RT_SCOPE_LINK,
						Dst: netip.PrefixFrom(b, 32), PrefSrc: a.Prefix.Addr(), OIF: a.Index,
					})
				}
			}
			continue
		}
		local.Family = linux.AF_INET6
		local6 = append(local6, local)
		if !loopback(a.Index) {
			v6ifs[a.Index] = true
		}
	}
	// Every IPv6 interface but lo has the multicast route.
	for _, it := range ifs {
		if v6ifs[it.Index] {
			local6 = append(local6, Route{
				Family: linux.AF_INET6, Table: linux.RT_TABLE_LOCAL, Type: linux.RTN_MULTICAST,
				Protocol: linux.RTPROT_KERNEL, Dst: netip.MustParsePrefix("ff00::/8"),
				OIF: it.Index, Priority: IPv6PrioKernel,
			})
		}
	}
	// fib_trie walks IPv4 tables in key order; IPv6's tree ends with
	// the default route.
	v4order := func(a, b Route) int {
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Dst.Bits(), b.Dst.Bits())
	}
	v6order := func(a, b Route) int {
		if (a.Dst.Bits() == 0) != (b.Dst.Bits() == 0) {
			if a.Dst.Bits() == 0 {
				return 1
			}
			return -1
		}
		return v4order(a, b)
	}
	slices.SortStableFunc(main4, v4order)
	slices.SortStableFunc(local4, v4order)
	slices.SortStableFunc(main6, v6order)
	slices.SortStableFunc(local6, v6order)
	out := append(main4, local4...)
	out = append(out, main6...)
	out = append(out, local6...)
	// Routes through an interface that is up without a carrier (a TUN
	// or TAP device no program holds) are marked, all but the local
	// ones (fib_sync_down_dev's NETDEV_CHANGE, rt6_sync_down_dev).
	for i := range out {
		if it, ok := ByIndex(ifs, out[i].OIF); ok && it.Flags&linux.IFF_UP != 0 && it.Flags&linux.IFF_RUNNING == 0 && out[i].Type != linux.RTN_LOCAL {
			out[i].Flags |= linux.RTNH_F_LINKDOWN
		}
	}
	return out, nil
}

// subnetPrefix converts a netstack subnet.
func subnetPrefix(sub tcpip.Subnet) (netip.Prefix, bool) {
	id := sub.ID()
	ip, ok := netip.AddrFromSlice(id.AsSlice())
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, sub.Prefix()), true
}

func tcpipAddr(a netip.Addr) tcpip.Address {
	if a.Is4() {
		return tcpip.AddrFrom4(a.As4())
	}
	return tcpip.AddrFrom16(a.As16())
}

func protoOf(a netip.Addr) tcpip.NetworkProtocolNumber {
	if a.Is4() {
		return ipv4.ProtocolNumber
	}
	return ipv6.ProtocolNumber
}

// subnetOf converts a prefix (its host bits cleared) to a netstack subnet.
func subnetOf(p netip.Prefix) tcpip.Subnet {
	p = p.Masked()
	sub, err := tcpip.NewSubnet(tcpipAddr(p.Addr()), tcpip.MaskFromBytes(maskBytes(p)))
	if err != nil {
		// Unreachable: a masked prefix is a valid subnet.
		panic(err)
	}
	return sub
}

func maskBytes(p netip.Prefix) []byte {
	m := make([]byte, p.Addr().BitLen()/8)
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// SetUp implements Configurator.SetUp. Taking an interface down drops
// its routes, as Linux flushes them; bringing it up restores its
// addresses' prefix routes, as Linux's NETDEV_UP does.
//
// lo differs once it has been up. Linux keeps its IPv4 addresses and
// their routes, which are local routes (fib_sync_down_dev spares
// RTN_LOCAL), and drops what the device, being down, is given: lo's NIC
// stays enabled behind a closed gate (netstack's gate.go). Its IPv6
// addresses, ::1 included, go (addrconf_ifdown). Bringing lo up assigns
// 127.0.0.1/8 and ::1 again (inetdev_event, init_loopback).
func (s *Stack) SetUp(index int32, up bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(index)
	if !s.st.HasNIC(id) {
		return linux.ENODEV
	}
	if ni, ok := s.st.NICInfo()[id]; ok {
		s.setWentDown(id, up, s.upLocked(id, &ni))
	}
	if id == netstack.LoopbackNIC && s.st.CheckNIC(id) {
		return s.setLoopbackUpLocked(up)
	}
	if !up {
		if err := s.st.DisableNIC(id); err != nil {
			return linux.ENODEV
		}
		s.st.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == id })
		// Linux's addrconf_ifdown drops the interface's IPv6
		// addresses (net.ipv6.conf.*.keep_addr_on_down is 0); its
		// IPv4 ones stay. Up again, it gets its link-local back.
		for _, a := range s.st.AllAddresses()[id] {
			if a.Protocol == ipv6.ProtocolNumber {
				_ = s.st.RemoveAddress(id, a.AddressWithPrefix.Address)
			}
		}
		return nil
	}
	if s.st.CheckNIC(id) {
		return nil
	}
	if err := s.st.EnableNIC(id); err != nil {
		return linux.ENODEV
	}
	if s.st.IPv6Disabled(id) {
		// Enabling the NIC started every protocol.
		s.st.StopIPv6(id)
	}
	if id == netstack.LoopbackNIC {
		return s.setLoopbackUpLocked(true)
	}
	if s.hasCarrier(id) {
		// Without a carrier the link is not ready, and addrconf
		// waits for one (CarrierOn).
		s.st.AddLinkLocal(id)
	}
	s.addPrefixRoutesLocked(index)
	return nil
}

// hasCarrier reports whether interface id has a carrier: a TUN or TAP
// device only while a file holds it, any other always.
func (s *Stack) hasCarrier(id tcpip.NICID) bool {
	ni, ok := s.st.SingleNICInfo(id)
	if !ok {
		return false
	}
	d, tun := s.st.TUNDevice(ni.Name)
	return !tun || d.Files > 0
}

// CarrierOn is what Linux's addrconf does when an interface's link
// becomes ready (NETDEV_CHANGE with a carrier): one that is up gets the
// IPv6 link-local address it did not get without a carrier, and its
// prefix route.
func (s *Stack) CarrierOn(index int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(index)
	if id == netstack.LoopbackNIC || !s.st.CheckNIC(id) {
		return
	}
	s.st.AddLinkLocal(id)
	s.addPrefixRoutesLocked(index)
}

// addPrefixRoutesLocked adds the prefix routes of interface index's
// addresses.
//
// Preconditions: s.mu is held.
func (s *Stack) addPrefixRoutesLocked(index int32) {
	addrs, _ := s.Addresses()
	for _, a := range addrs {
		if a.Index == index {
			s.addPrefixRouteLocked(a.Index, a.Prefix)
		}
	}
}

// setLoopbackUpLocked takes lo, whose NIC is enabled, up or down; see
// SetUp.
//
// Preconditions: s.mu is held.
func (s *Stack) setLoopbackUpLocked(up bool) error {
	id := netstack.LoopbackNIC
	if !up {
		if s.st.LoopbackDown() {
			return nil
		}
		s.st.SetLoopbackDown(true)
		addrs, _ := s.Addresses()
		keep := map[tcpip.Subnet]bool{}
		for _, a := range addrs {
			if a.Index != int32(id) {
				continue
			}
			if a.Prefix.Addr().Is4() {
				keep[subnetOf(a.Prefix)] = true
				continue
			}
			_ = s.st.RemoveAddress(id, tcpipAddr(a.Prefix.Addr()))
		}
		s.st.RemoveRoutes(func(r tcpip.Route) bool {
			return r.NIC == id && !(keep[r.Destination] && r.Gateway.Len() == 0)
		})
		return nil
	}
	s.st.SetLoopbackDown(false)
	for _, pa := range netstack.LoopbackAddresses() {
		if pa.Protocol == ipv6.ProtocolNumber && s.st.IPv6Disabled(id) {
			continue
		}
		switch err := s.st.AddProtocolAddress(id, pa, stack.AddressProperties{}); err.(type) {
		case nil, *tcpip.ErrDuplicateAddress:
		default:
			return linux.ENOMEM
		}
	}
	s.addPrefixRoutesLocked(int32(id))
	return nil
}

// SetMTU implements Configurator.SetMTU with dev_validate_mtu's bounds.
func (s *Stack) SetMTU(index int32, mtu uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(index)
	ni, ok := s.st.SingleNICInfo(id)
	if !ok {
		return linux.ENODEV
	}
	it := s.describe(id, ni)
	if (it.MinMTU > 0 && mtu < it.MinMTU) || (it.MaxMTU > 0 && mtu > it.MaxMTU) || mtu > 1<<31-1 {
		return linux.EINVAL
	}
	// An endpoint wrapped in netstack's Ethernet layer (the loopback
	// device) reports its inner MTU less the Ethernet header.
	set := mtu
	if _, ok := s.st.GetLinkEndpointByName(ni.Name).(*ethernet.Endpoint); ok {
		set += header.EthernetMinimumSize
	}
	if err := s.st.SetNICMTU(id, set); err != nil {
		return linux.ENODEV
	}
	return nil
}

// AddAddress implements Configurator.AddAddress; the address's prefix
// route comes with it, as in Linux. An IPv4 address keeps its broadcast
// address, scope and label, which replacing an address does not change;
// one in the subnet of another of the interface must have its scope
// (EINVAL, inet_insert_ifa).
func (s *Stack) AddAddress(index int32, p netip.Prefix, o AddrOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(index)
	if !s.st.HasNIC(id) {
		return linux.ENODEV
	}
	pa := tcpip.ProtocolAddress{Protocol: protoOf(p.Addr()), AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpipAddr(p.Addr()), PrefixLen: p.Bits()}}
	if pa.Protocol == ipv6.ProtocolNumber && s.st.IPv6Disabled(id) {
		// ipv6_add_addr refuses an interface whose disable_ipv6 is
		// set.
		return linux.EACCES
	}
	secondary := false
	if p.Addr().Is4() {
		addrs, _ := s.Addresses()
		for _, a := range addrs {
			if a.Index != index || !a.Prefix.Addr().Is4() || a.Prefix.Addr() == p.Addr() || a.Prefix.Bits() != p.Bits() || a.Prefix.Masked() != p.Masked() {
				continue
			}
			if a.Scope != o.Scope {
				return linux.EINVAL
			}
			if a.Flags&linux.IFA_F_SECONDARY == 0 {
				secondary = true
			}
		}
	}
	switch err := s.st.AddProtocolAddress(id, pa, stack.AddressProperties{}); err.(type) {
	case nil:
	case *tcpip.ErrDuplicateAddress:
		if !o.Replace {
			return linux.EEXIST
		}
		return nil
	default:
		return linux.EINVAL
	}
	s.recordAddedLocked(index, p.Addr(), addedAddr{broadcast: o.Broadcast, scope: o.Scope, label: o.Label, secondary: secondary})
	if ni, ok := s.st.SingleNICInfo(id); ok && s.upLocked(id, ni) {
		s.addPrefixRouteLocked(index, p)
	}
	return nil
}

// recordAddedLocked records a new address, and forgets the addresses
// that went with their interface (a TUN device's) or with its going down
// (IPv6's), so that added holds no more than the stack's addresses.
//
// Preconditions: s.mu is held.
func (s *Stack) recordAddedLocked(index int32, addr netip.Addr, a addedAddr) {
	s.addedMu.Lock()
	defer s.addedMu.Unlock()
	if s.added == nil {
		s.added = map[ifAddr]addedAddr{}
	}
	if !addr.Is4() || (a.broadcast.IsValid() && a.broadcast.IsUnspecified()) {
		a.broadcast = netip.Addr{}
	}
	s.lastSeq++
	a.seq = s.lastSeq
	s.added[ifAddr{index, addr}] = a
	info := s.st.NICInfo()
	for k := range s.added {
		if !hasAddress(info[tcpip.NICID(k.index)], k.addr) {
			delete(s.added, k)
		}
	}
}

// hasAddress reports whether an interface has addr.
func hasAddress(ni stack.NICInfo, addr netip.Addr) bool {
	want := tcpipAddr(addr)
	for _, pa := range ni.ProtocolAddresses {
		if pa.AddressWithPrefix.Address == want {
			return true
		}
	}
	return false
}

// addPrefixRouteLocked adds the route to p's prefix through interface
// index unless a /32 or /128 address needs none or it is there. An IPv6
// address of lo (::1) needs its /128: a namespace's stack does not
// deliver to its own addresses by itself (netstack.NewDown), only
// through a route to lo; Routes shows it as the local route it stands
// for.
//
// Preconditions: s.mu is held.
func (s *Stack) addPrefixRouteLocked(index int32, p netip.Prefix) {
	if p.Bits() == p.Addr().BitLen() && !(p.Addr().Is6() && tcpip.NICID(index) == netstack.LoopbackNIC) {
		return
	}
	rt := tcpip.Route{Destination: subnetOf(p), NIC: tcpip.NICID(index)}
	for _, r := range s.st.GetRouteTable() {
		if r.Equal(rt) && r.Gateway.Len() == 0 {
			return
		}
	}
	s.st.AddRoute(rt)
}

// DelAddress implements Configurator.DelAddress; the address's prefix
// route goes with it unless another address of the interface needs it.
// Deleting a primary IPv4 address deletes its secondaries too, or, with
// net.ipv4.conf.{all,IF}.promote_secondaries set, makes the oldest of
// them the primary (inet_del_ifa).
func (s *Stack) DelAddress(index int32, p netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(index)
	if !s.st.HasNIC(id) {
		return linux.ENODEV
	}
	addrs, _ := s.Addresses()
	var target *Address
	for i := range addrs {
		if a := &addrs[i]; a.Index == index && a.Prefix.Addr() == p.Addr() && (p.Bits() == 0 || a.Prefix.Bits() == p.Bits()) {
			target = a
		}
	}
	if target == nil {
		return linux.EADDRNOTAVAIL
	}
	p = target.Prefix
	var gone []netip.Addr
	var promoted netip.Addr
	if p.Addr().Is4() && target.Flags&linux.IFA_F_SECONDARY == 0 {
		promote := s.st.PromoteSecondaries(id)
		for _, a := range addrs { // secondaries in the order they were added
			if a.Index != index || a.Flags&linux.IFA_F_SECONDARY == 0 || a.Prefix.Bits() != p.Bits() || a.Prefix.Masked() != p.Masked() {
				continue
			}
			if promote {
				promoted = a.Prefix.Addr()
				break
			}
			gone = append(gone, a.Prefix.Addr())
		}
	}
	// The secondaries go first, as in Linux.
	gone = append(gone, p.Addr())
	for _, addr := range gone {
		if err := s.st.RemoveAddress(id, tcpipAddr(addr)); err != nil {
			return linux.EADDRNOTAVAIL
		}
		s.addedMu.Lock()
		delete(s.added, ifAddr{index, addr})
		s.addedMu.Unlock()
	}
	if promoted.IsValid() {
		s.addedMu.Lock()
		k := ifAddr{index, promoted}
		a := s.added[k]
		// A primary again, listed after the interface's other ones.
		s.lastSeq++
		a.secondary, a.seq = false, s.lastSeq
		s.added[k] = a
		s.addedMu.Unlock()
	}
	shared := false
	for _, a := range addrs {
		if a.Index == index && !slices.Contains(gone, a.Prefix.Addr()) && a.Prefix.Masked() == p.Masked() {
			shared = true
		}
	}
	if !shared && p.Bits() != p.Addr().BitLen() {
		sub := subnetOf(p)
		s.st.RemoveRoutes(func(r tcpip.Route) bool {
			return r.NIC == id && r.Destination == sub && r.Gateway.Len() == 0
		})
	}
	return nil
}

// AddRoute implements Configurator.AddRoute (main table, unicast).
func (s *Stack) AddRoute(r Route, replace bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := tcpip.NICID(r.OIF)
	if !s.st.HasNIC(id) {
		return linux.ENODEV
	}
	rt := tcpip.Route{Destination: subnetOf(r.Dst), NIC: id}
	if r.Gateway.IsValid() {
		rt.Gateway = tcpipAddr(r.Gateway)
	}
	if r.PrefSrc.IsValid() {
		rt.SourceHint = tcpipAddr(r.PrefSrc)
	}
	for _, old := range s.st.GetRouteTable() {
		if old.Destination == rt.Destination {
			if !replace {
				return linux.EEXIST
			}
			s.st.ReplaceRoute(rt)
			return nil
		}
	}
	s.st.AddRoute(rt)
	return nil
}

// DelRoute implements Configurator.DelRoute.
func (s *Stack) DelRoute(r Route) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Linux deletes the first route that matches.
	sub := subnetOf(r.Dst)
	n := 0
	s.st.RemoveRoutes(func(old tcpip.Route) bool {
		if n > 0 || old.Destination != sub {
			return false
		}
		if r.OIF != 0 && old.NIC != tcpip.NICID(r.OIF) {
			return false
		}
		if r.Gateway.IsValid() && old.Gateway != tcpipAddr(r.Gateway) {
			return false
		}
		n++
		return true
	})
	if n == 0 {
		return linux.ESRCH
	}
	return nil
}
