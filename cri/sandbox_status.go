package cri

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// PodSandboxStatus reports a pod. With verbose, info["info"] is JSON
// with the sentry's PID, the pod's config, its runtime handler and the
// platform its sentry runs on, its cgroup and its network namespace.
func (s *Server) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	const rpc = "PodSandboxStatus"
	id := req.GetPodSandboxId()
	_, p, err := s.lookupPod(ctx, rpc, id)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: podStatus(p), Timestamp: time.Now().UnixNano()}
	if req.GetVerbose() {
		info := struct {
			PID       int                         `json:"pid"`
			GoferPID  int                         `json:"goferPid,omitempty"`
			Reason    string                      `json:"reason,omitempty"`
			Cgroup    string                      `json:"cgroupParent"`
			Config    podsandbox.PodConfig        `json:"config"`
			Handler   string                      `json:"runtimeHandler"`
			Platform  string                      `json:"platform"`
			Namespace *runtimeapi.NamespaceOption `json:"namespaceOptions"`
			NetNS     string                      `json:"netns,omitempty"`
			IPs       []string                    `json:"ips,omitempty"`
		}{p.SentryPID, p.GoferPID, p.Reason, p.Config.CgroupParent, p.Config, p.Config.RuntimeHandler, podPlatformName(p), podNamespaceOptions(p), p.NetNS, p.IPs}
		info.Config.Annotations = publicAnnotations(p.Config.Annotations)
		b, err := json.Marshal(info)
		if err != nil {
			return nil, podError(rpc, p.Config.ID, err)
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// podPlatformName is the platform p's sentry was started on: the name
// RunPodSandbox resolved, or "auto" for a pod created before pods
// recorded one (its sentry chose when it started).
func podPlatformName(p *podsandbox.Pod) string {
	if p.Config.Platform == "" {
		return "auto"
	}
	return p.Config.Platform
}

// ListPodSandbox lists pods, filtered by ID (full or unique prefix),
// state and labels.
func (s *Server) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	out, err := s.listPods(ctx, "ListPodSandbox", req.GetFilter())
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListPodSandboxResponse{Items: out}, nil
}

func (s *Server) listPods(ctx context.Context, rpc string, f *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	if err := checkField(rpc, "filter.id", f.GetId()); err != nil {
		return nil, err
	}
	pods, err := m.Pods(ctx)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	ids := make([]string, 0, len(pods))
	for _, p := range pods {
		ids = append(ids, p.Config.ID)
	}
	match := matchIDPrefix(f.GetId(), ids)
	out := []*runtimeapi.PodSandbox{}
	for _, p := range pods {
		if !match[p.Config.ID] {
			continue
		}
		st := podState(p.State)
		if f.GetState() != nil && f.GetState().GetState() != st {
			continue
		}
		if !matchLabels(p.Config.Labels, f.GetLabelSelector()) {
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{
			Id:             p.Config.ID,
			Metadata:       podMetadata(p),
			State:          st,
			CreatedAt:      p.CreatedAt.UnixNano(),
			Labels:         copyMap(p.Config.Labels),
			Annotations:    publicAnnotations(p.Config.Annotations),
			RuntimeHandler: p.Config.RuntimeHandler,
		})
	}
	return out, nil
}

func podState(s podsandbox.PodState) runtimeapi.PodSandboxState {
	if s == podsandbox.PodReady {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

func podMetadata(p *podsandbox.Pod) *runtimeapi.PodSandboxMetadata {
	return &runtimeapi.PodSandboxMetadata{Name: p.Config.Name, Namespace: p.Config.Namespace, Uid: p.Config.UID, Attempt: p.Config.Attempt}
}

// podStatus is a pod's CRI status.
func podStatus(p *podsandbox.Pod) *runtimeapi.PodSandboxStatus {
	return &runtimeapi.PodSandboxStatus{
		Id:             p.Config.ID,
		Metadata:       podMetadata(p),
		State:          podState(p.State),
		CreatedAt:      p.CreatedAt.UnixNano(),
		Network:        podNetworkStatus(p),
		Linux:          &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: podNamespaceOptions(p)}},
		Labels:         copyMap(p.Config.Labels),
		Annotations:    publicAnnotations(p.Config.Annotations),
		RuntimeHandler: p.Config.RuntimeHandler,
	}
}

// podNetworkStatus reports the pod's IPs, the primary one first. A
// host-network pod reports none: as containerd does, the runtime is not
// responsible for the node's addresses, and kubelet fills in the host
// IP itself.
func podNetworkStatus(p *podsandbox.Pod) *runtimeapi.PodSandboxNetworkStatus {
	st := &runtimeapi.PodSandboxNetworkStatus{}
	if p.Config.HostNetwork || len(p.IPs) == 0 {
		return st
	}
	st.Ip = p.IPs[0]
	for _, ip := range p.IPs[1:] {
		st.AdditionalIps = append(st.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
	}
	return st
}

// podNamespaceOptions are the namespace options the pod was created
// with (kept in an internal annotation).
func podNamespaceOptions(p *podsandbox.Pod) *runtimeapi.NamespaceOption {
	ns := &runtimeapi.NamespaceOption{}
	if v, ok := p.Config.Annotations[annNamespaceOptions]; ok {
		// A record written by this server; if it does not parse,
		// the defaults (all POD) are what the pod has anyway.
		_ = json.Unmarshal([]byte(v), ns)
	}
	return ns
}

// publicAnnotations are a pod's annotations without cocoon's internal
// ones.
func publicAnnotations(a map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		if !strings.HasPrefix(k, internalPrefix) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
