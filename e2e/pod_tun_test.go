package e2e

import (
	"strings"
	"testing"
)

// TestPodTUNDevice: a container with NET_ADMIN that asks for the node's
// /dev/net/tun, as the pods of a TUN device plugin do, starts and gets
// the sandbox's own: busybox tunctl makes a persistent TAP interface,
// `ip link` shows it in the pod, and tunctl deletes it. Without NET_ADMIN
// tunctl is refused, as on Linux.
func TestPodTUNDevice(t *testing.T) {
	f := newPodFixture(t)
	pod, podCfg := f.runPod("tun")
	create := func(name string, caps []string, script string) string {
		cfg := f.writeJSON("ctr-"+name+".json", map[string]any{
			"metadata": map[string]any{"name": name},
			"image":    map[string]any{"image": f.image},
			"command":  []string{"sh", "-c", script},
			"log_path": name + ".log",
			"devices":  []map[string]any{{"container_path": "/dev/net/tun", "host_path": "/dev/net/tun", "permissions": "rwm"}},
			"linux":    map[string]any{"security_context": map[string]any{"capabilities": map[string]any{"add_capabilities": caps}}},
		})
		return strings.TrimSpace(f.c.stdout("create", pod, cfg, podCfg))
	}
	run := func(ctr string) (int, string) {
		f.c.run(false, "start", ctr)
		st := f.waitState(ctr, "CONTAINER_EXITED")
		return st.Status.ExitCode, f.c.run(false, "logs", ctr)
	}

	vpn := create("vpn", []string{"NET_ADMIN"}, "busybox tunctl -t tap7 && busybox ip link show tap7 && busybox tunctl -d tap7 && "+
		"if busybox ip link show tap7 2>/dev/null; then echo tap7-still-there; else echo tun-ok; fi")
	code, out := run(vpn)
	if code != 0 || !strings.Contains(out, "tap7: <BROADCAST,MULTICAST>") || !strings.Contains(out, "link/ether") || !strings.Contains(out, "tun-ok") {
		t.Fatalf("tunctl with NET_ADMIN: exit %d:\n%s", code, out)
	}
	plain := create("plain", nil, "busybox tunctl -t tap8; echo rc=$?")
	if code, out := run(plain); code != 0 || !strings.Contains(out, "rc=1") || !strings.Contains(out, "not permitted") {
		t.Fatalf("tunctl without NET_ADMIN: exit %d:\n%s", code, out)
	}
}
