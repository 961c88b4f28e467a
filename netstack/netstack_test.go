package netstack

import (
	"bytes"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

func TestLoopbackAddresses(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nics := s.NICInfo()
	lo, ok := nics[LoopbackNIC]
	if !ok || lo.Name != "lo" {
		t.Fatalf("NIC %d = %+v, want lo", LoopbackNIC, lo)
	}
	want := map[string]bool{"127.0.0.1/8": false, "::1/128": false}
	for _, a := range lo.ProtocolAddresses {
		want[a.AddressWithPrefix.String()] = true
	}
	for a, seen := range want {
		if !seen {
			t.Errorf("lo lacks %s (has %v)", a, lo.ProtocolAddresses)
		}
	}
	var sack tcpip.TCPSACKEnabled
	if err := s.TransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil || !bool(sack) {
		t.Errorf("SACK = %v, %v; want on", sack, err)
	}
}

// TestUDPLoopback sends a datagram through lo on each family.
func TestUDPLoopback(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		proto tcpip.NetworkProtocolNumber
		addr  tcpip.Address
	}{
		{ipv4.ProtocolNumber, tcpip.AddrFrom4([4]byte{127, 0, 0, 1})},
		{ipv6.ProtocolNumber, tcpip.AddrFrom16([16]byte{15: 1})},
	} {
		var rq, sq waiter.Queue
		r, terr := s.NewEndpoint(udp.ProtocolNumber, tc.proto, &rq)
		if terr != nil {
			t.Fatal(terr)
		}
		defer r.Close()
		if terr := r.Bind(tcpip.FullAddress{Addr: tc.addr}); terr != nil {
			t.Fatal(terr)
		}
		local, _ := r.GetLocalAddress()
		w, terr := s.NewEndpoint(udp.ProtocolNumber, tc.proto, &sq)
		if terr != nil {
			t.Fatal(terr)
		}
		defer w.Close()
		e, ch := waiter.NewChannelEntry(waiter.ReadableEvents)
		rq.EventRegister(&e)
		if _, terr := w.Write(bytes.NewReader([]byte("hi")), tcpip.WriteOptions{To: &local}); terr != nil {
			t.Fatal(terr)
		}
		<-ch
		var buf bytes.Buffer
		if _, terr := r.Read(&buf, tcpip.ReadOptions{}); terr != nil || buf.String() != "hi" {
			t.Fatalf("read %q, %v", buf.String(), terr)
		}
		rq.EventUnregister(&e)
	}
}
