package placement

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/podsandbox/netns"
)

// TestHostLinksOfAPod makes a pod's network as the bridge plugin does (a
// namespace and a veth into it) and finds the host's end of the veth,
// whose counters it reads and whose receive queue it steers and lets go
// again. A veth with both ends on the host is not a pod's.
func TestHostLinksOfAPod(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace")
	}
	path := filepath.Join(t.TempDir(), "pod")
	if err := netns.New(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Remove(path) })
	ns, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()

	suffix := strconv.Itoa(os.Getpid() % 100000)
	host, other := "cch"+suffix, "cco"+suffix
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns.Fd()))}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(veth) })
	// A veth of the host's own, which must not be taken for the pod's.
	hostPair := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: other}, PeerName: other + "p"}
	if err := netlink.LinkAdd(hostPair); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(hostPair) })

	links, err := hostLinks(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].name() != host {
		var names []string
		for _, l := range links {
			names = append(names, l.name())
		}
		t.Fatalf("host links %v, want [%s]", names, host)
	}
	l := links[0]
	if _, _, err := l.counters(); err != nil {
		t.Fatal(err)
	}
	rps := func() uint64 {
		t.Helper()
		b, err := os.ReadFile(fmt.Sprintf("/sys/class/net/%s/queues/rx-0/rps_cpus", host))
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseUint(strings.ReplaceAll(strings.TrimSpace(string(b)), ",", ""), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var cpus unix.CPUSet
	cpus.Set(0)
	if err := l.steer(cpus); err != nil {
		t.Fatal(err)
	}
	if got := rps(); got != 1 {
		t.Fatalf("steered to CPU 0: rps_cpus %x, want 1", got)
	}
	// What a daemon leaving placement to the kernel undoes (Release).
	unsteer(Target{ID: "pod", NetNS: path}, slog.New(slog.DiscardHandler))
	if got := rps(); got != 0 {
		t.Fatalf("unsteered: rps_cpus %x, want 0", got)
	}

	// A namespace without a veth has no host links.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := netns.New(empty); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Remove(empty) })
	if links, err := hostLinks(empty); err != nil || len(links) != 0 {
		t.Fatalf("empty namespace: %d links, %v", len(links), err)
	}
}
