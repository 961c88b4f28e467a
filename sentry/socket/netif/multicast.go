package netif

import (
	"cmp"
	"net/netip"
	"slices"

	linux "golang.org/x/sys/unix"
)

// The multicast groups of the interfaces, as /proc/net/igmp, igmp6 and
// dev_mcast list them (and `ip maddr` shows): those the sandbox's sockets
// joined, and those Linux's own stack is in. That is, on every interface
// while it is up, the IPv4 all-hosts group 224.0.0.1 (ip_mc_up); on every
// interface, up or down, the IPv6 all-nodes groups ff01::1 and ff02::1
// (ipv6_add_dev), except on loopback and NOARP devices the solicited-node
// group of each IPv6 address (addrconf_join_solict), and on a multicast
// device that forwards IPv6 the all-routers groups ff02::2, ff01::2 and
// ff05::2 (dev_forward_change).
// Netstack joins the same groups, but tells no one which it has.

// Joined is a group a socket joined on an interface; Order is its place
// among all sockets' joins.
type Joined struct {
	Index int32
	Group netip.Addr
	Order uint64
}

// MulticastGroup is a group an interface is in.
type MulticastGroup struct {
	Index int32
	Group netip.Addr
	// Users counts the sockets that joined it, plus the stack's own
	// membership.
	Users int
	// age orders the groups of an interface by their first join.
	age uint64
}

// LinkMulticast is a link-layer multicast address an interface receives
// (dev_mcast): the mapping of its groups' addresses, Refs the number of
// groups mapped to it.
type LinkMulticast struct {
	Index int32
	Addr  []byte
	Refs  int
}

var (
	allHosts        = netip.AddrFrom4([4]byte{224, 0, 0, 1})
	allNodesLink    = netip.MustParseAddr("ff02::1")
	allNodesIfaceL  = netip.MustParseAddr("ff01::1")
	allRoutersLink  = netip.MustParseAddr("ff02::2")
	allRoutersIface = netip.MustParseAddr("ff01::2")
	allRoutersSite  = netip.MustParseAddr("ff05::2")
)

// MulticastGroups returns the groups of the interfaces ifs with addresses
// addrs, and sockets' joins: by interface, IPv4 groups then IPv6 ones, each
// family newest first, as Linux's lists put a group at their head when it
// is first joined. The stack's own groups count as older than any socket's
// join: first the all-nodes ones, which an interface has from its
// creation, then all-hosts, joined when it came up, then the
// solicited-node ones, in the order of the addresses, then the
// all-routers ones, joined when forwarding was turned on.
func MulticastGroups(ifs []Interface, addrs []Address, joined []Joined) []MulticastGroup {
	var out []MulticastGroup
	for _, it := range ifs {
		var groups []MulticastGroup
		add := func(g netip.Addr, age uint64) {
			for i := range groups {
				if groups[i].Group == g {
					groups[i].Users++
					return
				}
			}
			groups = append(groups, MulticastGroup{Index: it.Index, Group: g, Users: 1, age: age})
		}
		add(allNodesIfaceL, 1)
		add(allNodesLink, 2)
		if it.Up() {
			add(allHosts, 3)
		}
		if it.Flags&(linux.IFF_LOOPBACK|linux.IFF_NOARP) == 0 {
			for i, a := range addrs {
				if a.Index == it.Index && a.Prefix.Addr().Is6() {
					add(solicitedNode(a.Prefix.Addr()), uint64(4+i))
				}
			}
		}
		routers := uint64(4 + len(addrs))
		if it.Forwarding6 && it.Flags&linux.IFF_MULTICAST != 0 {
			add(allRoutersLink, routers)
			add(allRoutersIface, routers+1)
			add(allRoutersSite, routers+2)
		}
		// The sockets' joins come after all of those. An IPv4 group
		// a socket joined stays listed while the interface is down
		// (ip_mc_down keeps the list).
		base := routers + 3
		var mine []Joined
		for _, j := range joined {
			if j.Index == it.Index {
				mine = append(mine, j)
			}
		}
		slices.SortFunc(mine, func(a, b Joined) int { return cmp.Compare(a.Order, b.Order) })
		for _, j := range mine {
			add(j.Group, base+j.Order)
		}
		slices.SortFunc(groups, func(a, b MulticastGroup) int {
			if c := cmp.Compare(a.Group.BitLen(), b.Group.BitLen()); c != 0 {
				return c
			}
			return cmp.Compare(b.age, a.age)
		})
		out = append(out, groups...)
	}
	return out
}

// solicitedNode returns the solicited-node multicast address of a (RFC
// 4291 2.7.1): ff02::1:ff and its last 24 bits.
func solicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// LinkMulticasts returns the link-layer addresses groups map to on the
// Ethernet interfaces of ifs (arp_mc_map, ndisc_mc_map; other devices map
// none), each interface's in the order of its groups' first joins: Linux
// adds an address to a device's list when the first group mapped to it is
// loaded (Loaded).
func LinkMulticasts(ifs []Interface, groups []MulticastGroup) []LinkMulticast {
	var out []LinkMulticast
	for _, it := range ifs {
		if it.Type != linux.ARPHRD_ETHER || it.Flags&linux.IFF_MULTICAST == 0 || it.GroupsDropped {
			continue
		}
		var mine []MulticastGroup
		for _, g := range groups {
			if g.Index == it.Index {
				mine = append(mine, g)
			}
		}
		slices.SortFunc(mine, func(a, b MulticastGroup) int { return cmp.Compare(a.age, b.age) })
		var macs []LinkMulticast
		for _, g := range mine {
			mac, ok := linkMulticast(g.Group)
			if !ok || !Loaded(it, g.Group) {
				continue
			}
			i := slices.IndexFunc(macs, func(m LinkMulticast) bool { return string(m.Addr) == string(mac) })
			if i < 0 {
				macs = append(macs, LinkMulticast{Index: it.Index, Addr: mac, Refs: 1})
			} else {
				macs[i].Refs++
			}
		}
		out = append(out, macs...)
	}
	return out
}

// Loaded reports whether Linux has group in the link-layer filter of
// interface it: every group is loaded when joined (igmp_group_added,
// igmp6_group_added), up or down, except IPv6 ones narrower than
// link-local scope, and unloaded when the interface goes down, until it
// comes up again.
func Loaded(it Interface, group netip.Addr) bool {
	return !it.GroupsDropped && (group.Is4() || MulticastScope(group) >= ScopeLinkLocal)
}

// ScopeLinkLocal is the link-local scope of an IPv6 multicast address
// (RFC 4291 2.7); interface-local (1) and reserved (0) are narrower.
const ScopeLinkLocal = 2

// MulticastScope returns the scope field of IPv6 multicast address g.
func MulticastScope(g netip.Addr) uint8 {
	return g.As16()[1] & 0x0f
}

// linkMulticast maps a group to its Ethernet address: 01:00:5e and the
// low 23 bits of an IPv4 group (RFC 1112), 33:33 and the last 32 bits of
// an IPv6 one (RFC 2464); false for an IPv6 group of interface-local or
// narrower scope, which is never put on a link.
func linkMulticast(g netip.Addr) ([]byte, bool) {
	if g.Is4() {
		b := g.As4()
		return []byte{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}, true
	}
	if MulticastScope(g) < ScopeLinkLocal {
		return nil, false
	}
	b := g.As16()
	return []byte{0x33, 0x33, b[12], b[13], b[14], b[15]}, true
}
