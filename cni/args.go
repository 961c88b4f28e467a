package cni

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

// PodArgs is what the plugins are told about a pod besides its ID and
// namespace: the CNI_ARGS kubelet-era plugins read and the capability
// arguments (runtimeConfig) of the conventions document
// (github.com/containernetworking/cni/blob/main/CONVENTIONS.md). libcni
// passes each capability only to plugins that declare it.
type PodArgs struct {
	Name, Namespace, UID string
	// PortMappings are the pod's host ports (capability portMappings,
	// the portmap plugin).
	PortMappings []PortMapping
	// Bandwidth limits the pod's traffic (capability bandwidth).
	Bandwidth *Bandwidth
	// DNS is the pod's resolver configuration (capability dns).
	DNS *DNS
	// CgroupPath is the pod's cgroup parent (capability cgroupPath).
	CgroupPath string
	// Annotations are the pod's annotations (capability
	// io.kubernetes.cri.pod-annotations, as containerd passes them).
	Annotations map[string]string
}

// PortMapping is one host port (capability portMappings).
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// Bandwidth is a traffic limit in bits per second (capability
// bandwidth); zero rates are unlimited.
type Bandwidth struct {
	IngressRate  uint64 `json:"ingressRate,omitempty"`
	IngressBurst uint64 `json:"ingressBurst,omitempty"`
	EgressRate   uint64 `json:"egressRate,omitempty"`
	EgressBurst  uint64 `json:"egressBurst,omitempty"`
}

// DNS is the capability dns.
type DNS struct {
	Servers  []string `json:"servers,omitempty"`
	Searches []string `json:"searches,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// IPRange is one entry of the capability ipRanges (host-local's range
// format).
type IPRange struct {
	Subnet string `json:"subnet"`
}

// Capability argument names.
const (
	capPortMappings   = "portMappings"
	capBandwidth      = "bandwidth"
	capDNS            = "dns"
	capIPRanges       = "ipRanges"
	capCgroupPath     = "cgroupPath"
	capPodAnnotations = "io.kubernetes.cri.pod-annotations"
)

// SetPodCIDRs sets the node's pod CIDRs (kubelet's UpdateRuntimeConfig),
// passed to plugins as the capability ipRanges, one range set per CIDR
// (so a dual-stack node gives each pod an IPv4 and an IPv6 address). An
// empty list clears them.
func (c *CNI) SetPodCIDRs(cidrs []string) error {
	var clean []string
	for _, s := range cidrs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("pod CIDR %q: %w", s, err)
		}
		clean = append(clean, p.Masked().String())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.podCIDRs = clean
	return nil
}

// PodCIDRs returns the pod CIDRs SetPodCIDRs set.
func (c *CNI) PodCIDRs() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.podCIDRs...)
}

// runtimeConf builds the libcni arguments of one plugin call.
func (c *CNI) runtimeConf(id, netns string, a PodArgs, podCIDRs []string) (*libcni.RuntimeConf, error) {
	if id == "" {
		return nil, fmt.Errorf("cni: no pod ID")
	}
	caps, err := capabilityArgs(a, podCIDRs)
	if err != nil {
		return nil, fmt.Errorf("cni: pod %s: %w", id, err)
	}
	return &libcni.RuntimeConf{
		ContainerID:    id,
		NetNS:          netns,
		IfName:         c.opts.IfName,
		Args:           cniArgs(id, a),
		CapabilityArgs: caps,
	}, nil
}

// cniArgs are the CNI_ARGS kubelet's dockershim passed and plugins
// still read; IgnoreUnknown keeps plugins that know none of them from
// failing.
func cniArgs(id string, a PodArgs) [][2]string {
	return [][2]string{
		{"IgnoreUnknown", "1"},
		{"K8S_POD_NAMESPACE", a.Namespace},
		{"K8S_POD_NAME", a.Name},
		{"K8S_POD_INFRA_CONTAINER_ID", id},
		{"K8S_POD_UID", a.UID},
	}
}

// capabilityArgs converts a pod's arguments to runtimeConfig values,
// checking what a request could get wrong.
func capabilityArgs(a PodArgs, podCIDRs []string) (map[string]any, error) {
	caps := map[string]any{}
	var pms []PortMapping
	for _, pm := range a.PortMappings {
		if pm.HostPort <= 0 {
			// Not a host port: nothing for portmap to do (containerd
			// drops these too).
			continue
		}
		if pm.HostPort > 65535 || pm.ContainerPort <= 0 || pm.ContainerPort > 65535 {
			return nil, fmt.Errorf("port mapping %d->%d: ports must be 1-65535", pm.HostPort, pm.ContainerPort)
		}
		proto := strings.ToLower(pm.Protocol)
		switch proto {
		case "":
			proto = "tcp"
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("port mapping %d->%d: protocol %q: want tcp, udp or sctp", pm.HostPort, pm.ContainerPort, pm.Protocol)
		}
		if pm.HostIP != "" && net.ParseIP(pm.HostIP) == nil {
			return nil, fmt.Errorf("port mapping %d->%d: host IP %q is not an IP address", pm.HostPort, pm.ContainerPort, pm.HostIP)
		}
		pm.Protocol = proto
		pms = append(pms, pm)
	}
	if len(pms) > 0 {
		caps[capPortMappings] = pms
	}
	if a.Bandwidth != nil && *a.Bandwidth != (Bandwidth{}) {
		caps[capBandwidth] = *a.Bandwidth
	}
	if a.DNS != nil && (len(a.DNS.Servers) > 0 || len(a.DNS.Searches) > 0 || len(a.DNS.Options) > 0) {
		caps[capDNS] = *a.DNS
	}
	if len(podCIDRs) > 0 {
		var ranges [][]IPRange
		for _, s := range podCIDRs {
			ranges = append(ranges, []IPRange{{Subnet: s}})
		}
		caps[capIPRanges] = ranges
	}
	if a.CgroupPath != "" {
		caps[capCgroupPath] = a.CgroupPath
	}
	if len(a.Annotations) > 0 {
		caps[capPodAnnotations] = maps.Clone(a.Annotations)
	}
	return caps, nil
}
