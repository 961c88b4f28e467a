package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// More of what a pod sees of the network, beyond pod_network_test.go:
// host ports through the CNI portmap plugin, and the resolver, host
// name and hosts files the runtime writes for a pod (containerd's
// behaviour is the reference).

// runPodWithConfig starts a pod named name whose PodSandboxConfig (as
// crictl reads it) is runPod's plus extra's fields, and returns its ID
// and config file.
func (f *podFixture) runPodWithConfig(name string, extra map[string]any) (id, cfg string) {
	f.t.Helper()
	c := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "e2e", "uid": "uid-" + name},
		"hostname":      name,
		"log_directory": filepath.Join(f.logDir, name),
		"linux":         map[string]any{},
	}
	for k, v := range extra {
		c[k] = v
	}
	cfg = f.writeJSON("pod-"+name+".json", c)
	id = strings.TrimSpace(f.c.stdout("runp", cfg))
	return id, cfg
}

// execSync runs cmd in container id with ExecSync and returns its
// standard output; a non-zero exit fails the test.
func (f *podFixture) execSync(id string, cmd ...string) string {
	f.t.Helper()
	r, err := f.d.rt.ExecSync(ctx(f.t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 30})
	if err != nil {
		f.t.Fatalf("ExecSync %q: %v", cmd, err)
	}
	if r.ExitCode != 0 {
		f.t.Fatalf("ExecSync %q: exit %d, stderr %q", cmd, r.ExitCode, r.Stderr)
	}
	return string(r.Stdout)
}

// natRulesFor are the lines of `iptables-save -t nat` that forward host
// port port (portmap's DNAT rules and their jumps).
func natRulesFor(t *testing.T, port int) []string {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`--dports? ` + strconv.Itoa(port) + `\b`)
	var rules []string
	for _, l := range strings.Split(string(out), "\n") {
		if re.MatchString(l) {
			rules = append(rules, l)
		}
	}
	return rules
}

// hostIPv4 is the source address of the host's default route (the
// host's own IP on its main network), or not ok when it has none.
func hostIPv4(t *testing.T) (netip.Addr, bool) {
	t.Helper()
	out, err := exec.Command("ip", "-4", "-o", "route", "get", "192.0.2.123").Output()
	if err != nil {
		return netip.Addr{}, false
	}
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "src" {
			ip, err := netip.ParseAddr(f[i+1])
			return ip, err == nil && !ip.IsLoopback()
		}
	}
	return netip.Addr{}, false
}

// TestPodNetworkHostPort: a pod's port mapping (hostPort 8080 → a free
// host port) is set up by the portmap plugin chained after the bridge:
// curl on the host reaches the pod's busybox httpd at 127.0.0.1:HOSTPORT
// and at the host's own IP. Removing the pod removes the mapping: its
// NAT rules are gone and the port is closed.
func TestPodNetworkHostPort(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("needs curl")
	}
	if _, err := exec.LookPath("iptables-save"); err != nil {
		t.Skip("needs iptables-save (Debian package iptables)")
	}
	f, n, _ := newNetPodFixture(t)
	hostPort := unusedLocalPort(t)
	pod, cfg := f.runPodWithConfig("hostport", map[string]any{
		"port_mappings": []map[string]any{{"protocol": 0, "container_port": 8080, "host_port": hostPort}}, // TCP
	})
	podIP := f.podIP(pod, n)
	f.startHTTPD(pod, cfg, "hello-through-hostport")

	rules := natRulesFor(t, hostPort)
	if len(rules) == 0 {
		t.Fatalf("no NAT rule for host port %d after RunPodSandbox", hostPort)
	}
	dnat := fmt.Sprintf("--to-destination %s:8080", podIP)
	if !strings.Contains(strings.Join(rules, "\n"), dnat) {
		t.Errorf("the NAT rules for host port %d do not forward to %s:8080:\n%s", hostPort, podIP, strings.Join(rules, "\n"))
	}

	urls := []string{fmt.Sprintf("http://127.0.0.1:%d/", hostPort)}
	if ip, ok := hostIPv4(t); ok {
		urls = append(urls, fmt.Sprintf("http://%s/", netip.AddrPortFrom(ip, uint16(hostPort))))
	} else {
		t.Log("the host has no default route: only 127.0.0.1 is tried")
	}
	for _, url := range urls {
		if got := get(t, url); !strings.Contains(got, "hello-through-hostport") {
			t.Errorf("curl %s = %q", url, got)
		}
	}

	f.c.run(false, "stopp", pod)
	f.c.run(false, "rmp", pod)
	if rules := natRulesFor(t, hostPort); len(rules) != 0 {
		t.Errorf("NAT rules for host port %d left after rmp:\n%s", hostPort, strings.Join(rules, "\n"))
	}
	for _, url := range urls {
		if out, err := exec.Command("curl", "-sS", "--max-time", "5", url).CombinedOutput(); err == nil {
			t.Errorf("curl %s after rmp answered %q", url, out)
		}
	}
	// Nothing on the host holds the port either.
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", hostPort)); err != nil {
		t.Errorf("host port %d still taken after rmp: %v", hostPort, err)
	} else {
		l.Close()
	}
}

