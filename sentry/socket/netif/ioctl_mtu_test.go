package netif

import (
	"encoding/binary"
	"testing"

	linux "golang.org/x/sys/unix"
)

func TestSetMTU(t *testing.T) {
	s := newStack(t)
	io := &announceIO{adminIO: adminIO{memIO: memIO{mem: make([]byte, 4096)}, admin: true}}
	set := func(name string, mtu int32) error {
		clear(io.mem[:64])
		copy(io.mem, name)
		binary.LittleEndian.PutUint32(io.mem[16:], uint32(mtu))
		_, err := Ioctl(io, s, linux.AF_INET, linux.SIOCSIFMTU, 0)
		return err
	}
	mtu := func() uint32 {
		ifs, _ := s.Interfaces()
		return ifs[0].MTU
	}
	was := mtu()
	if err := set("lo", int32(was)); err != nil || len(io.changed) != 0 {
		t.Fatalf("the same MTU: %v, announced %v", err, io.changed)
	}
	if err := set("lo", 9000); err != nil || mtu() != 9000 || len(io.changed) != 1 {
		t.Fatalf("9000: %v, MTU %d, announced %v", err, mtu(), io.changed)
	}
	// ifr_mtu is an int; the loopback device has no bounds (minmtu and
	// maxmtu 0 on Linux too).
	for _, bad := range []int32{-1, -1500} {
		if err := set("lo", bad); err != linux.EINVAL {
			t.Errorf("MTU %d: %v, want EINVAL", bad, err)
		}
	}
	if err := set("eth9", 1500); err != linux.ENODEV {
		t.Errorf("unknown device: %v, want ENODEV", err)
	}
	io.admin = false
	if err := set("lo", 1500); err != linux.EPERM || mtu() != 9000 {
		t.Errorf("without CAP_NET_ADMIN: %v, MTU %d; want EPERM, 9000", err, mtu())
	}
}
