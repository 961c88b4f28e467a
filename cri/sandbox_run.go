package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// internalPrefix starts the annotation keys the CRI server keeps on a
// pod for itself. They are never reported back, and requests may not
// set them.
const internalPrefix = "cocoon.internal/"

// annNamespaceOptions holds the pod's CRI namespace options (JSON), so
// that PodSandboxStatus reports them as created: podsandbox.PodConfig
// has no field for them.
const annNamespaceOptions = internalPrefix + "namespace-options"

// RunPodSandbox starts a pod: a sentry and a gofer (podsandbox.Manager
// RunPod), on the platform its runtime handler resolves to here
// (platforms.go). A retry of a request whose pod is running (same name,
// namespace, UID and attempt) returns that pod.
func (s *Server) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	const rpc = "RunPodSandbox"
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	platform, err := s.podPlatform(rpc, req.GetRuntimeHandler())
	if err != nil {
		return nil, err
	}
	pc, err := s.podConfig(rpc, req.GetConfig())
	if err != nil {
		return nil, err
	}
	pc.RuntimeHandler = req.GetRuntimeHandler()
	pc.Platform = platform

	// One request per pod metadata at a time, so that a retry that
	// arrives while the first attempt is still starting finds it.
	key := strings.Join([]string{pc.Namespace, pc.Name, pc.UID, fmt.Sprint(pc.Attempt)}, "\x00")
	unlock := s.locks.lock("pod\x00" + key)
	defer unlock()
	pods, err := m.Pods(ctx)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	for _, p := range pods {
		c := p.Config
		if p.State == podsandbox.PodReady && c.Name == pc.Name && c.Namespace == pc.Namespace && c.UID == pc.UID && c.Attempt == pc.Attempt {
			s.log.Info("RunPodSandbox: the pod is already running; returning it", "pod", c.ID, "name", c.Namespace+"/"+c.Name, "attempt", c.Attempt)
			return &runtimeapi.RunPodSandboxResponse{PodSandboxId: c.ID}, nil
		}
	}

	pc.ID = newID()
	p, err := m.RunPod(ctx, pc)
	if err != nil {
		return nil, podError(rpc, pc.ID, err)
	}
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: p.Config.ID}, nil
}

