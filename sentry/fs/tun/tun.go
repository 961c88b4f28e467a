// Package tun is the sandbox's /dev/net/tun: TUN (IP packets) and TAP
// (Ethernet frames) interfaces of the sandbox's own TCP/IP stack, for the
// VPN and overlay programs (OpenVPN, WireGuard in user space, tun2socks)
// that route a pod's traffic through a program of their own.
//
// An open file is a clone device until TUNSETIFF attaches it to an
// interface, which the caller's network namespace gets (a netstack NIC on
// gVisor's tun link endpoint), down as a new Linux device is. What the
// stack routes out of the interface is read from the file, one packet a
// read; what is written to the file enters the stack as received on the
// interface. The interface goes with the last file attached to it unless
// TUNSETPERSIST keeps it.
//
// Of Linux's options, the packet information header (unless IFF_NO_PI)
// and the virtio-net header (IFF_VNET_HDR) are kept, in Linux's order:
// packet information first. TUNSETOFFLOAD takes what Linux's takes
// (checksum, TSO, USO), and a written packet may be a GSO one whatever
// it allowed (gso.go); a packet read is always a whole, checksummed one
// with a virtio-net header of zeros, which those offloads allow but do
// not require. Multiqueue (IFF_MULTI_QUEUE), the owner and group of a
// persistent device (TUNSETOWNER, TUNSETGROUP), socket filters and XDP
// are refused with EINVAL.
package tun

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/buffer"
	gcontext "gvisor.dev/gvisor/pkg/context"
	gerrors "gvisor.dev/gvisor/pkg/errors"
	"gvisor.dev/gvisor/pkg/errors/linuxerr"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	gwaiter "gvisor.dev/gvisor/pkg/waiter"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Linux's sizes and numbers.
const (
	// sizeofIfreq is sizeof(struct ifreq): a 16-byte name, then a
	// 24-byte union whose first field here is ifr_flags.
	sizeofIfreq = 40
	ifNameSize  = unix.IFNAMSIZ
	// sizeofVnetHdr is sizeof(struct virtio_net_hdr), the smallest
	// TUNSETVNETHDRSZ takes and the default.
	sizeofVnetHdr = 10
	// sizeofPI is sizeof(struct tun_pi): flags and protocol.
	sizeofPI = 4
	// tunPktStrip is TUN_PKT_STRIP, the packet information flag of a
	// packet cut to fit the read.
	tunPktStrip = 1
	// Major and minor of /dev/net/tun (MISC_MAJOR, TUN_MINOR).
	miscMajor = 10
	tunMinor  = 200
)

// maxPacket is what a read or write of a File moves at most: the largest
// IP packet and its headers, with room for a large virtio-net header.
const maxPacket = 65535 + 14 + sizeofPI + 256

// setFlags are the TUNSETIFF flags an interface can be made with.
// IFF_ONE_QUEUE is obsolete: Linux takes it and ignores it.
const setFlags = unix.IFF_TUN | unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_ONE_QUEUE | unix.IFF_VNET_HDR | unix.IFF_TUN_EXCL

// features is what TUNGETFEATURES reports: the flags TUNSETIFF takes
// that change something.
const features = unix.IFF_TUN | unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_ONE_QUEUE | unix.IFF_VNET_HDR

// Caller is what the ioctl caller (the task) tells about itself.
type Caller interface {
	vfs.IoctlIO
	// NetAdmin reports CAP_NET_ADMIN, which making an interface takes,
	// and attaching to one whose owner or group the caller is not.
	NetAdmin() bool
	// EffectiveUID returns the caller's effective kernel user ID, and
	// InEffectiveGroup whether a kernel group ID is its effective or a
	// supplementary group (in_egroup_p).
	EffectiveUID() uint32
	InEffectiveGroup(kgid uint32) bool
	// KernelUID and KernelGID map an ID of the caller's user namespace
	// to a kernel ID (make_kuid, make_kgid); false when it maps none.
	KernelUID(uid uint32) (uint32, bool)
	KernelGID(gid uint32) (uint32, bool)
	// NetStack is the stack of the caller's network namespace.
	NetStack() (*netstack.Stack, error)
	// HostNetwork reports a hostNetwork pod's task, whose sockets are
	// the host's: an interface of the sandbox's stack would carry none
	// of their traffic.
	HostNetwork() bool
}

