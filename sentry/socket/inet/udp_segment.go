package inet

import (
	"io"
	"sync/atomic"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// UDP's own options (SOL_UDP) and segmentation offload (corking is
// udp_cork.go's).
//
// QUIC stacks (quic-go, behind Caddy's and Traefik's HTTP/3; quiche;
// msquic) probe UDP_SEGMENT with getsockopt and, when the kernel has it,
// hand it up to 64 KiB of packets per sendmsg with a segment size, which
// the kernel sends as separate datagrams of that size. In the sandbox
// every system call is a round trip to the sentry, so one call for a
// burst of packets is worth more than on the host. The sentry splits
// the data itself and writes each segment to the stack as a datagram,
// which is what a receiver without UDP_GRO sees on Linux too.
//
// UDP_GRO asks the kernel to hand over datagrams it merged on receipt;
// Linux merges only packets that came as one GRO or GSO batch and says so
// with a control message. The sentry's stack never merges them, so the
// option is kept and every datagram arrives alone, without the message,
// as on a Linux host whose receive path did no GRO.

const (
	// solUDPLite is SOL_UDPLITE, which a UDP socket answers as SOL_UDP.
	solUDPLite = 136
	// udpliteSendCscov and udpliteRecvCscov are UDP-Lite's checksum
	// coverages, which read 0 (the whole datagram) on a UDP socket.
	udpliteSendCscov = 10
	udpliteRecvCscov = 11
	// udpMaxSegments is UDP_MAX_SEGMENTS of Linux 6.9 and later.
	udpMaxSegments = 128
	// udpHeaderLen is the UDP header the MTU must hold next to each
	// segment.
	udpHeaderLen = header.UDPMinimumSize
	// maxGSODatagram is the most data one send with a segment size may
	// carry, by the destination's family: what fits one IPv4 packet
	// (__ip_append_data with IP_MAX_MTU) and one IPv6 payload
	// (ip6_append_data with IP6_MAX_MTU), less the UDP header.
	maxGSODatagram4 = 0xffff - header.IPv4MinimumSize - udpHeaderLen
	maxGSODatagram6 = 0xffff - udpHeaderLen
)

// udpOptions are a UDP socket's SOL_UDP options.
type udpOptions struct {
	// gsoSize is UDP_SEGMENT (0: off); gro is UDP_GRO.
	gsoSize atomic.Int32
	gro     atomic.Bool
	// cork is UDP_CORK and the datagram it holds (udp_cork.go).
	cork udpCork
}

// isUDP reports a UDP socket, the only kind with a SOL_UDP level.
func (s *Socket) isUDP() bool {
	return s.typ == linux.SOCK_DGRAM && s.protocol == linux.IPPROTO_UDP
}

// getUDPOpt is udp_lib_getsockopt.
func (s *Socket) getUDPOpt(name int) ([]byte, error) {
	switch name {
	case linux.UDP_SEGMENT:
		return i32(int(s.udp.gsoSize.Load())), nil
	case linux.UDP_GRO:
		return b32(s.udp.gro.Load()), nil
	case udpliteSendCscov, udpliteRecvCscov:
		return i32(0), nil
	case linux.UDP_CORK:
		return b32(s.corked()), nil
	}
	// UDP_ENCAP and UDP_NO_CHECK6_*: not implemented.
	return nil, linux.ENOPROTOOPT
}

// setUDPOpt is udp_lib_setsockopt.
func (s *Socket) setUDPOpt(name int, b []byte) error {
	v, err := intArg(b)
	if err != nil {
		return err
	}
	switch name {
	case linux.UDP_SEGMENT:
		if v < 0 || v > 0xffff {
			return linux.EINVAL
		}
		s.udp.gsoSize.Store(int32(v))
	case linux.UDP_GRO:
		s.udp.gro.Store(v != 0)
	case linux.UDP_CORK:
		s.setCork(v != 0)
	default:
		// The UDP-Lite coverages are UDP-Lite's alone; UDP_ENCAP
		// and UDP_NO_CHECK6_* are not implemented.
		return linux.ENOPROTOOPT
	}
	return nil
}

// parseUDP is __udp_cmsg_send: a SOL_UDP control message on a
// UDP socket's send.
func (c *sendControl) parseUDP(typ int32, data []byte) error {
	if typ != linux.UDP_SEGMENT || len(data) != 2 {
		return linux.EINVAL
	}
	c.gsoSize = int(le.Uint16(data))
	return nil
}

// writeSegments sends the data of src as datagrams of gso bytes, the
// last one shorter, as udp_send_skb sends a datagram with a segment
// size. Like Linux, it checks the send as a whole first: the data must
// fit one datagram of the largest size, there may be at most
// udpMaxSegments segments, and the first must fit the route's MTU
// (segments are never fragmented). A segment after the first that the
// stack cannot take is lost as a packet dropped on its way out would be:
// the send has already been accepted.
func (s *Socket) writeSegments(src tcpip.Payloader, opts tcpip.WriteOptions, gso int) (int, tcpip.Error, error) {
	total := src.Len()
	dst, v4 := s.destination(&opts)
	limit := maxGSODatagram6
	if v4 {
		limit = maxGSODatagram4
	}
	if total > limit {
		return 0, nil, linux.EMSGSIZE
	}
	if dst != nil {
		if mtu, ok := s.routeMTU(*dst, v4); ok && udpHeaderLen+min(total, gso) > mtu {
			return 0, nil, linux.EMSGSIZE
		}
	}
	if total > gso*udpMaxSegments {
		return 0, nil, linux.EINVAL
	}
	if total <= gso {
		n, terr := s.ep.Write(src, opts)
		return int(n), terr, nil
	}
	seg := &segmentPayloader{src: src}
	for sent := 0; sent < total; {
		seg.left = min(gso, total-sent)
		n, terr := s.ep.Write(seg, opts)
		if terr != nil {
			if sent == 0 {
				return 0, terr, nil
			}
			if _, ok := terr.(*tcpip.ErrBadBuffer); ok {
				// The rest of the caller's data faulted:
				// nothing more to send.
				return sent, nil, nil
			}
			break
		}
		sent += int(n)
		// Only the first segment's fate at the packet filter is
		// the send's (a GSO packet crosses it once).
		s.owner.dropped.Store(false)
	}
	return total, nil, nil
}

// destination returns where a datagram write with opts goes (nil: not
// connected and no address, which the write reports) and whether that
// is an IPv4 address (an IPv4-mapped one included).
func (s *Socket) destination(opts *tcpip.WriteOptions) (*tcpip.FullAddress, bool) {
	dst := opts.To
	if dst == nil {
		if remote, terr := s.ep.GetRemoteAddress(); terr == nil {
			dst = &remote
		}
	}
	v4 := s.family == linux.AF_INET
	if dst != nil {
		v4 = dst.Addr.Len() == 4 || isV4Mapped(dst.Addr)
	}
	return dst, v4
}

// routeMTU returns the largest IP payload the route to dst carries
// unfragmented (the link's or the route's MTU less the IP header), or
// false when there is no route, which the write itself then reports.
func (s *Socket) routeMTU(dst tcpip.FullAddress, v4 bool) (int, bool) {
	proto := header.IPv6ProtocolNumber
	if v4 {
		proto = header.IPv4ProtocolNumber
	}
	remote := unmapV4(dst.Addr)
	var local tcpip.Address
	if l, terr := s.ep.GetLocalAddress(); terr == nil {
		if a := unmapV4(l.Addr); a.Len() == remote.Len() && !a.Unspecified() {
			local = a
		}
	}
	r, terr := s.stack.FindRoute(dst.NIC, local, remote, proto, false)
	if terr != nil {
		return 0, false
	}
	defer r.Release()
	return int(r.MTU()), true
}

// unmapV4 returns the IPv4 address of an IPv4-mapped IPv6 one, and any
// other address as it is.
func unmapV4(a tcpip.Address) tcpip.Address {
	if !isV4Mapped(a) {
		return a
	}
	b := a.As16()
	return tcpip.AddrFrom4([4]byte(b[12:]))
}

// segmentPayloader gives the next left bytes of src to one datagram
// write.
type segmentPayloader struct {
	src  tcpip.Payloader
	left int
}

func (p *segmentPayloader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if len(b) > p.left {
		b = b[:p.left]
	}
	n, err := p.src.Read(b)
	p.left -= n
	return n, err
}

func (p *segmentPayloader) Len() int { return p.left }
