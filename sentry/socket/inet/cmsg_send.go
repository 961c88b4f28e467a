package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// Ancillary data on send: the control messages a datagram socket's
// sendmsg(2) honours, parsed as Linux's ip_cmsg_send (IPv4 destinations)
// and ip6_datagram_send_ctl (IPv6 ones) parse them. A DNS server answers
// with IP_PKTINFO or IPV6_PKTINFO naming the address the query came to;
// QUIC stacks mark each packet's ECN bits with IP_TOS or IPV6_TCLASS.
//
// gVisor takes a per-packet TTL, hop limit and IPv6 packet info. The
// rest is made of what it has: IP_PKTINFO's interface becomes the
// destination's NIC, and its source address must be the one the route
// picks anyway (a pod's own address, for a reply to a query it got):
// gVisor cannot send from another, which is EINVAL rather than a reply
// from the wrong address. IP_TOS and IPV6_TCLASS set the socket's
// option for the one write, under ctlMu, which every datagram write of
// the socket holds for reading.

// sendControl is one sendmsg's control messages that apply.
type sendControl struct {
	ttl, hopLimit, tos, tclass int // -1: not given
	// gsoSize is UDP_SEGMENT's segment size (-1: not given; 0: none).
	gsoSize int
	// dontFrag is IPV6_DONTFRAG's (-1: not given).
	dontFrag int
	// pktInfo is set by IP_PKTINFO, an IPv4-mapped IPV6_PKTINFO or,
	// for an IPv6 destination, IPV6_PKTINFO: the interface (0: any)
	// and the source address (zero: any).
	pktInfo bool
	ifIndex int32
	src     tcpip.Address
}

