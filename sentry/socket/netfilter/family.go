package netfilter

// What differs between ip_tables (IPv4) and ip6_tables (IPv6): the
// entry's layout, its IP header filter, and which extensions exist at
// which revisions and sizes.

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// family is one of ip_tables and ip6_tables.
type family struct {
	name  string // as Linux's messages name it
	ipv6  bool
	proto tcpip.NetworkProtocolNumber
	l     layout
	// filter translates the entry's IP header filter.
	filter func(ip []byte) (stack.IPHeaderFilter, []stack.Matcher, entryProtocol, *Error)
	// matches and targets are the extensions besides the standard
	// target and ERROR, by name.
	matches, targets map[string]extensionKind
}

var ipTables = &family{
	name:    "ip_tables",
	proto:   header.IPv4ProtocolNumber,
	l:       ipv4Layout,
	filter:  filter4,
	matches: matches4,
	targets: targets4,
}

var ip6Tables = &family{
	name:    "ip6_tables",
	ipv6:    true,
	proto:   header.IPv6ProtocolNumber,
	l:       ipv6Layout,
	filter:  filter6,
	matches: matches6,
	targets: targets6,
}

// familyOf returns ip6_tables for ipv6, else ip_tables.
func familyOf(v6 bool) *family {
	if v6 {
		return ip6Tables
	}
	return ipTables
}

// entryProtocol is the entry's -p: the protocol and whether it is
// inverted (0: any).
type entryProtocol struct {
	number uint16
	invert bool
}

// filter4 translates struct ipt_ip: addresses and masks at 0, 4, 8 and
// 12, interfaces and their masks at 16, 32, 48 and 64, the protocol at
// 80.
func filter4(ip []byte) (stack.IPHeaderFilter, []stack.Matcher, entryProtocol, *Error) {
	f := stack.IPHeaderFilter{
		Src:     tcpip.AddrFrom4Slice(ip[0:4]),
		Dst:     tcpip.AddrFrom4Slice(ip[4:8]),
		SrcMask: tcpip.AddrFrom4Slice(ip[8:12]),
		DstMask: tcpip.AddrFrom4Slice(ip[12:16]),
	}
	return finishFilter(f, ip, 16, le.Uint16(ip[80:]), true, ipv4Layout)
}

// filter6 translates struct ip6t_ip6: addresses and masks at 0, 16, 32
// and 48, interfaces and their masks at 64, 80, 96 and 112, the
// protocol at 128, which counts only with IP6T_F_PROTO.
func filter6(ip []byte) (stack.IPHeaderFilter, []stack.Matcher, entryProtocol, *Error) {
	f := stack.IPHeaderFilter{
		Src:     tcpip.AddrFrom16Slice(ip[0:16]),
		Dst:     tcpip.AddrFrom16Slice(ip[16:32]),
		SrcMask: tcpip.AddrFrom16Slice(ip[32:48]),
		DstMask: tcpip.AddrFrom16Slice(ip[48:64]),
	}
	const flagProto = 0x01 // IP6T_F_PROTO
	return finishFilter(f, ip, 64, le.Uint16(ip[128:]), ip[ipv6Layout.flags]&flagProto != 0, ipv6Layout)
}

// finishFilter adds what both families' filters share: the inversions,
// the interfaces (names and masks from ifaces on) and the protocol,
// which checked says counts.
func finishFilter(f stack.IPHeaderFilter, ip []byte, ifaces int, proto uint16, checked bool, l layout) (stack.IPHeaderFilter, []stack.Matcher, entryProtocol, *Error) {
	inv := ip[l.invFlags]
	f.SrcInvert, f.DstInvert = inv&invSrc != 0, inv&invDst != 0
	var err *Error
	if f.InputInterface, err = ifaceName(ip[ifaces:ifaces+16], ip[ifaces+32:ifaces+48]); err != nil {
		return f, nil, entryProtocol{}, err
	}
	if f.OutputInterface, err = ifaceName(ip[ifaces+16:ifaces+32], ip[ifaces+48:ifaces+64]); err != nil {
		return f, nil, entryProtocol{}, err
	}
	f.InputInterfaceInvert, f.OutputInterfaceInvert = inv&invInIface != 0, inv&invOutIface != 0
	if ip[l.flags]&l.flagsUnsupported != 0 {
		return f, nil, entryProtocol{}, fail(unix.EOPNOTSUPP, "matching fragments or TOS is not supported in the sandbox")
	}
	p := entryProtocol{number: proto, invert: inv&invProto != 0}
	var matchers []stack.Matcher
	if checked && p.number != 0 {
		// The stack's filter takes the protocol of an IPv6 packet from
		// what a transport endpoint set, which a raw socket's packets
		// lack, and cannot invert it.
		matchers = append(matchers, protocolMatcher{tcpip.TransportProtocolNumber(p.number), p.invert})
	}
	return f, matchers, p, nil
}

// ifaceName turns an interface name and mask into the stack's form:
// "eth0" for an exact name (the mask covers its NUL), "eth+" for a
// prefix (the mask covers the name only), "" for any.
func ifaceName(name, mask []byte) (string, *Error) {
	n := len(cString(name))
	m := 0
	for m < len(mask) && mask[m] == 0xff {
		m++
	}
	for _, b := range mask[m:] {
		if b != 0 {
			return "", fail(unix.EOPNOTSUPP, "an interface mask that is not a name or a prefix is not supported")
		}
	}
	switch {
	case m == 0 && n == 0:
		return "", nil
	case m == n+1:
		return string(name[:n]), nil
	case m == n:
		return string(name[:n]) + "+", nil
	}
	return "", fail(unix.EOPNOTSUPP, "an interface mask that is not a name or a prefix is not supported")
}
