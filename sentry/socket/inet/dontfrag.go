package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// IPV6_DONTFRAG: a datagram to an IPv6 destination that does not fit the
// route's MTU fails with EMSGSIZE instead of leaving in fragments, as QUIC
// stacks (msquic, quiche) ask so that they learn the path's MTU. gVisor's
// IPv6 always fragments a local datagram, so the size is checked here,
// before the write, as __ip6_append_data checks it: UDP, ping and raw
// sockets only, not for an IPv4 destination (an IPv6 socket's IPv4-mapped
// one goes by IP_MTU_DISCOVER), and not for UDP_SEGMENT's super-datagrams,
// whose segments are sized apart. Linux also reports the MTU to an
// IPV6_RECVPATHMTU listener, which the sandbox does not take.

// checkDontFrag returns EMSGSIZE when a datagram of size bytes of payload
// to the write's destination would need fragments.
func (s *Socket) checkDontFrag(opts *tcpip.WriteOptions, size int) error {
	dst, v4 := s.destination(opts)
	if dst == nil || v4 {
		return nil
	}
	mtu, ok := s.routeMTU(*dst, false)
	if !ok {
		return nil // no route: the write says so
	}
	if size+s.transportHeaderLen() > mtu {
		return linux.EMSGSIZE
	}
	return nil
}

// transportHeaderLen is what the socket's protocol puts before a
// datagram's payload: a UDP header, nothing for ping and raw sockets
// (whose payload is their ICMPv6 or whole transport message).
func (s *Socket) transportHeaderLen() int {
	if s.isUDP() {
		return header.UDPMinimumSize
	}
	return 0
}