// Announcer is implemented by a Caller whose network namespace tells
// its rtnetlink listeners about new and removed interfaces.
type Announcer interface {
	Network() (netif.Network, error)
	Netlink() *netlink.Namespace
}

// Logger is implemented by a Caller that logs (rate limited) what the
// device refuses, which the program sees only as EINVAL.
type Logger interface {
	LogRefusal(msg string)
}

// inode is /dev/net/tun.
type inode struct{ attr unix.Stat_t }

// NewInode returns the /dev/net/tun node.
func NewInode() vfs.Inode {
	return &inode{attr: synth.Attr(synth.NewIno(), unix.S_IFCHR|0o666, unix.Mkdev(miscMajor, tunMinor))}
}

func (n *inode) Stat() (unix.Stat_t, error)       { return n.attr, nil }
func (n *inode) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }
func (n *inode) Readlink() (string, error)        { return "", unix.EINVAL }
func (n *inode) Open(int) (vfs.FileImpl, error) {
	f := &File{attr: n.attr, vnetHdrSize: sizeofVnetHdr}
	f.bridge.Init(bridge{f}, gwaiter.EventMask(^uint64(0)>>1))
	f.dev.EventRegister(&f.bridge)
	return f, nil
}

// File is an open /dev/net/tun.
type File struct {
	attr unix.Stat_t
	// dev is gVisor's device, which keeps its own lock.
	dev tun.Device
	// bridge relays dev's notifications to queue.
	bridge gwaiter.Entry
	queue  waiter.Queue

	// mu protects the fields below, set by TUNSETIFF and the ioctls
	// after it.
	mu sync.Mutex
	// st is the stack the interface is in, nil until TUNSETIFF; nic is
	// the interface.
	st  *netstack.Stack
	nic tcpip.NICID
	// flags are the TUNSETIFF flags that TUNGETIFF reports (IFF_TUN or
	// IFF_TAP, IFF_NO_PI, IFF_ONE_QUEUE, IFF_VNET_HDR).
	flags uint16
	// vnetHdrSize is TUNSETVNETHDRSZ's size.
	vnetHdrSize int
	// links and network announce the interface's removal, when the
	// caller of TUNSETIFF could announce its creation.
	links   *netlink.Namespace
	network netif.Network
	// stopWatching ends the wake-ups of writers when the interface
	// comes up.
	stopWatching func()
}

// bridge is the gVisor waiter entry of a File.
type bridge struct{ f *File }

// NotifyEvent implements gwaiter.EventListener.
func (b bridge) NotifyEvent(m gwaiter.EventMask) { b.f.queue.Notify(uint32(m) & waiter.EventIn) }

// IsStream implements vfs.Streamer.
func (*File) IsStream() bool { return true }

// MaxPacket implements vfs.PacketFile: the largest IP packet with its
// Ethernet, packet information and (largest sensible) virtio-net
// headers. A longer write is not a packet the stack could take.
func (*File) MaxPacket() int { return maxPacket }

// Stat implements vfs.FileImpl.
func (f *File) Stat() (unix.Stat_t, error) { return f.attr, nil }

// Close implements vfs.FileImpl: the interface goes unless another file
// holds it or it is persistent, and its removal is announced.
func (f *File) Close() error {
	f.dev.EventUnregister(&f.bridge)
	f.mu.Lock()
	st, id, links, n := f.st, f.nic, f.links, f.network
	if f.stopWatching != nil {
		f.stopWatching()
	}
	f.mu.Unlock()
	var last *netif.Interface
	if links != nil {
		if ifs, err := n.Interfaces(); err == nil {
			last, _ = netif.ByIndex(ifs, int32(id))
		}
	}
	name := f.dev.Name()
	f.dev.Release(gcontext.Background())
	if st == nil {
		return nil
	}
	gone := !st.HasNIC(id)
	st.DetachTUNDevice(name, gone)
	if gone && last != nil {
		links.LinkRemoved(*last)
	}
	return nil
}

