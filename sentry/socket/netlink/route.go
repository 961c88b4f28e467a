package netlink

import (
	"bytes"
	"net/netip"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// rtnetlink on the sandbox's network: rtnetlink_rcv_msg's dispatch, the
// dumps and lookups of links, addresses and routes as rtnl_fill_ifinfo,
// inet_fill_ifaddr, inet6_fill_ifaddr, fib_dump_info and rt6_fill_node
// encode them, and the changes netstack can make (netif.Configurator).

const (
	// rtmMax is RTM_MAX: higher types are EOPNOTSUPP.
	rtmMax = 123
	// rtnlGroups is RTNLGRP_MAX.
	rtnlGroups = 36
	// RTNL_FAMILY_IPMR and RTNL_FAMILY_IP6MR: the multicast routing
	// tables, which the sandbox has empty.
	familyIPMR  = 128
	familyIP6MR = 129
	// sizeofStats and sizeofStats64 are sizeof(struct rtnl_link_stats)
	// and sizeof(struct rtnl_link_stats64) of Linux 6.x.
	sizeofStats   = 24 * 4
	sizeofStats64 = 25 * 8
	// sizeofIfmap is sizeof(struct rtnl_link_ifmap).
	sizeofIfmap = 32
	// sizeofRtaCacheinfo is sizeof(struct rta_cacheinfo).
	sizeofRtaCacheinfo = 32
	// ifNameSize is IFNAMSIZ.
	ifNameSize = 16
)

// The kinds of rtnetlink messages (rtnl_msgtype_kind).
const (
	kindNew = 0
	kindDel = 1
	kindGet = 2
	kindSet = 3
)

// Route is the kernel side of NETLINK_ROUTE over the sandbox's own
// network.
type Route struct {
	// network returns the network to show and change (made on first
	// use: the sandbox's stack may not exist yet).
	network func() (netif.Network, error)
}

var _ Protocol = (*Route)(nil)

// NewRoute returns rtnetlink over the network network returns.
func NewRoute(network func() (netif.Network, error)) *Route { return &Route{network: network} }

// Groups implements Protocol.Groups.
func (*Route) Groups() int { return rtnlGroups }

// NonrootRecv implements Protocol.NonrootRecv: anyone may listen to
// rtnetlink's announcements.
func (*Route) NonrootRecv() bool { return true }

// rtnlCheck is rtnetlink_rcv_msg's start: the type's range, the rtgenmsg
// every message has, and CAP_NET_ADMIN for all but GET. ok false ends
// the request with err (0: silently).
func rtnlCheck(m nlmsg.Message, c *Caller) (kind int, err linux.Errno, ok bool) {
	if m.Type > rtmMax {
		return 0, linux.EOPNOTSUPP, false
	}
	if len(m.Payload) < 1 {
		return 0, 0, false
	}
	kind = int(m.Type-linux.RTM_BASE) & 3
	if kind != kindGet && !c.NetAdmin {
		return 0, linux.EPERM, false
	}
	return kind, 0, true
}

// isDump reports a GET with either bit of NLM_F_DUMP, as rtnetlink
// tests it.
func isDump(m nlmsg.Message) bool { return m.Flags&nlmsg.FlagDump != 0 }

// Serve implements Protocol.Serve.
func (r *Route) Serve(m nlmsg.Message, c *Caller) ([]nlmsg.Message, bool, linux.Errno) {
	kind, err, ok := rtnlCheck(m, c)
	if !ok {
		return nil, false, err
	}
	n, nerr := r.network()
	if nerr != nil {
		return nil, false, linux.ENOBUFS
	}
	family := m.Payload[0]
	if kind == kindGet && isDump(m) {
		var msgs []nlmsg.Message
		var err linux.Errno
		switch m.Type {
		case linux.RTM_GETLINK:
			msgs, err = dumpLinks(n, family)
		case linux.RTM_GETADDR:
			msgs, err = dumpAddrs(n, m, family, c.Strict)
		case linux.RTM_GETROUTE:
			msgs, err = dumpRoutes(n, m, family, c.Strict)
		case linux.RTM_GETNEIGH:
			msgs, err = dumpNeighbours(n, m, family, c.Strict)
		case linux.RTM_GETRULE:
			msgs, err = dumpRules(m, family, c.Strict)
		case linux.RTM_GETQDISC:
			msgs, err = dumpQdiscs(n)
		default:
			return nil, false, linux.EOPNOTSUPP
		}
		return msgs, true, err
	}
	var reply *nlmsg.Message
	switch m.Type {
	case linux.RTM_GETLINK:
		reply, err = getLink(n, m)
	case linux.RTM_GETADDR:
		if family != linux.AF_INET6 {
			// Only IPv6 has a doit (inet6_rtm_getaddr).
			return nil, false, linux.EOPNOTSUPP
		}
		reply, err = getAddr6(n, m)
	case linux.RTM_GETROUTE:
		reply, err = getRoute(n, m, family)
	case linux.RTM_GETNEIGH:
		reply, err = getNeighbour(n, m)
	case linux.RTM_NEWLINK, linux.RTM_SETLINK:
		err = setLink(n, m, c)
	case linux.RTM_NEWADDR, linux.RTM_DELADDR:
		err = changeAddr(n, m, family, c)
	case linux.RTM_NEWROUTE, linux.RTM_DELROUTE:
		err = changeRoute(n, m, family, c)
	case linux.RTM_NEWNEIGH, linux.RTM_DELNEIGH:
		err = changeNeighbour(n, m)
	default:
		// RTM_NEWRULE and RTM_DELRULE among them: netstack has no
		// policy routing, only the rules a new namespace has
		// (route_rule.go).
		// RTM_DELLINK among them: netstack cannot delete a link
		// cleanly.
		return nil, false, linux.EOPNOTSUPP
	}
	if err != 0 || reply == nil {
		return nil, false, err
	}
	return []nlmsg.Message{*reply}, false, 0
}

// linkMessage encodes interface it as rtnl_fill_ifinfo does (the
// attributes the stack has values for).
func linkMessage(typ uint16, it *netif.Interface) nlmsg.Message {
	var w nlmsg.Builder
	w.Fixed(nlmsg.IfInfoMsg{Family: linux.AF_UNSPEC, Type: it.Type, Index: it.Index, Flags: it.Flags}.Encode())
	w.String(linux.IFLA_IFNAME, it.Name)
	w.U32(linux.IFLA_TXQLEN, it.TxQueueLen)
	w.U8(linux.IFLA_OPERSTATE, it.OperState)
	w.U8(linux.IFLA_LINKMODE, 0)
	w.U32(linux.IFLA_MTU, it.MTU)
	w.U32(linux.IFLA_MIN_MTU, it.MinMTU)
	w.U32(linux.IFLA_MAX_MTU, it.MaxMTU)
	w.U32(linux.IFLA_GROUP, 0)
	promisc := uint32(0)
	if it.Flags&linux.IFF_PROMISC != 0 {
		promisc = 1
	}
	w.U32(linux.IFLA_PROMISCUITY, promisc)
	w.U32(linux.IFLA_ALLMULTI, 0)
	w.U32(linux.IFLA_NUM_TX_QUEUES, 1)
	w.U32(linux.IFLA_NUM_RX_QUEUES, 1)
	if it.Link != it.Index {
		w.U32(linux.IFLA_LINK, uint32(it.Link))
	}
	carrier := uint8(0)
	if it.Carrier() {
		carrier = 1
	}
	w.U8(linux.IFLA_CARRIER, carrier)
	w.String(linux.IFLA_QDISC, "noqueue")
	w.Attr(linux.IFLA_MAP, make([]byte, sizeofIfmap))
	if len(it.Addr) > 0 {
		// A device without a hardware address (a TUN) has neither
		// attribute (rtnl_fill_ifinfo checks dev->addr_len).
		w.Attr(linux.IFLA_ADDRESS, it.Addr)
		w.Attr(linux.IFLA_BROADCAST, it.Broadcast)
	}
	st := it.Stats
	// struct rtnl_link_stats64, then struct rtnl_link_stats: rx and tx
	// packets, bytes, errors, dropped, then multicast; the rest zero.
	fields := []uint64{st.RxPackets, st.TxPackets, st.RxBytes, st.TxBytes, st.RxErrors, st.TxErrors, st.RxDropped, st.TxDropped, st.Multicast}
	s64 := make([]byte, sizeofStats64)
	s32 := make([]byte, sizeofStats)
	for i, v := range fields {
		le.PutUint64(s64[i*8:], v)
		le.PutUint32(s32[i*4:], uint32(v))
	}
	w.Attr(linux.IFLA_STATS64, s64)
	w.Attr(linux.IFLA_STATS, s32)
	if it.Kind != "" {
		w.Nest(linux.IFLA_LINKINFO, func(w *nlmsg.Builder) {
			w.String(linux.IFLA_INFO_KIND, it.Kind)
			if it.Kind == "tun" {
				w.Nest(linux.IFLA_INFO_DATA, func(w *nlmsg.Builder) { tunInfo(w, it.TUN) })
			}
		})
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: typ}, Payload: w.Bytes()}
}

