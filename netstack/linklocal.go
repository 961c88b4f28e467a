package netstack

import (
	"crypto/rand"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// LinkLocal returns the IPv6 link-local address interface id gets when
// it comes up with IPv6 on, as Linux's addrconf_dev_config makes it: from
// the Ethernet address (EUI-64) of a TAP or a veth, and for a TUN, which
// has none (ARPHRD_NONE, whose addr_gen_mode Linux sets to random), from
// an interface ID drawn at random the first time and kept for the
// device's life, so that it comes back the same after a down and up. ok
// is false for the loopback and for an interface without either.
func (s *Stack) LinkLocal(id tcpip.NICID) (tcpip.ProtocolAddress, bool) {
	if id == LoopbackNIC {
		return tcpip.ProtocolAddress{}, false
	}
	ni, ok := s.SingleNICInfo(id)
	if !ok {
		return tcpip.ProtocolAddress{}, false
	}
	var addr tcpip.Address
	switch {
	case len(ni.LinkAddress) == header.EthernetAddressSize:
		addr = header.LinkLocalAddr(ni.LinkAddress)
	default:
		iid, ok := s.tunLinkLocalIID(ni.Name)
		if !ok {
			return tcpip.ProtocolAddress{}, false
		}
		var b [header.IPv6AddressSize]byte
		b[0], b[1] = 0xfe, 0x80
		copy(b[8:], iid[:])
		addr = tcpip.AddrFrom16(b)
	}
	return tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: 64}}, true
}

// AddLinkLocal gives interface id, just brought up, its link-local
// address (LinkLocal) unless IPv6 is off on it; the caller adds the
// prefix route.
func (s *Stack) AddLinkLocal(id tcpip.NICID) {
	if s.IPv6Disabled(id) {
		return
	}
	pa, ok := s.LinkLocal(id)
	if !ok {
		return
	}
	// A duplicate is one the interface kept, or one configured by hand.
	_ = s.AddProtocolAddress(id, pa, stack.AddressProperties{})
}

// tunLinkLocalIID returns TUN device name's link-local interface ID,
// drawing it the first time: random (Linux derives it from a random
// per-device secret, IN6_ADDR_GEN_MODE_RANDOM), never all zeros (the
// subnet-router anycast ID).
func (s *Stack) tunLinkLocalIID(name string) ([8]byte, bool) {
	t := &s.tunDevices
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.byName[name]
	if !ok {
		return [8]byte{}, false
	}
	for d.linkLocalIID == [8]byte{} {
		rand.Read(d.linkLocalIID[:])
	}
	t.byName[name] = d
	return d.linkLocalIID, true
}
