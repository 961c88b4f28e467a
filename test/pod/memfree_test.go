package pod_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

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

// TestSentryHeapLimitFromPodOverhead: a pod whose cgroup keeps memory
// for the sandbox (the RuntimeClass's overhead) boots a sentry whose Go
// heap has a soft limit inside it.
func TestSentryHeapLimitFromPodOverhead(t *testing.T) {
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
	if want := `msg="the sentry's heap has a soft limit" bytes=67108864 sandboxMemoryBytes=100663296`; !strings.Contains(string(log), want) {
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
