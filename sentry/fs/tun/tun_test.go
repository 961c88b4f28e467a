package tun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"github.com/cocoonrt/cocoon/netstack"
)

// caller is a Caller on a stack, with the task's memory a byte slice.
type caller struct {
	st       *netstack.Stack
	netAdmin bool
	euid     uint32
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
func (c *caller) EffectiveUID() uint32               { return c.euid }
func (c *caller) InEffectiveGroup(uint32) bool       { return false }
func (c *caller) KernelUID(id uint32) (uint32, bool) { return id, id != ^uint32(0) }
func (c *caller) KernelGID(id uint32) (uint32, bool) { return id, id != ^uint32(0) }

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
	if _, err := f.Ioctl(c, unix.TUNSETTXFILTER, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("TUNSETTXFILTER: %v, want EINVAL", err)
	}
	if _, err := f.Ioctl(c, unix.TUNSETOWNER, 1<<32-1); !errors.Is(err, unix.EINVAL) {
		t.Errorf("TUNSETOWNER -1: %v, want EINVAL", err)
	}
}

func TestOffloadsFollowLinux(t *testing.T) {
	c := newCaller(t)
	f := open(t)
	if _, err := setIff(t, c, f, "t0", unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_VNET_HDR); err != nil {
		t.Fatal(err)
	}
	const csum, tso4, tso6, ecn, ufo, uso4, uso6 = unix.TUN_F_CSUM, unix.TUN_F_TSO4, unix.TUN_F_TSO6, unix.TUN_F_TSO_ECN, unix.TUN_F_UFO, unix.TUN_F_USO4, unix.TUN_F_USO6
	// What Linux 6.18's set_offload answered to each.
	for arg, ok := range map[uint64]bool{
		0: true, csum: true, csum | tso4 | tso6: true, csum | tso4 | ecn: true,
		csum | ufo: true, csum | tso4 | ufo: true, csum | uso4 | uso6: true,
		csum | tso4 | tso6 | ecn | ufo | uso4 | uso6: true,
		tso4: false, ufo: false, uso4: false, csum | ecn: false, csum | ecn | ufo: false,
		csum | uso4: false, csum | uso6: false, csum | tso4 | uso4: false, 0x80: false, csum | 0x100: false,
	} {
		_, err := f.Ioctl(c, unix.TUNSETOFFLOAD, arg)
		if ok && err != nil || !ok && !errors.Is(err, unix.EINVAL) {
			t.Errorf("TUNSETOFFLOAD %#x: %v, want success %v", arg, err, ok)
		}
	}
}

// vnet builds a virtio-net header.
func vnet(flags, gsoType uint8, gsoSize, csumStart, csumOffset uint16) vnetHdr {
	return vnetHdr{flags: flags, gsoType: gsoType, gsoSize: gsoSize, csumStart: csumStart, csumOffset: csumOffset}
}

var (
	srcV4, dstV4 = tcpip.AddrFrom4([4]byte{10, 0, 0, 2}), tcpip.AddrFrom4([4]byte{10, 0, 0, 1})
	srcV6        = tcpip.AddrFrom16([16]byte{0xfd, 15: 2})
	dstV6        = tcpip.AddrFrom16([16]byte{0xfd, 15: 1})
)

// tcpPacket builds an IP packet carrying a TCP segment with payload and
// flags, its checksum field holding the pseudo-header's sum as a GSO
// writer leaves it.
func tcpPacket(v4 bool, seq uint32, flags header.TCPFlags, payload []byte) []byte {
	l3 := header.IPv6MinimumSize
	if v4 {
		l3 = header.IPv4MinimumSize
	}
	pkt := make([]byte, l3+header.TCPMinimumSize+len(payload))
	tcpLen := uint16(header.TCPMinimumSize + len(payload))
	var src, dst tcpip.Address
	if v4 {
		ip := header.IPv4(pkt)
		ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(pkt)), ID: 7, Flags: header.IPv4FlagDontFragment, TTL: 64, Protocol: uint8(header.TCPProtocolNumber), SrcAddr: srcV4, DstAddr: dstV4})
		src, dst = srcV4, dstV4
	} else {
		header.IPv6(pkt).Encode(&header.IPv6Fields{PayloadLength: tcpLen, TransportProtocol: header.TCPProtocolNumber, HopLimit: 64, SrcAddr: srcV6, DstAddr: dstV6})
		src, dst = srcV6, dstV6
	}
	tcp := header.TCP(pkt[l3:])
	tcp.Encode(&header.TCPFields{SrcPort: 4000, DstPort: 80, SeqNum: seq, AckNum: 99, DataOffset: header.TCPMinimumSize, Flags: flags, WindowSize: 1000})
	copy(pkt[l3+header.TCPMinimumSize:], payload)
	tcp.SetChecksum(header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, tcpLen))
	return pkt
}

