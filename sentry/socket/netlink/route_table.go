package netlink

import (
	"net/netip"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// Routes in rtnetlink: RTM_GETROUTE dumps and lookups, RTM_NEWROUTE and
// RTM_DELROUTE.

// routeMessage encodes a route as fib_dump_info (IPv4) or rt6_fill_node
// (IPv6) does; flags are the rtm_flags.
func routeMessage(typ uint16, r *netif.Route, flags uint32) nlmsg.Message {
	var w nlmsg.Builder
	w.Fixed(nlmsg.RtMsg{
		Family: r.Family, DstLen: uint8(r.Dst.Bits()), Table: r.Table,
		Protocol: r.Protocol, Scope: r.Scope, Type: r.Type, Flags: flags | r.Flags,
	}.Encode())
	w.U32(linux.RTA_TABLE, uint32(r.Table))
	if r.Dst.Bits() > 0 {
		w.Addr(linux.RTA_DST, r.Dst.Addr())
	}
	if r.Family == linux.AF_INET {
		if r.Priority != 0 {
			w.U32(linux.RTA_PRIORITY, r.Priority)
		}
		if r.PrefSrc.IsValid() {
			w.Addr(linux.RTA_PREFSRC, r.PrefSrc)
		}
		if r.Gateway.IsValid() {
			w.Addr(linux.RTA_GATEWAY, r.Gateway)
		}
		if r.OIF != 0 {
			w.U32(linux.RTA_OIF, uint32(r.OIF))
		}
	} else {
		if r.PrefSrc.IsValid() {
			w.Addr(linux.RTA_PREFSRC, r.PrefSrc)
		}
		w.U32(linux.RTA_PRIORITY, r.Priority)
		if r.Gateway.IsValid() {
			w.Addr(linux.RTA_GATEWAY, r.Gateway)
		}
		if r.OIF != 0 {
			w.U32(linux.RTA_OIF, uint32(r.OIF))
		}
		// struct rta_cacheinfo: no use counts, no expiry.
		w.Attr(linux.RTA_CACHEINFO, make([]byte, sizeofRtaCacheinfo))
		w.U8(linux.RTA_PREF, 0) // ICMPV6_ROUTER_PREF_MEDIUM
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: typ}, Payload: w.Bytes()}
}

// dumpRoutes is inet_dump_fib and inet6_dump_fib: IPv4's tables, then
// IPv6's (both for a family without its own dump); the multicast
// routing tables are empty. A request for the route cache
// (RTM_F_CLONED) finds it empty: netstack caches no routes. With strict
// checking the header is checked and rtm_table filters.
func dumpRoutes(n netif.Network, m nlmsg.Message, family uint8, strict bool) ([]nlmsg.Message, linux.Errno) {
	if family == familyIPMR || family == familyIP6MR {
		return nil, 0
	}
	var table uint8
	if len(m.Payload) >= nlmsg.RtMsgLen {
		rtm := nlmsg.DecodeRtMsg(m.Payload)
		if rtm.Flags&linux.RTM_F_CLONED != 0 {
			return nil, 0
		}
		if strict {
			if rtm.DstLen != 0 || rtm.SrcLen != 0 || rtm.Tos != 0 || rtm.Scope != 0 {
				return nil, linux.EINVAL
			}
			table = rtm.Table
		}
	} else if strict {
		return nil, linux.EINVAL
	}
	routes, err := n.Routes()
	if err != nil {
		return nil, errnoOf(err)
	}
	var out []nlmsg.Message
	for i := range routes {
		r := &routes[i]
		if (family == linux.AF_INET || family == linux.AF_INET6) && r.Family != family {
			continue
		}
		if table != 0 && r.Table != table {
			continue
		}
		out = append(out, routeMessage(linux.RTM_NEWROUTE, r, 0))
	}
	return out, 0
}

