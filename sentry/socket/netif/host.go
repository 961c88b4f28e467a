package netif

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// Host is the node's network, which a hostNetwork pod's sandbox shares
// (its sentry runs in the host's network namespace). It is read-only:
// the sandbox may look at the node's interfaces, as runc's host-network
// containers do, never change them. Everything it needs from the host is
// opened by OpenHost at boot, because a confined sentry may open neither
// sockets of new kinds nor host files later.
type Host struct {
	// ioctlFD is an AF_INET datagram socket the interface ioctls go to;
	// immutable.
	ioctlFD int
	// proc maps the names of /proc/net files to descriptors of the
	// host's, read again from offset 0 each time; immutable.
	proc map[string]int

	// mu serializes requests on nl and protects seq.
	mu sync.Mutex
	// nl is a NETLINK_ROUTE socket of the host's.
	nl  int
	seq uint32
}

// HostProcNetFiles are the /proc/net files a hostNetwork sandbox shows
// from the host: its sockets and the namespace's devices, addresses,
// routes and protocol counters. A file the host lacks (no IPv6) is
// missing in the sandbox too.
var HostProcNetFiles = []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "icmp", "icmp6", "igmp", "igmp6", "dev_mcast", "dev", "route", "if_inet6", "ipv6_route", "snmp", "snmp6", "netstat", "sockstat", "sockstat6"}

var _ Network = (*Host)(nil)

// OpenHost opens what Host needs in the calling process's network
// namespace, which must be the host's.
func OpenHost() (*Host, error) {
	h := &Host{nl: -1, ioctlFD: -1, proc: make(map[string]int)}
	var err error
	if h.nl, err = linux.Socket(linux.AF_NETLINK, linux.SOCK_RAW|linux.SOCK_CLOEXEC, linux.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netif: host netlink socket: %w", err)
	}
	// A reply never takes long; a lost one must not hang the caller.
	_ = linux.SetsockoptTimeval(h.nl, linux.SOL_SOCKET, linux.SO_RCVTIMEO, &linux.Timeval{Sec: 5})
	if err := linux.Bind(h.nl, &linux.SockaddrNetlink{Family: linux.AF_NETLINK}); err != nil {
		h.Close()
		return nil, fmt.Errorf("netif: binding the host netlink socket: %w", err)
	}
	if h.ioctlFD, err = linux.Socket(linux.AF_INET, linux.SOCK_DGRAM|linux.SOCK_CLOEXEC, 0); err != nil {
		h.Close()
		return nil, fmt.Errorf("netif: host ioctl socket: %w", err)
	}
	for _, name := range HostProcNetFiles {
		fd, err := linux.Open("/proc/self/net/"+name, linux.O_RDONLY|linux.O_CLOEXEC, 0)
		if err == nil {
			h.proc[name] = fd
		}
	}
	return h, nil
}

// Close closes the host descriptors.
func (h *Host) Close() {
	for _, fd := range []int{h.nl, h.ioctlFD} {
		if fd >= 0 {
			linux.Close(fd)
		}
	}
	for _, fd := range h.proc {
		linux.Close(fd)
	}
	h.nl, h.ioctlFD, h.proc = -1, -1, nil
}

// ProcNet returns the contents of the host's /proc/net/name; ok is false
// for a file the host has not.
func (h *Host) ProcNet(name string) ([]byte, bool, error) {
	fd, ok := h.proc[name]
	if !ok {
		return nil, false, nil
	}
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := linux.Pread(fd, buf, int64(len(out)))
		if err == linux.EINTR {
			continue
		}
		if err != nil {
			return nil, true, err
		}
		if n == 0 {
			return out, true, nil
		}
		out = append(out, buf[:n]...)
	}
}

