package netif

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	linux "golang.org/x/sys/unix"
)

// The IPv4 address requests of devinet_ioctl that change an interface's
// addresses: what ifconfig sends to give an interface or an alias
// ("eth0:1") an address, a netmask or a broadcast address. Each acts on
// the first IPv4 address labelled with the name the request gives;
// SIOCSIFADDR makes one when there is none, labelled with the alias, and
// an address of 0.0.0.0 deletes it. A change that Linux makes by taking
// the address out and putting it back (inet_del_ifa, inet_insert_ifa) is
// made here the same way, which deletes or promotes a primary's
// secondaries as Linux does, and is announced to rtnetlink listeners.
// SIOCSIFDSTADDR (a point-to-point peer) is not served: the sandbox's
// interfaces have no peer addresses.

// isSetAddrIoctl reports whether req is one of the requests here.
func isSetAddrIoctl(req uint64) bool {
	switch req {
	case linux.SIOCSIFADDR, linux.SIOCSIFNETMASK, linux.SIOCSIFBRDADDR:
		return true
	}
	return false
}

// setInetAddr serves SIOCSIFADDR, SIOCSIFNETMASK and SIOCSIFBRDADDR on an
// AF_INET socket, checking what devinet_ioctl checks in its order:
// CAP_NET_ADMIN (EPERM), an AF_INET address (EINVAL), the device
// (ENODEV), an address with the name's label for the requests other than
// SIOCSIFADDR (EADDRNOTAVAIL), then the value (EINVAL).
func setInetAddr(io IoctlIO, n Network, req uint64, ifr []byte) error {
	if a, ok := io.(NetAdminer); !ok || !a.NetAdmin() {
		return linux.EPERM
	}
	le := binary.LittleEndian
	data := ifr[ifNameSize:]
	if le.Uint16(data) != linux.AF_INET {
		return linux.EINVAL
	}
	v := netip.AddrFrom4([4]byte(data[4:8]))
	it, name, alias, err := ifreqDevice(n, ifr)
	if err != nil {
		return err
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
	var cur *Address
	for i := range before {
		if a := &before[i]; a.Index == it.Index && a.Prefix.Addr().Is4() && a.Label == name {
			cur = a
			break
		}
	}
	if cur == nil && req != linux.SIOCSIFADDR {
		return linux.EADDRNOTAVAIL
	}
	var p netip.Prefix
	var o AddrOptions
	switch req {
	case linux.SIOCSIFADDR:
		classBits := classfulLen(v)
		if classBits < 0 {
			return linux.EINVAL
		}
		if cur != nil && cur.Prefix.Addr() == v {
			return nil
		}
		// A new address has the classful prefix of its class, the
		// broadcast address of that prefix on a broadcast device,
		// and host scope if it is a loopback one (inet_set_ifa).
		p = netip.PrefixFrom(v, classBits)
		if it.Flags&linux.IFF_POINTOPOINT != 0 {
			p = netip.PrefixFrom(v, 32)
		} else if it.Flags&linux.IFF_BROADCAST != 0 {
			o.Broadcast, _ = IPv4Broadcast(p)
		}
		if v.IsLoopback() {
			o.Scope = linux.RT_SCOPE_HOST
		}
		o.Label = it.Name
		if alias {
			o.Label = name
		}
	case linux.SIOCSIFNETMASK:
		maskBits, ok := maskLen(v)
		if !ok {
			return linux.EINVAL
		}
		if maskBits == cur.Prefix.Bits() {
			return nil
		}
		p = netip.PrefixFrom(cur.Prefix.Addr(), maskBits)
		o = AddrOptions{Broadcast: cur.Broadcast, Scope: cur.Scope, Label: cur.Label}
		// A broadcast address that was the old prefix's follows the
		// new one; one the user chose stays.
		if old, ok := IPv4Broadcast(cur.Prefix); ok && old == cur.Broadcast && it.Flags&linux.IFF_BROADCAST != 0 {
			o.Broadcast, _ = IPv4Broadcast(p)
		}
	case linux.SIOCSIFBRDADDR:
		if cur.Broadcast == v || (!cur.Broadcast.IsValid() && v.IsUnspecified()) {
			return nil
		}
		p = cur.Prefix
		o = AddrOptions{Broadcast: v, Scope: cur.Scope, Label: cur.Label}
	}
	if cur != nil {
		if err := conf.DelAddress(it.Index, cur.Prefix); err != nil {
			return err
		}
	}
	if !p.Addr().IsUnspecified() {
		err = conf.AddAddress(it.Index, p, o)
	}
	if an, ok := io.(Announcer); ok {
		an.AddressesChanged(n, it.Index, before)
	}
	return err
}

// classfulLen is inet_abc_len: the prefix length of a's class (A: 8, B:
// 16, C: 24, E: 32), 0 for 0.0.0.0/8 and the limited broadcast address,
// -1 for a multicast (class D) one.
func classfulLen(a netip.Addr) int {
	b := a.As4()
	switch {
	case b[0] == 0 || a == limitedBroadcast:
		return 0
	case b[0] < 128:
		return 8
	case b[0] < 192:
		return 16
	case b[0] < 224:
		return 24
	case b[0] < 240:
		return -1
	}
	return 32
}

// maskLen returns the prefix length of netmask m; false if its ones are
// not contiguous from the top (bad_mask).
func maskLen(m netip.Addr) (int, bool) {
	v := binary.BigEndian.Uint32(m.AsSlice())
	ones := bits.LeadingZeros32(^v)
	return ones, v<<ones == 0
}
