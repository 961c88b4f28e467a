package pipe_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
)

func fifoStat() (unix.Stat_t, error) { return unix.Stat_t{Mode: unix.S_IFIFO | 0o644}, nil }

// TestFIFOIdleWithLastUser: a FIFO is idle, and says so once, when its
// last open end has closed; an open under way, a blocked one, or a failed
// one counts as a user until it ends.
func TestFIFOIdleWithLastUser(t *testing.T) {
	idles := 0
	f := pipe.NewFIFO(fifoStat, func() { idles++ })

	f.Hold()
	r, err := f.Open(unix.O_RDONLY|unix.O_NONBLOCK, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Hold()
	w, err := f.Open(unix.O_WRONLY|unix.O_NONBLOCK, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Idle() || idles != 0 {
		t.Fatal("idle with both ends open")
	}
	_ = r.Close()
	if f.Idle() || idles != 0 {
		t.Fatal("idle with the writer open")
	}
	_ = w.Close()
	if !f.Idle() || idles != 1 {
		t.Fatalf("after the last close: idle %v, told %d times", f.Idle(), idles)
	}

	// A non-blocking writer without a reader (ENXIO) gives its user back.
	f.Hold()
	if _, err := f.Open(unix.O_WRONLY|unix.O_NONBLOCK, nil); err != unix.ENXIO {
		t.Fatalf("writer without reader: %v", err)
	}
	if !f.Idle() || idles != 2 {
		t.Fatalf("after ENXIO: idle %v, told %d times", f.Idle(), idles)
	}

	// A blocked reader is a user while it waits, and gives it back when
	// its wait is interrupted.
	f.Hold()
	interrupted := errors.New("interrupted")
	_, err = f.Open(unix.O_RDONLY, func(<-chan struct{}) error {
		if f.Idle() {
			t.Error("idle while a reader waits")
		}
		return interrupted
	})
	if err != interrupted || !f.Idle() || idles != 3 {
		t.Fatalf("interrupted reader: %v, idle %v, told %d times", err, f.Idle(), idles)
	}
}
