package netstack

import (
	"fmt"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// NewDown returns a stack with New's protocols and options whose loopback
// is down and has no addresses and no routes, as the loopback of a new
// Linux network namespace is until it is brought up (which assigns
// 127.0.0.1/8 and ::1, LoopbackAddresses, with their routes): nothing is
// reachable from it, not even 127.0.0.1.
//
// The stack does not handle local addresses itself (HandleLocal): that
// would route packets to its own addresses through lo even while lo is
// down, and the only interface such a stack has is lo, which loops
// packets back by itself once up.
func NewDown() (*Stack, error) {
	s := &Stack{Stack: stack.New(options(false))}
	if err := s.configure(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.initSysctls(false); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.addLoopback(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.DisableNIC(LoopbackNIC); err != nil {
		s.Close()
		return nil, fmt.Errorf("netstack: taking lo down: %s", err)
	}
	s.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == LoopbackNIC })
	for _, a := range LoopbackAddresses() {
		if err := s.RemoveAddress(LoopbackNIC, a.AddressWithPrefix.Address); err != nil {
			s.Close()
			return nil, fmt.Errorf("netstack: removing %s from lo: %s", a.AddressWithPrefix, err)
		}
	}
	return s, nil
}
