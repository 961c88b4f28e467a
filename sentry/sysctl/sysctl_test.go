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
	_, _, err = Parse("net/core/somaxconn", "1024")
	if !errors.As(err, &u) || u.Name != "net.core.somaxconn" {
		t.Fatalf("Parse(net.core.somaxconn) = %v, want ErrUnsupported naming it", err)
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
	if n, v, err := Parse("net/ipv4/ping_group_range", "0  2147483647"); err != nil || n != "net.ipv4.ping_group_range" || v != "0\t2147483647" {
		t.Errorf("Parse = %q, %q, %v", n, v, err)
	}
	for _, bad := range []string{"0", "0 2147483648", "-1 5", "a b"} {
		if _, _, err := Parse("net.ipv4.ping_group_range", bad); err == nil {
			t.Errorf("Parse(ping_group_range, %q) succeeded", bad)
		}
	}
}