// parseRoute decodes a route request: header, attributes, destination
// (the default route without RTA_DST). EINVAL when malformed.
func parseRoute(m nlmsg.Message, family uint8) (nlmsg.RtMsg, map[uint16][]byte, netip.Prefix, linux.Errno) {
	if len(m.Payload) < nlmsg.RtMsgLen {
		return nlmsg.RtMsg{}, nil, netip.Prefix{}, linux.EINVAL
	}
	attrs, ok := nlmsg.Attrs(m.Payload[nlmsg.RtMsgLen:])
	if !ok {
		return nlmsg.RtMsg{}, nil, netip.Prefix{}, linux.EINVAL
	}
	rtm := nlmsg.DecodeRtMsg(m.Payload)
	zero := netip.IPv4Unspecified()
	if family == linux.AF_INET6 {
		zero = netip.IPv6Unspecified()
	}
	dst := zero
	if v, ok := attrs[linux.RTA_DST]; ok {
		if dst, ok = nlmsg.IP(v, family); !ok {
			return rtm, attrs, netip.Prefix{}, linux.EINVAL
		}
	}
	if int(rtm.DstLen) > zero.BitLen() {
		return rtm, attrs, netip.Prefix{}, linux.EINVAL
	}
	return rtm, attrs, netip.PrefixFrom(dst, int(rtm.DstLen)), 0
}

// getRoute is inet_rtm_getroute and inet6_rtm_getroute: the route a
// packet to RTA_DST takes, as a cloned (RTM_F_CLONED) route: the local
// table for the sandbox's own addresses, else the main table's longest
// match (ENETUNREACH when none), with the source address the stack
// would pick.
func getRoute(n netif.Network, m nlmsg.Message, family uint8) (*nlmsg.Message, linux.Errno) {
	if family != linux.AF_INET && family != linux.AF_INET6 {
		return nil, linux.EOPNOTSUPP
	}
	_, attrs, dst, err := parseRoute(m, family)
	if err != 0 {
		return nil, err
	}
	target := dst.Addr()
	routes, rerr := n.Routes()
	if rerr != nil {
		return nil, errnoOf(rerr)
	}
	var oif uint32
	if v, ok := attrs[linux.RTA_OIF]; ok {
		oif, _ = nlmsg.U32(v)
	}
	var best *netif.Route
	for _, table := range []uint8{linux.RT_TABLE_LOCAL, linux.RT_TABLE_MAIN} {
		for i := range routes {
			r := &routes[i]
			if r.Table != table || r.Family != family || !r.Dst.Contains(target) {
				continue
			}
			if r.Type != linux.RTN_UNICAST && r.Type != linux.RTN_LOCAL {
				continue
			}
			if oif != 0 && r.Type == linux.RTN_UNICAST && uint32(r.OIF) != oif {
				continue
			}
			if best == nil || r.Dst.Bits() > best.Dst.Bits() {
				best = r
			}
		}
		if best != nil {
			break
		}
	}
	if best == nil {
		return nil, linux.ENETUNREACH
	}
	res := netif.Route{
		Family: family, Table: best.Table, Type: best.Type, Protocol: linux.RTPROT_UNSPEC,
		Scope: linux.RT_SCOPE_UNIVERSE, Dst: netip.PrefixFrom(target, target.BitLen()),
		Gateway: best.Gateway, OIF: best.OIF, PrefSrc: best.PrefSrc,
	}
	if family == linux.AF_INET6 {
		res.Priority = best.Priority
	}
	if !res.PrefSrc.IsValid() {
		res.PrefSrc = sourceFor(n, res.OIF, target)
	}
	if res.Type == linux.RTN_LOCAL && family == linux.AF_INET {
		res.PrefSrc = target
	}
	if family == linux.AF_INET6 {
		reply := routeMessage(linux.RTM_NEWROUTE, &res, linux.RTM_F_CLONED)
		return &reply, 0
	}
	// rt_fill_info: the main table (the local one is merged into it),
	// RTCF_LOCAL in the flags of a local route, the attributes in its
	// order.
	flags := uint32(linux.RTM_F_CLONED)
	if res.Type == linux.RTN_LOCAL {
		flags |= rtcfLocal
	}
	var w nlmsg.Builder
	w.Fixed(nlmsg.RtMsg{Family: family, DstLen: 32, Table: linux.RT_TABLE_MAIN, Scope: res.Scope, Type: res.Type, Flags: flags}.Encode())
	w.U32(linux.RTA_TABLE, linux.RT_TABLE_MAIN)
	w.Addr(linux.RTA_DST, target)
	if res.OIF != 0 {
		w.U32(linux.RTA_OIF, uint32(res.OIF))
	}
	if res.PrefSrc.IsValid() {
		w.Addr(linux.RTA_PREFSRC, res.PrefSrc)
	}
	if res.Gateway.IsValid() {
		w.Addr(linux.RTA_GATEWAY, res.Gateway)
	}
	w.Attr(linux.RTA_CACHEINFO, make([]byte, sizeofRtaCacheinfo))
	return &nlmsg.Message{Header: nlmsg.Header{Type: linux.RTM_NEWROUTE}, Payload: w.Bytes()}, 0
}

