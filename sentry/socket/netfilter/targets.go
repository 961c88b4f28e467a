package netfilter

// The targets besides the standard ones and ERROR: REDIRECT, DNAT,
// SNAT, MASQUERADE and REJECT; jumps; and the counting every rule's
// target does.

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// sizeofNATRange is struct nf_nat_ipv4_multi_range_compat: rangesize
// and one nf_nat_ipv4_range (flags, min_ip, max_ip, min and max port).
const sizeofNATRange = 20

// targets are the targets the sandbox implements besides the standard
// ones and ERROR, by name.
var targets = map[string]extensionKind{
	"REDIRECT":   {size: sizeofNATRange, table: "nat", hooks: preBit | outBit, make: makeRedirect},
	"DNAT":       {size: sizeofNATRange, table: "nat", hooks: preBit | outBit, make: makeDNAT},
	"SNAT":       {size: sizeofNATRange, table: "nat", hooks: postBit | inBit, make: makeSNAT},
	"MASQUERADE": {size: sizeofNATRange, table: "nat", hooks: postBit, make: makeMasquerade},
	// struct ipt_reject_info: with.
	"REJECT": {size: 4, table: "filter", hooks: inBit | fwdBit | outBit, make: makeReject},
}

// nf_nat_range's flags.
const (
	natMapIPs         = 0x01 // NF_NAT_RANGE_MAP_IPS
	natProtoSpecified = 0x02 // NF_NAT_RANGE_PROTO_SPECIFIED
	natKnown          = 0x7f
)

// natRange is the one range of a NAT target.
type natRange struct {
	flags            uint32
	minIP, maxIP     tcpip.Address
	minPort, maxPort uint16
}

func parseNATRange(name string, data []byte) (natRange, *Error) {
	if n := le.Uint32(data); n != 1 {
		return natRange{}, fail(unix.EINVAL, "ip_tables: %s: multiple ranges no longer supported", name)
	}
	r := natRange{
		flags:   le.Uint32(data[4:]),
		minIP:   tcpip.AddrFrom4Slice(data[8:12]),
		maxIP:   tcpip.AddrFrom4Slice(data[12:16]),
		minPort: uint16(data[16])<<8 | uint16(data[17]),
		maxPort: uint16(data[18])<<8 | uint16(data[19]),
	}
	if r.flags&^natKnown != 0 {
		return r, fail(unix.EINVAL, "ip_tables: %s: unknown flags %#x", name, r.flags)
	}
	if r.flags&^(natMapIPs|natProtoSpecified) != 0 {
		return r, fail(unix.EOPNOTSUPP, "ip_tables: %s: --random and --persistent are not supported in the sandbox", name)
	}
	// The stack maps to one address and port: the first of a range,
	// which Linux may pick as well.
	return r, nil
}

// portsNeedProtocol is Linux's rule that a port range needs -p tcp,
// udp, sctp or dccp (the stack has tcp and udp).
func portsNeedProtocol(name string, r natRange, proto entryProtocol) *Error {
	if r.flags&natProtoSpecified == 0 {
		return nil
	}
	if proto.invert || (proto.number != unix.IPPROTO_TCP && proto.number != unix.IPPROTO_UDP) {
		return fail(unix.EINVAL, "ip_tables: %s: ports need -p tcp or -p udp", name)
	}
	return nil
}

func makeRedirect(_ *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	r, err := parseNATRange("REDIRECT", data)
	if err != nil {
		return nil, err
	}
	if r.flags&natProtoSpecified == 0 {
		return nil, fail(unix.EOPNOTSUPP, "ip_tables: REDIRECT without --to-ports is not supported in the sandbox")
	}
	if err := portsNeedProtocol("REDIRECT", r, proto); err != nil {
		return nil, err
	}
	return &stack.RedirectTarget{Port: r.minPort, NetworkProtocol: header.IPv4ProtocolNumber}, nil
}

func makeDNAT(_ *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	r, err := parseNATRange("DNAT", data)
	if err != nil {
		return nil, err
	}
	if err := portsNeedProtocol("DNAT", r, proto); err != nil {
		return nil, err
	}
	return &stack.DNATTarget{
		Addr: r.minIP, Port: r.minPort, NetworkProtocol: header.IPv4ProtocolNumber,
		ChangeAddress: r.flags&natMapIPs != 0, ChangePort: r.flags&natProtoSpecified != 0,
	}, nil
}

