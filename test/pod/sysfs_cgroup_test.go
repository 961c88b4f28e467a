package pod_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// readCgroupFile returns the number in /sys/fs/cgroup/name as container
// id sees it.
func (p *pod) readCgroupFile(id, execID, name string) uint64 {
	p.t.Helper()
	code, out, errOut := p.execOut(id, execID, "cat", "/sys/fs/cgroup/"+name)
	if code != 0 {
		p.t.Fatalf("cat /sys/fs/cgroup/%s in %s: exit %d, %q", name, id, code, errOut)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	if err != nil {
		p.t.Fatalf("/sys/fs/cgroup/%s in %s: %q", name, id, out)
	}
	return v
}

// Each container's /sys/fs/cgroup is its own cgroup, as under runc with a
// cgroup namespace: memory.current is what the reading container holds,
// not the pod's total, and memory.max is its own limit.
func TestSysfsCgroupIsContainers(t *testing.T) {
	p := startPod(t)
	p.createLimited("big", "r1", control.Process{Args: []string{"sleep", "1000"}}, 256*mib)
	p.createLimited("small", "r2", control.Process{Args: []string{"sleep", "1000"}}, 128*mib)
	p.start("big")
	p.start("small")

	// 32 MiB in the pod's /dev/shm are charged to the writer.
	if code, out, errOut := p.execOut("big", "w", "sh", "-c", "head -c 33554432 /dev/zero > /dev/shm/f && echo ok"); code != 0 || out != "ok\n" {
		t.Fatalf("writing /dev/shm/f: exit %d, %q, %q", code, out, errOut)
	}
	if got := p.readCgroupFile("big", "r1", "memory.current"); got < 32*mib {
		t.Errorf("big's memory.current = %d MiB after it wrote 32 MiB to /dev/shm", got/mib)
	}
	if got := p.readCgroupFile("small", "r2", "memory.current"); got >= 32*mib {
		t.Errorf("small's memory.current = %d MiB: it shows the other container's memory", got/mib)
	}
	if got, want := p.readCgroupFile("small", "r3", "memory.current"), p.containerStats("small").MemoryUsageBytes; got > want+8*mib || want > got+8*mib {
		t.Errorf("small's memory.current = %d bytes, its account holds %d", got, want)
	}
	if got := p.readCgroupFile("big", "m1", "memory.max"); got != 256*mib {
		t.Errorf("big's memory.max = %d, want %d", got, 256*mib)
	}
	if got := p.readCgroupFile("small", "m2", "memory.max"); got != 128*mib {
		t.Errorf("small's memory.max = %d, want %d", got, 128*mib)
	}
}
