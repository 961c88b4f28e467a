package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/podsandbox/cgroup"
)

// TestPodThreadsShareOneCPU checks the daemon's default CPU placement
// (podsandbox/placement): the threads of an idle pod (its sentry's, its
// gofer's and its container's stub's) are all bound to one CPU.
func TestPodThreadsShareOneCPU(t *testing.T) {
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	if mine.Count() < 2 {
		t.Skip("placement binds pods to one CPU only where there are two")
	}
	f := newPodFixture(t)
	pod, podCfg := f.runPod("placement")
	ctr := f.create(pod, podCfg, "sleeper", "sleep", "1000")
	f.c.run(false, "start", ctr)
	f.waitState(ctr, "CONTAINER_RUNNING")
	if last, ok := waitAffinities(t, podThreadsFile(t, sentryPID(t, f.c, pod)), func(cpus map[string][]int, processes int) bool {
		if len(cpus) != 1 || processes < 3 {
			return false
		}
		for list := range cpus {
			set, err := cgroup.ParseCPUList(list)
			return err == nil && set.Count() == 1
		}
		return false
	}); !ok {
		t.Fatalf("the idle pod's threads are not all bound to one CPU: %s", last)
	}

	// A daemon started with cpu_placement = "kernel" lets the first pod's
	// threads go, and a new pod's threads keep the daemon's affinity.
	everywhere := func(cpus map[string][]int, processes int) bool {
		for list := range cpus {
			if set, err := cgroup.ParseCPUList(list); err == nil && set == mine {
				return processes >= 3
			}
		}
		return false
	}
	first := podThreadsFile(t, sentryPID(t, f.c, pod))
	f.d.stop()
	f.d = startDaemonWith(t, f.d.root, f.d.sock, `cpu_placement = "kernel"`)
	f.removePodsAtCleanup()
	if last, ok := waitAffinities(t, first, func(cpus map[string][]int, processes int) bool {
		return len(cpus) == 1 && everywhere(cpus, processes)
	}); !ok {
		t.Fatalf("cpu_placement = kernel: the first pod's threads are still bound: %s", last)
	}
	pod2, podCfg2 := f.runPod("kernel-placement")
	ctr2 := f.create(pod2, podCfg2, "sleeper", "sleep", "1000")
	f.c.run(false, "start", ctr2)
	f.waitState(ctr2, "CONTAINER_RUNNING")
	time.Sleep(time.Second) // several ticks of a placement, were there one
	if last, ok := waitAffinities(t, podThreadsFile(t, sentryPID(t, f.c, pod2)), everywhere); !ok {
		t.Fatalf("cpu_placement = kernel: no thread of the pod may run on all the daemon's %d CPUs: %s", mine.Count(), last)
	}
}

// waitAffinities polls the threads listed in file, grouped by their
// Cpus_allowed_list, until done says so (true) or 30 s pass (false); it
// returns the last state, described.
func waitAffinities(t *testing.T, file string, done func(cpus map[string][]int, processes int) bool) (string, bool) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cpus := map[string][]int{}
		processes := map[int]bool{}
		for _, f := range strings.Fields(string(data)) {
			tid, _ := strconv.Atoi(f)
			list, tgid, ok := threadAffinity(tid)
			if !ok {
				continue // exited meanwhile
			}
			cpus[list] = append(cpus[list], tid)
			processes[tgid] = true
		}
		last = fmt.Sprintf("%d processes, threads by allowed CPUs %v", len(processes), cpus)
		if done(cpus, len(processes)) {
			t.Log(last)
			return last, true
		}
	}
	return last, false
}

// podThreadsFile returns the file listing the threads of the cgroup of
// process pid: v1's tasks in the pids hierarchy, or v2's cgroup.threads.
func podThreadsFile(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[1] == "pids":
			return filepath.Join("/sys/fs/cgroup/pids", parts[2], "tasks")
		case parts[0] == "0" && parts[1] == "":
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				return filepath.Join("/sys/fs/cgroup", parts[2], "cgroup.threads")
			}
		}
	}
	t.Fatalf("no pids or unified cgroup for process %d in:\n%s", pid, data)
	return ""
}

// threadAffinity returns a thread's Cpus_allowed_list and process.
func threadAffinity(tid int) (list string, tgid int, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return "", 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, found := strings.CutPrefix(line, "Cpus_allowed_list:"); found {
			list = strings.TrimSpace(v)
		}
		if v, found := strings.CutPrefix(line, "Tgid:"); found {
			tgid, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return list, tgid, list != "" && tgid != 0
}
