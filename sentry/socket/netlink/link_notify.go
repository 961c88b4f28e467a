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