func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}

func TestGSOWriteOfTCPIsCutIntoItsSegments(t *testing.T) {
	for _, v4 := range []bool{true, false} {
		l3 := header.IPv6MinimumSize
		gsoType := uint8(unix.VIRTIO_NET_HDR_GSO_TCPV6)
		if v4 {
			l3, gsoType = header.IPv4MinimumSize, unix.VIRTIO_NET_HDR_GSO_TCPV4
		}
		payload := payloadOf(2500)
		pkt := tcpPacket(v4, 1000, header.TCPFlagAck|header.TCPFlagPsh|header.TCPFlagFin|header.TCPFlagCwr, payload)
		h := vnet(unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType|unix.VIRTIO_NET_HDR_GSO_ECN, 1000, uint16(l3), 16)
		segs, err := vnetPackets(h, pkt, false)
		if err != nil {
			t.Fatalf("v4 %v: %v", v4, err)
		}
		if len(segs) != 3 {
			t.Fatalf("v4 %v: %d segments, want 3", v4, len(segs))
		}
		var got []byte
		for i, seg := range segs {
			var src, dst tcpip.Address
			if v4 {
				ip := header.IPv4(seg)
				if !ip.IsValid(len(seg)) || !ip.IsChecksumValid() || ip.ID() != uint16(7+i) {
					t.Errorf("segment %d: IPv4 header %x not valid, or ID %d, want %d", i, seg[:l3], ip.ID(), 7+i)
				}
				src, dst = ip.SourceAddress(), ip.DestinationAddress()
			} else {
				ip := header.IPv6(seg)
				if int(ip.PayloadLength()) != len(seg)-l3 {
					t.Errorf("segment %d: payload length %d, want %d", i, ip.PayloadLength(), len(seg)-l3)
				}
				src, dst = ip.SourceAddress(), ip.DestinationAddress()
			}
			tcp := header.TCP(seg[l3:])
			data := tcp.Payload()
			if want := min(1000, 2500-1000*i); len(data) != want {
				t.Errorf("segment %d: %d bytes, want %d", i, len(data), want)
			}
			if !tcp.IsChecksumValid(src, dst, checksum.Checksum(data, 0), uint16(len(data))) {
				t.Errorf("segment %d: TCP checksum not valid", i)
			}
			if tcp.SequenceNumber() != uint32(1000+1000*i) {
				t.Errorf("segment %d: sequence number %d", i, tcp.SequenceNumber())
			}
			// CWR on the first only; FIN and PSH on the last only.
			want := header.TCPFlagAck
			if i == 0 {
				want |= header.TCPFlagCwr
			}
			if i == 2 {
				want |= header.TCPFlagPsh | header.TCPFlagFin
			}
			if tcp.Flags() != want {
				t.Errorf("segment %d: flags %v, want %v", i, tcp.Flags(), want)
			}
			got = append(got, data...)
		}
		if !bytes.Equal(got, payload) {
			t.Errorf("v4 %v: the segments do not carry the payload in order", v4)
		}
	}
}

