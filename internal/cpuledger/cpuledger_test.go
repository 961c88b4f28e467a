package cpuledger

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// burn uses at least d of this process's CPU time.
func burn(t *testing.T, d time.Duration) {
	t.Helper()
	start, ok := processCPU(os.Getpid())
	if !ok {
		t.Fatal("no reading of this process's CPU clock")
	}
	var x uint64
	for i := 0; ; i++ {
		for j := 0; j < 100_000; j++ {
			x = x*6364136223846793005 + 1
		}
		if now, _ := processCPU(os.Getpid()); now-start >= d {
			break
		}
		if i == 1_000_000 {
			t.Fatalf("this process's CPU clock did not advance by %v", d)
		}
	}
	_ = x
}

func TestLedgerChargesWhatTheProcessUsed(t *testing.T) {
	l := New(os.Getpid())
	burn(t, 20*time.Millisecond)
	// Two long pieces, each of an hour: together they get what the
	// process used, not two hours.
	first := l.Charge(time.Hour)
	second := l.Charge(time.Hour)
	if first < 20*time.Millisecond || first > time.Minute {
		t.Errorf("first long piece charged %v, want the ~20 ms the process used", first)
	}
	if second > 5*time.Millisecond {
		t.Errorf("second long piece charged %v right after the first claimed the process's CPU, want ~0", second)
	}
	// A long piece shorter than what is unclaimed gets its wall time.
	burn(t, 20*time.Millisecond)
	if got := l.Charge(2 * time.Millisecond); got != 2*time.Millisecond {
		t.Errorf("2 ms piece charged %v with 20 ms unclaimed, want 2 ms", got)
	}
	// Short pieces are charged their wall time, and what they were
	// charged is no longer there to claim.
	l.Charge(time.Hour)
	burn(t, 10*time.Millisecond)
	for charged := time.Duration(0); charged < 20*time.Millisecond; charged += BoundAfter / 2 {
		if got := l.Charge(BoundAfter / 2); got != BoundAfter/2 {
			t.Fatalf("short piece charged %v, want its wall time %v", got, BoundAfter/2)
		}
	}
	if got := l.Charge(time.Hour); got > 5*time.Millisecond {
		t.Errorf("long piece charged %v after short ones were charged 20 ms of the ~10 ms used, want ~0", got)
	}
	if got := l.Charge(BoundAfter); got > BoundAfter {
		t.Errorf("piece of %v charged %v", BoundAfter, got)
	}
}

func TestLedgerWithoutTheProcess(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	l := New(gone.ProcessState.Pid())
	if got := l.Charge(time.Hour); got != time.Hour {
		t.Errorf("long piece of a process the host does not know charged %v, want the wall time", got)
	}
	l = New(os.Getpid())
	l.pid = gone.ProcessState.Pid()
	if got := l.Charge(time.Hour); got != time.Hour {
		t.Errorf("long piece after the process went charged %v, want the wall time", got)
	}
}
