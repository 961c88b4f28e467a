package netstack

import (
	"slices"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

func TestEphemeralPlan(t *testing.T) {
	for _, c := range []struct {
		name        string
		lo, hi      int
		reserved    []int64
		budget      int
		first, last int
		holes       []int
		narrowed    bool
	}{
		{"none", 100, 199, nil, 8, 100, 199, nil, false},
		{"outside", 100, 199, []int64{1, 99, 200, 300}, 8, 100, 199, nil, false},
		{"ends trimmed", 100, 199, []int64{90, 104, 190, 250}, 8, 105, 189, nil, false},
		{"interior", 100, 199, []int64{102, 104, 150, 150}, 8, 100, 199, []int{102, 103, 104, 150}, false},
		{"interior and ends", 100, 199, []int64{100, 100, 120, 121, 199, 199}, 8, 101, 198, []int{120, 121}, false},
		{"over budget", 100, 199, []int64{110, 119, 150, 150}, 8, 151, 199, nil, true},
		{"over budget, first run longest", 100, 199, []int64{160, 170, 190, 190}, 8, 100, 159, nil, true},
		{"all reserved", 100, 199, []int64{0, 65535}, 8, 100, 100, []int{100}, false},
		{"one free", 100, 199, []int64{100, 149, 151, 199}, 8, 150, 150, nil, false},
	} {
		first, last, holes, narrowed := ephemeralPlan(c.lo, c.hi, c.reserved, c.budget)
		if first != c.first || last != c.last || !slices.Equal(holes, c.holes) || narrowed != c.narrowed {
			t.Errorf("%s: plan %d-%d holes %v narrowed %v; want %d-%d holes %v narrowed %v",
				c.name, first, last, holes, narrowed, c.first, c.last, c.holes, c.narrowed)
		}
	}
}

// stackWithRange returns a stack whose ephemeral range is portRange
// ("LO HI").
func stackWithRange(t *testing.T, portRange string) *Stack {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.SetSysctl("net.ipv4.ip_local_port_range", portRange); err != nil {
		t.Fatal(err)
	}
	return s
}

// bindAll binds new endpoints of transport to port 0 until the stack
// runs out, and returns them and their ports.
func bindAll(t *testing.T, s *Stack, transport tcpip.TransportProtocolNumber, netProto tcpip.NetworkProtocolNumber) ([]tcpip.Endpoint, []int) {
	t.Helper()
	var eps []tcpip.Endpoint
	var got []int
	for range 100 {
		var q waiter.Queue
		ep, terr := s.NewEndpoint(transport, netProto, &q)
		if terr != nil {
			t.Fatal(terr)
		}
		s.RestoreReservedPorts()
		if terr := ep.Bind(tcpip.FullAddress{}); terr != nil {
			ep.Close()
			if _, ok := terr.(*tcpip.ErrNoPortAvailable); !ok {
				t.Fatalf("bind to port 0: %v", terr)
			}
			slices.Sort(got)
			return eps, got
		}
		a, _ := ep.GetLocalAddress()
		eps = append(eps, ep)
		got = append(got, int(a.Port))
	}
	t.Fatal("the ephemeral range never ran out")
	return nil, nil
}

func closeAll(eps []tcpip.Endpoint) {
	for _, ep := range eps {
		ep.Close()
	}
}

// The stack's picks of ephemeral ports skip the reserved ones, for TCP
// and UDP on both families; a reserved port is still bound by number,
// and once that socket is gone picks skip it again.
func TestReservedPortsSkipped(t *testing.T) {
	s := stackWithRange(t, "40000 40009")
	if err := s.SetSysctl("net.ipv4.ip_local_reserved_ports", "40007,40002-40004,39999,40009"); err != nil {
		t.Fatal(err)
	}
	want := []int{40000, 40001, 40005, 40006, 40008}
	for _, tr := range []tcpip.TransportProtocolNumber{tcp.ProtocolNumber, udp.ProtocolNumber} {
		for _, np := range []tcpip.NetworkProtocolNumber{ipv4.ProtocolNumber, ipv6.ProtocolNumber} {
			eps, got := bindAll(t, s, tr, np)
			closeAll(eps)
			if !slices.Equal(got, want) {
				t.Errorf("transport %d network %d: picked %v, want %v", tr, np, got, want)
			}
		}
	}

	// A bind by number to a reserved port inside the range.
	var q waiter.Queue
	srv, terr := s.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &q)
	if terr != nil {
		t.Fatal(terr)
	}
	if terr := s.BindPort(tcp.ProtocolNumber, 40003, func() tcpip.Error { return srv.Bind(tcpip.FullAddress{Port: 40003}) }); terr != nil {
		t.Fatalf("bind to reserved port 40003: %v", terr)
	}
	eps, got := bindAll(t, s, tcp.ProtocolNumber, ipv4.ProtocolNumber)
	closeAll(eps)
	if !slices.Equal(got, want) {
		t.Errorf("with 40003 bound: picked %v, want %v", got, want)
	}
	srv.Close()
	eps, got = bindAll(t, s, tcp.ProtocolNumber, ipv4.ProtocolNumber)
	closeAll(eps)
	if !slices.Equal(got, want) {
		t.Errorf("after 40003 was let go: picked %v, want %v", got, want)
	}
	if n := s.reserved.nLent.Load(); n != 0 {
		t.Errorf("%d placeholders still lent", n)
	}

	// An empty set gives the whole range back.
	if err := s.SetSysctl("net.ipv4.ip_local_reserved_ports", "\n"); err != nil {
		t.Fatal(err)
	}
	eps, got = bindAll(t, s, udp.ProtocolNumber, ipv4.ProtocolNumber)
	closeAll(eps)
	if len(got) != 10 {
		t.Errorf("with no reserved ports: picked %v, want all of 40000-40009", got)
	}
	if v, _ := s.Sysctl("net.ipv4.ip_local_reserved_ports"); v != "" {
		t.Errorf("reads %q after emptying", v)
	}
}

