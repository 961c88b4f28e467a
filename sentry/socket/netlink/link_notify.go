package netlink

import (
	"net/netip"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// LinkChanged announces the state of interface index of n, the network
// of the namespace's NETLINK_ROUTE, after a change made outside
// rtnetlink (ioctl SIOCSIFFLAGS): an RTM_NEWLINK to the RTNLGRP_LINK
// listeners with sequence number and port ID 0, as Linux's rtmsg_ifinfo
// sends for __dev_notify_flags. Nothing is sent for an interface that is
// gone, or by a namespace without NETLINK_ROUTE.
func (ns *Namespace) LinkChanged(n netif.Network, index int32) {
	if _, ok := ns.protocols[linux.NETLINK_ROUTE]; !ok {
		return
	}
	ifs, err := n.Interfaces()
	if err != nil {
		return
	}
	it, ok := netif.ByIndex(ifs, index)
	if !ok {
		return
	}
	ns.broadcast(linux.NETLINK_ROUTE, linux.RTNLGRP_LINK, 0, linkMessage(linux.RTM_NEWLINK, it).Bytes(), nil)
}

// LinkRemoved announces that interface it, as it was last described, is
// gone (a TUN device's last file closed): an RTM_DELLINK to the
// RTNLGRP_LINK listeners, as rtmsg_ifinfo sends from unregister_netdevice.
func (ns *Namespace) LinkRemoved(it netif.Interface) {
	if _, ok := ns.protocols[linux.NETLINK_ROUTE]; !ok {
		return
	}
	it.Flags &^= linux.IFF_UP | linux.IFF_RUNNING | netif.IFFLowerUp
	ns.broadcast(linux.NETLINK_ROUTE, linux.RTNLGRP_LINK, 0, linkMessage(linux.RTM_DELLINK, &it).Bytes(), nil)
}

// AddressesChanged announces what interface index of n gained and lost
// since before, its addresses then, through a change made outside
// rtnetlink (ioctl SIOCSIFFLAGS); see addressChanges.
func (ns *Namespace) AddressesChanged(n netif.Network, index int32, before []netif.Address) {
	if _, ok := ns.protocols[linux.NETLINK_ROUTE]; !ok {
		return
	}
	addressChanges(n, index, before, func(group uint32, m nlmsg.Message) {
		ns.broadcast(linux.NETLINK_ROUTE, group, 0, m.Bytes(), nil)
	})
}

// addressChanges sends, for interface index of n, an RTM_DELADDR for each
// address of before it no longer has and an RTM_NEWADDR for each it has
// gained, to the family's group with sequence number and port ID 0: a
// link going down drops its IPv6 addresses and one coming up gains its
// link-local, which Linux's addrconf announces (ipv6_ifa_notify) after
// the link's own RTM_NEWLINK.
func addressChanges(n netif.Network, index int32, before []netif.Address, send func(group uint32, m nlmsg.Message)) {
	after, err := n.Addresses()
	if err != nil {
		return
	}
	has := func(list []netif.Address, a netif.Address) bool {
		for _, b := range list {
			if b.Index == a.Index && b.Prefix == a.Prefix {
				return true
			}
		}
		return false
	}
	for i := range before {
		if a := before[i]; a.Index == index && !has(after, a) {
			send(addrGroup(a.Prefix.Addr()), addrMessage(linux.RTM_DELADDR, &a))
		}
	}
	for i := range after {
		if a := after[i]; a.Index == index && !has(before, a) {
			send(addrGroup(a.Prefix.Addr()), addrMessage(linux.RTM_NEWADDR, &a))
		}
	}
}

// addrGroup is the rtnetlink group that hears of changes to address ip.
func addrGroup(ip netip.Addr) uint32 {
	if ip.Is4() {
		return linux.RTNLGRP_IPV4_IFADDR
	}
	return linux.RTNLGRP_IPV6_IFADDR
}
