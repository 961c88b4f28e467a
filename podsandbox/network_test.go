package podsandbox

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/cni"
	"github.com/cocoonrt/cocoon/podsandbox/netns"
)

// These tests attach pods to a bridge network of their own made by the
// real CNI plugins in /usr/lib/cni (Debian's containernetworking-plugins):
// a test-unique bridge and /24, host-local's leases kept in the test's
// directory. Nothing reaches the outside network.

const cniPluginDir = "/usr/lib/cni"

// podNet is a test's pod network.
type podNet struct {
	bridge  string
	subnet  netip.Prefix
	confDir string
	dataDir string
	cache   string
}

// withNetwork gives e's runtimes a pod network whose conf dir holds the
// conflist made by conf (nil: a bridge, host-local and portmap).
func withNetwork(t *testing.T, e *testEnv, conf func(*podNet) string) *podNet {
	t.Helper()
	for _, p := range []string{"bridge", "host-local", "portmap"} {
		if _, err := os.Stat(filepath.Join(cniPluginDir, p)); err != nil {
			t.Skipf("needs the CNI plugins in %s: %v", cniPluginDir, err)
		}
	}
	n := &podNet{bridge: "cpt" + randID()[:8], confDir: t.TempDir(), dataDir: t.TempDir(), cache: t.TempDir()}
	for {
		i, _ := rand.Int(rand.Reader, big.NewInt(8*256))
		cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(208 + i.Int64()/256), byte(i.Int64() % 256), 0}), 24)
		out, _ := exec.Command("ip", "-4", "route", "show", "to", "match", cand.Addr().Next().String()).Output()
		if !strings.Contains(string(out), "/24") {
			n.subnet = cand
			break
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", n.bridge).Run() })
	if conf == nil {
		conf = (*podNet).bridgeConf
	}
	if err := os.WriteFile(filepath.Join(n.confDir, "10-test.conflist"), []byte(conf(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := cni.New(cni.Options{ConfDir: n.confDir, BinDirs: []string{cniPluginDir}, CacheDir: n.cache, NoWatch: true,
		Log: slog.New(slog.NewTextHandler(testLogWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Status(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.network = c
	e.leases = n.leases
	return n
}

func (n *podNet) bridgeConf() string {
	return fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [
	  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
	   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]]}},
	  {"type": "portmap", "capabilities": {"portMappings": true}}]}`, n.bridge, n.bridge, n.dataDir, n.subnet)
}

// leases are host-local's allocated IPs.
func (n *podNet) leases() []string {
	ents, _ := os.ReadDir(filepath.Join(n.dataDir, n.bridge))
	var out []string
	for _, e := range ents {
		if _, err := netip.ParseAddr(e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// stubDescriptors lists the open descriptors of every stub process (a
// platform's "cocoon-stub") below the process sentry; it fails the test
// when there is none.
func stubDescriptors(t *testing.T, sentry int) map[int][]string {
	t.Helper()
	parent := map[int]int{}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// After the command's closing parenthesis: state, then PPID.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			parent[pid] = ppid
		}
	}
	below := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			if pid = parent[pid]; pid == sentry {
				return true
			}
		}
		return false
	}
	out := map[int][]string{}
	for pid := range parent {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || !strings.Contains(exe, "cocoon-stub") || !below(pid) {
			continue
		}
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		for _, e := range ents {
			out[pid] = append(out[pid], e.Name())
		}
	}
	if len(out) == 0 {
		t.Errorf("no stub process below sentry %d", sentry)
	}
	return out
}

// netnsOf is the network namespace of a process, as netns.ID reports;
// pid 0 is the calling thread's (the host's).
func netnsOf(t *testing.T, pid int) uint64 {
	t.Helper()
	p := "/proc/thread-self/ns/net"
	if pid != 0 {
		p = filepath.Join("/proc", strconv.Itoa(pid), "ns/net")
	}
	id, err := netns.ID(p)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitNoLeftovers(t *testing.T, e *testEnv) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := e.leftovers()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A pod gets an IP from the network on eth0 of its own namespace, which
// the sentry runs in (the gofer in another, empty one); stopping the pod
// releases the IP and removes the namespace; removing it leaves nothing.
func TestPodNetwork(t *testing.T) {
	e := newEnv(t)
	n := withNetwork(t, e, nil)
	r := e.runtime()
	ctx := context.Background()
	cfg := podConfig("net")
	cfg.PortMappings = []PortMapping{{Protocol: "tcp", ContainerPort: 80, HostPort: int32(30000 + time.Now().UnixNano()%20000)}}
	pod := mustRunPod(t, r, cfg)

	if len(pod.IPs) != 1 || !n.subnet.Contains(netip.MustParseAddr(pod.IPs[0])) {
		t.Fatalf("pod IPs %q, want one in %s", pod.IPs, n.subnet)
	}
	if want := filepath.Join(e.run, "netns", pod.Config.ID); pod.NetNS != want || !netns.Is(want) {
		t.Fatalf("pod netns %q, want the namespace %s", pod.NetNS, want)
	}
	podNS, err := netns.ID(pod.NetNS)
	if err != nil {
		t.Fatal(err)
	}
	if got := netnsOf(t, pod.SentryPID); got != podNS {
		t.Errorf("the sentry is in network namespace %d, want the pod's %d", got, podNS)
	}
	if got := netnsOf(t, pod.GoferPID); got == podNS || got == netnsOf(t, 0) {
		t.Errorf("the gofer is in network namespace %d: the pod's or the host's", got)
	}
	// The sentry's stack has taken eth0 over: the link is up, and the
	// host kernel's view of it holds no IPv4 address (the pod IP is the
	// sentry's to answer for).
	out, err := exec.Command("nsenter", "--net="+pod.NetNS, "ip", "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil || strings.Contains(string(out), "inet ") {
		t.Errorf("eth0 in the pod's namespace still holds an address: %v: %s", err, out)
	}
	if out, err := exec.Command("nsenter", "--net="+pod.NetNS, "ip", "-o", "link", "show", "dev", "eth0").CombinedOutput(); err != nil || !strings.Contains(string(out), "UP") {
		t.Errorf("eth0 in the pod's namespace is not up: %v: %s", err, out)
	}
	if got := n.leases(); len(got) != 1 || got[0] != pod.IPs[0] {
		t.Errorf("leases = %q", got)
	}
	// The stubs the sentry's platform runs application code in hold only
	// the memory file (descriptor 0) and the pod's store (1, a regular
	// file): not the pod's packet socket, nor any other descriptor the
	// daemon handed the sentry.
	for pid, fds := range stubDescriptors(t, pod.SentryPID) {
		if len(fds) != 2 || fds[0] != "0" || fds[1] != "1" {
			t.Errorf("stub %d holds descriptors %v, want only 0 and 1", pid, fds)
			continue
		}
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/1", pid)); err == nil && filepath.Base(target) != podStoreName {
			t.Errorf("stub %d's descriptor 1 is %s, want the pod's store", pid, target)
		}
	}
	rules, _ := exec.Command("iptables-save", "-t", "nat").Output()
	if !strings.Contains(string(rules), pod.Config.ID) {
		t.Errorf("no host port rule for the pod")
	}

	if err := r.StopPod(ctx, pod.Config.ID); err != nil {
		t.Fatal(err)
	}
	p, err := r.Pod(ctx, pod.Config.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.NetNS != "" || len(p.IPs) != 0 {
		t.Errorf("stopped pod: netns %q, IPs %q", p.NetNS, p.IPs)
	}
	if _, err := os.Lstat(pod.NetNS); !os.IsNotExist(err) {
		t.Errorf("netns file after StopPod: %v", err)
	}
	if got := n.leases(); len(got) != 0 {
		t.Errorf("leases after StopPod = %q", got)
	}
	rules, _ = exec.Command("iptables-save", "-t", "nat").Output()
	if strings.Contains(string(rules), pod.Config.ID) {
		t.Errorf("host port rules left after StopPod")
	}
	if err := r.StopPod(ctx, pod.Config.ID); err != nil {
		t.Fatalf("second StopPod: %v", err)
	}
	if err := r.RemovePod(ctx, pod.Config.ID); err != nil {
		t.Fatal(err)
	}
	waitNoLeftovers(t, e)
}

// A CNI failure fails RunPod with the plugin's error and leaves
// nothing: no process, namespace, IP lease, file or record.
func TestPodNetworkFailure(t *testing.T) {
	e := newEnv(t)
	withNetwork(t, e, func(n *podNet) string {
		// The bridge allocates an IP before the missing plugin fails.
		return strings.Replace(n.bridgeConf(), `{"type": "portmap"`, `{"type": "no-such-plugin"}, {"type": "portmap"`, 1)
	})
	r := e.runtime()
	_, err := r.RunPod(context.Background(), podConfig("netfail"))
	if err == nil || !strings.Contains(err.Error(), `failed to find plugin "no-such-plugin"`) {
		t.Fatalf("RunPod = %v, want the plugin's error", err)
	}
	if pods, _ := r.Pods(context.Background()); len(pods) != 0 {
		t.Errorf("pods after a failed RunPod: %d", len(pods))
	}
	waitNoLeftovers(t, e)
}

// A host-network pod has no namespace of its own, no CNI and no IP: the
// sentry runs in the daemon's network namespace.
func TestHostNetworkPod(t *testing.T) {
	e := newEnv(t)
	n := withNetwork(t, e, nil)
	r := e.runtime()
	cfg := podConfig("hostnet")
	cfg.HostNetwork = true
	pod := mustRunPod(t, r, cfg)
	if pod.NetNS != "" || len(pod.IPs) != 0 {
		t.Errorf("host-network pod: netns %q, IPs %q", pod.NetNS, pod.IPs)
	}
	if got, want := netnsOf(t, pod.SentryPID), netnsOf(t, 0); got != want {
		t.Errorf("the sentry is in network namespace %d, want the host's %d", got, want)
	}
	if got := n.leases(); len(got) != 0 {
		t.Errorf("leases = %q", got)
	}
	if err := r.RemovePod(context.Background(), pod.Config.ID); err != nil {
		t.Fatal(err)
	}
	waitNoLeftovers(t, e)
}

// A restarted runtime (and a fresh CNI on the same cache) still tears
// a pod's network down, and tears down a namespace whose pod has no
// record (the daemon stopped while making it).
func TestPodNetworkAfterRestart(t *testing.T) {
	e := newEnv(t)
	n := withNetwork(t, e, nil)
	r := e.open()
	pod := mustRunPod(t, r, podConfig("netrestart"))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// An orphan: a namespace attached to the network with no pod
	// record.
	orphan := randID()
	orphanNS := filepath.Join(e.run, "netns", orphan)
	if err := netns.New(orphanNS); err != nil {
		t.Fatal(err)
	}
	if _, err := e.network.Setup(context.Background(), orphan, orphanNS, cni.PodArgs{Name: "orphan", Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	if got := n.leases(); len(got) != 2 {
		t.Fatalf("leases = %q, want the pod's and the orphan's", got)
	}

	e.network.(*cni.CNI).Close()
	withNetworkAgain(t, e, n)
	r = e.runtime()
	if netns.Is(orphanNS) {
		t.Error("the orphan's namespace survived the restart")
	}
	if got := n.leases(); len(got) != 1 || got[0] != pod.IPs[0] {
		t.Errorf("leases after the restart = %q, want only the pod's %s", got, pod.IPs)
	}
	if err := r.RemovePod(context.Background(), pod.Config.ID); err != nil {
		t.Fatal(err)
	}
	waitNoLeftovers(t, e)
}

// TestPodCIDRsSurviveRestart: kubelet gives the pod CIDRs once; a
// restarted daemon still hands them to CNI.
func TestPodCIDRsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	n := withNetwork(t, e, nil)
	r := e.open()
	if err := r.UpdatePodCIDRs([]string{"10.77.0.0/16", "fd77::/64"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	e.network.(*cni.CNI).Close()
	withNetworkAgain(t, e, n)
	if got := e.network.(*cni.CNI).PodCIDRs(); len(got) != 0 {
		t.Fatalf("a fresh CNI has pod CIDRs %q", got)
	}
	r = e.open()
	defer r.Close()
	if got, want := e.network.(*cni.CNI).PodCIDRs(), []string{"10.77.0.0/16", "fd77::/64"}; !slices.Equal(got, want) {
		t.Errorf("pod CIDRs after the restart = %q, want %q", got, want)
	}
}

// withNetworkAgain gives e a fresh CNI on n (a restarted daemon).
func withNetworkAgain(t *testing.T, e *testEnv, n *podNet) {
	t.Helper()
	c, err := cni.New(cni.Options{ConfDir: n.confDir, BinDirs: []string{cniPluginDir}, CacheDir: n.cache, NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.network = c
}

// Bandwidth annotations are quantities of bits per second.
func TestParseBandwidth(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{"10M", 10_000_000, false},
		{"1Gi", 1 << 30, false},
		{"1.5k", 1500, false},
		{"2000", 2000, false},
		{"999", 0, true},
		{"2P", 0, true},
		{"10X", 0, true},
		{"", 0, true},
		{"1/2M", 0, true},
	} {
		got, err := parseBandwidth(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseBandwidth(%q) = %d, %v", tt.in, got, err)
		}
	}
	bw, err := podBandwidth(map[string]string{annIngressBandwidth: "1M"})
	if err != nil || bw.IngressRate != 1e6 || bw.EgressRate != 0 || bw.IngressBurst == 0 {
		t.Errorf("podBandwidth = %+v, %v", bw, err)
	}
	if _, err := podNetworkArgs(&PodConfig{Annotations: map[string]string{annEgressBandwidth: "lots"}}); err == nil {
		t.Error("a bad bandwidth annotation is accepted")
	}
}

// Making namespaces and starting processes in them never leaves the
// process (its main thread included) in one of them.
func TestNetNSLeavesProcessAlone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	host := netnsOf(t, os.Getpid())
	for i := range 20 {
		p := filepath.Join(t.TempDir(), fmt.Sprint("ns", i))
		if err := netns.New(p); err != nil {
			t.Fatal(err)
		}
		if err := netns.Do(p, func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := netns.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if got := netnsOf(t, os.Getpid()); got != host {
		t.Errorf("the process's main thread moved from network namespace %d to %d", host, got)
	}
}

// TestPodNetworkIPv6Disabled runs a pod on the bridge with
// net.ipv6.conf.all.disable_ipv6=1, as charts that want IPv4 alone set
// it: the sysctl applies after the pod's interfaces are attached, as a
// runtime writes it into a namespace CNI has set up, so eth0 is left with
// its IPv4 address and no IPv6 one (its link-local address included).
// net.ipv4.ip_forward=1, which routers and VPN pods set, reaches eth0's
// forwarding the same way.
func TestPodNetworkIPv6Disabled(t *testing.T) {
	e := newEnv(t)
	withNetwork(t, e, nil)
	r := e.runtime()
	cfg := podConfig("nov6")
	cfg.Sysctls = map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv4.ip_forward": "1"}
	pod := mustRunPod(t, r, cfg)
	c := startContainer(t, r, e.ctrConfig(pod, busyboxLower(t), "app", "sleep", "1000"))
	out, errOut, code := execIn(t, r, c.Config.ID, "", "cat",
		"/proc/sys/net/ipv6/conf/eth0/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6",
		"/proc/sys/net/ipv4/conf/eth0/forwarding")
	if out != "1\n1\n1\n" || code != 0 {
		t.Errorf("disable_ipv6 of eth0 and default, eth0's forwarding: %q (stderr %q, code %d), want 1, 1 and 1", out, errOut, code)
	}
	out, errOut, code = execIn(t, r, c.Config.ID, "", "busybox", "ip", "addr", "show", "dev", "eth0")
	if code != 0 || !strings.Contains(out, "inet "+pod.IPs[0]+"/") || strings.Contains(out, "inet6") {
		t.Errorf("eth0: %q (stderr %q, code %d), want the pod IP and no IPv6 address", out, errOut, code)
	}
}
