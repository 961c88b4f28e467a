package proc

import "testing"

// TestFormatLoadavg checks /proc/loadavg's rendering of the kernel's
// fixed-point load averages: rounded to hundredths as Linux's
// loadavg_proc_show does.
func TestFormatLoadavg(t *testing.T) {
	for _, c := range []struct {
		load [3]uint64
		want string
	}{
		{[3]uint64{0, 0, 0}, "0.00 0.00 0.00 2/7 99\n"},
		{[3]uint64{2048, 1034, 164}, "1.00 0.50 0.08 2/7 99\n"},
		{[3]uint64{5*2048 + 512, 2047, 10}, "5.25 1.00 0.00 2/7 99\n"},
		{[3]uint64{11, 20, 21}, "0.01 0.01 0.01 2/7 99\n"},
	} {
		s := System{LoadAvg: c.load, Running: 2, Threads: 7, LastPID: 99}
		if got := string(formatLoadavg(s)); got != c.want {
			t.Errorf("formatLoadavg(%v) = %q, want %q", c.load, got, c.want)
		}
	}
}
