package podsandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestPodNetSysctls runs a pod with net sysctls (as Kubernetes' safe
// sysctls set them): its containers see them in /proc/sys/net, where the
// pod's network namespace keeps them. A net sysctl the sandbox does not
// implement is refused by name, and a value its kernel refuses at boot
// (a port range below the privileged ports) fails the pod.
func TestPodNetSysctls(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	ctx := context.Background()
	cfg := podConfig("netsysctls")
	cfg.Sysctls = map[string]string{
		"net.core.somaxconn":                  "1024",
		"net/ipv4/ip_local_port_range":        "40000 40100",
		"net.ipv4.ip_local_reserved_ports":    "40050,40010-40020",
		"net.ipv4.ip_unprivileged_port_start": "0",
		"net.ipv4.tcp_keepalive_time":         "600",
		"net.ipv4.tcp_rmem":                   "8192 65536 1048576",
		"net.ipv4.ping_group_range":           "0 2147483647",
		"net.ipv4.tcp_congestion_control":     "cubic",
		"net.ipv4.tcp_tw_reuse":               "1",
		"net.ipv6.bindv6only":                 "1",
		"net.unix.max_dgram_qlen":             "512",
		"net.ipv6.conf.all.disable_ipv6":      "1",
		"net.ipv4.conf.all.forwarding":        "1",
		"net.ipv6.conf.default.forwarding":    "2",
		"net.ipv4.tcp_max_syn_backlog":        "4096",
		"net.ipv4.tcp_slow_start_after_idle":  "3",
	}
	pod := mustRunPod(t, r, cfg)
	c := startContainer(t, r, e.ctrConfig(pod, busyboxLower(t), "reader", "sleep", "1000"))
	out, errOut, code := execIn(t, r, c.Config.ID, "", "cat",
		"/proc/sys/net/core/somaxconn", "/proc/sys/net/ipv4/ip_local_port_range",
		"/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/net/ipv4/tcp_keepalive_time",
		"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/ping_group_range", "/proc/sys/net/ipv4/tcp_fin_timeout",
		"/proc/sys/net/ipv4/ip_local_reserved_ports", "/proc/sys/net/ipv4/tcp_congestion_control",
		"/proc/sys/net/ipv4/tcp_tw_reuse", "/proc/sys/net/ipv6/bindv6only", "/proc/sys/net/unix/max_dgram_qlen",
		"/proc/sys/net/ipv6/conf/lo/disable_ipv6", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/conf/lo/forwarding",
		"/proc/sys/net/ipv6/conf/default/forwarding", "/proc/sys/net/ipv6/conf/lo/forwarding",
		"/proc/sys/net/ipv4/tcp_max_syn_backlog", "/proc/sys/net/ipv4/tcp_slow_start_after_idle")
	if want := "1024\n40000\t40100\n0\n600\n8192\t65536\t1048576\n0\t2147483647\n60\n40010-40020,40050\ncubic\n1\n1\n512\n1\n1\n1\n2\n0\n4096\n3\n"; out != want || code != 0 {
		t.Errorf("/proc/sys/net: %q (stderr %q, code %d), want %q", out, errOut, code, want)
	}

	bad := podConfig("badnet")
	bad.Sysctls = map[string]string{"net.ipv4.tcp_notsent_lowat": "16384"}
	if _, err := r.RunPod(ctx, bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "net.ipv4.tcp_notsent_lowat") {
		t.Errorf("unsupported net sysctl: %v, want ErrInvalid naming it", err)
	}
	bad = podConfig("badidle")
	bad.Sysctls = map[string]string{"net.ipv4.tcp_slow_start_after_idle": "0"}
	if _, err := r.RunPod(ctx, bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "initial window after an idle RTO") {
		t.Errorf("tcp_slow_start_after_idle 0: %v, want ErrInvalid saying why", err)
	}
	bad = podConfig("badcc")
	bad.Sysctls = map[string]string{"net.ipv4.tcp_congestion_control": "bbr"}
	if _, err := r.RunPod(ctx, bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"bbr" is not one of reno, cubic`) {
		t.Errorf("a congestion control the sandbox lacks: %v, want ErrInvalid naming the ones it has", err)
	}
	bad = podConfig("badrange")
	bad.Sysctls = map[string]string{"net.ipv4.ip_local_port_range": "1000 2000"}
	if _, err := r.RunPod(ctx, bad); err == nil {
		t.Errorf("port range below ip_unprivileged_port_start: the pod started")
	}
}
