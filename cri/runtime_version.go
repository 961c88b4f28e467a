package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/sandbox"
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

// Status reports the runtime ready when it has a pod runtime and the
// default runtime handlers' platform works on this host, and the network
// ready once the pod runtime has a pod network (a CNI configuration
// loaded). It lists the runtime handlers RunPodSandbox accepts. With
// verbose, info["platform"] is JSON with the platform measurement, the
// choice "auto" makes and the platform of each handler (platforms.go),
// and info["confinement"] the layers confining pods on this host
// (sandbox.ConfinementReport).
func (s *Server) Status(_ context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	runtimeReady := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	if s.pods == nil {
		runtimeReady.Status = false
		runtimeReady.Reason = "NoPodRuntime"
		runtimeReady.Message = "cocoon: this server serves images only; it has no pod runtime"
	} else if err := s.defaultPlatformCondition(); err != nil {
		runtimeReady.Status = false
		runtimeReady.Reason = "PlatformUnavailable"
		runtimeReady.Message = fmt.Sprintf("cocoon: the configured platform %q cannot run here: %v", s.cfg.platform(), err)
	} else if c := sandbox.Confinement(); !c.Usable() {
		runtimeReady.Status = false
		runtimeReady.Reason = "ConfinementUnavailable"
		runtimeReady.Message = "cocoon: the host refuses sentries a user namespace (" + c.UserNamespaceError + "); set insecure_sentry_host_root = true to run them as host root without capabilities"
	}
	resp := &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			runtimeReady,
			s.networkCondition(),
		}},
		RuntimeHandlers: handlerStatuses(),
		// SupplementalGroupsPolicy Strict is honoured (CreateContainer
		// then skips the image's /etc/group memberships).
		Features: &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true},
	}
	if req.GetVerbose() {
		info, err := s.platformInfo()
		if err != nil {
			return nil, status.Errorf(codes.Internal, "Status: %v", err)
		}
		conf, err := json.Marshal(sandbox.Confinement())
		if err != nil {
			return nil, status.Errorf(codes.Internal, "Status: %v", err)
		}
		resp.Info = map[string]string{"platform": info, "confinement": string(conf)}
	}
	return resp, nil
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

// networkCondition is the NetworkReady condition: true once the pod
// runtime can attach pods to a pod network, otherwise false with
// kubelet's usual reason and why.
func (s *Server) networkCondition() *runtimeapi.RuntimeCondition {
	c := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Reason: "NetworkPluginNotReady"}
	pn, ok := s.pods.(podsandbox.PodNetwork)
	if !ok {
		c.Message = "cocoon: the pod runtime has no pod network (CNI)"
		return c
	}
	if err := pn.NetworkStatus(); err != nil {
		c.Message = "cocoon: CNI network not ready: " + err.Error()
		return c
	}
	c.Status, c.Reason = true, ""
	return c
}

// UpdateRuntimeConfig takes kubelet's pod CIDR (comma-separated when
// the node is dual-stack) and hands it to the pod network, which passes
// it to CNI plugins as the capability ipRanges for the pods started
// afterwards. kubelet calls this at start-up and when the node's CIDR
// changes.
func (s *Server) UpdateRuntimeConfig(_ context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	const rpc = "UpdateRuntimeConfig"
	cidr := req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()
	if err := checkField(rpc, "runtime_config.network_config.pod_cidr", cidr); err != nil {
		return nil, err
	}
	pn, ok := s.pods.(podsandbox.PodNetwork)
	if !ok {
		return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
	}
	var cidrs []string
	if cidr != "" {
		cidrs = strings.Split(cidr, ",")
	}
	if err := pn.UpdatePodCIDRs(cidrs); err != nil {
		return nil, invalid(rpc, "pod_cidr %q: %v", trunc(cidr), err)
	}
	if cidr != "" {
		s.log.Info("pod CIDR updated", "pod_cidr", cidr)
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}
