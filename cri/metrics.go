package cri

import (
	"context"
	"errors"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/podsandbox/cgroup"
)

// ListPodSandboxMetrics reports cAdvisor's container_* metrics, the set
// kubelet serves on /metrics/cadvisor, with cAdvisor's names and label
// keys. Every value is measured; a figure that cannot be measured is left
// out rather than reported as zero. Where each comes from:
//
// Pod level (PodSandboxMetrics.Metrics, container label "", as kubelet's
// cAdvisor shows a pod's cgroup), from the pod's cgroup, which holds the
// sentry and the gofer and so everything the pod costs the host: CPU
// usage, user and system time; CFS periods and throttling; memory usage,
// working set, rss, cache, mapped files, swap, kernel memory, peak usage,
// failcnt, page faults (container_memory_failures_total); OOM kills (the
// host's in the cgroup plus the sandbox's own OOM killer's in every
// container); the limits set (spec_*); the task limit (threads_max);
// pressure stall times where the kernel has PSI; block I/O per device
// (fs_reads/writes, blkio_device_usage). Also pod level: the counters of
// the interfaces of the pod's network namespace (container_network_*),
// read from /proc/<sentry>/net/dev; none for a host-network pod.
//
// Container level, from the sentry's per-container accounting (the
// control protocol's stats): CPU usage, user and system time; memory
// working set (resident pages), usage, peak and failcnt (the container's
// memory account), rss and mapped files (proportional set size of
// anonymous and file mappings), cache (mapped files and shared memory),
// page faults the sandbox served (container_memory_failures_total);
// processes, threads, file descriptors, sockets; the init's soft
// RLIMIT_NOFILE; OOM kills. From the writable layer: fs usage and the
// size and inodes of its file system. From the container's record: its
// start time and the limits it was given (spec_*).
//
// Deliberately absent:
//   - hugetlb: the sandbox never uses huge pages for applications.
//   - spec_memory_reservation_limit_bytes: CRI has no memory reservation
//     for a container, and the pod cgroup sets none.
//   - spec_memory_swap_limit_bytes per container: the container's record
//     keeps no swap limit, and the sandbox does not swap; the pod's is in
//     its cgroup.
//   - per-container block I/O and network: the gofer does a pod's file
//     I/O and the pod shares one network stack, so neither can be split
//     by container.
//   - container_threads_max per container is 0, cAdvisor's "no limit":
//     the sandbox sets no per-container task limit.
//
// The CRI carries integer values, so the *_seconds metrics are whole
// seconds (rounded down), as other runtimes report them through the CRI.

// metricLabels are the label keys every metric starts with: the
// container's name ("" for the pod's own use), its ID (the pod's ID for
// the pod), its image, its runtime name (the ID again), and the pod's
// namespace and name.
var metricLabels = []string{"container", "id", "image", "name", "namespace", "pod"}

// metricDesc is one metric ListMetricDescriptors describes.
type metricDesc struct {
	name, help string
	typ        runtimeapi.MetricType
	// extra are the label keys after metricLabels.
	extra []string
}

const (
	counter = runtimeapi.MetricType_COUNTER
	gauge   = runtimeapi.MetricType_GAUGE
)

