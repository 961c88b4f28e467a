package cri

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/podsandbox/cgroup"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// critestRequired are the metrics critest v1.37 (pkg/validate/pod.go)
// wants described and, for a pod with a running container, reported:
// expectedMetricDescriptorNames less unimplementedMetricDescriptors and
// optionalValuesForMetricDescriptors.
var critestRequired = []string{
	"container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_throttled_seconds_total",
	"container_cpu_system_seconds_total", "container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
	"container_file_descriptors", "container_fs_inodes_free", "container_fs_inodes_total", "container_fs_limit_bytes",
	"container_fs_usage_bytes", "container_last_seen", "container_memory_cache", "container_memory_failcnt",
	"container_memory_failures_total", "container_memory_kernel_usage", "container_memory_mapped_file",
	"container_memory_max_usage_bytes", "container_memory_rss", "container_memory_swap", "container_memory_usage_bytes",
	"container_memory_working_set_bytes", "container_network_receive_bytes_total", "container_network_receive_errors_total",
	"container_network_receive_packets_dropped_total", "container_network_receive_packets_total",
	"container_network_transmit_bytes_total", "container_network_transmit_errors_total",
	"container_network_transmit_packets_dropped_total", "container_network_transmit_packets_total",
	"container_oom_events_total", "container_processes", "container_sockets", "container_spec_cpu_period",
	"container_spec_cpu_shares", "container_spec_memory_limit_bytes", "container_spec_memory_swap_limit_bytes",
	"container_start_time_seconds", "container_threads", "container_threads_max",
}

// metricPods is fakePods that also measures pods in detail.
type metricPods struct {
	*fakePods
	// metrics returns a pod's measurements.
	metrics func(id string) (*podsandbox.PodMetrics, error)
}

func (m *metricPods) PodMetrics(_ context.Context, id string) (*podsandbox.PodMetrics, error) {
	return m.metrics(id)
}

// newMetricsRT is newRT over metricPods.
func newMetricsRT(t *testing.T, metrics func(id string) (*podsandbox.PodMetrics, error)) *rt {
	t.Helper()
	imgs := newFake()
	bb, alpine := testImages()
	imgs.images[bb.ID] = bb
	imgs.images[alpine.ID] = alpine
	root := t.TempDir()
	imgs.layers[bb.ID] = []string{root}
	imgs.layers[alpine.ID] = []string{t.TempDir()}
	pods := newFakePods()
	s := NewServer(imgs, &metricPods{fakePods: pods, metrics: metrics}, "v-test", nil)
	c := serveGRPC(t, s)
	return &rt{t: t, s: s, pods: pods, imgs: imgs, c: c.rt, ctx: ctxT(t), rootfs: root}
}

func u(n uint64) *uint64 { return &n }

// fullCgroup is a pod cgroup with every figure measured.
func fullCgroup() *cgroup.Metrics {
	return &cgroup.Metrics{
		CPUUsage: u(7_500_000_000), CPUUser: u(5_000_000_000), CPUSystem: u(2_500_000_000),
		CFSPeriods: u(10), CFSThrottledPeriods: u(4), CFSThrottledNanos: u(3_000_000_000),
		MemoryUsage: u(64 << 20), MemoryWorkingSet: u(60 << 20), MemoryRSS: u(50 << 20), MemoryCache: u(10 << 20),
		MemoryMappedFile: u(1 << 20), MemorySwap: u(0), MemoryKernel: u(2 << 20), MemoryMaxUsage: u(70 << 20),
		MemoryFailcnt: u(1), Pgfault: u(100), Pgmajfault: u(2), HierPgfault: u(100), HierPgmajfault: u(2),
		OOMKills:      u(1),
		SpecCPUPeriod: u(100000), SpecCPUQuota: u(50000), SpecCPUShares: u(1024),
		SpecMemoryLimit: u(128 << 20), SpecSwapLimit: u(128 << 20), PidsMax: u(0),
		CPUSome: u(2_000_000), CPUFull: u(1_000_000), MemorySome: u(0), MemoryFull: u(0), IOSome: u(0), IOFull: u(0),
		IO: []cgroup.DeviceIO{{Major: 1023, Minor: 999, ReadBytes: 4096, WriteBytes: 8192, ReadCount: 1, WriteCount: 2}},
	}
}

