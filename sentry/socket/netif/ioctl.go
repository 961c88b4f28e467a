package netif

import (
	"encoding/binary"
	"net/netip"
	"strings"

	linux "golang.org/x/sys/unix"
)

// The interface ioctls (netdevice(7)). Linux answers them on a socket of
// any family: sock_do_ioctl hands the requests a family does not serve
// to dev_ioctl (flags, index, name, MTU, hardware address, queue length,
// metric, map) or dev_ifconf (SIOCGIFCONF); only AF_INET sockets add the
// address requests (devinet_ioctl: SIOCGIFADDR, SIOCGIFNETMASK,
// SIOCGIFBRDADDR, SIOCGIFDSTADDR), which other families answer ENOTTY.
// Of the changing requests SIOCSIFFLAGS (IFF_UP, what `ifconfig lo up`
// and older `ip link set` use), SIOCSIFMTU (wireguard-go's, ifconfig's)
// and devinet_ioctl's SIOCSIFADDR, SIOCSIFNETMASK and SIOCSIFBRDADDR
// (ioctl_addr.go) are here, which netstack can change; the other SIOCSIF*
// ones fall through to the socket (ENOTTY). An AF_INET6 socket's
// SIOCSIFADDR and SIOCDIFADDR add and delete an IPv6 address instead
// (ioctl_addr6.go).

const (
	// sizeofIfreq is sizeof(struct ifreq): a 16-byte name, then a
	// 24-byte union.
	sizeofIfreq = 40
	// ifNameSize is IFNAMSIZ.
	ifNameSize = 16
	// sizeofIfconf is sizeof(struct ifconf): an int length, padding and
	// a pointer.
	sizeofIfconf = 16
	// maxIfconf bounds the buffer SIOCGIFCONF fills (a few thousand
	// addresses).
	maxIfconf = 1 << 20
)

// IoctlIO reads and writes the caller's memory.
type IoctlIO interface {
	CopyIn(addr uint64, dst []byte) (int, error)
	CopyOut(addr uint64, src []byte) (int, error)
}

// IsIoctl reports whether req is an interface request served by Ioctl.
func IsIoctl(req uint64) bool {
	switch req {
	case linux.SIOCGIFCONF, linux.SIOCGIFNAME, linux.SIOCGIFINDEX, linux.SIOCGIFFLAGS,
		linux.SIOCGIFMTU, linux.SIOCGIFHWADDR, linux.SIOCGIFTXQLEN, linux.SIOCGIFMETRIC,
		linux.SIOCGIFMAP, linux.SIOCGIFADDR, linux.SIOCGIFNETMASK, linux.SIOCGIFBRDADDR,
		linux.SIOCGIFDSTADDR, linux.SIOCSIFFLAGS, linux.SIOCSIFMTU,
		linux.SIOCSIFADDR, linux.SIOCSIFNETMASK, linux.SIOCSIFBRDADDR, linux.SIOCDIFADDR:
		return true
	}
	return false
}

// NetAdminer is implemented by the IoctlIO of a caller that may hold
// CAP_NET_ADMIN, which the changing requests ask for; a caller without
// it gets EPERM.
type NetAdminer interface {
	NetAdmin() bool
}

// Announcer is implemented by the IoctlIO of a caller whose network has
// rtnetlink listeners: a change of an interface's flags is announced to
// them, as Linux's __dev_notify_flags announces one made outside
// rtnetlink (rtmsg_ifinfo).
type Announcer interface {
	// LinkChanged announces the state of interface index of n after a
	// change (RTM_NEWLINK to RTNLGRP_LINK).
	LinkChanged(n Network, index int32)
	// AddressesChanged announces the addresses interface index of n
	// gained and lost since before (RTM_NEWADDR, RTM_DELADDR): a link
	// going up or down changes its IPv6 ones.
	AddressesChanged(n Network, index int32, before []Address)
}

// changeableFlags are the flags dev_change_flags lets a caller set; of
// them the sandbox's interfaces can change IFF_UP alone.
const changeableFlags = linux.IFF_UP | linux.IFF_DEBUG | linux.IFF_NOTRAILERS | linux.IFF_NOARP |
	linux.IFF_DYNAMIC | linux.IFF_MULTICAST | linux.IFF_PORTSEL | linux.IFF_AUTOMEDIA |
	linux.IFF_PROMISC | linux.IFF_ALLMULTI