func TestGSOWriteOfUDPIsCutIntoDatagrams(t *testing.T) {
	payload := payloadOf(1300)
	pkt := make([]byte, header.IPv4MinimumSize+header.UDPMinimumSize+len(payload))
	header.IPv4(pkt).Encode(&header.IPv4Fields{TotalLength: uint16(len(pkt)), TTL: 64, Protocol: uint8(header.UDPProtocolNumber), SrcAddr: srcV4, DstAddr: dstV4})
	header.UDP(pkt[header.IPv4MinimumSize:]).Encode(&header.UDPFields{SrcPort: 5000, DstPort: 53, Length: uint16(len(pkt) - header.IPv4MinimumSize)})
	copy(pkt[header.IPv4MinimumSize+header.UDPMinimumSize:], payload)
	segs, err := vnetPackets(vnet(0, unix.VIRTIO_NET_HDR_GSO_UDP_L4, 500, 0, 0), pkt, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 3 {
		t.Fatalf("%d datagrams, want 3", len(segs))
	}
	for i, seg := range segs {
		ip := header.IPv4(seg)
		udp := header.UDP(ip.Payload())
		data := udp.Payload()
		if want := min(500, 1300-500*i); len(data) != want || int(udp.Length()) != want+header.UDPMinimumSize || !ip.IsChecksumValid() {
			t.Errorf("datagram %d: %d bytes, length field %d, IPv4 checksum valid %v", i, len(data), udp.Length(), ip.IsChecksumValid())
		}
		if !udp.IsChecksumValid(srcV4, dstV4, checksum.Checksum(data, 0)) || !bytes.Equal(data, payload[500*i:500*i+len(data)]) {
			t.Errorf("datagram %d: bad checksum or data", i)
		}
	}
	// More than UDP_MAX_SEGMENTS datagrams in one write.
	if _, err := vnetPackets(vnet(0, unix.VIRTIO_NET_HDR_GSO_UDP_L4, 10, 0, 0), pkt, false); !errors.Is(err, unix.EINVAL) {
		t.Errorf("130 datagrams: %v, want EINVAL", err)
	}
}

func TestGSOWriteOnATAP(t *testing.T) {
	ip := tcpPacket(true, 1, header.TCPFlagAck, payloadOf(3000))
	frame := append(make([]byte, header.EthernetMinimumSize), ip...)
	header.Ethernet(frame).Encode(&header.EthernetFields{Type: header.IPv4ProtocolNumber})
	segs, err := vnetPackets(vnet(0, unix.VIRTIO_NET_HDR_GSO_TCPV4, 1448, 0, 0), frame, true)
	if err != nil || len(segs) != 3 {
		t.Fatalf("%d frames, %v; want 3", len(segs), err)
	}
	for i, seg := range segs {
		if header.Ethernet(seg).Type() != header.IPv4ProtocolNumber || !header.IPv4(seg[header.EthernetMinimumSize:]).IsChecksumValid() {
			t.Errorf("frame %d: %x", i, seg[:header.EthernetMinimumSize+header.IPv4MinimumSize])
		}
	}
}

func TestVnetHdrRefusals(t *testing.T) {
	v4 := tcpPacket(true, 1, header.TCPFlagAck, payloadOf(3000))
	for _, c := range []struct {
		name string
		h    vnetHdr
		pkt  []byte
	}{
		{"gso_size 0", vnet(0, unix.VIRTIO_NET_HDR_GSO_TCPV4, 0, 0, 0), v4},
		{"UFO", vnet(0, unix.VIRTIO_NET_HDR_GSO_UDP, 1000, 0, 0), v4},
		{"an unknown GSO type", vnet(0, 2, 1000, 0, 0), v4},
		{"TCPV6 on an IPv4 packet", vnet(0, unix.VIRTIO_NET_HDR_GSO_TCPV6, 1000, 0, 0), v4},
		{"UDP_L4 on a TCP segment", vnet(0, unix.VIRTIO_NET_HDR_GSO_UDP_L4, 1000, 0, 0), v4},
		{"UDP_L4 with ECN", vnet(0, unix.VIRTIO_NET_HDR_GSO_UDP_L4|unix.VIRTIO_NET_HDR_GSO_ECN, 1000, 0, 0), v4},
		{"a checksum past the packet", vnet(unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, unix.VIRTIO_NET_HDR_GSO_TCPV4, 1000, uint16(len(v4)-4), 16), v4},
		{"a truncated TCP header", vnet(0, unix.VIRTIO_NET_HDR_GSO_TCPV4, 1000, 0, 0), v4[:30]},
	} {
		if _, err := vnetPackets(c.h, c.pkt, false); !errors.Is(err, unix.EINVAL) {
			t.Errorf("%s: %v, want EINVAL", c.name, err)
		}
	}
}

func TestVnetHdrChecksumOfOnePacket(t *testing.T) {
	// A UDP header and 4 bytes of data whose checksum field holds a
	// made-up pseudo-header sum; NEEDS_CSUM from offset 0, field at 6.
	pkt := []byte{0x10, 0xe1, 0x13, 0xe9, 0x00, 0x0c, 0x12, 0x34, 'p', 'o', 'n', 'g'}
	out, err := vnetPackets(vnet(unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, unix.VIRTIO_NET_HDR_GSO_NONE, 0, 0, 6), pkt, false)
	if err != nil || len(out) != 1 {
		t.Fatal(len(out), err)
	}
	// The completed checksum makes the ones' complement sum of the
	// segment (with the pseudo-header sum folded in by the field's old
	// value) come to all ones.
	p := out[0]
	check := binary.BigEndian.Uint16(p[6:])
	sum := checksum.Combine(checksum.Combine(checksum.Checksum(append(append([]byte{}, p[:6]...), p[8:]...), 0), check), 0x1234)
	if sum != 0xffff {
		t.Fatalf("checksum %#04x does not complete the sum (%#04x)", check, sum)
	}
	if binary.BigEndian.Uint16(pkt[6:]) != 0x1234 {
		t.Fatal("the caller's packet was changed")
	}
	if _, err := vnetPackets(vnet(unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, unix.VIRTIO_NET_HDR_GSO_NONE, 0, 0, 11), pkt, false); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("a checksum field past the packet: %v, want EINVAL", err)
	}
	// A GSO packet no larger than one segment goes as it is.
	small := tcpPacket(true, 1, header.TCPFlagAck, payloadOf(100))
	out, err = vnetPackets(vnet(0, unix.VIRTIO_NET_HDR_GSO_TCPV4, 1000, 0, 0), small, false)
	if err != nil || len(out) != 1 || !bytes.Equal(out[0], small) {
		t.Fatalf("a one-segment GSO packet: %d packets, %v", len(out), err)
	}
}

