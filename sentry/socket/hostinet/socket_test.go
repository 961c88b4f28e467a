package hostinet

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// lo4 is 127.0.0.1:port as a struct sockaddr_in.
func lo4(port uint16) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], []byte{127, 0, 0, 1})
	return b
}

func port(sa []byte) uint16 { return binary.BigEndian.Uint16(sa[2:]) }

// wait blocks until s is ready for ev, through the notifier, as the
// syscall layer's sockWait does.
func wait(t *testing.T, s *Socket, ev uint32) {
	t.Helper()
	ch := waiter.NewChannel()
	s.EventRegister(ch, ev)
	defer s.EventUnregister(ch)
	deadline := time.After(10 * time.Second)
	for s.Readiness(ev) == 0 {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("socket never ready for %#x", ev)
		}
	}
}

func mustNew(t *testing.T, family, typ int) *Socket {
	t.Helper()
	s, err := New(family, typ, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustListen returns a TCP socket listening on 127.0.0.1, on an
// ephemeral port, with a backlog of 1.
func mustListen(t *testing.T) *Socket {
	t.Helper()
	l := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	if err := l.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(1); err != nil {
		t.Fatal(err)
	}
	return l
}

// A TCP connection between two host sockets: non-blocking connect,
// accept, data both ways, half-close, and the addresses.
func TestTCP(t *testing.T) {
	l := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	if err := l.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(16); err != nil {
		t.Fatal(err)
	}
	if !l.Listening() {
		t.Error("not listening")
	}
	addr := l.Name()
	if port(addr) == 0 {
		t.Fatalf("bound to %v", addr)
	}
	if _, _, err := l.Accept(0, 0); err != unix.EAGAIN {
		t.Errorf("accept with none waiting: %v", err)
	}
	c := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	if err := c.Connect(addr); err != nil && err != unix.EINPROGRESS {
		t.Fatal(err)
	}
	wait(t, c, waiter.EventOut)
	if err := c.ConnectResult(addr); err != nil {
		t.Fatal(err)
	}
	wait(t, l, waiter.EventIn)
	a, peer, err := l.Accept(7, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if port(peer) != port(c.Name()) {
		t.Errorf("peer %v, client %v", peer, c.Name())
	}
	if st, _ := a.Stat(); st.Uid != 7 || st.Gid != 8 || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Errorf("accepted socket's stat: %+v", st)
	}
	if n, err := c.Send([]byte("ping"), nil, 0); n != 4 || err != nil {
		t.Fatalf("send: %d %v", n, err)
	}
	wait(t, a, waiter.EventIn)
	buf := make([]byte, 16)
	res, err := a.Recv(buf, unix.MSG_PEEK, false)
	if err != nil || string(buf[:res.N]) != "ping" {
		t.Fatalf("peek: %q %v", buf[:res.N], err)
	}
	res, err = a.Recv(buf, 0, false)
	if err != nil || string(buf[:res.N]) != "ping" {
		t.Fatalf("recv: %q %v", buf[:res.N], err)
	}
	if _, err := a.Recv(buf, 0, false); err != unix.EAGAIN {
		t.Errorf("recv with nothing there: %v", err)
	}
	if err := c.Shutdown(unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	wait(t, a, waiter.EventIn)
	if res, err := a.Recv(buf, 0, false); res.N != 0 || err != nil {
		t.Errorf("recv at end of file: %d %v", res.N, err)
	}
	if _, err := c.PeerName(); err != nil {
		t.Errorf("getpeername: %v", err)
	}
	// A refused connect reports ECONNREFUSED through ConnectResult.
	free := l.Name()
	l.Close()
	r := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	err = r.Connect(free)
	if err == unix.EINPROGRESS {
		wait(t, r, waiter.EventOut)
		err = r.ConnectResult(free)
	}
	if err != unix.ECONNREFUSED {
		t.Errorf("connect to a closed port: %v", err)
	}
}

// The sandbox's socket talks to ordinary host programs: here, a Go
// listener of the test.
func TestReachesHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("from the host"))
			c.Close()
		}
	}()
	c := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	sa := lo4(uint16(ln.Addr().(*net.TCPAddr).Port))
	if err := c.Connect(sa); err != nil && err != unix.EINPROGRESS {
		t.Fatal(err)
	}
	wait(t, c, waiter.EventOut)
	if err := c.ConnectResult(sa); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 64)
	for {
		wait(t, c, waiter.EventIn)
		res, err := c.Recv(buf, 0, false)
		if err == unix.EAGAIN {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.N == 0 {
			break
		}
		got = append(got, buf[:res.N]...)
	}
	if string(got) != "from the host" {
		t.Errorf("got %q", got)
	}
}

