package netif

import (
	"encoding/binary"
	"net/netip"
	"os"
	"strings"
	"testing"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
)

func newStack(t *testing.T) *Stack {
	t.Helper()
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return NewStack(st)
}

func TestStackLoopback(t *testing.T) {
	s := newStack(t)
	ifs, err := s.Interfaces()
	if err != nil || len(ifs) != 1 {
		t.Fatalf("Interfaces = %v, %v", ifs, err)
	}
	lo := ifs[0]
	if lo.Index != 1 || lo.Name != "lo" || lo.Type != linux.ARPHRD_LOOPBACK ||
		lo.Flags != linux.IFF_UP|linux.IFF_RUNNING|linux.IFF_LOOPBACK|IFFLowerUp || lo.OperState != OperUnknown {
		t.Errorf("lo = %+v", lo)
	}
	addrs, _ := s.Addresses()
	want := []string{"127.0.0.1/8", "::1/128"}
	if len(addrs) != 2 || addrs[0].Prefix.String() != want[0] || addrs[1].Prefix.String() != want[1] {
		t.Fatalf("addresses %v, want %v", addrs, want)
	}
	if addrs[0].Scope != linux.RT_SCOPE_HOST || addrs[0].Label != "lo" || addrs[0].Broadcast.IsValid() {
		t.Errorf("127.0.0.1 = %+v", addrs[0])
	}
	// Linux's tables for lo alone: IPv4's all local, IPv6's ::1 local.
	routes, _ := s.Routes()
	var got []string
	for _, r := range routes {
		got = append(got, r.Dst.String()+"/"+map[uint8]string{linux.RTN_LOCAL: "local", linux.RTN_BROADCAST: "broadcast", linux.RTN_UNICAST: "unicast"}[r.Type])
		if r.Table != linux.RT_TABLE_LOCAL || r.OIF != 1 || r.Protocol != linux.RTPROT_KERNEL {
			t.Errorf("route %+v", r)
		}
	}
	if strings.Join(got, " ") != "127.0.0.0/8/local 127.0.0.1/32/local 127.255.255.255/32/broadcast ::1/128/local" {
		t.Errorf("routes %v", got)
	}
}

func TestIPv4Broadcast(t *testing.T) {
	for p, want := range map[string]string{"10.1.2.3/24": "10.1.2.255", "192.0.2.2/30": "192.0.2.3", "127.0.0.1/8": "127.255.255.255"} {
		if b, ok := IPv4Broadcast(netip.MustParsePrefix(p)); !ok || b.String() != want {
			t.Errorf("IPv4Broadcast(%s) = %v %v", p, b, ok)
		}
	}
	if _, ok := IPv4Broadcast(netip.MustParsePrefix("10.0.0.1/31")); ok {
		t.Error("a /31 has a broadcast")
	}
}

// memIO is caller memory for Ioctl.
type memIO struct{ mem []byte }

func (m *memIO) CopyIn(addr uint64, dst []byte) (int, error) {
	if addr+uint64(len(dst)) > uint64(len(m.mem)) {
		return 0, linux.EFAULT
	}
	return copy(dst, m.mem[addr:]), nil
}

func (m *memIO) CopyOut(addr uint64, src []byte) (int, error) {
	if addr+uint64(len(src)) > uint64(len(m.mem)) {
		return 0, linux.EFAULT
	}
	return copy(m.mem[addr:], src), nil
}

func TestIoctl(t *testing.T) {
	s := newStack(t)
	io := &memIO{mem: make([]byte, 4096)}
	le := binary.LittleEndian
	setName := func(name string) {
		clear(io.mem[:64])
		copy(io.mem, name)
	}
	setName("lo")
	if _, err := Ioctl(io, s, linux.AF_UNIX, linux.SIOCGIFFLAGS, 0); err != nil || le.Uint16(io.mem[16:]) != linux.IFF_UP|linux.IFF_RUNNING|linux.IFF_LOOPBACK {
		t.Errorf("SIOCGIFFLAGS = %#x, %v", le.Uint16(io.mem[16:]), err)
	}
	setName("lo")
	if _, err := Ioctl(io, s, linux.AF_INET, linux.SIOCGIFNETMASK, 0); err != nil || netip.AddrFrom4([4]byte(io.mem[20:24])).String() != "255.0.0.0" {
		t.Errorf("SIOCGIFNETMASK = %v, %v", io.mem[16:24], err)
	}
	if _, err := Ioctl(io, s, linux.AF_INET6, linux.SIOCGIFADDR, 0); err != linux.ENOTTY {
		t.Errorf("SIOCGIFADDR on AF_INET6 = %v", err)
	}
	setName("eth9")
	if _, err := Ioctl(io, s, linux.AF_INET, linux.SIOCGIFINDEX, 0); err != linux.ENODEV {
		t.Errorf("unknown name = %v", err)
	}
	// SIOCGIFCONF: the length, then the entry.
	clear(io.mem[:64])
	if _, err := Ioctl(io, s, linux.AF_INET, linux.SIOCGIFCONF, 0); err != nil || le.Uint32(io.mem) != sizeofIfreq {
		t.Fatalf("SIOCGIFCONF length = %d, %v", le.Uint32(io.mem), err)
	}
	le.PutUint32(io.mem, 100)
	le.PutUint64(io.mem[8:], 1024)
	if _, err := Ioctl(io, s, linux.AF_INET, linux.SIOCGIFCONF, 0); err != nil || le.Uint32(io.mem) != sizeofIfreq || string(io.mem[1024:1026]) != "lo" {
		t.Errorf("SIOCGIFCONF = %d %q, %v", le.Uint32(io.mem), io.mem[1024:1040], err)
	}
}

