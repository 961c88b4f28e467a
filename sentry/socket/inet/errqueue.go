package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// The socket error queue: recvmsg(MSG_ERRQUEUE) with IP_RECVERR or
// IPV6_RECVERR set (ip_recv_error, ipv6_recv_error). DNS resolvers and
// QUIC stacks set the option on connected UDP sockets to learn why a
// peer does not answer; without it they see only SO_ERROR.
//
// Two kinds of error are queued, besides zerocopy's reports
// (zerocopy.go). netstack queues an ICMP or ICMPv6 port
// unreachable for a connected UDP socket, the only ICMP error it hands a
// UDP socket. checkSize queues the local error of a datagram too large
// for its IP version, before netstack sees the send. Each comes back as
// Linux gives it: the payload of the datagram that failed as the data
// (cut to the buffer, with MSG_TRUNC), where it was going as the
// address, and a struct sock_extended_err with the offender's address as
// the control message. The offender is whoever sent the ICMP error: for
// a port unreachable, the destination host, so its address (netstack's
// own record holds the local address); a local error has none
// (AF_UNSPEC). Taking an error sets SO_ERROR to the next one queued, or
// clears it, as sock_dequeue_err_skb does.

// The origins of struct sock_extended_err (linux/errqueue.h).
const (
	eeOriginLocal = 1 // SO_EE_ORIGIN_LOCAL
	eeOriginICMP  = 2 // SO_EE_ORIGIN_ICMP
	eeOriginICMP6 = 3 // SO_EE_ORIGIN_ICMP6

	// sizeofSockExtendedErr is sizeof(struct sock_extended_err).
	sizeofSockExtendedErr = 16
)

// RecvErr takes the oldest error of the socket's error queue into dst
// (recvmsg with MSG_ERRQUEUE): EAGAIN when there is none.
func (s *Socket) RecvErr(dst []byte, wantFrom bool) (RecvResult, error) {
	ops := s.ep.SocketOptions()
	se := ops.DequeueErr()
	if se == nil {
		return RecvResult{}, linux.EAGAIN
	}
	var payload []byte
	if se.Payload != nil {
		payload = se.Payload.AsSlice()
		defer se.Payload.Release()
	}
	if r, ok := se.Cause.(*zerocopyReport); ok {
		// No data and no address; SO_ERROR stays (sock_dequeue_err_skb
		// clears it only past an ICMP error).
		return RecvResult{Control: s.zerocopyControl(s.takeZerocopy(r)), Flags: linux.MSG_ERRQUEUE}, nil
	}
	res := RecvResult{
		N:       copy(dst, payload),
		MsgLen:  len(payload),
		Control: s.errControl(se),
		Flags:   linux.MSG_ERRQUEUE,
	}
	if res.N < res.MsgLen {
		res.Flags |= linux.MSG_TRUNC
	}
	if wantFrom {
		res.From = sockaddr(s.family, se.Dst)
	}
	if ops.PeekErr() == nil {
		// SO_ERROR goes with the queue; netstack keeps it apart.
		s.ep.LastError()
	}
	return res, nil
}

// errControl encodes se as the IP_RECVERR (IPV6_RECVERR on an AF_INET6
// socket) control message: struct sock_extended_err, then the offender
// as the socket family's struct sockaddr.
func (s *Socket) errControl(se *tcpip.SockError) []byte {
	var origin uint8
	switch se.Cause.Origin() {
	case tcpip.SockExtErrorOriginLocal:
		origin = eeOriginLocal
	case tcpip.SockExtErrorOriginICMP:
		origin = eeOriginICMP
	case tcpip.SockExtErrorOriginICMP6:
		origin = eeOriginICMP6
	}
	b := make([]byte, sizeofSockExtendedErr, sizeofSockExtendedErr+sizeofSockaddrIn6)
	if e, ok := errno(se.Err).(linux.Errno); ok {
		le.PutUint32(b[0:], uint32(e))
	}
	b[4] = origin
	b[5] = se.Cause.Type()
	b[6] = se.Cause.Code()
	le.PutUint32(b[8:], se.Cause.Info())
	var offender []byte
	if origin == eeOriginICMP || origin == eeOriginICMP6 {
		offender = sockaddr(s.family, tcpip.FullAddress{NIC: se.Dst.NIC, Addr: se.Dst.Addr})
	}
	return s.recvErrControl(b, offender)
}

// recvErrControl wraps ee, a struct sock_extended_err, and offender, a
// struct sockaddr of the socket's family (nil: a zeroed one), in the
// IP_RECVERR (IPV6_RECVERR on an AF_INET6 socket) control message.
func (s *Socket) recvErrControl(ee, offender []byte) []byte {
	if s.family == linux.AF_INET6 {
		if offender == nil {
			offender = make([]byte, sizeofSockaddrIn6)
		}
		return appendCmsg(nil, linux.SOL_IPV6, linux.IPV6_RECVERR, append(ee, offender...))
	}
	if offender == nil {
		offender = make([]byte, sizeofSockaddrIn)
	}
	return appendCmsg(nil, linux.SOL_IP, linux.IP_RECVERR, append(ee, offender...))
}

// checkSize is EMSGSIZE for a UDP datagram of size bytes past the
// largest payload of the destination's IP version, queueing the local
// error ip_append_data and ip6_append_data queue with IP_RECVERR and
// IPV6_RECVERR: no payload, the destination, and the route's MTU as
// ee_info (IPv4's at most IP_MAX_MTU). Past 64 KiB an IPv4 send fails
// before that (udp_sendmsg) and queues nothing. netstack refuses these
// sends too, but queues only an IPv6 one past 64 KiB, with its size.
func (s *Socket) checkSize(opts *tcpip.WriteOptions, size int) error {
	if s.protocol != linux.IPPROTO_UDP || size <= maxGSODatagram4 {
		return nil
	}
	dst, v4 := s.destination(opts)
	if dst == nil || (!v4 && size <= maxGSODatagram6) {
		return nil
	}
	ops := s.ep.SocketOptions()
	queue, proto, hdr := ops.GetIPv6RecvError(), header.IPv6ProtocolNumber, header.IPv6MinimumSize
	if v4 {
		queue, proto, hdr = ops.GetIPv4RecvError() && size <= 0xffff, header.IPv4ProtocolNumber, header.IPv4MinimumSize
	}
	if queue {
		var mtu uint32
		if m, ok := s.routeMTU(*dst, v4); ok {
			mtu = uint32(m + hdr)
			if v4 {
				mtu = min(mtu, 0xffff)
			}
		}
		ops.QueueLocalErr(&tcpip.ErrMessageTooLong{}, proto, mtu, *dst, nil)
		s.queue.Notify(waiter.EventErr)
	}
	return linux.EMSGSIZE
}

// Oversize is the EMSGSIZE of a datagram too large to copy in at all
// (to: its address, or none for the peer), with checkSize's local
// error.
func (s *Socket) Oversize(to []byte) error {
	var opts tcpip.WriteOptions
	if len(to) > 0 {
		a, err := s.datagramTo(to)
		if err != nil {
			return err
		}
		opts.To = a
	}
	if err := s.checkSize(&opts, maxInetDatagram); err != nil {
		return err
	}
	return linux.EMSGSIZE
}

// maxInetDatagram stands for the size of a datagram Oversize refuses:
// past any IP version's largest.
const maxInetDatagram = 1 << 16
