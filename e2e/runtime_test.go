package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// podFixture is a daemon with the busybox test image pulled and crictl
// pointed at it.
type podFixture struct {
	t      *testing.T
	d      *daemon
	c      *crictl
	image  string
	logDir string
}

func newPodFixture(t *testing.T) *podFixture {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("pods need root")
	}
	if crictlPath() == "" {
		t.Skip("no crictl (set $CRICTL, put it on PATH or in /tmp/crictl-bin)")
	}
	img, err := registry.BusyboxImage()
	if err != nil {
		t.Skip(err)
	}
	reg := registry.Start(t)
	_, ref, err := reg.Push("library/busybox:e2e", img)
	if err != nil {
		t.Fatal(err)
	}
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)
	c := newCrictl(t, sock)
	c.run(false, "pull", ref)
	f := &podFixture{t: t, d: d, c: c, image: ref, logDir: t.TempDir()}
	f.removePodsAtCleanup()
	return f
}

// removePodsAtCleanup removes, when the test ends and before the daemon
// running now stops (cleanups run last first), every pod the test left:
// the daemon leaves pods running when it stops.
func (f *podFixture) removePodsAtCleanup() {
	d := f.d
	f.t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		for _, id := range strings.Fields(f.c.stdout("pods", "-q")) {
			f.c.run(false, "rmp", "-f", id)
		}
	})
}

// restartDaemon stops the daemon and starts it again on the same state;
// the pods keep running.
func (f *podFixture) restartDaemon() {
	f.t.Helper()
	f.d.stop()
	f.d = startDaemon(f.t, f.d.root, f.d.sock)
	f.removePodsAtCleanup()
}

// writeJSON writes v to a temp file and returns its path.
func (f *podFixture) writeJSON(name string, v any) string {
	f.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	p := filepath.Join(f.t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// runPod starts a pod named name and returns its ID and config file.
func (f *podFixture) runPod(name string) (id, cfg string) {
	f.t.Helper()
	cfg = f.writeJSON("pod-"+name+".json", map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "e2e", "uid": "uid-" + name},
		"hostname":      name,
		"log_directory": filepath.Join(f.logDir, name),
		"linux":         map[string]any{},
	})
	id = strings.TrimSpace(f.c.stdout("runp", cfg))
	return id, cfg
}

// create creates a container running args in pod and returns its ID.
func (f *podFixture) create(pod, podCfg, name string, args ...string) string {
	f.t.Helper()
	cfg := f.writeJSON("ctr-"+name+".json", map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": f.image},
		"command":  args,
		"log_path": name + ".log",
		"linux":    map[string]any{},
	})
	return strings.TrimSpace(f.c.stdout("create", pod, cfg, podCfg))
}

// containerState is what crictl inspect reports.
type containerState struct {
	Status struct {
		State    string `json:"state"`
		ExitCode int    `json:"exitCode"`
		Reason   string `json:"reason"`
	} `json:"status"`
}

func (f *podFixture) inspect(id string) containerState {
	f.t.Helper()
	var st containerState
	f.c.json(&st, "inspect", "-o", "json", id)
	return st
}

