// wgflow opens a TUN device with wireguard-go's tun package, as
// wireguard-go, Tailscale and Netbird do (the virtio-net header, the
// checksum, TSO and USO offloads, the MTU by ioctl), and moves packets
// through it with its batched I/O, which merges a batch of TCP segments
// or UDP datagrams of one flow into one GSO write. The program plays a
// peer on the far side of the device: eight datagrams to a UDP socket, a
// TCP handshake and sixteen segments to a listener, and the accepted
// connection's answer read back from the device.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

var (
	local = netip.MustParseAddr("10.72.0.1") // the device's address
	peer  = netip.MustParseAddr("10.72.0.2") // the program, beyond it
)

// offset is the headroom wireguard-go's Read and Write want before each
// packet: room for the virtio-net header.
const offset = 16

func main() {
	if os.Getenv("WGFLOW_NETNS") == "" {
		// A network namespace of its own: exec from a thread that
		// unshared one.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			fail(fmt.Errorf("unshare: %w", err))
		}
		fail(syscall.Exec("/proc/self/exe", os.Args, append(os.Environ(), "WGFLOW_NETNS=1")))
	}
	if err := run(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wgflow:", err)
	os.Exit(1)
}

func run() error {
	dev, err := tun.CreateTUN("wg0", 1380)
	if err != nil {
		return fmt.Errorf("CreateTUN: %w", err)
	}
	defer dev.Close()
	name, _ := dev.Name()
	mtu, err := dev.MTU()
	if err != nil {
		return err
	}
	// A batch size above one means the offloads were taken.
	fmt.Printf("%s: mtu %d, batch size %d\n", name, mtu, dev.BatchSize())
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: local.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
		return fmt.Errorf("adding the address: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	if err := udpFlow(dev); err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	if err := tcpFlow(dev); err != nil {
		return fmt.Errorf("tcp: %w", err)
	}
	return nil
}

// udpFlow writes eight 1,000-byte datagrams in one batch, which
// wireguard-go merges into one USO write; the socket reads eight.
func udpFlow(dev tun.Device) error {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 5353)))
	if err != nil {
		return err
	}
	defer c.Close()
	var bufs [][]byte
	for i := range 8 {
		bufs = append(bufs, withHeadroom(udpPacket(uint16(100+i), 4343, 5353, payload(1000, i))))
	}
	if _, err := dev.Write(bufs, offset); err != nil {
		return fmt.Errorf("writing the batch: %w", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 8 {
		b := make([]byte, 2000)
		n, from, err := c.ReadFromUDPAddrPort(b)
		if err != nil {
			return err
		}
		if from != netip.AddrPortFrom(peer, 4343) || !bytes.Equal(b[:n], payload(1000, i)) {
			return fmt.Errorf("datagram %d: %d bytes from %v, not the %dth sent", i, n, from, i)
		}
	}
	fmt.Println("udp: 8 datagrams of 1000 bytes, in order")
	return nil
}

// tcpFlow shakes hands with a listener through the device, writes
// sixteen segments in one batch (one TSO write once merged), and reads
// the accepted connection's answer from the device.
func tcpFlow(dev tun.Device) error {
	l, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 8080)))
	if err != nil {
		return err
	}
	defer l.Close()
	const iss = 5000
	ipID := uint16(1)
	send := func(pkts ...[]byte) error {
		var bufs [][]byte
		for _, p := range pkts {
			bufs = append(bufs, withHeadroom(p))
		}
		_, err := dev.Write(bufs, offset)
		return err
	}
	if err := send(tcpPacket(ipID, iss, 0, flagSYN, nil)); err != nil {
		return err
	}
	synack, _, err := readTCP(dev, flagSYN|flagACK, 0)
	if err != nil {
		return err
	}
	if ack := binary.BigEndian.Uint32(synack[8:]); ack != iss+1 {
		return fmt.Errorf("SYN-ACK acknowledges %d, want %d", ack, iss+1)
	}
	rcvNxt := binary.BigEndian.Uint32(synack[4:]) + 1
	ipID++
	if err := send(tcpPacket(ipID, iss+1, rcvNxt, flagACK, nil)); err != nil {
		return err
	}
	l.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := l.AcceptTCP()
	if err != nil {
		return err
	}
	defer c.Close()
	var segs [][]byte
	var want []byte
	for i := range 16 {
		data := payload(1000, i)
		ipID++
		segs = append(segs, tcpPacket(ipID, uint32(iss+1+1000*i), rcvNxt, flagACK, data))
		want = append(want, data...)
	}
	if err := send(segs...); err != nil {
		return fmt.Errorf("writing the batch: %w", err)
	}
	got := make([]byte, len(want))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := readFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("the listener read other bytes than the segments carried")
	}
	fmt.Printf("tcp: %d bytes in order\n", len(got))
	if _, err := c.Write([]byte("hello")); err != nil {
		return err
	}
	_, data, err := readTCP(dev, flagACK, 5)
	if err != nil {
		return err
	}
	fmt.Printf("read from the device: %q\n", data)
	return nil
}

