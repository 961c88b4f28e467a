package cni

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/podsandbox/netns"
)

// These tests run the real plugins Debian's containernetworking-plugins
// installs in /usr/lib/cni (bridge, host-local, portmap, loopback)
// against network namespaces and bridges the tests create and remove;
// they never touch the outside network.

const pluginDir = "/usr/lib/cni"

// testNet is one test's network: a bridge and a /24 of its own, and
// host-local's allocations kept in the test's directory.
type testNet struct {
	t       *testing.T
	name    string // network and bridge name
	subnet  netip.Prefix
	confDir string
	dataDir string
	cache   string
}

func needPlugins(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, bridges)")
	}
	for _, p := range []string{"bridge", "host-local", "portmap", "loopback"} {
		if _, err := os.Stat(filepath.Join(pluginDir, p)); err != nil {
			t.Skipf("needs the CNI plugins in %s (Debian containernetworking-plugins): %v", pluginDir, err)
		}
	}
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// newTestNet picks a bridge name and a subnet in 10.200.0.0/13 that no
// other test (nor the host) uses, and removes the bridge at the end.
func newTestNet(t *testing.T) *testNet {
	t.Helper()
	needPlugins(t)
	n := &testNet{t: t, name: "cct" + randHex(8), confDir: t.TempDir(), dataDir: t.TempDir(), cache: t.TempDir()}
	for {
		i, _ := rand.Int(rand.Reader, big.NewInt(8*256))
		cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + i.Int64()/256), byte(i.Int64() % 256), 0}), 24)
		out, _ := exec.Command("ip", "-4", "route", "show", "to", "match", cand.Addr().Next().String()).Output()
		if !strings.Contains(string(out), "/24") {
			n.subnet = cand
			break
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "del", n.name).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			t.Logf("removing bridge %s: %v: %s", n.name, err, out)
		}
	})
	return n
}

