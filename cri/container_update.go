package cri

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// UpdateContainerResources changes a container's CPU and memory
// limits. A request without Linux resources changes nothing.
func (s *Server) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	const rpc = "UpdateContainerResources"
	id := req.GetContainerId()
	m, c, err := s.lookupContainer(ctx, rpc, id)
	if err != nil {
		return nil, err
	}
	r := req.GetLinux()
	if r == nil {
		return &runtimeapi.UpdateContainerResourcesResponse{}, nil
	}
	if err := checkField(rpc, "linux.cpuset_cpus", r.GetCpusetCpus()); err != nil {
		return nil, err
	}
	if err := checkField(rpc, "linux.cpuset_mems", r.GetCpusetMems()); err != nil {
		return nil, err
	}
	if err := m.UpdateContainerResources(ctx, c.Config.ID, toResources(r)); err != nil {
		return nil, podError(rpc, c.Config.ID, err)
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// ReopenContainerLog reopens a running container's log file (kubelet
// calls it after rotating the log).
func (s *Server) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	const rpc = "ReopenContainerLog"
	id := req.GetContainerId()
	m, c, err := s.lookupContainer(ctx, rpc, id)
	if err != nil {
		return nil, err
	}
	if c.State != podsandbox.ContainerRunning {
		return nil, status.Errorf(codes.FailedPrecondition, "%s %s: the container is not running (%s)", rpc, c.Config.ID, c.State)
	}
	if err := m.ReopenContainerLog(ctx, c.Config.ID); err != nil {
		return nil, podError(rpc, c.Config.ID, err)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
