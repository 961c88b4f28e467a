package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StartContainer starts a created container's init process.
func (s *Server) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	const rpc = "StartContainer"
	id := req.GetContainerId()
	m, c, err := s.lookupContainer(ctx, rpc, id)
	if err != nil {
		return nil, err
	}
	if err := m.StartContainer(ctx, c.Config.ID); err != nil {
		return nil, podError(rpc, c.Config.ID, err)
	}
	return &runtimeapi.StartContainerResponse{}, nil
}