// conflist is a bridge network with host-local, portmap and loopback;
// extra plugins (JSON objects) are appended.
func (n *testNet) conflist(extra ...string) string {
	plugins := []string{
		fmt.Sprintf(`{"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
		  "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}}`,
			n.name, n.dataDir, n.subnet.String()),
		`{"type": "portmap", "capabilities": {"portMappings": true}}`,
		`{"type": "loopback"}`,
	}
	plugins = append(plugins, extra...)
	return fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [%s]}`, n.name, strings.Join(plugins, ",\n"))
}

func (n *testNet) write(file, content string) {
	n.t.Helper()
	if err := os.WriteFile(filepath.Join(n.confDir, file), []byte(content), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

func (n *testNet) open(noWatch bool) *CNI {
	n.t.Helper()
	c, err := New(Options{ConfDir: n.confDir, BinDirs: []string{pluginDir}, CacheDir: n.cache, NoWatch: noWatch, Log: slog.New(slog.NewTextHandler(testWriter{n.t}, nil))})
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { c.Close() })
	return c
}

// allocated lists host-local's allocation files (one per leased IP).
func (n *testNet) allocated() []string {
	ents, _ := os.ReadDir(filepath.Join(n.dataDir, n.name))
	var out []string
	for _, e := range ents {
		if _, err := netip.ParseAddr(e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// newNetNS makes a network namespace removed when the test ends.
func newNetNS(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ns")
	if err := netns.New(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Remove(p) })
	return p
}

// inNS runs a command in the namespace.
func inNS(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"--net=" + ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter %s: %v: %s", args, err, out)
	}
	return string(out)
}

// natRules is the NAT table, where portmap puts a pod's host ports.
func natRules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	return string(out)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testPod(t *testing.T) (string, PodArgs) {
	id := randHex(64)
	return id, PodArgs{Name: "p", Namespace: "default", UID: "uid", PortMappings: []PortMapping{{HostPort: int32(20000 + time.Now().UnixNano()%20000), ContainerPort: 80, Protocol: "tcp"}}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ADD gives the pod an IP from the network's subnet on eth0 in its
// namespace and its host port; CHECK passes; DEL (with no arguments,
// as after a restart: the cached ones are used) releases the IP and the
// host port; a second DEL is fine.
func TestAddCheckDel(t *testing.T) {
	n := newTestNet(t)
	n.write("10-test.conflist", n.conflist())
	c := n.open(true)
	if err := c.Status(); err != nil {
		t.Fatalf("Status: %v", err)
	}
	ns := newNetNS(t)
	id, args := testPod(t)
	ctx := ctxT(t)
	res, err := c.Setup(ctx, id, ns, args)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if len(res.IPs) != 1 {
		t.Fatalf("IPs = %q, want one", res.IPs)
	}
	ip := netip.MustParseAddr(res.IPs[0])
	if !n.subnet.Contains(ip) {
		t.Errorf("IP %s is not in %s", ip, n.subnet)
	}
	if addr := inNS(t, ns, "ip", "-4", "-o", "addr", "show", "dev", "eth0"); !strings.Contains(addr, ip.String()+"/24") {
		t.Errorf("eth0 in the pod: %s", addr)
	}
	if got := n.allocated(); len(got) != 1 || got[0] != ip.String() {
		t.Errorf("host-local allocations = %q", got)
	}
	if rules := natRules(t); !strings.Contains(rules, id) {
		t.Errorf("no portmap rule for the pod:\n%s", rules)
	}
	// Without the host port: Debian 12's portmap (plugins 1.1.1) fails
	// CHECK of an IPv4-only pod's host ports, looking for an IPv6 chain
	// too (fixed upstream).
	noPorts := args
	noPorts.PortMappings = nil
	if err := c.Check(ctx, id, ns, noPorts); err != nil {
		t.Errorf("Check: %v", err)
	}

	if err := c.Teardown(ctx, id, ns, PodArgs{}); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if got := n.allocated(); len(got) != 0 {
		t.Errorf("host-local allocations after DEL = %q", got)
	}
	if rules := natRules(t); strings.Contains(rules, id) {
		t.Errorf("portmap rules left after DEL:\n%s", rules)
	}
	if out := inNS(t, ns, "ip", "-o", "link"); strings.Contains(out, "eth0") {
		t.Errorf("eth0 left in the pod: %s", out)
	}
	if err := c.Teardown(ctx, id, ns, args); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(n.cache, "results")); len(ents) != 0 {
		t.Errorf("cache entries left: %v", ents)
	}
}

// DEL works once the namespace is gone, and from a new CNI (a daemon
// restart) whose conf dir no longer holds the network: the cached
// configuration is used.
func TestDelAfterNetNSGoneAndRestart(t *testing.T) {
	n := newTestNet(t)
	n.write("10-test.conflist", n.conflist())
	c := n.open(true)
	ns := newNetNS(t)
	id, args := testPod(t)
	ctx := ctxT(t)
	if _, err := c.Setup(ctx, id, ns, args); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := netns.Remove(ns); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := os.Remove(filepath.Join(n.confDir, "10-test.conflist")); err != nil {
		t.Fatal(err)
	}
	c2 := n.open(true)
	if err := c2.Status(); err == nil {
		t.Fatal("Status with an empty conf dir is nil")
	}
	if err := c2.Teardown(ctx, id, ns, PodArgs{}); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if got := n.allocated(); len(got) != 0 {
		t.Errorf("host-local allocations after DEL = %q", got)
	}
	if rules := natRules(t); strings.Contains(rules, id) {
		t.Errorf("portmap rules left after DEL:\n%s", rules)
	}
	// Never attached at all, with no configuration: nothing to do.
	if err := c2.Teardown(ctx, randHex(64), "", PodArgs{}); err != nil {
		t.Errorf("Teardown of an unknown pod: %v", err)
	}
}

// A plugin that does not exist fails ADD with libcni's error naming it,
// and DEL still releases what the plugins before it made.
func TestAddMissingPlugin(t *testing.T) {
	n := newTestNet(t)
	n.write("10-test.conflist", n.conflist(`{"type": "no-such-plugin"}`))
	c := n.open(true)
	ns := newNetNS(t)
	id, args := testPod(t)
	ctx := ctxT(t)
	_, err := c.Setup(ctx, id, ns, args)
	if err == nil || !strings.Contains(err.Error(), `failed to find plugin "no-such-plugin"`) {
		t.Fatalf("Setup = %v, want the missing plugin named", err)
	}
	if got := n.allocated(); len(got) != 1 {
		t.Fatalf("host-local allocations after the failed ADD = %q, want the bridge's one", got)
	}
	if err := c.Teardown(ctx, id, ns, args); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if got := n.allocated(); len(got) != 0 {
		t.Errorf("host-local allocations after DEL = %q", got)
	}
	if rules := natRules(t); strings.Contains(rules, id) {
		t.Errorf("portmap rules left after DEL:\n%s", rules)
	}
}

// Status follows the conf dir: not ready while it is empty or its first
// file is broken, ready once a network loads; the watcher notices.
func TestStatusFollowsConfDir(t *testing.T) {
	n := newTestNet(t)
	c := n.open(false)
	if err := c.Status(); err == nil || !strings.Contains(err.Error(), "no network config found") {
		t.Fatalf("Status with no config = %v", err)
	}
	waitStatus := func(ok bool, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := c.Status()
			if ok && err == nil || !ok && err != nil && strings.Contains(err.Error(), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Status = %v, want ok=%v %q", err, ok, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	n.write("10-test.conflist", n.conflist())
	waitStatus(true, "")
	if name, file := c.Network(); name != n.name || filepath.Base(file) != "10-test.conflist" {
		t.Errorf("Network() = %q, %q", name, file)
	}
	// Lexically first wins, even broken.
	n.write("05-bad.conflist", "{not json")
	waitStatus(false, "05-bad.conflist")
	os.Remove(filepath.Join(n.confDir, "05-bad.conflist"))
	waitStatus(true, "")
	// A single-plugin .conf is read as a list of one.
	n.write("01-single.conf", `{"cniVersion": "1.0.0", "name": "single", "type": "loopback"}`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if name, _ := c.Network(); name == "single" {
			break
		}
		if time.Now().After(deadline) {
			name, file := c.Network()
			t.Fatalf("Network() = %q, %q; want single from 01-single.conf (status %v)", name, file, c.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A conf dir that does not exist yet is polled for.
func TestMissingConfDirAppears(t *testing.T) {
	n := newTestNet(t)
	n.confDir = filepath.Join(n.confDir, "later")
	c := n.open(false)
	if err := c.Status(); err == nil {
		t.Fatal("Status without a conf dir is nil")
	}
	if err := os.Mkdir(n.confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	n.write("10-test.conflist", n.conflist())
	deadline := time.Now().Add(20 * time.Second)
	for c.Status() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Status = %v after the conf dir appeared", c.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGiveBackBeforeDel: before DEL, GiveBack gets the addresses the ADD
// result gave the pod's interfaces, by name (not the bridge's gateway
// address, which is outside the pod), and runs while eth0 still exists.
func TestGiveBackBeforeDel(t *testing.T) {
	n := newTestNet(t)
	n.write("10-test.conflist", n.conflist())
	ns := newNetNS(t)
	var got map[string][]netip.Prefix
	var eth0 string
	c, err := New(Options{ConfDir: n.confDir, BinDirs: []string{pluginDir}, CacheDir: n.cache, NoWatch: true,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		GiveBack: func(path string, addrs map[string][]netip.Prefix) error {
			if path != ns {
				t.Errorf("GiveBack for namespace %q, want %q", path, ns)
			}
			got = addrs
			eth0 = inNS(t, ns, "ip", "-o", "link", "show", "dev", "eth0")
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	id, args := testPod(t)
	res, err := c.Setup(ctxT(t), id, ns, args)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := c.Teardown(ctxT(t), id, ns, args); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	want := netip.PrefixFrom(netip.MustParseAddr(res.IPs[0]), 24)
	if len(got) != 1 || len(got["eth0"]) != 1 || got["eth0"][0] != want {
		t.Errorf("GiveBack got %v, want eth0: [%s]", got, want)
	}
	if !strings.Contains(eth0, "eth0") {
		t.Errorf("eth0 was gone when GiveBack ran: %q", eth0)
	}
}
