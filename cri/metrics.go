package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The metrics ListPodSandboxMetrics reports (kubelet serves them on
// /metrics/cadvisor when it takes pod stats from the CRI). They carry
// the same numbers as the stats RPCs; the label keys are cAdvisor's.
const (
	metricCPU       = "container_cpu_usage_nanoseconds_total"
	metricMemory    = "container_memory_working_set_bytes"
	metricProcesses = "container_processes"
)

// metricLabels are the label keys of every metric: the container's
// name ("" for the pod's own use), its ID (the pod's ID for the pod),
// its image, its runtime name (the ID again), and the pod's namespace
// and name.
var metricLabels = []string{"container", "id", "image", "name", "namespace", "pod"}

// ListMetricDescriptors describes the metrics of ListPodSandboxMetrics.
func (s *Server) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: []*runtimeapi.MetricDescriptor{
		{Name: metricCPU, Help: "Cumulative CPU time consumed, in nanoseconds.", LabelKeys: metricLabels},
		{Name: metricMemory, Help: "Current working set, in bytes.", LabelKeys: metricLabels},
		{Name: metricProcesses, Help: "Number of processes.", LabelKeys: metricLabels},
	}}, nil
}

// ListPodSandboxMetrics reports CPU, memory and process metrics for
// every ready pod and its containers.
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
		ts := stamp(st.Timestamp)
		labels := []string{"", p.Config.ID, "", p.Config.ID, p.Config.Namespace, p.Config.Name}
		pm := &runtimeapi.PodSandboxMetrics{
			PodSandboxId: p.Config.ID,
			Metrics:      usageMetrics(ts, labels, st.CPUNanos, st.MemoryBytes, st.Processes),
		}
		for _, c := range all {
			cs, ok := st.Containers[c.Config.ID]
			if c.Config.PodID != p.Config.ID || !ok {
				continue
			}
			labels := []string{c.Config.Name, c.Config.ID, c.Config.Image, c.Config.ID, p.Config.Namespace, p.Config.Name}
			pm.ContainerMetrics = append(pm.ContainerMetrics, &runtimeapi.ContainerMetrics{
				ContainerId: c.Config.ID,
				Metrics:     usageMetrics(stamp(cs.Timestamp), labels, cs.CPUNanos, cs.MemoryWorkingSetBytes, cs.Processes),
			})
		}
		out = append(out, pm)
	}
	return out, nil
}

func usageMetrics(ts int64, labels []string, cpu, mem, procs uint64) []*runtimeapi.Metric {
	return []*runtimeapi.Metric{
		{Name: metricCPU, Timestamp: ts, MetricType: runtimeapi.MetricType_COUNTER, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: cpu}},
		{Name: metricMemory, Timestamp: ts, MetricType: runtimeapi.MetricType_GAUGE, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: mem}},
		{Name: metricProcesses, Timestamp: ts, MetricType: runtimeapi.MetricType_GAUGE, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: procs}},
	}
}