// waitState waits until container id reaches state.
func (f *podFixture) waitState(id, state string) containerState {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := f.inspect(id)
		if st.Status.State == state {
			return st
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("container %s is %s, want %s", id, st.Status.State, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPodLifecycle runs a pod and containers through crictl: exit codes,
// logs, exec, stats, stop, a second container's isolation, removal.
func TestPodLifecycle(t *testing.T) {
	f := newPodFixture(t)
	pod, podCfg := f.runPod("life")
	if out := f.c.run(false, "pods", "-q", "--state", "ready"); !strings.Contains(out, pod) {
		t.Fatalf("crictl pods --state ready = %q, want %s", out, pod)
	}

	short := f.create(pod, podCfg, "short", "sh", "-c", "echo out-line; echo err-line >&2; exit 3")
	f.c.run(false, "start", short)
	st := f.waitState(short, "CONTAINER_EXITED")
	if st.Status.ExitCode != 3 || st.Status.Reason != "Error" {
		t.Errorf("short container: exit %d reason %q, want 3 Error", st.Status.ExitCode, st.Status.Reason)
	}
	logs := f.c.run(false, "logs", short)
	if !strings.Contains(logs, "out-line") || !strings.Contains(logs, "err-line") {
		t.Errorf("crictl logs = %q", logs)
	}
	raw, err := os.ReadFile(filepath.Join(f.logDir, "life", "short.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" stdout F out-line\n", " stderr F err-line\n"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("log file lacks %q:\n%s", want, raw)
		}
	}

	long := f.create(pod, podCfg, "long", "sh", "-c", "echo started > /tmp/marker; trap 'exit 0' TERM; while true; do sleep 1; done")
	f.c.run(false, "start", long)
	f.waitState(long, "CONTAINER_RUNNING")
	if out := f.c.run(false, "exec", long, "sh", "-c", "cat /tmp/marker; hostname"); !strings.Contains(out, "started") || !strings.Contains(out, "life") {
		t.Errorf("exec output = %q", out)
	}
	if out := f.c.run(true, "exec", long, "sh", "-c", "exit 7"); !strings.Contains(out, "7") {
		t.Errorf("exec exit 7: %q", out)
	}

	other := f.create(pod, podCfg, "other", "sleep", "1000")
	f.c.run(false, "start", other)
	f.waitState(other, "CONTAINER_RUNNING")
	if out := f.c.run(false, "exec", other, "sh", "-c", "ls /tmp/marker 2>&1 || echo absent"); !strings.Contains(out, "absent") {
		t.Errorf("a second container sees the first one's file: %q", out)
	}

	var stats struct {
		Stats []struct {
			Attributes struct{ ID string } `json:"attributes"`
			CPU        struct {
				UsageCoreNanoSeconds struct{ Value string } `json:"usageCoreNanoSeconds"`
			} `json:"cpu"`
		} `json:"stats"`
	}
	f.c.json(&stats, "stats", "-o", "json", "--id", long)
	if len(stats.Stats) != 1 || stats.Stats[0].CPU.UsageCoreNanoSeconds.Value == "" || stats.Stats[0].CPU.UsageCoreNanoSeconds.Value == "0" {
		t.Errorf("crictl stats = %+v", stats)
	}

	f.c.run(false, "stop", "--timeout", "10", long)
	if st := f.inspect(long); st.Status.State != "CONTAINER_EXITED" || st.Status.ExitCode != 0 {
		t.Errorf("after stop, long = %+v, want exited 0 (it traps TERM)", st.Status)
	}
	f.c.run(false, "stop", "--timeout", "1", other)
	if st := f.inspect(other); st.Status.State != "CONTAINER_EXITED" {
		t.Errorf("after stop, other = %+v", st.Status)
	}
	f.c.run(false, "rm", short)
	f.c.run(true, "inspect", short)

	before := cocoonProcesses(t)
	f.c.run(false, "stopp", pod)
	f.c.run(false, "rmp", pod)
	if out := f.c.stdout("pods", "-q"); strings.Contains(out, pod) {
		t.Errorf("pod %s still listed after rmp", pod)
	}
	if after := cocoonProcesses(t); len(after) >= len(before) || len(before)-len(after) < 2 {
		t.Errorf("cocoon processes before rmp %v, after %v: the pod's gofer and sentry should be gone", before, after)
	}
	if m := mountsUnder(t, f.d.root); len(m) != 0 {
		t.Errorf("mounts left under %s: %v", f.d.root, m)
	}
	if m := mountsUnder(t, f.d.runDir); len(m) != 0 {
		t.Errorf("mounts left under %s: %v", f.d.runDir, m)
	}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/cocoon/cocoon-" + pod)
	if v2, _ := filepath.Glob("/sys/fs/cgroup/cocoon/cocoon-" + pod); len(v2) > 0 {
		cgroups = append(cgroups, v2...)
	}
	if len(cgroups) != 0 {
		t.Errorf("cgroups left: %v", cgroups)
	}
	for _, dir := range []string{filepath.Join(f.d.runDir, "pods", pod), filepath.Join(f.d.root, "pods", pod)} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s left after rmp (%v)", dir, err)
		}
	}
}

// cocoonProcesses lists the PIDs of processes running the test's cocoon
// binary (the daemon, gofers, sentries).
func cocoonProcesses(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err == nil && exe == cocoonBin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mountsUnder lists mount points below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			out = append(out, fields[4])
		}
	}
	return out
}