// attached returns the TUNSETIFF state, false before it.
func (f *File) attached() (flags uint16, vnetHdrSize int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags, f.vnetHdrSize, f.st != nil
}

// up reports whether the attached interface is up.
func (f *File) up() bool {
	f.mu.Lock()
	st, id := f.st, f.nic
	f.mu.Unlock()
	return st != nil && st.CheckNIC(id)
}

// ReadAt reads one packet the stack sent out of the interface, after its
// headers (packet information, then virtio-net). A packet longer than dst
// is cut, which the packet information's TUN_PKT_STRIP tells, and one
// that leaves no room for its headers is dropped (EINVAL), as Linux's
// tun_put_user does.
func (f *File) ReadAt(dst []byte, _ int64) (int, error) {
	flags, hdrSize, ok := f.attached()
	if !ok {
		return 0, unix.EBADFD
	}
	if len(dst) == 0 {
		return 0, nil
	}
	v, err := f.dev.Read()
	if err != nil {
		return 0, errno(err)
	}
	defer v.Release()
	pkt := v.AsSlice() // gVisor's device puts the packet information first
	piSize, vnetSize := 0, 0
	if flags&unix.IFF_NO_PI == 0 {
		piSize = sizeofPI
	}
	if flags&unix.IFF_VNET_HDR != 0 {
		vnetSize = hdrSize
	}
	if len(dst) < piSize+vnetSize {
		return 0, unix.EINVAL
	}
	n := copy(dst, pkt[:piSize])
	if piSize > 0 && len(dst) < len(pkt)+vnetSize {
		dst[0] |= tunPktStrip // flags are in host (little endian) order
	}
	// Nothing is offloaded: every packet is whole and checksummed.
	clear(dst[n : n+vnetSize])
	n += vnetSize
	n += copy(dst[n:], pkt[piSize:])
	return n, nil
}

// WriteAt injects one packet into the stack as received on the
// interface, or the pieces of a GSO one (gso.go).
func (f *File) WriteAt(src []byte, _ int64) (int, error) {
	flags, hdrSize, ok := f.attached()
	if !ok {
		return 0, unix.EBADFD
	}
	var pi, vnet []byte
	pkt := src
	if flags&unix.IFF_NO_PI == 0 {
		if len(pkt) < sizeofPI {
			return 0, unix.EINVAL
		}
		pi, pkt = pkt[:sizeofPI], pkt[sizeofPI:]
	}
	if flags&unix.IFF_VNET_HDR != 0 {
		if len(pkt) < hdrSize {
			return 0, unix.EINVAL
		}
		vnet, pkt = pkt[:sizeofVnetHdr], pkt[hdrSize:]
	}
	if err := checkPacket(flags, pkt); err != nil {
		return 0, err
	}
	pkts := [][]byte{pkt}
	if vnet != nil {
		var err error
		if pkts, err = vnetPackets(parseVnetHdr(vnet), pkt, flags&unix.IFF_TAP != 0); err != nil {
			return 0, err
		}
	}
	if !f.up() {
		return 0, unix.EIO // tun_get_user: the device is down
	}
	for _, p := range pkts {
		// gVisor's device takes the packet information first.
		v := buffer.NewViewSize(len(pi) + len(p))
		copy(v.AsSlice(), pi)
		copy(v.AsSlice()[len(pi):], p)
		_, err := f.dev.Write(v)
		v.Release()
		if err != nil {
			return 0, errno(err)
		}
	}
	return len(src), nil
}

