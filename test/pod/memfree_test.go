package pod_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sandbox"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// TestQuietPodGivesFreedMemoryBack: application memory a process freed
// goes back to the host once the pod is quiet, rather than staying
// resident (and charged to the pod's cgroup) for reuse that may never
// come. The sentry looks every 15 s.
func TestQuietPodGivesFreedMemoryBack(t *testing.T) {
	p := startPod(t)
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("c")
	// dd's 24 MiB buffer is application memory the sentry fills from
	// /dev/zero, freed when dd exits: less than the memory file keeps
	// for reuse (32 MiB), so only the quiet look gives it back.
	if code, _, errOut := p.execOut("c", "dd", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=24M", "count=1"); code != 0 {
		t.Fatalf("dd exited %d: %s", code, errOut)
	}
	pid := p.p.Sentry.Pid
	peak := shmemKiB(t, pid)
	const want = 8 << 10 // KiB
	deadline := time.Now().Add(90 * time.Second)
	for {
		kib := shmemKiB(t, pid)
		if kib <= want {
			t.Logf("the sentry's shared memory: %d KiB after dd, %d KiB once quiet", peak, kib)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sentry still holds %d KiB of the memory file (%d KiB after dd), want at most %d once quiet", kib, peak, want)
		}
		time.Sleep(time.Second)
	}
}

// shmemKiB is the process's resident shared memory (the memory file's
// pages it has touched), from /proc/PID/status.
func shmemKiB(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "RssShmem:"); ok {
			var kib int
			fmt.Sscan(v, &kib)
			return kib
		}
	}
	t.Fatalf("no RssShmem in /proc/%d/status", pid)
	return 0
}

// TestSentryHeapLimitFromPodLimit: a pod with a memory limit (here with
// a RuntimeClass overhead on top of the applications' share) boots a
// sentry whose Go heap is kept within what the limit leaves.
func TestSentryHeapLimitFromPodLimit(t *testing.T) {
	spec := sandbox.PodSpec("testpod")
	spec.MemoryBytes, spec.SandboxMemoryBytes = 256<<20, 96<<20
	p := startPodWith(t, spec)
	// The limit is logged once the kernel is built, before the control
	// socket serves: a call that answers means the line is there.
	p.create("c", "r1", control.Process{Args: []string{"true"}})
	log, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	if want := `msg="the sentry's heap is limited to what the pod's memory leaves" cgroupBytes=369098752`; !strings.Contains(string(log), want) {
		t.Errorf("the pod log lacks %s:\n%s", want, log)
	}
}

// TestContainerPageFaults: the faults served for a container's
// processes are in its stats after they exit.
func TestContainerPageFaults(t *testing.T) {
	p := startPod(t)
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("c")
	before := p.containerStats("c").PageFaults
	if code, _, errOut := p.execOut("c", "sh", "busybox", "sh", "-c", "x=$(seq 1 20000); echo ${#x}"); code != 0 {
		t.Fatalf("sh exited %d: %s", code, errOut)
	}
	after := p.containerStats("c")
	if after.PageFaults <= before || after.MajorFaults > after.PageFaults {
		t.Errorf("page faults %d before the exec, %d (%d major) after", before, after.PageFaults, after.MajorFaults)
	}
}

// hog touches 1 MiB after another of fresh memory, up to argv[1] MiB.
const hog = `#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
	int mib = atoi(argv[1]);
	for (int i = 0; i < mib; i++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 2;
		memset(p, 1, 1 << 20);
	}
	return 0;
}
`

// TestSandboxOOMKillsTheLargest: when the sandbox's memory runs out
// (here a container without a limit of its own), the process with the
// highest badness is killed, as Linux's global OOM killer does, rather
// than the faulting one getting SIGBUS; the kernel log says so, and the
// sandbox runs on.
func TestSandboxOOMKillsTheLargest(t *testing.T) {
	buildIntoRoot(t, "hog", hog)
	spec := sandbox.PodSpec("testpod")
	spec.MemoryBytes = 64 << 20
	p := startPodWith(t, spec)
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("c")
	if code, _, errOut := p.execOut("c", "hog", "/bin/hog", "256"); code != 128+int32(unix.SIGKILL) {
		t.Fatalf("the hog exited %d (%q), want killed by SIGKILL", code, errOut)
	}
	code, out, _ := p.execOut("c", "dmesg", "busybox", "dmesg")
	if code != 0 || !regexp.MustCompile(`Out of memory: Killed process \d+ \(hog\)`).MatchString(out) {
		t.Errorf("dmesg exited %d; its log:\n%s", code, out)
	}
	if stats := p.containerStats("c"); stats.OOMKills != 1 {
		t.Errorf("%d OOM kills in the container, want 1", stats.OOMKills)
	}
}