// UDP: datagrams keep their boundaries, MSG_TRUNC reports the whole
// length, and the sender's address comes with them.
func TestUDP(t *testing.T) {
	a := mustNew(t, unix.AF_INET, unix.SOCK_DGRAM)
	b := mustNew(t, unix.AF_INET, unix.SOCK_DGRAM)
	if err := a.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	if err := b.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send([]byte("0123456789"), a.Name(), 0); err != nil {
		t.Fatal(err)
	}
	wait(t, a, waiter.EventIn)
	buf := make([]byte, 4)
	res, err := a.Recv(buf, 0, true)
	if err != nil || res.N != 4 || res.MsgLen != 10 || string(buf) != "0123" {
		t.Errorf("recv: %+v %q %v", res, buf, err)
	}
	if port(res.From) != port(b.Name()) {
		t.Errorf("from %v, want %v", res.From, b.Name())
	}
}

// MSG_FASTOPEN reaches the host: on a socket not yet connected, the
// host's Fast Open connects it (EINPROGRESS without a cookie, or the
// bytes it put in the SYN), and the data follows once it is.
func TestFastOpenSend(t *testing.T) {
	l := mustListen(t)
	c := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	n, err := c.Send([]byte("hi"), l.Name(), unix.MSG_FASTOPEN)
	if err == unix.EOPNOTSUPP {
		t.Skip("the host's net.ipv4.tcp_fastopen has no client bit")
	}
	if err != nil && err != unix.EINPROGRESS {
		t.Fatalf("send with MSG_FASTOPEN: %d %v", n, err)
	}
	wait(t, c, waiter.EventOut)
	if err := c.ConnectResult(l.Name()); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		if n, err = c.Send([]byte("hi"), nil, 0); n != 2 || err != nil {
			t.Fatalf("send once connected: %d %v", n, err)
		}
	}
	wait(t, l, waiter.EventIn)
	a, _, err := l.Accept(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wait(t, a, waiter.EventIn)
	buf := make([]byte, 4)
	if res, err := a.Recv(buf, 0, false); err != nil || string(buf[:res.N]) != "hi" {
		t.Errorf("received %q %v", buf[:res.N], err)
	}
}

// A UDP send with a segment size (the option, or a control message that
// overrides it) leaves the host as datagrams of that size; a corked
// socket's sends leave as one.
func TestUDPSegment(t *testing.T) {
	a := mustNew(t, unix.AF_INET, unix.SOCK_DGRAM)
	b := mustNew(t, unix.AF_INET, unix.SOCK_DGRAM)
	if err := a.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	if err := b.SetSockOpt(unix.SOL_UDP, unix.UDP_SEGMENT, []byte{4, 0, 0, 0}, false); err != nil {
		t.Fatal(err)
	}
	if v, err := b.GetSockOpt(unix.SOL_UDP, unix.UDP_SEGMENT); err != nil || v[0] != 4 {
		t.Fatalf("UDP_SEGMENT reads %v %v", v, err)
	}
	expect := func(sizes ...int) {
		t.Helper()
		for _, want := range sizes {
			wait(t, a, waiter.EventIn)
			res, err := a.Recv(make([]byte, 64), 0, false)
			if err != nil || res.N != want {
				t.Fatalf("recv: %+v %v, want %d bytes", res, err, want)
			}
		}
	}
	if n, err := b.Send([]byte("0123456789"), a.Name(), 0); err != nil || n != 10 {
		t.Fatalf("send: %d %v", n, err)
	}
	expect(4, 4, 2)
	// A UDP_SEGMENT message of 3 (cmsg_len 18, padded to 24).
	control := make([]byte, 24)
	binary.LittleEndian.PutUint64(control, 18)
	binary.LittleEndian.PutUint32(control[8:], unix.SOL_UDP)
	binary.LittleEndian.PutUint32(control[12:], unix.UDP_SEGMENT)
	binary.LittleEndian.PutUint16(control[16:], 3)
	if n, err := b.SendControl([]byte("0123456789"), a.Name(), 0, control); err != nil || n != 10 {
		t.Fatalf("send with a control message: %d %v", n, err)
	}
	expect(3, 3, 3, 1)
	// UDP_CORK: two sends, one datagram once it is cleared.
	if err := b.SetSockOpt(unix.SOL_UDP, unix.UDP_SEGMENT, []byte{0, 0, 0, 0}, false); err != nil {
		t.Fatal(err)
	}
	if err := b.SetSockOpt(unix.SOL_UDP, unix.UDP_CORK, []byte{1, 0, 0, 0}, false); err != nil {
		t.Fatal(err)
	}
	b.Send([]byte("ab"), a.Name(), 0)
	b.Send([]byte("cd"), a.Name(), 0)
	if err := b.SetSockOpt(unix.SOL_UDP, unix.UDP_CORK, []byte{0, 0, 0, 0}, false); err != nil {
		t.Fatal(err)
	}
	expect(4)
	tcp := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	if err := tcp.SetSockOpt(unix.SOL_UDP, unix.UDP_SEGMENT, []byte{4, 0, 0, 0}, false); err != unix.ENOPROTOOPT {
		t.Errorf("UDP_SEGMENT on a TCP socket: %v", err)
	}
}