// A port held by a socket when it becomes reserved gets its placeholder
// once the socket is gone; a range with every port reserved picks none.
func TestReservedPortsTakenAndExhausted(t *testing.T) {
	s := stackWithRange(t, "40000 40004")
	var q waiter.Queue
	holder, terr := s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &q)
	if terr != nil {
		t.Fatal(terr)
	}
	if terr := holder.Bind(tcpip.FullAddress{Port: 40002}); terr != nil {
		t.Fatal(terr)
	}
	if err := s.SetSysctl("net.ipv4.ip_local_reserved_ports", "40002"); err != nil {
		t.Fatal(err)
	}
	holder.Close()
	eps, got := bindAll(t, s, udp.ProtocolNumber, ipv4.ProtocolNumber)
	closeAll(eps)
	if want := []int{40000, 40001, 40003, 40004}; !slices.Equal(got, want) {
		t.Errorf("picked %v, want %v", got, want)
	}

	if err := s.SetSysctl("net.ipv4.ip_local_reserved_ports", "40000-40004"); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []tcpip.TransportProtocolNumber{tcp.ProtocolNumber, udp.ProtocolNumber} {
		eps, got := bindAll(t, s, tr, ipv4.ProtocolNumber)
		closeAll(eps)
		if len(got) != 0 {
			t.Errorf("transport %d: picked %v from a range with every port reserved", tr, got)
		}
	}
	if _, _, narrowed := s.EphemeralNarrowed(); narrowed {
		t.Error("a fully reserved range reports a narrowed one")
	}
}

// More reserved ports inside the range than get placeholders: picks come
// from the longest free run, and the stack says so.
func TestReservedPortsNarrowed(t *testing.T) {
	s := stackWithRange(t, "40000 41000")
	if err := s.SetSysctl("net.ipv4.ip_local_reserved_ports", "40010-40989"); err != nil {
		t.Fatal(err)
	}
	first, last, narrowed := s.EphemeralNarrowed()
	if !narrowed || first != 40990 || last != 41000 {
		t.Fatalf("narrowed to %d-%d (%v), want 40990-41000", first, last, narrowed)
	}
	eps, got := bindAll(t, s, tcp.ProtocolNumber, ipv4.ProtocolNumber)
	closeAll(eps)
	if len(got) != 11 || got[0] != 40990 {
		t.Errorf("picked %v, want 40990-41000", got)
	}
	if v, _ := s.Sysctl("net.ipv4.ip_local_port_range"); v != "40000\t41000" {
		t.Errorf("the range reads %q: narrowing must not show", v)
	}
}
