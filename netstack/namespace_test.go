package netstack

import (
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// TestNewDownLoopback checks that a new namespace's stack reaches nothing
// until lo is enabled and its route restored, and then reaches 127.0.0.1.
func TestNewDownLoopback(t *testing.T) {
	s, err := NewDown()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.CheckNIC(LoopbackNIC) {
		t.Fatal("lo is enabled, want down")
	}
	if len(s.GetRouteTable()) != 0 {
		t.Fatalf("routes %v, want none", s.GetRouteTable())
	}
	lo := tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
	if _, err := s.FindRoute(0, tcpip.Address{}, lo, ipv4.ProtocolNumber, false); err == nil {
		t.Fatal("route to 127.0.0.1 with lo down")
	} else if _, ok := err.(*tcpip.ErrNetworkUnreachable); !ok {
		t.Fatalf("route to 127.0.0.1 with lo down: %v, want network unreachable", err)
	}
	if err := s.EnableNIC(LoopbackNIC); err != nil {
		t.Fatal(err)
	}
	s.AddRoute(tcpip.Route{Destination: tcpip.AddressWithPrefix{Address: lo, PrefixLen: 8}.Subnet(), NIC: LoopbackNIC})
	r, terr := s.FindRoute(0, tcpip.Address{}, lo, ipv4.ProtocolNumber, false)
	if terr != nil {
		t.Fatalf("route to 127.0.0.1 with lo up: %v", terr)
	}
	r.Release()
}
