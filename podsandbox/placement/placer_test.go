package placement

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain runs the helper process of TestPlacerPlacesTheThreadsOfAPod
// when asked to.
func TestMain(m *testing.M) {
	if os.Getenv("PLACEMENT_TEST_HELPER") == "1" {
		helper()
		return
	}
	os.Exit(m.Run())
}

// helper stands for a pod's application: two threads that spin in user
// mode, and one more thread, which sleeps, each time a line comes on
// stdin; it answers each line with its thread count.
func helper() {
	for range 2 {
		go func() {
			runtime.LockOSThread()
			for {
			}
		}()
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		started := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(started)
			select {}
		}()
		<-started
		fmt.Println("ok")
	}
}

// needTwoCPUs skips a test the daemon's affinity (here the test's) gives
// fewer than two CPUs, and returns that affinity.
func needTwoCPUs(t *testing.T) unix.CPUSet {
	t.Helper()
	var everywhere unix.CPUSet
	if err := unix.SchedGetaffinity(0, &everywhere); err != nil {
		t.Fatal(err)
	}
	if everywhere.Count() < 2 {
		t.Skip("this test needs two CPUs")
	}
	return everywhere
}

// startHelper starts a helper process, which lives until the test ends
// or its stdin closes.
func startHelper(t *testing.T) (*exec.Cmd, io.WriteCloser, io.Reader) {
	t.Helper()
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), "PLACEMENT_TEST_HELPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdin, stdout
}

// fakeCgroup is a cgroup holding one process, whose CPU use the test
// sets.
type fakeCgroup struct {
	pid   int
	nanos atomic.Uint64
}

func (c *fakeCgroup) CPUNanos() (uint64, error) { return c.nanos.Load(), nil }
func (c *fakeCgroup) Processes() ([]int, error) { return []int{c.pid}, nil }
func (c *fakeCgroup) Threads() ([]int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", c.pid))
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
func (c *fakeCgroup) EffectiveCPUs() (unix.CPUSet, bool, error) { return unix.CPUSet{}, false, nil }

// affinities returns the affinity of each of the cgroup's threads.
func affinities(t *testing.T, c *fakeCgroup) map[int]unix.CPUSet {
	t.Helper()
	tids, err := c.Threads()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]unix.CPUSet{}
	for _, tid := range tids {
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &s); err != nil {
			t.Fatal(err)
		}
		out[tid] = s
	}
	return out
}

