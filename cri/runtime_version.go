package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// kubeletAPIVersion is the version of the kubelet runtime API that
// Version reports, as containerd and CRI-O report it.
const kubeletAPIVersion = "0.1.0"

// Version reports the runtime's name and version.
func (s *Server) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{
		Version:           kubeletAPIVersion,
		RuntimeName:       RuntimeName,
		RuntimeVersion:    s.version,
		RuntimeApiVersion: "v1",
	}, nil
}

// Status reports the runtime ready (the daemon serves) and the network
// not ready: pod networking is not implemented yet.
func (s *Server) Status(context.Context, *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			{Type: runtimeapi.RuntimeReady, Status: true},
			{
				Type:    runtimeapi.NetworkReady,
				Status:  false,
				Reason:  "NetworkPluginNotReady",
				Message: "cocoon: pod networking (CNI) is not implemented yet",
			},
		}},
	}, nil
}