// metricDescs are the metrics ListPodSandboxMetrics may report, with
// cAdvisor's help texts and label keys.
var metricDescs = []metricDesc{
	{"container_blkio_device_usage_total", "Blkio device bytes usage", counter, []string{"device", "major", "minor", "operation"}},
	{"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", counter, nil},
	{"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", counter, nil},
	{"container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", counter, nil},
	{"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", counter, nil},
	{"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", counter, []string{"cpu"}},
	{"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", counter, nil},
	{"container_file_descriptors", "Number of open file descriptors for the container.", gauge, nil},
	{"container_fs_inodes_free", "Number of available Inodes", gauge, []string{"device"}},
	{"container_fs_inodes_total", "Number of Inodes", gauge, []string{"device"}},
	{"container_fs_limit_bytes", "Number of bytes that can be consumed by the container on this filesystem.", gauge, []string{"device"}},
	{"container_fs_reads_bytes_total", "Cumulative count of bytes read", counter, []string{"device"}},
	{"container_fs_reads_total", "Cumulative count of reads completed", counter, []string{"device"}},
	{"container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", gauge, []string{"device"}},
	{"container_fs_writes_bytes_total", "Cumulative count of bytes written", counter, []string{"device"}},
	{"container_fs_writes_total", "Cumulative count of writes completed", counter, []string{"device"}},
	{"container_last_seen", "Last time a container was seen by the exporter", gauge, nil},
	{"container_memory_cache", "Number of bytes of page cache memory.", gauge, nil},
	{"container_memory_failcnt", "Number of memory usage hits limits", counter, nil},
	{"container_memory_failures_total", "Cumulative count of memory allocation failures.", counter, []string{"failure_type", "scope"}},
	{"container_memory_kernel_usage", "Size of kernel memory allocated in bytes.", gauge, nil},
	{"container_memory_mapped_file", "Size of memory mapped files in bytes.", gauge, nil},
	{"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes", gauge, nil},
	{"container_memory_rss", "Size of RSS in bytes.", gauge, nil},
	{"container_memory_swap", "Container swap usage in bytes.", gauge, nil},
	{"container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed", gauge, nil},
	{"container_memory_working_set_bytes", "Current working set in bytes.", gauge, nil},
	{"container_network_receive_bytes_total", "Cumulative count of bytes received", counter, []string{"interface"}},
	{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving", counter, []string{"interface"}},
	{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving", counter, []string{"interface"}},
	{"container_network_receive_packets_total", "Cumulative count of packets received", counter, []string{"interface"}},
	{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", counter, []string{"interface"}},
	{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting", counter, []string{"interface"}},
	{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting", counter, []string{"interface"}},
	{"container_network_transmit_packets_total", "Cumulative count of packets transmitted", counter, []string{"interface"}},
	{"container_oom_events_total", "Count of out of memory events observed for the container", counter, nil},
	{"container_pressure_cpu_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to CPU congestion.", counter, nil},
	{"container_pressure_cpu_waiting_seconds_total", "Total time duration tasks in the container have waited due to CPU congestion.", counter, nil},
	{"container_pressure_io_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to IO congestion.", counter, nil},
	{"container_pressure_io_waiting_seconds_total", "Total time duration tasks in the container have waited due to IO congestion.", counter, nil},
	{"container_pressure_memory_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to memory congestion.", counter, nil},
	{"container_pressure_memory_waiting_seconds_total", "Total time duration tasks in the container have waited due to memory congestion.", counter, nil},
	{"container_processes", "Number of processes running inside the container.", gauge, nil},
	{"container_sockets", "Number of open sockets for the container.", gauge, nil},
	{"container_spec_cpu_period", "CPU period of the container.", gauge, nil},
	{"container_spec_cpu_quota", "CPU quota of the container.", gauge, nil},
	{"container_spec_cpu_shares", "CPU share of the container.", gauge, nil},
	{"container_spec_memory_limit_bytes", "Memory limit for the container.", gauge, nil},
	{"container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", gauge, nil},
	{"container_start_time_seconds", "Start time of the container since unix epoch in seconds.", gauge, nil},
	{"container_threads", "Number of threads running inside the container", gauge, nil},
	{"container_threads_max", "Maximum number of threads allowed inside the container, infinity if value is zero", gauge, nil},
	{"container_ulimits_soft", "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice", gauge, []string{"ulimit"}},
}

// metricByName indexes metricDescs.
var metricByName = func() map[string]metricDesc {
	m := make(map[string]metricDesc, len(metricDescs))
	for _, d := range metricDescs {
		m[d.name] = d
	}
	return m
}()

// ListMetricDescriptors describes the metrics of ListPodSandboxMetrics.
func (s *Server) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	out := make([]*runtimeapi.MetricDescriptor, 0, len(metricDescs))
	for _, d := range metricDescs {
		keys := append(append([]string(nil), metricLabels...), d.extra...)
		out = append(out, &runtimeapi.MetricDescriptor{Name: d.name, Help: d.help, LabelKeys: keys})
	}
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: out}, nil
}

// ListPodSandboxMetrics reports the metrics of every ready pod and its
// containers (see the top of this file).
func (s *Server) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	out, err := s.podMetrics(ctx, "ListPodSandboxMetrics")
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: out}, nil
}

func (s *Server) podMetrics(ctx context.Context, rpc string) ([]*runtimeapi.PodSandboxMetrics, error) {
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	src, ok := m.(podsandbox.PodMetricsSource)
	if !ok {
		return s.basicPodMetrics(ctx, rpc, m)
	}
	pods, err := s.readyPods(ctx, m, "", nil)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	all, err := m.Containers(ctx)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	out := []*runtimeapi.PodSandboxMetrics{}
	for _, p := range pods {
		pm, err := src.PodMetrics(ctx, p.Config.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, podError(rpc, "", ctx.Err())
			}
			if !isGone(err) {
				s.log.Warn(rpc+": pod metrics", "pod", p.Config.ID, "err", err)
			}
			continue
		}
		out = append(out, podSandboxMetrics(p, pm, all, time.Now()))
	}
	return out, nil
}

