// Package netif is the sandbox's network configuration as programs see
// it: interfaces, addresses and routes, with Linux's numbers (ifindex,
// IFF_* flags, ARPHRD_* types, RT_SCOPE_*, RTN_*, RTPROT_*) already
// worked out. rtnetlink (sentry/socket/netlink), the interface ioctls
// (ioctl.go), /proc/net (sentry/fs/proc) and /sys/class/net
// (sentry/fs/sysfs) all read it here, so they always agree.
//
// A Network has two implementations: Stack, over the sandbox's own
// TCP/IP stack (package netstack), which can also be changed
// (Configurator); and Host, the node's configuration for a hostNetwork
// pod, read-only.
package netif

import (
	"net/netip"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
)

// Linux constants not in x/sys/unix.
const (
	// IFFLowerUp, IFFDormant and IFFEcho are the flags dev_get_flags
	// reports above the 16 bits of struct ifreq's ifr_flags.
	IFFLowerUp = 0x10000
	IFFDormant = 0x20000
	IFFEcho    = 0x40000

	// DefaultTxQueueLen is DEFAULT_TX_QUEUE_LEN, the qlen of lo, veth and
	// Ethernet devices (netstack has no queueing discipline to show).
	DefaultTxQueueLen = 1000

	// IPv6 route metrics as Linux gives them: IP6_RT_PRIO_ADDRCONF for
	// the routes of addresses, IP6_RT_PRIO_USER for routes added
	// without a metric.
	IPv6PrioKernel = 256
	IPv6PrioUser   = 1024

	// RFC 2863 operational states (IF_OPER_*).
	OperUnknown = 0
	OperDown    = 2
	OperUp      = 6

	// InfinityLifeTime is INFINITY_LIFE_TIME, the lifetime of a
	// permanent address.
	InfinityLifeTime = 0xffffffff
)

// Interface is one network device.
type Interface struct {
	Index int32
	Name  string
	// Type is the ARPHRD_* device type.
	Type uint16
	// Flags are the IFF_* flags as dev_get_flags reports them
	// (IFFLowerUp included).
	Flags uint32
	MTU   uint32
	// MinMTU and MaxMTU bound MTU changes (0: no bound), as
	// dev_validate_mtu checks them.
	MinMTU, MaxMTU uint32
	TxQueueLen     uint32
	// OperState is the RFC 2863 state (IF_OPER_*).
	OperState uint8
	// Addr and Broadcast are the hardware addresses.
	Addr, Broadcast []byte
	// Link is the ifindex of the device this one is attached to
	// (iflink); its own index when none.
	Link  int32
	Stats Stats
	// Kind is the device's rtnetlink kind (IFLA_INFO_KIND): "tun" for
	// a TUN or TAP device, described by TUN; "" for others.
	Kind string
	TUN  netstack.TUNDevice
	// Forwarding6 is the interface's net.ipv6.conf.*.forwarding: an
	// IPv6 router's interface is in the all-routers groups.
	Forwarding6 bool
	// GroupsDropped is set when the interface went down after it was
	// up: Linux took its multicast groups out of its link-layer filter
	// (ip_mc_down, ipv6_mc_down) and puts them back when it comes up.
	GroupsDropped bool
}

// Up reports IFF_UP.
func (it *Interface) Up() bool { return it.Flags&linux.IFF_UP != 0 }

// Carrier reports whether the device has a carrier (IFF_LOWER_UP).
func (it *Interface) Carrier() bool { return it.Flags&IFFLowerUp != 0 }

// Stats are a device's counters, the fields of struct
// rtnl_link_stats64 that the stack counts.
type Stats struct {
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	RxErrors, TxErrors   uint64
	RxDropped, TxDropped uint64
	Multicast            uint64
}