// parseSendControl parses control messages b for a datagram to an IPv4
// destination (v4) or an IPv6 one.
func (s *Socket) parseSendControl(b []byte, v4 bool) (sendControl, error) {
	c := sendControl{ttl: -1, hopLimit: -1, tos: -1, tclass: -1, gsoSize: -1, dontFrag: -1}
	for off := 0; off+cmsgHdrLen <= len(b); {
		l := le.Uint64(b[off:])
		if l < cmsgHdrLen || l > uint64(len(b)-off) {
			return c, linux.EINVAL
		}
		level, typ := int32(le.Uint32(b[off+8:])), int32(le.Uint32(b[off+12:]))
		data := b[off+cmsgHdrLen : off+int(l)]
		off += int((l + 7) &^ 7)
		// SOL_SOCKET messages are the caller's to check (SCM_RIGHTS
		// and SCM_CREDENTIALS are passed over, as __sock_cmsg_send
		// does); other levels are ignored, as Linux ignores them.
		switch {
		case level == linux.SOL_UDP && s.isUDP():
			// udp_cmsg_send's, whatever the destination.
			if err := c.parseUDP(typ, data); err != nil {
				return c, err
			}
		case v4 && level == linux.SOL_IP:
			if err := c.parseIP(typ, data); err != nil {
				return c, err
			}
		case v4 && level == linux.SOL_IPV6 && typ == linux.IPV6_PKTINFO && s.family == linux.AF_INET6:
			// ip_cmsg_send's IPv6 packet info of a mapped address.
			if len(data) < 20 {
				return c, linux.EINVAL
			}
			a := tcpip.AddrFrom16([16]byte(data[:16]))
			if !isV4Mapped(a) {
				return c, linux.EINVAL
			}
			c.pktInfo, c.ifIndex, c.src = true, int32(le.Uint32(data[16:])), tcpip.AddrFrom4([4]byte(data[12:16]))
		case !v4 && level == linux.SOL_IPV6:
			if err := c.parseIPv6(typ, data); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

// parseIP is ip_cmsg_send's switch.
func (c *sendControl) parseIP(typ int32, data []byte) error {
	switch typ {
	case linux.IP_PKTINFO:
		if len(data) != 12 {
			return linux.EINVAL
		}
		c.pktInfo, c.ifIndex, c.src = true, int32(le.Uint32(data)), tcpip.AddrFrom4([4]byte(data[4:8]))
		if c.src == header.IPv4Any {
			c.src = tcpip.Address{}
		}
	case linux.IP_TTL:
		v, err := cmsgInt(data, 1, 255)
		if err != nil {
			return err
		}
		c.ttl = v
	case linux.IP_TOS:
		var v int
		switch len(data) {
		case 4:
			v = int(int32(le.Uint32(data)))
		case 1:
			v = int(data[0])
		default:
			return linux.EINVAL
		}
		if v < 0 || v > 255 {
			return linux.EINVAL
		}
		c.tos = v
	default:
		// IP_RETOPTS and the rest: not honoured.
		return linux.EINVAL
	}
	return nil
}

// parseIPv6 is ip6_datagram_send_ctl's switch.
func (c *sendControl) parseIPv6(typ int32, data []byte) error {
	switch typ {
	case linux.IPV6_PKTINFO:
		if len(data) != 20 {
			return linux.EINVAL
		}
		c.pktInfo, c.ifIndex = true, int32(le.Uint32(data[16:]))
		if a := tcpip.AddrFrom16([16]byte(data[:16])); a != header.IPv6Any {
			c.src = a
		}
	case linux.IPV6_HOPLIMIT, linux.IPV6_TCLASS:
		v, err := cmsgInt(data, -1, 255)
		if err != nil {
			return err
		}
		if typ == linux.IPV6_HOPLIMIT {
			c.hopLimit = v
		} else {
			c.tclass = v
		}
	case linux.IPV6_DONTFRAG:
		v, err := cmsgInt(data, 0, 1)
		if err != nil {
			return err
		}
		c.dontFrag = v
	default:
		return linux.EINVAL
	}
	return nil
}

// cmsgInt decodes a control message's int, which must be exactly an int
// within [lo, hi] (EINVAL otherwise).
func cmsgInt(data []byte, lo, hi int) (int, error) {
	if len(data) != 4 {
		return 0, linux.EINVAL
	}
	v := int(int32(le.Uint32(data)))
	if v < lo || v > hi {
		return 0, linux.EINVAL
	}
	return v, nil
}

// isV4Mapped reports an IPv4-mapped IPv6 address.
func isV4Mapped(a tcpip.Address) bool {
	if a.Len() != 16 {
		return false
	}
	b := a.As16()
	return b[10] == 0xff && b[11] == 0xff && [10]byte(b[:10]) == [10]byte{}
}

// applyControl makes opts carry the control messages raw of one
// datagram write and returns what undoes them once it is sent, and the
// messages the write itself honours (UDP_SEGMENT's size, IPV6_DONTFRAG);
// the caller holds ctlMu for reading, which this may trade for writing.
func (s *Socket) applyControl(opts *tcpip.WriteOptions, raw []byte) (done func(), c sendControl, err error) {
	dst, v4 := s.destination(opts)
	if c, err = s.parseSendControl(raw, v4); err != nil {
		return nil, c, err
	}
	if c.ttl >= 0 {
		opts.ControlMessages.HasTTL, opts.ControlMessages.TTL = true, uint8(c.ttl)
	}
	if c.hopLimit >= 0 {
		opts.ControlMessages.HasHopLimit, opts.ControlMessages.HopLimit = true, uint8(c.hopLimit)
	}
	if c.pktInfo {
		if err := s.applyPktInfo(opts, dst, c, v4); err != nil {
			return nil, c, err
		}
	}
	opt, v := tcpip.IPv4TOSOption, c.tos
	if !v4 {
		opt, v = tcpip.IPv6TrafficClassOption, c.tclass
	}
	if v < 0 {
		return func() {}, c, nil
	}
	// The socket's own value, for this write alone.
	s.ctlMu.RUnlock()
	s.ctlMu.Lock()
	old, terr := s.ep.GetSockOptInt(opt)
	if terr == nil {
		terr = s.ep.SetSockOptInt(opt, v)
	}
	if terr != nil {
		s.ctlMu.Unlock()
		s.ctlMu.RLock()
		return nil, c, errno(terr)
	}
	return func() {
		s.ep.SetSockOptInt(opt, old)
		s.ctlMu.Unlock()
		s.ctlMu.RLock()
	}, c, nil
}

// applyPktInfo honours IP_PKTINFO or IPV6_PKTINFO for a datagram to dst.
func (s *Socket) applyPktInfo(opts *tcpip.WriteOptions, dst *tcpip.FullAddress, c sendControl, v4 bool) error {
	nic := tcpip.NICID(c.ifIndex)
	if nic != 0 && !s.stack.HasNIC(nic) {
		return linux.ENODEV
	}
	proto := header.IPv6ProtocolNumber
	if v4 {
		proto = header.IPv4ProtocolNumber
	}
	if c.src.Len() != 0 && s.stack.CheckLocalAddress(0, proto, c.src) == 0 {
		// Not an address of the sandbox's: ip6_datagram_send_ctl
		// refuses it, IPv4's route lookup finds no way out (or, for
		// a multicast or broadcast source, refuses it).
		if !v4 {
			return linux.EINVAL
		}
		if b := c.src.As4(); b[0] >= 224 || c.src == header.IPv4Broadcast {
			return linux.EINVAL
		}
		return linux.ENETUNREACH
	}
	if !v4 {
		opts.ControlMessages.HasIPv6PacketInfo = true
		opts.ControlMessages.IPv6PacketInfo = tcpip.IPv6PacketInfo{Addr: c.src, NIC: nic}
		return nil
	}
	if dst == nil {
		// Not connected and no address: the write says so.
		return nil
	}
	to := *dst
	to.NIC = nic
	if c.src.Len() != 0 {
		r, terr := s.stack.FindRoute(nic, tcpip.Address{}, unmapV4(to.Addr), proto, false)
		if terr != nil {
			return errno(terr)
		}
		local := r.LocalAddress()
		r.Release()
		if local != c.src {
			// gVisor sends from the route's address only.
			return linux.EINVAL
		}
	}
	if nic != 0 {
		opts.To = &to
	}
	return nil
}
