package pod_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/control"
)

const mib = 1 << 20

// createLimited creates container id over tree with a memory limit.
func (p *pod) createLimited(id, tree string, proc control.Process, limit uint64) {
	p.t.Helper()
	p.createSpec(control.ContainerSpec{ID: id, RootTree: tree, Process: proc, MemoryLimitBytes: limit})
}

// containerStats returns the stats of container id.
func (p *pod) containerStats(id string) control.ContainerStats {
	p.t.Helper()
	for _, c := range p.must(&control.Request{Op: control.OpStats}).Stats.Containers {
		if c.ID == id {
			return c
		}
	}
	p.t.Fatalf("no stats for container %s", id)
	return control.ContainerStats{}
}

// Data a container writes into a tmpfs (/dev/shm here) is charged to its
// memory account while the file exists, as Linux charges shmem pages to
// the writer's memory cgroup, and comes off it when the file is removed.
func TestTmpfsChargedToContainer(t *testing.T) {
	p := startPod(t)
	p.createLimited("c", "r1", control.Process{Args: []string{"sleep", "1000"}}, 256*mib)
	p.start("c")

	before := p.containerStats("c").MemoryUsageBytes
	if code, out, errOut := p.execOut("c", "w", "sh", "-c", "head -c 33554432 /dev/zero > /dev/shm/f && echo ok"); code != 0 || out != "ok\n" {
		t.Fatalf("writing /dev/shm/f: exit %d, %q, %q", code, out, errOut)
	}
	written := p.containerStats("c").MemoryUsageBytes
	if written < before+32*mib {
		t.Errorf("usage %d MiB after writing 32 MiB to /dev/shm, %d MiB before", written/mib, before/mib)
	}
	if code, out, errOut := p.execOut("c", "rm", "sh", "-c", "rm /dev/shm/f && echo ok"); code != 0 || out != "ok\n" {
		t.Fatalf("removing /dev/shm/f: exit %d, %q, %q", code, out, errOut)
	}
	if after := p.containerStats("c").MemoryUsageBytes; after > written-32*mib {
		t.Errorf("usage %d MiB after removing the file, %d MiB with it", after/mib, written/mib)
	}
}

// Writing past the container's memory limit into a tmpfs is stopped by
// the OOM killer, as touching anonymous memory past it is, and the
// charged memory never goes past the limit.
func TestTmpfsPastMemoryLimit(t *testing.T) {
	p := startPod(t)
	const limit = 48 * mib
	p.createLimited("c", "r1", control.Process{Args: []string{"sleep", "1000"}}, limit)
	p.start("c")

	// The OOM killer picks the container's largest process: the writer
	// (head) or the shell that waits for it; either way the write stops.
	code, out, errOut := p.execOut("c", "w", "sh", "-c", "head -c 134217728 /dev/zero > /dev/shm/f; echo status $?")
	if code != 128+9 && out != "status 137\n" {
		t.Errorf("writing 128 MiB to /dev/shm under a 48 MiB limit: exit %d, %q, %q; want the writer or its shell SIGKILLed", code, out, errOut)
	}
	stats := p.containerStats("c")
	if stats.OOMKills == 0 {
		t.Errorf("no OOM kill: %+v", stats)
	}
	if stats.MemoryMaxUsageBytes > limit {
		t.Errorf("peak usage %d bytes past the %d-byte limit", stats.MemoryMaxUsageBytes, uint64(limit))
	}
	if stats.MemoryFailcnt == 0 {
		t.Errorf("no charge hit the limit: %+v", stats)
	}
}

