package pod_test

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// procScript prints the shell's PID and parent PID, the process IDs its
// /proc lists, and its NSpid line.
const procScript = `echo "pid=$$ ppid=$PPID"; printf procs=; for d in /proc/[0-9]*; do printf "%s," "${d#/proc/}"; done; echo; ` +
	`while read k v; do [ "$k" = NSpid: ] && echo "nspid=$v"; done < /proc/self/status; true`

// TestPIDNamespaces checks that each container has its own PID namespace:
// its init is PID 1 with no parent, its /proc lists only its own
// processes, an exec joins the namespace with getppid 0, and the control
// protocol still reports PIDs as the sandbox's root namespace numbers
// them.
func TestPIDNamespaces(t *testing.T) {
	p := startPod(t)
	p.create("a", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("a")
	logB := p.create("b", "r2", sh(procScript))
	p.start("b")
	if st := p.wait("b", ""); st.ExitCode != 0 {
		t.Fatalf("b: %+v\n%+v", st, readLog(t, logB))
	}
	recs := readLog(t, logB)
	for _, want := range []string{"pid=1 ppid=0", "procs=1,", "nspid=1"} {
		if !hasRecord(recs, "stdout", want) {
			t.Errorf("b's output lacks %q: %+v", want, recs)
		}
	}

	// An exec into a: PID 2 of a's namespace, parent outside it; a's
	// /proc shows a's init and the exec only.
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	resp := p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "a", ID: "e",
		Process: control.Process{Args: []string{"sh", "-c", procScript}, Env: []string{"PATH=/bin"}}}}, outW, errW)
	outW.Close()
	errW.Close()
	out, _ := io.ReadAll(outR)
	errOut, _ := io.ReadAll(errR)
	if st := p.wait("a", "e"); st.ExitCode != 0 {
		t.Fatalf("exec: %+v %q %q", st, out, errOut)
	}
	for _, want := range []string{"pid=2 ppid=0\n", "procs=1,2,\n", "nspid=2\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("exec output %q lacks %q", out, want)
		}
	}
	// The daemon's view: root-namespace PIDs, which differ from the
	// namespace's (a's init is 1 in a but b's init came after it).
	if resp.PID <= 2 {
		t.Errorf("exec's PID %d is not a root-namespace PID", resp.PID)
	}

	// kill -1 from a container reaches only its own namespace.
	p.create("k", "r2", sh("kill -9 -1; echo survived"))
	p.start("k")
	if st := p.wait("k", ""); st.ExitCode != 0 {
		t.Fatalf("k: %+v", st)
	}
	n1, _ := os.Open(os.DevNull)
	n2, _ := os.Open(os.DevNull)
	defer n1.Close()
	defer n2.Close()
	p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "a", ID: "alive",
		Process: control.Process{Args: []string{"true"}, Env: []string{"PATH=/bin"}}}}, n1, n2)
	if st := p.wait("a", "alive"); st.ExitCode != 0 {
		t.Fatalf("a after k's kill -1: %+v", st)
	}
	p.must(&control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: control.Target{Container: "a"}, Signal: 9}})
	if st := p.wait("a", ""); st.ExitCode != 137 {
		t.Fatalf("a after SIGKILL: %+v", st)
	}
}
