package netif

import (
	"encoding/binary"
	"net/netip"

	linux "golang.org/x/sys/unix"
)

// The IPv6 address requests of inet6_ioctl, what `ifconfig eth0 inet6
// add|del ADDR/LEN` sends on an AF_INET6 socket: SIOCSIFADDR adds an
// address (addrconf_add_ifaddr) and SIOCDIFADDR deletes one
// (addrconf_del_ifaddr), each given as a struct in6_ifreq (the address,
// its prefix length, the interface's index). An added address is
// permanent, as Linux makes it; both changes are announced to rtnetlink
// listeners.

// sizeofIn6Ifreq is sizeof(struct in6_ifreq).
const sizeofIn6Ifreq = 24

// isInet6AddrIoctl reports whether req is one of the requests here on a
// socket of family.
func isInet6AddrIoctl(family int, req uint64) bool {
	return family == linux.AF_INET6 && (req == linux.SIOCSIFADDR || req == linux.SIOCDIFADDR)
}

// setInet6Addr serves them, checking what Linux checks in its order:
// CAP_NET_ADMIN (EPERM), the prefix length (EINVAL), the interface
// (ENODEV), then the address: one that cannot be an interface's
// (unspecified, multicast, loopback off lo) is EADDRNOTAVAIL, one it
// has EEXIST; one to delete must be there with that prefix length
// (EADDRNOTAVAIL).
func setInet6Addr(io IoctlIO, n Network, req, arg uint64) error {
	if a, ok := io.(NetAdminer); !ok || !a.NetAdmin() {
		return linux.EPERM
	}
	b := make([]byte, sizeofIn6Ifreq)
	if _, err := io.CopyIn(arg, b); err != nil {
		return linux.EFAULT
	}
	le := binary.LittleEndian
	addr := netip.AddrFrom16([16]byte(b[:16]))
	plen, index := le.Uint32(b[16:]), int32(le.Uint32(b[20:]))
	if plen > 128 {
		return linux.EINVAL
	}
	ifs, err := n.Interfaces()
	if err != nil {
		return err
	}
	it, ok := ByIndex(ifs, index)
	if !ok {
		return linux.ENODEV
	}
	conf, ok := n.(Configurator)
	if !ok {
		// A hostNetwork pod's view of the node is read-only.
		return linux.EOPNOTSUPP
	}
	before, err := n.Addresses()
	if err != nil {
		return err
	}
	p := netip.PrefixFrom(addr, int(plen))
	if req == linux.SIOCSIFADDR {
		if addr.IsUnspecified() || addr.IsMulticast() || (addr.IsLoopback() && it.Flags&linux.IFF_LOOPBACK == 0) {
			// ipv6_add_addr.
			return linux.EADDRNOTAVAIL
		}
		err = conf.AddAddress(index, p, AddrOptions{})
	} else {
		found := false
		for _, a := range before {
			found = found || (a.Index == index && a.Prefix == p)
		}
		if !found {
			return linux.EADDRNOTAVAIL
		}
		err = conf.DelAddress(index, p)
	}
	if err != nil {
		return err
	}
	if an, ok := io.(Announcer); ok {
		an.AddressesChanged(n, index, before)
	}
	return nil
}
