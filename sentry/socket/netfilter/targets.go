package netfilter

// The targets besides the standard ones and ERROR: REDIRECT, DNAT,
// SNAT, MASQUERADE and REJECT; jumps; and the counting every rule's
// target does.

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The NAT targets' data: IPv4's struct nf_nat_ipv4_multi_range_compat
// (rangesize, then one nf_nat_ipv4_range: flags, min_ip, max_ip, min and
// max port), and struct nf_nat_range (flags, min_addr, max_addr, min and
// max port), which IPv6 uses.
const (
	sizeofNATRange4 = 20
	sizeofNATRange  = 40
)

// targets4 are the IPv4 targets the sandbox implements besides the
// standard ones and ERROR, by name.
var targets4 = map[string]extensionKind{
	"REDIRECT":   {size: sizeofNATRange4, table: "nat", hooks: preBit | outBit, makeTarget: makeRedirect},
	"DNAT":       {size: sizeofNATRange4, table: "nat", hooks: preBit | outBit, makeTarget: makeDNAT},
	"SNAT":       {size: sizeofNATRange4, table: "nat", hooks: postBit | inBit, makeTarget: makeSNAT},
	"MASQUERADE": {size: sizeofNATRange4, table: "nat", hooks: postBit, makeTarget: makeMasquerade},
	// struct ipt_reject_info: with.
	"REJECT": {size: 4, table: "filter", hooks: inBit | fwdBit | outBit, makeTarget: makeReject4},
	// struct xt_mark_tginfo2: mark, mask.
	"MARK": {revision: 2, size: 8, makeTarget: makeMark},
	// struct ipt_log_info: level, logflags, prefix[30] (limit.go).
	"LOG": {size: 32, makeTarget: newLogTarget},
}

// targets6 are the IPv6 ones: DNAT and SNAT exist from revision 1.
var targets6 = map[string]extensionKind{
	"REDIRECT":   {size: sizeofNATRange, table: "nat", hooks: preBit | outBit, makeTarget: makeRedirect},
	"DNAT":       {revision: 1, size: sizeofNATRange, table: "nat", hooks: preBit | outBit, makeTarget: makeDNAT},
	"SNAT":       {revision: 1, size: sizeofNATRange, table: "nat", hooks: postBit | inBit, makeTarget: makeSNAT},
	"MASQUERADE": {size: sizeofNATRange, table: "nat", hooks: postBit, makeTarget: makeMasquerade},
	// struct ip6t_reject_info: with.
	"REJECT": {size: 4, table: "filter", hooks: inBit | fwdBit | outBit, makeTarget: makeReject6},
	"MARK":   targets4["MARK"],
	"LOG":    targets4["LOG"],
}

// nf_nat_range's flags.
const (
	natMapIPs         = 0x01 // NF_NAT_RANGE_MAP_IPS
	natProtoSpecified = 0x02 // NF_NAT_RANGE_PROTO_SPECIFIED
	natKnown          = 0x7f
)

// natRange is the one range of a NAT target.
type natRange struct {
	flags   uint32
	minIP   tcpip.Address
	minPort uint16
}

// parseNATRange decodes a NAT target's range. The stack maps to one
// address and port: the first of a range, which Linux may pick as well.
func parseNATRange(f *family, name string, data []byte) (natRange, *Error) {
	var r natRange
	be := binary.BigEndian
	if f.ipv6 {
		r = natRange{flags: le.Uint32(data), minIP: tcpip.AddrFrom16Slice(data[4:20]), minPort: be.Uint16(data[36:])}
	} else {
		if n := le.Uint32(data); n != 1 {
			return r, fail(unix.EINVAL, "%s: multiple ranges no longer supported", name)
		}
		r = natRange{flags: le.Uint32(data[4:]), minIP: tcpip.AddrFrom4Slice(data[8:12]), minPort: be.Uint16(data[16:])}
	}
	if r.flags&^natKnown != 0 {
		return r, fail(unix.EINVAL, "%s: unknown flags %#x", name, r.flags)
	}
	if r.flags&^(natMapIPs|natProtoSpecified) != 0 {
		return r, fail(unix.EOPNOTSUPP, "%s: --random and --persistent are not supported in the sandbox", name)
	}
	return r, nil
}

// portsNeedProtocol is Linux's rule that a port range needs -p tcp,
// udp, sctp or dccp (the stack has tcp and udp).
func portsNeedProtocol(name string, r natRange, proto entryProtocol) *Error {
	if r.flags&natProtoSpecified == 0 {
		return nil
	}
	if proto.invert || (proto.number != unix.IPPROTO_TCP && proto.number != unix.IPPROTO_UDP) {
		return fail(unix.EINVAL, "%s: ports need -p tcp or -p udp", name)
	}
	return nil
}