func TestMetricDescriptors(t *testing.T) {
	r := newRT(t)
	resp, err := r.c.ListMetricDescriptors(r.ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range resp.Descriptors {
		if seen[d.Name] {
			t.Errorf("%s described twice", d.Name)
		}
		seen[d.Name] = true
		if d.Help == "" || len(d.LabelKeys) < len(metricLabels) || !slices.Equal(d.LabelKeys[:len(metricLabels)], metricLabels) {
			t.Errorf("descriptor %v: want help and the base label keys first", d)
		}
	}
	for _, name := range critestRequired {
		if !seen[name] {
			t.Errorf("%s is not described", name)
		}
	}
}

func TestPodSandboxMetrics(t *testing.T) {
	started := time.Unix(1700000100, 0)
	var r *rt
	var pod, id string
	r = newMetricsRT(t, func(pid string) (*podsandbox.PodMetrics, error) {
		if pid != pod {
			return nil, fmt.Errorf("pod %s: %w", pid, podsandbox.ErrNotFound)
		}
		nofile := int64(1024)
		return &podsandbox.PodMetrics{
			Timestamp: time.Unix(1700000200, 0),
			Cgroup:    fullCgroup(),
			Network:   []podsandbox.InterfaceStats{{Name: "eth0", RxBytes: 1000, RxPackets: 10, TxBytes: 2000, TxPackets: 20, RxDropped: 1}},
			Containers: map[string]podsandbox.ContainerMetrics{id: {
				Sentry: control.ContainerStats{
					ID: id, CPUNanos: 3_200_000_000, MemoryWorkingSetBytes: 8 << 20, Processes: 2,
					HasDetail: true, UserNanos: 2_100_000_000, SystemNanos: 1_100_000_000, Threads: 5,
					FileDescriptors: 7, Sockets: 1, NoFileSoft: &nofile,
					MemoryUsageBytes: 9 << 20, MemoryMaxUsageBytes: 10 << 20, MemoryFailcnt: 0,
					MemoryRSSBytes: 6 << 20, MemoryMappedFileBytes: 1 << 20, MemoryShmemBytes: 1 << 20, OOMKills: 2,
					PageFaults: 40, MajorFaults: 3,
				},
				Fs: &podsandbox.FsUsage{Device: "/dev/vda", UsedBytes: 4096, UsedInodes: 11, LimitBytes: 1 << 30, Inodes: 1000, InodesFree: 900},
			}},
		}, nil
	})
	pod = r.runPod("metrics")
	id = r.createContainer(pod, "c", func(c *runtimeapi.ContainerConfig) {
		c.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{
			CpuPeriod: 100000, CpuQuota: 20000, CpuShares: 512, MemoryLimitInBytes: 64 << 20,
		}}
	})
	r.startContainer(id)
	r.pods.with(func() { r.pods.ctrs[id].StartedAt = started })

	desc, err := r.c.ListMetricDescriptors(r.ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, d := range desc.Descriptors {
		keys[d.Name] = d.LabelKeys
	}
	resp, err := r.c.ListPodSandboxMetrics(r.ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil || len(resp.PodMetrics) != 1 {
		t.Fatalf("ListPodSandboxMetrics = %v, %v", resp, err)
	}
	pm := resp.PodMetrics[0]
	if pm.PodSandboxId != pod || len(pm.ContainerMetrics) != 1 || pm.ContainerMetrics[0].ContainerId != id {
		t.Fatalf("pod metrics %v", pm)
	}

	// value finds a metric by name and its extra label values.
	value := func(ms []*runtimeapi.Metric, name string, extra ...string) (uint64, bool) {
		for _, m := range ms {
			if m.Name == name && slices.Equal(m.LabelValues[len(metricLabels):], extra) {
				return m.Value.Value, true
			}
		}
		return 0, false
	}
	found := map[string]bool{}
	checkLabels := func(ms []*runtimeapi.Metric, base []string) {
		t.Helper()
		for _, m := range ms {
			found[m.Name] = true
			k, ok := keys[m.Name]
			if !ok || len(k) != len(m.LabelValues) {
				t.Errorf("metric %v does not match its descriptor %v", m, k)
				continue
			}
			if !slices.Equal(m.LabelValues[:len(base)], base) {
				t.Errorf("metric %s labels %v, want %v first", m.Name, m.LabelValues, base)
			}
			if m.Timestamp != time.Unix(1700000200, 0).UnixNano() {
				t.Errorf("metric %s timestamp %d", m.Name, m.Timestamp)
			}
		}
	}
	podMs, ctrMs := pm.Metrics, pm.ContainerMetrics[0].Metrics
	checkLabels(podMs, []string{"", pod, "", pod, "default", "metrics"})
	var image string
	r.pods.with(func() { image = r.pods.ctrs[id].Config.Image })
	checkLabels(ctrMs, []string{"c", id, image, id, "default", "metrics"})
	for _, name := range critestRequired {
		if !found[name] {
			t.Errorf("%s not reported", name)
		}
	}

	for _, w := range []struct {
		ms    []*runtimeapi.Metric
		name  string
		extra []string
		want  uint64
	}{
		// The pod's cgroup.
		{podMs, "container_cpu_usage_seconds_total", []string{"total"}, 7},
		{podMs, "container_cpu_cfs_throttled_seconds_total", nil, 3},
		{podMs, "container_memory_kernel_usage", nil, 2 << 20},
		{podMs, "container_memory_failures_total", []string{"pgmajfault", "hierarchy"}, 2},
		{podMs, "container_oom_events_total", nil, 1 + 2}, // the host's kills and the sandbox's
		{podMs, "container_spec_cpu_quota", nil, 50000},
		{podMs, "container_pressure_cpu_waiting_seconds_total", nil, 2},
		{podMs, "container_blkio_device_usage_total", []string{"1023:999", "1023", "999", "Write"}, 8192},
		{podMs, "container_network_receive_packets_dropped_total", []string{"eth0"}, 1},
		{podMs, "container_network_transmit_bytes_total", []string{"eth0"}, 2000},
		// The sentry's accounting of the container.
		{ctrMs, "container_cpu_usage_seconds_total", []string{"total"}, 3},
		{ctrMs, "container_cpu_user_seconds_total", nil, 2},
		{ctrMs, "container_cpu_system_seconds_total", nil, 1},
		{ctrMs, "container_memory_working_set_bytes", nil, 8 << 20},
		{ctrMs, "container_memory_usage_bytes", nil, 9 << 20},
		{ctrMs, "container_memory_cache", nil, 2 << 20},
		{ctrMs, "container_threads", nil, 5},
		{ctrMs, "container_sockets", nil, 1},
		{ctrMs, "container_file_descriptors", nil, 7},
		{ctrMs, "container_ulimits_soft", []string{"max_open_files"}, 1024},
		{ctrMs, "container_oom_events_total", nil, 2},
		{ctrMs, "container_memory_failures_total", []string{"pgfault", "container"}, 40},
		{ctrMs, "container_memory_failures_total", []string{"pgmajfault", "container"}, 3},
		{ctrMs, "container_memory_failures_total", []string{"pgfault", "hierarchy"}, 40},
		// The writable layer.
		{ctrMs, "container_fs_usage_bytes", []string{"/dev/vda"}, 4096},
		{ctrMs, "container_fs_inodes_free", []string{"/dev/vda"}, 900},
		// The container's record.
		{ctrMs, "container_spec_cpu_period", nil, 100000},
		{ctrMs, "container_spec_cpu_quota", nil, 20000},
		{ctrMs, "container_spec_cpu_shares", nil, 512},
		{ctrMs, "container_spec_memory_limit_bytes", nil, 64 << 20},
		{ctrMs, "container_start_time_seconds", nil, uint64(started.Unix())},
	} {
		if got, ok := value(w.ms, w.name, w.extra...); !ok || got != w.want {
			t.Errorf("%s%v = %d (found %v), want %d", w.name, w.extra, got, ok, w.want)
		}
	}
	// What the container cannot be measured for is left out, not zero.
	for _, name := range []string{"container_network_receive_bytes_total", "container_fs_reads_bytes_total", "container_spec_memory_swap_limit_bytes"} {
		if _, ok := value(ctrMs, name); ok {
			t.Errorf("container reports %s", name)
		}
		for _, m := range ctrMs {
			if m.Name == name {
				t.Errorf("container reports %s", name)
			}
		}
	}
}

// A pod without a cgroup or a network of its own (host network) reports
// only what the sentry and the container's files say; unmeasured cgroup
// figures are left out, not zero.
func TestPodSandboxMetricsLeavesOutUnmeasured(t *testing.T) {
	var pod, id string
	r := newMetricsRT(t, func(string) (*podsandbox.PodMetrics, error) {
		return &podsandbox.PodMetrics{
			Timestamp: time.Now(),
			Cgroup:    &cgroup.Metrics{CPUUsage: u(1e9)},
			Containers: map[string]podsandbox.ContainerMetrics{id: {
				Sentry: control.ContainerStats{ID: id, CPUNanos: 5e9, Processes: 1}, // an older sentry: no detail
			}},
		}, nil
	})
	pod = r.runPod("bare")
	id = r.createContainer(pod, "c", nil)
	r.startContainer(id)
	resp, err := r.c.ListPodSandboxMetrics(r.ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil || len(resp.PodMetrics) != 1 || len(resp.PodMetrics[0].ContainerMetrics) != 1 {
		t.Fatalf("ListPodSandboxMetrics = %v, %v", resp, err)
	}
	var names []string
	for _, m := range resp.PodMetrics[0].Metrics {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"container_cpu_usage_seconds_total"}) {
		t.Errorf("pod metrics %v, want only the CPU the cgroup measured", names)
	}
	for _, m := range resp.PodMetrics[0].ContainerMetrics[0].Metrics {
		switch m.Name {
		case "container_threads", "container_sockets", "container_memory_rss", "container_fs_usage_bytes", "container_ulimits_soft":
			t.Errorf("container reports %s without a measurement", m.Name)
		}
	}
}

// Every add in metrics.go names a described metric with its extra label
// values: a mismatch panics, so building a full pod's metrics checks
// them all.
func TestMetricSetChecksDescriptors(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a metric with the wrong labels did not panic")
		}
	}()
	newMetricSet(0, metricLabels).add("container_cpu_usage_seconds_total", 1) // missing "cpu"
}
