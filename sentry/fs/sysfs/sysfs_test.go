package sysfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/fs/sysfs"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

func read(t *testing.T, root vfs.Inode, path ...string) string {
	t.Helper()
	in := root
	for _, p := range path {
		var err error
		if in, err = in.Lookup(p); err != nil {
			t.Fatalf("lookup %v: %v", path, err)
		}
	}
	f, err := in.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128)
	n, _ := f.ReadAt(buf, 0)
	return string(buf[:n])
}

func TestFiles(t *testing.T) {
	used := uint64(12345)
	root := sysfs.New(sysfs.Config{NumCPU: 4, MemoryLimit: 1 << 30, MemoryUsage: func() uint64 { return used }})
	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"devices", "system", "cpu", "online"}, "0-3\n"},
		{[]string{"devices", "system", "cpu", "possible"}, "0-3\n"},
		{[]string{"fs", "cgroup", "memory.max"}, "1073741824\n"},
		{[]string{"fs", "cgroup", "memory.current"}, "12345\n"},
		{[]string{"fs", "cgroup", "cpu.max"}, "400000 100000\n"},
	} {
		if got := read(t, root, tc.path...); got != tc.want {
			t.Errorf("%v = %q, want %q", tc.path, got, tc.want)
		}
	}
	one := sysfs.New(sysfs.Config{NumCPU: 1})
	if got := read(t, one, "devices", "system", "cpu", "online"); got != "0\n" {
		t.Errorf("one CPU online = %q", got)
	}
	if got := read(t, one, "fs", "cgroup", "memory.max"); got != "max\n" {
		t.Errorf("no limit = %q", got)
	}
	f, _ := root.Lookup("fs")
	c, _ := f.Lookup("cgroup")
	m, _ := c.Lookup("memory.max")
	if _, err := m.Open(unix.O_WRONLY); err != unix.EACCES {
		t.Errorf("open for write = %v, want EACCES", err)
	}
}

func TestClassNet(t *testing.T) {
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := netif.NewStack(st)
	root := sysfs.New(sysfs.Config{NumCPU: 1, Network: func() (netif.Network, error) { return n, nil }})
	class, err := root.Lookup("class")
	if err != nil {
		t.Fatal(err)
	}
	netDir, err := class.Lookup("net")
	if err != nil {
		t.Fatal(err)
	}
	lo, err := netDir.Lookup("lo")
	if err != nil {
		t.Fatal(err)
	}
	if target, err := lo.Readlink(); err != nil || target != "../../devices/virtual/net/lo" {
		t.Errorf("class/net/lo -> %q, %v", target, err)
	}
	if _, err := netDir.Lookup("eth0"); err != unix.ENOENT {
		t.Errorf("class/net/eth0: %v", err)
	}
	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"devices", "virtual", "net", "lo", "ifindex"}, "1\n"},
		{[]string{"devices", "virtual", "net", "lo", "type"}, "772\n"},
		{[]string{"devices", "virtual", "net", "lo", "address"}, "00:00:00:00:00:00\n"},
		{[]string{"devices", "virtual", "net", "lo", "flags"}, "0x9\n"},
		{[]string{"devices", "virtual", "net", "lo", "operstate"}, "unknown\n"},
		{[]string{"devices", "virtual", "net", "lo", "carrier"}, "1\n"},
		{[]string{"devices", "virtual", "net", "lo", "tx_queue_len"}, "1000\n"},
		{[]string{"devices", "virtual", "net", "lo", "statistics", "rx_bytes"}, "0\n"},
	} {
		if got := read(t, root, tc.path...); got != tc.want {
			t.Errorf("%v = %q, want %q", tc.path, got, tc.want)
		}
	}
}