func TestStackChanges(t *testing.T) {
	s := newStack(t)
	p := netip.MustParsePrefix("10.3.0.5/16")
	if err := s.AddAddress(1, p, AddrOptions{Scope: linux.RT_SCOPE_UNIVERSE}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAddress(1, p, AddrOptions{Scope: linux.RT_SCOPE_UNIVERSE}); err != linux.EEXIST {
		t.Errorf("second add = %v", err)
	}
	if err := s.AddAddress(7, p, AddrOptions{Scope: linux.RT_SCOPE_UNIVERSE}); err != linux.ENODEV {
		t.Errorf("add to a missing NIC = %v", err)
	}
	if err := s.SetMTU(1, 1500); err != nil {
		t.Fatal(err)
	}
	if ifs, _ := s.Interfaces(); ifs[0].MTU != 1500 {
		t.Errorf("mtu %d", ifs[0].MTU)
	}
	if err := s.DelAddress(1, netip.PrefixFrom(p.Addr(), 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.DelAddress(1, p); err != linux.EADDRNOTAVAIL {
		t.Errorf("second delete = %v", err)
	}
}

// TestHost reads this machine's own network through Host, as a
// hostNetwork sandbox does, and compares it with the kernel's files.
func TestHost(t *testing.T) {
	h, err := OpenHost()
	if err != nil {
		t.Skipf("no host netlink here: %v", err)
	}
	defer h.Close()
	ifs, err := h.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	lo, ok := ByName(ifs, "lo")
	if !ok || lo.Type != linux.ARPHRD_LOOPBACK || lo.Flags&linux.IFF_LOOPBACK == 0 {
		t.Fatalf("host interfaces %+v", ifs)
	}
	dev, ok, err := h.ProcNet("dev")
	want, rerr := os.ReadFile("/proc/self/net/dev")
	if !ok || err != nil || rerr != nil || !strings.HasPrefix(string(dev), string(want[:strings.Index(string(want), "\n")])) {
		t.Errorf("ProcNet(dev) = %q, %v, %v", dev, ok, err)
	}
	for _, it := range ifs {
		if !strings.Contains(string(dev), it.Name+":") {
			t.Errorf("/proc/net/dev lacks %s", it.Name)
		}
	}
	addrs, err := h.Addresses()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range addrs {
		if a.Prefix.String() == "127.0.0.1/8" && a.Index == lo.Index {
			found = true
		}
	}
	if !found {
		t.Errorf("host addresses %v lack 127.0.0.1/8 on lo", addrs)
	}
	if _, err := h.Routes(); err != nil {
		t.Error(err)
	}
	io := &memIO{mem: make([]byte, 8192)}
	copy(io.mem, "lo")
	if _, err := Ioctl(io, h, linux.AF_INET, linux.SIOCGIFINDEX, 0); err != nil || int32(binary.LittleEndian.Uint32(io.mem[16:])) != lo.Index {
		t.Errorf("host SIOCGIFINDEX = %v, %v", io.mem[16:20], err)
	}
	binary.LittleEndian.PutUint32(io.mem, 4096)
	binary.LittleEndian.PutUint64(io.mem[8:], 1024)
	if _, err := Ioctl(io, h, linux.AF_INET, linux.SIOCGIFCONF, 0); err != nil || binary.LittleEndian.Uint32(io.mem)%sizeofIfreq != 0 || binary.LittleEndian.Uint32(io.mem) == 0 {
		t.Errorf("host SIOCGIFCONF = %d, %v", binary.LittleEndian.Uint32(io.mem), err)
	}
}

// TestCountersTCPExt: netstack's TCP counters show under Linux's TcpExt
// names.
func TestCountersTCPExt(t *testing.T) {
	s := newStack(t)
	tcp := s.st.Stats().TCP
	tcp.Timeouts.IncrementBy(3)
	tcp.SACKRecovery.IncrementBy(2)
	tcp.ListenOverflowSynDrop.Increment()
	tcp.ListenOverflowAckDrop.Increment()
	got := s.Counters().TCPExt
	for name, want := range map[string]uint64{"TCPTimeouts": 3, "TCPSackRecovery": 2, "ListenOverflows": 2, "ListenDrops": 2, "TCPRenoRecovery": 0} {
		if got[name] != want {
			t.Errorf("TcpExt %s = %d, want %d", name, got[name], want)
		}
	}
}
