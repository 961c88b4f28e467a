package netstack

import (
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// The per-interface IPv6 sysctls, net.ipv6.conf.IF.disable_ipv6, with
// Linux's rules (addrconf_sysctl_disable): all and default sit beside the
// interfaces; writing all writes default and every interface too;
// default is what an interface made later starts with (every interface
// of a sandbox's namespace exists before its programs run, so each
// starts at 0). Turning IPv6 off on an interface removes its IPv6
// addresses and routes and stops its IPv6 processing (addrconf_ifdown);
// turning it back on restarts it with what Linux adds by itself to an
// interface that is up: ::1 on lo, the EUI-64 link-local address
// elsewhere. The addresses a network plugin gave are gone, as on Linux.

// ipv6Conf holds a namespace's values, under netSysctls.mu.
type ipv6Conf struct {
	all, dflt int64
	// nic holds each interface's value; an interface not in it has 0.
	nic map[tcpip.NICID]int64
}

// ipv6ConfNIC returns the NIC of interface name, or false.
func (s *Stack) ipv6ConfNIC(name string) (tcpip.NICID, bool) {
	for id, ni := range s.NICInfo() {
		if ni.Name == name {
			return id, true
		}
	}
	return 0, false
}

// IPv6ConfNames returns the dotted names of the namespace's
// per-interface IPv6 sysctls: all's, default's and each interface's.
func (s *Stack) IPv6ConfNames() []string {
	var out []string
	ifaces := []string{"all", "default"}
	for _, ni := range s.NICInfo() {
		ifaces = append(ifaces, ni.Name)
	}
	for key := range sysctl.IPv6ConfSysctls {
		for _, iface := range ifaces {
			out = append(out, sysctl.IPv6ConfName(iface, key))
		}
	}
	return out
}

// ipv6ConfValue returns a per-interface sysctl's value, or nil for an
// interface the namespace does not have.
func (s *Stack) ipv6ConfValue(iface string) []int64 {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	c := &s.sysctls.ipv6
	switch iface {
	case "all":
		return []int64{c.all}
	case "default":
		return []int64{c.dflt}
	}
	id, ok := s.ipv6ConfNIC(iface)
	if !ok {
		return nil
	}
	return []int64{c.nic[id]}
}

// setIPv6Conf writes a per-interface sysctl: unix.ENOENT for an
// interface the namespace does not have, a SysctlError for a value Linux
// refuses.
func (s *Stack) setIPv6Conf(name, iface, value string) error {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	c := &s.sysctls.ipv6
	var target []tcpip.NICID
	old := c.dflt
	switch iface {
	case "all":
		old = c.all
		for id := range s.NICInfo() {
			target = append(target, id)
		}
	case "default":
	default:
		id, ok := s.ipv6ConfNIC(iface)
		if !ok {
			return unix.ENOENT
		}
		old = c.nic[id]
		target = []tcpip.NICID{id}
	}
	v, err := sysctl.ParseNet(name, value, []int64{old})
	if err != nil {
		return &SysctlError{Name: name, Err: err}
	}
	switch iface {
	case "all":
		c.all, c.dflt = v[0], v[0]
	case "default":
		c.dflt = v[0]
	}
	if c.nic == nil {
		c.nic = make(map[tcpip.NICID]int64)
	}
	for _, id := range target {
		was := c.nic[id] != 0
		c.nic[id] = v[0]
		if was == (v[0] != 0) {
			continue
		}
		if err := s.applyIPv6DisabledLocked(id, v[0] != 0); err != nil {
			return &SysctlError{Name: name, Err: err}
		}
	}
	return nil
}

// IPv6Disabled reports whether net.ipv6.conf.IF.disable_ipv6 is set for
// NIC id: bringing it up must not give it IPv6 back.
func (s *Stack) IPv6Disabled(id tcpip.NICID) bool {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	return s.sysctls.ipv6.nic[id] != 0
}

// StopIPv6 stops the IPv6 processing of NIC id, which enabling the NIC
// restarts: for a NIC brought up while its disable_ipv6 is set.
func (s *Stack) StopIPv6(id tcpip.NICID) {
	if ep, err := s.GetNetworkEndpoint(id, ipv6.ProtocolNumber); err == nil {
		ep.Disable()
	}
}

// applyIPv6DisabledLocked turns IPv6 off or on for NIC id.
//
// Preconditions: s.sysctls.mu is held.
func (s *Stack) applyIPv6DisabledLocked(id tcpip.NICID, disabled bool) error {
	ep, terr := s.GetNetworkEndpoint(id, ipv6.ProtocolNumber)
	if terr != nil {
		return fmt.Errorf("NIC %d has no IPv6: %s", id, terr)
	}
	if disabled {
		for _, a := range s.AllAddresses()[id] {
			if a.Protocol == ipv6.ProtocolNumber {
				_ = s.RemoveAddress(id, a.AddressWithPrefix.Address)
			}
		}
		s.RemoveRoutes(func(r tcpip.Route) bool {
			return r.NIC == id && r.Destination.ID().BitLen() == header.IPv6AddressSizeBits
		})
		ep.Disable()
		return nil
	}
	if !s.CheckNIC(id) {
		// Disabled: enabling it starts IPv6.
		return nil
	}
	if terr := ep.Enable(); terr != nil {
		return fmt.Errorf("starting IPv6 on NIC %d: %s", id, terr)
	}
	if id == LoopbackNIC && s.LoopbackDown() {
		// Down behind its gate: bringing it up adds ::1.
		return nil
	}
	var pa tcpip.ProtocolAddress
	if id == LoopbackNIC {
		for _, a := range LoopbackAddresses() {
			if a.Protocol == ipv6.ProtocolNumber {
				pa = a
			}
		}
	} else {
		ni, ok := s.SingleNICInfo(id)
		if !ok || len(ni.LinkAddress) != header.EthernetAddressSize {
			// No link-layer address to make one from.
			return nil
		}
		pa = tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: header.LinkLocalAddr(ni.LinkAddress), PrefixLen: 64}}
	}
	switch terr := s.AddProtocolAddress(id, pa, stack.AddressProperties{}); terr.(type) {
	case nil, *tcpip.ErrDuplicateAddress:
	default:
		return fmt.Errorf("adding %s: %s", pa.AddressWithPrefix, terr)
	}
	s.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: id})
	return nil
}
