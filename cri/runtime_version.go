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

// Status reports the runtime ready when it has a pod runtime, and the
// network not ready: pod networking (CNI) is not wired yet. It lists
// the runtime handlers RunPodSandbox accepts.
func (s *Server) Status(context.Context, *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	runtimeReady := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	if s.pods == nil {
		runtimeReady.Status = false
		runtimeReady.Reason = "NoPodRuntime"
		runtimeReady.Message = "cocoon: this server serves images only; it has no pod runtime"
	}
	features := &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: false, UserNamespaces: false}
	return &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			runtimeReady,
			{
				Type:    runtimeapi.NetworkReady,
				Status:  false,
				Reason:  "NetworkPluginNotReady",
				Message: "cocoon: pod networking (CNI wiring) is not implemented yet",
			},
		}},
		RuntimeHandlers: []*runtimeapi.RuntimeHandler{
			{Name: "", Features: features},
			{Name: handlerCocoon, Features: features},
		},
		// SupplementalGroupsPolicy Strict is honoured (CreateContainer
		// then skips the image's /etc/group memberships).
		Features: &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true},
	}, nil
}

// RuntimeConfig reports the cgroup driver kubelet must use (the
// configuration's cgroup_driver).
func (s *Server) RuntimeConfig(context.Context, *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	d := runtimeapi.CgroupDriver_CGROUPFS
	if s.cfg.CgroupDriver == CgroupDriverSystemd {
		d = runtimeapi.CgroupDriver_SYSTEMD
	}
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: d}}, nil
}