// podConfig translates and validates a PodSandboxConfig, refusing what
// the sandbox cannot provide.
func (s *Server) podConfig(rpc string, cfg *runtimeapi.PodSandboxConfig) (podsandbox.PodConfig, error) {
	var pc podsandbox.PodConfig
	if cfg == nil {
		return pc, invalid(rpc, "no pod sandbox config")
	}
	md := cfg.GetMetadata()
	if md == nil {
		return pc, invalid(rpc, "no pod sandbox metadata")
	}
	if md.GetName() == "" {
		return pc, invalid(rpc, "metadata.name is empty")
	}
	for _, f := range []struct{ name, v string }{
		{"metadata.name", md.GetName()}, {"metadata.namespace", md.GetNamespace()}, {"metadata.uid", md.GetUid()},
		{"hostname", cfg.GetHostname()}, {"log_directory", cfg.GetLogDirectory()},
		{"linux.cgroup_parent", cfg.GetLinux().GetCgroupParent()},
	} {
		if err := checkField(rpc, f.name, f.v); err != nil {
			return pc, err
		}
	}
	if strings.ContainsRune(md.GetName(), 0) || strings.ContainsRune(md.GetNamespace(), 0) {
		return pc, invalid(rpc, "metadata holds a NUL byte")
	}
	if err := checkMap(rpc, "labels", cfg.GetLabels()); err != nil {
		return pc, err
	}
	if err := checkMap(rpc, "annotations", cfg.GetAnnotations()); err != nil {
		return pc, err
	}
	for k := range cfg.GetAnnotations() {
		if strings.HasPrefix(k, internalPrefix) {
			return pc, invalid(rpc, "annotation %q: the prefix %q is reserved for cocoon", trunc(k), internalPrefix)
		}
	}
	if d := cfg.GetLogDirectory(); d != "" && !filepath.IsAbs(d) {
		return pc, invalid(rpc, "log_directory %q is not an absolute path", trunc(d))
	}
	if dns := cfg.GetDnsConfig(); dns != nil {
		for _, l := range []struct {
			name string
			v    []string
		}{{"dns_config.servers", dns.GetServers()}, {"dns_config.searches", dns.GetSearches()}, {"dns_config.options", dns.GetOptions()}} {
			if err := checkList(rpc, l.name, l.v); err != nil {
				return pc, err
			}
		}
		pc.DNS = &podsandbox.DNS{
			Servers:  append([]string(nil), dns.GetServers()...),
			Searches: append([]string(nil), dns.GetSearches()...),
			Options:  append([]string(nil), dns.GetOptions()...),
		}
	}

	var err error
	lx := cfg.GetLinux()
	sc := lx.GetSecurityContext()
	ns := sc.GetNamespaceOptions()
	if err := checkPodNamespaces(rpc, ns); err != nil {
		return pc, err
	}
	pc.HostNetwork = ns.GetNetwork() == runtimeapi.NamespaceMode_NODE
	if pc.PortMappings, err = portMappings(rpc, cfg.GetPortMappings()); err != nil {
		return pc, err
	}
	if sc.GetPrivileged() {
		return pc, invalid(rpc, "privileged pods are not supported: the pod runs in its own user-space kernel and has no host privileges to grant")
	}
	var podSeccomp string
	podSeccomp, err = seccompRef("linux.security_context", sc.GetSeccomp(), sc.GetSeccompProfilePath())
	if err != nil {
		return pc, invalid(rpc, "%v", err)
	}
	if err := checkMap(rpc, "linux.sysctls", lx.GetSysctls()); err != nil {
		return pc, err
	}

	pc.Name = md.GetName()
	pc.Namespace = md.GetNamespace()
	pc.UID = md.GetUid()
	pc.Attempt = md.GetAttempt()
	pc.Hostname = cfg.GetHostname()
	pc.LogDirectory = cfg.GetLogDirectory()
	pc.Labels = copyMap(cfg.GetLabels())
	pc.Annotations = copyMap(cfg.GetAnnotations())
	pc.CgroupParent = lx.GetCgroupParent()
	pc.Sysctls = copyMap(lx.GetSysctls())
	pc.Resources = podResources(lx.GetResources(), lx.GetOverhead())
	if limit := lx.GetResources().GetMemoryLimitInBytes(); limit > 0 && pc.Resources.MemoryLimitBytes > limit {
		// What podResources added for the RuntimeClass's overhead.
		pc.MemoryOverheadBytes = pc.Resources.MemoryLimitBytes - limit
	}
	if pc.Resources.MemoryLimitBytes == 0 && s.cfg.DefaultMemoryBytes > 0 {
		pc.Resources.MemoryLimitBytes = s.cfg.DefaultMemoryBytes
	}
	// POD is the zero value: a pod whose namespace options are present
	// and leave pid alone shares one namespace, as under containerd;
	// kubelet sends CONTAINER unless shareProcessNamespace is set.
	pc.SharePIDNamespace = ns != nil && ns.GetPid() == runtimeapi.NamespaceMode_POD
	if ns == nil {
		ns = &runtimeapi.NamespaceOption{}
	}
	b, err := json.Marshal(ns)
	if err != nil {
		return pc, fmt.Errorf("%s: namespace options: %w", rpc, err)
	}
	if pc.Annotations == nil {
		pc.Annotations = map[string]string{}
	}
	pc.Annotations[annNamespaceOptions] = string(b)
	if podSeccomp != "" {
		// The default profile of the pod's containers (cri/seccomp.go).
		pc.Annotations[annSeccomp] = podSeccomp
	}
	return pc, nil
}