// basicPodMetrics serves a Manager that only offers PodStats: CPU,
// working set and processes.
func (s *Server) basicPodMetrics(ctx context.Context, rpc string, m podsandbox.Manager) ([]*runtimeapi.PodSandboxMetrics, error) {
	pods, err := s.readyPods(ctx, m, "", nil)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	all, err := m.Containers(ctx)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	measured, err := s.podStats(ctx, rpc, m, pods)
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.PodSandboxMetrics{}
	for _, ps := range measured {
		p, st := ps.pod, ps.stats
		pod := newMetricSet(stamp(st.Timestamp), podMetricLabels(p))
		pod.add("container_cpu_usage_seconds_total", st.CPUNanos/uint64(time.Second), "total")
		pod.add("container_memory_working_set_bytes", st.MemoryBytes)
		pod.add("container_processes", st.Processes)
		pm := &runtimeapi.PodSandboxMetrics{PodSandboxId: p.Config.ID, Metrics: pod.out}
		for _, c := range podContainers(p, all) {
			cs, ok := st.Containers[c.Config.ID]
			if !ok {
				continue
			}
			ms := newMetricSet(stamp(cs.Timestamp), containerMetricLabels(p, c))
			ms.add("container_cpu_usage_seconds_total", cs.CPUNanos/uint64(time.Second), "total")
			ms.add("container_memory_working_set_bytes", cs.MemoryWorkingSetBytes)
			ms.add("container_processes", cs.Processes)
			pm.ContainerMetrics = append(pm.ContainerMetrics, &runtimeapi.ContainerMetrics{ContainerId: c.Config.ID, Metrics: ms.out})
		}
		out = append(out, pm)
	}
	return out, nil
}

// podSandboxMetrics turns a pod's measurements into metrics; now is
// container_last_seen.
func podSandboxMetrics(p *podsandbox.Pod, pm *podsandbox.PodMetrics, all []*podsandbox.Container, now time.Time) *runtimeapi.PodSandboxMetrics {
	ts := stamp(pm.Timestamp)
	pod := newMetricSet(ts, podMetricLabels(p))
	var sandboxOOMKills uint64
	for _, cm := range pm.Containers {
		sandboxOOMKills += cm.Sentry.OOMKills
	}
	if cg := pm.Cgroup; cg != nil {
		addCgroupMetrics(pod, cg, sandboxOOMKills)
	}
	for _, nic := range pm.Network {
		addNetworkMetrics(pod, nic)
	}
	out := &runtimeapi.PodSandboxMetrics{PodSandboxId: p.Config.ID, Metrics: pod.out}
	for _, c := range podContainers(p, all) {
		cm, ok := pm.Containers[c.Config.ID]
		if !ok {
			continue
		}
		ms := newMetricSet(ts, containerMetricLabels(p, c))
		addContainerMetrics(ms, c, cm, now)
		out.ContainerMetrics = append(out.ContainerMetrics, &runtimeapi.ContainerMetrics{ContainerId: c.Config.ID, Metrics: ms.out})
	}
	return out
}

