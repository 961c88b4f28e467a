package netstack

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// The per-interface sysctls, net.ipv4.conf.IF.KEY and net.ipv6.conf.IF.KEY
// (sysctl.ConfSysctls). Linux keeps all and default beside the
// interfaces; default is what an interface made later starts with (every
// interface of a sandbox's namespace exists before its programs run, so
// each starts at 0). What writing all does differs by key, as in Linux:
//
//   - net.ipv6.conf.*.disable_ipv6 (addrconf_sysctl_disable): writing all
//     writes default and every interface too. Turning IPv6 off on an
//     interface removes its IPv6 addresses and routes and stops its IPv6
//     processing (addrconf_ifdown); turning it back on restarts it with
//     what Linux adds by itself to an interface that is up: ::1 on lo,
//     the EUI-64 link-local address elsewhere. The addresses a network
//     plugin gave are gone, as on Linux.
//   - net.ipv6.conf.*.forwarding (addrconf_fixup_forwarding): writing
//     all writes default and every interface, even with the value all
//     had; an interface forwarding is a router.
//   - net.ipv4.conf.*.forwarding (devinet_sysctl_forward): all is
//     net.ipv4.ip_forward, one value under two names, and writing it
//     writes default and every interface only when it changes it.
//     Whether a packet is forwarded depends on the interface it came in
//     on, in gVisor as in Linux.
//   - net.ipv4.conf.*.promote_secondaries (devinet_conf_proc): all is a
//     value of its own, which an interface's is ORed with
//     (IN_DEV_ORCONF); writing it writes nothing else. (Linux copies a
//     new default to the interfaces whose value was never written;
//     here default is only what it reads back.)

// confKey names a per-interface sysctl: its family (ipv4, ipv6) and its
// last name.
type confKey struct{ family, key string }

var (
	confDisableIPv6 = confKey{"ipv6", "disable_ipv6"}
	confForwarding6 = confKey{"ipv6", "forwarding"}
	confForwarding4 = confKey{"ipv4", "forwarding"}
	confPromote     = confKey{"ipv4", "promote_secondaries"}
)

// ipForward is the other name of net.ipv4.conf.all.forwarding.
const ipForward = "net.ipv4.ip_forward"

// ifaceConf holds one per-interface sysctl's values, under
// netSysctls.mu.
type ifaceConf struct {
	// all is unused for ipv4's forwarding, which is ip_forward.
	all, dflt int64
	// nic holds each interface's value; an interface not in it has 0.
	nic map[tcpip.NICID]int64
}

// confLocked returns key's values, made at the first use.
//
// Preconditions: s.sysctls.mu is held.
func (s *Stack) confLocked(key confKey) *ifaceConf {
	c := s.sysctls.conf[key]
	if c == nil {
		if s.sysctls.conf == nil {
			s.sysctls.conf = make(map[confKey]*ifaceConf)
		}
		c = &ifaceConf{nic: make(map[tcpip.NICID]int64)}
		s.sysctls.conf[key] = c
	}
	return c
}

// ConfNames returns the dotted names of the namespace's per-interface
// sysctls: all's, default's and each interface's.
func (s *Stack) ConfNames() []string {
	var out []string
	ifaces := []string{"all", "default"}
	for _, ni := range s.NICInfo() {
		ifaces = append(ifaces, ni.Name)
	}
	for family, keys := range sysctl.ConfSysctls {
		for key := range keys {
			for _, iface := range ifaces {
				out = append(out, sysctl.ConfName(family, iface, key))
			}
		}
	}
	return out
}

// confValue returns a per-interface sysctl's value, or nil for an
// interface the namespace does not have.
func (s *Stack) confValue(family, iface, key string) []int64 {
	k := confKey{family, key}
	if k == confForwarding4 && iface == "all" {
		return s.sysctlValue(ipForward)
	}
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	c := s.confLocked(k)
	switch iface {
	case "all":
		return []int64{c.all}
	case "default":
		return []int64{c.dflt}
	}
	id, ok := s.NICByName(iface)
	if !ok {
		return nil
	}
	return []int64{c.nic[id]}
}

