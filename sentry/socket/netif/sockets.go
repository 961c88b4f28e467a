package netif

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// The sandbox's TCP and UDP sockets as /proc/net/tcp, tcp6, udp and udp6
// list them, its raw and ping sockets as raw, raw6, icmp and icmp6 do, and
// the protocol counters of /proc/net/snmp.

// TCP states as Linux numbers them (include/net/tcp_states.h).
const (
	TCPEstablished = 1
	TCPSynSent     = 2
	TCPTimeWait    = 6
	TCPClose       = 7
	TCPListen      = 10
)

// InetSocket is one TCP, UDP, raw or ping socket of the stack.
type InetSocket struct {
	// Protocol is IPPROTO_TCP or IPPROTO_UDP; that of a raw socket (Raw
	// set) is the one socket(2) named, that of a ping socket
	// (SOCK_DGRAM) IPPROTO_ICMP or IPPROTO_ICMPV6. V6 says the socket is
	// an AF_INET6 one (tcp6, udp6, raw6, icmp6).
	Protocol int
	Raw      bool
	V6       bool
	// Local and Remote are the addresses; an AF_INET6 socket's IPv4
	// peers are v4-mapped.
	Local, Remote netip.AddrPort
	// State is the TCP_* state (UDP: established when connected, else
	// close).
	State uint8
	// TxQueue and RxQueue are the bytes queued to send and to read.
	TxQueue, RxQueue uint64
	// UID and Inode are the owner and inode of the socket's file (0
	// when no descriptor holds it: an unaccepted connection, a
	// TIME_WAIT).
	UID   uint32
	Inode uint64
	// Backlog is a listener's accept queue limit (listen(2)'s backlog);
	// its RxQueue is the connections waiting in that queue.
	Backlog uint32
	// Endpoint is the stack's endpoint.
	Endpoint tcpip.Endpoint
	// RTO is the retransmission timeout, Cwnd and Ssthresh the
	// congestion window and slow start threshold (TCP; Ssthresh -1 in
	// initial slow start).
	RTO      time.Duration
	Cwnd     uint32
	Ssthresh int32
}

// Owner is what the sentry knows of an endpoint's socket file.
type Owner struct {
	UID   uint32
	Inode uint64
	// Backlog is the listen(2) backlog of a listening socket.
	Backlog uint32
	// Stopped marks a listener that stopped listening (connect
	// AF_UNSPEC): netstack keeps it in its listen state, Linux's is in
	// TCP_CLOSE, in no hash table.
	Stopped bool
}

// InetSockets lists the stack's TCP and UDP endpoints that Linux's hash
// tables would hold (listening, connected or bound), listening sockets
// first; owners names the ones descriptors hold.
func (s *Stack) InetSockets(owners map[tcpip.Endpoint]Owner) []InetSocket {
	seen := map[tcpip.Endpoint]bool{}
	var out []InetSocket
	for _, te := range s.st.RegisteredEndpoints() {
		ep, ok := te.(tcpip.Endpoint)
		if !ok || seen[ep] {
			continue
		}
		seen[ep] = true
		info, ok := ep.Info().(*stack.TransportEndpointInfo)
		if !ok {
			continue
		}
		is := InetSocket{V6: info.NetProto == ipv6.ProtocolNumber}
		switch info.TransProto {
		case tcp.ProtocolNumber:
			is.Protocol = linux.IPPROTO_TCP
			is.State = tcpState(tcp.EndpointState(ep.State()))
			if is.State == TCPClose {
				continue // not in a hash table
			}
		case udp.ProtocolNumber:
			is.Protocol = linux.IPPROTO_UDP
			is.State = TCPClose
			if transport.DatagramEndpointState(ep.State()) == transport.DatagramEndpointStateConnected {
				is.State = TCPEstablished
			}
		default:
			continue
		}
		is.Endpoint = ep
		is.Local = addrPort(info.ID.LocalAddress, info.ID.LocalPort, is.V6)
		is.Remote = addrPort(info.ID.RemoteAddress, info.ID.RemotePort, is.V6)
		if o, ok := owners[ep]; ok {
			if o.Stopped {
				continue
			}
			is.UID, is.Inode, is.Backlog = o.UID, o.Inode, o.Backlog
		}
		if is.State != TCPListen && is.State != TCPTimeWait {
			if v, err := ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption); err == nil {
				is.RxQueue = uint64(max(v, 0))
			}
			if is.Protocol == linux.IPPROTO_TCP {
				if v, err := ep.GetSockOptInt(tcpip.SendQueueSizeOption); err == nil {
					is.TxQueue = uint64(max(v, 0))
				}
			}
		}
		is.Ssthresh = -1
		if is.Protocol == linux.IPPROTO_TCP {
			var ti tcpip.TCPInfoOption
			if err := ep.GetSockOpt(&ti); err == nil {
				is.RTO, is.Cwnd = ti.RTO, ti.SndCwnd
				if ti.SndSsthresh < 1<<31-1 {
					is.Ssthresh = int32(ti.SndSsthresh)
				}
			}
		}
		out = append(out, is)
	}
	if owners != nil {
		countAcceptQueues(out, owners)
	}
	slices.SortStableFunc(out, func(a, b InetSocket) int {
		if (a.State == TCPListen) != (b.State == TCPListen) {
			if a.State == TCPListen {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.Local.Port(), b.Local.Port()); c != 0 {
			return c
		}
		return cmp.Compare(a.Remote.Port(), b.Remote.Port())
	})
	return out
}

