package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// leakCycles is how many pods TestDaemonKeepsNothingPerPod runs after
// its warm-up; leakFDSlack how many more descriptors the daemon may hold
// after them (a gRPC connection, a cached file the first pods did not
// open yet).
const (
	leakCycles  = 12
	leakFDSlack = 4
)

// TestDaemonKeepsNothingPerPod: the daemon runs for months and sees
// thousands of pods; whatever one pod's life (run, create, start, exec,
// logs, stats, stop, remove) costs it in host descriptors must be given
// back when the pod goes. Threads and resident memory are logged, not
// checked: Go keeps the threads and heap it grew for a busy moment.
func TestDaemonKeepsNothingPerPod(t *testing.T) {
	f := newPodFixture(t)
	cycle := func(i int) {
		t.Helper()
		name := fmt.Sprintf("leak%d", i)
		pod, podCfg := f.runPod(name)
		ctr := f.create(pod, podCfg, name, "sh", "-c", "echo started; sleep 1000")
		f.c.run(false, "start", ctr)
		f.waitState(ctr, "CONTAINER_RUNNING")
		if out := f.c.run(false, "exec", ctr, "echo", "exec-"+name); !strings.Contains(out, "exec-"+name) {
			t.Fatalf("exec in %s: %q", name, out)
		}
		f.c.run(false, "logs", ctr)
		f.c.run(false, "stats", "-o", "json", ctr)
		f.c.run(false, "stopp", pod)
		f.c.run(false, "rmp", pod)
	}
	// Warm-up: the first pods open what the daemon keeps for every pod
	// to come (the image's layers, the cgroup parent, the CNI config).
	for i := range 2 {
		cycle(i)
	}
	pid := f.d.cmd.Process.Pid
	before := daemonFigures(t, pid)
	for i := range leakCycles {
		cycle(2 + i)
	}
	// A removed pod's last connections close a moment after its RPC.
	var after figures
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = daemonFigures(t, pid)
		if after.fds <= before.fds+leakFDSlack || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("daemon after %d pods: descriptors %d -> %d, threads %d -> %d, resident %d -> %d KiB",
		leakCycles, before.fds, after.fds, before.threads, after.threads, before.rssKiB, after.rssKiB)
	if after.fds > before.fds+leakFDSlack {
		t.Errorf("the daemon holds %d host descriptors after %d pods came and went, %d before (allowed %d more)\n%s",
			after.fds, leakCycles, before.fds, leakFDSlack, fdTargets(pid))
	}
}

// figures are what a process holds, from /proc.
type figures struct {
	fds, threads, rssKiB int
}

func daemonFigures(t *testing.T, pid int) figures {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("the daemon's descriptors: %v", err)
	}
	fg := figures{fds: len(ents)}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "Threads":
			fmt.Sscan(v, &fg.threads)
		case "VmRSS":
			fmt.Sscan(v, &fg.rssKiB)
		}
	}
	return fg
}

// fdTargets lists what a process's descriptors point at, counted, so a
// leak says what leaks.
func fdTargets(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	counts := map[string]int{}
	for _, e := range ents {
		target, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue
		}
		// socket:[123], pipe:[456], anon_inode:[eventpoll]: by kind.
		if i := strings.Index(target, ":["); i > 0 && !strings.HasPrefix(target, "anon_inode") {
			target = target[:i]
		}
		counts[target]++
	}
	var b strings.Builder
	for target, n := range counts {
		fmt.Fprintf(&b, "%5d %s\n", n, target)
	}
	return b.String()
}
