package tun

// Written packets with a virtio-net header: checksum requests and GSO.
//
// A program that set IFF_VNET_HDR may write one large TCP segment or
// UDP datagram with a header that says how to cut it (gso_type and
// gso_size), as Linux's tun_get_user takes it through
// virtio_net_hdr_to_skb whatever TUNSETOFFLOAD allowed. WireGuard in
// user space (wireguard-go, and with it Tailscale and Netbird) merges
// the packets it decrypts into such segments and writes each at once.
// Linux keeps the merged packet whole for a local socket and cuts it on
// the way out of a device that cannot; the sandbox cuts every one into
// the gso_size pieces it stands for, which is what a socket would have
// received without the merge, and what a route out of the pod needs
// anyway: the stack takes a received packet as one segment, and would
// not forward one larger than the next link's MTU.

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// udpMaxSegments is how many datagrams one UDP GSO write may stand for
// (UDP_MAX_SEGMENTS).
const udpMaxSegments = 128

// vnetHdr is a written packet's struct virtio_net_hdr (little endian,
// as TUNSETVNETLE leaves it on x86).
type vnetHdr struct {
	flags, gsoType        uint8
	gsoSize               uint16
	csumStart, csumOffset uint16
}

func parseVnetHdr(b []byte) vnetHdr {
	return vnetHdr{
		flags:      b[0],
		gsoType:    b[1],
		gsoSize:    binary.LittleEndian.Uint16(b[4:]),
		csumStart:  binary.LittleEndian.Uint16(b[6:]),
		csumOffset: binary.LittleEndian.Uint16(b[8:]),
	}
}

// gsoSegment describes where a GSO packet's headers end.
type gsoSegment struct {
	l2, l3, l4 int // the link, network and transport header lengths
	v4, tcp    bool
}

// vnetPackets returns the packets a write of pkt (the Ethernet frame on
// a TAP, the IP packet on a TUN) with virtio-net header h puts into the
// stack: pkt itself, its checksum completed if h asks for it, or the
// pieces of a GSO packet. Like virtio_net_hdr_to_skb, it refuses with
// EINVAL an unknown GSO type, a gso_size of 0, a checksum field past
// the packet, and a packet whose headers are not of the GSO type.
func vnetPackets(h vnetHdr, pkt []byte, tap bool) ([][]byte, error) {
	if h.gsoType == unix.VIRTIO_NET_HDR_GSO_NONE {
		p, err := completeChecksum(h, pkt)
		if err != nil {
			return nil, err
		}
		return [][]byte{p}, nil
	}
	if h.gsoSize == 0 {
		return nil, unix.EINVAL
	}
	var s gsoSegment
	switch h.gsoType &^ unix.VIRTIO_NET_HDR_GSO_ECN {
	case unix.VIRTIO_NET_HDR_GSO_TCPV4:
		s.v4, s.tcp = true, true
	case unix.VIRTIO_NET_HDR_GSO_TCPV6:
		s.tcp = true
	case unix.VIRTIO_NET_HDR_GSO_UDP_L4:
		if h.gsoType&unix.VIRTIO_NET_HDR_GSO_ECN != 0 {
			return nil, unix.EINVAL
		}
	default:
		// VIRTIO_NET_HDR_GSO_UDP is UFO, which Linux dropped in
		// 4.14 and the sandbox never offered.
		return nil, unix.EINVAL
	}
	if h.flags&unix.VIRTIO_NET_HDR_F_NEEDS_CSUM != 0 && !checksumFieldFits(h, len(pkt)) {
		return nil, unix.EINVAL
	}
	if err := s.parse(pkt, tap, h.gsoType == unix.VIRTIO_NET_HDR_GSO_UDP_L4); err != nil {
		return nil, err
	}
	hdrs := s.l2 + s.l3 + s.l4
	payload := pkt[hdrs:]
	size := int(h.gsoSize)
	if len(payload) <= size {
		// Too small to be a GSO packet: Linux takes it as it is.
		p, err := completeChecksum(h, pkt)
		if err != nil {
			return nil, err
		}
		return [][]byte{p}, nil
	}
	n := (len(payload) + size - 1) / size
	if !s.tcp && n > udpMaxSegments {
		return nil, unix.EINVAL
	}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		chunk := payload[i*size : min((i+1)*size, len(payload))]
		seg := make([]byte, hdrs+len(chunk))
		copy(seg, pkt[:hdrs])
		copy(seg[hdrs:], chunk)
		s.fix(seg, i, n, size)
		out = append(out, seg)
	}
	return out, nil
}

