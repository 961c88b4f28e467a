package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// ipv4MaxMTU is IP_MAX_MTU: IPv4's route MTUs are capped at what its
// 16-bit total length can say; IPv6's are not (a jumbogram's is larger).
const ipv4MaxMTU = 0xffff

// pathMTU returns IP_MTU's or IPV6_MTU's value: the MTU of the route a
// connected socket's packets take, as its cached route (dst_mtu) says.
// A socket with no peer has no route: ENOTCONN. netstack learns no path
// MTU from ICMP, so this is the outgoing interface's MTU.
func (s *Socket) pathMTU() ([]byte, error) {
	remote, terr := s.ep.GetRemoteAddress()
	if terr != nil {
		return nil, linux.ENOTCONN
	}
	if remote.NIC == 0 {
		remote.NIC = tcpip.NICID(s.ep.SocketOptions().GetBindToDevice())
	}
	v4 := remote.Addr.Len() == 4 || isV4Mapped(remote.Addr)
	payload, ok := s.routeMTU(remote, v4)
	if !ok {
		return nil, linux.ENOTCONN
	}
	if v4 {
		return i32(min(payload+header.IPv4MinimumSize, ipv4MaxMTU)), nil
	}
	return i32(payload + header.IPv6MinimumSize), nil
}