func readFull(c *net.TCPConn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// readTCP reads packets from the device until a TCP segment to the peer
// with all of flags and at least minData bytes of data; it returns its
// header and data.
func readTCP(dev tun.Device, flags byte, minData int) ([]byte, []byte, error) {
	bufs := make([][]byte, dev.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, offset+65535)
	}
	sizes := make([]int, len(bufs))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := dev.Read(bufs, sizes, offset)
		if err != nil {
			return nil, nil, err
		}
		for i := range n {
			p := bufs[i][offset : offset+sizes[i]]
			if len(p) < 40 || p[0]>>4 != 4 || p[9] != unix.IPPROTO_TCP {
				continue // an IPv6 router solicitation, say
			}
			ihl := int(p[0]&0xf) * 4
			tcp := p[ihl:]
			data := tcp[int(tcp[12]>>4)*4:]
			if tcp[13]&flags == flags && len(data) >= minData {
				return tcp, data, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("no TCP segment with flags %#x came out of the device", flags)
}

const (
	flagFIN = 1
	flagSYN = 2
	flagACK = 16
)

func payload(n, i int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte('a' + (i+j)%26)
	}
	return b
}

func withHeadroom(p []byte) []byte {
	return append(make([]byte, offset, offset+len(p)), p...)
}

// ipv4 returns an IPv4 header from the peer to the device's address for
// a transport payload of n bytes.
func ipv4(id uint16, proto byte, n int) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	binary.BigEndian.PutUint16(h[4:], id)
	h[6] = 0x40 // DF
	h[8] = 64
	h[9] = proto
	copy(h[12:], peer.AsSlice())
	copy(h[16:], local.AsSlice())
	binary.BigEndian.PutUint16(h[10:], ^sum(h, 0))
	return h
}

// sum is the folded ones' complement sum of b, from initial.
func sum(b []byte, initial uint32) uint16 {
	s := initial
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// transportChecksum is the checksum of an IPv4 transport segment.
func transportChecksum(proto byte, seg []byte) uint16 {
	pseudo := uint32(proto) + uint32(len(seg))
	pseudo += uint32(sum(peer.AsSlice(), 0)) + uint32(sum(local.AsSlice(), 0))
	return ^sum(seg, pseudo)
}

func udpPacket(id, sport, dport uint16, data []byte) []byte {
	u := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], data)
	binary.BigEndian.PutUint16(u[6:], transportChecksum(unix.IPPROTO_UDP, u))
	return append(ipv4(id, unix.IPPROTO_UDP, len(u)), u...)
}

// tcpPacket is a segment 10.72.0.2:4000 -> 10.72.0.1:8080; a SYN carries
// an MSS option.
func tcpPacket(id uint16, seq, ack uint32, flags byte, data []byte) []byte {
	hl := 20
	if flags&flagSYN != 0 {
		hl = 24
	}
	t := make([]byte, hl+len(data))
	binary.BigEndian.PutUint16(t[0:], 4000)
	binary.BigEndian.PutUint16(t[2:], 8080)
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12] = byte(hl/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], 65535)
	if hl == 24 {
		copy(t[20:], []byte{2, 4, 1380 >> 8, 1380 & 0xff})
	}
	copy(t[hl:], data)
	binary.BigEndian.PutUint16(t[16:], transportChecksum(unix.IPPROTO_TCP, t))
	return append(ipv4(id, unix.IPPROTO_TCP, len(t)), t...)
}