// tunInfo encodes a TUN or TAP device's IFLA_INFO_DATA as tun_fill_info
// does, with one queue. The owner and group are the kernel IDs, as the
// sandbox's initial user namespace sees them: a message goes to every
// listener alike, where Linux maps them into the dumping task's
// namespace.
func tunInfo(w *nlmsg.Builder, d netstack.TUNDevice) {
	bit := func(b bool) uint8 {
		if b {
			return 1
		}
		return 0
	}
	typ := uint8(linux.IFF_TUN)
	if d.TAP {
		typ = linux.IFF_TAP
	}
	if d.HasOwner {
		w.U32(linux.IFLA_TUN_OWNER, d.Owner)
	}
	if d.HasGroup {
		w.U32(linux.IFLA_TUN_GROUP, d.Group)
	}
	w.U8(linux.IFLA_TUN_TYPE, typ)
	w.U8(linux.IFLA_TUN_PI, bit(d.PacketInfo))
	w.U8(linux.IFLA_TUN_VNET_HDR, bit(d.VnetHdr))
	w.U8(linux.IFLA_TUN_PERSIST, bit(d.Persistent))
	w.U8(linux.IFLA_TUN_MULTI_QUEUE, 0)
}

// dumpLinks is rtnl_dump_ifinfo: every interface, in index order.
// AF_BRIDGE's dump lists bridge ports, which the sandbox has none of.
func dumpLinks(n netif.Network, family uint8) ([]nlmsg.Message, linux.Errno) {
	if family == linux.AF_BRIDGE {
		return nil, 0
	}
	ifs, err := n.Interfaces()
	if err != nil {
		return nil, errnoOf(err)
	}
	out := make([]nlmsg.Message, 0, len(ifs))
	for i := range ifs {
		out = append(out, linkMessage(linux.RTM_NEWLINK, &ifs[i]))
	}
	return out, 0
}

