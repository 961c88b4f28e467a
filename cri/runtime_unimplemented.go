package cri

// The RuntimeService RPCs that are not implemented yet. Each returns
// codes.Unimplemented with a message naming the RPC and why, rather than
// the generic message of runtimeapi.UnimplementedRuntimeServiceServer.

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// notYet is the error of a RuntimeService RPC that comes with the pod
// and container runtime, which is not built yet.
func notYet(rpc string) error {
	return status.Errorf(codes.Unimplemented, "%s: not implemented yet: cocoon serves the CRI image service; pods and containers come with the CRI runtime service", rpc)
}

// unsupported is the error of an RPC cocoon does not plan to support.
func unsupported(rpc string) error {
	return status.Errorf(codes.Unimplemented, "%s: not supported: cocoon has no checkpoint/restore", rpc)
}

func (s *Server) RunPodSandbox(context.Context, *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	return nil, notYet("RunPodSandbox")
}

func (s *Server) StopPodSandbox(context.Context, *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	return nil, notYet("StopPodSandbox")
}

func (s *Server) RemovePodSandbox(context.Context, *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	return nil, notYet("RemovePodSandbox")
}

func (s *Server) PodSandboxStatus(context.Context, *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	return nil, notYet("PodSandboxStatus")
}

func (s *Server) ListPodSandbox(context.Context, *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	return nil, notYet("ListPodSandbox")
}

func (s *Server) CreateContainer(context.Context, *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	return nil, notYet("CreateContainer")
}

func (s *Server) StartContainer(context.Context, *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	return nil, notYet("StartContainer")
}

func (s *Server) StopContainer(context.Context, *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	return nil, notYet("StopContainer")
}

func (s *Server) RemoveContainer(context.Context, *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	return nil, notYet("RemoveContainer")
}

func (s *Server) ListContainers(context.Context, *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	return nil, notYet("ListContainers")
}

func (s *Server) ContainerStatus(context.Context, *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	return nil, notYet("ContainerStatus")
}

func (s *Server) UpdateContainerResources(context.Context, *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	return nil, notYet("UpdateContainerResources")
}

func (s *Server) ReopenContainerLog(context.Context, *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	return nil, notYet("ReopenContainerLog")
}

func (s *Server) ExecSync(context.Context, *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	return nil, notYet("ExecSync")
}

func (s *Server) Exec(context.Context, *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return nil, notYet("Exec")
}

func (s *Server) Attach(context.Context, *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return nil, notYet("Attach")
}

func (s *Server) PortForward(context.Context, *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return nil, notYet("PortForward")
}

func (s *Server) ContainerStats(context.Context, *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	return nil, notYet("ContainerStats")
}

func (s *Server) ListContainerStats(context.Context, *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	return nil, notYet("ListContainerStats")
}

func (s *Server) PodSandboxStats(context.Context, *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	return nil, notYet("PodSandboxStats")
}

func (s *Server) ListPodSandboxStats(context.Context, *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	return nil, notYet("ListPodSandboxStats")
}

// UpdateRuntimeConfig accepts kubelet's pod CIDR and ignores it: the
// network comes from the CNI configuration, as with containerd's
// non-templated configs. kubelet calls this at start-up.
func (s *Server) UpdateRuntimeConfig(context.Context, *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}

func (s *Server) CheckpointContainer(context.Context, *runtimeapi.CheckpointContainerRequest) (*runtimeapi.CheckpointContainerResponse, error) {
	return nil, unsupported("CheckpointContainer")
}

func (s *Server) CheckpointPod(context.Context, *runtimeapi.CheckpointPodRequest) (*runtimeapi.CheckpointPodResponse, error) {
	return nil, unsupported("CheckpointPod")
}

func (s *Server) RestorePod(context.Context, *runtimeapi.RestorePodRequest) (*runtimeapi.RestorePodResponse, error) {
	return nil, unsupported("RestorePod")
}

func (s *Server) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return nil, notYet("ListMetricDescriptors")
}

func (s *Server) ListPodSandboxMetrics(context.Context, *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	return nil, notYet("ListPodSandboxMetrics")
}

func (s *Server) StreamPodSandboxes(*runtimeapi.StreamPodSandboxesRequest, grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxesResponse]) error {
	return notYet("StreamPodSandboxes")
}

func (s *Server) StreamContainers(*runtimeapi.StreamContainersRequest, grpc.ServerStreamingServer[runtimeapi.StreamContainersResponse]) error {
	return notYet("StreamContainers")
}

func (s *Server) StreamContainerStats(*runtimeapi.StreamContainerStatsRequest, grpc.ServerStreamingServer[runtimeapi.StreamContainerStatsResponse]) error {
	return notYet("StreamContainerStats")
}

func (s *Server) StreamPodSandboxStats(*runtimeapi.StreamPodSandboxStatsRequest, grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxStatsResponse]) error {
	return notYet("StreamPodSandboxStats")
}

func (s *Server) GetContainerEvents(*runtimeapi.GetEventsRequest, grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	return notYet("GetContainerEvents")
}

func (s *Server) StreamPodSandboxMetrics(*runtimeapi.StreamPodSandboxMetricsRequest, grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxMetricsResponse]) error {
	return notYet("StreamPodSandboxMetrics")
}

func (s *Server) RuntimeConfig(context.Context, *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return nil, notYet("RuntimeConfig")
}

func (s *Server) UpdatePodSandboxResources(context.Context, *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	return nil, notYet("UpdatePodSandboxResources")
}
