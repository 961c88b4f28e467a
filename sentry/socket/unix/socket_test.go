package unix

import (
	"testing"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

func TestStreamPairAndClose(t *testing.T) {
	st := NewStack()
	a, b := st.NewPair(nil, linux.SOCK_STREAM, Cred{PID: 1}, 0, 0)
	if n, err := a.Send([]byte("hello"), Control{}, nil, false); n != 5 || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	if _, err := a.Send([]byte(" world"), Control{}, nil, false); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	res, err := b.Recv(buf, false)
	if err != nil || string(buf[:res.N]) != "hel" {
		t.Fatalf("Recv = %q, %v", buf[:res.N], err)
	}
	buf = make([]byte, 64)
	if res, _ = b.Recv(buf, false); string(buf[:res.N]) != "lo world" {
		t.Fatalf("stream bytes not merged: %q", buf[:res.N])
	}
	if _, err := b.Recv(buf, false); err != linux.EAGAIN {
		t.Fatalf("empty Recv = %v, want EAGAIN", err)
	}
	// b closes with a byte unread: a gets ECONNRESET once, then EOF.
	if _, err := a.Send([]byte("x"), Control{}, nil, false); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if r := a.Readiness(^uint32(0)); r&waiter.EventErr == 0 || r&waiter.EventHUp == 0 {
		t.Fatalf("Readiness after reset = %#x", r)
	}
	if _, err := a.Recv(buf, false); err != linux.ECONNRESET {
		t.Fatalf("Recv after reset = %v", err)
	}
	if res, err := a.Recv(buf, false); err != nil || res.N != 0 {
		t.Fatalf("Recv at EOF = %d, %v", res.N, err)
	}
	if _, err := a.Send([]byte("x"), Control{}, nil, false); err != linux.EPIPE {
		t.Fatalf("Send to closed peer = %v", err)
	}
	if a.wmem != 0 {
		t.Fatalf("wmem = %d after the peer dropped the data", a.wmem)
	}
}

func TestDgramTruncAndBacklog(t *testing.T) {
	st := NewStack()
	a, b := st.NewPair(nil, linux.SOCK_DGRAM, Cred{}, 0, 0)
	if _, err := a.Send([]byte("datagram"), Control{}, nil, false); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	res, err := b.Recv(buf, false)
	if err != nil || res.N != 4 || res.MsgLen != 8 {
		t.Fatalf("Recv = %+v, %v", res, err)
	}
	if _, err := b.Recv(buf, false); err != linux.EAGAIN {
		t.Fatalf("excess not discarded: %v", err)
	}

	l := st.New(nil, linux.SOCK_STREAM, 0, 0)
	if err := l.BindAbstract("l"); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(0, Cred{}); err != nil {
		t.Fatal(err)
	}
	c1, c2 := st.New(nil, linux.SOCK_STREAM, 0, 0), st.New(nil, linux.SOCK_STREAM, 0, 0)
	if err := c1.Connect(l, Cred{}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Connect(l, Cred{}); err != linux.EAGAIN {
		t.Fatalf("Connect past the backlog = %v, want EAGAIN", err)
	}
	// The listener closes: the unaccepted connection is reset.
	_ = l.Close()
	if _, err := c1.Recv(buf, false); err != linux.ECONNRESET {
		t.Fatalf("Recv after the listener closed = %v", err)
	}
	if _, err := st.LookupAbstract(nil, linux.SOCK_STREAM, "l"); err != linux.ECONNREFUSED {
		t.Fatalf("name survived close: %v", err)
	}
}

// Abstract names are per network namespace and socket type: the same
// name binds in each, and a socket finds its own namespace's.
func TestAbstractPerNamespace(t *testing.T) {
	st := NewStack()
	nsA, nsB := new(int), new(int)
	a, b := st.New(nsA, linux.SOCK_STREAM, 0, 0), st.New(nsB, linux.SOCK_STREAM, 0, 0)
	if err := a.BindAbstract("n"); err != nil {
		t.Fatalf("bind in A: %v", err)
	}
	if _, err := st.LookupAbstract(nsB, linux.SOCK_STREAM, "n"); err != linux.ECONNREFUSED {
		t.Fatalf("lookup from B = %v, want ECONNREFUSED", err)
	}
	if err := b.BindAbstract("n"); err != nil {
		t.Fatalf("bind in B: %v", err)
	}
	if s, err := st.LookupAbstract(nsA, linux.SOCK_STREAM, "n"); err != nil || s != a {
		t.Fatalf("lookup from A = %v, %v", s, err)
	}
	if err := st.New(nsA, linux.SOCK_STREAM, 0, 0).BindAbstract("n"); err != linux.EADDRINUSE {
		t.Fatalf("second bind in A = %v, want EADDRINUSE", err)
	}
	// Each socket type has its own names.
	d := st.New(nsA, linux.SOCK_DGRAM, 0, 0)
	if err := d.BindAbstract("n"); err != nil {
		t.Fatalf("datagram bind in A: %v", err)
	}
	if s, err := st.LookupAbstract(nsA, linux.SOCK_DGRAM, "n"); err != nil || s != d {
		t.Fatalf("datagram lookup in A = %v, %v", s, err)
	}
	_ = a.Close()
	if s, err := st.LookupAbstract(nsB, linux.SOCK_STREAM, "n"); err != nil || s != b {
		t.Fatalf("B's name after A's closed = %v, %v", s, err)
	}
	if _, err := st.LookupAbstract(nsA, linux.SOCK_STREAM, "n"); err != linux.ECONNREFUSED {
		t.Fatalf("A's name survived close: %v", err)
	}
}