// isInetIoctl reports whether req is one of devinet_ioctl's.
func isInetIoctl(req uint64) bool {
	switch req {
	case linux.SIOCGIFADDR, linux.SIOCGIFNETMASK, linux.SIOCGIFBRDADDR, linux.SIOCGIFDSTADDR:
		return true
	}
	return isSetAddrIoctl(req)
}

// hostIoctler is a Network whose requests go to a host socket (Host).
type hostIoctler interface {
	hostIoctl(req uint64, arg []byte) error
}

// Ioctl serves interface request req (IsIoctl) with argument arg for a
// socket of family, on network n.
func Ioctl(io IoctlIO, n Network, family int, req, arg uint64) (uint64, error) {
	if isInet6AddrIoctl(family, req) {
		return 0, setInet6Addr(io, n, req, arg)
	}
	if (isInetIoctl(req) && family != linux.AF_INET) || req == linux.SIOCDIFADDR {
		return 0, linux.ENOTTY
	}
	if req == linux.SIOCGIFCONF {
		return 0, ifconf(io, n, arg)
	}
	ifr := make([]byte, sizeofIfreq)
	if _, err := io.CopyIn(arg, ifr); err != nil {
		return 0, linux.EFAULT
	}
	if req == linux.SIOCSIFFLAGS {
		// Never passed to the host: a hostNetwork pod's view of the
		// node is read-only. Nothing is copied back.
		return 0, setFlags(io, n, family, ifr)
	}
	if req == linux.SIOCSIFMTU {
		return 0, setMTU(io, n, ifr)
	}
	if isSetAddrIoctl(req) {
		return 0, setInetAddr(io, n, req, ifr)
	}
	if h, ok := n.(hostIoctler); ok {
		if err := h.hostIoctl(req, ifr); err != nil {
			return 0, err
		}
	} else if err := ifreq(n, req, ifr); err != nil {
		return 0, err
	}
	if _, err := io.CopyOut(arg, ifr); err != nil {
		return 0, linux.EFAULT
	}
	return 0, nil
}

// ifreqName returns the interface name of an ifreq: up to IFNAMSIZ-1
// bytes, as dev_ioctl terminates it.
func ifreqName(ifr []byte) string {
	name := ifr[:ifNameSize-1]
	for i, c := range name {
		if c == 0 {
			return string(name[:i])
		}
	}
	return string(name)
}

// ifreqDevice returns the interface an ifreq names, ignoring an alias
// suffix ("eth0:1"), with the whole name and whether it has one (ENODEV:
// no such interface).
func ifreqDevice(n Network, ifr []byte) (it *Interface, name string, alias bool, err error) {
	ifs, err := n.Interfaces()
	if err != nil {
		return nil, "", false, err
	}
	name = ifreqName(ifr)
	base, _, alias := strings.Cut(name, ":")
	it, ok := ByName(ifs, base)
	if !ok {
		return nil, "", false, linux.ENODEV
	}
	return it, name, alias, nil
}

// ifreq serves one struct ifreq request from n's snapshot.
func ifreq(n Network, req uint64, ifr []byte) error {
	ifs, err := n.Interfaces()
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	data := ifr[ifNameSize:]
	if req == linux.SIOCGIFNAME {
		it, ok := ByIndex(ifs, int32(le.Uint32(data)))
		if !ok {
			return linux.ENODEV
		}
		clear(ifr[:ifNameSize])
		copy(ifr[:ifNameSize-1], it.Name)
		return nil
	}
	name := ifreqName(ifr)
	if isInetIoctl(req) {
		return inetIfreq(n, ifs, req, name, data)
	}
	// dev_ioctl ignores an alias suffix ("eth0:1").
	base := name
	for i := range base {
		if base[i] == ':' {
			base = base[:i]
			break
		}
	}
	it, ok := ByName(ifs, base)
	if !ok {
		return linux.ENODEV
	}
	switch req {
	case linux.SIOCGIFINDEX:
		le.PutUint32(data, uint32(it.Index))
	case linux.SIOCGIFFLAGS:
		// ifr_flags is a short: the flags above 16 bits are lost.
		le.PutUint16(data, uint16(it.Flags))
	case linux.SIOCGIFMTU:
		le.PutUint32(data, it.MTU)
	case linux.SIOCGIFTXQLEN:
		le.PutUint32(data, it.TxQueueLen)
	case linux.SIOCGIFMETRIC:
		le.PutUint32(data, 0)
	case linux.SIOCGIFMAP:
		// struct ifmap: no device memory, I/O port, IRQ or DMA.
		clear(data)
	case linux.SIOCGIFHWADDR:
		// A struct sockaddr whose family is the device type and whose
		// 14 data bytes start with the address.
		clear(data[:16])
		le.PutUint16(data, it.Type)
		copy(data[2:16], it.Addr)
	}
	return nil
}

