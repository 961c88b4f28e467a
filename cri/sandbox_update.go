package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdatePodSandboxResources applies a pod's new overall limits (an
// in-place pod resize): the resources plus the overhead, as at
// RunPodSandbox, become the pod cgroup's limits.
func (s *Server) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	const rpc = "UpdatePodSandboxResources"
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	id := req.GetPodSandboxId()
	if err := checkID(rpc, "pod_sandbox_id", id); err != nil {
		return nil, err
	}
	p, err := s.resolvePod(ctx, m, id)
	if err != nil {
		return nil, podError(rpc, id, err)
	}
	res := podResources(req.GetResources(), req.GetOverhead())
	if err := m.UpdatePodResources(ctx, p.Config.ID, res); err != nil {
		return nil, podError(rpc, p.Config.ID, err)
	}
	return &runtimeapi.UpdatePodSandboxResourcesResponse{}, nil
}
