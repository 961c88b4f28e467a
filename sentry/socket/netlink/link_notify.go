package netlink

import (
	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
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