// Request sends one rtnetlink request to the host and returns its
// replies: the messages of a dump (NLMSG_DONE excluded), or the one
// reply of another request; an NLMSG_ERROR reply is its errno (none for
// an acknowledgement). A dump that failed, which Linux reports in its
// NLMSG_DONE (netlink_dump_done), is a *DumpError, with the messages
// that came before.
func (h *Host) Request(typ, flags uint16, payload []byte) ([]nlmsg.Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	seq := h.seq
	req := nlmsg.Message{Header: nlmsg.Header{Type: typ, Flags: flags | nlmsg.FlagRequest, Seq: seq}, Payload: payload}
	if err := linux.Sendto(h.nl, req.Bytes(), 0, &linux.SockaddrNetlink{Family: linux.AF_NETLINK}); err != nil {
		return nil, errno(err)
	}
	var out []nlmsg.Message
	buf := make([]byte, 64<<10)
	for {
		n, _, err := linux.Recvfrom(h.nl, buf, 0)
		if err == linux.EINTR {
			continue
		}
		if err != nil {
			return nil, errno(err)
		}
		for _, m := range nlmsg.Split(buf[:n]) {
			if m.Seq != seq {
				continue // a late reply to an abandoned request
			}
			switch m.Type {
			case nlmsg.DoneType:
				if len(m.Payload) >= 4 {
					if e, _ := nlmsg.U32(m.Payload); int32(e) < 0 {
						return out, &DumpError{Errno: linux.Errno(-int32(e))}
					}
				}
				return out, nil
			case nlmsg.ErrorType:
				if len(m.Payload) < 4 {
					return out, linux.EPROTO
				}
				if e, _ := nlmsg.U32(m.Payload); int32(e) != 0 {
					return out, linux.Errno(-int32(e))
				}
				return out, nil
			}
			m.Payload = slices.Clone(m.Payload)
			out = append(out, m)
			if m.Flags&nlmsg.FlagMulti == 0 {
				return out, nil
			}
		}
	}
}

// DumpError is the error a dump's NLMSG_DONE carried.
type DumpError struct{ Errno linux.Errno }

func (e *DumpError) Error() string { return "rtnetlink dump: " + e.Errno.Error() }

// Unwrap returns the errno.
func (e *DumpError) Unwrap() error { return e.Errno }

func errno(err error) error {
	var e linux.Errno
	if errors.As(err, &e) {
		return e
	}
	return linux.EIO
}

// dump requests a dump of typ for all families.
func (h *Host) dump(typ uint16, hdrLen int) ([]nlmsg.Message, error) {
	return h.Request(typ, nlmsg.FlagDump, make([]byte, hdrLen))
}