// findLink locates the interface a link request names: by ifi_index, or
// IFLA_IFNAME (or IFLA_ALT_IFNAME) when the index is 0; EINVAL when it
// names none, ENODEV when there is no such interface.
func findLink(ifs []netif.Interface, ifi nlmsg.IfInfoMsg, attrs map[uint16][]byte) (*netif.Interface, linux.Errno) {
	if ifi.Index > 0 {
		if it, ok := netif.ByIndex(ifs, ifi.Index); ok {
			return it, 0
		}
		return nil, linux.ENODEV
	}
	name, ok := attrs[linux.IFLA_IFNAME]
	if !ok {
		name, ok = attrs[linux.IFLA_ALT_IFNAME]
	}
	if !ok {
		return nil, linux.EINVAL
	}
	if len(nlmsg.Str(name)) >= ifNameSize {
		return nil, linux.EINVAL
	}
	if it, ok := netif.ByName(ifs, nlmsg.Str(name)); ok {
		return it, 0
	}
	return nil, linux.ENODEV
}

// parseLink decodes a link request's header and attributes (EINVAL when
// either is malformed).
func parseLink(m nlmsg.Message) (nlmsg.IfInfoMsg, map[uint16][]byte, linux.Errno) {
	if len(m.Payload) < nlmsg.IfInfoMsgLen {
		return nlmsg.IfInfoMsg{}, nil, linux.EINVAL
	}
	attrs, ok := nlmsg.Attrs(m.Payload[nlmsg.IfInfoMsgLen:])
	if !ok {
		return nlmsg.IfInfoMsg{}, nil, linux.EINVAL
	}
	return nlmsg.DecodeIfInfoMsg(m.Payload), attrs, 0
}

// getLink is rtnl_getlink: one interface.
func getLink(n netif.Network, m nlmsg.Message) (*nlmsg.Message, linux.Errno) {
	ifi, attrs, err := parseLink(m)
	if err != 0 {
		return nil, err
	}
	ifs, ierr := n.Interfaces()
	if ierr != nil {
		return nil, errnoOf(ierr)
	}
	it, err := findLink(ifs, ifi, attrs)
	if err != 0 {
		return nil, err
	}
	reply := linkMessage(linux.RTM_NEWLINK, it)
	return &reply, 0
}

