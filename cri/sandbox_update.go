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
	id := req.GetPodSandboxId()
	m, p, err := s.lookupPod(ctx, rpc, id)
	if err != nil {
		return nil, err
	}
	res := podResources(req.GetResources(), req.GetOverhead())
	if err := m.UpdatePodResources(ctx, p.Config.ID, res); err != nil {
		return nil, podError(rpc, p.Config.ID, err)
	}
	return &runtimeapi.UpdatePodSandboxResourcesResponse{}, nil
}
