package netlink

import (
	"errors"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// HostRoute is the kernel side of NETLINK_ROUTE for a hostNetwork pod:
// GET requests go to the host's rtnetlink and their replies come back,
// so the sandbox sees the node's interfaces, addresses and routes as
// runc's host-network containers do. Changes are refused (EPERM): the
// node's network is not the sandbox's to change.
type HostRoute struct {
	host *netif.Host
}

var _ Protocol = (*HostRoute)(nil)

// NewHostRoute returns rtnetlink forwarded to h.
func NewHostRoute(h *netif.Host) *HostRoute { return &HostRoute{host: h} }

// Groups implements Protocol.Groups.
func (*HostRoute) Groups() int { return rtnlGroups }

// NonrootRecv implements Protocol.NonrootRecv. The host's announcements
// are not forwarded: a listener hears nothing.
func (*HostRoute) NonrootRecv() bool { return true }

// Serve implements Protocol.Serve: a GET goes to the host as it came
// (acknowledgement and echo requests aside, which are the socket's);
// the host's errors come back as they are.
func (h *HostRoute) Serve(m nlmsg.Message, c *Caller) ([]nlmsg.Message, bool, linux.Errno) {
	kind, err, ok := rtnlCheck(m, c)
	if !ok {
		return nil, false, err
	}
	if kind != kindGet {
		return nil, false, linux.EPERM
	}
	dump := isDump(m)
	replies, rerr := h.host.Request(m.Type, m.Flags&^(nlmsg.FlagRequest|nlmsg.FlagAck|nlmsg.FlagEcho), m.Payload)
	var de *netif.DumpError
	if errors.As(rerr, &de) {
		// The host's dump failed: the sandbox's ends the same way,
		// with the error in its NLMSG_DONE.
		return nil, true, de.Errno
	}
	if rerr != nil {
		return nil, false, errnoOf(rerr)
	}
	for i := range replies {
		replies[i].Flags &^= nlmsg.FlagMulti
	}
	return replies, dump, 0
}