// changeableFlags are the flags dev_change_flags lets a caller set.
const changeableFlags = linux.IFF_UP | linux.IFF_DEBUG | linux.IFF_NOTRAILERS | linux.IFF_NOARP |
	linux.IFF_DYNAMIC | linux.IFF_MULTICAST | linux.IFF_PORTSEL | linux.IFF_AUTOMEDIA |
	linux.IFF_PROMISC | linux.IFF_ALLMULTI

// setLink is rtnl_newlink and rtnl_setlink on an existing interface:
// IFF_UP and IFLA_MTU, which netstack can change. Creating links (a
// kind), other flags and other attributes are EOPNOTSUPP.
func setLink(n netif.Network, m nlmsg.Message, c *Caller) linux.Errno {
	ifi, attrs, err := parseLink(m)
	if err != 0 {
		return err
	}
	conf, ok := n.(netif.Configurator)
	if !ok {
		return linux.EOPNOTSUPP
	}
	ifs, ierr := n.Interfaces()
	if ierr != nil {
		return errnoOf(ierr)
	}
	it, err := findLink(ifs, ifi, attrs)
	if err == linux.EINVAL && m.Type == linux.RTM_NEWLINK {
		err = linux.ENODEV
	}
	if err == linux.ENODEV && m.Type == linux.RTM_NEWLINK && m.Flags&nlmsg.FlagCreate != 0 {
		// Creating a device: netstack's NICs are made at boot only.
		return linux.EOPNOTSUPP
	}
	if err != 0 {
		return err
	}
	if m.Type == linux.RTM_NEWLINK && m.Flags&nlmsg.FlagExcl != 0 {
		return linux.EEXIST
	}
	for typ := range attrs {
		switch typ {
		case linux.IFLA_IFNAME, linux.IFLA_ALT_IFNAME:
			if nlmsg.Str(attrs[typ]) != it.Name && typ == linux.IFLA_IFNAME && ifi.Index > 0 {
				return linux.EOPNOTSUPP // renaming
			}
		case linux.IFLA_MTU, linux.IFLA_EXT_MASK:
		default:
			return linux.EOPNOTSUPP
		}
	}
	flags := it.Flags
	if ifi.Flags != 0 || ifi.Change != 0 {
		flags = ifi.Flags
		if ifi.Change != 0 {
			flags = ifi.Flags&ifi.Change | it.Flags&^ifi.Change
		}
		if (flags^it.Flags)&changeableFlags&^linux.IFF_UP != 0 {
			return linux.EOPNOTSUPP
		}
	}
	if v, ok := attrs[linux.IFLA_MTU]; ok {
		mtu, ok := nlmsg.U32(v)
		if !ok {
			return linux.EINVAL
		}
		if mtu != it.MTU {
			if err := conf.SetMTU(it.Index, mtu); err != nil {
				return errnoOf(err)
			}
		}
	}
	before, _ := n.Addresses()
	if up := flags&linux.IFF_UP != 0; up != it.Up() {
		if err := conf.SetUp(it.Index, up); err != nil {
			return errnoOf(err)
		}
	}
	if ifs, err := n.Interfaces(); err == nil {
		if it, ok := netif.ByIndex(ifs, it.Index); ok {
			notify(c, m, linux.RTNLGRP_LINK, linkMessage(linux.RTM_NEWLINK, it))
		}
	}
	if c.Notify != nil {
		addressChanges(n, it.Index, before, c.Notify)
	}
	return 0
}

// notify announces a change to the group's listeners with the request's
// sequence number and port, as rtnl_notify does.
func notify(c *Caller, req nlmsg.Message, group uint32, m nlmsg.Message) {
	if c.Notify == nil {
		return
	}
	m.Seq, m.PortID = req.Seq, c.PortID
	c.Notify(group, m)
}

func errnoOf(err error) linux.Errno {
	if e, ok := err.(linux.Errno); ok {
		return e
	}
	return linux.EINVAL
}

