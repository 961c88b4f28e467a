package hostinet

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// A connected host UDP socket with IP_RECVERR gets the ICMP port
// unreachable of a datagram to a closed port in its error queue, which
// RecvErr takes once, with the payload, the destination and the
// IP_RECVERR control message.
func TestErrQueue(t *testing.T) {
	closed := mustNew(t, unix.AF_INET, unix.SOCK_DGRAM)
	if err := closed.Bind(lo4(0)); err != nil {
		t.Fatal(err)
	}
	dst := closed.Name()
	closed.Close()

	s := mustNew(t, unix.AF_INET, unix.SOCK_DGRAM)
	if err := s.SetSockOpt(unix.SOL_IP, unix.IP_RECVERR, []byte{1, 0, 0, 0}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecvErr(make([]byte, 8), false); err != unix.EAGAIN {
		t.Fatalf("an empty queue: %v, want EAGAIN", err)
	}
	if err := s.Connect(dst); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Send([]byte("hello"), nil, 0); err != nil || n != 5 {
		t.Fatalf("send: %d %v", n, err)
	}
	wait(t, s, waiter.EventErr)
	res, err := s.RecvErr(make([]byte, 3), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.N != 3 || res.Flags != unix.MSG_ERRQUEUE|unix.MSG_TRUNC || port(res.From) != port(dst) {
		t.Fatalf("got %+v, want 3 bytes, MSG_ERRQUEUE|MSG_TRUNC, from port %d", res, port(dst))
	}
	c := res.Control
	if len(c) < 20 || binary.LittleEndian.Uint32(c[8:]) != unix.SOL_IP || binary.LittleEndian.Uint32(c[12:]) != unix.IP_RECVERR ||
		binary.LittleEndian.Uint32(c[16:]) != uint32(unix.ECONNREFUSED) {
		t.Fatalf("control %x: want IP_RECVERR with ECONNREFUSED", c)
	}
	if _, err := s.RecvErr(make([]byte, 8), false); err != unix.EAGAIN {
		t.Fatalf("a taken error: %v, want EAGAIN", err)
	}
}
