package cri

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// netPods is fakePods with a pod network.
type netPods struct {
	*fakePods
	status error
	cidrs  []string
}

func (n *netPods) NetworkStatus() error { return n.status }

func (n *netPods) UpdatePodCIDRs(cidrs []string) error {
	for _, c := range cidrs {
		if !strings.Contains(c, "/") {
			return errors.New("not a CIDR")
		}
	}
	n.cidrs = cidrs
	return nil
}

var _ podsandbox.PodNetwork = (*netPods)(nil)

func newNetRT(t *testing.T) (*rt, *netPods) {
	t.Helper()
	np := &netPods{fakePods: newFakePods()}
	s := NewServer(newFake(), np, "v-test", nil)
	c := serveGRPC(t, s)
	return &rt{t: t, s: s, pods: np.fakePods, c: c.rt, ctx: ctxT(t)}, np
}

func networkReady(t *testing.T, r *rt) *runtimeapi.RuntimeCondition {
	t.Helper()
	st, err := r.c.Status(r.ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.GetStatus().GetConditions() {
		if c.Type == runtimeapi.NetworkReady {
			return c
		}
	}
	t.Fatal("no NetworkReady condition")
	return nil
}

// NetworkReady follows the pod network's status, with the load error as
// the message.
func TestStatusNetworkReady(t *testing.T) {
	r, np := newNetRT(t)
	np.status = errors.New("no network config found in /etc/cni/net.d")
	c := networkReady(t, r)
	if c.Status || c.Reason != "NetworkPluginNotReady" || !strings.Contains(c.Message, "no network config found in /etc/cni/net.d") {
		t.Errorf("not ready: %v", c)
	}
	np.status = nil
	if c := networkReady(t, r); !c.Status || c.Reason != "" {
		t.Errorf("ready: %v", c)
	}
}

// UpdateRuntimeConfig hands the pod CIDRs (dual-stack: comma-separated)
// to the pod network and refuses one that does not parse.
func TestUpdateRuntimeConfigPodCIDR(t *testing.T) {
	r, np := newNetRT(t)
	req := func(cidr string) *runtimeapi.UpdateRuntimeConfigRequest {
		return &runtimeapi.UpdateRuntimeConfigRequest{RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: cidr}}}
	}
	if _, err := r.c.UpdateRuntimeConfig(r.ctx, req("10.1.0.0/24,fd00:1::/64")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.1.0.0/24", "fd00:1::/64"}; !slices.Equal(np.cidrs, want) {
		t.Errorf("cidrs = %q, want %q", np.cidrs, want)
	}
	_, err := r.c.UpdateRuntimeConfig(r.ctx, req("bogus"))
	wantCode(t, err, codes.InvalidArgument, "UpdateRuntimeConfig", "bogus")
	if _, err := r.c.UpdateRuntimeConfig(r.ctx, &runtimeapi.UpdateRuntimeConfigRequest{}); err != nil {
		t.Fatal(err)
	}
	if np.cidrs != nil {
		t.Errorf("cidrs after an empty update = %q", np.cidrs)
	}
}

// A host-network pod is accepted and reaches the runtime as such; port
// mappings are translated (those without a host port dropped) and bad
// ones refused.
func TestRunPodSandboxNetwork(t *testing.T) {
	r, _ := newNetRT(t)
	pc := testPodConfig("hostnet")
	pc.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
	if _, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc}); err != nil {
		t.Fatal(err)
	}
	if !r.pods.lastRun.HostNetwork {
		t.Error("HostNetwork not set for network NODE")
	}

	pc = testPodConfig("ports")
	pc.PortMappings = []*runtimeapi.PortMapping{
		{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080},
		{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
		{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 9090},
	}
	if _, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc}); err != nil {
		t.Fatal(err)
	}
	want := []podsandbox.PortMapping{
		{Protocol: "tcp", ContainerPort: 80, HostPort: 8080},
		{Protocol: "udp", ContainerPort: 53, HostPort: 5353, HostIP: "127.0.0.1"},
	}
	if got := r.pods.lastRun.PortMappings; !slices.Equal(got, want) || r.pods.lastRun.HostNetwork {
		t.Errorf("port mappings = %+v (host network %v), want %+v", got, r.pods.lastRun.HostNetwork, want)
	}

	for _, tt := range []struct {
		pm   *runtimeapi.PortMapping
		want string
	}{
		{&runtimeapi.PortMapping{ContainerPort: 0, HostPort: 80}, "ports must be 1-65535"},
		{&runtimeapi.PortMapping{ContainerPort: 80, HostPort: 70000}, "ports must be 1-65535"},
		{&runtimeapi.PortMapping{ContainerPort: 80, HostPort: 80, HostIp: "nowhere"}, "host_ip"},
		{&runtimeapi.PortMapping{ContainerPort: 80, HostPort: 80, Protocol: 7}, "protocol"},
	} {
		pc := testPodConfig("badport")
		pc.PortMappings = []*runtimeapi.PortMapping{tt.pm}
		_, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
		wantCode(t, err, codes.InvalidArgument, "RunPodSandbox", tt.want)
	}
}

// Containers of a host-network pod come with network NODE, as kubelet
// sends them; a container asking for it in a pod with its own network is
// refused.
func TestCreateContainerHostNetwork(t *testing.T) {
	r := newRT(t)
	hostPod := r.runPod("hostnet")
	r.pods.with(func() { r.pods.pods[hostPod].Config.HostNetwork = true })
	ownPod := r.runPod("own")
	nodeNetwork := func(c *runtimeapi.ContainerConfig) {
		c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}}
	}
	r.createContainer(hostPod, "c", nodeNetwork)
	cfg := testContainerConfig("c")
	nodeNetwork(cfg)
	_, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: ownPod, Config: cfg, SandboxConfig: testPodConfig("own")})
	wantCode(t, err, codes.InvalidArgument, "CreateContainer", "does not use the host network")
}

// PodSandboxStatus reports the pod's IPs, primary first, and none for a
// host-network pod.
func TestPodSandboxStatusIPs(t *testing.T) {
	r, _ := newNetRT(t)
	id := r.runPod("ips")
	r.pods.with(func() { r.pods.pods[id].IPs = []string{"10.88.0.5", "fd00::5"} })
	st, err := r.c.PodSandboxStatus(context.Background(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatal(err)
	}
	n := st.GetStatus().GetNetwork()
	if n.GetIp() != "10.88.0.5" || len(n.GetAdditionalIps()) != 1 || n.GetAdditionalIps()[0].GetIp() != "fd00::5" {
		t.Errorf("network = %v", n)
	}
	r.pods.with(func() { r.pods.pods[id].Config.HostNetwork = true })
	st, err = r.c.PodSandboxStatus(context.Background(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatal(err)
	}
	if n := st.GetStatus().GetNetwork(); n.GetIp() != "" || len(n.GetAdditionalIps()) != 0 {
		t.Errorf("host network pod: network = %v", n)
	}
}
