package sysctl

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, value, wantName, wantValue string
		ok                               bool
	}{
		{"kernel.shm_rmid_forced", "1", "kernel.shm_rmid_forced", "1", true},
		{"kernel/shm_rmid_forced", " 0\n", "kernel.shm_rmid_forced", "0", true},
		{"kernel.shm_rmid_forced", "2", "", "", false},
		{"kernel.shmmax", "18446744073692774399", "kernel.shmmax", "18446744073692774399", true},
		{"kernel.shmmax", "-1", "", "", false},
		{"kernel.shmmni", "32769", "", "", false},
		{"kernel.msgmax", "65536", "kernel.msgmax", "65536", true},
		{"kernel.sem", "250  32000 32\t128", "kernel.sem", "250\t32000\t32\t128", true},
		{"kernel.sem", "250 32000 32", "", "", false},
		{"kernel.sem", "1 2 3 40000", "", "", false},
		{"kernel.msgmni", "ten", "", "", false},
	} {
		n, v, err := Parse(c.name, c.value)
		if (err == nil) != c.ok || n != c.wantName || v != c.wantValue {
			t.Errorf("Parse(%q, %q) = %q, %q, %v; want %q, %q, ok %v", c.name, c.value, n, v, err, c.wantName, c.wantValue, c.ok)
		}
	}
}

func TestUnsupportedNamesTheSysctl(t *testing.T) {
	_, _, err := Parse("fs.mqueue.msg_maximum", "100")
	var u *ErrUnsupported
	if !errors.As(err, &u) || u.Name != "fs.mqueue.msg_maximum" {
		t.Fatalf("Parse(fs.mqueue.msg_maximum) = %v, want ErrUnsupported naming it", err)
	}
	_, _, err = Parse("net/ipv4/tcp_notsent_lowat", "16384")
	if !errors.As(err, &u) || u.Name != "net.ipv4.tcp_notsent_lowat" {
		t.Fatalf("Parse(net.ipv4.tcp_notsent_lowat) = %v, want ErrUnsupported naming it", err)
	}
}

func TestCongestionControlSysctls(t *testing.T) {
	if got := FormatNet("net.ipv4.tcp_congestion_control", NetSysctls["net.ipv4.tcp_congestion_control"].Default); got != "reno" {
		t.Errorf("a new namespace's tcp_congestion_control = %q, want gVisor's default reno", got)
	}
	for _, c := range []struct{ value, want string }{{"reno", "reno"}, {"cubic\n", "cubic"}, {"reno\nignored", "reno"}} {
		if n, v, err := Parse("net/ipv4/tcp_congestion_control", c.value); err != nil || n != "net.ipv4.tcp_congestion_control" || v != c.want {
			t.Errorf("Parse(tcp_congestion_control, %q) = %q, %q, %v; want %q", c.value, n, v, err, c.want)
		}
	}
	for _, bad := range []string{"bbr", " reno", "", "RENO"} {
		// A write to /proc/sys: blanks are part of the name.
		_, err := ParseNet("net.ipv4.tcp_congestion_control", bad, nil)
		var nc *ErrNoChoice
		if !errors.As(err, &nc) {
			t.Errorf("ParseNet(tcp_congestion_control, %q) = %v, want ErrNoChoice", bad, err)
		}
	}
	for _, name := range []string{"net.ipv4.tcp_available_congestion_control", "net.ipv4.tcp_allowed_congestion_control"} {
		if got := FormatNet(name, NetSysctls[name].Default); got != "reno cubic" {
			t.Errorf("%s = %q, want %q", name, got, "reno cubic")
		}
		if _, _, err := Parse(name, "reno cubic"); err == nil {
			t.Errorf("Parse(%s) took a value; it is read-only", name)
		}
	}
}

