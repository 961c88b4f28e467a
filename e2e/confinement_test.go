package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sandbox"
)

// TestSentryConfinement checks, from the host, what a pod's sentry was
// left with once it started serving (sentry/boot/confine.go): its own
// user, mount, PID, IPC and UTS namespaces, a host user of its own, no
// capabilities, no_new_privs, a seccomp filter, an empty root and no
// host file open; and that one pod's sentry user can neither signal,
// trace nor read the memory of another pod's sentry.
func TestSentryConfinement(t *testing.T) {
	f := newPodFixture(t)
	podA, cfgA := f.runPod("confined-a")
	podB, cfgB := f.runPod("confined-b")
	for _, p := range []struct{ id, cfg string }{{podA, cfgA}, {podB, cfgB}} {
		c := f.create(p.id, p.cfg, "sleeper-"+p.id[:6], "sleep", "1000")
		f.c.run(false, "start", c)
		f.waitState(c, "CONTAINER_RUNNING")
	}
	pidA, pidB := sentryPID(t, f.c, podA), sentryPID(t, f.c, podB)

	uidA := checkConfinedSentry(t, pidA)
	uidB := checkConfinedSentry(t, pidB)
	if uidA == uidB {
		t.Errorf("both pods' sentries run as host uid %d", uidA)
	}
	for _, ns := range []string{"user", "mnt", "pid", "ipc", "uts"} {
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pidA, ns))
		b, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pidB, ns))
		if a == b {
			t.Errorf("both sentries share %s namespace %s", ns, a)
		}
	}

	// What a process running as pod A's sentry user, or as its stubs'
	// (where application code runs), could do to pod B's sentry and
	// stubs, with a view of the host's PIDs, which neither has; and
	// what B's own user could do to B's sentry, which is not dumpable.
	stubB := firstChild(t, pidB)
	for _, c := range []struct {
		as      int
		targets map[string]int
		kill    bool
	}{
		{uidA, map[string]int{"sentry B": pidB, "stub of B": stubB}, true},
		{uidA + 1, map[string]int{"sentry B": pidB, "stub of B": stubB}, true},
		{uidB, map[string]int{"sentry B": pidB}, false},
	} {
		asHostUser(t, c.as, func() {
			for name, pid := range c.targets {
				if c.kill {
					if err := unix.Kill(pid, 0); !errors.Is(err, unix.EPERM) {
						t.Errorf("uid %d: kill(%s, 0) = %v, want EPERM", c.as, name, err)
					}
				}
				if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, 0, 0, 0); e != unix.EPERM {
					t.Errorf("uid %d: PTRACE_SEIZE of %s = %v, want EPERM", c.as, name, e)
				}
				var buf [8]byte
				local := unix.Iovec{Base: &buf[0], Len: 8}
				remote := unix.RemoteIovec{Base: 0x400000, Len: 8}
				if _, err := unix.ProcessVMReadv(pid, []unix.Iovec{local}, []unix.RemoteIovec{remote}, 0); !errors.Is(err, unix.EPERM) {
					t.Errorf("uid %d: process_vm_readv of %s = %v, want EPERM", c.as, name, err)
				}
				if fd, err := unix.Open(fmt.Sprintf("/proc/%d/mem", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
					unix.Close(fd)
					t.Errorf("uid %d: opened %s's /proc/PID/mem", c.as, name)
				}
			}
		})
	}
}

// firstChild returns a child process of pid: a sentry's first is its
// platform's master stub.
func firstChild(t *testing.T, pid int) int {
	t.Helper()
	if c := childrenOf(pid); len(c) > 0 {
		return c[0]
	}
	t.Fatalf("sentry %d has no child (its platform's stubs)", pid)
	return 0
}

// childrenOf returns pid's child processes: each thread's children file
// lists the children that thread made.
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// checkConfinedSentry checks sentry pid's confinement and returns its
// host uid.
func checkConfinedSentry(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			status[k] = strings.TrimSpace(v)
		}
	}
	for k, want := range map[string]string{
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2",
	} {
		if status[k] != want {
			t.Errorf("sentry %d: %s %q, want %q", pid, k, status[k], want)
		}
	}
	ids := strings.Fields(status["Uid"])
	uid, _ := strconv.Atoi(ids[0])
	for _, id := range append(ids, strings.Fields(status["Gid"])...) {
		if id != ids[0] {
			t.Errorf("sentry %d: Uid %q Gid %q are not all one ID", pid, status["Uid"], status["Gid"])
			break
		}
	}
	if uid < sandbox.SentryIDBase {
		t.Errorf("sentry %d runs as host uid %d, below the sentry range from %d", pid, uid, sandbox.SentryIDBase)
	}
	for _, ns := range []string{"user", "mnt", "pid", "ipc", "uts"} {
		own, _ := os.Readlink("/proc/self/ns/" + ns)
		its, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err != nil || its == own {
			t.Errorf("sentry %d: %s namespace %q (%v), the host's is %q", pid, ns, its, err, own)
		}
	}
	// Nothing but the empty directory its stubs' procfs is mounted on
	// (in their mount namespaces, not the sentry's).
	root, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/", pid))
	if err != nil || len(root) > 1 || (len(root) == 1 && root[0].Name() != "proc") {
		t.Errorf("sentry %d: its root holds %v (%v), want only proc/", pid, root, err)
	}
	if sub, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/proc/", pid)); err == nil && len(sub) != 0 {
		t.Errorf("sentry %d: its /proc holds %d entries, want none", pid, len(sub))
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Files the gofer donated (the container's binaries, its files)
	// and the Go runtime's cgroup files are expected; a directory, the
	// handle an escape would walk from, is not.
	for _, fd := range fds {
		path := fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())
		target, _ := os.Readlink(path)
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			t.Errorf("sentry %d holds directory %s as descriptor %s", pid, target, fd.Name())
		}
	}
	return uid
}