// addCgroupMetrics adds the pod cgroup's figures; sandboxOOMKills are
// the kills of the sandbox's own OOM killer, which the host's cgroup
// does not see.
func addCgroupMetrics(ms *metricSet, cg *cgroup.Metrics, sandboxOOMKills uint64) {
	ms.opt("container_cpu_usage_seconds_total", seconds(cg.CPUUsage, 1e9), "total")
	ms.opt("container_cpu_user_seconds_total", seconds(cg.CPUUser, 1e9))
	ms.opt("container_cpu_system_seconds_total", seconds(cg.CPUSystem, 1e9))
	ms.opt("container_cpu_cfs_periods_total", cg.CFSPeriods)
	ms.opt("container_cpu_cfs_throttled_periods_total", cg.CFSThrottledPeriods)
	ms.opt("container_cpu_cfs_throttled_seconds_total", seconds(cg.CFSThrottledNanos, 1e9))

	ms.opt("container_memory_usage_bytes", cg.MemoryUsage)
	ms.opt("container_memory_working_set_bytes", cg.MemoryWorkingSet)
	ms.opt("container_memory_rss", cg.MemoryRSS)
	ms.opt("container_memory_cache", cg.MemoryCache)
	ms.opt("container_memory_mapped_file", cg.MemoryMappedFile)
	ms.opt("container_memory_swap", cg.MemorySwap)
	ms.opt("container_memory_kernel_usage", cg.MemoryKernel)
	ms.opt("container_memory_max_usage_bytes", cg.MemoryMaxUsage)
	ms.opt("container_memory_failcnt", cg.MemoryFailcnt)
	ms.opt("container_memory_failures_total", cg.Pgfault, "pgfault", "container")
	ms.opt("container_memory_failures_total", cg.Pgmajfault, "pgmajfault", "container")
	ms.opt("container_memory_failures_total", cg.HierPgfault, "pgfault", "hierarchy")
	ms.opt("container_memory_failures_total", cg.HierPgmajfault, "pgmajfault", "hierarchy")
	if cg.OOMKills != nil {
		ms.add("container_oom_events_total", *cg.OOMKills+sandboxOOMKills)
	}

	ms.opt("container_spec_cpu_period", cg.SpecCPUPeriod)
	ms.opt("container_spec_cpu_quota", cg.SpecCPUQuota)
	ms.opt("container_spec_cpu_shares", cg.SpecCPUShares)
	ms.opt("container_spec_memory_limit_bytes", cg.SpecMemoryLimit)
	ms.opt("container_spec_memory_swap_limit_bytes", cg.SpecSwapLimit)
	ms.opt("container_threads_max", cg.PidsMax)

	ms.opt("container_pressure_cpu_waiting_seconds_total", seconds(cg.CPUSome, 1e6))
	ms.opt("container_pressure_cpu_stalled_seconds_total", seconds(cg.CPUFull, 1e6))
	ms.opt("container_pressure_memory_waiting_seconds_total", seconds(cg.MemorySome, 1e6))
	ms.opt("container_pressure_memory_stalled_seconds_total", seconds(cg.MemoryFull, 1e6))
	ms.opt("container_pressure_io_waiting_seconds_total", seconds(cg.IOSome, 1e6))
	ms.opt("container_pressure_io_stalled_seconds_total", seconds(cg.IOFull, 1e6))

	for _, io := range cg.IO {
		dev := podsandbox.BlockDeviceName(io.Major, io.Minor)
		maj, min := strconv.FormatUint(io.Major, 10), strconv.FormatUint(io.Minor, 10)
		ms.add("container_fs_reads_bytes_total", io.ReadBytes, dev)
		ms.add("container_fs_reads_total", io.ReadCount, dev)
		ms.add("container_fs_writes_bytes_total", io.WriteBytes, dev)
		ms.add("container_fs_writes_total", io.WriteCount, dev)
		ms.add("container_blkio_device_usage_total", io.ReadBytes, dev, maj, min, "Read")
		ms.add("container_blkio_device_usage_total", io.WriteBytes, dev, maj, min, "Write")
	}
}

