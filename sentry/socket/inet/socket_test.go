package inet

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"
	"weak"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

func newStack(t *testing.T) *netstack.Stack {
	t.Helper()
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func lo4(port uint16) []byte {
	b := make([]byte, sizeofSockaddrIn)
	binary.LittleEndian.PutUint16(b, linux.AF_INET)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], []byte{127, 0, 0, 1})
	return b
}

func port(sa []byte) uint16 { return binary.BigEndian.Uint16(sa[2:]) }

// wait blocks until s is ready for ev (the syscall layer's job).
func wait(t *testing.T, s *Socket, ev uint32) {
	t.Helper()
	ch := waiter.NewChannel()
	s.EventRegister(ch, ev)
	defer s.EventUnregister(ch)
	for s.Readiness(ev) == 0 {
		<-ch
	}
}

func TestTCPConnectAcceptData(t *testing.T) {
	st := newStack(t)
	l, err := New(st, linux.AF_INET, linux.SOCK_STREAM, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(4); err != nil {
		t.Fatal(err)
	}
	if !l.Listening() {
		t.Fatal("not listening after Listen")
	}
	c, _ := New(st, linux.AF_INET, linux.SOCK_STREAM, 0, 0, 0)
	defer c.Close()
	if err := c.Connect(lo4(port(l.Name()))); err != linux.EINPROGRESS && err != nil {
		t.Fatalf("Connect = %v", err)
	}
	wait(t, c, waiter.EventOut)
	if err := c.ConnectResult(lo4(port(l.Name()))); err != nil {
		t.Fatalf("ConnectResult = %v", err)
	}
	wait(t, l, waiter.EventIn)
	a, peer, err := l.Accept(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if port(peer) != port(c.Name()) {
		t.Errorf("peer port %d, client port %d", port(peer), port(c.Name()))
	}
	if n, err := c.Send([]byte("hello"), nil, 0); n != 5 || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	wait(t, a, waiter.EventIn)
	buf := make([]byte, 3)
	r, err := a.Recv(buf, linux.MSG_PEEK, false)
	if err != nil || r.N != 3 || string(buf) != "hel" {
		t.Fatalf("peek = %+v %q, %v", r, buf, err)
	}
	buf = make([]byte, 16)
	if r, err = a.Recv(buf, 0, false); err != nil || string(buf[:r.N]) != "hello" {
		t.Fatalf("Recv = %q, %v", buf[:r.N], err)
	}
	if _, err := a.Recv(buf, 0, false); err != linux.EAGAIN {
		t.Fatalf("empty Recv = %v, want EAGAIN", err)
	}
	if err := c.Shutdown(linux.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	wait(t, a, waiter.EventIn)
	if r, err = a.Recv(buf, 0, false); err != nil || r.N != 0 {
		t.Fatalf("Recv after FIN = %+v, %v; want EOF", r, err)
	}
	if _, err := c.Send([]byte("x"), nil, 0); err != linux.EPIPE {
		t.Fatalf("Send after SHUT_WR = %v, want EPIPE", err)
	}
}

func TestErrorsAndOptions(t *testing.T) {
	st := newStack(t)
	if _, err := New(st, linux.AF_INET, linux.SOCK_STREAM, linux.IPPROTO_UDP, 0, 0); err != linux.EPROTONOSUPPORT {
		t.Errorf("TCP socket with IPPROTO_UDP: %v", err)
	}
	u, _ := New(st, linux.AF_INET, linux.SOCK_DGRAM, 0, 0, 0)
	defer u.Close()
	if err := u.Bind(lo4(0)[:8]); err != linux.EINVAL {
		t.Errorf("short bind = %v, want EINVAL", err)
	}
	far := lo4(0)
	copy(far[4:], []byte{192, 0, 2, 1})
	if err := u.Bind(far); err != linux.EADDRNOTAVAIL {
		t.Errorf("bind to a foreign address = %v, want EADDRNOTAVAIL", err)
	}
	b, err := u.GetSockOpt(linux.SOL_SOCKET, linux.SO_PROTOCOL)
	if err != nil || binary.LittleEndian.Uint32(b) != linux.IPPROTO_UDP {
		t.Errorf("SO_PROTOCOL = %v, %v", b, err)
	}
	if err := u.SetSockOpt(linux.SOL_IP, linux.IP_TTL, binary.LittleEndian.AppendUint32(nil, 0), false); err != linux.EINVAL {
		t.Errorf("IP_TTL 0 = %v, want EINVAL", err)
	}
	if _, err := u.GetSockOpt(linux.SOL_TCP, linux.TCP_NODELAY); err != linux.EOPNOTSUPP {
		t.Errorf("SOL_TCP on UDP = %v, want EOPNOTSUPP", err)
	}
	if err := u.SetSockOpt(linux.SOL_SOCKET, linux.SO_SNDBUFFORCE, make([]byte, 4), false); err != linux.EPERM {
		t.Errorf("SO_SNDBUFFORCE without CAP_NET_ADMIN = %v, want EPERM", err)
	}
}

func TestSockaddrMapping(t *testing.T) {
	p, err := parseSockaddr(lo4(80))
	if err != nil || p.family != linux.AF_INET || p.addr.Port != 80 {
		t.Fatalf("parse = %+v, %v", p, err)
	}
	b := sockaddr(linux.AF_INET6, p.addr)
	if len(b) != sizeofSockaddrIn6 || b[18] != 0xff || b[19] != 0xff || b[20] != 127 || port(b) != 80 {
		t.Errorf("IPv4 address on an IPv6 socket = %v, want ::ffff:127.0.0.1", b)
	}
}

// payload is a tcpip.Payloader that tests can watch for collection.
type payload struct{ r *bytes.Reader }

func (p *payload) Read(b []byte) (int, error) { return p.r.Read(b) }
func (p *payload) Len() int                   { return p.r.Len() }

// TestSendKeepsNothingOfTheCaller: once a send returns, the connection
// holds no reference to what it read the data from (a task's memory, a
// sendfile's buffer), for as long as it lives: a minute more in TIME-WAIT.
func TestSendKeepsNothingOfTheCaller(t *testing.T) {
	_, c := connectedPair(t)
	p := &payload{bytes.NewReader([]byte("hello"))}
	held := weak.Make(p)
	if n, err := c.SendFrom(p, nil, 0); n != 5 || err != nil {
		t.Fatalf("SendFrom = %d, %v", n, err)
	}
	p = nil
	runtime.GC()
	if held.Value() != nil {
		t.Fatal("the connection still holds the payloader of a send that returned")
	}
}