// addrMessage encodes an address as inet_fill_ifaddr (IPv4) or
// inet6_fill_ifaddr (IPv6) does.
func addrMessage(typ uint16, a *netif.Address) nlmsg.Message {
	var w nlmsg.Builder
	ip := a.Prefix.Addr()
	family := uint8(linux.AF_INET6)
	if ip.Is4() {
		family = linux.AF_INET
	}
	w.Fixed(nlmsg.IfAddrMsg{Family: family, PrefixLen: uint8(a.Prefix.Bits()), Flags: uint8(a.Flags), Scope: a.Scope, Index: uint32(a.Index)}.Encode())
	// struct ifa_cacheinfo: preferred and valid lifetimes, creation and
	// update stamps.
	ci := le.AppendUint32(nil, netif.InfinityLifeTime)
	ci = le.AppendUint32(ci, netif.InfinityLifeTime)
	ci = append(ci, make([]byte, 8)...)
	if ip.Is4() {
		w.Addr(linux.IFA_ADDRESS, ip)
		w.Addr(linux.IFA_LOCAL, ip)
		if a.Broadcast.IsValid() {
			w.Addr(linux.IFA_BROADCAST, a.Broadcast)
		}
		if a.Label != "" {
			w.String(linux.IFA_LABEL, a.Label)
		}
		w.U32(linux.IFA_FLAGS, a.Flags)
		w.Attr(linux.IFA_CACHEINFO, ci)
	} else {
		w.Addr(linux.IFA_ADDRESS, ip)
		w.Attr(linux.IFA_CACHEINFO, ci)
		w.U32(linux.IFA_FLAGS, a.Flags)
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: typ}, Payload: w.Bytes()}
}

// dumpAddrs is inet_dump_ifaddr and inet6_dump_ifaddr: IPv4, IPv6, or
// both (rtnl_dump_all) for any other family. With strict checking the
// header must be clean and ifa_index filters.
func dumpAddrs(n netif.Network, m nlmsg.Message, family uint8, strict bool) ([]nlmsg.Message, linux.Errno) {
	var index uint32
	if strict {
		if len(m.Payload) < nlmsg.IfAddrMsgLen {
			return nil, linux.EINVAL
		}
		ifa := nlmsg.DecodeIfAddrMsg(m.Payload)
		if ifa.PrefixLen != 0 || ifa.Flags != 0 || ifa.Scope != 0 {
			return nil, linux.EINVAL
		}
		index = ifa.Index
	}
	addrs, err := n.Addresses()
	if err != nil {
		return nil, errnoOf(err)
	}
	var out []nlmsg.Message
	for i := range addrs {
		a := &addrs[i]
		if (family == linux.AF_INET && !a.Prefix.Addr().Is4()) || (family == linux.AF_INET6 && a.Prefix.Addr().Is4()) {
			continue
		}
		if index != 0 && uint32(a.Index) != index {
			continue
		}
		out = append(out, addrMessage(linux.RTM_NEWADDR, a))
	}
	return out, 0
}

// parseAddr decodes an address request: its header, attributes and
// local address (IFA_LOCAL, else IFA_ADDRESS). EINVAL when malformed or
// without an address of the family.
func parseAddr(m nlmsg.Message, family uint8) (nlmsg.IfAddrMsg, map[uint16][]byte, netip.Addr, linux.Errno) {
	if len(m.Payload) < nlmsg.IfAddrMsgLen {
		return nlmsg.IfAddrMsg{}, nil, netip.Addr{}, linux.EINVAL
	}
	attrs, ok := nlmsg.Attrs(m.Payload[nlmsg.IfAddrMsgLen:])
	if !ok {
		return nlmsg.IfAddrMsg{}, nil, netip.Addr{}, linux.EINVAL
	}
	ifa := nlmsg.DecodeIfAddrMsg(m.Payload)
	v, ok := attrs[linux.IFA_LOCAL]
	if !ok {
		v = attrs[linux.IFA_ADDRESS]
	}
	ip, ok := nlmsg.IP(v, family)
	if !ok {
		return ifa, attrs, netip.Addr{}, linux.EINVAL
	}
	return ifa, attrs, ip, 0
}

// getAddr6 is inet6_rtm_getaddr: the IPv6 address IFA_ADDRESS (or
// IFA_LOCAL) names, on ifa_index if set.
func getAddr6(n netif.Network, m nlmsg.Message) (*nlmsg.Message, linux.Errno) {
	ifa, _, ip, err := parseAddr(m, linux.AF_INET6)
	if err != 0 {
		return nil, err
	}
	addrs, aerr := n.Addresses()
	if aerr != nil {
		return nil, errnoOf(aerr)
	}
	for i := range addrs {
		a := &addrs[i]
		if a.Prefix.Addr() == ip && (ifa.Index == 0 || uint32(a.Index) == ifa.Index) {
			reply := addrMessage(linux.RTM_NEWADDR, a)
			return &reply, 0
		}
	}
	return nil, linux.EADDRNOTAVAIL
}

