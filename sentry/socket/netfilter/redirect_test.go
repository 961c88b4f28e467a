package netfilter

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	gwaiter "gvisor.dev/gvisor/pkg/waiter"

	"github.com/cocoonrt/cocoon/netstack"
)

// wire links two stacks' NIC 2 (10.0.0.1 and fd00::1, 10.0.0.2 and
// fd00::2) until the test ends.
func wire(t *testing.T) (client, pod *netstack.Stack) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var eps [2]*channel.Endpoint
	var stacks [2]*netstack.Stack
	for i := range 2 {
		st, err := netstack.New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		eps[i] = channel.New(256, 1500, "")
		if err := st.CreateNIC(2, eps[i]); err != nil {
			t.Fatal(err)
		}
		for _, pa := range []tcpip.ProtocolAddress{
			{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: podAddr(false, i+1), PrefixLen: 24}},
			{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: podAddr(true, i+1), PrefixLen: 64}},
		} {
			if err := st.AddProtocolAddress(2, pa, stack.AddressProperties{}); err != nil {
				t.Fatal(err)
			}
			st.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: 2})
		}
		stacks[i] = st
	}
	for i := range 2 {
		from, to := eps[i], eps[1-i]
		go func() {
			for {
				pkt := from.ReadContext(ctx)
				if pkt == nil {
					return
				}
				in := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: pkt.ToBuffer()})
				to.InjectInbound(pkt.NetworkProtocolNumber, in)
				in.DecRef()
				pkt.DecRef()
			}
		}()
	}
	return stacks[0], stacks[1]
}

// podAddr is host n's address on the wire: 10.0.0.n or fd00::n.
func podAddr(v6 bool, n int) tcpip.Address {
	if v6 {
		return tcpip.AddrFrom16([16]byte{0: 0xfd, 15: byte(n)})
	}
	return tcpip.AddrFrom4([4]byte{10, 0, 0, byte(n)})
}

// TestPreroutingRedirect sends a connection from outside the pod to its
// port 80 through a PREROUTING REDIRECT to 8080 (a sidecar's inbound
// capture), over IPv4 and IPv6: the listener on 8080 gets it, sees where
// it was going, and the client sees the port it dialled.
func TestPreroutingRedirect(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(familyOf(v6).name, func(t *testing.T) { testPreroutingRedirect(t, v6) })
	}
}

func testPreroutingRedirect(t *testing.T, v6 bool) {
	client, pod := wire(t)
	l, np := ipv4Layout, tcpip.NetworkProtocolNumber(ipv4.ProtocolNumber)
	rule := entry(ipSpec{proto: unix.IPPROTO_TCP}, [][]byte{tcpMatch(80)}, redirect(8080))
	if v6 {
		l, np = ipv6Layout, ipv6.ProtocolNumber
		rule = layEntry(l, tcp6(), [][]byte{tcpMatch(80)}, redirect6(8080))
	}
	r := replacement{v6: v6, name: "nat", hooks: natHooks, numCounters: 5, chains: map[int]chain{0: {rules: [][]byte{rule}}}}
	if _, _, err := Of(pod).Replace(v6, r.bytes()); err != nil {
		t.Fatal(err)
	}

	addr := podAddr(v6, 2)
	var wq gwaiter.Queue
	ln, terr := pod.NewEndpoint(tcp.ProtocolNumber, np, &wq)
	if terr != nil {
		t.Fatal(terr)
	}
	defer ln.Close()
	if terr := ln.Bind(tcpip.FullAddress{Addr: addr, Port: 8080}); terr != nil {
		t.Fatal(terr)
	}
	if terr := ln.Listen(8); terr != nil {
		t.Fatal(terr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := gonet.DialContextTCP(ctx, client.Stack, tcpip.FullAddress{Addr: addr, Port: 80}, np)
	if err != nil {
		t.Fatalf("dialling the pod's port 80: %v", err)
	}
	defer conn.Close()
	if got, want := conn.RemoteAddr().String(), net.JoinHostPort(addr.String(), "80"); got != want {
		t.Errorf("the client is connected to %s, want %s", got, want)
	}

	var accepted tcpip.Endpoint
	for accepted == nil {
		ep, _, terr := ln.Accept(nil)
		switch terr.(type) {
		case nil:
			accepted = ep
		case *tcpip.ErrWouldBlock:
			if ctx.Err() != nil {
				t.Fatal("no connection reached the listener on 8080")
			}
			time.Sleep(time.Millisecond)
		default:
			t.Fatal(terr)
		}
	}
	defer accepted.Close()
	var orig tcpip.OriginalDestinationOption
	if terr := accepted.GetSockOpt(&orig); terr != nil {
		t.Fatalf("SO_ORIGINAL_DST: %v", terr)
	}
	if orig.Addr != addr || orig.Port != 80 {
		t.Errorf("original destination %v:%d, want %v:80", orig.Addr, orig.Port, addr)
	}

	// The rule, the table's first entry, counted the connection's first
	// packet.
	info, err := Of(pod).Info(v6, named("nat", sizeofGetinfo))
	if err != nil {
		t.Fatal(err)
	}
	size := le.Uint32(info[80:])
	get := named("nat", sizeofGetHeader+int(size))
	le.PutUint32(get[32:], size)
	entries, err := Of(pod).Entries(v6, get)
	if err != nil {
		t.Fatal(err)
	}
	if packets := le.Uint64(entries[sizeofGetHeader+l.counters:]); packets != 1 {
		t.Errorf("the REDIRECT rule counted %d packets, want 1 (a connection's first)", packets)
	}
}

// TestPreroutingRedirectKeepingPort: REDIRECT without --to-ports sends a
// connection to another of the pod's addresses to the address of the
// interface it came in on, the port unchanged.
func TestPreroutingRedirectKeepingPort(t *testing.T) {
	client, pod := wire(t)
	other := tcpip.AddrFrom4([4]byte{10, 0, 0, 3})
	if err := pod.AddProtocolAddress(2, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: other, PrefixLen: 24}}, stack.AddressProperties{}); err != nil {
		t.Fatal(err)
	}
	noPorts := make([]byte, sizeofNATRange4)
	le.PutUint32(noPorts, 1)
	rule := entry(ipSpec{proto: unix.IPPROTO_TCP, dst: [4]byte{10, 0, 0, 3}, dstMask: [4]byte{255, 255, 255, 255}}, nil, ext("REDIRECT", 0, noPorts))
	r := replacement{name: "nat", hooks: natHooks, numCounters: 5, chains: map[int]chain{0: {rules: [][]byte{rule}}}}
	if _, _, err := Of(pod).Replace(false, r.bytes()); err != nil {
		t.Fatal(err)
	}
	var wq gwaiter.Queue
	ln, terr := pod.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		t.Fatal(terr)
	}
	defer ln.Close()
	if terr := ln.Bind(tcpip.FullAddress{Addr: podAddr(false, 2), Port: 8080}); terr != nil {
		t.Fatal(terr)
	}
	if terr := ln.Listen(8); terr != nil {
		t.Fatal(terr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := gonet.DialContextTCP(ctx, client.Stack, tcpip.FullAddress{Addr: other, Port: 8080}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatalf("dialling 10.0.0.3:8080, which only 10.0.0.2:8080 listens at: %v", err)
	}
	conn.Close()
}