// natRangeFor parses and checks a NAT target's range.
func natRangeFor(c *compiler, name string, data []byte, proto entryProtocol) (natRange, *Error) {
	r, err := parseNATRange(c.f, name, data)
	if err != nil {
		return r, err
	}
	return r, portsNeedProtocol(name, r, proto)
}

func makeRedirect(c *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	r, err := natRangeFor(c, "REDIRECT", data, proto)
	if err != nil {
		return nil, err
	}
	if r.flags&natProtoSpecified == 0 {
		// The stack's REDIRECT always sets a port.
		return redirectKeepingPort{c.f.proto}, nil
	}
	return &stack.RedirectTarget{Port: r.minPort, NetworkProtocol: c.f.proto}, nil
}

// redirectKeepingPort is REDIRECT without --to-ports: to the loopback
// address on the way out, to the address of the interface the packet
// came in on at PREROUTING, the port unchanged (nf_nat_redirect).
type redirectKeepingPort struct{ proto tcpip.NetworkProtocolNumber }

// Action implements stack.Target. NAT rules see only a connection's
// first packet, so the target made here is per connection.
func (t redirectKeepingPort) Action(pkt *stack.PacketBuffer, hook stack.Hook, r *stack.Route, ep stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	var addr tcpip.Address
	switch {
	case hook == stack.Output && t.proto == header.IPv4ProtocolNumber:
		addr = tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
	case hook == stack.Output:
		addr = header.IPv6Loopback
	case ep != nil:
		addr = ep.MainAddress().Address
	}
	if addr.Len() == 0 {
		// nf_nat_redirect_ipv4 drops a packet whose interface has
		// no address.
		return stack.RuleDrop, 0
	}
	dnat := stack.DNATTarget{Addr: addr, NetworkProtocol: t.proto, ChangeAddress: true}
	return dnat.Action(pkt, hook, r, ep)
}

func makeDNAT(c *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	r, err := natRangeFor(c, "DNAT", data, proto)
	if err != nil {
		return nil, err
	}
	return &stack.DNATTarget{
		Addr: r.minIP, Port: r.minPort, NetworkProtocol: c.f.proto,
		ChangeAddress: r.flags&natMapIPs != 0, ChangePort: r.flags&natProtoSpecified != 0,
	}, nil
}

func makeSNAT(c *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	r, err := natRangeFor(c, "SNAT", data, proto)
	if err != nil {
		return nil, err
	}
	return &stack.SNATTarget{
		Addr: r.minIP, Port: r.minPort, NetworkProtocol: c.f.proto,
		ChangeAddress: r.flags&natMapIPs != 0, ChangePort: r.flags&natProtoSpecified != 0,
	}, nil
}

func makeMasquerade(c *compiler, data []byte, _ entryProtocol) (stack.Target, *Error) {
	r, err := parseNATRange(c.f, "MASQUERADE", data)
	if err != nil {
		return nil, err
	}
	if r.flags&(natMapIPs|natProtoSpecified) != 0 {
		return nil, fail(unix.EOPNOTSUPP, "MASQUERADE --to-ports is not supported in the sandbox")
	}
	return &stack.MasqueradeTarget{NetworkProtocol: c.f.proto}, nil
}

// rejectKind is one --reject-with of a family: what the stack sends, or
// why it cannot.
type rejectKind struct {
	with  int // the stack's RejectIPv4WithICMPType or RejectIPv6WithICMPType
	errno unix.Errno
	why   string
	tcp   bool // needs -p tcp
}

// reject4 are ipt_reject_with's values.
var reject4 = []rejectKind{
	0: {with: int(stack.RejectIPv4WithICMPNetUnreachable)},
	1: {with: int(stack.RejectIPv4WithICMPHostUnreachable)},
	2: {errno: unix.EOPNOTSUPP, why: "icmp-proto-unreachable is not supported in the sandbox"},
	3: {with: int(stack.RejectIPv4WithICMPPortUnreachable)},
	4: {errno: unix.EINVAL, why: "ECHOREPLY no longer supported."},
	5: {with: int(stack.RejectIPv4WithICMPNetProhibited)},
	6: {with: int(stack.RejectIPv4WithICMPHostProhibited)},
	7: {with: int(stack.RejectIPv4WithTCPReset), tcp: true},
	8: {with: int(stack.RejectIPv4WithICMPAdminProhibited)},
}

// reject6 are ip6t_reject_with's values.
var reject6 = []rejectKind{
	0: {with: int(stack.RejectIPv6WithICMPNoRoute)},
	1: {with: int(stack.RejectIPv6WithICMPAdminProhibited)},
	2: {errno: unix.EOPNOTSUPP, why: "icmp6-not-neighbour is not supported in the sandbox"},
	3: {with: int(stack.RejectIPv6WithICMPAddrUnreachable)},
	4: {with: int(stack.RejectIPv6WithICMPPortUnreachable)},
	5: {errno: unix.EINVAL, why: "ECHOREPLY is not supported"},
	6: {with: int(stack.RejectIPv6WithTCPReset), tcp: true},
	7: {errno: unix.EOPNOTSUPP, why: "icmp6-policy-fail is not supported in the sandbox"},
	8: {errno: unix.EOPNOTSUPP, why: "icmp6-reject-route is not supported in the sandbox"},
}

