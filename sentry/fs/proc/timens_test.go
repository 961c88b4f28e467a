package proc

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseTimensOffset(t *testing.T) {
	for _, c := range []struct {
		line string
		want TimensOffset
		err  error
	}{
		{"monotonic 86400 0", TimensOffset{unix.CLOCK_MONOTONIC, 86400, 0}, nil},
		{"  7 -5 500000000 ", TimensOffset{unix.CLOCK_BOOTTIME, -5, 500000000}, nil},
		{"1 1 1", TimensOffset{unix.CLOCK_MONOTONIC, 1, 1}, nil},
		{"realtime 1 0", TimensOffset{}, unix.EINVAL},
		{"boottime 1 1000000000", TimensOffset{}, unix.EINVAL},
		{"boottime 1", TimensOffset{}, unix.EINVAL},
		{"monotonic x 0", TimensOffset{}, unix.EINVAL},
		{"", TimensOffset{}, unix.EINVAL},
	} {
		got, err := parseTimensOffset(c.line)
		if got != c.want || err != c.err {
			t.Errorf("parseTimensOffset(%q) = %+v, %v; want %+v, %v", c.line, got, err, c.want, c.err)
		}
	}
}