func TestMQueueSysctls(t *testing.T) {
	for _, c := range []struct {
		name, value, wantName, wantValue string
		ok                               bool
	}{
		// critest's "should support unsafe sysctls" sets this one.
		{"fs.mqueue.msg_max", "100", "fs.mqueue.msg_max", "100", true},
		{"fs/mqueue/msg_max", "65536", "fs.mqueue.msg_max", "65536", true},
		{"fs.mqueue.msg_max", "65537", "", "", false},
		{"fs.mqueue.msg_max", "0", "", "", false},
		{"fs.mqueue.msg_default", "1", "fs.mqueue.msg_default", "1", true},
		{"fs.mqueue.msgsize_max", "127", "", "", false},
		{"fs.mqueue.msgsize_max", "16777216", "fs.mqueue.msgsize_max", "16777216", true},
		{"fs.mqueue.msgsize_default", "16777217", "", "", false},
		{"fs.mqueue.queues_max", "-1", "fs.mqueue.queues_max", "-1", true},
		{"fs.mqueue.queues_max", "2147483648", "", "", false},
		{"fs.mqueue.queues_max", "many", "", "", false},
	} {
		n, v, err := Parse(c.name, c.value)
		if (err == nil) != c.ok || n != c.wantName || v != c.wantValue {
			t.Errorf("Parse(%q, %q) = %q, %q, %v; want %q, %q, ok %v", c.name, c.value, n, v, err, c.wantName, c.wantValue, c.ok)
		}
	}
}

func TestPingGroupRange(t *testing.T) {
	// As Linux's ipv4_ping_group_range: group IDs up to GID_T_MAX, a
	// single value changes the low end of the default "1 0", an empty
	// range reads "1 0".
	for in, want := range map[string]string{
		"0  2147483647": "0\t2147483647",
		"0 4294967294":  "0\t4294967294",
		"0":             "0\t0",
		"5 3":           "1\t0",
	} {
		if n, v, err := Parse("net/ipv4/ping_group_range", in); err != nil || n != "net.ipv4.ping_group_range" || v != want {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q", in, n, v, err, want)
		}
	}
	for _, bad := range []string{"", "0 4294967295", "-1 5", "a b"} {
		if _, _, err := Parse("net.ipv4.ping_group_range", bad); err == nil {
			t.Errorf("Parse(ping_group_range, %q) succeeded", bad)
		}
	}
}

// TestParseNet checks proc_dointvec_minmax's parsing, with values Linux
// 6.18 accepted and refused in a fresh network namespace.
func TestParseNet(t *testing.T) {
	for _, c := range []struct {
		name, value string
		old         []int64
		want        string // "" for EINVAL
	}{
		{"net.core.somaxconn", " 12 \n", nil, "12"},
		{"net.core.somaxconn", "12 13", nil, "12"},
		{"net.core.somaxconn", "12x", nil, ""},
		{"net.core.somaxconn", "", nil, ""},
		{"net.core.somaxconn", "-1", nil, ""},
		{"net.core.somaxconn", "0x10", nil, "16"},
		{"net.core.somaxconn", "010", nil, "8"},
		{"net.core.somaxconn", "2147483648", nil, ""},
		{"net.ipv4.ip_local_port_range", "50000", []int64{32768, 60999}, "50000\t60999"},
		{"net.ipv4.ip_local_port_range", "40000 40001 5", nil, "40000\t40001"},
		{"net.ipv4.ip_local_port_range", "0 100", nil, ""},
		{"net.ipv4.ip_local_port_range", "40000 70000", nil, ""},
		{"net.ipv4.tcp_rmem", "10 5 1", nil, "10\t5\t1"},
		{"net.ipv4.tcp_rmem", "5000", []int64{4096, 131072, 6291456}, "5000\t131072\t6291456"},
		{"net.ipv4.tcp_rmem", "0 2 3", nil, ""},
		{"net.ipv4.tcp_syn_retries", "0", nil, ""},
		{"net.ipv4.tcp_syn_retries", "127", nil, "127"},
		{"net.ipv4.tcp_syn_retries", "128", nil, ""},
		{"net.ipv4.tcp_keepalive_probes", "256", nil, ""},
		{"net.ipv4.tcp_keepalive_time", "-1", nil, "-1"},
		{"net.ipv4.ip_forward", "-1", nil, "-1"},
		{"net.ipv4.ip_forward", "2147483648", nil, ""},
		{"net.core.rmem_max", "2303", nil, ""},
		{"net.core.wmem_max", "4608", nil, "4608"},
	} {
		v, err := ParseNet(c.name, c.value, c.old)
		got := ""
		if err == nil {
			got = FormatNet(c.name, v)
		}
		if got != c.want {
			t.Errorf("ParseNet(%s, %q) = %q, %v; want %q", c.name, c.value, got, err, c.want)
		}
	}
}

