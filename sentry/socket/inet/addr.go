package inet

import (
	"encoding/binary"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Sizes of struct sockaddr_in and sockaddr_in6, and the shortest
// sockaddr_in6 Linux accepts (SIN6_LEN_RFC2133, without sin6_scope_id).
const (
	sizeofSockaddrIn   = 16
	sizeofSockaddrIn6  = 28
	sockaddrIn6MinSize = 24
)

// v4MappedAny is ::ffff:0.0.0.0, the IPv6 name of INADDR_ANY on a
// dual-stack socket.
var v4MappedAny = tcpip.AddrFrom16([16]byte{10: 0xff, 11: 0xff})

// parsedAddr is a decoded struct sockaddr_in or sockaddr_in6.
type parsedAddr struct {
	family int
	addr   tcpip.FullAddress
}

// parseSockaddr decodes b, whose family field is checked by the callers
// (bind, connect and sendto each have their own rules). An all-zero
// address is the unspecified address (empty in netstack).
func parseSockaddr(b []byte) (parsedAddr, error) {
	if len(b) < 2 {
		return parsedAddr{}, linux.EINVAL
	}
	fam := int(binary.LittleEndian.Uint16(b))
	switch fam {
	case linux.AF_INET:
		if len(b) < sizeofSockaddrIn {
			return parsedAddr{}, linux.EINVAL
		}
		a := tcpip.AddrFrom4([4]byte(b[4:8]))
		if a == (tcpip.AddrFrom4([4]byte{})) {
			a = tcpip.Address{}
		}
		return parsedAddr{family: fam, addr: tcpip.FullAddress{Addr: a, Port: binary.BigEndian.Uint16(b[2:])}}, nil
	case linux.AF_INET6:
		if len(b) < sockaddrIn6MinSize {
			return parsedAddr{}, linux.EINVAL
		}
		a := tcpip.AddrFrom16([16]byte(b[8:24]))
		if a == (tcpip.AddrFrom16([16]byte{})) {
			a = tcpip.Address{}
		}
		fa := tcpip.FullAddress{Addr: a, Port: binary.BigEndian.Uint16(b[2:])}
		if len(b) >= sizeofSockaddrIn6 && isLinkLocal(a) {
			fa.NIC = tcpip.NICID(binary.LittleEndian.Uint32(b[24:]))
		}
		return parsedAddr{family: fam, addr: fa}, nil
	}
	return parsedAddr{family: fam}, nil
}

func isLinkLocal(a tcpip.Address) bool {
	if a.Len() != 16 {
		return false
	}
	s := a.As16()
	return s[0] == 0xfe && s[1]&0xc0 == 0x80
}

// sockaddr encodes a as the family's struct sockaddr: an IPv4 address on
// an AF_INET6 socket (a dual-stack peer) is IPv4-mapped, as Linux
// reports it.
func sockaddr(family int, a tcpip.FullAddress) []byte {
	le, be := binary.LittleEndian, binary.BigEndian
	if family == linux.AF_INET {
		b := make([]byte, sizeofSockaddrIn)
		le.PutUint16(b, linux.AF_INET)
		be.PutUint16(b[2:], a.Port)
		if a.Addr.Len() == 4 {
			v := a.Addr.As4()
			copy(b[4:], v[:])
		} else if a.Addr.Len() == 16 {
			// An IPv4-mapped address seen by an IPv4 socket.
			v := a.Addr.As16()
			copy(b[4:], v[12:])
		}
		return b
	}
	b := make([]byte, sizeofSockaddrIn6)
	le.PutUint16(b, linux.AF_INET6)
	be.PutUint16(b[2:], a.Port)
	switch a.Addr.Len() {
	case 4:
		v := a.Addr.As4()
		b[18], b[19] = 0xff, 0xff
		copy(b[20:], v[:])
	case 16:
		v := a.Addr.As16()
		copy(b[8:], v[:])
		if isLinkLocal(a.Addr) {
			le.PutUint32(b[24:], uint32(a.NIC))
		}
	}
	return b
}

// toNetstack adapts an address given to an AF_INET6 socket: an IPv4
// INADDR_ANY must become ::ffff:0.0.0.0 on a dual-stack socket, because
// netstack writes both unspecified addresses as the empty address.
func (s *Socket) toNetstack(p parsedAddr) tcpip.FullAddress {
	if s.family == linux.AF_INET6 && p.family == linux.AF_INET && p.addr.Addr.Len() == 0 {
		p.addr.Addr = v4MappedAny
	}
	return p.addr
}