// TestDaemonRestartKeepsPods stops the daemon with a pod running and
// starts it again: the pod's container keeps running, and status, logs,
// exec and stop work through the new daemon.
func TestDaemonRestartKeepsPods(t *testing.T) {
	f := newPodFixture(t)
	pod, podCfg := f.runPod("restart")
	ctr := f.create(pod, podCfg, "ticker", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done")
	f.c.run(false, "start", ctr)
	f.waitState(ctr, "CONTAINER_RUNNING")
	procs := cocoonProcesses(t)

	f.d.stop()
	for _, pid := range procs {
		if pid == f.d.cmd.Process.Pid {
			continue
		}
		if err := syscall.Kill(pid, 0); err != nil {
			t.Errorf("pod process %d died with the daemon: %v", pid, err)
		}
	}
	f.d = startDaemon(t, f.d.root, f.d.sock)
	f.removePodsAtCleanup()
	f.waitState(ctr, "CONTAINER_RUNNING")
	if out := f.c.run(false, "exec", ctr, "echo", "after-restart"); !strings.Contains(out, "after-restart") {
		t.Errorf("exec after restart = %q", out)
	}
	time.Sleep(500 * time.Millisecond)
	if logs := f.c.run(false, "logs", "--tail", "2", ctr); !strings.Contains(logs, "tick") {
		t.Errorf("logs after restart = %q", logs)
	}
	f.c.run(false, "stop", "--timeout", "1", ctr)
	f.waitState(ctr, "CONTAINER_EXITED")
	f.c.run(false, "rmp", "-f", pod)
}

// TestSentryCrash kills one pod's sentry: that pod becomes NotReady and
// its container exited, and another pod is untouched.
func TestSentryCrash(t *testing.T) {
	f := newPodFixture(t)
	victim, victimCfg := f.runPod("victim")
	bystander, bystanderCfg := f.runPod("bystander")
	vc := f.create(victim, victimCfg, "v", "sleep", "1000")
	bc := f.create(bystander, bystanderCfg, "b", "sleep", "1000")
	f.c.run(false, "start", vc)
	f.c.run(false, "start", bc)
	f.waitState(vc, "CONTAINER_RUNNING")
	f.waitState(bc, "CONTAINER_RUNNING")

	pid := sentryPID(t, f.c, victim)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var p struct {
			Status struct{ State string } `json:"status"`
		}
		f.c.json(&p, "inspectp", "-o", "json", victim)
		if p.Status.State == "SANDBOX_NOTREADY" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("victim pod is %s after its sentry was killed", p.Status.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := f.waitState(vc, "CONTAINER_EXITED"); st.Status.Reason == "" {
		t.Errorf("victim container exited without a reason: %+v", st.Status)
	}
	if st := f.inspect(bc); st.Status.State != "CONTAINER_RUNNING" {
		t.Errorf("bystander container is %s", st.Status.State)
	}
	if out := f.c.run(false, "exec", bc, "echo", "alive"); !strings.Contains(out, "alive") {
		t.Errorf("bystander exec = %q", out)
	}
}

// sentryPID reads the sentry's host PID from the pod's verbose status.
func sentryPID(t *testing.T, c *crictl, pod string) int {
	t.Helper()
	var p struct {
		Info struct {
			PID int `json:"pid"`
		} `json:"info"`
	}
	c.json(&p, "inspectp", "-o", "json", pod)
	if p.Info.PID == 0 {
		t.Fatalf("inspectp %s: no sentry pid in its info", pod)
	}
	return p.Info.PID
}

// createWith creates a container running args in pod with linux settings
// linux (the CRI LinuxContainerConfig as crictl reads it) and returns its
// ID.
func (f *podFixture) createWith(pod, podCfg, name string, linux map[string]any, args ...string) string {
	f.t.Helper()
	cfg := f.writeJSON("ctr-"+name+".json", map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": f.image},
		"command":  args,
		"log_path": name + ".log",
		"linux":    linux,
	})
	return strings.TrimSpace(f.c.stdout("create", pod, cfg, podCfg))
}

// TestPodLifecycleSharedPIDAndMasks runs, through crictl, a pod that
// shares its PID namespace (pid POD, kubelet's shareProcessNamespace) and
// one that does not (pid CONTAINER), as critest's PodPID and ContainerPID
// checks do, and a container with masked and read-only paths, as its
// MaskedPaths and ReadonlyPaths checks do.
func TestPodLifecycleSharedPIDAndMasks(t *testing.T) {
	f := newPodFixture(t)
	const podMode, containerMode = 0, 1 // runtimeapi.NamespaceMode_POD, _CONTAINER
	runPod := func(name string, pid int) (string, string) {
		cfg := f.writeJSON("pod-"+name+".json", map[string]any{
			"metadata":      map[string]any{"name": name, "namespace": "e2e", "uid": "uid-" + name},
			"hostname":      name,
			"log_directory": filepath.Join(f.logDir, name),
			"linux":         map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"pid": pid}}},
		})
		return strings.TrimSpace(f.c.stdout("runp", cfg)), cfg
	}
	pidLinux := func(pid int) map[string]any {
		return map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"pid": pid}}}
	}

	shared, sharedCfg := runPod("shared", podMode)
	first := f.createWith(shared, sharedCfg, "first", pidLinux(podMode), "sleep", "1000")
	f.c.run(false, "start", first)
	f.waitState(first, "CONTAINER_RUNNING")
	second := f.createWith(shared, sharedCfg, "second", pidLinux(podMode), "sleep", "1001")
	f.c.run(false, "start", second)
	f.waitState(second, "CONTAINER_RUNNING")
	if out, errOut := f.c.run2(false, "exec", first, "cat", "/proc/1/cmdline"); strings.Contains(out, "sleep") || errOut != "" {
		t.Errorf("pid POD: /proc/1/cmdline = %q (stderr %q), want the pod's pause process", out, errOut)
	}
	if out := f.c.stdout("exec", second, "sh", "-c", "cat /proc/[0-9]*/cmdline"); !strings.Contains(out, "1000") || !strings.Contains(out, "1001") {
		t.Errorf("pid POD: the second container does not see the first's process: %q", out)
	}
	// The first container's init exits: the second lives on.
	f.c.run(false, "stop", "--timeout", "0", first)
	f.waitState(first, "CONTAINER_EXITED")
	if st := f.inspect(second); st.Status.State != "CONTAINER_RUNNING" {
		t.Errorf("pid POD: after the first container stopped, the second is %+v", st.Status)
	}

	own, ownCfg := runPod("own", containerMode)
	alone := f.createWith(own, ownCfg, "alone", pidLinux(containerMode), "sleep", "1002")
	f.c.run(false, "start", alone)
	f.waitState(alone, "CONTAINER_RUNNING")
	if out := f.c.stdout("exec", alone, "cat", "/proc/1/cmdline"); !strings.Contains(out, "1002") {
		t.Errorf("pid CONTAINER: /proc/1/cmdline = %q, want the container's init", out)
	}

	masked := f.createWith(own, ownCfg, "masked", map[string]any{"security_context": map[string]any{
		"masked_paths":   []string{"/etc/passwd", "/proc/kcore", "/proc/acpi", "/proc/uptime"},
		"readonly_paths": []string{"/tmp", "/proc/sys", "/proc/sysrq-trigger"},
	}}, "sleep", "1003")
	f.c.run(false, "start", masked)
	f.waitState(masked, "CONTAINER_RUNNING")
	if out, errOut := f.c.run2(false, "exec", masked, "sh", "-c", "cat /etc/passwd /proc/uptime"); out != "" || errOut != "" {
		t.Errorf("masked files read %q (stderr %q), want nothing", out, errOut)
	}
	if _, errOut := f.c.run2(true, "exec", masked, "sh", "-c", "echo x > /tmp/test"); !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("writing on a read-only path: %q", errOut)
	}
	if out := f.c.stdout("exec", alone, "sh", "-c", "echo x > /tmp/test && cat /etc/passwd"); !strings.Contains(out, "root:x:0:0") {
		t.Errorf("a container without masks: %q", out)
	}
}
