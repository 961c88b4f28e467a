package netstack

import (
	"bytes"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// TestNewDownLoopback checks that a new namespace's stack has no address
// on lo and reaches nothing until lo is enabled and its addresses and
// route restored, and then reaches 127.0.0.1.
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
	if addrs := s.NICInfo()[LoopbackNIC].ProtocolAddresses; len(addrs) != 0 {
		t.Fatalf("lo has %v, want no addresses", addrs)
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
	for _, a := range LoopbackAddresses() {
		if err := s.AddProtocolAddress(LoopbackNIC, a, stack.AddressProperties{}); err != nil {
			t.Fatal(err)
		}
	}
	s.AddRoute(tcpip.Route{Destination: tcpip.AddressWithPrefix{Address: lo, PrefixLen: 8}.Subnet(), NIC: LoopbackNIC})
	r, terr := s.FindRoute(0, tcpip.Address{}, lo, ipv4.ProtocolNumber, false)
	if terr != nil {
		t.Fatalf("route to 127.0.0.1 with lo up: %v", terr)
	}
	r.Release()
}

// TestLoopbackDownDrops checks that a datagram to 127.0.0.1 of a stack
// whose lo is down leaves through lo and is dropped there, in the pod's
// first namespace (which handles its local addresses) as in a new one.
func TestLoopbackDownDrops(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func() (*Stack, error)
	}{{"New", New}, {"NewDown", NewDown}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.new()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !s.CheckNIC(LoopbackNIC) {
				if err := s.EnableNIC(LoopbackNIC); err != nil {
					t.Fatal(err)
				}
				for _, a := range LoopbackAddresses() {
					if err := s.AddProtocolAddress(LoopbackNIC, a, stack.AddressProperties{}); err != nil {
						t.Fatal(err)
					}
					s.AddRoute(tcpip.Route{Destination: a.AddressWithPrefix.Subnet(), NIC: LoopbackNIC})
				}
			}
			s.SetLoopbackDown(true)
			lo := tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 4242}
			var rq, sq waiter.Queue
			r, terr := s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &rq)
			if terr != nil {
				t.Fatal(terr)
			}
			defer r.Close()
			if terr := r.Bind(lo); terr != nil {
				t.Fatal(terr)
			}
			w, terr := s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &sq)
			if terr != nil {
				t.Fatal(terr)
			}
			defer w.Close()
			if _, terr := w.Write(bytes.NewReader([]byte("hi")), tcpip.WriteOptions{To: &lo}); terr != nil {
				t.Fatalf("send with lo down: %v", terr)
			}
			var buf bytes.Buffer
			if _, terr := r.Read(&buf, tcpip.ReadOptions{}); terr == nil {
				t.Fatalf("received %q through a down lo", buf.String())
			}
			if n := s.lo.dropped.Load(); n == 0 {
				t.Fatal("lo's gate dropped nothing")
			}
		})
	}
}
