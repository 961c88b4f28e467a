package cgroup

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func val(v *uint64) any {
	if v == nil {
		return nil
	}
	return *v
}

// readV2 on a unified-mode directory's files, as Linux 6.x writes them.
func TestReadV2(t *testing.T) {
	d := writeFiles(t, map[string]string{
		"cpu.stat":            "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 7\nnr_throttled 3\nthrottled_usec 1200\n",
		"cpu.max":             "50000 100000\n",
		"cpu.weight":          "100\n",
		"memory.current":      "8192000\n",
		"memory.peak":         "9000000\n",
		"memory.events":       "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n",
		"memory.stat":         "anon 4096000\nfile 2048000\nkernel 65536\nfile_mapped 1024000\ninactive_file 1000000\npgfault 321\npgmajfault 5\n",
		"memory.swap.current": "0\n",
		"memory.max":          "max\n",
		"memory.swap.max":     "0\n",
		"pids.max":            "max\n",
		"io.stat":             "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
		"cpu.pressure":        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=700\n",
	})
	var m Metrics
	readV2(d, &m)
	for _, c := range []struct {
		name string
		got  *uint64
		want any
	}{
		{"cpu usage", m.CPUUsage, uint64(2500000)},
		{"cpu user", m.CPUUser, uint64(2000000)},
		{"throttled", m.CFSThrottledNanos, uint64(1200000)},
		{"quota", m.SpecCPUQuota, uint64(50000)},
		{"period", m.SpecCPUPeriod, uint64(100000)},
		{"shares", m.SpecCPUShares, uint64(1024)},
		{"working set", m.MemoryWorkingSet, uint64(7192000)},
		{"kernel", m.MemoryKernel, uint64(65536)},
		{"failcnt", m.MemoryFailcnt, uint64(4)},
		{"oom", m.OOMKills, uint64(1)},
		{"pgmajfault", m.HierPgmajfault, uint64(5)},
		{"limit", m.SpecMemoryLimit, uint64(0)},
		{"swap limit", m.SpecSwapLimit, uint64(0)},
		{"pids", m.PidsMax, uint64(0)},
		{"cpu some", m.CPUSome, uint64(1500)},
		{"cpu full", m.CPUFull, uint64(700)},
		{"memory some", m.MemorySome, nil}, // no memory.pressure: left out
	} {
		if val(c.got) != c.want {
			t.Errorf("%s = %v, want %v", c.name, val(c.got), c.want)
		}
	}
	if len(m.IO) != 1 || m.IO[0] != (DeviceIO{Major: 254, Minor: 0, ReadBytes: 4096, WriteBytes: 8192, ReadCount: 1, WriteCount: 2}) {
		t.Errorf("io = %+v", m.IO)
	}
}

func TestBlkioV1(t *testing.T) {
	d := writeFiles(t, map[string]string{
		"blkio.throttle.io_service_bytes_recursive": "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Total 300\nTotal 300\n",
		"blkio.throttle.io_serviced_recursive":      "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
	})
	got := blkioV1(d)
	if len(got) != 1 || got[0] != (DeviceIO{Major: 8, Minor: 0, ReadBytes: 100, WriteBytes: 200, ReadCount: 1, WriteCount: 2}) {
		t.Errorf("blkioV1 = %+v", got)
	}
	if v := specBytes(u64(9223372036854771712)); *v != 0 {
		t.Errorf("v1's unlimited = %d, want 0", *v)
	}
}

// The pod cgroup of this node, read for real: every figure Stats
// measures is there too.
func TestMetricsOfLiveCgroup(t *testing.T) {
	requireRoot(t)
	l, err := currentLayout()
	if err != nil {
		t.Skip(err)
	}
	c, err := create(l, Cgroupfs, testParent(t, l), "metrics-test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(t.Context())
	m := c.Metrics()
	if m.CPUUsage == nil {
		t.Error("no CPU usage")
	}
	if _, ok := c.dirFor("memory"); ok && (m.MemoryUsage == nil || m.MemoryWorkingSet == nil || m.OOMKills == nil) {
		t.Errorf("memory figures missing: usage %v, working set %v, oom %v", val(m.MemoryUsage), val(m.MemoryWorkingSet), val(m.OOMKills))
	}
}

func TestWeightToCPUShares(t *testing.T) {
	for _, shares := range []uint64{2, 512, 1024, 2048, 262144} {
		w := CPUSharesToWeight(shares)
		if back := CPUSharesToWeight(WeightToCPUShares(w)); back != w {
			t.Errorf("shares %d -> weight %d -> shares %d -> weight %d", shares, w, WeightToCPUShares(w), back)
		}
	}
	if got := WeightToCPUShares(100); got != 1024 {
		t.Errorf("WeightToCPUShares(100) = %d, want 1024", got)
	}
}
