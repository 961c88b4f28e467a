package netstack

import (
	"context"
	"strconv"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// closing returns how many TCP connections of s are past ESTABLISHED and
// not closed yet.
func closing(s *Stack) int64 {
	tcp := s.Stats().TCP
	return int64(tcp.CurrentConnected.Value()) - int64(tcp.CurrentEstablished.Value())
}

// serverClosesFirst makes n connections over lo to a server that reads
// the request, answers and closes first, as a web server does: each
// leaves the server's side in TIME-WAIT. Every close is noted, as the
// sentry's sockets do.
func serverClosesFirst(t *testing.T, s *Stack, n int) {
	t.Helper()
	addr := tcpip.FullAddress{NIC: LoopbackNIC, Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 8080}
	l, err := gonet.ListenTCP(s.Stack, addr, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			req := make([]byte, 3)
			_, _ = c.Read(req)
			_, _ = c.Write([]byte("hello"))
			_ = c.Close()
			s.NoteTCPClose()
		}
	}()
	buf := make([]byte, 16)
	for i := range n {
		// A port of its own for each client: a SYN from a port whose
		// earlier connection is in TIME-WAIT on the server's side
		// would take that connection over (and end its TIME-WAIT), as
		// on Linux.
		local := tcpip.FullAddress{NIC: LoopbackNIC, Addr: addr.Addr, Port: uint16(40000 + i)}
		c, err := gonet.DialTCPWithBind(context.Background(), s.Stack, local, addr, ipv4.ProtocolNumber)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET")); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		_ = c.Close()
		s.NoteTCPClose()
	}
}

func TestTimeWaitLimit(t *testing.T) {
	const conns, limit = 60, 8
	if d := sysctl.MaxTimeWaitFor(1 << 30); d != 4096 {
		t.Errorf("tcp_max_tw_buckets for 1 GiB is %d, want Linux's 4096", d)
	}
	for _, tc := range []struct {
		name string
		max  int64
		want func(n int64) bool
	}{
		// Under the limit every connection the server closed stays in
		// TIME-WAIT, as on Linux.
		{"under", conns * 2, func(n int64) bool { return n == conns }},
		// Over it, connections entering TIME-WAIT close at once:
		// about the limit stay. The count that is checked against the
		// limit includes connections in the other closing states
		// (timewait.go), here up to two when the limit is reached: the
		// last connection's server side on its way to TIME-WAIT and
		// its client side in CLOSE-WAIT or LAST-ACK. So the limit can
		// be reached with two fewer in TIME-WAIT.
		{"over", limit, func(n int64) bool { return n >= limit-2 && n <= limit+2 }},
		{"none", 0, func(n int64) bool { return n <= 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.SetSysctl("net.ipv4.tcp_max_tw_buckets", strconv.FormatInt(tc.max, 10)); err != nil {
				t.Fatal(err)
			}
			serverClosesFirst(t, s, conns)
			// The last connection's teardown finishes on the stack's
			// goroutines.
			var n int64
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if n = closing(s); tc.want(n) {
					break
				}
			}
			if !tc.want(n) {
				t.Errorf("tcp_max_tw_buckets %d: %d of %d connections closed by the server are still closing", tc.max, n, conns)
			}
		})
	}
}