// Only vetted options reach the host.
func TestSockOpts(t *testing.T) {
	s := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	one := []byte{1, 0, 0, 0}
	for _, o := range []struct{ level, name int }{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR},
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE},
		{unix.SOL_TCP, unix.TCP_NODELAY},
	} {
		if err := s.SetSockOpt(o.level, o.name, one, false); err != nil {
			t.Errorf("set %d/%d: %v", o.level, o.name, err)
		}
		v, err := s.GetSockOpt(o.level, o.name)
		if err != nil || len(v) != 4 || v[0] != 1 {
			t.Errorf("get %d/%d: %v %v", o.level, o.name, v, err)
		}
	}
	for _, o := range []struct{ level, name int }{
		{unix.SOL_SOCKET, unix.SO_BINDTODEVICE},
		{unix.SOL_SOCKET, unix.SO_MARK},
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE},
		{unix.SOL_SOCKET, unix.SO_ATTACH_FILTER},
		{unix.SOL_IP, unix.IP_TRANSPARENT},
		{unix.SOL_IP, unix.IP_FREEBIND},
		{unix.SOL_TCP, unix.TCP_REPAIR},
	} {
		if err := s.SetSockOpt(o.level, o.name, []byte("eth0\x00\x00\x00\x00"), true); err != unix.ENOPROTOOPT {
			t.Errorf("set %d/%d: %v, want ENOPROTOOPT", o.level, o.name, err)
		}
	}
	if _, err := s.GetSockOpt(unix.SOL_IPV6, unix.IPV6_V6ONLY); err != unix.ENOPROTOOPT {
		t.Errorf("IPV6_V6ONLY on an AF_INET socket: %v", err)
	}
	if v, err := s.GetSockOpt(unix.SOL_SOCKET, unix.SO_TYPE); err != nil || v[0] != unix.SOCK_STREAM {
		t.Errorf("SO_TYPE: %v %v", v, err)
	}
	if _, err := New(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP, 0, 0); err != unix.EPROTONOSUPPORT {
		t.Errorf("raw socket: %v", err)
	}
	if err := s.Bind([]byte{unix.AF_UNIX, 0, '/', 0}); err != unix.EAFNOSUPPORT {
		t.Errorf("bind to a unix address: %v", err)
	}
}

// Control messages from a program or the host filter to the listed
// kinds, or an error, never a panic.
func FuzzFilterControl(f *testing.F) {
	f.Add([]byte{28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1, 0, 0, 0, 0}, true)
	f.Add([]byte{20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0}, true)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, b []byte, strict bool) {
		out, err := filterControl(b, strict)
		if err == nil && len(out) > len(b)+8 {
			t.Fatalf("%d bytes filtered to %d", len(b), len(out))
		}
	})
}

// TCP_INQ passes through: a host TCP socket's read carries the host's
// TCP_CM_INQ, the bytes it left queued.
func TestTCPInq(t *testing.T) {
	l := mustListen(t)
	c := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	if err := c.Connect(l.Name()); err != nil && err != unix.EINPROGRESS {
		t.Fatal(err)
	}
	wait(t, l, waiter.EventIn)
	a, _, err := l.Accept(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.SetSockOpt(unix.SOL_TCP, unix.TCP_INQ, []byte{1, 0, 0, 0}, false); err != nil {
		t.Fatal(err)
	}
	if v, err := a.GetSockOpt(unix.SOL_TCP, unix.TCP_INQ); err != nil || v[0] != 1 {
		t.Fatalf("TCP_INQ reads %v %v", v, err)
	}
	wait(t, c, waiter.EventOut)
	if n, err := c.Send([]byte("0123456789"), nil, 0); err != nil || n != 10 {
		t.Fatalf("send: %d %v", n, err)
	}
	wait(t, a, waiter.EventIn)
	res, err := a.Recv(make([]byte, 4), 0, false)
	if err != nil || res.N != 4 {
		t.Fatalf("recv: %+v %v", res, err)
	}
	ctl := res.Control
	if len(ctl) < 20 || binary.LittleEndian.Uint32(ctl[8:]) != unix.SOL_TCP || binary.LittleEndian.Uint32(ctl[12:]) != unix.TCP_CM_INQ ||
		binary.LittleEndian.Uint32(ctl[16:]) != 6 {
		t.Fatalf("control %x: want TCP_CM_INQ of 6", ctl)
	}
}