// FuzzVnetPackets feeds the segmentation what a hostile program could
// write: it must return packets or an error, never panic, and never
// return a packet longer than what was written.
func FuzzVnetPackets(f *testing.F) {
	f.Add(uint8(0), uint8(unix.VIRTIO_NET_HDR_GSO_TCPV4), uint16(1000), uint16(20), uint16(16), false, tcpPacket(true, 1, header.TCPFlagAck, payloadOf(2500)))
	f.Add(uint8(1), uint8(unix.VIRTIO_NET_HDR_GSO_TCPV6|unix.VIRTIO_NET_HDR_GSO_ECN), uint16(1), uint16(40), uint16(16), false, tcpPacket(false, 1, header.TCPFlagFin, payloadOf(30)))
	f.Add(uint8(1), uint8(unix.VIRTIO_NET_HDR_GSO_UDP_L4), uint16(7), uint16(34), uint16(6), true, append(make([]byte, 14), tcpPacket(true, 1, 0, payloadOf(50))...))
	f.Fuzz(func(t *testing.T, flags, gsoType uint8, gsoSize, csumStart, csumOffset uint16, tap bool, pkt []byte) {
		out, err := vnetPackets(vnet(flags, gsoType, gsoSize, csumStart, csumOffset), pkt, tap)
		if err != nil {
			return
		}
		for _, p := range out {
			if len(p) > len(pkt) {
				t.Fatalf("a %d-byte packet out of a %d-byte write", len(p), len(pkt))
			}
		}
	})
}