// Interfaces implements Network.Interfaces from the host's RTM_GETLINK
// dump.
func (h *Host) Interfaces() ([]Interface, error) {
	msgs, err := h.dump(linux.RTM_GETLINK, nlmsg.IfInfoMsgLen)
	if err != nil {
		return nil, err
	}
	var out []Interface
	for _, m := range msgs {
		if m.Type != linux.RTM_NEWLINK || len(m.Payload) < nlmsg.IfInfoMsgLen {
			continue
		}
		ifi := nlmsg.DecodeIfInfoMsg(m.Payload)
		attrs, _ := nlmsg.Attrs(m.Payload[nlmsg.IfInfoMsgLen:])
		it := Interface{Index: ifi.Index, Type: ifi.Type, Flags: ifi.Flags, Link: ifi.Index}
		it.Name = nlmsg.Str(attrs[linux.IFLA_IFNAME])
		u32 := func(typ uint16) uint32 { v, _ := nlmsg.U32(attrs[typ]); return v }
		it.MTU, it.MinMTU, it.MaxMTU, it.TxQueueLen = u32(linux.IFLA_MTU), u32(linux.IFLA_MIN_MTU), u32(linux.IFLA_MAX_MTU), u32(linux.IFLA_TXQLEN)
		if v, ok := nlmsg.U32(attrs[linux.IFLA_LINK]); ok {
			it.Link = int32(v)
		}
		if v := attrs[linux.IFLA_OPERSTATE]; len(v) > 0 {
			it.OperState = v[0]
		}
		it.Addr = slices.Clone(attrs[linux.IFLA_ADDRESS])
		it.Broadcast = slices.Clone(attrs[linux.IFLA_BROADCAST])
		if v := attrs[linux.IFLA_STATS64]; len(v) >= 9*8 {
			f := func(i int) uint64 { return nlmsgU64(v[i*8:]) }
			it.Stats = Stats{
				RxPackets: f(0), TxPackets: f(1), RxBytes: f(2), TxBytes: f(3),
				RxErrors: f(4), TxErrors: f(5), RxDropped: f(6), TxDropped: f(7), Multicast: f(8),
			}
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b Interface) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

func nlmsgU64(b []byte) uint64 {
	lo, _ := nlmsg.U32(b)
	hi, _ := nlmsg.U32(b[4:])
	return uint64(hi)<<32 | uint64(lo)
}

// Addresses implements Network.Addresses from the host's RTM_GETADDR
// dump.
func (h *Host) Addresses() ([]Address, error) {
	msgs, err := h.dump(linux.RTM_GETADDR, nlmsg.IfAddrMsgLen)
	if err != nil {
		return nil, err
	}
	var out []Address
	for _, m := range msgs {
		if m.Type != linux.RTM_NEWADDR || len(m.Payload) < nlmsg.IfAddrMsgLen {
			continue
		}
		ifa := nlmsg.DecodeIfAddrMsg(m.Payload)
		attrs, _ := nlmsg.Attrs(m.Payload[nlmsg.IfAddrMsgLen:])
		v, ok := attrs[linux.IFA_LOCAL]
		if !ok {
			v = attrs[linux.IFA_ADDRESS]
		}
		ip, ok := nlmsg.IP(v, ifa.Family)
		if !ok {
			continue
		}
		a := Address{Index: int32(ifa.Index), Prefix: netip.PrefixFrom(ip, int(ifa.PrefixLen)), Scope: ifa.Scope, Flags: uint32(ifa.Flags), Label: nlmsg.Str(attrs[linux.IFA_LABEL])}
		if f, ok := nlmsg.U32(attrs[linux.IFA_FLAGS]); ok {
			a.Flags = f
		}
		a.Broadcast, _ = nlmsg.IP(attrs[linux.IFA_BROADCAST], ifa.Family)
		out = append(out, a)
	}
	return out, nil
}

// Routes implements Network.Routes from the host's RTM_GETROUTE dump
// (main and local tables).
func (h *Host) Routes() ([]Route, error) {
	msgs, err := h.dump(linux.RTM_GETROUTE, nlmsg.RtMsgLen)
	if err != nil {
		return nil, err
	}
	var out []Route
	for _, m := range msgs {
		if m.Type != linux.RTM_NEWROUTE || len(m.Payload) < nlmsg.RtMsgLen {
			continue
		}
		rtm := nlmsg.DecodeRtMsg(m.Payload)
		attrs, _ := nlmsg.Attrs(m.Payload[nlmsg.RtMsgLen:])
		table := uint32(rtm.Table)
		if v, ok := nlmsg.U32(attrs[linux.RTA_TABLE]); ok {
			table = v
		}
		if (table != linux.RT_TABLE_MAIN && table != linux.RT_TABLE_LOCAL) || (rtm.Family != linux.AF_INET && rtm.Family != linux.AF_INET6) {
			continue
		}
		r := Route{Family: rtm.Family, Table: uint8(table), Type: rtm.Type, Protocol: rtm.Protocol, Scope: rtm.Scope}
		dst, _ := nlmsg.IP(attrs[linux.RTA_DST], rtm.Family)
		if !dst.IsValid() {
			dst = netip.IPv4Unspecified()
			if rtm.Family == linux.AF_INET6 {
				dst = netip.IPv6Unspecified()
			}
		}
		r.Dst = netip.PrefixFrom(dst, int(rtm.DstLen))
		r.Gateway, _ = nlmsg.IP(attrs[linux.RTA_GATEWAY], rtm.Family)
		r.PrefSrc, _ = nlmsg.IP(attrs[linux.RTA_PREFSRC], rtm.Family)
		if v, ok := nlmsg.U32(attrs[linux.RTA_OIF]); ok {
			r.OIF = int32(v)
		}
		r.Priority, _ = nlmsg.U32(attrs[linux.RTA_PRIORITY])
		out = append(out, r)
	}
	return out, nil
}

// hostIoctl implements hostIoctler: the request runs on the host
// socket, on the caller's ifreq copied into the sentry.
func (h *Host) hostIoctl(req uint64, ifr []byte) error {
	_, _, e := linux.Syscall(linux.SYS_IOCTL, uintptr(h.ioctlFD), uintptr(req), uintptr(unsafe.Pointer(&ifr[0])))
	if e != 0 {
		return e
	}
	return nil
}

// hostIfconfCall runs SIOCGIFCONF on the host into data (the length
// only, when fill is false) and returns the length the host wrote.
func hostIfconfCall(h hostIoctler, data []byte, fill bool) (int, error) {
	host, ok := h.(*Host)
	if !ok {
		return 0, linux.ENOTTY
	}
	// struct ifconf.
	var ifc struct {
		len int32
		_   int32
		buf uintptr
	}
	if fill {
		if len(data) == 0 {
			return 0, nil
		}
		ifc.len = int32(len(data))
		ifc.buf = uintptr(unsafe.Pointer(&data[0]))
	}
	_, _, e := linux.Syscall(linux.SYS_IOCTL, uintptr(host.ioctlFD), linux.SIOCGIFCONF, uintptr(unsafe.Pointer(&ifc)))
	runtime.KeepAlive(data)
	if e != 0 {
		return 0, e
	}
	return int(ifc.len), nil
}
