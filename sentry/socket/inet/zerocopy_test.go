package inet

import (
	"testing"

	linux "golang.org/x/sys/unix"
)

// A report still queued takes in the next sends' numbers; one taken is
// not extended any more, and the next send starts a report of its own.
func TestZerocopyReportsExtendWhileQueued(t *testing.T) {
	st := newStack(t)
	u, err := New(st, linux.AF_INET, linux.SOCK_DGRAM, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.ZerocopySent() // SO_ZEROCOPY off: no number, no report
	if err := u.SetSockOpt(linux.SOL_SOCKET, linux.SO_ZEROCOPY, i32(1), false); err != nil {
		t.Fatal(err)
	}
	take := func() (lo, hi uint32, ok bool) {
		t.Helper()
		res, err := u.RecvErr(nil, true)
		if err == linux.EAGAIN {
			return 0, 0, false
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.N != 0 || res.From != nil || res.Flags != linux.MSG_ERRQUEUE {
			t.Fatalf("report %+v: want no data, no address, MSG_ERRQUEUE", res)
		}
		ee := res.Control[linux.CmsgLen(0):]
		if ee[4] != eeOriginZerocopy || ee[6] != eeCodeZerocopyCopied {
			t.Fatalf("origin %d code %d", ee[4], ee[6])
		}
		return le.Uint32(ee[8:]), le.Uint32(ee[12:]), true
	}
	if _, _, ok := take(); ok {
		t.Fatal("a report of a send made without SO_ZEROCOPY")
	}
	for range 3 {
		u.ZerocopySent()
	}
	if u.Readiness(uint32(linux.POLLERR))&uint32(linux.POLLERR) == 0 {
		t.Fatal("a queued report is not POLLERR")
	}
	if lo, hi, ok := take(); !ok || lo != 0 || hi != 2 {
		t.Fatalf("first report %d-%d (%v), want 0-2", lo, hi, ok)
	}
	u.ZerocopySent()
	if lo, hi, ok := take(); !ok || lo != 3 || hi != 3 {
		t.Fatalf("second report %d-%d (%v), want 3-3", lo, hi, ok)
	}
	if _, _, ok := take(); ok {
		t.Fatal("a third report")
	}
}
