package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The pod network end to end: a daemon whose CNI conf dir holds a bridge
// network of the test's own (a test-unique bridge and /24, host-local's
// leases in a temp dir, plugins from /usr/lib/cni), driven with crictl.
// These tests check what the host sees; pod_network_test.go connects to
// and from the pods.

const e2ePluginDir = "/usr/lib/cni"

// cniNet is a test's pod network.
type cniNet struct {
	bridge  string
	subnet  netip.Prefix
	confDir string
	dataDir string
}

func newCNINet(t *testing.T) *cniNet {
	t.Helper()
	return newCNINetMasq(t, false)
}

// newCNINetMasq is newCNINet whose bridge masquerades the pods' traffic
// leaving the subnet when ipMasq is set (as the packaged sample network
// does): the bridge plugin then makes a NAT chain for each pod.
func newCNINetMasq(t *testing.T, ipMasq bool) *cniNet {
	t.Helper()
	for _, p := range []string{"bridge", "host-local", "portmap"} {
		if _, err := os.Stat(filepath.Join(e2ePluginDir, p)); err != nil {
			t.Skipf("needs the CNI plugins in %s: %v", e2ePluginDir, err)
		}
	}
	var b [4]byte
	rand.Read(b[:])
	n := &cniNet{bridge: "cet" + hex.EncodeToString(b[:]), confDir: t.TempDir(), dataDir: t.TempDir()}
	for {
		i, _ := rand.Int(rand.Reader, big.NewInt(8*256))
		cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(216 + i.Int64()/256), byte(i.Int64() % 256), 0}), 24)
		out, _ := exec.Command("ip", "-4", "route", "show", "to", "match", cand.Addr().Next().String()).Output()
		if !strings.Contains(string(out), "/24") {
			n.subnet = cand
			break
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", n.bridge).Run() })
	// The pods' default route is the bridge, as in containerd's sample
	// conflist: a pod answers clients at any host address.
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [
	  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": %v,
	   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
	  {"type": "portmap", "capabilities": {"portMappings": true}}]}`, n.bridge, n.bridge, ipMasq, n.dataDir, n.subnet)
	if err := os.WriteFile(filepath.Join(n.confDir, "10-e2e.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// leases are host-local's allocated IPs.
func (n *cniNet) leases() []string {
	ents, _ := os.ReadDir(filepath.Join(n.dataDir, n.bridge))
	var out []string
	for _, e := range ents {
		if _, err := netip.ParseAddr(e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// startDaemonCNI starts `cocoon daemon` on fresh directories with the
// network's conf dir, waits until it serves, and returns crictl on it
// and the daemon's run dir. The daemon is stopped (SIGTERM) when the
// test ends, after its pods are removed.
func startDaemonCNI(t *testing.T, n *cniNet) (*crictl, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("pods need root")
	}
	if crictlPath() == "" {
		t.Skip("no crictl (set $CRICTL, put it on PATH or in /tmp/crictl-bin)")
	}
	root, sock := newDaemonDirs(t)
	d := startDaemonWith(t, root, sock, fmt.Sprintf("[cni]\nconf_dir = %q\nbin_dirs = [%q]\n", n.confDir, e2ePluginDir))
	c := newCrictl(t, sock)
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		for _, id := range strings.Fields(c.stdout("pods", "-q")) {
			c.run(false, "rmp", "-f", id)
		}
	})
	return c, d.runDir
}

// podStatus is what crictl inspectp reports of a pod's network.
type podStatus struct {
	Status struct {
		Network struct {
			IP            string `json:"ip"`
			AdditionalIPs []struct {
				IP string `json:"ip"`
			} `json:"additionalIps"`
		} `json:"network"`
	} `json:"status"`
}

func writePodJSON(t *testing.T, name string, hostNetwork bool) string {
	t.Helper()
	network := ""
	if hostNetwork {
		network = `"security_context": {"namespace_options": {"network": 2}}`
	}
	cfg := fmt.Sprintf(`{"metadata": {"name": %q, "namespace": "e2e", "uid": "uid-%s"}, "hostname": %q,
	  "port_mappings": [{"protocol": 0, "container_port": 80, "host_port": %d}],
	  "linux": {%s}}`, name, name, name, 30000+time.Now().UnixNano()%20000, network)
	p := filepath.Join(t.TempDir(), "pod.json")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPodNetworkCrictl: NetworkReady is true; a pod gets an IP from the
// test's conflist, shown by crictl inspectp, on a veth plugged into the
// test's bridge; crictl rmp releases the IP and removes the pod's
// network namespace. A host-network pod runs with no IP of its own.
func TestPodNetworkCrictl(t *testing.T) {
	n := newCNINet(t)
	c, runDir := startDaemonCNI(t, n)

	var info struct {
		Status struct {
			Conditions []struct {
				Type    string `json:"type"`
				Status  bool   `json:"status"`
				Message string `json:"message"`
			} `json:"conditions"`
		} `json:"status"`
	}
	c.json(&info, "info", "-o", "json")
	ready := false
	for _, cond := range info.Status.Conditions {
		if cond.Type == "NetworkReady" {
			ready = cond.Status
			if !ready {
				t.Errorf("NetworkReady false: %s", cond.Message)
			}
		}
	}
	if !ready {
		t.Fatalf("no NetworkReady=true in %+v", info)
	}

	id := strings.TrimSpace(c.stdout("runp", writePodJSON(t, "net", false)))
	var st podStatus
	c.json(&st, "inspectp", "-o", "json", id)
	ip, err := netip.ParseAddr(st.Status.Network.IP)
	if err != nil || !n.subnet.Contains(ip) {
		t.Fatalf("pod IP %q, want one in %s", st.Status.Network.IP, n.subnet)
	}
	t.Logf("pod %s has IP %s", id[:12], ip)
	if got := n.leases(); len(got) != 1 || got[0] != ip.String() {
		t.Errorf("leases = %q, want [%s]", got, ip)
	}
	if out, err := exec.Command("ip", "-o", "link", "show", "master", n.bridge).CombinedOutput(); err != nil || !strings.Contains(string(out), "veth") {
		t.Errorf("no veth on bridge %s: %v: %s", n.bridge, err, out)
	}
	nsPath := filepath.Join(runDir, "netns", id)
	if _, err := os.Stat(nsPath); err != nil {
		t.Errorf("pod network namespace: %v", err)
	}

	c.run(false, "stopp", id)
	c.run(false, "rmp", id)
	if got := n.leases(); len(got) != 0 {
		t.Errorf("leases after rmp = %q", got)
	}
	if _, err := os.Lstat(nsPath); !os.IsNotExist(err) {
		t.Errorf("network namespace after rmp: %v", err)
	}
	if out, _ := exec.Command("ip", "-o", "link", "show", "master", n.bridge).CombinedOutput(); strings.Contains(string(out), "veth") {
		t.Errorf("veth left on bridge %s: %s", n.bridge, out)
	}

	host := strings.TrimSpace(c.stdout("runp", writePodJSON(t, "hostnet", true)))
	st = podStatus{}
	c.json(&st, "inspectp", "-o", "json", host)
	if st.Status.Network.IP != "" || len(st.Status.Network.AdditionalIPs) != 0 {
		t.Errorf("host-network pod reports IPs %+v", st.Status.Network)
	}
	if got := n.leases(); len(got) != 0 {
		t.Errorf("leases for a host-network pod = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(runDir, "netns", host)); !os.IsNotExist(err) {
		t.Errorf("host-network pod has a network namespace: %v", err)
	}
	c.run(false, "rmp", "-f", host)
}
