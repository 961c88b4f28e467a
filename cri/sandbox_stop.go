package cri

import (
	"context"
	"errors"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// StopPodSandbox stops a pod's containers and its sentry and gofer.
// It is idempotent, and an unknown pod is not an error (CRI says so:
// kubelet retries after the pod is gone).
func (s *Server) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	const rpc = "StopPodSandbox"
	id := req.GetPodSandboxId()
	m, p, err := s.lookupPod(ctx, rpc, id)
	if isNotFound(err) {
		return &runtimeapi.StopPodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := m.StopPod(ctx, p.Config.ID); err != nil && !errors.Is(err, podsandbox.ErrNotFound) {
		return nil, podError(rpc, p.Config.ID, err)
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

// RemovePodSandbox stops the pod if needed and removes it, its
// containers and their writable layers. An unknown pod is not an
// error.
func (s *Server) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	const rpc = "RemovePodSandbox"
	id := req.GetPodSandboxId()
	m, p, err := s.lookupPod(ctx, rpc, id)
	if isNotFound(err) {
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	id = p.Config.ID
	// The pod's containers go with it; their writable layers live in
	// the image store, which the pod runtime does not know about.
	all, err := m.Containers(ctx)
	if err != nil {
		return nil, podError(rpc, id, err)
	}
	var mine []string
	for _, c := range all {
		if c.Config.PodID == id {
			mine = append(mine, c.Config.ID)
		}
	}
	if err := m.RemovePod(ctx, id); err != nil && !errors.Is(err, podsandbox.ErrNotFound) {
		return nil, podError(rpc, id, err)
	}
	for _, cid := range mine {
		s.removeRootfs(ctx, rpc, cid)
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}