// TestPodResolvConf: a pod's DnsConfig is its /etc/resolv.conf, read
// back with ExecSync: one nameserver line per server in order, the
// search domains and the options each on one line in order, and
// nothing else. (containerd writes the search line first, cocoon the
// nameservers; resolvers read the lines in any order.) A pod without
// DnsConfig gets a copy of the node's /etc/resolv.conf, as with
// containerd.
func TestPodResolvConf(t *testing.T) {
	f := newPodFixture(t)
	servers := []string{"10.96.0.10", "192.0.2.53", "2001:db8::53"}
	searches := []string{"e2e.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	options := []string{"ndots:5", "timeout:2", "attempts:3", "single-request-reopen"}
	pod, cfg := f.runPodWithConfig("dns", map[string]any{
		"dns_config": map[string]any{"servers": servers, "searches": searches, "options": options},
	})
	ctr := f.create(pod, cfg, "c", "sleep", "1000")
	f.c.run(false, "start", ctr)
	f.waitState(ctr, "CONTAINER_RUNNING")
	got := f.execSync(ctr, "cat", "/etc/resolv.conf")
	var want []string
	for _, s := range servers {
		want = append(want, "nameserver "+s)
	}
	want = append(want, "search "+strings.Join(searches, " "), "options "+strings.Join(options, " "))
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	var gotServers, others []string
	for _, l := range lines {
		if strings.HasPrefix(l, "nameserver ") {
			gotServers = append(gotServers, l)
		} else {
			others = append(others, l)
		}
	}
	if !strings.HasSuffix(got, "\n") || strings.Join(gotServers, "\n") != strings.Join(want[:len(servers)], "\n") ||
		len(others) != 2 || !sameSet(others, want[len(servers):]) {
		t.Errorf("/etc/resolv.conf =\n%s\nwant exactly these lines:\n%s", got, strings.Join(want, "\n"))
	}

	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Skipf("the node has no /etc/resolv.conf to compare with: %v", err)
	}
	plain, plainCfg := f.runPod("nodns")
	ctr = f.create(plain, plainCfg, "c", "sleep", "1000")
	f.c.run(false, "start", ctr)
	f.waitState(ctr, "CONTAINER_RUNNING")
	if got := f.execSync(ctr, "cat", "/etc/resolv.conf"); got != string(host) {
		t.Errorf("a pod without DnsConfig: /etc/resolv.conf =\n%s\nwant the node's:\n%s", got, host)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s] == 0 {
			return false
		}
		seen[s]--
	}
	return true
}

// TestPodHostname: a pod with a hostname has it in /etc/hostname (one
// line), as its kernel host name (hostname(1)) and as $HOSTNAME; a pod
// without one gets the node's name in all three, as containerd gives
// it.
func TestPodHostname(t *testing.T) {
	f := newPodFixture(t)
	node, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	named, namedCfg := f.runPodWithConfig("named", map[string]any{"hostname": "web-0"})
	unnamed, unnamedCfg := f.runPodWithConfig("unnamed", map[string]any{"hostname": ""})
	for _, p := range []struct{ pod, cfg, want string }{{named, namedCfg, "web-0"}, {unnamed, unnamedCfg, node}} {
		ctr := f.create(p.pod, p.cfg, "c", "sleep", "1000")
		f.c.run(false, "start", ctr)
		f.waitState(ctr, "CONTAINER_RUNNING")
		if got := f.execSync(ctr, "cat", "/etc/hostname"); got != p.want+"\n" {
			t.Errorf("pod with hostname %s: /etc/hostname = %q, want %q", p.want, got, p.want+"\n")
		}
		if got := f.execSync(ctr, "/bin/busybox", "hostname"); got != p.want+"\n" {
			t.Errorf("pod with hostname %s: hostname prints %q", p.want, got)
		}
		if got := f.execSync(ctr, "sh", "-c", "echo $HOSTNAME"); got != p.want+"\n" {
			t.Errorf("pod with hostname %s: $HOSTNAME = %q", p.want, got)
		}
	}
}

// TestPodEtcHosts: a pod's /etc/hosts has the localhost entries and its
// own host name. Cocoon writes it rather than copying the node's, as
// containerd does, so no entry of the node's leaks into pods (kubelet
// mounts its own over it for the pods it runs).
func TestPodEtcHosts(t *testing.T) {
	f := newPodFixture(t)
	pod, cfg := f.runPodWithConfig("hosts", map[string]any{"hostname": "web-1"})
	ctr := f.create(pod, cfg, "c", "sleep", "1000")
	f.c.run(false, "start", ctr)
	f.waitState(ctr, "CONTAINER_RUNNING")
	hosts := f.execSync(ctr, "cat", "/etc/hosts")
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "::1\tlocalhost ip6-localhost ip6-loopback\n", "\tweb-1\n"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}
}