func addNetworkMetrics(ms *metricSet, nic podsandbox.InterfaceStats) {
	ms.add("container_network_receive_bytes_total", nic.RxBytes, nic.Name)
	ms.add("container_network_receive_packets_total", nic.RxPackets, nic.Name)
	ms.add("container_network_receive_errors_total", nic.RxErrors, nic.Name)
	ms.add("container_network_receive_packets_dropped_total", nic.RxDropped, nic.Name)
	ms.add("container_network_transmit_bytes_total", nic.TxBytes, nic.Name)
	ms.add("container_network_transmit_packets_total", nic.TxPackets, nic.Name)
	ms.add("container_network_transmit_errors_total", nic.TxErrors, nic.Name)
	ms.add("container_network_transmit_packets_dropped_total", nic.TxDropped, nic.Name)
}

// addContainerMetrics adds what the sentry, the writable layer and the
// container's record say about one container.
func addContainerMetrics(ms *metricSet, c *podsandbox.Container, cm podsandbox.ContainerMetrics, now time.Time) {
	st := cm.Sentry
	ms.add("container_cpu_usage_seconds_total", st.CPUNanos/uint64(time.Second), "total")
	ms.add("container_memory_working_set_bytes", st.MemoryWorkingSetBytes)
	ms.add("container_processes", st.Processes)
	if st.HasDetail {
		ms.add("container_cpu_user_seconds_total", st.UserNanos/uint64(time.Second))
		ms.add("container_cpu_system_seconds_total", st.SystemNanos/uint64(time.Second))
		ms.add("container_memory_usage_bytes", st.MemoryUsageBytes)
		ms.add("container_memory_max_usage_bytes", st.MemoryMaxUsageBytes)
		ms.add("container_memory_failcnt", st.MemoryFailcnt)
		ms.add("container_memory_rss", st.MemoryRSSBytes)
		ms.add("container_memory_mapped_file", st.MemoryMappedFileBytes)
		// As in a memory cgroup, the cache holds the file pages and
		// shared memory (tmpfs, shm).
		ms.add("container_memory_cache", st.MemoryMappedFileBytes+st.MemoryShmemBytes)
		ms.add("container_oom_events_total", st.OOMKills)
		// Faults the sandbox served (fewer than Linux would count for
		// the same program: it maps pages ahead). A container has no
		// cgroup below it in the sandbox, so its hierarchy's counts
		// are its own, as cAdvisor shows a leaf cgroup's.
		for _, scope := range []string{"container", "hierarchy"} {
			ms.add("container_memory_failures_total", st.PageFaults, "pgfault", scope)
			ms.add("container_memory_failures_total", st.MajorFaults, "pgmajfault", scope)
		}
		ms.add("container_threads", st.Threads)
		// The sandbox sets no task limit per container: 0 is cAdvisor's
		// "no limit".
		ms.add("container_threads_max", 0)
		ms.add("container_file_descriptors", st.FileDescriptors)
		ms.add("container_sockets", st.Sockets)
		// An unlimited soft limit (-1 in cAdvisor) cannot be carried by
		// the CRI's unsigned values and is left out.
		if st.NoFileSoft != nil && *st.NoFileSoft >= 0 {
			ms.add("container_ulimits_soft", uint64(*st.NoFileSoft), "max_open_files")
		}
	}
	if fs := cm.Fs; fs != nil {
		ms.add("container_fs_usage_bytes", fs.UsedBytes, fs.Device)
		ms.add("container_fs_limit_bytes", fs.LimitBytes, fs.Device)
		ms.add("container_fs_inodes_total", fs.Inodes, fs.Device)
		ms.add("container_fs_inodes_free", fs.InodesFree, fs.Device)
	}
	start := c.StartedAt
	if start.IsZero() {
		start = c.CreatedAt
	}
	if !start.IsZero() {
		ms.add("container_start_time_seconds", uint64(max(start.Unix(), 0)))
	}
	ms.add("container_last_seen", uint64(max(now.Unix(), 0)))
	r := c.Config.Resources
	// The limits the container was given; one it was not given is not
	// its own (the pod's cgroup reports what applies).
	if r.CPUPeriod > 0 {
		ms.add("container_spec_cpu_period", uint64(r.CPUPeriod))
	}
	if r.CPUQuota > 0 {
		ms.add("container_spec_cpu_quota", uint64(r.CPUQuota))
	}
	if r.CPUShares > 0 {
		ms.add("container_spec_cpu_shares", uint64(r.CPUShares))
	}
	// 0 is "no limit", as cAdvisor shows an unlimited container.
	ms.add("container_spec_memory_limit_bytes", uint64(max(r.MemoryLimitBytes, 0)))
}