// RawOrPingSocket describes ep, the endpoint of a raw socket (raw set)
// opened for protocol or of a ping socket, as /proc/net/raw, raw6, icmp
// and icmp6 list it; o names its file. ok is false for a ping socket that
// has no identifier yet: Linux hashes, and lists, one only once it is
// bound or has sent. A raw socket is hashed from its creation.
func RawOrPingSocket(ep tcpip.Endpoint, v6, raw bool, protocol int, o Owner) (is InetSocket, ok bool) {
	info, ok := ep.Info().(*stack.TransportEndpointInfo)
	if !ok {
		return InetSocket{}, false
	}
	port := info.ID.LocalPort
	if raw {
		// raw_sock_seq_show's local port is the protocol (inet_num).
		port = uint16(protocol)
	} else if port == 0 {
		return InetSocket{}, false
	}
	is = InetSocket{Protocol: protocol, Raw: raw, V6: v6, State: TCPClose, Endpoint: ep, UID: o.UID, Inode: o.Inode}
	is.Local = addrPort(info.ID.LocalAddress, port, v6)
	is.Remote = addrPort(tcpip.Address{}, 0, v6)
	if transport.DatagramEndpointState(ep.State()) == transport.DatagramEndpointStateConnected {
		// connect(2) sets TCP_ESTABLISHED; a raw socket's remote
		// port is always 0.
		is.State = TCPEstablished
		rport := info.ID.RemotePort
		if raw {
			rport = 0
		}
		is.Remote = addrPort(info.ID.RemoteAddress, rport, v6)
	}
	if v, err := ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption); err == nil {
		is.RxQueue = uint64(max(v, 0))
	}
	return is, true
}

// countAcceptQueues sets each TCP listener's RxQueue to the number of
// connections waiting in its accept queue, as Linux shows a listener's
// sk_ack_backlog. netstack does not say, but a connection it completed
// for a listener is an established (or, once its peer closed, CLOSE_WAIT)
// endpoint on the listener's local port that no descriptor holds until
// accept(2) takes it.
// An IPv6 listener also takes the IPv4 connections to its port when no
// IPv4 listener has it.
func countAcceptQueues(socks []InetSocket, owners map[tcpip.Endpoint]Owner) {
	const tcpCloseWait = 8
	isListener := func(s *InetSocket) bool { return s.Protocol == linux.IPPROTO_TCP && s.State == TCPListen }
	v4Listening := map[uint16]bool{}
	for i := range socks {
		if isListener(&socks[i]) && !socks[i].V6 {
			v4Listening[socks[i].Local.Port()] = true
		}
	}
	for i := range socks {
		l := &socks[i]
		if !isListener(l) {
			continue
		}
		for _, c := range socks {
			if c.Protocol != linux.IPPROTO_TCP || (c.State != TCPEstablished && c.State != tcpCloseWait) || c.Local.Port() != l.Local.Port() {
				continue
			}
			if c.V6 != l.V6 && (c.V6 || v4Listening[c.Local.Port()]) {
				continue
			}
			if a := l.Local.Addr(); !a.IsUnspecified() && a.Unmap() != c.Local.Addr().Unmap() {
				continue
			}
			if _, owned := owners[c.Endpoint]; !owned {
				l.RxQueue++
			}
		}
	}
}

// tcpState maps netstack's states to Linux's; netstack's own (initial,
// bound, error) are TCP_CLOSE, its "connecting" SYN_SENT.
func tcpState(st tcp.EndpointState) uint8 {
	switch {
	case st >= tcp.StateEstablished && st <= tcp.StateClosing:
		return uint8(st)
	case st == tcp.StateConnecting:
		return TCPSynSent
	}
	return TCPClose
}

