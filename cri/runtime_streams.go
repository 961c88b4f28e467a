package cri

// The Stream* RPCs: the List RPCs' answers, sent in chunks so that no
// single message nears gRPC's size limit on a node with many pods.

import (
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sendChunks sends items in responses of at most streamChunk each; no
// items means no responses.
func sendChunks[T, R any](items []T, wrap func([]T) *R, send func(*R) error) error {
	for len(items) > 0 {
		n := min(len(items), streamChunk)
		if err := send(wrap(items[:n])); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func (s *Server) StreamPodSandboxes(req *runtimeapi.StreamPodSandboxesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxesResponse]) error {
	resp, err := s.listPods(stream.Context(), "StreamPodSandboxes", req.GetFilter())
	if err != nil {
		return err
	}
	return sendChunks(resp, func(c []*runtimeapi.PodSandbox) *runtimeapi.StreamPodSandboxesResponse {
		return &runtimeapi.StreamPodSandboxesResponse{PodSandboxes: c}
	}, stream.Send)
}

func (s *Server) StreamContainers(req *runtimeapi.StreamContainersRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamContainersResponse]) error {
	resp, err := s.listContainers(stream.Context(), "StreamContainers", req.GetFilter())
	if err != nil {
		return err
	}
	return sendChunks(resp, func(c []*runtimeapi.Container) *runtimeapi.StreamContainersResponse {
		return &runtimeapi.StreamContainersResponse{Containers: c}
	}, stream.Send)
}

func (s *Server) StreamContainerStats(req *runtimeapi.StreamContainerStatsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamContainerStatsResponse]) error {
	resp, err := s.listContainerStats(stream.Context(), "StreamContainerStats", req.GetFilter())
	if err != nil {
		return err
	}
	return sendChunks(resp, func(c []*runtimeapi.ContainerStats) *runtimeapi.StreamContainerStatsResponse {
		return &runtimeapi.StreamContainerStatsResponse{ContainerStats: c}
	}, stream.Send)
}

func (s *Server) StreamPodSandboxStats(req *runtimeapi.StreamPodSandboxStatsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxStatsResponse]) error {
	resp, err := s.listPodStats(stream.Context(), "StreamPodSandboxStats", req.GetFilter())
	if err != nil {
		return err
	}
	return sendChunks(resp, func(c []*runtimeapi.PodSandboxStats) *runtimeapi.StreamPodSandboxStatsResponse {
		return &runtimeapi.StreamPodSandboxStatsResponse{PodSandboxStats: c}
	}, stream.Send)
}

func (s *Server) StreamPodSandboxMetrics(_ *runtimeapi.StreamPodSandboxMetricsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxMetricsResponse]) error {
	resp, err := s.podMetrics(stream.Context(), "StreamPodSandboxMetrics")
	if err != nil {
		return err
	}
	return sendChunks(resp, func(c []*runtimeapi.PodSandboxMetrics) *runtimeapi.StreamPodSandboxMetricsResponse {
		return &runtimeapi.StreamPodSandboxMetricsResponse{PodSandboxMetrics: c}
	}, stream.Send)
}