// parse finds the headers of pkt, which must be IPv4 (TCPV4) or IPv6
// (TCPV6) carrying TCP, or either carrying UDP (UDP_L4), unfragmented
// and without IPv6 extension headers.
func (s *gsoSegment) parse(pkt []byte, tap, udpL4 bool) error {
	if tap {
		if len(pkt) < header.EthernetMinimumSize {
			return unix.EINVAL
		}
		s.l2 = header.EthernetMinimumSize
		etherType := binary.BigEndian.Uint16(pkt[12:])
		if etherType == 0x8100 { // an 802.1Q tag
			if len(pkt) < s.l2+4 {
				return unix.EINVAL
			}
			s.l2 += 4
			etherType = binary.BigEndian.Uint16(pkt[16:])
		}
		if etherType != uint16(header.IPv4ProtocolNumber) && etherType != uint16(header.IPv6ProtocolNumber) {
			return unix.EINVAL
		}
	}
	ip := pkt[s.l2:]
	if len(ip) == 0 {
		return unix.EINVAL
	}
	var proto uint8
	switch ip[0] >> 4 {
	case 4:
		if !udpL4 && !s.v4 {
			return unix.EINVAL
		}
		s.v4 = true
		if len(ip) < header.IPv4MinimumSize {
			return unix.EINVAL
		}
		h := header.IPv4(ip)
		s.l3 = int(h.HeaderLength())
		if s.l3 < header.IPv4MinimumSize || s.l3 > len(ip) || h.More() || h.FragmentOffset() != 0 {
			return unix.EINVAL
		}
		proto = h.Protocol()
	case 6:
		if s.v4 {
			return unix.EINVAL
		}
		if len(ip) < header.IPv6MinimumSize {
			return unix.EINVAL
		}
		s.l3 = header.IPv6MinimumSize
		proto = header.IPv6(ip).NextHeader()
	default:
		return unix.EINVAL
	}
	l4 := ip[s.l3:]
	if s.tcp {
		if proto != uint8(header.TCPProtocolNumber) || len(l4) < header.TCPMinimumSize {
			return unix.EINVAL
		}
		s.l4 = int(header.TCP(l4).DataOffset())
		if s.l4 < header.TCPMinimumSize || s.l4 > len(l4) {
			return unix.EINVAL
		}
		return nil
	}
	if proto != uint8(header.UDPProtocolNumber) || len(l4) < header.UDPMinimumSize {
		return unix.EINVAL
	}
	s.l4 = header.UDPMinimumSize
	return nil
}

// fix makes seg, a copy of the GSO packet's headers followed by its
// piece i of n (size bytes each but the last), a packet of its own: its
// lengths, IPv4 ID, TCP sequence number and flags, and checksums, as
// Linux's tcp_gso_segment and __udp_gso_segment make them.
func (s *gsoSegment) fix(seg []byte, i, n, size int) {
	ip := seg[s.l2:]
	l4 := ip[s.l3:]
	var src, dst tcpip.Address
	if s.v4 {
		h := header.IPv4(ip)
		h.SetTotalLength(uint16(len(ip)))
		h.SetID(h.ID() + uint16(i))
		h.SetChecksum(0)
		h.SetChecksum(^h.CalculateChecksum())
		src, dst = h.SourceAddress(), h.DestinationAddress()
	} else {
		h := header.IPv6(ip)
		h.SetPayloadLength(uint16(len(l4)))
		src, dst = h.SourceAddress(), h.DestinationAddress()
	}
	proto := header.UDPProtocolNumber
	if s.tcp {
		proto = header.TCPProtocolNumber
		t := header.TCP(l4)
		t.SetSequenceNumber(t.SequenceNumber() + uint32(i*size))
		flags := t.Flags()
		if i > 0 {
			flags &^= header.TCPFlagCwr
		}
		if i < n-1 {
			flags &^= header.TCPFlagFin | header.TCPFlagPsh
		}
		t.SetFlags(uint8(flags))
		t.SetChecksum(0)
		t.SetChecksum(^checksum.Checksum(l4, header.PseudoHeaderChecksum(proto, src, dst, uint16(len(l4)))))
		return
	}
	u := header.UDP(l4)
	u.SetLength(uint16(len(l4)))
	u.SetChecksum(0)
	c := ^checksum.Checksum(l4, header.PseudoHeaderChecksum(proto, src, dst, uint16(len(l4))))
	if c == 0 {
		c = 0xffff // 0 means "no checksum" (RFC 768)
	}
	u.SetChecksum(c)
}

// checksumFieldFits reports whether the checksum h asks for lies within
// a packet of n bytes; like virtio_net_hdr_to_skb, a GSO packet's
// transport header must fit after csum_start too.
func checksumFieldFits(h vnetHdr, n int) bool {
	need := int(h.csumOffset) + 2
	switch h.gsoType &^ unix.VIRTIO_NET_HDR_GSO_ECN {
	case unix.VIRTIO_NET_HDR_GSO_TCPV4, unix.VIRTIO_NET_HDR_GSO_TCPV6:
		need = max(need, header.TCPMinimumSize)
	case unix.VIRTIO_NET_HDR_GSO_UDP_L4:
		need = max(need, header.UDPMinimumSize)
	}
	return int(h.csumStart)+need <= n
}

// completeChecksum returns pkt with the checksum h asks for (if any)
// computed, in a copy: the field holds the pseudo-header's sum, and the
// sum over the data from csum_start, that field included, completes it.
func completeChecksum(h vnetHdr, pkt []byte) ([]byte, error) {
	if h.flags&unix.VIRTIO_NET_HDR_F_NEEDS_CSUM == 0 {
		return pkt, nil
	}
	if !checksumFieldFits(h, len(pkt)) {
		return nil, unix.EINVAL
	}
	start := int(h.csumStart)
	at := start + int(h.csumOffset)
	out := append([]byte(nil), pkt...)
	binary.BigEndian.PutUint16(out[at:], ^checksum.Checksum(out[start:], 0))
	return out, nil
}