// checkPodNamespaces refuses the namespace options a sandbox cannot
// honour: the pod has its own kernel, so it cannot share the host's
// PID or IPC namespace. Host networking (network NODE) is accepted:
// the sentry then stays in the host's network namespace and the pod
// gets no CNI network.
func checkPodNamespaces(rpc string, ns *runtimeapi.NamespaceOption) error {
	if ns == nil {
		return nil
	}
	if ns.GetNetwork() == runtimeapi.NamespaceMode_TARGET {
		return invalid(rpc, "namespace_options.network TARGET is for containers, not pods")
	}
	if ns.GetPid() == runtimeapi.NamespaceMode_NODE {
		return invalid(rpc, "namespace_options.pid NODE (host PID namespace) is not supported: the pod runs in its own kernel")
	}
	if ns.GetPid() == runtimeapi.NamespaceMode_TARGET {
		return invalid(rpc, "namespace_options.pid TARGET is for containers, not pods")
	}
	if ns.GetIpc() == runtimeapi.NamespaceMode_NODE {
		return invalid(rpc, "namespace_options.ipc NODE (host IPC namespace) is not supported: the pod runs in its own kernel")
	}
	if ns.GetUsernsOptions() != nil && ns.GetUsernsOptions().GetMode() == runtimeapi.NamespaceMode_POD {
		return invalid(rpc, "namespace_options.userns_options mode POD (user namespaces) is not supported by cocoon yet")
	}
	return nil
}

// portMappings translates the pod's port mappings for CNI's portmap
// plugin. Mappings without a host port only document the pod (kubelet
// sends every declared container port) and are dropped, as containerd
// drops them.
func portMappings(rpc string, pms []*runtimeapi.PortMapping) ([]podsandbox.PortMapping, error) {
	var out []podsandbox.PortMapping
	for i, pm := range pms {
		if pm == nil || pm.GetHostPort() <= 0 {
			continue
		}
		if pm.GetHostPort() > 65535 || pm.GetContainerPort() <= 0 || pm.GetContainerPort() > 65535 {
			return nil, invalid(rpc, "port_mappings[%d]: host port %d, container port %d: ports must be 1-65535", i, pm.GetHostPort(), pm.GetContainerPort())
		}
		var proto string
		switch pm.GetProtocol() {
		case runtimeapi.Protocol_TCP:
			proto = "tcp"
		case runtimeapi.Protocol_UDP:
			proto = "udp"
		case runtimeapi.Protocol_SCTP:
			proto = "sctp"
		default:
			return nil, invalid(rpc, "port_mappings[%d]: unknown protocol %d", i, pm.GetProtocol())
		}
		if ip := pm.GetHostIp(); ip != "" && net.ParseIP(ip) == nil {
			return nil, invalid(rpc, "port_mappings[%d]: host_ip %q is not an IP address", i, trunc(ip))
		}
		out = append(out, podsandbox.PortMapping{Protocol: proto, ContainerPort: pm.GetContainerPort(), HostPort: pm.GetHostPort(), HostIP: pm.GetHostIp()})
	}
	return out, nil
}

// podResources adds the pod overhead to the pod's resources: the
// sandbox's limit covers both (kubelet sizes the pod cgroup the same
// way).
func podResources(r, overhead *runtimeapi.LinuxContainerResources) podsandbox.Resources {
	out := toResources(r)
	if overhead == nil {
		return out
	}
	o := toResources(overhead)
	if out.MemoryLimitBytes > 0 && o.MemoryLimitBytes > 0 {
		out.MemoryLimitBytes += o.MemoryLimitBytes
	}
	if out.CPUQuota > 0 && o.CPUQuota > 0 {
		// Scale the overhead's quota to the pod's period.
		if o.CPUPeriod > 0 && out.CPUPeriod > 0 && o.CPUPeriod != out.CPUPeriod {
			o.CPUQuota = o.CPUQuota * out.CPUPeriod / o.CPUPeriod
		}
		out.CPUQuota += o.CPUQuota
	}
	if out.CPUShares > 0 && o.CPUShares > 0 {
		out.CPUShares += o.CPUShares
	}
	return out
}

// toResources converts CRI Linux resources; nil means none.
func toResources(r *runtimeapi.LinuxContainerResources) podsandbox.Resources {
	if r == nil {
		return podsandbox.Resources{}
	}
	return podsandbox.Resources{
		CPUPeriod:        r.GetCpuPeriod(),
		CPUQuota:         r.GetCpuQuota(),
		CPUShares:        r.GetCpuShares(),
		MemoryLimitBytes: r.GetMemoryLimitInBytes(),
		CpusetCpus:       r.GetCpusetCpus(),
		CpusetMems:       r.GetCpusetMems(),
	}
}