func makeSNAT(_ *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	r, err := parseNATRange("SNAT", data)
	if err != nil {
		return nil, err
	}
	if err := portsNeedProtocol("SNAT", r, proto); err != nil {
		return nil, err
	}
	return &stack.SNATTarget{
		Addr: r.minIP, Port: r.minPort, NetworkProtocol: header.IPv4ProtocolNumber,
		ChangeAddress: r.flags&natMapIPs != 0, ChangePort: r.flags&natProtoSpecified != 0,
	}, nil
}

func makeMasquerade(_ *compiler, data []byte, _ entryProtocol) (stack.Target, *Error) {
	r, err := parseNATRange("MASQUERADE", data)
	if err != nil {
		return nil, err
	}
	if r.flags&(natMapIPs|natProtoSpecified) != 0 {
		return nil, fail(unix.EOPNOTSUPP, "ip_tables: MASQUERADE --to-ports is not supported in the sandbox")
	}
	return &stack.MasqueradeTarget{NetworkProtocol: header.IPv4ProtocolNumber}, nil
}

// ipt_reject_with, and what the stack sends for each.
var rejectWith = map[uint32]stack.RejectIPv4WithICMPType{
	0: stack.RejectIPv4WithICMPNetUnreachable,  // IPT_ICMP_NET_UNREACHABLE
	1: stack.RejectIPv4WithICMPHostUnreachable, // IPT_ICMP_HOST_UNREACHABLE
	3: stack.RejectIPv4WithICMPPortUnreachable, // IPT_ICMP_PORT_UNREACHABLE
	5: stack.RejectIPv4WithICMPNetProhibited,   // IPT_ICMP_NET_PROHIBITED
	6: stack.RejectIPv4WithICMPHostProhibited,  // IPT_ICMP_HOST_PROHIBITED
	7: stack.RejectIPv4WithTCPReset,            // IPT_TCP_RESET
	8: stack.RejectIPv4WithICMPAdminProhibited, // IPT_ICMP_ADMIN_PROHIBITED
}

const (
	rejectProtUnreachable = 2 // IPT_ICMP_PROT_UNREACHABLE
	rejectEchoReply       = 4 // IPT_ICMP_ECHOREPLY
	rejectTCPReset        = 7
)

func makeReject(c *compiler, data []byte, proto entryProtocol) (stack.Target, *Error) {
	with := le.Uint32(data)
	switch with {
	case rejectEchoReply:
		return nil, fail(unix.EINVAL, "ip_tables: REJECT: ECHOREPLY no longer supported.")
	case rejectTCPReset:
		if proto.number != unix.IPPROTO_TCP || proto.invert {
			return nil, fail(unix.EINVAL, "ip_tables: REJECT: TCP_RESET invalid for non-tcp")
		}
	case rejectProtUnreachable:
		return nil, fail(unix.EOPNOTSUPP, "ip_tables: REJECT --reject-with icmp-proto-unreachable is not supported in the sandbox")
	}
	kind, ok := rejectWith[with]
	if !ok {
		return nil, fail(unix.EINVAL, "ip_tables: REJECT: unknown type %d", with)
	}
	handler, ok := c.protocols.NetworkProtocolInstance(header.IPv4ProtocolNumber).(stack.RejectIPv4WithHandler)
	if !ok {
		return nil, fail(unix.EOPNOTSUPP, "ip_tables: REJECT: the stack cannot send rejections")
	}
	return rejectTarget{stack.RejectIPv4Target{Handler: handler, RejectWith: kind}}, nil
}

// rejectTarget is REJECT. The stack sends no reset for a TCP packet
// whose checksum it cannot verify, and the checksum of a packet a local
// socket sends is left to the interface (which loopback never fills
// in): Linux trusts such a packet (CHECKSUM_PARTIAL), and so does this.
type rejectTarget struct{ stack.RejectIPv4Target }

// Action implements stack.Target.
func (t rejectTarget) Action(pkt *stack.PacketBuffer, hook stack.Hook, r *stack.Route, ep stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	if hook == stack.Output {
		pkt.RXChecksumValidated = true
	}
	return t.RejectIPv4Target.Action(pkt, hook, r, ep)
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