// setConf writes a per-interface sysctl: unix.ENOENT for an interface
// the namespace does not have, a SysctlError for a value Linux refuses.
func (s *Stack) setConf(name, family, iface, key, value string) error {
	k := confKey{family, key}
	if k == confForwarding4 && iface == "all" {
		err := s.SetSysctl(ipForward, value)
		var se *SysctlError
		if errors.As(err, &se) {
			se.Name = name // the name the caller wrote
		}
		return err
	}
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	c := s.confLocked(k)
	var target []tcpip.NICID
	old := c.dflt
	switch iface {
	case "all":
		old = c.all
		if k != confPromote {
			for id := range s.NICInfo() {
				target = append(target, id)
			}
		}
	case "default":
	default:
		id, ok := s.NICByName(iface)
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
	switch {
	case iface == "all" && k == confPromote:
		c.all = v[0]
	case iface == "all":
		c.all, c.dflt = v[0], v[0]
	case iface == "default":
		c.dflt = v[0]
	}
	for _, id := range target {
		was := c.nic[id]
		c.nic[id] = v[0]
		if err := s.applyConfLocked(k, id, was, v[0]); err != nil {
			return &SysctlError{Name: name, Err: err}
		}
	}
	return nil
}

// applyConfLocked gives NIC id what its value of sysctl k, changed from
// was to now, controls.
//
// Preconditions: s.sysctls.mu is held.
func (s *Stack) applyConfLocked(k confKey, id tcpip.NICID, was, now int64) error {
	proto := ipv4.ProtocolNumber
	switch k {
	case confPromote:
		return nil // read when an address is deleted
	case confDisableIPv6:
		if (was != 0) == (now != 0) {
			return nil
		}
		return s.applyIPv6DisabledLocked(id, now != 0)
	case confForwarding6:
		proto = ipv6.ProtocolNumber
	}
	if _, terr := s.SetNICForwarding(id, proto, now != 0); terr != nil {
		return fmt.Errorf("forwarding on NIC %d: %s", id, terr)
	}
	return nil
}

// applyIPForwardLocked sets net.ipv4.ip_forward, net.ipv4.conf.all.forwarding
// by its other name: a new value goes to default and to every interface.
//
// Preconditions: s.sysctls.mu is held.
func (s *Stack) applyIPForwardLocked(v int64) tcpip.Error {
	if old := s.sysctls.values[ipForward]; old != nil && old[0] == v {
		return nil
	}
	c := s.confLocked(confForwarding4)
	c.dflt = v
	for id := range s.NICInfo() {
		c.nic[id] = v
	}
	return s.SetForwardingDefaultAndAllNICs(ipv4.ProtocolNumber, v != 0)
}

// PromoteSecondaries reports whether deleting a primary IPv4 address of
// NIC id promotes its oldest secondary: net.ipv4.conf.all's or the
// interface's promote_secondaries is set.
func (s *Stack) PromoteSecondaries(id tcpip.NICID) bool {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	c := s.confLocked(confPromote)
	return c.all != 0 || c.nic[id] != 0
}

// IPv6Disabled reports whether net.ipv6.conf.IF.disable_ipv6 is set for
// NIC id: bringing it up must not give it IPv6 back.
func (s *Stack) IPv6Disabled(id tcpip.NICID) bool {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	return s.confLocked(confDisableIPv6).nic[id] != 0
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
		var ok bool
		if pa, ok = s.LinkLocal(id); !ok {
			return nil
		}
	}
	switch terr := s.AddProtocolAddress(id, pa, stack.AddressProperties{}); terr.(type) {
	case nil, *tcpip.ErrDuplicateAddress:
	default:
		return fmt.Errorf("adding %s: %s", pa.AddressWithPrefix, terr)
	}
	s.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: id})
	return nil
}
