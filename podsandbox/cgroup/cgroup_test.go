package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExpandSlice(t *testing.T) {
	for _, tc := range []struct {
		slice, want string
		bad         bool
	}{
		{slice: "-.slice", want: "/"},
		{slice: "kubepods.slice", want: "/kubepods.slice"},
		{slice: "kubepods-besteffort.slice", want: "/kubepods.slice/kubepods-besteffort.slice"},
		{slice: "kubepods-besteffort-pod123.slice", want: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice"},
		{slice: "kubepods-pod0a1b_2c3d.slice", want: "/kubepods.slice/kubepods-pod0a1b_2c3d.slice"},
		{slice: "system.slice", want: "/system.slice"},
		{slice: "kubepods", bad: true},
		{slice: ".slice", bad: true},
		{slice: "a--b.slice", bad: true},
		{slice: "-a.slice", bad: true},
		{slice: "a-.slice", bad: true},
		{slice: "a/b.slice", bad: true},
		{slice: "../x.slice", bad: true},
		{slice: "..-x.slice", bad: true},
		{slice: "", bad: true},
	} {
		got, err := ExpandSlice(tc.slice)
		switch {
		case tc.bad && err == nil:
			t.Errorf("ExpandSlice(%q) = %q, want an error", tc.slice, got)
		case !tc.bad && (err != nil || got != tc.want):
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", tc.slice, got, err, tc.want)
		}
	}
}

func TestCgroupPath(t *testing.T) {
	for _, tc := range []struct {
		driver       Driver
		parent, name string
		want         string // "" for an error
	}{
		{Cgroupfs, "/kubepods/besteffort/pod123", "cocoon-abc", "/kubepods/besteffort/pod123/cocoon-abc"},
		{Cgroupfs, "kubepods/burstable/pod1/", "x", "/kubepods/burstable/pod1/x"},
		{Cgroupfs, "//a//b", "x", "/a/b/x"},
		{Cgroupfs, "", "x", "/cocoon/x"},
		{Cgroupfs, "/", "x", "/x"},
		{Systemd, "kubepods-besteffort-pod123.slice", "cocoon-abc", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cocoon-abc.scope"},
		{Systemd, "kubepods.slice", "cocoon-abc.scope", "/kubepods.slice/cocoon-abc.scope"},
		{Systemd, "", "x", "/cocoon.slice/x.scope"},
		{Cgroupfs, "/kubepods/../..", "x", ""},
		{Cgroupfs, "..", "x", ""},
		{Cgroupfs, "/a/./b", "x", ""},
		{Cgroupfs, "/a", "..", ""},
		{Cgroupfs, "/a", ".", ""},
		{Cgroupfs, "/a", "b/c", ""},
		{Cgroupfs, "/a", "", ""},
		{Cgroupfs, "/a\x00b", "x", ""},
		{Systemd, "/kubepods", "x", ""},
		{Systemd, "kubepods-besteffort-pod123.slice", "../x", ""},
		{"lxc", "/a", "x", ""},
	} {
		got, err := cgroupPath(tc.driver, tc.parent, tc.name)
		if tc.want == "" {
			if err == nil {
				t.Errorf("cgroupPath(%s, %q, %q) = %q, want an error", tc.driver, tc.parent, tc.name, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("cgroupPath(%s, %q, %q) = %q, %v; want %q", tc.driver, tc.parent, tc.name, got, err, tc.want)
		}
	}
	if _, err := under("/sys/fs/cgroup/cpu", "/../memory"); err == nil {
		t.Errorf("under accepted a path out of the hierarchy")
	}
}

func TestCPUSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 1: 1, 2: 1, 1024: 100, 262144: 10000, 1 << 20: 10000} {
		if got := CPUSharesToWeight(shares); got != want {
			t.Errorf("CPUSharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	prev := uint64(0)
	for s := uint64(2); s <= 262144; s += 97 {
		w := CPUSharesToWeight(s)
		if w < prev || w < 1 || w > 10000 {
			t.Fatalf("CPUSharesToWeight(%d) = %d after %d", s, w, prev)
		}
		prev = w
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{"": nil, "0": {0}, "0-3,6": {0, 1, 2, 3, 6}, " 2,4-5\n": {2, 4, 5}} {
		set, err := ParseCPUList(in)
		var got []int
		for cpu := 0; cpu < 64*len(set); cpu++ {
			if set.IsSet(cpu) {
				got = append(got, cpu)
			}
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "3-1", "-1", "0-", "1,,2", "99999"} {
		if _, err := ParseCPUList(in); err == nil {
			t.Errorf("ParseCPUList(%q) succeeded", in)
		}
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	if got := unescapeMountinfo(`/a\040b\134c\`); got != `/a b\c\` {
		t.Errorf("unescapeMountinfo = %q", got)
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root")
	}
}

// testParent returns a parent cgroup path unique to this test, removed
// from every hierarchy at cleanup.
func testParent(t *testing.T, l *layout) string {
	t.Helper()
	parent := fmt.Sprintf("/cocoon-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, h := range l.hierarchies {
			if err := removeTree(ctx, filepath.Join(h.mount, parent)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return parent
}

// gatedChild starts `sh -c script` after a line arrives on its stdin, so
// that the test can move it into a cgroup before it does anything.
type gatedChild struct {
	cmd  *exec.Cmd
	gate io.WriteCloser
}

func startGated(t *testing.T, script string) *gatedChild {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read x; "+script)
	gate, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gatedChild{cmd: cmd, gate: gate}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return g
}

func (g *gatedChild) open() { _, _ = io.WriteString(g.gate, "go\n") }

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func mustRead(t *testing.T, dir, file string) string {
	t.Helper()
	v, err := readFile(dir, file)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLifecycle runs a cgroup through its life on this node's cgroups,
// whichever version they are.
func TestLifecycle(t *testing.T) {
	requireRoot(t)
	l, err := currentLayout()
	if err != nil {
		t.Fatal(err)
	}
	parent := testParent(t, l)
	c, err := create(l, Cgroupfs, parent+"/pod1", "cocoon-x")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if want := parent + "/pod1/cocoon-x"; c.Path() != want {
		t.Errorf("Path = %q, want %q", c.Path(), want)
	}
	t.Logf("v2=%v dirs=%q skipped=%q", c.V2(), c.Dirs(), c.Skipped())
	for _, d := range c.Dirs() {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if _, err := create(l, Cgroupfs, parent+"/pod1", "cocoon-x"); err != nil {
		t.Errorf("Create again: %v", err)
	}

	r := Resources{CPUShares: 512, CPUPeriod: 100000, CPUQuota: 50000, MemoryLimitBytes: 256 << 20, PidsLimit: 100, CpusetCpus: "0", CpusetMems: "0"}
	if err := c.Set(r); err != nil {
		t.Fatalf("Set: %v", err)
	}
	check := func(controller, file, want string) {
		t.Helper()
		d, ok := c.dirFor(controller)
		if !ok {
			t.Logf("no %s controller; %s not checked", controller, file)
			return
		}
		if got := mustRead(t, d.path, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if c.V2() {
		check("cpu", "cpu.weight", strconv.FormatUint(CPUSharesToWeight(512), 10))
		check("cpu", "cpu.max", "50000 100000")
		check("memory", "memory.max", strconv.Itoa(256<<20))
		check("pids", "pids.max", "100")
		check("cpuset", "cpuset.cpus", "0")
	} else {
		check("cpu", "cpu.shares", "512")
		check("cpu", "cpu.cfs_period_us", "100000")
		check("cpu", "cpu.cfs_quota_us", "50000")
		check("memory", "memory.limit_in_bytes", strconv.Itoa(256<<20))
		check("pids", "pids.max", "100")
		check("cpuset", "cpuset.cpus", "0")
		check("cpuset", "cpuset.mems", "0")
	}
	// Unlimited, and back.
	if err := c.Set(Resources{CPUQuota: -1, MemoryLimitBytes: -1, PidsLimit: -1}); err != nil {
		t.Errorf("Set(unlimited): %v", err)
	}
	check("pids", "pids.max", "max")
	if err := c.Set(Resources{MemoryLimitBytes: 128 << 20}); err != nil {
		t.Errorf("Set(memory again): %v", err)
	}

	// A process, moved in before it starts its work.
	g := startGated(t, "sleep 60 & sleep 60 & exec sleep 61")
	pid := g.cmd.Process.Pid
	if err := c.Add(pid); err != nil {
		t.Fatalf("Add: %v", err)
	}
	for _, d := range c.Dirs() {
		if procs := strings.Fields(mustRead(t, d, "cgroup.procs")); !slices.Contains(procs, strconv.Itoa(pid)) {
			t.Errorf("%s/cgroup.procs = %q, want %d in it", d, procs, pid)
		}
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err != nil || !strings.Contains(string(data), ":"+c.Path()+"\n") {
		t.Errorf("/proc/%d/cgroup = %q, %v; want %s", pid, data, err, c.Path())
	}
	g.open()
	var st Stats
	waitFor(t, "three processes", func() bool {
		st, err = c.Stats()
		return err == nil && st.Processes == 3
	})
	waitFor(t, "CPU time", func() bool {
		st, err = c.Stats()
		return err == nil && st.CPUNanos > 0
	})
	if _, ok := c.dirFor("memory"); ok && (st.MemoryUsageBytes == 0 || st.MemoryWorkingSetBytes > st.MemoryUsageBytes) {
		t.Errorf("Stats = %+v: want memory usage, working set <= usage", st)
	}
	t.Logf("Stats = %+v", st)

	// What CPU placement reads: the same CPU time, the three processes
	// (single-threaded) as processes and as threads, and the cpuset "0"
	// set above.
	if n, err := c.CPUNanos(); err != nil || n < st.CPUNanos {
		t.Errorf("CPUNanos = %d, %v; want at least Stats' %d", n, err, st.CPUNanos)
	}
	pids, err := c.Processes()
	if err != nil || len(pids) != 3 || !slices.Contains(pids, pid) {
		t.Errorf("Processes = %v, %v; want 3 with %d", pids, err, pid)
	}
	if tids, err := c.Threads(); err != nil || !slices.Equal(slices.Sorted(slices.Values(tids)), slices.Sorted(slices.Values(pids))) {
		t.Errorf("Threads = %v, %v; want the processes %v", tids, err, pids)
	}
	if cpus, ok, err := c.EffectiveCPUs(); err != nil {
		t.Errorf("EffectiveCPUs: %v", err)
	} else if _, has := c.dirFor("cpuset"); ok != has || ok && (cpus.Count() != 1 || !cpus.IsSet(0)) {
		t.Errorf("EffectiveCPUs = %d CPUs (CPU 0: %v), %v; want CPU 0 alone where there is a cpuset", cpus.Count(), cpus.IsSet(0), ok)
	}

	// Load finds it again.
	lc, err := load(l, Cgroupfs, parent+"/pod1", "cocoon-x")
	if err != nil || !slices.Equal(lc.Dirs(), c.Dirs()) {
		t.Errorf("Load = %v, %v; want dirs %q", lc, err, c.Dirs())
	}
	if _, err := load(l, Cgroupfs, parent+"/pod1", "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}

	// Delete refuses while the processes live, within its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := c.Delete(ctx); err == nil {
		t.Errorf("Delete with live processes succeeded")
	}
	cancel()

	if err := c.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	err = g.cmd.Wait()
	if ws, ok := g.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want SIGKILL", err)
	}
	if err := c.Delete(context.Background()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, d := range c.Dirs() {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there: %v", d, err)
		}
	}
	if err := c.Delete(context.Background()); err != nil {
		t.Errorf("Delete again: %v", err)
	}
}

// TestSystemdDriver checks the directories the systemd driver makes.
func TestSystemdDriver(t *testing.T) {
	requireRoot(t)
	l, err := currentLayout()
	if err != nil {
		t.Fatal(err)
	}
	top := fmt.Sprintf("cocoontest%d", os.Getpid())
	t.Cleanup(func() {
		for _, h := range l.hierarchies {
			_ = removeTree(context.Background(), filepath.Join(h.mount, top+".slice"))
		}
	})
	c, err := create(l, Systemd, top+"-besteffort-pod1.slice", "cocoon-x")
	if err != nil {
		t.Fatal(err)
	}
	want := "/" + top + ".slice/" + top + "-besteffort.slice/" + top + "-besteffort-pod1.slice/cocoon-x.scope"
	if c.Path() != want {
		t.Errorf("Path = %q, want %q", c.Path(), want)
	}
	for _, d := range c.Dirs() {
		if !strings.HasSuffix(d, want) {
			t.Errorf("dir %s does not end in %s", d, want)
		}
		if _, err := os.Stat(d); err != nil {
			t.Error(err)
		}
	}
	if err := c.Delete(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestV2OnHybrid exercises the cgroup v2 code on the controller-less
// cgroup2 hierarchy a hybrid node has next to its v1 ones, where there is
// one: processes, cpu.stat, cgroup.kill and a limit that cannot be set.
func TestV2OnHybrid(t *testing.T) {
	requireRoot(t)
	l, err := currentLayout()
	if err != nil {
		t.Fatal(err)
	}
	if l.v2 {
		t.Skip("the node is in unified mode; TestLifecycle covers v2")
	}
	var mount string
	for _, h := range l.hierarchies {
		if h.v2 {
			mount = h.mount
		}
	}
	if mount == "" {
		t.Skip("no cgroup2 mount")
	}
	ul, err := unifiedLayout(mount)
	if err != nil {
		t.Fatal(err)
	}
	parent := testParent(t, ul)
	c, err := create(ul, Cgroupfs, parent, "pod")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(Resources{MemoryLimitBytes: 1 << 30}); !errors.Is(err, ErrMissingController) && !slices.Contains(ul.hierarchies[0].controllers, "memory") {
		t.Errorf("Set(memory) without the controller = %v, want ErrMissingController", err)
	}
	g := startGated(t, "sleep 60 & exec sleep 61")
	if err := c.Add(g.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	g.open()
	waitFor(t, "two processes and CPU time", func() bool {
		st, err := c.Stats()
		return err == nil && st.Processes == 2 && st.CPUNanos > 0
	})
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = g.cmd.Wait()
	if err := c.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dirs()[0]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there", c.Dirs()[0])
	}
}

// TestKillFallbacks kills a cgroup whose processes keep forking without
// cgroup.kill: with the v1 freezer, and with neither.
func TestKillFallbacks(t *testing.T) {
	requireRoot(t)
	l, err := currentLayout()
	if err != nil {
		t.Fatal(err)
	}
	if l.v2 {
		t.Skip("v1 only")
	}
	for _, tc := range []struct {
		name    string
		freezer bool
	}{{"freezer", true}, {"signals", false}} {
		t.Run(tc.name, func(t *testing.T) {
			// Only the v1 hierarchies, without the freezer for the
			// second case.
			var v1 layout
			for _, h := range l.hierarchies {
				if !h.v2 && (tc.freezer || !h.has("freezer")) {
					v1.hierarchies = append(v1.hierarchies, h)
				}
			}
			parent := testParent(t, &v1)
			c, err := create(&v1, Cgroupfs, parent, "pod")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.dirFor("freezer"); ok != tc.freezer {
				t.Fatalf("freezer present: %v", ok)
			}
			g := startGated(t, "while :; do sleep 5 & sleep 0.01; done")
			if err := c.Add(g.cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			g.open()
			waitFor(t, "forked children", func() bool {
				st, err := c.Stats()
				return err == nil && st.Processes >= 4
			})
			if err := c.Kill(); err != nil {
				t.Fatalf("Kill: %v", err)
			}
			_ = g.cmd.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Delete(ctx); err != nil {
				st, _ := c.Stats()
				t.Fatalf("Delete: %v (stats %+v)", err, st)
			}
		})
	}
}