// rtcfLocal is RTCF_LOCAL, which a cloned local route's flags carry.
const rtcfLocal = 0x80000000

// sourceFor picks the source address for dst out of oif: an address of
// the interface in dst's prefix, else its first of the family.
func sourceFor(n netif.Network, oif int32, dst netip.Addr) netip.Addr {
	addrs, err := n.Addresses()
	if err != nil {
		return netip.Addr{}
	}
	var first netip.Addr
	for _, a := range addrs {
		if a.Index != oif || a.Prefix.Addr().Is4() != dst.Is4() {
			continue
		}
		if a.Prefix.Contains(dst) {
			return a.Prefix.Addr()
		}
		if !first.IsValid() {
			first = a.Prefix.Addr()
		}
	}
	return first
}

// changeRoute is inet_rtm_newroute and inet_rtm_delroute (and IPv6's):
// unicast routes of the main table. Other tables, types, multipath
// routes and metrics are EOPNOTSUPP: netstack has one table of plain
// routes.
func changeRoute(n netif.Network, m nlmsg.Message, family uint8, c *Caller) linux.Errno {
	if family != linux.AF_INET && family != linux.AF_INET6 {
		return linux.EOPNOTSUPP
	}
	rtm, attrs, dst, err := parseRoute(m, family)
	if err != 0 {
		return err
	}
	conf, ok := n.(netif.Configurator)
	if !ok {
		return linux.EOPNOTSUPP
	}
	table := uint32(rtm.Table)
	if v, ok := attrs[linux.RTA_TABLE]; ok {
		table, _ = nlmsg.U32(v)
	}
	if table != linux.RT_TABLE_UNSPEC && table != linux.RT_TABLE_MAIN {
		return linux.EOPNOTSUPP
	}
	if m.Type == linux.RTM_NEWROUTE && rtm.Type != linux.RTN_UNICAST {
		return linux.EOPNOTSUPP
	}
	for typ := range attrs {
		switch typ {
		case linux.RTA_DST, linux.RTA_GATEWAY, linux.RTA_OIF, linux.RTA_PRIORITY, linux.RTA_PREFSRC, linux.RTA_TABLE:
		default:
			return linux.EOPNOTSUPP
		}
	}
	r := netif.Route{Family: family, Table: linux.RT_TABLE_MAIN, Type: linux.RTN_UNICAST, Dst: dst.Masked()}
	if v, ok := attrs[linux.RTA_GATEWAY]; ok {
		if r.Gateway, ok = nlmsg.IP(v, family); !ok {
			return linux.EINVAL
		}
	}
	if v, ok := attrs[linux.RTA_PREFSRC]; ok {
		if r.PrefSrc, ok = nlmsg.IP(v, family); !ok {
			return linux.EINVAL
		}
	}
	if v, ok := attrs[linux.RTA_OIF]; ok {
		oif, ok := nlmsg.U32(v)
		if !ok {
			return linux.EINVAL
		}
		r.OIF = int32(oif)
	}
	group := uint32(linux.RTNLGRP_IPV4_ROUTE)
	if family == linux.AF_INET6 {
		group = linux.RTNLGRP_IPV6_ROUTE
	}
	routes, rerr := n.Routes()
	if rerr != nil {
		return errnoOf(rerr)
	}
	if m.Type == linux.RTM_DELROUTE {
		var gone *netif.Route
		for i := range routes {
			o := &routes[i]
			if o.Table == linux.RT_TABLE_MAIN && o.Family == family && o.Dst == r.Dst &&
				(r.OIF == 0 || o.OIF == r.OIF) && (!r.Gateway.IsValid() || o.Gateway == r.Gateway) {
				gone = o
				break
			}
		}
		if gone == nil {
			return linux.ESRCH
		}
		if err := conf.DelRoute(r); err != nil {
			return errnoOf(err)
		}
		notify(c, m, group, routeMessage(linux.RTM_DELROUTE, gone, 0))
		return 0
	}
	if r.OIF == 0 {
		if !r.Gateway.IsValid() {
			return linux.EINVAL // no nexthop device
		}
		if r.OIF = deviceFor(n, r.Gateway); r.OIF == 0 {
			return linux.ENETUNREACH
		}
	}
	if ifs, err := n.Interfaces(); err != nil {
		return errnoOf(err)
	} else if _, ok := netif.ByIndex(ifs, r.OIF); !ok {
		return linux.ENODEV
	}
	if r.Gateway.IsValid() && !onLink(routes, r.OIF, r.Gateway) {
		return linux.ENETUNREACH
	}
	exists := false
	for _, o := range routes {
		if o.Table == linux.RT_TABLE_MAIN && o.Family == family && o.Dst == r.Dst {
			exists = true
		}
	}
	switch {
	case exists && (m.Flags&nlmsg.FlagExcl != 0 || m.Flags&nlmsg.FlagReplace == 0):
		return linux.EEXIST
	case !exists && m.Flags&nlmsg.FlagCreate == 0 && family == linux.AF_INET:
		// fib_table_insert; IPv6 creates anyway.
		return linux.ENOENT
	}
	if err := conf.AddRoute(r, m.Flags&nlmsg.FlagReplace != 0); err != nil {
		return errnoOf(err)
	}
	if routes, err := n.Routes(); err == nil {
		for i := range routes {
			if o := &routes[i]; o.Table == linux.RT_TABLE_MAIN && o.Family == family && o.Dst == r.Dst {
				notify(c, m, group, routeMessage(linux.RTM_NEWROUTE, o, 0))
				break
			}
		}
	}
	return 0
}

// deviceFor is the interface a gateway is reached through: the one of
// the link (or, on lo, local) prefix route that covers it (0 if none).
func deviceFor(n netif.Network, gw netip.Addr) int32 {
	routes, err := n.Routes()
	if err != nil {
		return 0
	}
	var best *netif.Route
	for i := range routes {
		r := &routes[i]
		if (r.Type == linux.RTN_UNICAST || r.Type == linux.RTN_LOCAL) && !r.Gateway.IsValid() && r.Dst.Contains(gw) && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
			best = r
		}
	}
	if best == nil {
		return 0
	}
	return best.OIF
}

// onLink reports whether a gateway is directly reachable through oif
// (fib_check_nh_v4_gw): a route through oif without a gateway covers it.
func onLink(routes []netif.Route, oif int32, gw netip.Addr) bool {
	for _, r := range routes {
		if r.OIF == oif && !r.Gateway.IsValid() && r.Dst.Contains(gw) && (r.Type == linux.RTN_UNICAST || r.Type == linux.RTN_LOCAL) {
			return true
		}
	}
	return false
}
