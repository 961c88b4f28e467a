package netfilter

// The matches: tcp and udp (xt_tcpudp), owner (xt_owner), and the
// inverted -p of the IP header filter, which the stack's filter cannot
// express.

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// matches4 are the IPv4 matches the sandbox implements, by name.
var matches4 = map[string]extensionKind{
	// struct xt_tcp: spts[2], dpts[2], option, flg_mask, flg_cmp,
	// invflags.
	"tcp": {size: 12, proto: unix.IPPROTO_TCP, makeMatcher: newTCPMatcher},
	// struct xt_udp: spts[2], dpts[2], invflags.
	"udp": {size: 9, proto: unix.IPPROTO_UDP, makeMatcher: newUDPMatcher},
	// struct xt_owner_match_info: uid_min, uid_max, gid_min, gid_max,
	// match, invert. Only locally generated packets have an owner.
	"owner": {revision: 1, size: 18, hooks: outBit | postBit, makeMatcher: newOwnerMatcher},
	// struct xt_multiport_v1: flags, count, ports[15], pflags[15],
	// invert.
	"multiport": {revision: 1, size: 48, portProto: true, makeMatcher: newMultiportMatcher},
	// struct ipt_icmp: type, code[2], invflags.
	"icmp": {size: 4, proto: unix.IPPROTO_ICMP, makeMatcher: newICMPMatcher(header.ICMPv4ProtocolNumber, header.ICMPv4MinimumSize)},
	// struct xt_mark_mtinfo1: mark, mask, invert.
	"mark": {revision: 1, size: 9, makeMatcher: newMarkMatcher},
	// struct xt_rateinfo (limit.go).
	"limit": {size: 40, makeMatcher: newLimitMatcher},
	// struct xt_comment_info: comment[256], which iptables-save shows.
	"comment": {size: 256, makeMatcher: func([]byte) (stack.Matcher, *Error) { return everyPacket{}, nil }},
	// struct xt_state_info: statemask (conntrack.go).
	"state":     {size: 4, makeMatcher: newStateMatcher},
	"conntrack": {revision: 3, size: sizeofConntrack3, makeMatcher: newConntrackMatcher},
}

// matches6 are the IPv6 matches: the same but for icmp6, whose struct
// ip6t_icmp is ipt_icmp's.
var matches6 = map[string]extensionKind{
	"tcp":       matches4["tcp"],
	"udp":       matches4["udp"],
	"owner":     matches4["owner"],
	"multiport": matches4["multiport"],
	"state":     matches4["state"],
	"conntrack": matches4["conntrack"],
	"comment":   matches4["comment"],
	"mark":      matches4["mark"],
	"limit":     matches4["limit"],
	"icmp6":     {size: 4, proto: unix.IPPROTO_ICMPV6, makeMatcher: newICMPMatcher(header.ICMPv6ProtocolNumber, header.ICMPv6MinimumSize)},
}

// The inversion flags of xt_tcp and xt_udp.
const (
	invSrcPorts = 0x01 // XT_TCP_INV_SRCPT, XT_UDP_INV_SRCPT
	invDstPorts = 0x02 // XT_TCP_INV_DSTPT, XT_UDP_INV_DSTPT
	invTCPFlags = 0x04 // XT_TCP_INV_FLAGS
	invTCPOpt   = 0x08 // XT_TCP_INV_OPTION
)

// portRange is a match's port range.
type portRange struct {
	min, max uint16
	invert   bool
}

func (r portRange) matches(port uint16) bool {
	return (port >= r.min && port <= r.max) != r.invert
}

func portRanges(data []byte, inv uint8) (src, dst portRange) {
	return portRange{le.Uint16(data[0:]), le.Uint16(data[2:]), inv&invSrcPorts != 0},
		portRange{le.Uint16(data[4:]), le.Uint16(data[6:]), inv&invDstPorts != 0}
}

// packetProtocol returns the packet's transport protocol and, for IPv4,
// its fragment offset in bytes (the stack has reassembled IPv6
// fragments before any hook that matches ports).
func packetProtocol(pkt *stack.PacketBuffer) (tcpip.TransportProtocolNumber, uint16, bool) {
	switch pkt.NetworkProtocolNumber {
	case header.IPv4ProtocolNumber:
		ip := header.IPv4(pkt.NetworkHeader().Slice())
		return ip.TransportProtocol(), ip.FragmentOffset(), true
	case header.IPv6ProtocolNumber:
		if p := pkt.TransportProtocolNumber; p != 0 {
			return p, 0, true
		}
		// A raw socket's packet, which has no extension headers.
		return header.IPv6(pkt.NetworkHeader().Slice()).TransportProtocol(), 0, true
	}
	return 0, 0, false
}

// transportOf returns the packet's transport header if its protocol is
// proto, and whether the packet is to be dropped (a first fragment too
// short to hold the header, as tcp_mt and udp_mt hot-drop). Later
// fragments do not match.
func transportOf(pkt *stack.PacketBuffer, proto tcpip.TransportProtocolNumber, minSize int) (hdr []byte, hotdrop bool) {
	p, frag, ok := packetProtocol(pkt)
	if !ok || p != proto {
		return nil, false
	}
	if frag != 0 {
		// Offset 8 is a fragment that overlaps the ports (fragoff 1).
		return nil, frag == 8
	}
	return transportBytes(pkt, minSize)
}

