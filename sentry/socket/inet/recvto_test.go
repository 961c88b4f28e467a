package inet

import (
	"bytes"
	"errors"
	"testing"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// faultWriter takes room bytes, then fails as a copy into an unmapped
// page would.
type faultWriter struct {
	got  []byte
	room int
}

func (w *faultWriter) Write(p []byte) (int, error) {
	n := min(len(p), w.room)
	w.got = append(w.got, p[:n]...)
	w.room -= n
	if n < len(p) {
		return n, errors.New("fault")
	}
	return n, nil
}

// connectedPair returns an accepted TCP connection and its client on
// the stack's loopback.
func connectedPair(t *testing.T) (server, client *Socket) {
	t.Helper()
	st := newStack(t)
	l, err := New(st, linux.AF_INET, linux.SOCK_STREAM, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(4); err != nil {
		t.Fatal(err)
	}
	c, _ := New(st, linux.AF_INET, linux.SOCK_STREAM, 0, 0, 0)
	t.Cleanup(func() { c.Close() })
	if err := c.Connect(lo4(port(l.Name()))); err != linux.EINPROGRESS && err != nil {
		t.Fatalf("Connect = %v", err)
	}
	wait(t, c, waiter.EventOut)
	wait(t, l, waiter.EventIn)
	a, _, err := l.Accept(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, c
}

// TestRecvToSendFrom: the reader and writer forms move data without a
// buffer of the caller's; a writer that faults part way takes what it
// took, and the rest stays queued; one that faults at once is EFAULT.
func TestRecvToSendFrom(t *testing.T) {
	a, c := connectedPair(t)
	if n, err := c.SendFrom(bytes.NewReader([]byte("hello world")), nil, 0); n != 11 || err != nil {
		t.Fatalf("SendFrom = %d, %v", n, err)
	}
	wait(t, a, waiter.EventIn)
	w := &faultWriter{room: 5}
	r, err := a.RecvTo(w, 64, 0, false)
	if err != nil || r.N != 5 || string(w.got) != "hello" {
		t.Fatalf("RecvTo into a faulting writer = %+v %q, %v; want the 5 bytes it took", r, w.got, err)
	}
	if _, err := a.RecvTo(&faultWriter{}, 64, 0, false); err != linux.EFAULT {
		t.Fatalf("RecvTo into a writer that faults at once = %v, want EFAULT", err)
	}
	// The limit holds whatever the writer would take.
	w = &faultWriter{room: 64}
	if r, err = a.RecvTo(w, 3, 0, false); err != nil || r.N != 3 || string(w.got) != " wo" {
		t.Fatalf("RecvTo limited to 3 = %+v %q, %v", r, w.got, err)
	}
	buf := make([]byte, 16)
	if r, err = a.Recv(buf, 0, false); err != nil || string(buf[:r.N]) != "rld" {
		t.Fatalf("Recv of the rest = %q, %v", buf[:r.N], err)
	}
}