// setFlags serves SIOCSIFFLAGS as dev_ifsioc's dev_change_flags does,
// and on an AF_INET socket as devinet_ioctl does: CAP_NET_ADMIN first
// (EPERM), then the device (ENODEV). An AF_INET request naming an alias
// ("eth0:1") acts on the address labelled so (EADDRNOTAVAIL if none):
// clearing IFF_UP removes it. Otherwise the device takes the flags: only
// IFF_UP can change here (netstack enables and disables the NIC), so a
// change of another flag dev_change_flags lets through is EOPNOTSUPP, as
// rtnetlink's is; flags it ignores (IFF_RUNNING, IFF_LOOPBACK, ...) are
// ignored. A change is announced to rtnetlink listeners (Announcer).
func setFlags(io IoctlIO, n Network, family int, ifr []byte) error {
	if a, ok := io.(NetAdminer); !ok || !a.NetAdmin() {
		return linux.EPERM
	}
	it, name, alias, err := ifreqDevice(n, ifr)
	if err != nil {
		return err
	}
	// ifr_flags is a short.
	flags := uint32(binary.LittleEndian.Uint16(ifr[ifNameSize:]))
	conf, canChange := n.(Configurator)
	if alias && family == linux.AF_INET {
		addrs, err := n.Addresses()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.Index != it.Index || !a.Prefix.Addr().Is4() || a.Label != name {
				continue
			}
			if flags&linux.IFF_UP != 0 {
				return nil
			}
			if !canChange {
				return linux.EOPNOTSUPP
			}
			return conf.DelAddress(a.Index, a.Prefix)
		}
		return linux.EADDRNOTAVAIL
	}
	change := (flags ^ it.Flags) & changeableFlags
	if change == 0 {
		return nil
	}
	if !canChange || change&^linux.IFF_UP != 0 {
		return linux.EOPNOTSUPP
	}
	before, _ := n.Addresses()
	if err := conf.SetUp(it.Index, flags&linux.IFF_UP != 0); err != nil {
		return err
	}
	if an, ok := io.(Announcer); ok {
		an.LinkChanged(n, it.Index)
		an.AddressesChanged(n, it.Index, before)
	}
	return nil
}

// setMTU serves SIOCSIFMTU as dev_ifsioc and dev_set_mtu do: the same
// MTU changes nothing, another must be within the interface's bounds
// (EINVAL); a change is announced as one through rtnetlink is.
func setMTU(io IoctlIO, n Network, ifr []byte) error {
	if a, ok := io.(NetAdminer); !ok || !a.NetAdmin() {
		return linux.EPERM
	}
	ifs, err := n.Interfaces()
	if err != nil {
		return err
	}
	it, ok := ByName(ifs, ifreqName(ifr))
	if !ok {
		return linux.ENODEV
	}
	// ifr_mtu is an int.
	mtu := int32(binary.LittleEndian.Uint32(ifr[ifNameSize:]))
	if mtu < 0 {
		return linux.EINVAL
	}
	if uint32(mtu) == it.MTU {
		return nil
	}
	conf, ok := n.(Configurator)
	if !ok {
		return linux.EOPNOTSUPP
	}
	if err := conf.SetMTU(it.Index, uint32(mtu)); err != nil {
		return err
	}
	if an, ok := io.(Announcer); ok {
		an.LinkChanged(n, it.Index)
	}
	return nil
}