// TestPlacerPlacesTheThreadsOfAPod drives a Placer tick by tick over a
// real process whose application threads spin, with the CPU use of its
// made-up cgroup set by the test: every thread, also one born later, is
// bound to one CPU; a pod filling its CPU with application code gets
// its threads' affinity back; one that turns light is bound again.
func TestPlacerPlacesTheThreadsOfAPod(t *testing.T) {
	everywhere := needTwoCPUs(t)
	cmd, stdin, stdout := startHelper(t)
	answers := bufio.NewScanner(stdout)
	newThread := func() {
		t.Helper()
		io.WriteString(stdin, "thread\n")
		if !answers.Scan() {
			t.Fatal("the helper did not answer")
		}
	}
	newThread()

	cg := &fakeCgroup{pid: cmd.Process.Pid}
	p, err := New(func() []Target { return []Target{{ID: "pod", Cgroup: cg}} }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// tickAt runs a tick after the cgroup used use CPUs for a tick's time.
	tickAt := func(use float64) {
		time.Sleep(tick)
		cg.nanos.Add(uint64(use * float64(tick)))
		p.tick(time.Now())
	}
	bound := func() (int, bool) {
		cpu := -1
		for tid, s := range affinities(t, cg) {
			if s.Count() != 1 {
				return -1, false
			}
			for c := 0; c < len(s)*64; c++ {
				if s.IsSet(c) && cpu >= 0 && c != cpu {
					t.Fatalf("thread %d bound to CPU %d, others to %d", tid, c, cpu)
				}
				if s.IsSet(c) {
					cpu = c
				}
			}
		}
		return cpu, true
	}

	tickAt(0)
	cpu, ok := bound()
	if !ok {
		t.Fatalf("after a tick, affinities %v; want every thread on one CPU", affinities(t, cg))
	}
	newThread()
	tickAt(0)
	if c, ok := bound(); !ok || c != cpu {
		t.Fatalf("a thread born bound and bound at the next tick: affinities %v, want all on CPU %d", affinities(t, cg), cpu)
	}

	// Full of application code (the helper's spinning threads): spread
	// once saturatedTicks are judged, and every thread gets back what it
	// had, the daemon's affinity (here the test's).
	for i := 0; i <= saturatedTicks; i++ {
		tickAt(1.0)
	}
	for tid, s := range affinities(t, cg) {
		if s != everywhere {
			t.Fatalf("spread pod: thread %d has %d CPUs, want the %d of the daemon", tid, s.Count(), everywhere.Count())
		}
	}

	for range lightTicks {
		tickAt(0.1)
	}
	if _, ok := bound(); !ok {
		t.Fatalf("light again: affinities %v; want every thread on one CPU", affinities(t, cg))
	}

	// A pod that stops is forgotten.
	p.targets = func() []Target { return nil }
	p.tick(time.Now())
	if len(p.pods) != 0 {
		t.Errorf("the Placer still holds %d stopped pods", len(p.pods))
	}
}

// TestPlacerAsksTheSentryForTraps drives a Placer over a busy process
// that stands for a sentry (its time is not application code) and
// whose traps, counted by the test, come at 4x trapHeavy a second:
// spread once judged, for its system calls. A sentry that cannot count
// them leaves it consolidated.
func TestPlacerAsksTheSentryForTraps(t *testing.T) {
	needTwoCPUs(t)
	for _, counted := range []bool{true, false} {
		cmd, stdin, _ := startHelper(t)
		pid := cmd.Process.Pid
		start := time.Now()
		asked := 0
		traps := func() (uint64, error) {
			asked++
			if !counted {
				return 0, fmt.Errorf("unknown op %q", "traps")
			}
			return uint64(time.Since(start).Seconds() * 4 * trapHeavy), nil
		}
		cg := &fakeCgroup{pid: pid}
		target := Target{ID: "pod", Cgroup: cg, Sentry: pid, Runtime: []int{pid}, Traps: traps}
		p, err := New(func() []Target { return []Target{target} }, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i <= saturatedTicks+1; i++ {
			time.Sleep(tick)
			cg.nanos.Add(uint64(tick))
			p.tick(time.Now())
		}
		stdin.Close()
		q := p.pods["pod"]
		if asked != 2 {
			t.Errorf("counted %v: the sentry was asked %d times in one judged run, want 2", counted, asked)
		}
		if q == nil || q.pol.spread != counted {
			t.Fatalf("counted %v: spread = %v", counted, q != nil && q.pol.spread)
		}
		if counted && q.pol.why != "system calls" {
			t.Errorf("spread for %q", q.pol.why)
		}
	}
}

// fakeLink is a pod's link whose counters the test sets, and which
// records what it is steered to.
type fakeLink struct {
	sent, received uint64
	steered        []unix.CPUSet
}

func (l *fakeLink) counters() (uint64, uint64, error) { return l.sent, l.received, nil }
func (l *fakeLink) steer(cpus unix.CPUSet) error {
	l.steered = append(l.steered, cpus)
	return nil
}
func (l *fakeLink) name() string { return "fake" }

// TestPlacerSteersABulkSender drives a Placer over a consolidated pod
// whose link, made up by the test, sends 1 GB/s: the host's work on its
// frames goes to the other CPUs it may use (following the pod, should it
// move), and comes back when it stops. Its links are looked for once,
// and the steering starts from a known state (what an earlier daemon
// left is cleared).
func TestPlacerSteersABulkSender(t *testing.T) {
	everywhere := needTwoCPUs(t)
	cmd, _, _ := startHelper(t)
	cg := &fakeCgroup{pid: cmd.Process.Pid}
	p, err := New(func() []Target { return []Target{{ID: "pod", Cgroup: cg, NetNS: "/run/netns/pod"}} }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeLink{}
	looked := 0
	p.links = func(path string) ([]link, error) {
		looked++
		if path != "/run/netns/pod" {
			t.Errorf("links looked for in %q", path)
		}
		return []link{l}, nil
	}
	// tickWith runs a tick after the link sent at rate, and returns
	// where the link is steered to, and the CPU of the pod.
	tickWith := func(rate float64) (unix.CPUSet, int) {
		t.Helper()
		time.Sleep(tick)
		l.sent += uint64(rate * tick.Seconds())
		p.tick(time.Now())
		cpu := p.pods["pod"].bound.cpu
		if cpu < 0 {
			t.Fatal("the pod is not consolidated")
		}
		if len(l.steered) == 0 {
			t.Fatal("the link was never written")
		}
		return l.steered[len(l.steered)-1], cpu
	}
	if got, _ := tickWith(0); len(l.steered) != 1 || got.Count() != 0 {
		t.Fatalf("first tick steered the link to %v, want one write of no CPU", l.steered)
	}
	for i := 1; i <= steerOnTicks+2; i++ {
		got, cpu := tickWith(1e9)
		want := everywhere
		want.Clear(cpu)
		if i < steerOnTicks && got.Count() != 0 || i >= steerOnTicks && got != want {
			t.Fatalf("tick %d sending 1 GB/s, consolidated on CPU %d: steered to %v, want %v from tick %d", i, cpu, got, want, steerOnTicks)
		}
	}
	for i := 1; i <= steerOffTicks; i++ {
		got, _ := tickWith(0)
		if (i < steerOffTicks) != (got.Count() > 0) {
			t.Fatalf("quiet tick %d: steered to %v; want let go at tick %d", i, got, steerOffTicks)
		}
	}
	if looked != 1 {
		t.Errorf("the pod's links were looked for %d times, want 1", looked)
	}
}
