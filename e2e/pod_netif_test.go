package e2e

import (
	"strings"
	"testing"
)

// TestPodNetworkInterfaces: programs in a pod see the pod's interfaces
// as Linux shows them: busybox's ip (rtnetlink) lists eth0 with the pod
// IP CNI gave, /proc/net/dev and /sys/class/net list eth0 and lo.
func TestPodNetworkInterfaces(t *testing.T) {
	f, n, _ := newNetPodFixture(t)
	pod, cfg := f.runPod("ifaces")
	ip := f.podIP(pod, n)
	code, out := f.runToExit(pod, cfg, "ifaces", "sh", "-c",
		"ip -o addr; echo ---; cat /proc/net/dev; echo ---; ls /sys/class/net; cat /sys/class/net/eth0/operstate")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	parts := strings.Split(out, "---")
	if len(parts) != 3 {
		t.Fatalf("output: %s", out)
	}
	addrs, dev, sys := parts[0], parts[1], parts[2]
	found := false
	for _, l := range strings.Split(addrs, "\n") {
		if strings.Contains(l, " eth0 ") && strings.Contains(l, "inet "+ip.String()+"/") {
			found = true
		}
	}
	if !found || !strings.Contains(addrs, "inet 127.0.0.1/8") {
		t.Errorf("ip -o addr shows no eth0 with %s and lo:\n%s", ip, addrs)
	}
	if !strings.Contains(dev, "eth0:") || !strings.Contains(dev, "lo:") {
		t.Errorf("/proc/net/dev:\n%s", dev)
	}
	if !strings.Contains(sys, "eth0") || !strings.Contains(sys, "lo") || !strings.Contains(sys, "up") {
		t.Errorf("/sys/class/net:\n%s", sys)
	}
}