// transportBytes returns at least minSize bytes of the packet's
// transport header (hot-dropping a packet too short to have them): the
// parsed header, or, for a packet a raw socket sends (whose transport
// header the stack never parses), the start of its payload.
func transportBytes(pkt *stack.PacketBuffer, minSize int) (hdr []byte, hotdrop bool) {
	hdr = pkt.TransportHeader().Slice()
	if len(hdr) == 0 {
		hdr, _ = pkt.Data().PullUp(minSize)
	}
	if len(hdr) < minSize {
		return nil, true
	}
	return hdr, false
}

// tcpMatcher is the tcp match.
type tcpMatcher struct {
	src, dst          portRange
	option            uint8
	flagMask, flagCmp uint8
	inv               uint8
}

func newTCPMatcher(data []byte) (stack.Matcher, *Error) {
	inv := data[11]
	if inv&^(invSrcPorts|invDstPorts|invTCPFlags|invTCPOpt) != 0 {
		return nil, fail(unix.EINVAL, "tcp: unknown inversion flags %#x", inv)
	}
	m := &tcpMatcher{option: data[8], flagMask: data[9], flagCmp: data[10], inv: inv}
	m.src, m.dst = portRanges(data, inv)
	return m, nil
}

// Match implements stack.Matcher (tcp_mt).
func (m *tcpMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	hdr, hotdrop := transportOf(pkt, header.TCPProtocolNumber, header.TCPMinimumSize)
	if hdr == nil {
		return false, hotdrop
	}
	tcp := header.TCP(hdr)
	if !m.src.matches(tcp.SourcePort()) || !m.dst.matches(tcp.DestinationPort()) {
		return false, false
	}
	if (uint8(tcp.Flags())&m.flagMask == m.flagCmp) == (m.inv&invTCPFlags != 0) {
		return false, false
	}
	if m.option != 0 {
		off := int(tcp.DataOffset())
		if off < header.TCPMinimumSize {
			return false, true
		}
		if hdr, _ = transportBytes(pkt, off); hdr == nil {
			return false, true
		}
		if hasTCPOption(hdr[header.TCPMinimumSize:off], m.option) == (m.inv&invTCPOpt != 0) {
			return false, false
		}
	}
	return true, false
}

// hasTCPOption reports whether opts hold option kind (tcp_find_option).
func hasTCPOption(opts []byte, kind uint8) bool {
	for i := 0; i < len(opts); {
		if opts[i] == kind {
			return true
		}
		if opts[i] < 2 || i+1 >= len(opts) {
			i++
			continue
		}
		i += max(int(opts[i+1]), 1)
	}
	return false
}

// udpMatcher is the udp match.
type udpMatcher struct{ src, dst portRange }

func newUDPMatcher(data []byte) (stack.Matcher, *Error) {
	inv := data[8]
	if inv&^(invSrcPorts|invDstPorts) != 0 {
		return nil, fail(unix.EINVAL, "udp: unknown inversion flags %#x", inv)
	}
	m := &udpMatcher{}
	m.src, m.dst = portRanges(data, inv)
	return m, nil
}

// Match implements stack.Matcher (udp_mt).
func (m *udpMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	hdr, hotdrop := transportOf(pkt, header.UDPProtocolNumber, header.UDPMinimumSize)
	if hdr == nil {
		return false, hotdrop
	}
	udp := header.UDP(hdr)
	return m.src.matches(udp.SourcePort()) && m.dst.matches(udp.DestinationPort()), false
}

// multiportMatcher is the multiport match: up to 15 ports or ranges,
// of the source, the destination or either.
type multiportMatcher struct {
	which  uint8 // XT_MULTIPORT_SOURCE, _DESTINATION or _EITHER
	ranges []portRange
	invert bool
}

const (
	multiportSource      = 0
	multiportDestination = 1
	multiportEither      = 2
	multiportMax         = 15 // XT_MULTI_PORTS
)

func newMultiportMatcher(data []byte) (stack.Matcher, *Error) {
	m := &multiportMatcher{which: data[0], invert: data[47] != 0}
	count := int(data[1])
	if m.which > multiportEither || count > multiportMax {
		return nil, fail(unix.EINVAL, "multiport: bad flags or count")
	}
	for i := 0; i < count; i++ {
		lo := le.Uint16(data[2+2*i:])
		r := portRange{min: lo, max: lo}
		if data[32+i] != 0 {
			// ports[i] and ports[i+1] are a range.
			if i+1 >= count {
				return nil, fail(unix.EINVAL, "multiport: a range without its end")
			}
			i++
			r.max = le.Uint16(data[2+2*i:])
		}
		m.ranges = append(m.ranges, r)
	}
	return m, nil
}

