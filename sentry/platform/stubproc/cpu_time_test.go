package stubproc

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestCPUMark(t *testing.T) {
	var m CPUMark
	if got := m.Bound(os.Getpid(), time.Hour); got != time.Hour || m.Marked() {
		t.Errorf("Bound without a reading = %v (marked %v), want the wall time", got, m.Marked())
	}
	m.Mark(os.Getpid())
	if !m.Marked() {
		t.Fatal("no reading of this process's CPU clock")
	}
	// Burn some CPU: the bounds add up to what this process used.
	var cpu time.Duration
	var x uint64
	for i := 0; cpu < 5*time.Millisecond; i++ {
		for j := 0; j < 1_000_000; j++ {
			x = x*6364136223846793005 + 1
		}
		if i == 1000 {
			t.Fatalf("this process's CPU clock did not reach 5 ms (%v)", cpu)
		}
		cpu += m.Bound(os.Getpid(), time.Hour)
	}
	_ = x
	if got := m.Bound(os.Getpid(), 0); got != 0 {
		t.Errorf("bound of no wall time = %v, want 0", got)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	if got := m.Bound(gone.ProcessState.Pid(), time.Hour); got != time.Hour || m.Marked() {
		t.Errorf("bound on a process the host does not know = %v (marked %v), want the wall time", got, m.Marked())
	}
}
