package podsandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/control"
)

func TestParseNetDev(t *testing.T) {
	const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0: 1500 10 1 2 0 0 0 0 3000 20 3 4 0 0 0 0
 bad: 1 2 3
`
	got := parseNetDev(text)
	if len(got) != 2 || got[0].Name != "lo" || got[0].RxBytes != 120 {
		t.Fatalf("parseNetDev = %+v", got)
	}
	want := InterfaceStats{Name: "eth0", RxBytes: 1500, RxPackets: 10, RxErrors: 1, RxDropped: 2, TxBytes: 3000, TxPackets: 20, TxErrors: 3, TxDropped: 4}
	if got[1] != want {
		t.Errorf("eth0 = %+v, want %+v", got[1], want)
	}
}

func TestFsUsageDevice(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644)
	mounts := []mountEntry{{"/", "/dev/root"}, {filepath.Dir(dir), "tmpfs"}, {dir + "x", "/dev/other"}}
	u := fsUsage(dir, mounts)
	if u == nil || u.Device != filepath.Dir(dir) || u.UsedInodes != 2 || u.LimitBytes == 0 || u.Inodes == 0 {
		t.Errorf("fsUsage = %+v", u)
	}
	if u := fsUsage(dir, mounts[:1]); u == nil || u.Device != "/dev/root" {
		t.Errorf("fsUsage under / = %+v", u)
	}
	if got := unescapeOctal(`/a\040b`); got != "/a b" {
		t.Errorf("unescapeOctal = %q", got)
	}
}

// PodMetrics of a real pod: the sentry's per-container accounting comes
// back in detail, with the pod cgroup's figures, its network namespace's
// interfaces and the writable layer's use.
func TestPodMetrics(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	lower := busyboxLower(t)
	pod := mustRunPod(t, r, podConfig("metrics"))
	// A shell that keeps a pipe and a second process alive, after
	// writing to its writable layer.
	c := startContainer(t, r, e.ctrConfig(pod, lower, "busy", "sh", "-c", "echo data > /tmp/file; sleep 1000 | cat"))
	ctx := context.Background()

	var pm *PodMetrics
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		pm, err = r.PodMetrics(ctx, pod.Config.ID)
		if err != nil {
			t.Fatal(err)
		}
		cm, ok := pm.Containers[c.Config.ID]
		if ok && cm.Sentry.Processes >= 3 && cm.Fs != nil && cm.Fs.UsedInodes >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cm, ok := pm.Containers[c.Config.ID]
	if !ok {
		t.Fatalf("no metrics for the container: %+v", pm)
	}
	s := cm.Sentry
	t.Logf("container: %+v; fs: %+v; network: %+v", s, cm.Fs, pm.Network)
	if cg := pm.Cgroup; cg != nil {
		t.Logf("cgroup: cpu %v, memory %v, failcnt %v, oom %v, cfs periods %v, cpu pressure %v", deref(cg.CPUUsage), deref(cg.MemoryUsage), deref(cg.MemoryFailcnt), deref(cg.OOMKills), deref(cg.CFSPeriods), deref(cg.CPUSome))
	}
	if !s.HasDetail || s.Processes < 3 || s.Threads < s.Processes || s.FileDescriptors < 3 || s.MemoryWorkingSetBytes == 0 ||
		s.MemoryRSSBytes == 0 || s.MemoryMappedFileBytes == 0 || s.UserNanos+s.SystemNanos != s.CPUNanos || s.NoFileSoft == nil || *s.NoFileSoft <= 0 {
		t.Errorf("sentry stats: %+v", s)
	}
	if s.Sockets != 0 {
		t.Errorf("sockets = %d, want 0 (pipes are not sockets)", s.Sockets)
	}
	if fs := cm.Fs; fs == nil || fs.UsedInodes < 2 || fs.LimitBytes == 0 || fs.Inodes == 0 || fs.Device == "" {
		t.Errorf("fs: %+v", cm.Fs)
	}
	if pm.Timestamp.IsZero() {
		t.Error("no timestamp")
	}
	// The pod's network namespace has at least its loopback.
	if !pod.Config.HostNetwork {
		var names []string
		for _, n := range pm.Network {
			names = append(names, n.Name)
		}
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " lo ") {
			t.Errorf("interfaces %v, want lo among them", names)
		}
	}
	// The cgroup (when the node gives the pod one) measured the sentry.
	if cg := pm.Cgroup; cg != nil {
		if cg.CPUUsage == nil || *cg.CPUUsage == 0 {
			t.Errorf("cgroup CPU usage %v", cg.CPUUsage)
		}
		if cg.MemoryUsage != nil && *cg.MemoryUsage == 0 {
			t.Error("cgroup memory usage is 0")
		}
	}

	if _, err := r.PodMetrics(ctx, "nope"); err == nil {
		t.Error("PodMetrics of an unknown pod succeeded")
	}
}

func deref(v *uint64) any {
	if v == nil {
		return "absent"
	}
	return *v
}

// TestClaimLayerShares: the containers' writable layers add up to at least
// the store's disk use, whatever the sentry reported; containers without
// a layer of the sentry's get nothing.
func TestClaimLayerShares(t *testing.T) {
	st := &control.Stats{Containers: []control.ContainerStats{
		{ID: "a", HasWritableLayer: true, WritableLayerBytes: 4096},
		{ID: "host-layer"},
		{ID: "b", HasWritableLayer: true, WritableLayerBytes: 8192},
	}}
	claimLayerShares(st, 4096+8192)
	if a, b := st.Containers[0].WritableLayerBytes, st.Containers[2].WritableLayerBytes; a != 4096 || b != 8192 {
		t.Errorf("honest shares changed: a %d, b %d", a, b)
	}
	claimLayerShares(st, 1<<30)
	if b := st.Containers[2].WritableLayerBytes; b != 1<<30-4096 {
		t.Errorf("under-reported: the largest share is %d, want the rest of the store's %d", b, 1<<30)
	}
	if st.Containers[1].WritableLayerBytes != 0 || st.Containers[0].WritableLayerBytes != 4096 {
		t.Errorf("shares: %+v", st.Containers)
	}
}