// A process that touches memory past its container's limit is killed
// before it can run on, however quickly it would be done: dd copying one
// block bigger than the limit and exiting is SIGKILLed every time, as
// Linux's charge path runs the memcg OOM killer before the copy
// completes.
func TestQuickOvershootKilled(t *testing.T) {
	p := startPod(t)
	const limit = 16 * mib
	p.createLimited("c", "r1", control.Process{Args: []string{"sleep", "1000"}}, limit)
	p.start("c")

	const runs = 20
	for i := range runs {
		code, out, errOut := p.execOut("c", fmt.Sprintf("dd%d", i), "/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=24M", "count=1")
		if code != 128+9 {
			t.Fatalf("run %d: dd of a 24 MiB block under a 16 MiB limit exited %d (%q, %q), want SIGKILL", i, code, out, errOut)
		}
	}
	stats := p.containerStats("c")
	if stats.OOMKills != runs {
		t.Errorf("%d OOM kills, want %d", stats.OOMKills, runs)
	}
	// The copy stops within a chunk (1 MiB) of the limit.
	if stats.MemoryMaxUsageBytes > limit+2*mib {
		t.Errorf("peak usage %d MiB under a %d MiB limit", stats.MemoryMaxUsageBytes/mib, limit/mib)
	}
	t.Logf("peak usage %d KiB", stats.MemoryMaxUsageBytes>>10)
}

// Copies into application memory that no single page fault makes: each
// program fills 64 MiB with one system call, in pieces of 1 MiB (readv's
// iovecs, getrandom's chunks) that are each within the limit.
var bulkCopiers = map[string]string{
	"readv": `#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
int main(void) {
	enum { n = 64, size = 1 << 20 };
	char *buf = mmap(0, (long)n * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 2;
	struct iovec iov[n];
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){buf + (long)i * size, size};
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0)
		return 3;
	return readv(fd, iov, n) == (long)n * size ? 0 : 4;
}
`,
	"getrandom": `#include <sys/mman.h>
#include <sys/random.h>
int main(void) {
	long size = 32L << 20;
	char *buf = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 2;
	return getrandom(buf, size, 0) == size ? 0 : 4;
}
`,
}

// One system call copying past the limit in pieces is stopped within a
// piece of the limit, as one large read is: the OOM path runs between
// readv's iovecs and getrandom's chunks too.
func TestBulkCopyOvershootKilled(t *testing.T) {
	for name, src := range bulkCopiers {
		t.Run(name, func(t *testing.T) {
			buildIntoRoot(t, name+"-hog", src)
			p := startPod(t)
			const limit = 16 * mib
			p.createLimited("c", "r1", control.Process{Args: []string{"sleep", "1000"}}, limit)
			p.start("c")
			if code, out, errOut := p.execOut("c", "hog", "/bin/"+name+"-hog"); code != 128+9 {
				t.Fatalf("%s past a 16 MiB limit exited %d (%q, %q), want SIGKILL", name, code, out, errOut)
			}
			if stats := p.containerStats("c"); stats.MemoryMaxUsageBytes > limit+2*mib {
				t.Errorf("peak usage %d MiB under a %d MiB limit", stats.MemoryMaxUsageBytes/mib, limit/mib)
			}
		})
	}
}

// oomPreferChild holds 8 MiB, forks a child that gives the inherited
// pages back, asks to be killed first (oom_score_adj 1000) and holds 2
// MiB, then grows by 1 MiB at a time until the child is gone. It exits 0
// when the child was SIGKILLed.
const oomPreferChild = `#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static char *hold(long size) {
	char *m = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(2);
	memset(m, 1, size);
	return m;
}
int main(void) {
	char *own = hold(8 << 20);
	int p[2];
	if (pipe(p) != 0)
		return 3;
	pid_t c = fork();
	if (c == 0) {
		// Not to keep the exec's output open, nor to outlive a
		// failed run by long.
		close(0);
		close(1);
		close(2);
		alarm(20);
		munmap(own, 8 << 20);
		int fd = open("/proc/self/oom_score_adj", O_WRONLY);
		if (fd < 0 || write(fd, "1000", 4) != 4)
			_exit(4);
		hold(2 << 20);
		write(p[1], "r", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	char r;
	if (read(p[0], &r, 1) != 1)
		return 5;
	int ws;
	for (int i = 0; i < 16; i++) {
		hold(1 << 20);
		if (waitpid(c, &ws, WNOHANG) == c)
			return WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL ? 0 : 6;
	}
	return 7;
}
`