// inetIfreq serves devinet_ioctl's requests: the IPv4 address whose
// label is name (the interface's own name for its addresses here), the
// one the caller's ifr_addr names first when it names one.
func inetIfreq(n Network, ifs []Interface, req uint64, name string, data []byte) error {
	base := name
	for i := range base {
		if base[i] == ':' {
			base = base[:i]
			break
		}
	}
	if _, ok := ByName(ifs, base); !ok {
		return linux.ENODEV
	}
	addrs, err := n.Addresses()
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	var want netip.Addr
	if le.Uint16(data) == linux.AF_INET {
		want = netip.AddrFrom4([4]byte(data[4:8]))
	}
	var found *Address
	for _, match := range []bool{true, false} {
		for i := range addrs {
			a := &addrs[i]
			if !a.Prefix.Addr().Is4() || a.Label != name {
				continue
			}
			if match && (!want.IsValid() || a.Prefix.Addr() != want) {
				continue
			}
			found = a
			break
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		return linux.EADDRNOTAVAIL
	}
	var v netip.Addr
	switch req {
	case linux.SIOCGIFADDR, linux.SIOCGIFDSTADDR:
		v = found.Prefix.Addr()
	case linux.SIOCGIFNETMASK:
		v = netip.AddrFrom4([4]byte(maskBytes(found.Prefix)))
	case linux.SIOCGIFBRDADDR:
		v = found.Broadcast
		if !v.IsValid() {
			v = netip.IPv4Unspecified()
		}
	}
	clear(data[:16])
	le.PutUint16(data, linux.AF_INET)
	a4 := v.As4()
	copy(data[4:8], a4[:])
	return nil
}

// ifconf serves SIOCGIFCONF: one struct ifreq (name and IPv4 address)
// per IPv4 address, whole entries only; with a NULL buffer, only the
// length they need.
func ifconf(io IoctlIO, n Network, arg uint64) error {
	hdr := make([]byte, sizeofIfconf)
	if _, err := io.CopyIn(arg, hdr); err != nil {
		return linux.EFAULT
	}
	le := binary.LittleEndian
	length := int32(le.Uint32(hdr))
	buf := le.Uint64(hdr[8:])
	if h, ok := n.(hostIoctler); ok {
		return hostIfconf(io, h, arg, hdr, length, buf)
	}
	addrs, err := n.Addresses()
	if err != nil {
		return err
	}
	total := 0
	for _, a := range addrs {
		if !a.Prefix.Addr().Is4() {
			continue
		}
		if buf == 0 {
			total += sizeofIfreq
			continue
		}
		if int(length)-total < sizeofIfreq {
			break
		}
		ifr := make([]byte, sizeofIfreq)
		copy(ifr[:ifNameSize-1], a.Label)
		le.PutUint16(ifr[ifNameSize:], linux.AF_INET)
		a4 := a.Prefix.Addr().As4()
		copy(ifr[ifNameSize+4:], a4[:])
		if _, err := io.CopyOut(buf+uint64(total), ifr); err != nil {
			return linux.EFAULT
		}
		total += sizeofIfreq
	}
	le.PutUint32(hdr, uint32(total))
	if _, err := io.CopyOut(arg, hdr[:4]); err != nil {
		return linux.EFAULT
	}
	return nil
}

// hostIfconf passes SIOCGIFCONF to the host through a buffer of the
// sentry's.
func hostIfconf(io IoctlIO, h hostIoctler, arg uint64, hdr []byte, length int32, buf uint64) error {
	le := binary.LittleEndian
	var data []byte
	if buf != 0 && length > 0 {
		data = make([]byte, min(int(length), maxIfconf))
	}
	n, err := hostIfconfCall(h, data, buf != 0)
	if err != nil {
		return err
	}
	if buf != 0 && n > 0 {
		if _, err := io.CopyOut(buf, data[:n]); err != nil {
			return linux.EFAULT
		}
	}
	le.PutUint32(hdr, uint32(n))
	if _, err := io.CopyOut(arg, hdr[:4]); err != nil {
		return linux.EFAULT
	}
	return nil
}
