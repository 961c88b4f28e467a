package cri

// The RuntimeService RPCs cocoon does not implement. Each returns
// codes.Unimplemented with a message naming the RPC and why, rather than
// the generic message of runtimeapi.UnimplementedRuntimeServiceServer.

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// unsupported is the error of a checkpoint/restore RPC.
func unsupported(rpc string) error {
	return status.Errorf(codes.Unimplemented, "%s: not supported: cocoon has no checkpoint/restore", rpc)
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
