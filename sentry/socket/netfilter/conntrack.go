package netfilter

// The connection state matches: state (xt_state) and conntrack
// (xt_conntrack, revision 3), on the stack's connection tracking. Only
// the state and the direction are matched; the stack tracks no RELATED
// connections (an ICMP error about a connection is UNTRACKED), so
// RELATED never matches.

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The state bits (XT_STATE_BIT, XT_CONNTRACK_STATE_*).
const (
	stateInvalid     = 1 << 0
	stateEstablished = 1 << 1
	stateRelated     = 1 << 2
	stateNew         = 1 << 3
	stateUntracked   = 1 << 4
	stateSNAT        = 1 << 5 // conntrack only
	stateDNAT        = 1 << 6 // conntrack only
)

// xt_conntrack_mtinfo3's match and inversion flags, and its layout: the
// addresses and masks (128 bytes), expires_min and _max, l4proto, four
// ports, then these.
const (
	conntrackState     = 1 << 0  // XT_CONNTRACK_STATE
	conntrackDirection = 1 << 12 // XT_CONNTRACK_DIRECTION
	conntrackAlias     = 1 << 13 // XT_CONNTRACK_STATE_ALIAS: -m state through conntrack

	sizeofConntrack3 = 164
	conntrackFlags   = 146 // match_flags, then invert_flags, state_mask
)

// connState is a packet's state bit and whether it is a reply. inNIC
// is the interface it came in on ("" on the way out).
func connState(pkt *stack.PacketBuffer, inNIC string) (bit uint16, reply bool) {
	var info stack.ConnTrackInfo
	reply = pkt.IsReplyPacket()
	if !pkt.FillConnTrackInfo(stack.ConnTrackInfoOpts{FillState: true, UseReplyDir: reply}, &info) {
		return untrackedState(pkt, inNIC), false
	}
	switch info.State {
	case stack.ConnTrackStateNew:
		return stateNew, reply
	case stack.ConnTrackStateEstablished, stack.ConnTrackStateEstablishedReply:
		return stateEstablished, reply
	}
	return stateInvalid, reply
}

// untrackedState is the state of a packet the stack keeps no connection
// for. The stack tracks TCP, UDP and ICMP echo, and a packet looping
// back through lo only on its way out (Linux keeps the connection it
// found there): such a TCP segment is NEW when it opens a connection
// (SYN without ACK) and ESTABLISHED otherwise, as Linux would find it
// for a local socket's traffic; anything else is UNTRACKED, which rules
// that accept or drop connection states leave alone.
func untrackedState(pkt *stack.PacketBuffer, inNIC string) uint16 {
	if inNIC != "lo" {
		return stateUntracked
	}
	hdr, _ := transportOf(pkt, header.TCPProtocolNumber, header.TCPMinimumSize)
	if hdr == nil {
		return stateUntracked
	}
	if flags := header.TCP(hdr).Flags(); flags&header.TCPFlagSyn != 0 && flags&header.TCPFlagAck == 0 {
		return stateNew
	}
	return stateEstablished
}

// stateMatcher is the state match.
type stateMatcher struct{ mask uint16 }

func newStateMatcher(data []byte) (stack.Matcher, *Error) {
	mask := le.Uint32(data)
	if mask&^(stateInvalid|stateEstablished|stateRelated|stateNew|stateUntracked) != 0 {
		return nil, fail(unix.EINVAL, "state: unknown states %#x", mask)
	}
	return &stateMatcher{uint16(mask)}, nil
}

// Match implements stack.Matcher (state_mt).
func (m *stateMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, inNIC, _ string) (bool, bool) {
	bit, _ := connState(pkt, inNIC)
	return m.mask&bit != 0, false
}

// conntrackMatcher is the conntrack match's --ctstate and --ctdir.
type conntrackMatcher struct {
	flags, invert, states uint16
}

func newConntrackMatcher(data []byte) (stack.Matcher, *Error) {
	m := &conntrackMatcher{
		flags:  le.Uint16(data[conntrackFlags:]),
		invert: le.Uint16(data[conntrackFlags+2:]),
		states: le.Uint16(data[conntrackFlags+4:]),
	}
	if m.flags&^(conntrackState|conntrackDirection|conntrackAlias) != 0 {
		return nil, fail(unix.EOPNOTSUPP, "conntrack: only --ctstate and --ctdir are supported in the sandbox")
	}
	return m, nil
}

// Match implements stack.Matcher (conntrack_mt).
func (m *conntrackMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, inNIC, _ string) (bool, bool) {
	bit, reply := connState(pkt, inNIC)
	if m.flags&conntrackState != 0 && (m.states&bit != 0) == (m.invert&conntrackState != 0) {
		return false, false
	}
	if m.flags&conntrackDirection != 0 && reply == (m.invert&conntrackDirection != 0) {
		return false, false
	}
	return true, false
}