// Match implements stack.Matcher (multiport_mt): the rule's -p is TCP
// or UDP, which the compiler checked.
func (m *multiportMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	if _, frag, ok := packetProtocol(pkt); !ok || frag != 0 {
		return false, false
	}
	// Both protocols have their ports first.
	ports, hotdrop := transportBytes(pkt, 4)
	if ports == nil {
		return false, hotdrop
	}
	src, dst := uint16(ports[0])<<8|uint16(ports[1]), uint16(ports[2])<<8|uint16(ports[3])
	for _, r := range m.ranges {
		if (m.which != multiportDestination && r.matches(src)) || (m.which != multiportSource && r.matches(dst)) {
			return !m.invert, false
		}
	}
	return m.invert, false
}

// icmpMatcher is the icmp (and icmp6) match: a type (255: any) and a
// code range.
type icmpMatcher struct {
	proto                 tcpip.TransportProtocolNumber
	minSize               int
	typ, codeMin, codeMax uint8
	invert                bool
}

func newICMPMatcher(proto tcpip.TransportProtocolNumber, minSize int) func([]byte) (stack.Matcher, *Error) {
	return func(data []byte) (stack.Matcher, *Error) {
		if data[3]&^1 != 0 {
			return nil, fail(unix.EINVAL, "icmp: unknown inversion flags %#x", data[3])
		}
		return &icmpMatcher{proto: proto, minSize: minSize, typ: data[0], codeMin: data[1], codeMax: data[2], invert: data[3] != 0}, nil
	}
}

// Match implements stack.Matcher (icmp_match, icmp6_match).
func (m *icmpMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	hdr, hotdrop := transportOf(pkt, m.proto, m.minSize)
	if hdr == nil {
		return false, hotdrop
	}
	matches := m.typ == 0xff || (hdr[0] == m.typ && hdr[1] >= m.codeMin && hdr[1] <= m.codeMax)
	return matches != m.invert, false
}

// xt_owner_match_info's flags.
const (
	ownerUID         = 0x01 // XT_OWNER_UID
	ownerGID         = 0x02 // XT_OWNER_GID
	ownerSocket      = 0x04 // XT_OWNER_SOCKET
	ownerSupplGroups = 0x08 // XT_OWNER_SUPPL_GROUPS
)

// ownerMatcher is the owner match: the user and group of the socket a
// locally generated packet comes from, as its creator's were.
type ownerMatcher struct {
	uidMin, uidMax, gidMin, gidMax uint32
	match, invert                  uint8
}

func newOwnerMatcher(data []byte) (stack.Matcher, *Error) {
	m := &ownerMatcher{
		uidMin: le.Uint32(data[0:]), uidMax: le.Uint32(data[4:]),
		gidMin: le.Uint32(data[8:]), gidMax: le.Uint32(data[12:]),
		match: data[16], invert: data[17],
	}
	const known = ownerUID | ownerGID | ownerSocket | ownerSupplGroups
	if m.match&^known != 0 || m.invert&^known != 0 {
		return nil, fail(unix.EINVAL, "owner: unknown flags")
	}
	if m.match&ownerSupplGroups != 0 {
		return nil, fail(unix.EOPNOTSUPP, "owner: --suppl-groups is not supported in the sandbox")
	}
	return m, nil
}

// Match implements stack.Matcher (owner_mt).
func (m *ownerMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	owner := pkt.Owner
	if owner == nil {
		// Not from a local socket: only a rule that tests nothing,
		// or only asks for no socket, matches.
		return m.match^m.invert == 0, false
	}
	if m.match&m.invert&ownerSocket != 0 {
		return false, false
	}
	if m.match&ownerUID != 0 {
		uid := owner.KUID()
		if (uid >= m.uidMin && uid <= m.uidMax) == (m.invert&ownerUID != 0) {
			return false, false
		}
	}
	if m.match&ownerGID != 0 {
		gid := owner.KGID()
		if (gid >= m.gidMin && gid <= m.gidMax) == (m.invert&ownerGID != 0) {
			return false, false
		}
	}
	return true, false
}

// markMatcher is the mark match: the packet's mark (SO_MARK, the MARK
// target) under a mask.
type markMatcher struct {
	mark, mask uint32
	invert     bool
}

func newMarkMatcher(data []byte) (stack.Matcher, *Error) {
	return &markMatcher{mark: le.Uint32(data), mask: le.Uint32(data[4:]), invert: data[8] != 0}, nil
}

// Match implements stack.Matcher (mark_mt).
func (m *markMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	return (pkt.Mark&m.mask == m.mark) != m.invert, false
}

// everyPacket matches every packet: the comment match's.
type everyPacket struct{}

// Match implements stack.Matcher.
func (everyPacket) Match(stack.Hook, *stack.PacketBuffer, string, string) (bool, bool) {
	return true, false
}

// protocolMatcher is the entry's -p PROTO (or ! -p PROTO).
type protocolMatcher struct {
	proto  tcpip.TransportProtocolNumber
	invert bool
}

// Match implements stack.Matcher.
func (m protocolMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	p, _, ok := packetProtocol(pkt)
	return ok && (p == m.proto) != m.invert, false
}