// Address is one IPv4 or IPv6 address of an interface.
type Address struct {
	// Index is the interface's.
	Index int32
	// Prefix is the local address with its prefix length.
	Prefix netip.Prefix
	// Broadcast is the IPv4 broadcast address, if the address has one.
	Broadcast netip.Addr
	// Scope is the RT_SCOPE_* of the address.
	Scope uint8
	// Flags are the IFA_F_* flags.
	Flags uint32
	// Label is the IPv4 label (the interface's name).
	Label string
}

// Route is one route of a routing table.
type Route struct {
	// Family is AF_INET or AF_INET6.
	Family uint8
	// Table is RT_TABLE_MAIN or RT_TABLE_LOCAL.
	Table uint8
	// Type is the RTN_* route type, Protocol the RTPROT_* origin and
	// Scope the RT_SCOPE_* distance.
	Type, Protocol, Scope uint8
	Dst                   netip.Prefix
	// Gateway and PrefSrc are invalid when the route has none.
	Gateway, PrefSrc netip.Addr
	// OIF is the output interface's index.
	OIF      int32
	Priority uint32
	// Flags are the RTNH_F_* flags of its next hop (RTNH_F_LINKDOWN).
	Flags uint32
}

// Network is a network configuration to read. Methods return snapshots
// ordered as Linux dumps them.
type Network interface {
	Interfaces() ([]Interface, error)
	Addresses() ([]Address, error)
	Routes() ([]Route, error)
}

// Configurator is a Network that can be changed (with CAP_NET_ADMIN in
// the sandbox, which the caller checks). Errors are Linux errnos.
type Configurator interface {
	Network
	// SetUp brings interface index up or down (IFF_UP).
	SetUp(index int32, up bool) error
	// SetMTU changes the interface's MTU.
	SetMTU(index int32, mtu uint32) error
	// AddAddress adds an address to an interface, with what o gives.
	AddAddress(index int32, p netip.Prefix, o AddrOptions) error
	// DelAddress removes one (EADDRNOTAVAIL if it does not exist).
	DelAddress(index int32, p netip.Prefix) error
	// AddRoute adds a route to the main table; replace replaces one of
	// the same destination, else that is EEXIST.
	AddRoute(r Route, replace bool) error
	// DelRoute removes the main-table routes r matches (ESRCH if none):
	// zero fields of r match anything but the destination.
	DelRoute(r Route) error
}

// AddrOptions are what an address is added with besides its prefix.
type AddrOptions struct {
	// Broadcast is an IPv4 address's broadcast address (invalid or
	// 0.0.0.0: none).
	Broadcast netip.Addr
	// Scope is an IPv4 address's RT_SCOPE_* (an IPv6 one's comes from
	// the address).
	Scope uint8
	// Label is an IPv4 address's label ("": the interface's name), which
	// names an alias ("eth0:1") for the interface ioctls.
	Label string
	// Replace allows the address to exist already (NLM_F_REPLACE),
	// else that is EEXIST.
	Replace bool
}

// ByIndex returns the interface of index in ifs.
func ByIndex(ifs []Interface, index int32) (*Interface, bool) {
	for i := range ifs {
		if ifs[i].Index == index {
			return &ifs[i], true
		}
	}
	return nil, false
}

// ByName returns the interface called name in ifs.
func ByName(ifs []Interface, name string) (*Interface, bool) {
	for i := range ifs {
		if ifs[i].Name == name {
			return &ifs[i], true
		}
	}
	return nil, false
}

// AddrScope is the scope Linux gives an address: host for loopback
// addresses, link for IPv6 link-local ones, universe otherwise.
func AddrScope(a netip.Addr) uint8 {
	switch {
	case a.IsLoopback():
		return linux.RT_SCOPE_HOST
	case a.Is6() && a.IsLinkLocalUnicast():
		return linux.RT_SCOPE_LINK
	}
	return linux.RT_SCOPE_UNIVERSE
}

// IPv4Broadcast returns the broadcast address of an IPv4 prefix, which
// exists for prefixes shorter than /31.
func IPv4Broadcast(p netip.Prefix) (netip.Addr, bool) {
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return netip.Addr{}, false
	}
	b := p.Addr().As4()
	host := ^uint32(0) >> p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}
