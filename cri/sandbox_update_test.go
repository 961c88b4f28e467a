package cri

import (
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestUpdatePodSandboxResources(t *testing.T) {
	r := newRT(t)
	resp, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("resize")})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.PodSandboxId
	_, err = r.c.UpdatePodSandboxResources(r.ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: id[:12],
		Resources:    &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 512 << 20, CpuPeriod: 100000, CpuQuota: 50000},
		Overhead:     &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 32 << 20, CpuPeriod: 100000, CpuQuota: 10000},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ mem, quota int64 }
	r.pods.with(func() {
		res := r.pods.pods[id].Config.Resources
		got.mem, got.quota = res.MemoryLimitBytes, res.CPUQuota
	})
	if got.mem != 544<<20 || got.quota != 60000 {
		t.Errorf("pod resources after resize: memory %d quota %d, want %d and 60000 (resources plus overhead)", got.mem, got.quota, int64(544<<20))
	}
	_, err = r.c.UpdatePodSandboxResources(r.ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: "0123456789abcdef"})
	wantCode(t, err, codes.NotFound, "UpdatePodSandboxResources 0123456789abcdef")
	_, err = r.c.UpdatePodSandboxResources(r.ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{})
	wantCode(t, err, codes.InvalidArgument, "UpdatePodSandboxResources: pod_sandbox_id")
}
