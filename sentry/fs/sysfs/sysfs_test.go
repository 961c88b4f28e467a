package sysfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/fs/sysfs"
	"github.com/cocoonrt/cocoon/sentry/mm"
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

// A container's /sys/fs/cgroup shows its own memory account: what the
// opener's container holds and its limit (the pod's when it has none or
// a higher one), and the pod's figures to a reader outside containers.
func TestCgroupMemoryOfReader(t *testing.T) {
	c1, c2 := mm.NewMemCgroup(), mm.NewMemCgroup()
	c1.SetLimit(256 << 20)
	c2.SetLimit(2 << 30)
	if !c1.TryCharge(3) || !c2.TryCharge(5) {
		t.Fatal("charges failed")
	}
	var reader *mm.MemCgroup
	root := sysfs.New(sysfs.Config{
		NumCPU: 1, MemoryLimit: 1 << 30,
		MemoryUsage:     func() uint64 { return 777 << 20 },
		ReaderMemCgroup: func() *mm.MemCgroup { return reader },
	})
	for _, tc := range []struct {
		reader       *mm.MemCgroup
		current, max string
	}{
		{c1, "12288\n", "268435456\n"},
		{c2, "20480\n", "1073741824\n"},            // the pod's limit is lower
		{mm.NewMemCgroup(), "0\n", "1073741824\n"}, // no limit of its own
		{nil, "814743552\n", "1073741824\n"},       // outside any container
	} {
		reader = tc.reader
		if got := read(t, root, "fs", "cgroup", "memory.current"); got != tc.current {
			t.Errorf("memory.current = %q, want %q", got, tc.current)
		}
		if got := read(t, root, "fs", "cgroup", "memory.max"); got != tc.max {
			t.Errorf("memory.max = %q, want %q", got, tc.max)
		}
	}
	// A file shows what its opener's container held at the open.
	reader = c1
	cur, err := lookupPath(root, "fs", "cgroup", "memory.current")
	if err != nil {
		t.Fatal(err)
	}
	f, err := cur.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	reader = c2
	buf := make([]byte, 32)
	if n, _ := f.ReadAt(buf, 0); string(buf[:n]) != "12288\n" {
		t.Errorf("memory.current opened by c1 = %q, want c1's", buf[:n])
	}
}

func lookupPath(root vfs.Inode, path ...string) (vfs.Inode, error) {
	in := root
	for _, p := range path {
		var err error
		if in, err = in.Lookup(p); err != nil {
			return nil, err
		}
	}
	return in, nil
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

// TestNoBlockDevices: the lists of block devices are directories, with
// nothing in them.
func TestNoBlockDevices(t *testing.T) {
	root := sysfs.New(sysfs.Config{NumCPU: 1})
	for _, path := range [][]string{{"block"}, {"class", "block"}, {"dev", "block"}, {"dev", "char"}} {
		dir, err := lookupPath(root, path...)
		if err != nil {
			t.Errorf("%v: %v", path, err)
			continue
		}
		st, err := dir.Stat()
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Errorf("%v: mode %#o, %v", path, st.Mode, err)
		}
		if _, err := dir.Lookup("8:0"); err != unix.ENOENT {
			t.Errorf("%v/8:0: %v, want ENOENT", path, err)
		}
	}
}