// addrPort converts an endpoint address: unspecified when empty,
// v4-mapped for an IPv6 socket's IPv4 peer.
func addrPort(a tcpip.Address, port uint16, v6 bool) netip.AddrPort {
	var ip netip.Addr
	if a.Len() > 0 {
		ip, _ = netip.AddrFromSlice(a.AsSlice())
	}
	switch {
	case !ip.IsValid() && v6:
		ip = netip.IPv6Unspecified()
	case !ip.IsValid():
		ip = netip.IPv4Unspecified()
	case v6 && ip.Is4():
		ip = netip.AddrFrom16(ip.As16())
	}
	return netip.AddrPortFrom(ip, port)
}

// Counters are the stack's protocol counters, the /proc/net/snmp values
// netstack keeps (the others read 0).
type Counters struct {
	// IP and IP6 are IPv4's and IPv6's counters.
	IP, IP6 IPCounters

	ICMPInErrors, ICMPOutErrors uint64
	// ICMPIn and ICMPOut count messages by ICMP type.
	ICMPIn, ICMPOut map[uint8]uint64

	TCPActiveOpens, TCPPassiveOpens, TCPAttemptFails, TCPEstabResets, TCPCurrEstab uint64
	TCPInSegs, TCPOutSegs, TCPRetransSegs, TCPInErrs, TCPOutRsts, TCPInCsumErrors  uint64

	UDPInDatagrams, UDPNoPorts, UDPInErrors, UDPOutDatagrams, UDPRcvbufErrors, UDPSndbufErrors, UDPInCsumErrors uint64

	// TCPExt holds the /proc/net/netstat TcpExt counters netstack keeps,
	// by their Linux names.
	TCPExt map[string]uint64

	ICMP6InErrors, ICMP6OutErrors uint64
	// ICMP6In and ICMP6Out count ICMPv6 messages by type.
	ICMP6In, ICMP6Out map[uint8]uint64
}

// IPCounters are one IP version's counters.
type IPCounters struct {
	InReceives, InAddrErrors, InDelivers, OutRequests, OutDiscards uint64
}

// ipCounters reads an IP version's counters.
func ipCounters(st *tcpip.IPStats) IPCounters {
	return IPCounters{
		InReceives:   st.PacketsReceived.Value(),
		InAddrErrors: st.InvalidDestinationAddressesReceived.Value(),
		InDelivers:   st.PacketsDelivered.Value(),
		OutRequests:  st.PacketsSent.Value(),
		OutDiscards:  st.OutgoingPacketErrors.Value(),
	}
}

// ip6Counters sums the IPv6 counters of every interface; netstack's own
// IP counters are both versions' together.
func (s *Stack) ip6Counters() IPCounters {
	var sum IPCounters
	for id := range s.st.NICInfo() {
		ep, err := s.st.GetNetworkEndpoint(id, ipv6.ProtocolNumber)
		if err != nil {
			continue
		}
		st, ok := ep.Stats().(*ipv6.Stats)
		if !ok {
			continue
		}
		c := ipCounters(&st.IP)
		sum.InReceives += c.InReceives
		sum.InAddrErrors += c.InAddrErrors
		sum.InDelivers += c.InDelivers
		sum.OutRequests += c.OutRequests
		sum.OutDiscards += c.OutDiscards
	}
	return sum
}

// minus is a - b, counter by counter, never below 0 (an interface
// removed takes its IPv6 counts with it).
func (a IPCounters) minus(b IPCounters) IPCounters {
	sub := func(x, y uint64) uint64 { return x - min(x, y) }
	return IPCounters{
		InReceives:   sub(a.InReceives, b.InReceives),
		InAddrErrors: sub(a.InAddrErrors, b.InAddrErrors),
		InDelivers:   sub(a.InDelivers, b.InDelivers),
		OutRequests:  sub(a.OutRequests, b.OutRequests),
		OutDiscards:  sub(a.OutDiscards, b.OutDiscards),
	}
}

