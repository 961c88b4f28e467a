package podsandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/control"
)

func TestContainerLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	events := r.Subscribe(ctx)
	lower := busyboxLower(t)
	pod := mustRunPod(t, r, podConfig("life"))

	// RunPod again with the same ID answers with the same pod.
	again, err := r.RunPod(ctx, pod.Config)
	if err != nil || again.SentryPID != pod.SentryPID {
		t.Fatalf("second RunPod: %v, sentry %d want %d", err, again.SentryPID, pod.SentryPID)
	}
	if got := readAll(t, filepath.Join(e.run, "pods", pod.Config.ID, "files", "resolv.conf")); got != "nameserver 10.0.0.10\nsearch default.svc.cluster.local\noptions ndots:5\n" {
		t.Errorf("resolv.conf = %q", got)
	}

	cfg := e.ctrConfig(pod, lower, "echo", "sh", "-c", "echo hello; echo oops >&2; cat /etc/hostname; exit 3")
	c := startContainer(t, r, cfg)
	got := waitExited(t, r, c.Config.ID, 30*time.Second)
	if got.ExitCode != 3 || got.Reason != "Error" || got.FinishedAt.IsZero() || got.StartedAt.IsZero() {
		t.Errorf("exited container: code %d reason %q started %v finished %v", got.ExitCode, got.Reason, got.StartedAt, got.FinishedAt)
	}
	lines := logLines(t, cfg.LogPath)
	want := map[[3]string]bool{
		{"stdout", "F", "hello"}: true,
		{"stderr", "F", "oops"}:  true,
		{"stdout", "F", "life"}:  true,
	}
	for _, l := range lines {
		delete(want, l)
	}
	if len(want) != 0 {
		t.Errorf("log lines %q lack %v", lines, want)
	}

	// Events: created, started, stopped for the container.
	seen := map[EventType]bool{}
	timeout := time.After(5 * time.Second)
	for len(seen) < 3 {
		select {
		case ev := <-events:
			if ev.ContainerID == c.Config.ID {
				seen[ev.Type] = true
			}
		case <-timeout:
			t.Fatalf("events seen: %v", seen)
		}
	}

	// An exit 0 container is Completed.
	c2 := startContainer(t, r, e.ctrConfig(pod, lower, "ok", "true"))
	if got := waitExited(t, r, c2.Config.ID, 30*time.Second); got.ExitCode != 0 || got.Reason != "Completed" {
		t.Errorf("true: code %d reason %q", got.ExitCode, got.Reason)
	}
	// Same name and attempt again: refused.
	dup := e.ctrConfig(pod, lower, "ok", "true")
	if _, err := r.CreateContainer(ctx, dup); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate name: %v, want ErrExists", err)
	}
	if err := r.RemoveContainer(ctx, c.Config.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Container(ctx, c.Config.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed container: %v", err)
	}
	if mps, _ := mountsUnder(filepath.Join(e.run, "containers", c.Config.ID)); len(mps) != 0 {
		t.Errorf("mounts left: %v", mps)
	}
	if err := r.StopPod(ctx, pod.Config.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.StopPod(ctx, pod.Config.ID); err != nil {
		t.Fatalf("second StopPod: %v", err)
	}
	p, _ := r.Pod(ctx, pod.Config.ID)
	if p.State != PodNotReady || p.SentryPID != 0 {
		t.Errorf("stopped pod: %+v", p)
	}
	if _, err := r.CreateContainer(ctx, e.ctrConfig(pod, lower, "late", "true")); !errors.Is(err, ErrState) {
		t.Errorf("create in stopped pod: %v, want ErrState", err)
	}
}

func TestStopTimeoutKills(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	lower := busyboxLower(t)
	pod := mustRunPod(t, r, podConfig("stop"))
	stubborn := startContainer(t, r, e.ctrConfig(pod, lower, "stubborn", "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1000; done"))
	// A container's init ignores signals it has no handler for (it is
	// PID 1 of its PID namespace), so the polite one traps TERM.
	polite := startContainer(t, r, e.ctrConfig(pod, lower, "polite", "sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 1; done"))
	// Wait for the traps to be in place.
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _ := os.ReadFile(stubborn.Config.LogPath)
		data2, _ := os.ReadFile(polite.Config.LogPath)
		if strings.Contains(string(data), "ready") && strings.Contains(string(data2), "ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stubborn container never got ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if err := r.StopContainer(ctx, polite.Config.ID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if c, _ := r.Container(ctx, polite.Config.ID); c.State != ContainerExited || c.ExitCode != 0 || c.Reason != "Completed" {
		t.Errorf("polite: %s code %d reason %q, want exited 0 on SIGTERM", c.State, c.ExitCode, c.Reason)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("SIGTERM did not end sleep promptly")
	}
	if err := r.StopContainer(ctx, stubborn.Config.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	c, _ := r.Container(ctx, stubborn.Config.ID)
	if c.State != ContainerExited || c.ExitCode != 128+int32(syscall.SIGKILL) {
		t.Errorf("stubborn: %s code %d, want exited by SIGKILL", c.State, c.ExitCode)
	}
	// Stopping an exited container is fine.
	if err := r.StopContainer(ctx, stubborn.Config.ID, time.Second); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

// TestStopRightAfterStart stops a container the moment it started: the
// stop signal must wait for the program to install its handler instead of
// being discarded by an init that has none yet.
func TestStopRightAfterStart(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	pod := mustRunPod(t, r, podConfig("quickstop"))
	c := startContainer(t, r, e.ctrConfig(pod, busyboxLower(t), "quick", "sh", "-c", "trap 'exit 3' TERM; while true; do sleep 1; done"))
	if err := r.StopContainer(ctx, c.Config.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := r.Container(ctx, c.Config.ID)
	if got.State != ContainerExited || got.ExitCode != 3 {
		t.Errorf("%s code %d, want exited 3 from the TERM trap", got.State, got.ExitCode)
	}
}

// TestPodSysctls runs a pod with sysctls its kernel implements: its
// containers see them in /proc/sys.
func TestPodSysctls(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	cfg := podConfig("sysctls")
	cfg.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1", "kernel/msgmax": "65536", "kernel.sem": "250 32000 32 128"}
	pod := mustRunPod(t, r, cfg)
	c := startContainer(t, r, e.ctrConfig(pod, busyboxLower(t), "reader", "sleep", "1000"))
	out, errOut, code := execIn(t, r, c.Config.ID, "", "cat", "/proc/sys/kernel/shm_rmid_forced", "/proc/sys/kernel/msgmax", "/proc/sys/kernel/sem")
	if want := "1\n65536\n250\t32000\t32\t128\n"; out != want || code != 0 {
		t.Errorf("/proc/sys: %q (stderr %q, code %d), want %q", out, errOut, code, want)
	}
}

// TestContainerMemoryLimit runs a container past its memory limit: the
// sandbox's OOM killer kills it and it exits 137 with reason OOMKilled,
// while a container of the same pod within its limit lives on. Raising
// the limit with UpdateContainerResources lets the same work finish.
func TestContainerMemoryLimit(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	lower := busyboxLower(t)
	pod := mustRunPod(t, r, podConfig("oom"))
	bystander := startContainer(t, r, e.ctrConfig(pod, lower, "bystander", "sleep", "1000"))

	hog := e.ctrConfig(pod, lower, "hog", "sh", "-c", "dd if=/dev/zero of=/dev/null bs=20M count=1")
	hog.Resources.MemoryLimitBytes = 15 << 20
	c := startContainer(t, r, hog)
	got := waitExited(t, r, c.Config.ID, time.Minute)
	if got.ExitCode != 137 || got.Reason != "OOMKilled" {
		t.Errorf("hog: code %d reason %q, want 137 OOMKilled", got.ExitCode, got.Reason)
	}
	if b, _ := r.Container(ctx, bystander.Config.ID); b.State != ContainerRunning {
		t.Errorf("bystander: %s, want running", b.State)
	}

	// Within a raised limit the same copy completes.
	roomy := e.ctrConfig(pod, lower, "roomy", "sleep", "1000")
	roomy.Resources.MemoryLimitBytes = 15 << 20
	c = startContainer(t, r, roomy)
	if err := r.UpdateContainerResources(ctx, c.Config.ID, Resources{MemoryLimitBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := execIn(t, r, c.Config.ID, "", "sh", "-c", "dd if=/dev/zero of=/dev/null bs=20M count=1"); code != 0 {
		t.Errorf("roomy: dd exited %d (%s), want 0 under the raised limit", code, errOut)
	}
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	lower := busyboxLower(t)
	pod := mustRunPod(t, r, podConfig("exec"))
	a := startContainer(t, r, e.ctrConfig(pod, lower, "a", "sleep", "1000"))
	b := startContainer(t, r, e.ctrConfig(pod, lower, "b", "sh", "-c", "echo b > /tmp/mark; sleep 1000"))

	out, errOut, code := execIn(t, r, a.Config.ID, "", "sh", "-c", "echo out; echo err >&2; exit 7")
	if out != "out\n" || errOut != "err\n" || code != 7 {
		t.Errorf("exec: out %q err %q code %d", out, errOut, code)
	}
	out, _, code = execIn(t, r, a.Config.ID, "fed through stdin\n", "cat")
	if out != "fed through stdin\n" || code != 0 {
		t.Errorf("exec cat: out %q code %d", out, code)
	}
	// Each container has its own root: b's file is not in a.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, _ = execIn(t, r, b.Config.ID, "", "cat", "/tmp/mark")
		if out == "b\n" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out != "b\n" {
		t.Errorf("b's /tmp/mark: %q", out)
	}
	if _, _, code := execIn(t, r, a.Config.ID, "", "cat", "/tmp/mark"); code == 0 {
		t.Errorf("a sees b's /tmp/mark")
	}
	// The pod files are mounted.
	out, _, _ = execIn(t, r, a.Config.ID, "", "cat", "/etc/hostname", "/etc/resolv.conf")
	if !strings.Contains(out, "exec\n") || !strings.Contains(out, "nameserver 10.0.0.10") {
		t.Errorf("pod files: %q", out)
	}
	// Cancelling an exec kills it.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := r.Exec(ctx, ExecConfig{ContainerID: a.Config.ID, Process: control.Process{Args: []string{"sleep", "1000"}, Env: []string{"PATH=/bin"}}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled exec: %v", err)
	}
	// Stats name both containers.
	ps, err := r.PodStats(context.Background(), pod.Config.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ps.Containers[a.Config.ID]; !ok || len(ps.Containers) != 2 {
		t.Errorf("pod stats: %+v", ps)
	}
	cs, err := r.ContainerStats(context.Background(), b.Config.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cs.WritableLayerInodes == 0 {
		t.Errorf("container stats: no writable layer use: %+v", cs)
	}
}

func TestRemovePodLeavesNothing(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	lower := busyboxLower(t)
	if left := e.leftovers(); len(left) != 0 {
		t.Fatalf("before: %v", left)
	}
	pod := mustRunPod(t, r, podConfig("rm"))
	// A container with a file mount and a directory mount, running.
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "data"), []byte("volume data\n"), 0o644)
	hostsFile := filepath.Join(t.TempDir(), "etc-hosts")
	os.WriteFile(hostsFile, []byte("127.0.0.1 kubelet-hosts\n"), 0o644)
	cfg := e.ctrConfig(pod, lower, "busy", "sleep", "1000")
	cfg.Mounts = []Mount{
		{HostPath: vol, ContainerPath: "/data", ReadOnly: true},
		{HostPath: hostsFile, ContainerPath: "/etc/hosts"},
		{Type: "tmpfs", ContainerPath: "/scratch"},
	}
	c := startContainer(t, r, cfg)
	out, _, _ := execIn(t, r, c.Config.ID, "", "cat", "/data/data", "/etc/hosts")
	if out != "volume data\n127.0.0.1 kubelet-hosts\n" {
		t.Errorf("mounts: %q", out)
	}
	if _, _, code := execIn(t, r, c.Config.ID, "", "sh", "-c", "echo x > /data/new"); code == 0 {
		t.Errorf("wrote to a read-only volume")
	}
	startContainer(t, r, e.ctrConfig(pod, lower, "done", "true"))
	left := e.leftovers()
	if len(left) == 0 {
		t.Fatalf("a running pod leaves no trace: the counting is broken")
	}
	// The pod's network namespace is counted: its bind mount and file.
	if ns := "mount " + filepath.Join(e.run, "netns", pod.Config.ID); !slices.Contains(left, ns) || !slices.Contains(left, "file "+pod.NetNS) {
		t.Errorf("the pod's network namespace %s is not among %v", pod.NetNS, left)
	}
	if e.driver != "none" {
		// The sandbox's processes are in the pod cgroup.
		cg := readAll(t, filepath.Join("/proc", strconv.Itoa(pod.SentryPID), "cgroup"))
		if !strings.Contains(cg, e.cgParent+"/cocoon-"+pod.Config.ID) {
			t.Errorf("sentry's cgroups:\n%s", cg)
		}
		if !strings.Contains(strings.Join(left, "\n"), "cgroup ") {
			t.Errorf("no pod cgroup among %v", left)
		}
	}
	if err := r.RemovePod(ctx, pod.Config.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.RemovePod(ctx, pod.Config.ID); err != nil {
		t.Fatalf("second RemovePod: %v", err)
	}
	if _, err := r.Pod(ctx, pod.Config.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed pod: %v", err)
	}
	if cs, _ := r.Containers(ctx); len(cs) != 0 {
		t.Errorf("containers left: %d", len(cs))
	}
	// Processes may take a moment to be reaped by init once killed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := e.leftovers()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left after RemovePod: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if data := readAll(t, filepath.Join(vol, "data")); data != "volume data\n" {
		t.Errorf("volume changed: %q", data)
	}
}

func TestRecoveryAfterRestart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lower := busyboxLower(t)
	r1 := e.open()
	pod := mustRunPod(t, r1, podConfig("survivor"))
	sentryStart, err := startTime(pod.SentryPID)
	if err != nil {
		t.Fatal(err)
	}
	c := startContainer(t, r1, e.ctrConfig(pod, lower, "sleeper", "sleep", "1000"))
	quick := startContainer(t, r1, e.ctrConfig(pod, lower, "quick", "sh", "-c", "sleep 1; exit 4"))
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	// The pod lives on without the daemon.
	if _, err := startTime(pod.SentryPID); err != nil {
		t.Fatalf("sentry gone after Close: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // quick exits while no daemon watches

	r2 := e.runtime()
	p, err := r2.Pod(ctx, pod.Config.ID)
	if err != nil || p.State != PodReady {
		t.Fatalf("after restart: %v %+v", err, p)
	}
	if got := waitExited(t, r2, quick.Config.ID, 20*time.Second); got.ExitCode != 4 {
		t.Errorf("container that exited while the daemon was away: code %d", got.ExitCode)
	}
	out, _, code := execIn(t, r2, c.Config.ID, "", "echo", "still here")
	if out != "still here\n" || code != 0 {
		t.Errorf("exec after restart: %q %d", out, code)
	}
	if err := r2.StopContainer(ctx, c.Config.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := r2.Container(ctx, c.Config.ID); got.State != ContainerExited {
		t.Errorf("stopped after restart: %s", got.State)
	}
	if err := r2.StopPod(ctx, pod.Config.ID); err != nil {
		t.Fatal(err)
	}
	if p, err := openProc("sentry", pod.SentryPID, sentryStart); err == nil {
		p.close()
		t.Errorf("sentry still running after StopPod")
	}
}

func TestSentryDeathIsContained(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	lower := busyboxLower(t)
	victim := mustRunPod(t, r, podConfig("victim"))
	bystander := mustRunPod(t, r, podConfig("bystander"))
	vc := startContainer(t, r, e.ctrConfig(victim, lower, "v", "sleep", "1000"))
	goferStart, err := startTime(victim.GoferPID)
	if err != nil {
		t.Fatal(err)
	}
	bc := startContainer(t, r, e.ctrConfig(bystander, lower, "b", "sleep", "1000"))

	if err := syscall.Kill(victim.SentryPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, r, victim.Config.ID, PodNotReady, 20*time.Second)
	if !strings.HasPrefix(p.Reason, "SentryExited") {
		t.Errorf("reason %q", p.Reason)
	}
	c, _ := r.Container(ctx, vc.Config.ID)
	if c.State != ContainerExited || c.ExitCode != 255 || c.Reason != "SandboxDied" {
		t.Errorf("victim's container: %s %d %q", c.State, c.ExitCode, c.Reason)
	}
	// The gofer went with it.
	if g, err := openProc("gofer", victim.GoferPID, goferStart); err == nil {
		if !g.waitExit(10 * time.Second) {
			t.Errorf("victim's gofer (pid %d) still runs", victim.GoferPID)
		}
		g.close()
	}
	if bp, _ := r.Pod(ctx, bystander.Config.ID); bp.State != PodReady {
		t.Errorf("bystander: %s", bp.State)
	}
	if out, _, _ := execIn(t, r, bc.Config.ID, "", "echo", "fine"); out != "fine\n" {
		t.Errorf("bystander exec: %q", out)
	}
	// The dead pod can still be stopped and removed.
	if err := r.StopPod(ctx, victim.Config.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.RemovePod(ctx, victim.Config.ID); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidConfigs(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	for name, mod := range map[string]func(*PodConfig){
		"bad id":     func(c *PodConfig) { c.ID = "../escape" },
		"empty id":   func(c *PodConfig) { c.ID = "" },
		"no name":    func(c *PodConfig) { c.Name = "" },
		"no ns":      func(c *PodConfig) { c.Namespace = "" },
		"sysctl":     func(c *PodConfig) { c.Sysctls = map[string]string{"net.ipv4.tcp_notsent_lowat": "16384"} },
		"bad dns":    func(c *PodConfig) { c.DNS = &DNS{Servers: []string{"1.1.1.1 evil"}} },
		"negative":   func(c *PodConfig) { c.Resources.MemoryLimitBytes = -5 },
		"hostname /": func(c *PodConfig) { c.Hostname = "a/b" },
	} {
		cfg := podConfig("bad")
		mod(&cfg)
		if _, err := r.RunPod(ctx, cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	cfg := podConfig("bad")
	cfg.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1", "net.ipv4.tcp_notsent_lowat": "16384"}
	if _, err := r.RunPod(ctx, cfg); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "sysctl net.ipv4.tcp_notsent_lowat is not supported") {
		t.Errorf("unsupported sysctl: %v, want ErrInvalid naming it", err)
	}
	cfg.Sysctls = map[string]string{"kernel.shm_rmid_forced": "2"}
	if _, err := r.RunPod(ctx, cfg); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "kernel.shm_rmid_forced") {
		t.Errorf("invalid sysctl value: %v, want ErrInvalid naming it", err)
	}
	if pods, _ := r.Pods(ctx); len(pods) != 0 {
		t.Errorf("invalid pods were kept: %d", len(pods))
	}

	lower := busyboxLower(t)
	pod := mustRunPod(t, r, podConfig("good"))
	for name, mod := range map[string]func(*ContainerConfig){
		"no args":        func(c *ContainerConfig) { c.Process.Args = nil },
		"relative mount": func(c *ContainerConfig) { c.Mounts = []Mount{{HostPath: "/tmp", ContainerPath: "rel"}} },
		"missing host":   func(c *ContainerConfig) { c.Mounts = []Mount{{HostPath: "/nonexistent/path", ContainerPath: "/x"}} },
		"device":         func(c *ContainerConfig) { c.Mounts = []Mount{{HostPath: "/dev/null", ContainerPath: "/x"}} },
		"bad type":       func(c *ContainerConfig) { c.Mounts = []Mount{{Type: "nfs", ContainerPath: "/x"}} },
		"no rootfs":      func(c *ContainerConfig) { c.Rootfs = Rootfs{} },
		"upper no work":  func(c *ContainerConfig) { c.Rootfs.Work = "" },
		"bad id":         func(c *ContainerConfig) { c.ID = "a/b" },
		"relative log":   func(c *ContainerConfig) { c.LogPath = "x.log" },
		"relative mask":  func(c *ContainerConfig) { c.MaskedPaths = []string{"proc/kcore"} },
		"relative ro":    func(c *ContainerConfig) { c.ReadonlyPaths = []string{"tmp"} },
		"bad pid ns":     func(c *ContainerConfig) { c.PIDNamespace = "host" },
		"unknown target": func(c *ContainerConfig) { c.PIDNamespace = PIDNamespaceOf(randID()) },
	} {
		cfg := e.ctrConfig(pod, lower, "c", "true")
		mod(&cfg)
		if _, err := r.CreateContainer(ctx, cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	cfg2 := e.ctrConfig(pod, lower, "c", "true")
	cfg2.PodID = randID()
	if _, err := r.CreateContainer(ctx, cfg2); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing pod: %v", err)
	}
	if cs, _ := r.Containers(ctx); len(cs) != 0 {
		t.Errorf("invalid containers were kept: %d", len(cs))
	}
	if mps, _ := mountsUnder(filepath.Join(e.run, "containers")); len(mps) != 0 {
		t.Errorf("mounts left by failed creates: %v", mps)
	}
	if err := r.StartContainer(ctx, randID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("start missing: %v", err)
	}
	if err := r.RemoveContainer(ctx, randID()); err != nil {
		t.Errorf("remove missing: %v", err)
	}
	if err := r.StopPod(ctx, randID()); err != nil {
		t.Errorf("stop missing pod: %v", err)
	}
}

func TestAttachAndTTY(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	lower := busyboxLower(t)
	pod := mustRunPod(t, r, podConfig("attach"))

	cfg := e.ctrConfig(pod, lower, "reader", "sh", "-c", "read line; echo got $line; echo on stderr >&2; sleep 1")
	cfg.Process.Stdin = true
	cfg.Process.StdinOnce = true
	c := startContainer(t, r, cfg)
	var out, errb syncBuffer
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.Attach(actx, AttachConfig{ContainerID: c.Config.ID, Stdin: strings.NewReader("hello\n"), Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if out.String() != "got hello\n" || errb.String() != "on stderr\n" {
		t.Errorf("attach: stdout %q stderr %q", out.String(), errb.String())
	}
	waitExited(t, r, c.Config.ID, 30*time.Second)

	sleeper := startContainer(t, r, e.ctrConfig(pod, lower, "sleeper", "sleep", "1000"))
	var tout syncBuffer
	sizes := make(chan TerminalSize, 1)
	sizes <- TerminalSize{Rows: 40, Cols: 100}
	code, err := r.Exec(ctx, ExecConfig{
		ContainerID: sleeper.Config.ID,
		Process:     control.Process{Args: []string{"sh", "-c", "sleep 0.5; echo on a tty; exit 2"}, Env: []string{"PATH=/bin"}, TTY: true},
		Stdout:      &tout,
		Resize:      sizes,
	})
	if err != nil || code != 2 {
		t.Fatalf("tty exec: %d %v", code, err)
	}
	if !strings.Contains(tout.String(), "on a tty") {
		t.Errorf("tty exec output %q", tout.String())
	}
	if err := r.ReopenContainerLog(ctx, sleeper.Config.ID); err != nil {
		t.Errorf("ReopenContainerLog: %v", err)
	}
	if err := r.UpdateContainerResources(ctx, sleeper.Config.ID, Resources{MemoryLimitBytes: 256 << 20}); err != nil {
		t.Errorf("UpdateContainerResources: %v", err)
	}
	if got, _ := r.Container(ctx, sleeper.Config.ID); got.Config.Resources.MemoryLimitBytes != 256<<20 {
		t.Errorf("resources not recorded: %+v", got.Config.Resources)
	}
}

// syncBuffer is a bytes.Buffer safe for the copy goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDeathWhileDaemonAway(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lower := busyboxLower(t)
	r1 := e.open()
	cfg := podConfig("away")
	// Two RunPods of one ID at once make one pod.
	pods := make(chan *Pod, 2)
	for range 2 {
		go func() {
			p, err := r1.RunPod(ctx, cfg)
			if err != nil {
				t.Error(err)
			}
			pods <- p
		}()
	}
	p1, p2 := <-pods, <-pods
	if p1 == nil || p2 == nil || p1.SentryPID != p2.SentryPID {
		t.Fatalf("concurrent RunPod made different pods: %+v %+v", p1, p2)
	}
	c := startContainer(t, r1, e.ctrConfig(p1, lower, "c", "sleep", "1000"))
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	sentry, err := openProc("sentry", p1.SentryPID, 0)
	if err != nil {
		t.Fatal(err)
	}
	sentry.kill()
	if !sentry.waitExit(10 * time.Second) {
		t.Fatal("sentry survived SIGKILL")
	}
	sentry.close()
	r2 := e.runtime()
	p, err := r2.Pod(ctx, cfg.ID)
	if err != nil || p.State != PodNotReady || !strings.Contains(p.Reason, "sentry") {
		t.Fatalf("pod whose sentry died while the daemon was away: %v %+v", err, p)
	}
	got, _ := r2.Container(ctx, c.Config.ID)
	if got.State != ContainerExited || got.ExitCode != 255 {
		t.Errorf("its container: %s %d", got.State, got.ExitCode)
	}
	if err := r2.RemovePod(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for left := e.leftovers(); len(left) != 0; left = e.leftovers() {
		if time.Now().After(deadline) {
			t.Fatalf("left: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStartErrorExitsContainer starts a container whose program does not
// exist: the start fails and the container is exited with StartError,
// as containerd reports it, instead of staying created.
func TestStartErrorExitsContainer(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	pod := mustRunPod(t, r, podConfig("starterr"))
	c, err := r.CreateContainer(ctx, e.ctrConfig(pod, busyboxLower(t), "missing", "/no/such/program"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, c.Config.ID); err == nil {
		t.Fatal("starting a missing program succeeded")
	}
	got, err := r.Container(ctx, c.Config.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != ContainerExited || got.Reason != "StartError" || got.ExitCode == 0 {
		t.Errorf("after a failed start: state %s reason %q exit %d, want exited StartError", got.State, got.Reason, got.ExitCode)
	}
	if err := r.StartContainer(ctx, c.Config.ID); !errors.Is(err, ErrState) {
		t.Errorf("starting it again: %v, want ErrState", err)
	}
}

// TestUpdatePodResources resizes a running pod: the new memory limit
// lands in its cgroup and in its record.
func TestUpdatePodResources(t *testing.T) {
	e := newEnv(t)
	if e.driver == "none" {
		t.Skip("no cgroup controllers on this node")
	}
	r := e.runtime()
	ctx := context.Background()
	pod := mustRunPod(t, r, podConfig("resize"))
	const limit = 300 << 20
	if err := r.UpdatePodResources(ctx, pod.Config.ID, Resources{MemoryLimitBytes: limit}); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, parent := range e.cgroupParents() {
		for _, file := range []string{"memory.limit_in_bytes", "memory.max"} {
			b, err := os.ReadFile(filepath.Join(parent, "cocoon-"+pod.Config.ID, file))
			if err != nil {
				continue
			}
			found = true
			if got := strings.TrimSpace(string(b)); got != strconv.Itoa(limit) {
				t.Errorf("%s = %s, want %d", file, got, limit)
			}
		}
	}
	if !found {
		t.Error("no memory controller file for the pod's cgroup")
	}
	got, err := r.Pod(ctx, pod.Config.ID)
	if err != nil || got.Config.Resources.MemoryLimitBytes != limit {
		t.Errorf("pod record after resize: %+v, %v", got, err)
	}
	if err := r.UpdatePodResources(ctx, "0123456789abcdef", Resources{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("resizing an unknown pod: %v", err)
	}
}