// checkPacket refuses what Linux's tun_get_user refuses (EINVAL): a
// packet (after its packet information and virtio-net headers) shorter
// than its Ethernet header, and on a TUN without packet information one
// that is not IPv4 or IPv6.
func checkPacket(flags uint16, pkt []byte) error {
	switch {
	case flags&unix.IFF_TAP != 0:
		if len(pkt) < 14 { // ETH_HLEN
			return unix.EINVAL
		}
	case flags&unix.IFF_NO_PI != 0:
		if len(pkt) == 0 || (pkt[0]>>4 != 4 && pkt[0]>>4 != 6) {
			return unix.EINVAL
		}
	}
	return nil
}

// Readiness implements waiter.Waitable: EPOLLERR before TUNSETIFF, as
// tun_chr_poll reports it; then readable with a packet queued, and
// writable while the interface is up (a write to a down one fails).
func (f *File) Readiness(mask uint32) uint32 {
	if _, _, ok := f.attached(); !ok {
		return waiter.EventErr
	}
	r := uint32(f.dev.Readiness(gwaiter.ReadableEvents)) & waiter.EventIn
	if f.up() {
		r |= waiter.EventOut
	}
	return r & mask
}

func (f *File) EventRegister(ch chan struct{}, mask uint32) { f.queue.EventRegister(ch, mask) }
func (f *File) EventUnregister(ch chan struct{})            { f.queue.EventUnregister(ch) }

