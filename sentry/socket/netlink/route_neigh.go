package netlink

import (
	"time"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// The neighbour tables (net/core/neighbour.c): RTM_GETNEIGH dumps
// (neigh_dump_info) and lookups (neigh_get) of the ARP and NDP caches of
// the sandbox's stack. Proxy entries (NTF_PROXY) are never made here,
// so their table is empty.

// ndMsgLen is sizeof(struct ndmsg).
const ndMsgLen = linux.SizeofNdMsg

// ndMsg is struct ndmsg.
type ndMsg struct {
	family  uint8
	pad1    uint8
	pad2    uint16
	ifindex int32
	state   uint16
	flags   uint8
	typ     uint8
}

func (m ndMsg) encode() []byte {
	b := make([]byte, ndMsgLen)
	b[0], b[1] = m.family, m.pad1
	le.PutUint16(b[2:], m.pad2)
	le.PutUint32(b[4:], uint32(m.ifindex))
	le.PutUint16(b[8:], m.state)
	b[10], b[11] = m.flags, m.typ
	return b
}

// decodeNdMsg reads an ndmsg; b must hold ndMsgLen bytes.
func decodeNdMsg(b []byte) ndMsg {
	return ndMsg{family: b[0], pad1: b[1], pad2: le.Uint16(b[2:]), ifindex: int32(le.Uint32(b[4:])), state: le.Uint16(b[8:]), flags: b[10], typ: b[11]}
}

// userHZ is USER_HZ, the unit of struct nda_cacheinfo's times.
const userHZ = 100

// neighMessage encodes an entry as neigh_fill_info does.
func neighMessage(nb *netif.Neighbour, flags uint16) nlmsg.Message {
	var w nlmsg.Builder
	family := uint8(linux.AF_INET6)
	if nb.Addr.Is4() {
		family = linux.AF_INET
	}
	w.Fixed(ndMsg{family: family, ifindex: nb.Index, state: nb.State, typ: linux.RTN_UNICAST}.encode())
	w.Addr(linux.NDA_DST, nb.Addr)
	if nb.State&netif.NUDValid != 0 && nb.LinkAddr != nil {
		w.Attr(linux.NDA_LLADDR, nb.LinkAddr)
	}
	w.U32(linux.NDA_PROBES, 0)
	// struct nda_cacheinfo: confirmed, used, updated (clock ticks ago)
	// and the reference count less the table's own.
	ticks := uint32(nb.Age / (time.Second / userHZ))
	ci := make([]byte, 16)
	le.PutUint32(ci[0:], ticks)
	le.PutUint32(ci[4:], ticks)
	le.PutUint32(ci[8:], ticks)
	w.Attr(linux.NDA_CACHEINFO, ci)
	return nlmsg.Message{Header: nlmsg.Header{Type: linux.RTM_NEWNEIGH, Flags: flags}, Payload: w.Bytes()}
}

// neighbours returns n's neighbour entries, IPv4's table before IPv6's
// as neigh_dump_info walks them; a network that cannot list them has
// none.
func neighbours(n netif.Network) ([]netif.Neighbour, linux.Errno) {
	l, ok := n.(netif.NeighbourLister)
	if !ok {
		return nil, 0
	}
	all, err := l.Neighbours()
	if err != nil {
		return nil, errnoOf(err)
	}
	out := make([]netif.Neighbour, 0, len(all))
	for _, v4 := range []bool{true, false} {
		for i := range all {
			if all[i].Addr.Is4() == v4 {
				out = append(out, all[i])
			}
		}
	}
	return out, 0
}

// neighFamily reports whether family has a neighbour table
// (neigh_find_table).
func neighFamily(family uint8) bool { return family == linux.AF_INET || family == linux.AF_INET6 }

// dumpNeighbours is neigh_dump_info: the tables of the family (all for
// AF_UNSPEC), filtered by NDA_IFINDEX and NDA_MASTER as
// neigh_valid_dump_req reads them. Only a strict request's errors fail
// the dump; a lenient one's malformed filter is ignored.
func dumpNeighbours(n netif.Network, m nlmsg.Message, family uint8, strict bool) ([]nlmsg.Message, linux.Errno) {
	proxy := len(m.Payload) >= ndMsgLen && decodeNdMsg(m.Payload).flags == linux.NTF_PROXY
	var devIdx, masterIdx uint32
	if err := func() linux.Errno {
		if len(m.Payload) < ndMsgLen {
			return linux.EINVAL
		}
		if strict {
			nd := decodeNdMsg(m.Payload)
			if nd.pad1 != 0 || nd.pad2 != 0 || nd.ifindex != 0 || nd.state != 0 || nd.typ != 0 {
				return linux.EINVAL
			}
			if nd.flags&^linux.NTF_PROXY != 0 {
				return linux.EINVAL
			}
		}
		attrs, ok := nlmsg.Attrs(m.Payload[ndMsgLen:])
		if !ok {
			return linux.EINVAL
		}
		for typ, v := range attrs {
			switch typ {
			case linux.NDA_IFINDEX, linux.NDA_MASTER:
				x, ok := nlmsg.U32(v)
				if !ok {
					return linux.EINVAL
				}
				if typ == linux.NDA_IFINDEX {
					devIdx = x
				} else {
					masterIdx = x
				}
			default:
				if strict {
					return linux.EINVAL
				}
			}
		}
		return 0
	}(); err != 0 && strict {
		return nil, err
	}
	if proxy || (family != linux.AF_UNSPEC && !neighFamily(family)) {
		return nil, 0
	}
	if masterIdx != 0 {
		// No interface of the sandbox's has a master (a bridge or
		// bond), so every entry is filtered out.
		return nil, 0
	}
	all, err := neighbours(n)
	if err != 0 {
		return nil, err
	}
	var flags uint16
	if devIdx != 0 {
		flags = linux.NLM_F_DUMP_FILTERED
	}
	var out []nlmsg.Message
	for i := range all {
		nb := &all[i]
		if (family == linux.AF_INET && !nb.Addr.Is4()) || (family == linux.AF_INET6 && nb.Addr.Is4()) {
			continue
		}
		if devIdx != 0 && uint32(nb.Index) != devIdx {
			continue
		}
		out = append(out, neighMessage(nb, flags))
	}
	return out, 0
}

// getNeighbour is neigh_get: the entry for NDA_DST on ndm_ifindex,
// its request checked in the order Linux 6.x does.
func getNeighbour(n netif.Network, m nlmsg.Message) (*nlmsg.Message, linux.Errno) {
	// neigh_valid_get_req: always strict.
	if len(m.Payload) < ndMsgLen {
		return nil, linux.EINVAL
	}
	nd := decodeNdMsg(m.Payload)
	if nd.pad1 != 0 || nd.pad2 != 0 || nd.state != 0 || nd.typ != 0 || nd.flags&^linux.NTF_PROXY != 0 {
		return nil, linux.EINVAL
	}
	proxy := nd.flags&linux.NTF_PROXY != 0
	if !proxy && nd.ifindex == 0 {
		return nil, linux.EINVAL
	}
	attrs, ok := nlmsg.Attrs(m.Payload[ndMsgLen:])
	if !ok {
		return nil, linux.EINVAL
	}
	for typ := range attrs {
		if typ != linux.NDA_DST {
			return nil, linux.EINVAL
		}
	}
	// Linux wants the address before it looks at the family, and the
	// family's table before the address's size and the interface.
	v, ok := attrs[linux.NDA_DST]
	if !ok {
		return nil, linux.EINVAL
	}
	if !neighFamily(nd.family) {
		return nil, linux.EAFNOSUPPORT
	}
	dst, ok := nlmsg.IP(v, nd.family)
	if !ok || len(v) != dst.BitLen()/8 {
		return nil, linux.EINVAL
	}
	if nd.ifindex != 0 {
		ifs, err := n.Interfaces()
		if err != nil {
			return nil, errnoOf(err)
		}
		if _, ok := netif.ByIndex(ifs, nd.ifindex); !ok {
			return nil, linux.ENODEV
		}
	}
	if proxy {
		return nil, linux.ENOENT
	}
	all, err := neighbours(n)
	if err != 0 {
		return nil, err
	}
	for i := range all {
		if all[i].Index == nd.ifindex && all[i].Addr == dst {
			reply := neighMessage(&all[i], 0)
			return &reply, 0
		}
	}
	return nil, linux.ENOENT
}

// changeNeighbour is neigh_add (RTM_NEWNEIGH) and neigh_delete
// (RTM_DELNEIGH), their requests checked in Linux's order. The stack
// holds permanent entries only (netif.Stack.SetNeighbour): a new entry in
// another state, one without a link address and proxy entries are
// EOPNOTSUPP. No RTNLGRP_NEIGH announcement is sent.
func changeNeighbour(n netif.Network, m nlmsg.Message) linux.Errno {
	if len(m.Payload) < ndMsgLen {
		return linux.EINVAL
	}
	nd := decodeNdMsg(m.Payload)
	attrs, ok := nlmsg.Attrs(m.Payload[ndMsgLen:])
	if !ok {
		return linux.EINVAL
	}
	v, ok := attrs[linux.NDA_DST]
	if !ok {
		return linux.EINVAL
	}
	ifs, err := n.Interfaces()
	if err != nil {
		return errnoOf(err)
	}
	var it *netif.Interface
	if nd.ifindex != 0 {
		if it, ok = netif.ByIndex(ifs, nd.ifindex); !ok {
			return linux.ENODEV
		}
	}
	lladdr, hasLL := attrs[linux.NDA_LLADDR]
	if m.Type == linux.RTM_NEWNEIGH && it != nil && hasLL && len(lladdr) < len(it.Addr) {
		return linux.EINVAL
	}
	if !neighFamily(nd.family) {
		return linux.EAFNOSUPPORT
	}
	dst, ok := nlmsg.IP(v, nd.family)
	if !ok {
		return linux.EINVAL
	}
	if nd.flags&linux.NTF_PROXY != 0 {
		if m.Type == linux.RTM_DELNEIGH {
			// The proxy table is always empty.
			return linux.ENOENT
		}
		return linux.EOPNOTSUPP
	}
	if it == nil {
		return linux.EINVAL
	}
	conf, ok := n.(netif.NeighbourConfigurator)
	if !ok {
		return linux.EOPNOTSUPP
	}
	if m.Type == linux.RTM_DELNEIGH {
		return errnoOf(conf.DelNeighbour(it.Index, dst))
	}
	create := m.Flags&nlmsg.FlagCreate != 0
	if create && (!hasLL || nd.state&(netif.NUDPermanent|netif.NUDNoARP) == 0) {
		return linux.EOPNOTSUPP
	}
	if hasLL {
		lladdr = lladdr[:len(it.Addr)]
	}
	return errnoOf(conf.SetNeighbour(it.Index, dst, lladdr, create, m.Flags&nlmsg.FlagExcl != 0, m.Flags&nlmsg.FlagReplace != 0))
}
