package pipe_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
)

// Drain consumes only what its writer took; the rest is read next.
func TestDrainKeepsWhatWasNotTaken(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, []byte("abcdefgh"))
	buf := make([]byte, 64)
	n, err := pipe.Drain(r.Impl(), buf, func(b []byte) (int, error) {
		if string(b) != "abcdefgh" {
			t.Errorf("offered %q", b)
		}
		return 3, unix.EAGAIN
	})
	if n != 3 || err != unix.EAGAIN {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	rest := make([]byte, 64)
	if n, err := r.Read(rest); string(rest[:n]) != "defgh" || err != nil {
		t.Fatalf("after Drain, read %q, %v", rest[:n], err)
	}
	if _, err := pipe.Drain(r.Impl(), buf, func(b []byte) (int, error) { return len(b), nil }); err != unix.EAGAIN {
		t.Errorf("Drain of an empty pipe: %v", err)
	}
	w.DecRef()
	if n, err := pipe.Drain(r.Impl(), buf, func(b []byte) (int, error) { return len(b), nil }); n != 0 || err != nil {
		t.Errorf("Drain at end of file = %d, %v", n, err)
	}
}

// A packet pipe offers one packet at a time; what is left of one stays a
// packet.
func TestDrainPackets(t *testing.T) {
	r, w := newPipe(t)
	w.Impl().(interface{ SetPacketMode(bool) }).SetPacketMode(true)
	mustWrite(t, w, []byte("first"))
	mustWrite(t, w, []byte("second"))
	buf := make([]byte, 64)
	take := func(k int) string {
		var got string
		pipe.Drain(r.Impl(), buf, func(b []byte) (int, error) {
			got = string(b[:k])
			return k, nil
		})
		return got
	}
	if got := take(2); got != "fi" {
		t.Fatalf("took %q", got)
	}
	if got := take(3); got != "rst" {
		t.Fatalf("took %q of the rest of the first packet", got)
	}
	if n, _ := r.Read(buf); string(buf[:n]) != "second" {
		t.Fatalf("read %q, want the second packet", buf[:n])
	}
}

// Fill reads only as much as the pipe has room for.
func TestFillTakesOnlyRoom(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, make([]byte, capacity-10))
	buf := make([]byte, 100)
	n, err := pipe.Fill(w.Impl(), buf, func(b []byte) (int, error) {
		if len(b) != 10 {
			t.Errorf("offered %d bytes of room, want 10", len(b))
		}
		return copy(b, "0123456789abc"), nil
	})
	if n != 10 || err != nil {
		t.Fatalf("Fill = %d, %v", n, err)
	}
	if _, err := pipe.Fill(w.Impl(), buf, func(b []byte) (int, error) { return len(b), nil }); err != pipe.ErrFull {
		t.Errorf("Fill of a full pipe: %v", err)
	}
	r.Read(make([]byte, capacity-10))
	got := make([]byte, 20)
	if n, _ := r.Read(got); string(got[:n]) != "0123456789" {
		t.Errorf("read %q", got[:n])
	}
	r.DecRef()
	if _, err := pipe.Fill(w.Impl(), buf, func(b []byte) (int, error) { return len(b), nil }); err != unix.EPIPE {
		t.Errorf("Fill without readers: %v", err)
	}
}