// Ioctl implements vfs.Ioctler: the TUN* requests. Like Linux's
// __tun_chr_ioctl, an unknown request is EINVAL.
func (f *File) Ioctl(io vfs.IoctlIO, req, arg uint64) (uint64, error) {
	c, ok := io.(Caller)
	if !ok {
		return 0, unix.EINVAL
	}
	switch req {
	case unix.TUNGETFEATURES:
		return 0, putU32(c, arg, features)
	case unix.TUNSETIFF:
		return 0, f.setIff(c, arg)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st == nil {
		return 0, unix.EBADFD
	}
	switch req {
	case unix.TUNGETIFF:
		var ifr [sizeofIfreq]byte
		copy(ifr[:ifNameSize-1], f.dev.Name())
		flags := f.flags
		if d, _ := f.st.TUNDevice(f.dev.Name()); d.Persistent {
			flags |= unix.IFF_PERSIST
		}
		binary.LittleEndian.PutUint16(ifr[ifNameSize:], flags)
		_, err := c.CopyOut(arg, ifr[:])
		return 0, err
	case unix.TUNSETPERSIST:
		if err := f.dev.SetPersistent(arg != 0); err != nil {
			return 0, errno(err)
		}
		f.st.SetTUNPersistent(f.dev.Name(), arg != 0)
		return 0, nil
	case unix.TUNSETOWNER, unix.TUNSETGROUP:
		// Whoever holds the device may hand it over; the ID is one of
		// the caller's user namespace.
		group := req == unix.TUNSETGROUP
		var id uint32
		var ok bool
		if group {
			id, ok = c.KernelGID(uint32(arg))
		} else {
			id, ok = c.KernelUID(uint32(arg))
		}
		if !ok {
			return 0, unix.EINVAL
		}
		f.st.SetTUNOwner(f.dev.Name(), group, id)
		if f.links != nil {
			f.links.LinkChanged(f.network, int32(f.nic))
		}
		return 0, nil
	case unix.TUNSETOFFLOAD:
		// What the offloads allow, handing the reader GSO packets and
		// partial checksums, the device never does: it only checks
		// the flags.
		return 0, checkOffloads(arg)
	case unix.TUNGETVNETHDRSZ:
		return 0, putU32(c, arg, uint32(f.vnetHdrSize))
	case unix.TUNSETVNETHDRSZ:
		var b [4]byte
		if _, err := c.CopyIn(arg, b[:]); err != nil {
			return 0, err
		}
		size := int32(binary.LittleEndian.Uint32(b[:]))
		if size < sizeofVnetHdr {
			return 0, unix.EINVAL
		}
		if size > 256 {
			// Linux takes any larger size; the sandbox keeps a
			// header within maxPacket's allowance.
			warnf(c, "tun: TUNSETVNETHDRSZ %d refused: the sandbox takes virtio-net headers of at most 256 bytes", size)
			return 0, unix.EINVAL
		}
		f.vnetHdrSize = int(size)
		return 0, nil
	}
	warnf(c, "tun: ioctl %#x refused: not supported on the sandbox's TUN devices", req)
	return 0, unix.EINVAL
}

// checkOffloads takes the TUNSETOFFLOAD flags Linux's set_offload
// takes: TSO (with or without ECN) and USO (both families at once) only
// with the checksum offload, UFO accepted and ignored. Any other flag is
// EINVAL, which is how a program probes for one.
func checkOffloads(arg uint64) error {
	if arg&unix.TUN_F_CSUM != 0 {
		arg &^= unix.TUN_F_CSUM
		if arg&(unix.TUN_F_TSO4|unix.TUN_F_TSO6) != 0 {
			arg &^= unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_TSO_ECN
		}
		arg &^= unix.TUN_F_UFO
		if arg&unix.TUN_F_USO4 != 0 && arg&unix.TUN_F_USO6 != 0 {
			arg &^= unix.TUN_F_USO4 | unix.TUN_F_USO6
		}
	}
	if arg != 0 {
		return unix.EINVAL
	}
	return nil
}

// setIff serves TUNSETIFF: it makes the interface (or attaches to a
// persistent one of that name), down, and writes its name back.
func (f *File) setIff(c Caller, arg uint64) error {
	var ifr [sizeofIfreq]byte
	if _, err := c.CopyIn(arg, ifr[:]); err != nil {
		return err
	}
	flags := binary.LittleEndian.Uint16(ifr[ifNameSize:])
	name := cString(ifr[:ifNameSize-1])
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st != nil {
		return unix.EEXIST
	}
	if flags&^setFlags != 0 {
		warnf(c, "tun: TUNSETIFF flags %#x refused: the sandbox's TUN devices take only IFF_TUN, IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, IFF_TUN_EXCL and IFF_ONE_QUEUE", flags)
		return unix.EINVAL
	}
	// IFF_TUN wins over IFF_TAP, as tun_set_iff looks at it first.
	isTUN := flags&unix.IFF_TUN != 0
	isTAP := !isTUN && flags&unix.IFF_TAP != 0
	if !isTUN && !isTAP {
		return unix.EINVAL
	}
	if isTUN {
		flags &^= unix.IFF_TAP
	}
	if c.HostNetwork() {
		if !c.NetAdmin() {
			return unix.EPERM
		}
		warnf(c, "tun: TUNSETIFF refused: a hostNetwork pod's traffic is the host's, which a TUN device of the sandbox would not carry")
		return unix.EPERM
	}
	st, err := c.NetStack()
	if err != nil {
		if !c.NetAdmin() {
			return unix.EPERM
		}
		return unix.ENODEV
	}
	// Making a device takes CAP_NET_ADMIN; attaching to one, only when
	// it has an owner or a group the caller is not (tun_set_iff).
	if d, ok := st.TUNDevice(name); ok && st.GetLinkEndpointByName(name) != nil {
		if notCapable(c, d) {
			return unix.EPERM
		}
	} else if !c.NetAdmin() {
		return unix.EPERM
	}
	prefix := "tun"
	if isTAP {
		prefix = "tap"
	}
	if name == "" {
		name = prefix + "%d"
	}
	if name, err = allocName(st, name); err != nil {
		return err
	}
	existing := st.GetLinkEndpointByName(name) != nil
	if err := f.dev.SetIff(gcontext.Background(), st.Stack, name, tun.Flags{
		TUN: isTUN, TAP: isTAP, NoPacketInfo: flags&unix.IFF_NO_PI != 0, Exclusive: flags&unix.IFF_TUN_EXCL != 0,
	}); err != nil {
		return errno(err)
	}
	id, _ := st.NICByName(name)
	old, _ := st.TUNDevice(name)
	st.AttachTUNDevice(name, netstack.TUNDevice{
		TAP: isTAP, PacketInfo: flags&unix.IFF_NO_PI == 0, VnetHdr: flags&unix.IFF_VNET_HDR != 0,
	})
	if !existing {
		// A new device is down until brought up, as on Linux, and a
		// TAP has a random MAC (eth_hw_addr_random): locally
		// administered, unicast.
		st.DisableNIC(id)
		if isTAP {
			var mac [6]byte
			rand.Read(mac[:])
			mac[0] = mac[0]&^1 | 2
			st.SetNICAddress(id, tcpip.LinkAddress(mac[:]))
		}
	}
	f.st, f.nic = st, id
	// Writers polling a down interface wake when it comes up.
	f.stopWatching = st.WatchLinkUp(func(up tcpip.NICID) {
		if up == id {
			f.queue.Notify(waiter.EventOut)
		}
	})
	f.flags = flags & (unix.IFF_TUN | unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_ONE_QUEUE | unix.IFF_VNET_HDR)
	clear(ifr[:ifNameSize])
	copy(ifr[:ifNameSize-1], name)
	if _, err := c.CopyOut(arg, ifr[:]); err != nil {
		return err
	}
	if a, ok := c.(Announcer); ok {
		if n, err := a.Network(); err == nil {
			f.links, f.network = a.Netlink(), n
			f.links.LinkChanged(n, int32(id))
			if co, ok := n.(carrierNotifier); ok && existing && old.Files == 0 {
				// The first file brings the carrier.
				before, _ := n.Addresses()
				co.CarrierOn(int32(id))
				f.links.AddressesChanged(n, int32(id), before)
			}
		}
	}
	return nil
}

// carrierNotifier is a network told when an interface gets its carrier
// (netif.Stack).
type carrierNotifier interface {
	CarrierOn(index int32)
}

// notCapable is tun_not_capable: the device has an owner the caller is
// not, or a group it is not in, and the caller lacks CAP_NET_ADMIN.
func notCapable(c Caller, d netstack.TUNDevice) bool {
	return ((d.HasOwner && c.EffectiveUID() != d.Owner) || (d.HasGroup && !c.InEffectiveGroup(d.Group))) && !c.NetAdmin()
}

// allocName checks an interface name as dev_valid_name does and, for a
// pattern with one %d, picks the lowest free number (dev_alloc_name).
func allocName(st *netstack.Stack, name string) (string, error) {
	if len(name) >= ifNameSize || name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n\v\f\r") {
		return "", unix.EINVAL
	}
	i := strings.Index(name, "%")
	if i < 0 {
		return name, nil
	}
	if name[i:i+min(2, len(name)-i)] != "%d" || strings.Contains(name[i+2:], "%") {
		return "", unix.EINVAL
	}
	for n := 0; n < 1<<15; n++ {
		cand := fmt.Sprintf(name, n)
		if len(cand) >= ifNameSize {
			break
		}
		if st.GetLinkEndpointByName(cand) == nil {
			return cand, nil
		}
	}
	return "", unix.ENFILE
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// putU32 writes v to the caller's memory at addr.
func putU32(c vfs.IoctlIO, addr uint64, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	_, err := c.CopyOut(addr, b[:])
	return err
}

// errno converts gVisor's errors.
func errno(err error) error {
	if err == nil {
		return nil
	}
	if err == linuxerr.ErrWouldBlock {
		return unix.EAGAIN
	}
	if e, ok := err.(*gerrors.Error); ok {
		return unix.Errno(e.Errno())
	}
	return unix.EIO
}

func warnf(c Caller, format string, args ...any) {
	if l, ok := c.(Logger); ok {
		l.LogRefusal(fmt.Sprintf(format, args...))
	}
}
