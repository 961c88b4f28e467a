package cri

import (
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestContainerStats(t *testing.T) {
	r := newRT(t)
	pod, id := r.runningContainer()
	other := r.createContainer(pod, "idle", nil) // created, not running

	resp, err := r.c.ContainerStats(r.ctx, &runtimeapi.ContainerStatsRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Stats
	if st.Attributes.Id != id || st.Attributes.Metadata.Name != "c" || st.Cpu.UsageCoreNanoSeconds.Value != 1234 ||
		st.Memory.WorkingSetBytes.Value != 4096 || st.WritableLayer.UsedBytes.Value != 512 || st.WritableLayer.InodesUsed.Value != 3 ||
		st.WritableLayer.FsId.Mountpoint != "/var/lib/cocoon/containers" || st.Cpu.Timestamp != time.Unix(1700000000, 0).UnixNano() {
		t.Errorf("stats %v", st)
	}
	_, err = r.c.ContainerStats(r.ctx, &runtimeapi.ContainerStatsRequest{ContainerId: other})
	wantCode(t, err, codes.FailedPrecondition, "ContainerStats "+other)
	_, err = r.c.ContainerStats(r.ctx, &runtimeapi.ContainerStatsRequest{ContainerId: "nope"})
	wantCode(t, err, codes.NotFound, "ContainerStats nope")

	list, err := r.c.ListContainerStats(r.ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil || len(list.Stats) != 1 || list.Stats[0].Attributes.Id != id {
		t.Errorf("ListContainerStats = %v, %v", list, err)
	}
	for _, f := range []*runtimeapi.ContainerStatsFilter{{Id: "zz"}, {PodSandboxId: "zz"}, {LabelSelector: map[string]string{"c": "other"}}} {
		if list, err := r.c.ListContainerStats(r.ctx, &runtimeapi.ListContainerStatsRequest{Filter: f}); err != nil || len(list.Stats) != 0 {
			t.Errorf("filter %v: %v, %v", f, list, err)
		}
	}
	if list, err := r.c.ListContainerStats(r.ctx, &runtimeapi.ListContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{PodSandboxId: pod[:7], LabelSelector: map[string]string{"c": "c"}}}); err != nil || len(list.Stats) != 1 {
		t.Errorf("pod filter: %v, %v", list, err)
	}
	stream, err := r.c.StreamContainerStats(r.ctx, &runtimeapi.StreamContainerStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := stream.Recv(); err != nil || len(first.ContainerStats) != 1 {
		t.Errorf("StreamContainerStats = %v, %v", first, err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("stream end: %v", err)
	}
}

func TestPodSandboxStats(t *testing.T) {
	r := newRT(t)
	pod, id := r.runningContainer()
	stopped := r.runPod("stopped")
	r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: stopped})

	resp, err := r.c.PodSandboxStats(r.ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: pod})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Stats
	if st.Attributes.Id != pod || st.Attributes.Metadata.Name != "exec" || st.Attributes.Labels["app"] != "exec" ||
		st.Linux.Cpu.UsageCoreNanoSeconds.Value != 99999 || st.Linux.Memory.WorkingSetBytes.Value != 1<<20 || st.Linux.Process.ProcessCount.Value != 5 ||
		len(st.Linux.Containers) != 1 || st.Linux.Containers[0].Attributes.Id != id || st.Linux.Containers[0].Cpu.UsageCoreNanoSeconds.Value != 1234 {
		t.Errorf("pod stats %v", st)
	}
	if _, ok := st.Attributes.Annotations[annNamespaceOptions]; ok {
		t.Error("internal annotation in stats")
	}
	_, err = r.c.PodSandboxStats(r.ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: "nope"})
	wantCode(t, err, codes.NotFound, "PodSandboxStats nope")

	list, err := r.c.ListPodSandboxStats(r.ctx, &runtimeapi.ListPodSandboxStatsRequest{})
	if err != nil || len(list.Stats) != 1 || list.Stats[0].Attributes.Id != pod {
		t.Errorf("ListPodSandboxStats (ready pods only) = %v, %v", list, err)
	}
	if list, _ := r.c.ListPodSandboxStats(r.ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{LabelSelector: map[string]string{"app": "nope"}}}); len(list.Stats) != 0 {
		t.Errorf("label filter: %v", list)
	}

	// Metrics carry the same numbers, with as many label values as
	// their descriptors have keys.
	desc, err := r.c.ListMetricDescriptors(r.ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil || len(desc.Descriptors) == 0 {
		t.Fatalf("descriptors %v, %v", desc, err)
	}
	keys := map[string]int{}
	for _, d := range desc.Descriptors {
		keys[d.Name] = len(d.LabelKeys)
	}
	metrics, err := r.c.ListPodSandboxMetrics(r.ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil || len(metrics.PodMetrics) != 1 {
		t.Fatalf("metrics %v, %v", metrics, err)
	}
	pm := metrics.PodMetrics[0]
	check := func(ms []*runtimeapi.Metric, cpu uint64) {
		t.Helper()
		for _, m := range ms {
			n, ok := keys[m.Name]
			if !ok || n != len(m.LabelValues) {
				t.Errorf("metric %v does not match its descriptor", m)
			}
			if m.Name == "container_cpu_usage_seconds_total" && m.Value.Value != cpu/uint64(time.Second) {
				t.Errorf("cpu metric %v, want %d", m, cpu)
			}
		}
	}
	check(pm.Metrics, 99999)
	if pm.PodSandboxId != pod || len(pm.ContainerMetrics) != 1 || pm.ContainerMetrics[0].ContainerId != id {
		t.Errorf("pod metrics %v", pm)
	}
	check(pm.ContainerMetrics[0].Metrics, 1234)
}
