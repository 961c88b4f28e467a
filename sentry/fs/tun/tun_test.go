package tun

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
)

// caller is a Caller on a stack, with the task's memory a byte slice.
type caller struct {
	st       *netstack.Stack
	netAdmin bool
	mem      []byte
	refused  []string
}

func (c *caller) CopyIn(addr uint64, dst []byte) (int, error) {
	return copy(dst, c.mem[addr:]), nil
}
func (c *caller) CopyOut(addr uint64, src []byte) (int, error) {
	return copy(c.mem[addr:], src), nil
}
func (c *caller) NetAdmin() bool                     { return c.netAdmin }
func (c *caller) NetStack() (*netstack.Stack, error) { return c.st, nil }
func (c *caller) HostNetwork() bool                  { return false }
func (c *caller) LogRefusal(msg string)              { c.refused = append(c.refused, msg) }

func newCaller(t *testing.T) *caller {
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return &caller{st: st, netAdmin: true, mem: make([]byte, 64)}
}

// setIff runs TUNSETIFF with name and flags and returns the name the
// file got.
func setIff(t *testing.T, c *caller, f *File, name string, flags uint16) (string, error) {
	clear(c.mem)
	copy(c.mem, name)
	binary.LittleEndian.PutUint16(c.mem[ifNameSize:], flags)
	_, err := f.Ioctl(c, unix.TUNSETIFF, 0)
	return cString(c.mem[:ifNameSize]), err
}

func open(t *testing.T) *File {
	impl, err := NewInode().Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f := impl.(*File)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestNamesFollowLinux(t *testing.T) {
	c := newCaller(t)
	a, b := open(t), open(t)
	for _, f := range []*File{a, b} {
		if _, err := setIff(t, c, f, "", unix.IFF_TUN); err != nil {
			t.Fatal(err)
		}
	}
	// dev_alloc_name: the lowest free number, from 0.
	if a.dev.Name() != "tun0" || b.dev.Name() != "tun1" {
		t.Fatalf("names %q, %q; want tun0, tun1", a.dev.Name(), b.dev.Name())
	}
	for _, bad := range []string{"a/b", "a:b", "a b", "tun%d%d", "tun%s", ".", ".."} {
		if _, err := setIff(t, c, open(t), bad, unix.IFF_TUN); !errors.Is(err, unix.EINVAL) {
			t.Errorf("TUNSETIFF %q: %v, want EINVAL", bad, err)
		}
	}
}

func TestRefusals(t *testing.T) {
	c := newCaller(t)
	if _, err := setIff(t, c, open(t), "t0", unix.IFF_TUN|unix.IFF_MULTI_QUEUE); !errors.Is(err, unix.EINVAL) || len(c.refused) != 1 {
		t.Errorf("IFF_MULTI_QUEUE: %v (logged %q), want EINVAL, logged", err, c.refused)
	}
	c.netAdmin = false
	if _, err := setIff(t, c, open(t), "t0", unix.IFF_TUN); !errors.Is(err, unix.EPERM) {
		t.Errorf("without CAP_NET_ADMIN: %v, want EPERM", err)
	}
	c.netAdmin = true
	f := open(t)
	if _, err := setIff(t, c, f, "t0", unix.IFF_TUN); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Ioctl(c, unix.TUNSETOFFLOAD, unix.TUN_F_CSUM); !errors.Is(err, unix.EINVAL) {
		t.Errorf("TUNSETOFFLOAD TUN_F_CSUM: %v, want EINVAL", err)
	}
	if _, err := f.Ioctl(c, unix.TUNSETOWNER, 1000); !errors.Is(err, unix.EINVAL) {
		t.Errorf("TUNSETOWNER: %v, want EINVAL", err)
	}
}

func TestVnetHdrChecksum(t *testing.T) {
	// A UDP header and 4 bytes of data whose checksum field holds a
	// made-up pseudo-header sum; NEEDS_CSUM from offset 0, field at 6.
	pkt := []byte{0x10, 0xe1, 0x13, 0xe9, 0x00, 0x0c, 0x12, 0x34, 'p', 'o', 'n', 'g'}
	hdr := []byte{vnetFlagNeedsCsum, vnetGSONone, 0, 0, 0, 0, 0, 0, 6, 0}
	out, err := applyVnetHdr(hdr, pkt)
	if err != nil {
		t.Fatal(err)
	}
	// The completed checksum makes the ones' complement sum of the
	// segment (with the pseudo-header sum folded in by the field's old
	// value) come to all ones.
	check := binary.BigEndian.Uint16(out[6:])
	sum := uint32(onesSum(append(append([]byte{}, out[:6]...), out[8:]...))) + uint32(check) + 0x1234
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Fatalf("checksum %#04x does not complete the sum (%#04x)", check, sum)
	}
	if binary.BigEndian.Uint16(pkt[6:]) != 0x1234 {
		t.Fatal("the caller's packet was changed")
	}
	hdr[1] = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	if _, err := applyVnetHdr(hdr, pkt); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("a GSO packet: %v, want EINVAL", err)
	}
	hdr[1], hdr[8] = vnetGSONone, 11
	if _, err := applyVnetHdr(hdr, pkt); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("a checksum field past the packet: %v, want EINVAL", err)
	}
}
