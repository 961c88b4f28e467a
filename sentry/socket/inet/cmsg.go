package inet

import (
	"encoding/binary"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Ancillary data on receive: the options that ask recvmsg(2) for it on a
// datagram socket (UDP, ping, raw), and its encoding as Linux's
// control messages. DNS servers need IP_PKTINFO and IPV6_RECVPKTINFO to
// answer from the address a query came to (miekg/dns, and so CoreDNS,
// refuses to serve UDP without one of them), QUIC stacks read the TOS
// byte for ECN, ping reads SO_TIMESTAMP.
//
// The socket keeps what the application asked for (Socket.cmsg); gVisor's
// own flags are set to what producing it needs: an IPv6 socket's
// IPV6_PKTINFO for an IPv4 datagram comes from the IPv4 packet info, and
// gVisor has one flag for both families' original destination.
//
// Stream sockets take none of these (ENOPROTOOPT): Linux's TCP delivers
// only timestamps and TCP_INQ, which gVisor's TCP does not keep.

// The ancillary data asked for (Socket.cmsg).
const (
	cmsgPktInfo      = 1 << iota // IP_PKTINFO
	cmsgTOS                      // IP_RECVTOS
	cmsgTTL                      // IP_RECVTTL
	cmsgOrigDst                  // IP_RECVORIGDSTADDR
	cmsgPktInfo6                 // IPV6_RECVPKTINFO
	cmsgTClass                   // IPV6_RECVTCLASS
	cmsgHopLimit                 // IPV6_RECVHOPLIMIT
	cmsgOrigDst6                 // IPV6_RECVORIGDSTADDR
	cmsgTimestamp                // SO_TIMESTAMP*: SOCK_RCVTSTAMP
	cmsgTimestampNS              // SO_TIMESTAMPNS*: SOCK_RCVTSTAMPNS
	cmsgTimestampNew             // the _NEW variant set last: SOCK_TSTAMP_NEW
	cmsgRxqOvfl                  // SO_RXQ_OVFL: SOCK_RXQ_OVFL
)

// Linux's numbers missing from x/sys/unix.
const (
	soTimestampOld   = 29 // SO_TIMESTAMP_OLD, SCM_TIMESTAMP
	soTimestampNSOld = 35 // SO_TIMESTAMPNS_OLD, SCM_TIMESTAMPNS
	soTimestampNew   = 63 // SO_TIMESTAMP_NEW
	soTimestampNSNew = 64 // SO_TIMESTAMPNS_NEW
	cmsgHdrLen       = 16 // sizeof(struct cmsghdr)
)

// recvFlagOf returns the ancillary data flag a level/name option sets.
func recvFlagOf(level, name int) (uint32, bool) {
	switch level {
	case linux.SOL_IP:
		switch name {
		case linux.IP_PKTINFO:
			return cmsgPktInfo, true
		case linux.IP_RECVTOS:
			return cmsgTOS, true
		case linux.IP_RECVTTL:
			return cmsgTTL, true
		case linux.IP_RECVORIGDSTADDR:
			return cmsgOrigDst, true
		}
	case linux.SOL_IPV6:
		switch name {
		case linux.IPV6_RECVPKTINFO:
			return cmsgPktInfo6, true
		case linux.IPV6_RECVTCLASS:
			return cmsgTClass, true
		case linux.IPV6_RECVHOPLIMIT:
			return cmsgHopLimit, true
		case linux.IPV6_RECVORIGDSTADDR:
			return cmsgOrigDst6, true
		}
	}
	return 0, false
}

// setRecvFlag turns one of the IP and IPv6 ancillary data options on or
// off.
func (s *Socket) setRecvFlag(flag uint32, on bool) {
	s.cmsgMu.Lock()
	defer s.cmsgMu.Unlock()
	v := s.cmsg.Load()
	if on {
		v |= flag
	} else {
		v &^= flag
	}
	s.cmsg.Store(v)
	ops := s.ep.SocketOptions()
	// An IPv6 socket's IPV6_PKTINFO of an IPv4 datagram is made from
	// the IPv4 packet info.
	ops.SetReceivePacketInfo(v&cmsgPktInfo != 0 || (s.family == linux.AF_INET6 && v&cmsgPktInfo6 != 0))
	ops.SetIPv6ReceivePacketInfo(v&cmsgPktInfo6 != 0)
	ops.SetReceiveTOS(v&cmsgTOS != 0)
	ops.SetReceiveTTL(v&cmsgTTL != 0)
	ops.SetReceiveTClass(v&cmsgTClass != 0)
	ops.SetReceiveHopLimit(v&cmsgHopLimit != 0)
	ops.SetReceiveOriginalDstAddress(v&(cmsgOrigDst|cmsgOrigDst6) != 0)
}

// setTimestamp implements SO_TIMESTAMP{,NS}{_OLD,_NEW} as
// sock_set_timestamp does.
func (s *Socket) setTimestamp(name int, on bool) {
	s.cmsgMu.Lock()
	defer s.cmsgMu.Unlock()
	v := s.cmsg.Load() &^ (cmsgTimestamp | cmsgTimestampNS | cmsgTimestampNew)
	if on {
		v |= cmsgTimestamp
		if name == soTimestampNSOld || name == soTimestampNSNew {
			v |= cmsgTimestampNS
		}
		if name == soTimestampNew || name == soTimestampNSNew {
			v |= cmsgTimestampNew
		}
	}
	s.cmsg.Store(v)
}

// timestampOpt is getsockopt's value of an SO_TIMESTAMP* option, as
// sk_getsockopt reports it.
func (s *Socket) timestampOpt(name int) bool {
	v := s.cmsg.Load()
	ts, ns, isNew := v&cmsgTimestamp != 0, v&cmsgTimestampNS != 0, v&cmsgTimestampNew != 0
	switch name {
	case soTimestampOld:
		return ts && !isNew && !ns
	case soTimestampNSOld:
		return ns && !isNew
	case soTimestampNew:
		return ts && isNew && !ns
	}
	return ns && isNew // soTimestampNSNew
}

// setRxqOvfl implements SO_RXQ_OVFL: a flag any socket takes, which only
// a datagram socket's recvmsg acts on.
func (s *Socket) setRxqOvfl(on bool) {
	s.cmsgMu.Lock()
	defer s.cmsgMu.Unlock()
	v := s.cmsg.Load() &^ cmsgRxqOvfl
	if on {
		v |= cmsgRxqOvfl
	}
	s.cmsg.Store(v)
}

// drops is the number of datagrams the socket dropped for want of room
// in its receive buffer (Linux's sk_drops counts those, and the few a
// filter or a bad checksum drops).
func (s *Socket) drops() uint64 {
	st, ok := s.ep.Stats().(*tcpip.TransportEndpointStats)
	if !ok {
		return 0
	}
	return st.ReceiveErrors.ReceiveBufferOverflow.Value()
}

// recvFlag reports whether an ancillary data option is on.
func (s *Socket) recvFlag(flag uint32) bool { return s.cmsg.Load()&flag != 0 }

// control encodes the ancillary data of one datagram the socket asked
// for, in the order Linux's udp_recvmsg and udpv6_recvmsg put it: the
// timestamp and the drop count (sock_recv_cmsgs), then an IPv6 socket's
// IPV6_PKTINFO, then the IPv4 options
// for an IPv4 datagram (ip_cmsg_recv_offset) or the IPv6 ones
// (ip6_datagram_recv_specific_ctl). from is the sender.
func (s *Socket) control(cm tcpip.ReceivableControlMessages, from tcpip.FullAddress) []byte {
	v := s.cmsg.Load()
	var b []byte
	if v&cmsgTimestamp != 0 && cm.HasTimestamp {
		typ := soTimestampOld
		sec, sub := cm.Timestamp.Unix(), int64(cm.Timestamp.Nanosecond())
		switch {
		case v&cmsgTimestampNS != 0 && v&cmsgTimestampNew != 0:
			typ = soTimestampNSNew
		case v&cmsgTimestampNS != 0:
			typ = soTimestampNSOld
		case v&cmsgTimestampNew != 0:
			typ, sub = soTimestampNew, sub/1000
		default:
			sub /= 1000
		}
		b = appendCmsg(b, linux.SOL_SOCKET, typ, le.AppendUint64(le.AppendUint64(nil, uint64(sec)), uint64(sub)))
	}
	if v&cmsgRxqOvfl != 0 {
		// sock_recv_drops: the socket's drops so far, when there are
		// any. Linux gives the count when the datagram was queued,
		// this the count when it is read: the same for a datagram
		// that came after the drops, higher for one that waited in
		// the queue while later ones were dropped.
		if d := s.drops(); d != 0 {
			b = appendCmsg(b, linux.SOL_SOCKET, linux.SO_RXQ_OVFL, le.AppendUint32(nil, uint32(d)))
		}
	}
	v4 := from.Addr.Len() == 4
	if s.family == linux.AF_INET6 && v&cmsgPktInfo6 != 0 {
		var data []byte
		switch {
		case !v4 && cm.HasIPv6PacketInfo:
			a := cm.IPv6PacketInfo.Addr.As16()
			data = le.AppendUint32(a[:], uint32(cm.IPv6PacketInfo.NIC))
		case v4 && cm.HasIPPacketInfo:
			var a [16]byte
			a[10], a[11] = 0xff, 0xff
			d := cm.PacketInfo.DestinationAddr.As4()
			copy(a[12:], d[:])
			data = le.AppendUint32(a[:], uint32(cm.PacketInfo.NIC))
		}
		if data != nil {
			b = appendCmsg(b, linux.SOL_IPV6, linux.IPV6_PKTINFO, data)
		}
	}
	if v4 || s.family == linux.AF_INET {
		if v&cmsgPktInfo != 0 && cm.HasIPPacketInfo {
			data := le.AppendUint32(nil, uint32(cm.PacketInfo.NIC))
			data = append(data, addr4(cm.PacketInfo.LocalAddr)...)
			data = append(data, addr4(cm.PacketInfo.DestinationAddr)...)
			b = appendCmsg(b, linux.SOL_IP, linux.IP_PKTINFO, data)
		}
		if v&cmsgTTL != 0 && cm.HasTTL {
			b = appendCmsg(b, linux.SOL_IP, linux.IP_TTL, le.AppendUint32(nil, uint32(cm.TTL)))
		}
		if v&cmsgTOS != 0 && cm.HasTOS {
			b = appendCmsg(b, linux.SOL_IP, linux.IP_TOS, []byte{cm.TOS})
		}
		if v&cmsgOrigDst != 0 && cm.HasOriginalDstAddress {
			b = appendCmsg(b, linux.SOL_IP, linux.IP_ORIGDSTADDR, sockaddr(linux.AF_INET, cm.OriginalDstAddress))
		}
		return b
	}
	if v&cmsgHopLimit != 0 && cm.HasHopLimit {
		b = appendCmsg(b, linux.SOL_IPV6, linux.IPV6_HOPLIMIT, le.AppendUint32(nil, uint32(cm.HopLimit)))
	}
	if v&cmsgTClass != 0 && cm.HasTClass {
		b = appendCmsg(b, linux.SOL_IPV6, linux.IPV6_TCLASS, le.AppendUint32(nil, cm.TClass))
	}
	if v&cmsgOrigDst6 != 0 && cm.HasOriginalDstAddress {
		b = appendCmsg(b, linux.SOL_IPV6, linux.IPV6_ORIGDSTADDR, sockaddr(linux.AF_INET6, cm.OriginalDstAddress))
	}
	return b
}

// addr4 returns an IPv4 address's four bytes (zeros for none).
func addr4(a tcpip.Address) []byte {
	if a.Len() != 4 {
		return make([]byte, 4)
	}
	v := a.As4()
	return v[:]
}

// appendCmsg appends one control message, padded to CMSG_ALIGN.
func appendCmsg(b []byte, level, typ int, data []byte) []byte {
	b = le.AppendUint64(b, uint64(cmsgHdrLen+len(data)))
	b = le.AppendUint32(b, uint32(int32(level)))
	b = le.AppendUint32(b, uint32(int32(typ)))
	b = append(b, data...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// PutControl fits encoded control messages into space bytes as
// put_cmsg does: messages that fit whole are kept; the first that does
// not keeps its header (its length cut to what fits) and the data that
// fits, and the rest go; less room than a header keeps nothing.
// truncated reports MSG_CTRUNC. control is not modified.
func PutControl(control []byte, space int) (out []byte, truncated bool) {
	space = max(min(space, len(control)), 0)
	for off := 0; off+cmsgHdrLen <= len(control); {
		l64 := binary.LittleEndian.Uint64(control[off:])
		if l64 < cmsgHdrLen || l64 > uint64(len(control)-off) {
			// Not an encoding of control(): nothing past here.
			return control[:off], false
		}
		l := int(l64)
		padded := (l + 7) &^ 7
		if space-off < cmsgHdrLen {
			return control[:off], true
		}
		if space-off < l {
			out = append([]byte(nil), control[:space]...)
			binary.LittleEndian.PutUint64(out[off:], uint64(space-off))
			return out, true
		}
		if space-off < padded {
			// The message fits, its padding does not: Linux ends
			// the buffer there, and cuts what follows.
			return control[:space], off+padded < len(control)
		}
		off += padded
	}
	return control, false
}