// rejectWith checks REJECT's --reject-with against kinds.
func rejectWith(kinds []rejectKind, data []byte, proto entryProtocol) (int, *Error) {
	with := le.Uint32(data)
	if with >= uint32(len(kinds)) {
		return 0, fail(unix.EINVAL, "REJECT: unknown type %d", with)
	}
	k := kinds[with]
	if k.errno != 0 {
		return 0, fail(k.errno, "REJECT: %s", k.why)
	}
	if k.tcp && (proto.number != unix.IPPROTO_TCP || proto.invert) {
		return 0, fail(unix.EINVAL, "REJECT: TCP_RESET invalid for non-tcp")
	}
	return k.with, nil
}

func makeReject4(c *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	with, err := rejectWith(reject4, data, proto)
	if err != nil {
		return nil, err
	}
	handler, ok := c.protocols.NetworkProtocolInstance(header.IPv4ProtocolNumber).(stack.RejectIPv4WithHandler)
	if !ok {
		return nil, fail(unix.EOPNOTSUPP, "REJECT: the stack cannot send rejections")
	}
	return rejectTarget{&stack.RejectIPv4Target{Handler: handler, RejectWith: stack.RejectIPv4WithICMPType(with)}}, nil
}

func makeReject6(c *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	with, err := rejectWith(reject6, data, proto)
	if err != nil {
		return nil, err
	}
	handler, ok := c.protocols.NetworkProtocolInstance(header.IPv6ProtocolNumber).(stack.RejectIPv6WithHandler)
	if !ok {
		return nil, fail(unix.EOPNOTSUPP, "REJECT: the stack cannot send rejections")
	}
	return rejectTarget{&stack.RejectIPv6Target{Handler: handler, RejectWith: stack.RejectIPv6WithICMPType(with)}}, nil
}

// rejectTarget is REJECT. The stack sends no reset for a TCP packet
// whose checksum it cannot verify, and the checksum of a packet a local
// socket sends is left to the interface (which loopback never fills
// in): Linux trusts such a packet (CHECKSUM_PARTIAL), and so does this.
type rejectTarget struct{ reject stack.Target }

// Action implements stack.Target.
func (t rejectTarget) Action(pkt *stack.PacketBuffer, hook stack.Hook, r *stack.Route, ep stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	if hook == stack.Output {
		pkt.RXChecksumValidated = true
	}
	return t.reject.Action(pkt, hook, r, ep)
}

// markTarget is MARK: it sets the bits of the packet's mark under the
// mask and goes on with the next rule (XT_CONTINUE).
type markTarget struct {
	mark, mask uint32
	next       int
}

func makeMark(c *compiler, data []byte, _ entryProtocol) (stack.Target, *Error) {
	return &markTarget{mark: le.Uint32(data), mask: le.Uint32(data[4:]), next: c.current + 1}, nil
}

// Action implements stack.Target (mark_tg).
func (t *markTarget) Action(pkt *stack.PacketBuffer, _ stack.Hook, _ *stack.Route, _ stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	pkt.Mark = pkt.Mark&^t.mask ^ t.mark
	return stack.RuleJump, t.next
}

// jumpTarget continues at another rule: a user chain's first, whose
// RETURN comes back after the jump.
type jumpTarget struct{ rule int }

// Action implements stack.Target.
func (j jumpTarget) Action(*stack.PacketBuffer, stack.Hook, *stack.Route, stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	return stack.RuleJump, j.rule
}

// countedTarget counts the packets and bytes of the rule's matches, as
// the entry's struct xt_counters.
type countedTarget struct {
	stack.Target
	c *counter
}

// Action implements stack.Target.
func (t *countedTarget) Action(pkt *stack.PacketBuffer, hook stack.Hook, r *stack.Route, ep stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	t.c.packets.Add(1)
	// The IP packet's length, as Linux counts skb->len at the hook.
	t.c.bytes.Add(uint64(len(pkt.NetworkHeader().Slice()) + len(pkt.TransportHeader().Slice()) + pkt.Data().Size()))
	verdict, jump := t.Target.Action(pkt, hook, r, ep)
	if verdict == stack.RuleDrop && hook == stack.Output {
		if l, ok := pkt.Owner.(DropListener); ok {
			l.OutputDropped()
		}
	}
	return verdict, jump
}

// DropListener is implemented by an owner of packets (a socket's
// tcpip.PacketOwner) that is told when the filter drops one of them on
// its way out: Linux fails the datagram's send with EPERM.
type DropListener interface {
	OutputDropped()
}