// The container's OOM killer weighs each process's oom_score_adj as
// Linux's does: a child that asked to go first is killed though its
// parent holds more memory.
func TestOOMScoreAdjChoosesTheVictim(t *testing.T) {
	buildIntoRoot(t, "oom-prefer-child", oomPreferChild)
	p := startPod(t)
	p.createLimited("c", "r1", control.Process{Args: []string{"sleep", "1000"}}, 16*mib)
	p.start("c")
	if code, out, errOut := p.execOut("c", "prefer", "/bin/oom-prefer-child"); code != 0 {
		t.Fatalf("the program exited %d (%q, %q), want 0: its child, oom_score_adj 1000, killed first", code, out, errOut)
	}
	if stats := p.containerStats("c"); stats.OOMKills != 1 {
		t.Errorf("%d OOM kills, want 1", stats.OOMKills)
	}
	// The kernel log says so, as Linux's memcg OOM killer does.
	code, out, errOut := p.execOut("c", "dmesg", "busybox", "dmesg")
	if code != 0 || !regexp.MustCompile(`Memory cgroup out of memory: Killed process \d+ \(oom-prefer-chil\) total-vm:\d+kB, anon-rss:\d+kB`).MatchString(out) {
		t.Errorf("dmesg exited %d (%q); its log:\n%s", code, errOut, out)
	}
	if code, out, _ := p.execOut("c", "vmstat", "busybox", "grep", "^oom_kill ", "/proc/vmstat"); code != 0 || out != "oom_kill 1\n" {
		t.Errorf("/proc/vmstat's OOM kills: %q (grep exited %d), want oom_kill 1", out, code)
	}
}

// TestContainerOOMScoreAdj: the container's oom_score_adj (kubelet's
// choice by QoS class) is its processes' from the start, and a floor:
// without CAP_SYS_RESOURCE they may raise it, not lower it, as under
// runc, which writes it with that capability.
func TestContainerOOMScoreAdj(t *testing.T) {
	p := startPod(t)
	adj := 500
	proc := sh(`cat /proc/self/oom_score_adj
echo 499 > /proc/self/oom_score_adj 2>/dev/null || echo refused
echo 600 > /proc/self/oom_score_adj && cat /proc/$$/oom_score_adj`)
	proc.OOMScoreAdj = &adj
	logPath := p.create("c", "r1", proc)
	p.start("c")
	if st := p.wait("c", ""); st.ExitCode != 0 {
		t.Fatalf("container: %+v\n%+v", st, readLog(t, logPath))
	}
	if got, want := logText(readLog(t, logPath), "stdout"), "500\nrefused\n600\n"; got != want {
		t.Errorf("the container printed %q, want %q", got, want)
	}

	bad := 1001
	proc.OOMScoreAdj = &bad
	if _, err := p.call(&control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{
		ID: "bad", RootTree: "r2", Process: proc}}); err == nil || !strings.Contains(err.Error(), "oom_score_adj 1001 is out of range") {
		t.Errorf("creating a container with oom_score_adj 1001: %v, want out of range", err)
	}
}

// buildIntoRoot compiles the C program src with gcc, statically, into
// the first pod root's /bin/name for the test's duration; without gcc the
// test is skipped.
func buildIntoRoot(t *testing.T, name, src string) {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no gcc to build %s: %v", name, err)
	}
	srcPath := filepath.Join(t.TempDir(), name+".c")
	if err := os.WriteFile(srcPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(roots[0], "bin", name)
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", bin, srcPath).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	t.Cleanup(func() { os.Remove(bin) })
}
