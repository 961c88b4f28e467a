package netif

import (
	"encoding/binary"
	"testing"

	linux "golang.org/x/sys/unix"
)

// adminIO is caller memory whose caller may or may not have
// CAP_NET_ADMIN.
type adminIO struct {
	memIO
	admin bool
}

func (a *adminIO) NetAdmin() bool { return a.admin }

func TestSetFlags(t *testing.T) {
	s := newStack(t)
	io := &adminIO{memIO: memIO{mem: make([]byte, 4096)}, admin: true}
	le := binary.LittleEndian
	set := func(name string, flags uint16, family int) error {
		clear(io.mem[:64])
		copy(io.mem, name)
		le.PutUint16(io.mem[16:], flags)
		_, err := Ioctl(io, s, family, linux.SIOCSIFFLAGS, 0)
		return err
	}
	up := func() bool {
		ifs, _ := s.Interfaces()
		return ifs[0].Up()
	}
	lo := uint16(linux.IFF_UP | linux.IFF_RUNNING | linux.IFF_LOOPBACK)
	if err := set("lo", lo&^linux.IFF_UP, linux.AF_INET); err != nil || up() {
		t.Fatalf("down: %v, up %v", err, up())
	}
	if err := set("lo", linux.IFF_UP, linux.AF_UNIX); err != nil || !up() {
		t.Fatalf("up (ignored flags cleared): %v, up %v", err, up())
	}
	if err := set("lo", lo, linux.AF_INET); err != nil || !up() {
		t.Fatalf("unchanged: %v", err)
	}
	if err := set("lo", lo|linux.IFF_NOARP, linux.AF_INET); err != linux.EOPNOTSUPP {
		t.Errorf("IFF_NOARP = %v, want EOPNOTSUPP", err)
	}
	if err := set("eth9", lo, linux.AF_INET); err != linux.ENODEV {
		t.Errorf("unknown device = %v, want ENODEV", err)
	}
	if err := set("lo:1", lo, linux.AF_INET); err != linux.EADDRNOTAVAIL {
		t.Errorf("unknown alias on AF_INET = %v, want EADDRNOTAVAIL", err)
	}
	if err := set("lo:1", lo&^linux.IFF_UP, linux.AF_INET6); err != nil || up() {
		t.Errorf("alias on AF_INET6 = %v, up %v (want lo down)", err, up())
	}
	io.admin = false
	if err := set("eth9", lo, linux.AF_INET); err != linux.EPERM {
		t.Errorf("without CAP_NET_ADMIN = %v, want EPERM", err)
	}
	// A caller that cannot tell is refused too.
	clear(io.mem[:64])
	copy(io.mem, "lo")
	if _, err := Ioctl(&io.memIO, s, linux.AF_INET, linux.SIOCSIFFLAGS, 0); err != linux.EPERM {
		t.Errorf("plain IoctlIO = %v, want EPERM", err)
	}
}

// announceIO records the link changes a caller with CAP_NET_ADMIN is
// told to announce.
type announceIO struct {
	adminIO
	changed []int32
}

func (a *announceIO) LinkChanged(n Network, index int32) { a.changed = append(a.changed, index) }

func (a *announceIO) AddressesChanged(Network, int32, []Address) {}

func TestSetFlagsAnnounces(t *testing.T) {
	s := newStack(t)
	io := &announceIO{adminIO: adminIO{memIO: memIO{mem: make([]byte, 4096)}, admin: true}}
	set := func(flags uint16) error {
		clear(io.mem[:64])
		copy(io.mem, "lo")
		binary.LittleEndian.PutUint16(io.mem[16:], flags)
		_, err := Ioctl(io, s, linux.AF_INET, linux.SIOCSIFFLAGS, 0)
		return err
	}
	ifs, _ := s.Interfaces()
	lo := ifs[0].Index
	if err := set(0); err != nil {
		t.Fatal(err)
	}
	if err := set(linux.IFF_UP); err != nil {
		t.Fatal(err)
	}
	if len(io.changed) != 2 || io.changed[0] != lo || io.changed[1] != lo {
		t.Fatalf("announced %v after down and up, want [%d %d]", io.changed, lo, lo)
	}
	// Neither an unchanged nor a refused request is announced.
	if err := set(linux.IFF_UP); err != nil {
		t.Fatal(err)
	}
	if err := set(linux.IFF_UP | linux.IFF_NOARP); err != linux.EOPNOTSUPP {
		t.Fatalf("IFF_NOARP = %v, want EOPNOTSUPP", err)
	}
	if len(io.changed) != 2 {
		t.Errorf("announced %v, want no more", io.changed)
	}
}
