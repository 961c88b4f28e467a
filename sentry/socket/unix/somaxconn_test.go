package unix

import (
	"fmt"
	"testing"

	linux "golang.org/x/sys/unix"
)

// TestListenSomaxconnOfSocketNamespace checks that listen caps the
// backlog with the net.core.somaxconn of the socket's own network
// namespace, and that a listener queues backlog + 1 connections
// (unix_recvq_full compares with >) before connect is EAGAIN.
func TestListenSomaxconnOfSocketNamespace(t *testing.T) {
	st := NewStack()
	type ns struct{ somaxconn int }
	small, large := &ns{2}, &ns{5}
	st.SetSysctls(func(n any) Sysctls { return Sysctls{SomaxConn: n.(*ns).somaxconn, MaxDgramQlen: MaxDgramQlen} })
	for i, tc := range []struct {
		ns      *ns
		backlog int
		want    int // connections queued before EAGAIN
	}{
		{small, 128, 3},
		{small, -1, 3},
		{small, 1, 2},
		{small, 0, 1},
		{large, 128, 6},
		{large, 3, 4},
	} {
		l := st.New(tc.ns, linux.SOCK_STREAM, 0, 0)
		if err := l.BindAbstract(fmt.Sprintf("somaxconn-%d", i)); err != nil {
			t.Fatal(err)
		}
		if err := l.Listen(tc.backlog, Cred{}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; n < 10; n++ {
			c := st.New(tc.ns, linux.SOCK_STREAM, 0, 0)
			if err := c.Connect(l, Cred{}); err == linux.EAGAIN {
				break
			} else if err != nil {
				t.Fatalf("case %d: connect %d: %v", i, n, err)
			}
		}
		if n != tc.want {
			t.Errorf("somaxconn %d, listen(%d): %d connections queued, want %d", tc.ns.somaxconn, tc.backlog, n, tc.want)
		}
	}
}

// TestListenSomaxconnDefault checks the cap without a namespace source.
func TestListenSomaxconnDefault(t *testing.T) {
	st := NewStack()
	l := st.New(nil, linux.SOCK_STREAM, 0, 0)
	if err := l.BindAbstract("somaxconn-default"); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(1<<20, Cred{}); err != nil {
		t.Fatal(err)
	}
	if l.backlog != SoMaxConn {
		t.Fatalf("backlog %d, want %d", l.backlog, SoMaxConn)
	}
}
