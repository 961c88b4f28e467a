package cni

import (
	"encoding/json"
	"net"
	"reflect"
	"strings"
	"testing"

	types100 "github.com/containernetworking/cni/pkg/types/100"
)

func TestCapabilityArgs(t *testing.T) {
	for _, tt := range []struct {
		desc  string
		args  PodArgs
		cidrs []string
		want  string // JSON of the map
		err   string
	}{
		{desc: "nothing", want: `{}`},
		{
			desc: "all",
			args: PodArgs{
				PortMappings: []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"}, {HostPort: 0, ContainerPort: 9090}, {HostPort: 53, ContainerPort: 53, Protocol: "udp", HostIP: "127.0.0.1"}},
				Bandwidth:    &Bandwidth{IngressRate: 1e6, IngressBurst: 1 << 32},
				DNS:          &DNS{Servers: []string{"10.0.0.10"}},
				CgroupPath:   "/kubepods/x",
				Annotations:  map[string]string{"a": "b"},
			},
			cidrs: []string{"10.1.0.0/24", "fd00::/64"},
			want: `{"bandwidth":{"ingressRate":1000000,"ingressBurst":4294967296},"cgroupPath":"/kubepods/x","dns":{"servers":["10.0.0.10"]},` +
				`"io.kubernetes.cri.pod-annotations":{"a":"b"},"ipRanges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::/64"}]],` +
				`"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":53,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}]}`,
		},
		{desc: "empty dns and bandwidth", args: PodArgs{DNS: &DNS{}, Bandwidth: &Bandwidth{}}, want: `{}`},
		{desc: "bad port", args: PodArgs{PortMappings: []PortMapping{{HostPort: 80, ContainerPort: 0}}}, err: "ports must be"},
		{desc: "bad protocol", args: PodArgs{PortMappings: []PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "icmp"}}}, err: "protocol"},
		{desc: "bad host IP", args: PodArgs{PortMappings: []PortMapping{{HostPort: 80, ContainerPort: 80, HostIP: "x"}}}, err: "host IP"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := capabilityArgs(tt.args, tt.cidrs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestCNIArgs(t *testing.T) {
	got := cniArgs("abc", PodArgs{Name: "n", Namespace: "ns", UID: "u"})
	want := [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "ns"}, {"K8S_POD_NAME", "n"}, {"K8S_POD_INFRA_CONTAINER_ID", "abc"}, {"K8S_POD_UID", "u"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestSetPodCIDRs(t *testing.T) {
	c := &CNI{}
	if err := c.SetPodCIDRs([]string{" 10.1.0.7/24", "", "fd00::1/64"}); err != nil {
		t.Fatal(err)
	}
	if got := c.PodCIDRs(); !reflect.DeepEqual(got, []string{"10.1.0.0/24", "fd00::/64"}) {
		t.Errorf("PodCIDRs = %q", got)
	}
	if err := c.SetPodCIDRs([]string{"10.1.0.0"}); err == nil {
		t.Error("a CIDR without a length is accepted")
	}
}

// The primary IP is the first IPv4 one; addresses on host-side
// interfaces are not the pod's.
func TestResultIPs(t *testing.T) {
	idx := func(i int) *int { return &i }
	ipn := func(s string) net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return *n
	}
	r := &types100.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*types100.Interface{{Name: "cni0"}, {Name: "veth1"}, {Name: "eth0", Sandbox: "/run/ns"}},
		IPs: []*types100.IPConfig{
			{Interface: idx(0), Address: ipn("10.88.0.1/16")},
			{Interface: idx(2), Address: ipn("fd00::5/64")},
			{Interface: idx(2), Address: ipn("10.88.0.5/16")},
			{Interface: idx(2), Address: ipn("10.99.0.5/16")},
		},
	}
	got, err := newResult(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.88.0.5", "10.99.0.5", "fd00::5"}; !reflect.DeepEqual(got.IPs, want) {
		t.Errorf("IPs = %q, want %q", got.IPs, want)
	}
	// No interface information: every address is the pod's.
	got, _ = newResult(&types100.Result{CNIVersion: "1.0.0", IPs: []*types100.IPConfig{{Address: ipn("fd00::7/64")}}})
	if !reflect.DeepEqual(got.IPs, []string{"fd00::7"}) {
		t.Errorf("IPs = %q", got.IPs)
	}
}