// asHostUser runs fn on an OS thread whose user and group IDs are uid,
// without capabilities. The thread is never unlocked, so it ends with the
// goroutine instead of serving others as that user.
func asHostUser(t *testing.T, uid int, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Raw calls: the syscall package's set*id change every thread.
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, uintptr(unsafe.Pointer(nil)), 0); e != 0 {
			done <- fmt.Errorf("setgroups: %v", e)
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			done <- fmt.Errorf("setresgid: %v", e)
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			done <- fmt.Errorf("setresuid: %v", e)
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPodStubsShareTheSentrysCgroup: every process of a pod's sentry,
// the platform's stub processes where the application's code runs
// included, is in the pod's cgroup, so the pod's CPU, memory and process
// limits hold for the application too, and has the sentry's OOM score
// adjustment. (The stubs descend from a master stub the sentry starts at
// boot; a sentry moved into the cgroup after that left them all where
// the daemon runs.)
func TestPodStubsShareTheSentrysCgroup(t *testing.T) {
	f := newPodFixture(t)
	pod, cfg := f.runPod("in-cgroup")
	c := f.create(pod, cfg, "sleepers", "sh", "-c", "sleep 1000 & sleep 1000")
	f.c.run(false, "start", c)
	f.waitState(c, "CONTAINER_RUNNING")
	sentry := sentryPID(t, f.c, pod)
	want, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", sentry))
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if string(want) == string(own) {
		t.Fatalf("the sentry runs in the test's own cgroups, not a pod's:\n%s", want)
	}
	wantOOM, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", sentry))
	if err != nil {
		t.Fatal(err)
	}
	descendants := descendantsOf(sentry)
	if _, platform := f.podPlatform(pod); platform != "kvm" && len(descendants) < 2 {
		t.Fatalf("sentry %d on %s has %d descendants, want its master stub and the application's stubs", sentry, platform, len(descendants))
	}
	for _, pid := range descendants {
		got, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil {
			continue // gone meanwhile
		}
		if string(got) != string(want) {
			t.Errorf("process %d of the pod's sentry is in\n%s\nthe sentry in\n%s", pid, got, want)
		}
		if oom, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid)); err == nil && string(oom) != string(wantOOM) {
			t.Errorf("process %d of the pod's sentry has oom_score_adj %s, the sentry %s", pid, bytes.TrimSpace(oom), bytes.TrimSpace(wantOOM))
		}
	}
}

// descendantsOf returns the processes descending from pid, as the host
// sees them now.
func descendantsOf(pid int) []int {
	var out []int
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		children := childrenOf(queue[0])
		out = append(out, children...)
		queue = append(queue, children...)
	}
	return out
}

// TestPodMemoryOverheadLeftToTheSandbox: a pod whose RuntimeClass
// declares a memory overhead gets its containers' limit as the memory its
// applications see (the sentry's memory file), and the limit with the
// overhead on its cgroup, which also holds the sentry, its stubs and the
// gofer: an application that fills its memory meets the sandbox's OOM
// killer before the host's.
func TestPodMemoryOverheadLeftToTheSandbox(t *testing.T) {
	f := newPodFixture(t)
	const mib = 1 << 20
	pod, cfg := f.runPodWithConfig("overhead", map[string]any{"linux": map[string]any{
		"resources": map[string]any{"memory_limit_in_bytes": 256 * mib},
		"overhead":  map[string]any{"memory_limit_in_bytes": 64 * mib},
	}})
	c := f.create(pod, cfg, "sleeper", "sleep", "1000")
	f.c.run(false, "start", c)
	f.waitState(c, "CONTAINER_RUNNING")
	if got := f.execSync(c, "sh", "-c", "head -n1 /proc/meminfo"); !strings.Contains(got, fmt.Sprintf(" %d kB", 256*mib/1024)) {
		t.Errorf("the application sees %q, want the containers' 256 MiB", strings.TrimSpace(got))
	}
	cg := cgroupOf(t, sentryPID(t, f.c, pod), "memory")
	limit, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", cg, "memory.limit_in_bytes"))
	if err != nil {
		limit, err = os.ReadFile(filepath.Join("/sys/fs/cgroup", cg, "memory.max"))
	}
	if err != nil {
		t.Skipf("no memory cgroup to read the pod's limit from: %v", err)
	}
	if got := strings.TrimSpace(string(limit)); got != strconv.Itoa(320*mib) {
		t.Errorf("the pod's cgroup has memory limit %s, want %d (limit and overhead)", got, 320*mib)
	}
}

// cgroupOf returns the cgroup of pid in the hierarchy of controller (the
// unified one's when no v1 hierarchy has it).
func cgroupOf(t *testing.T, pid int, controller string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if slices.Contains(strings.Split(f[1], ","), controller) {
			return f[2]
		}
		if f[0] == "0" {
			unified = f[2]
		}
	}
	return unified
}