// Counters returns the stack's counters.
func (s *Stack) Counters() Counters {
	st := s.st.Stats()
	in := st.ICMP.V4.PacketsReceived.ICMPv4PacketStats
	out := st.ICMP.V4.PacketsSent.ICMPv4PacketStats
	icmp := func(p tcpip.ICMPv4PacketStats) map[uint8]uint64 {
		return map[uint8]uint64{
			0: p.EchoReply.Value(), 3: p.DstUnreachable.Value(), 4: p.SrcQuench.Value(),
			5: p.Redirect.Value(), 8: p.EchoRequest.Value(), 11: p.TimeExceeded.Value(),
			12: p.ParamProblem.Value(), 13: p.Timestamp.Value(), 14: p.TimestampReply.Value(),
			15: p.InfoRequest.Value(), 16: p.InfoReply.Value(),
		}
	}
	icmp6 := func(p tcpip.ICMPv6PacketStats) map[uint8]uint64 {
		return map[uint8]uint64{
			1: p.DstUnreachable.Value(), 2: p.PacketTooBig.Value(), 3: p.TimeExceeded.Value(),
			4: p.ParamProblem.Value(), 128: p.EchoRequest.Value(), 129: p.EchoReply.Value(),
			130: p.MulticastListenerQuery.Value(), 131: p.MulticastListenerReport.Value(),
			132: p.MulticastListenerDone.Value(), 133: p.RouterSolicit.Value(),
			134: p.RouterAdvert.Value(), 135: p.NeighborSolicit.Value(),
			136: p.NeighborAdvert.Value(), 137: p.RedirectMsg.Value(),
			143: p.MulticastListenerReportV2.Value(),
		}
	}
	ip6 := s.ip6Counters()
	return Counters{
		IP:              ipCounters(&st.IP).minus(ip6),
		IP6:             ip6,
		ICMP6InErrors:   st.ICMP.V6.PacketsReceived.Invalid.Value(),
		ICMP6OutErrors:  st.ICMP.V6.PacketsSent.Dropped.Value(),
		ICMP6In:         icmp6(st.ICMP.V6.PacketsReceived.ICMPv6PacketStats),
		ICMP6Out:        icmp6(st.ICMP.V6.PacketsSent.ICMPv6PacketStats),
		ICMPInErrors:    st.ICMP.V4.PacketsReceived.Invalid.Value(),
		ICMPOutErrors:   st.ICMP.V4.PacketsSent.Dropped.Value(),
		ICMPIn:          icmp(in),
		ICMPOut:         icmp(out),
		TCPActiveOpens:  st.TCP.ActiveConnectionOpenings.Value(),
		TCPPassiveOpens: st.TCP.PassiveConnectionOpenings.Value(),
		TCPAttemptFails: st.TCP.FailedConnectionAttempts.Value(),
		TCPEstabResets:  st.TCP.EstablishedResets.Value(),
		TCPCurrEstab:    st.TCP.CurrentEstablished.Value(),
		TCPInSegs:       st.TCP.ValidSegmentsReceived.Value(),
		TCPOutSegs:      st.TCP.SegmentsSent.Value(),
		TCPRetransSegs:  st.TCP.Retransmits.Value(),
		TCPInErrs:       st.TCP.InvalidSegmentsReceived.Value(),
		TCPOutRsts:      st.TCP.ResetsSent.Value(),
		TCPInCsumErrors: st.TCP.ChecksumErrors.Value(),
		UDPInDatagrams:  st.UDP.PacketsReceived.Value(),
		UDPNoPorts:      st.UDP.UnknownPortErrors.Value(),
		UDPInErrors:     st.UDP.MalformedPacketsReceived.Value(),
		UDPOutDatagrams: st.UDP.PacketsSent.Value(),
		UDPRcvbufErrors: st.UDP.ReceiveBufferErrors.Value(),
		UDPSndbufErrors: st.UDP.PacketSendErrors.Value(),
		UDPInCsumErrors: st.UDP.ChecksumErrors.Value(),
		TCPExt:          tcpExt(st.TCP),
	}
}

// tcpExt maps netstack's TCP counters to the TcpExt counters of Linux
// that count the same events.
func tcpExt(t tcpip.TCPStats) map[string]uint64 {
	overflows := t.ListenOverflowSynDrop.Value() + t.ListenOverflowAckDrop.Value()
	return map[string]uint64{
		"SyncookiesSent":   t.ListenOverflowSynCookieSent.Value(),
		"SyncookiesRecv":   t.ListenOverflowSynCookieRcvd.Value(),
		"SyncookiesFailed": t.ListenOverflowInvalidSynCookieRcvd.Value(),
		// Linux counts a dropped connection request in both.
		"ListenOverflows": overflows,
		"ListenDrops":     overflows,
		// netstack's FastRecovery is NewReno's, without SACK.
		"TCPRenoRecovery":      t.FastRecovery.Value(),
		"TCPSackRecovery":      t.SACKRecovery.Value(),
		"TCPFastRetrans":       t.FastRetransmit.Value(),
		"TCPSlowStartRetrans":  t.SlowStartRetransmits.Value(),
		"TCPTimeouts":          t.Timeouts.Value(),
		"TCPLossProbeRecovery": t.TLPRecovery.Value(),
		"TCPDSACKRecv":         t.SegmentsAckedWithDSACK.Value(),
		"TCPSpuriousRTOs":      t.SpuriousRTORecovery.Value(),
		"TCPAbortOnTimeout":    t.EstablishedTimedout.Value(),
	}
}