// changeAddr is inet_rtm_newaddr, inet_rtm_deladdr and their IPv6
// counterparts.
func changeAddr(n netif.Network, m nlmsg.Message, family uint8, c *Caller) linux.Errno {
	if family != linux.AF_INET && family != linux.AF_INET6 {
		return linux.EOPNOTSUPP
	}
	ifa, attrs, ip, err := parseAddr(m, family)
	if err != 0 {
		return err
	}
	if l, ok := attrs[linux.IFA_LABEL]; ok && family == linux.AF_INET && len(bytes.TrimSuffix(l, []byte{0})) > linux.IFNAMSIZ-1 {
		// ifa_ipv4_policy's NLA_STRING of at most IFNAMSIZ-1 bytes.
		return linux.ERANGE
	}
	if int(ifa.PrefixLen) > ip.BitLen() {
		return linux.EINVAL
	}
	conf, ok := n.(netif.Configurator)
	if !ok {
		return linux.EOPNOTSUPP
	}
	ifs, ierr := n.Interfaces()
	if ierr != nil {
		return errnoOf(ierr)
	}
	if _, ok := netif.ByIndex(ifs, int32(ifa.Index)); !ok {
		return linux.ENODEV
	}
	group := addrGroup(ip)
	find := func(p netip.Prefix) *netif.Address {
		addrs, _ := n.Addresses()
		for i := range addrs {
			if a := &addrs[i]; a.Index == int32(ifa.Index) && a.Prefix.Addr() == p.Addr() && (p.Bits() == 0 || a.Prefix.Bits() == p.Bits()) {
				return a
			}
		}
		return nil
	}
	if m.Type == linux.RTM_DELADDR {
		p := netip.PrefixFrom(ip, 0)
		if _, ok := attrs[linux.IFA_ADDRESS]; ok {
			p = netip.PrefixFrom(ip, int(ifa.PrefixLen))
		}
		old := find(p)
		if l, ok := attrs[linux.IFA_LABEL]; ok && family == linux.AF_INET && old != nil && old.Label != nlmsg.Str(l) {
			// inet_rtm_deladdr deletes only the address with the
			// label given.
			old = nil
		}
		if old == nil {
			return linux.EADDRNOTAVAIL
		}
		gone := *old
		before, _ := n.Addresses()
		if err := conf.DelAddress(int32(ifa.Index), p); err != nil {
			return errnoOf(err)
		}
		// A primary IPv4 address takes its secondaries with it, which
		// Linux announces first, or promotes one, which it announces
		// after (inet_del_ifa).
		after, _ := n.Addresses()
		lookup := func(list []netif.Address, a *netif.Address) *netif.Address {
			for i := range list {
				if list[i].Index == a.Index && list[i].Prefix == a.Prefix {
					return &list[i]
				}
			}
			return nil
		}
		for i := range before {
			if a := &before[i]; a.Index == gone.Index && a.Prefix != gone.Prefix && lookup(after, a) == nil {
				notify(c, m, group, addrMessage(linux.RTM_DELADDR, a))
			}
		}
		notify(c, m, group, addrMessage(linux.RTM_DELADDR, &gone))
		for i := range after {
			if a := &after[i]; a.Index == gone.Index {
				if was := lookup(before, a); was != nil && was.Flags&linux.IFA_F_SECONDARY != 0 && a.Flags&linux.IFA_F_SECONDARY == 0 {
					notify(c, m, group, addrMessage(linux.RTM_NEWADDR, a))
				}
			}
		}
		return 0
	}
	p := netip.PrefixFrom(ip, int(ifa.PrefixLen))
	if find(netip.PrefixFrom(ip, 0)) != nil {
		if m.Flags&nlmsg.FlagExcl != 0 || m.Flags&nlmsg.FlagReplace == 0 {
			return linux.EEXIST
		}
	}
	var broadcast netip.Addr
	if b, ok := attrs[linux.IFA_BROADCAST]; ok && family == linux.AF_INET {
		if broadcast, ok = netip.AddrFromSlice(b); !ok || !broadcast.Is4() {
			return linux.EINVAL
		}
	}
	var label string
	if family == linux.AF_INET {
		label = nlmsg.Str(attrs[linux.IFA_LABEL])
	}
	o := netif.AddrOptions{Broadcast: broadcast, Scope: ifa.Scope, Label: label, Replace: m.Flags&nlmsg.FlagReplace != 0}
	if err := conf.AddAddress(int32(ifa.Index), p, o); err != nil {
		return errnoOf(err)
	}
	if a := find(p); a != nil {
		notify(c, m, group, addrMessage(linux.RTM_NEWADDR, a))
	}
	return 0
}