// metricSet collects the metrics of one pod or container.
type metricSet struct {
	ts     int64
	labels []string
	out    []*runtimeapi.Metric
}

func newMetricSet(ts int64, labels []string) *metricSet {
	return &metricSet{ts: ts, labels: labels}
}

// add appends metric name with value v; extra are the values of the
// descriptor's extra label keys. The metric must be one of metricDescs
// and extra must match its keys (the tests check every call).
func (ms *metricSet) add(name string, v uint64, extra ...string) {
	d, ok := metricByName[name]
	if !ok || len(extra) != len(d.extra) {
		panic("cri: metric " + name + " does not match its descriptor")
	}
	labels := append(append(make([]string, 0, len(ms.labels)+len(extra)), ms.labels...), extra...)
	ms.out = append(ms.out, &runtimeapi.Metric{
		Name:        name,
		Timestamp:   ms.ts,
		MetricType:  d.typ,
		LabelValues: labels,
		Value:       &runtimeapi.UInt64Value{Value: v},
	})
}

// opt is add for a figure that may not have been measured (nil).
func (ms *metricSet) opt(name string, v *uint64, extra ...string) {
	if v != nil {
		ms.add(name, *v, extra...)
	}
}

// seconds converts a figure in units of 1/perSecond to whole seconds.
func seconds(v *uint64, perSecond uint64) *uint64 {
	if v == nil {
		return nil
	}
	n := *v / perSecond
	return &n
}

func podMetricLabels(p *podsandbox.Pod) []string {
	return []string{"", p.Config.ID, "", p.Config.ID, p.Config.Namespace, p.Config.Name}
}

func containerMetricLabels(p *podsandbox.Pod, c *podsandbox.Container) []string {
	return []string{c.Config.Name, c.Config.ID, c.Config.Image, c.Config.ID, p.Config.Namespace, p.Config.Name}
}

// podContainers returns p's containers among all.
func podContainers(p *podsandbox.Pod, all []*podsandbox.Container) []*podsandbox.Container {
	var out []*podsandbox.Container
	for _, c := range all {
		if c.Config.PodID == p.Config.ID {
			out = append(out, c)
		}
	}
	return out
}

// isGone reports a pod that stopped or vanished while it was measured.
func isGone(err error) bool {
	return errors.Is(err, podsandbox.ErrNotFound) || errors.Is(err, podsandbox.ErrState)
}