func TestCheckNet(t *testing.T) {
	r := [2]int64{32768, 60999}
	for _, c := range []struct {
		name string
		v    []int64
		ok   bool
	}{
		{"net.ipv4.ip_local_port_range", []int64{40000, 40000}, true},
		{"net.ipv4.ip_local_port_range", []int64{40001, 40000}, false},
		{"net.ipv4.ip_local_port_range", []int64{1000, 2000}, false},
		{"net.ipv4.ip_unprivileged_port_start", []int64{0}, true},
		{"net.ipv4.ip_unprivileged_port_start", []int64{40000}, false},
		{"net.ipv4.tcp_timestamps", []int64{1}, true},
		{"net.ipv4.tcp_timestamps", []int64{0}, false},
		{"net.ipv4.tcp_window_scaling", []int64{0}, false},
		{"net.ipv4.tcp_fastopen", []int64{0}, true},
		{"net.ipv4.tcp_fastopen", []int64{1}, true},
		{"net.ipv4.tcp_fastopen", []int64{3}, false},
		{"net.ipv4.tcp_fastopen", []int64{-1}, false},
		{"net.ipv4.tcp_slow_start_after_idle", []int64{1}, true},
		{"net.ipv4.tcp_slow_start_after_idle", []int64{0}, false},
	} {
		if err := CheckNet(c.name, c.v, r, 1024); (err == nil) != c.ok {
			t.Errorf("CheckNet(%s, %v) = %v, want ok %v", c.name, c.v, err, c.ok)
		}
	}
	// A pod's values: the checks against the other sysctl wait for the
	// kernel; those against the stack do not.
	if _, v, err := Parse("net.ipv4.ip_local_port_range", "1000 2000"); err != nil || v != "1000\t2000" {
		t.Errorf("Parse(ip_local_port_range 1000 2000) = %q, %v", v, err)
	}
	if _, _, err := Parse("net.ipv4.tcp_timestamps", "0"); err == nil {
		t.Errorf("Parse(tcp_timestamps 0) succeeded")
	}
}

func TestCheckPod(t *testing.T) {
	for _, c := range []struct {
		set map[string]string
		ok  bool
	}{
		{map[string]string{"net.ipv4.ip_local_port_range": "40000 40100", "net.ipv4.ip_unprivileged_port_start": "0"}, true},
		{map[string]string{"net.ipv4.ip_local_port_range": "1000 2000"}, false},
		// Applied in name order: the range first, against 1024.
		{map[string]string{"net.ipv4.ip_local_port_range": "1000 2000", "net.ipv4.ip_unprivileged_port_start": "0"}, false},
		{map[string]string{"net/ipv4/ip_unprivileged_port_start": "40000"}, false},
		{map[string]string{"net.core.somaxconn": "10", "kernel.sem": "1 2 3 4"}, true},
	} {
		if err := CheckPod(c.set); (err == nil) != c.ok {
			t.Errorf("CheckPod(%v) = %v, want ok %v", c.set, err, c.ok)
		}
	}
}

// The reserved ports parse and read back as Linux's proc_do_large_bitmap
// does them.
func TestReservedPorts(t *testing.T) {
	const name = "net.ipv4.ip_local_reserved_ports"
	for _, c := range []struct {
		value, want string
		ok          bool
	}{
		{"40007,40002-40004\n", "40002-40004,40007", true},
		{"8080", "8080", true},
		{"\n", "", true},
		{"", "", true},
		{"1,2,3,5", "1-3,5", true},
		{"5-5,4,", "4-5", true},
		{"0x10,010", "8,16", true},
		{"9000-9010\n\n100\n", "100,9000-9010", true},
		{"0-65535", "0-65535", true},
		{"65536", "", false},
		{"10-9", "", false},
		{" 1", "", false},
		{"1 ", "", false},
		{"1,,2", "", false},
		{"1-", "", false},
		{"-1", "", false},
		{"1-2-3", "", false},
		{"08", "", false},
		{"a", "", false},
	} {
		v, err := ParseNet(name, c.value, nil)
		if (err == nil) != c.ok {
			t.Errorf("ParseNet(%q) error %v, want ok %v", c.value, err, c.ok)
			continue
		}
		if err == nil {
			if got := FormatNet(name, v); got != c.want {
				t.Errorf("ParseNet(%q) reads back %q, want %q", c.value, got, c.want)
			}
		} else if _, isInvalid := err.(*ErrInvalid); !isInvalid {
			t.Errorf("ParseNet(%q) error %T, want *ErrInvalid", c.value, err)
		}
	}
	_, got, err := Parse("net/ipv4/ip_local_reserved_ports", "50000,50010-50020")
	if err != nil || got != "50000,50010-50020" {
		t.Errorf("a pod's value: %q, %v", got, err)
	}
}

