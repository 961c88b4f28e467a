package probe

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain makes the test binary serve the measurement subcommand, so
// that MeasureApart can run it as the daemon runs its own binary.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == Command {
		if err := ServeMeasure(os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestMeasureApartLeavesChildrenAlone measures in a child process while
// the caller runs short-lived children of its own, as the daemon runs CNI
// plugins while it measures: every child's exit status must reach its own
// Wait. Measuring in the caller's process fails this (the platforms' stub
// factories reap exited children), and the test says so.
func TestMeasureApartLeavesChildrenAlone(t *testing.T) {
	if _, err := exec.LookPath("true"); err != nil {
		t.Skip(err)
	}
	done := make(chan Report)
	go func() { done <- MeasureApart(os.Args[0]) }()
	var r Report
	children := 0
	for running := true; running; children++ {
		select {
		case r = <-done:
			running = false
		default:
		}
		if err := exec.Command("true").Run(); err != nil {
			t.Fatalf("child %d while measuring: %v", children, err)
		}
	}
	t.Logf("%d children ran while measuring; choice %q in %v", children, r.Choice, r.Took)
	if len(r.Platforms) != len(Names) {
		t.Fatalf("report %+v: want one result per platform", r)
	}
	for _, name := range []string{Systrap, Ptrace} {
		if p, _ := r.Result(name); !p.Available {
			t.Errorf("%s unavailable: %s", name, p.Reason)
		}
	}
}

// TestMeasureApartFails reports every platform unavailable, with the
// reason, when the measuring process cannot run.
func TestMeasureApartFails(t *testing.T) {
	r := MeasureApart("/nonexistent/cocoon")
	if r.Choice != "" || len(r.Platforms) != len(Names) {
		t.Fatalf("report %+v: want no choice and one result per platform", r)
	}
	for _, p := range r.Platforms {
		if p.Available || !strings.Contains(p.Reason, "/nonexistent/cocoon "+Command) {
			t.Errorf("%s: %+v, want unavailable naming the command", p.Name, p)
		}
	}
}