// TestConfSysctls checks the per-interface names: any interface, all and
// default take disable_ipv6 and forwarding (IPv6) and forwarding (IPv4),
// in dotted or slashed form, and a conf key the sandbox lacks is refused
// by name.
func TestConfSysctls(t *testing.T) {
	for _, c := range []struct{ name, value, wantName, wantValue string }{
		{"net.ipv6.conf.all.disable_ipv6", "1", "net.ipv6.conf.all.disable_ipv6", "1"},
		{"net/ipv6/conf/eth0/disable_ipv6", " -2\n", "net.ipv6.conf.eth0.disable_ipv6", "-2"},
		{"net.ipv6.conf.default.disable_ipv6", "0", "net.ipv6.conf.default.disable_ipv6", "0"},
		{"net.ipv6.conf.all.forwarding", "1", "net.ipv6.conf.all.forwarding", "1"},
		{"net/ipv4/conf/eth0/forwarding", "-2147483648", "net.ipv4.conf.eth0.forwarding", "-2147483648"},
		{"net.ipv4.conf.all.forwarding", "1", "net.ipv4.conf.all.forwarding", "1"},
	} {
		if n, v, err := Parse(c.name, c.value); err != nil || n != c.wantName || v != c.wantValue {
			t.Errorf("Parse(%q, %q) = %q, %q, %v; want %q, %q", c.name, c.value, n, v, err, c.wantName, c.wantValue)
		}
	}
	for _, name := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv4.conf.lo.forwarding"} {
		if _, _, err := Parse(name, "yes"); err == nil {
			t.Errorf("%s = yes was taken", name)
		}
	}
	if _, _, err := Parse("net.ipv4.conf.lo.forwarding", "2147483648"); err == nil {
		t.Error("forwarding = 2^31 was taken")
	}
	var u *ErrUnsupported
	for _, name := range []string{"net.ipv6.conf.all.accept_ra", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.all.disable_ipv6", "net.ipv6.conf..disable_ipv6", "net.ipv6.conf.all", "net.ipv5.conf.all.forwarding"} {
		if _, _, err := Parse(name, "1"); !errors.As(err, &u) || u.Name != name {
			t.Errorf("Parse(%s) = %v, want ErrUnsupported naming it", name, err)
		}
	}
}

// TestMaxSynBacklogScales checks tcp_max_syn_backlog's default: Linux's
// one per 128 slots of the connection hash, at least 128, for the
// sandbox's memory.
func TestMaxSynBacklogScales(t *testing.T) {
	for _, c := range []struct {
		memory uint64
		want   int64
	}{{1 << 30, 128}, {8 << 30, 512}, {1 << 40, 4096}} {
		if got := MaxSynBacklogFor(c.memory); got != c.want {
			t.Errorf("MaxSynBacklogFor(%d GiB) = %d, want %d", c.memory>>30, got, c.want)
		}
	}
	old := NetSysctls["net.ipv4.tcp_max_syn_backlog"]
	defer func() { NetSysctls["net.ipv4.tcp_max_syn_backlog"] = old }()
	ScaleNetDefaults(8 << 30)
	if got := NetSysctls["net.ipv4.tcp_max_syn_backlog"].Default; len(got) != 1 || got[0] != 512 {
		t.Errorf("the default for 8 GiB is %v, want 512", got)
	}
}
