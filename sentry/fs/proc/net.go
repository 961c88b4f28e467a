package proc

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netfilter"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
)

// /proc/[pid]/net (and /proc/net, a link to self/net): the sandbox's
// network in Linux's formats, from its own stack, or, for a hostNetwork
// pod, the host's files for what the host's kernel has (the sockets, the
// devices, the routes).

// NetSource is implemented by a Source whose sandbox has a network.
type NetSource interface {
	// Network returns the interfaces, addresses and routes shown.
	Network() (netif.Network, error)
	// HostNetFile returns the host's /proc/net/name for a hostNetwork
	// sandbox (host true; the error is ENOENT for a file the host has
	// not); host is false for a sandbox with a network of its own.
	HostNetFile(name string) (data []byte, host bool, err error)
	// InetSockets returns the sandbox's TCP and UDP sockets.
	InetSockets() []netif.InetSocket
	// RawSockets returns the sandbox's raw and ping sockets.
	RawSockets() []netif.InetSocket
	// MulticastJoins returns the multicast groups its sockets joined.
	MulticastJoins() []netif.Joined
	// NetlinkSockets returns the netlink sockets, the kernel's
	// included.
	NetlinkSockets() []netlink.Listed
	// UnixSockets returns the sandbox's AF_UNIX sockets.
	UnixSockets() []UnixSocket
	// Counters returns the stack's protocol counters.
	Counters() netif.Counters
	// SocketsUsed is the number of sockets the sandbox has open.
	SocketsUsed() int
	// IPTableNames returns the packet filter tables of IPv4 (or IPv6)
	// in use, the latest first.
	IPTableNames(ipv6 bool) ([]string, error)
}

// UnixSocket is one AF_UNIX socket as /proc/net/unix lists it.
type UnixSocket struct {
	// Type is SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
	Type int
	// Listening and Connected are the socket's state.
	Listening, Connected bool
	Inode                uint64
	// Path is the bound name: a path, "@name" for an abstract one, ""
	// for none.
	Path string
}

// netFiles are the files of /proc/[pid]/net, in readdir order.
var netFiles = []string{"arp", "dev", "dev_mcast", "icmp", "icmp6", "if_inet6", "igmp", "igmp6", "ip6_tables_matches", "ip6_tables_names", "ip6_tables_targets", "ip_tables_matches", "ip_tables_names", "ip_tables_targets", "ipv6_route", "netlink", "netstat", "packet", "raw", "raw6", "route", "snmp", "snmp6", "sockstat", "sockstat6", "tcp", "tcp6", "udp", "udp6", "unix"}

// restrictedNetFiles are the files of /proc/[pid]/net only their
// owner's group may read (ip_tables' are 0440).
var restrictedNetFiles = []string{"ip6_tables_matches", "ip6_tables_names", "ip6_tables_targets", "ip_tables_matches", "ip_tables_names", "ip_tables_targets"}

// netDir returns /proc/[pid]/net.
func (fs *filesystem) netDir(key string, attr func(*unix.Stat_t) error) *node {
	entries := make([]entry, 0, len(netFiles))
	for _, name := range netFiles {
		mode := uint32(0o444)
		if slices.Contains(restrictedNetFiles, name) {
			mode = 0o440
		}
		entries = append(entries, entry{name, func(k string) *node {
			return fs.file(k, mode, attr, func() ([]byte, error) { return fs.netFile(name) })
		}})
	}
	return fs.fixedDir(key, 0o555, attr, entries)
}

// netFile generates /proc/net/name.
func (fs *filesystem) netFile(name string) ([]byte, error) {
	src, ok := fs.src.(NetSource)
	if !ok {
		return nil, unix.ENOENT
	}
	switch name {
	case "unix", "netlink", "packet":
		// Sockets of the sentry's own, even in a hostNetwork pod.
	default:
		if data, host, err := src.HostNetFile(name); host {
			return data, err
		}
	}
	n, err := src.Network()
	if err != nil {
		return nil, unix.ENOENT
	}
	switch name {
	case "arp":
		ifs, err := n.Interfaces()
		if err != nil {
			return nil, err
		}
		var neigh []netif.Neighbour
		if l, ok := n.(netif.NeighbourLister); ok {
			if neigh, err = l.Neighbours(); err != nil {
				return nil, err
			}
		}
		return formatArp(neigh, ifs), nil
	case "dev":
		ifs, err := n.Interfaces()
		return formatNetDev(ifs), err
	case "if_inet6":
		ifs, err := n.Interfaces()
		if err != nil {
			return nil, err
		}
		addrs, err := n.Addresses()
		return formatIfInet6(addrs, ifs), err
	case "route", "ipv6_route":
		ifs, err := n.Interfaces()
		if err != nil {
			return nil, err
		}
		routes, err := n.Routes()
		if name == "route" {
			return formatRoute(routes, ifs), err
		}
		return formatIPv6Route(routes, ifs), err
	case "igmp", "igmp6", "dev_mcast":
		ifs, err := n.Interfaces()
		if err != nil {
			return nil, err
		}
		addrs, err := n.Addresses()
		if err != nil {
			return nil, err
		}
		groups := netif.MulticastGroups(ifs, addrs, src.MulticastJoins())
		switch name {
		case "igmp":
			return formatIGMP(groups, ifs), nil
		case "igmp6":
			return formatIGMP6(groups, ifs), nil
		}
		return formatDevMcast(netif.LinkMulticasts(ifs, groups), ifs), nil
	case "tcp", "tcp6", "udp", "udp6":
		return formatInetSockets(src.InetSockets(), name), nil
	case "raw", "raw6", "icmp", "icmp6":
		return formatRawSockets(src.RawSockets(), name), nil
	case "unix":
		return formatNetUnix(src.UnixSockets()), nil
	case "netlink":
		return formatNetlink(src.NetlinkSockets()), nil
	case "packet":
		// The sandbox has no packet sockets (socket(2) refuses
		// AF_PACKET).
		return []byte("sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"), nil
	case "snmp":
		return formatSnmp(src.Counters()), nil
	case "snmp6":
		return formatSnmp6(src.Counters()), nil
	case "netstat":
		return formatNetstat(src.Counters().TCPExt), nil
	case "sockstat":
		return formatSockstat(src.SocketsUsed(), append(src.InetSockets(), src.RawSockets()...)), nil
	case "sockstat6":
		return formatSockstat6(append(src.InetSockets(), src.RawSockets()...)), nil
	case "ip_tables_names", "ip6_tables_names":
		names, err := src.IPTableNames(name == "ip6_tables_names")
		return lines(names), err
	case "ip_tables_matches", "ip6_tables_matches":
		matches, _ := netfilter.Extensions(name == "ip6_tables_matches")
		return lines(matches), nil
	case "ip_tables_targets", "ip6_tables_targets":
		_, targets := netfilter.Extensions(name == "ip6_tables_targets")
		return lines(targets), nil
	}
	return nil, unix.ENOENT
}

// lines renders one name per line.
func lines(names []string) []byte {
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// formatArp renders /proc/net/arp (arp_seq_show): the IPv4 neighbours,
// their link addresses (zeros while unknown) and ATF_* flags, those of
// devices that do no ARP left out.
func formatArp(neigh []netif.Neighbour, ifs []netif.Interface) []byte {
	const (
		atfCom  = 0x02 // ATF_COM: the link address is known
		atfPerm = 0x04 // ATF_PERM: a permanent entry
	)
	var b bytes.Buffer
	b.WriteString("IP address       HW type     Flags       HW address            Mask     Device\n")
	for _, nb := range neigh {
		it, ok := netif.ByIndex(ifs, nb.Index)
		if !ok || !nb.Addr.Is4() || nb.State&netif.NUDNoARP != 0 {
			continue
		}
		flags := 0
		switch {
		case nb.State&netif.NUDPermanent != 0:
			flags = atfCom | atfPerm
		case nb.State&netif.NUDValid != 0:
			flags = atfCom
		}
		hw := make([]string, len(it.Addr))
		for i := range hw {
			if i < len(nb.LinkAddr) {
				hw[i] = fmt.Sprintf("%02x", nb.LinkAddr[i])
			} else {
				hw[i] = "00"
			}
		}
		fmt.Fprintf(&b, "%-16s 0x%-10x0x%-10x%s     *        %s\n", nb.Addr, it.Type, flags, strings.Join(hw, ":"), it.Name)
	}
	return b.Bytes()
}

// formatNetDev renders /proc/net/dev (dev_seq_show).
func formatNetDev(ifs []netif.Interface) []byte {
	var b bytes.Buffer
	b.WriteString("Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n")
	for _, it := range ifs {
		st := it.Stats
		fmt.Fprintf(&b, "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n",
			it.Name, st.RxBytes, st.RxPackets, st.RxErrors, st.RxDropped, 0, 0, 0, st.Multicast,
			st.TxBytes, st.TxPackets, st.TxErrors, st.TxDropped, 0, 0, 0, 0)
	}
	return b.Bytes()
}

// ifName returns the name of interface index.
func ifName(ifs []netif.Interface, index int32) string {
	if it, ok := netif.ByIndex(ifs, index); ok {
		return it.Name
	}
	return ""
}

// ipv6Scope is ipv6_addr_scope's IFA_* value of an RT_SCOPE_*.
func ipv6Scope(scope uint8) uint8 {
	switch scope {
	case unix.RT_SCOPE_HOST:
		return 0x10
	case unix.RT_SCOPE_LINK:
		return 0x20
	case unix.RT_SCOPE_SITE:
		return 0x40
	}
	return 0
}

// hex6 is %pi6: the 16 bytes of an IPv6 address in hex.
func hex6(a netip.Addr) string {
	if !a.IsValid() {
		a = netip.IPv6Unspecified()
	}
	b := a.As16()
	return fmt.Sprintf("%x", b[:])
}

// formatIfInet6 renders /proc/net/if_inet6 (if6_seq_show).
func formatIfInet6(addrs []netif.Address, ifs []netif.Interface) []byte {
	var b bytes.Buffer
	for _, a := range addrs {
		if a.Prefix.Addr().Is4() {
			continue
		}
		fmt.Fprintf(&b, "%s %02x %02x %02x %02x %8s\n", hex6(a.Prefix.Addr()), a.Index, a.Prefix.Bits(),
			ipv6Scope(a.Scope), uint8(a.Flags), ifName(ifs, a.Index))
	}
	return b.Bytes()
}

// be32 is an IPv4 address as the host-order print of its __be32.
func be32(a netip.Addr) uint32 {
	if !a.IsValid() || !a.Is4() {
		return 0
	}
	b := a.As4()
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// padLine pads s to width columns and ends it, as seq_pad does.
func padLine(b *bytes.Buffer, s string, width int) {
	b.WriteString(s)
	if n := width - len(s); n > 0 {
		b.WriteString(strings.Repeat(" ", n))
	}
	b.WriteByte('\n')
}

// formatRoute renders /proc/net/route (fib_route_seq_show): the IPv4
// main table's unicast routes.
func formatRoute(routes []netif.Route, ifs []netif.Interface) []byte {
	var b bytes.Buffer
	padLine(&b, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT", 127)
	for _, r := range routes {
		if r.Family != unix.AF_INET || r.Table != unix.RT_TABLE_MAIN || r.Type != unix.RTN_UNICAST {
			continue
		}
		flags := unix.RTF_UP
		if r.Gateway.IsValid() {
			flags |= unix.RTF_GATEWAY
		}
		if r.Dst.Bits() == 32 {
			flags |= unix.RTF_HOST
		}
		name := ifName(ifs, r.OIF)
		if name == "" {
			name = "*"
		}
		mask := uint32(0)
		if r.Dst.Bits() > 0 {
			m := ^uint32(0) << (32 - r.Dst.Bits())
			mask = m>>24 | (m>>16&0xff)<<8 | (m>>8&0xff)<<16 | (m&0xff)<<24
		}
		padLine(&b, fmt.Sprintf("%s\t%08X\t%08X\t%04X\t%d\t%d\t%d\t%08X\t%d\t%d\t%d",
			name, be32(r.Dst.Addr()), be32(r.Gateway), flags, 0, 0, r.Priority, mask, 0, 0, 0), 127)
	}
	return b.Bytes()
}

// IPv6 route flags of /proc/net/ipv6_route.
const (
	rtfNonexthop = 0x00200000
	rtfLocal     = 0x80000000
	rtfReject    = 0x0200
)

// formatIPv6Route renders /proc/net/ipv6_route
// (ipv6_route_native_seq_show): every IPv6 route, then the null entry
// that ends every table walk.
func formatIPv6Route(routes []netif.Route, ifs []netif.Interface) []byte {
	var b bytes.Buffer
	zero := strings.Repeat("0", 32)
	for _, r := range routes {
		if r.Family != unix.AF_INET6 {
			continue
		}
		flags := uint32(unix.RTF_UP)
		gw := zero
		if r.Gateway.IsValid() {
			flags |= unix.RTF_GATEWAY
			gw = hex6(r.Gateway)
		}
		if r.Type == unix.RTN_LOCAL {
			flags |= rtfLocal | rtfNonexthop
		}
		fmt.Fprintf(&b, "%s %02x %s 00 %s %08x %08x %08x %08x %8s\n", hex6(r.Dst.Addr()), r.Dst.Bits(), zero, gw,
			r.Priority, 1, 0, flags, ifName(ifs, r.OIF))
	}
	lo := "lo"
	for _, it := range ifs {
		if it.Flags&unix.IFF_LOOPBACK != 0 {
			lo = it.Name
		}
	}
	fmt.Fprintf(&b, "%s 00 %s 00 %s %08x %08x %08x %08x %8s\n", zero, zero, zero, uint32(0xffffffff), 1, 0, rtfReject|rtfNonexthop, lo)
	return b.Bytes()
}

// hex6Words is four %08X of an IPv6 address's 32-bit words, each read
// in host order, as tcp6 and udp6 print s6_addr32.
func hex6Words(a netip.Addr) string {
	if !a.Is6() {
		a = netip.AddrFrom16(a.As16())
	}
	b := a.As16()
	var s strings.Builder
	for i := 0; i < 16; i += 4 {
		fmt.Fprintf(&s, "%08X", uint32(b[i])|uint32(b[i+1])<<8|uint32(b[i+2])<<16|uint32(b[i+3])<<24)
	}
	return s.String()
}

// clockT converts a duration to clock ticks (USER_HZ 100).
func clockT(ms int64) int64 { return ms / 10 }

// formatInetSockets renders /proc/net/tcp, tcp6, udp or udp6
// (tcp4_seq_show, tcp6_seq_show, udp4_seq_show, udp6_seq_show).
func formatInetSockets(socks []netif.InetSocket, name string) []byte {
	tcp := strings.HasPrefix(name, "tcp")
	v6 := strings.HasSuffix(name, "6")
	var b bytes.Buffer
	const ptr = "0000000000000000" // %pK of a reader without kernel pointers
	switch {
	case tcp && !v6:
		padLine(&b, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", 149)
	case tcp:
		b.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	case !v6:
		padLine(&b, "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops", 127)
	default:
		b.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n")
	}
	i := 0
	for _, s := range socks {
		if s.V6 != v6 || (s.Protocol == unix.IPPROTO_TCP) != tcp {
			continue
		}
		local, remote := sockAddr(s.Local, v6), sockAddr(s.Remote, v6)
		var line string
		switch {
		case tcp && s.State == netif.TCPTimeWait:
			line = fmt.Sprintf("%4d: %s %s %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %s",
				i, local, remote, s.State, 0, 0, 3, 0, 0, 0, 0, 0, 1, ptr)
		case tcp:
			rto, ssthresh, ref := clockT(s.RTO.Milliseconds()), int(s.Ssthresh), 2
			if s.State == netif.TCPListen {
				// A listener shows TCP_TIMEOUT_INIT and its
				// fast open queue's length (none).
				rto, ssthresh, ref = 100, 0, 1
			}
			line = fmt.Sprintf("%4d: %s %s %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %s %d %d %d %d %d",
				i, local, remote, s.State, uint32(s.TxQueue), uint32(s.RxQueue), 0, 0, 0, s.UID, 0, s.Inode, ref, ptr,
				rto, 0, 0, s.Cwnd, ssthresh)
		default:
			// The bucket of a 65536-slot hash: the port.
			line = fmt.Sprintf("%5d: %s %s %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %s %d",
				s.Local.Port(), local, remote, s.State, uint32(s.TxQueue), uint32(s.RxQueue), 0, 0, 0, s.UID, 0, s.Inode, 2, ptr, 0)
		}
		if v6 {
			b.WriteString(line + "\n")
		} else {
			padLine(&b, line, map[bool]int{true: 149, false: 127}[tcp])
		}
		i++
	}
	return b.Bytes()
}

// sockAddr renders a socket's address as the /proc/net socket listings
// do: the IPv4 address as one hex word, an IPv6 one as four, then the
// port.
func sockAddr(a netip.AddrPort, v6 bool) string {
	if v6 {
		return fmt.Sprintf("%s:%04X", hex6Words(a.Addr()), a.Port())
	}
	return fmt.Sprintf("%08X:%04X", be32(a.Addr()), a.Port())
}

// formatNetlink renders /proc/net/netlink (netlink_seq_show).
func formatNetlink(socks []netlink.Listed) []byte {
	var b bytes.Buffer
	b.WriteString("sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n")
	for _, s := range socks {
		dump := 0
		if s.Dumping {
			dump = 1
		}
		fmt.Fprintf(&b, "0000000000000000 %-3d %-10d %08x %-8d %-8d %-5d %-8d %-8d %-8d\n", s.Protocol, s.PortID, s.Groups, s.RcvBytes, 0, dump, 2, 0, s.Inode)
	}
	return b.Bytes()
}

// formatIGMP renders /proc/net/igmp (igmp_mc_seq_show): each interface
// with IPv4 groups, their count and the IGMP version of its querier (none
// seen: V3), then the groups, newest first, with their users; no report
// timer runs and the last report was not ours.
func formatIGMP(groups []netif.MulticastGroup, ifs []netif.Interface) []byte {
	var b bytes.Buffer
	b.WriteString("Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n")
	for _, it := range ifs {
		var mine []netif.MulticastGroup
		for _, g := range groups {
			if g.Index == it.Index && g.Group.Is4() {
				mine = append(mine, g)
			}
		}
		if len(mine) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%d\t%-10s: %5d %7s\n", it.Index, it.Name, len(mine), "V3")
		for _, g := range mine {
			fmt.Fprintf(&b, "\t\t\t\t%08X %5d %d:%08X\t\t%d\n", be32(g.Group), g.Users, 0, 0, 0)
		}
	}
	return b.Bytes()
}

// MLD group flags of /proc/net/igmp6 (MAF_*).
const (
	mafLoaded   = 0x04 // in the device's link-layer filter
	mafNoReport = 0x08 // never reported
)

// formatIGMP6 renders /proc/net/igmp6 (igmp6_mc_seq_show): the IPv6 groups
// of each interface, newest first, with their users and flags: all-nodes
// and groups narrower than link-local scope are never reported, and which
// are in the link-layer filter (netif.Loaded).
func formatIGMP6(groups []netif.MulticastGroup, ifs []netif.Interface) []byte {
	var b bytes.Buffer
	for _, it := range ifs {
		for _, g := range groups {
			if g.Index != it.Index || !g.Group.Is6() {
				continue
			}
			a := g.Group.As16()
			flags := 0
			if netif.Loaded(it, g.Group) {
				flags |= mafLoaded
			}
			if netif.MulticastScope(g.Group) < netif.ScopeLinkLocal || g.Group == netip.IPv6LinkLocalAllNodes() {
				flags |= mafNoReport
			}
			fmt.Fprintf(&b, "%-4d %-15s %x %5d %08X %d\n", it.Index, it.Name, a[:], g.Users, flags, 0)
		}
	}
	return b.Bytes()
}

// formatDevMcast renders /proc/net/dev_mcast (dev_mc_seq_show): the
// link-layer multicast addresses of each device, with the number of
// groups mapped to each; none is in use globally (dev_mc_add_global).
func formatDevMcast(macs []netif.LinkMulticast, ifs []netif.Interface) []byte {
	var b bytes.Buffer
	for _, m := range macs {
		it, ok := netif.ByIndex(ifs, m.Index)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%-4d %-15s %-5d %-5d %x\n", m.Index, it.Name, m.Refs, 0, m.Addr)
	}
	return b.Bytes()
}

// formatRawSockets renders /proc/net/raw and icmp (raw_sock_seq_show,
// ping_v4_seq_show) and raw6 and icmp6 (ip6_dgram_sock_seq_show, udp6's
// format). The first column is the socket's bucket in its hash table:
// raw's is keyed on the protocol, ping's (64 slots) on the identifier.
func formatRawSockets(socks []netif.InetSocket, name string) []byte {
	raw := strings.HasPrefix(name, "raw")
	v6 := strings.HasSuffix(name, "6")
	const (
		ptr    = "0000000000000000" // %pK of a reader without kernel pointers
		header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"
	)
	var b bytes.Buffer
	switch {
	case v6:
		b.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n")
	case raw:
		b.WriteString(header + "\n")
	default:
		padLine(&b, header, 127)
	}
	for _, s := range socks {
		if s.V6 != v6 || s.Raw != raw {
			continue
		}
		bucket := int(s.Local.Port() & 63)
		if raw {
			bucket = int(s.Local.Port() & 255)
		}
		rest := fmt.Sprintf("%s %s %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %s %d",
			sockAddr(s.Local, v6), sockAddr(s.Remote, v6), s.State, 0, uint32(s.RxQueue), 0, 0, 0, s.UID, 0, s.Inode, 2, ptr, 0)
		switch {
		case v6:
			fmt.Fprintf(&b, "%5d: %s\n", bucket, rest)
		case raw:
			fmt.Fprintf(&b, "%4d: %s\n", bucket, rest)
		default:
			padLine(&b, fmt.Sprintf("%5d: %s", bucket, rest), 127)
		}
	}
	return b.Bytes()
}

// Socket states of /proc/net/unix (SS_*) and its listening flag
// (__SO_ACCEPTCON).
const (
	ssUnconnected = 1
	ssConnected   = 3
	soAcceptCon   = 0x10000
)

// formatNetUnix renders /proc/net/unix (unix_seq_show).
func formatNetUnix(socks []UnixSocket) []byte {
	var b bytes.Buffer
	b.WriteString("Num       RefCount Protocol Flags    Type St Inode Path\n")
	for _, s := range socks {
		flags, st, ref := 0, ssUnconnected, 2
		if s.Listening {
			flags = soAcceptCon
		}
		if s.Connected {
			st, ref = ssConnected, 3
		}
		fmt.Fprintf(&b, "0000000000000000: %08X %08X %08X %04X %02X %5d", ref, 0, flags, s.Type, st, s.Inode)
		if s.Path != "" {
			b.WriteString(" " + s.Path)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// snmpLine writes a header line and its values.
func snmpLine(b *bytes.Buffer, prefix string, names string, values ...any) {
	b.WriteString(prefix + ": " + names + "\n" + prefix + ":")
	for _, v := range values {
		fmt.Fprintf(b, " %v", v)
	}
	b.WriteByte('\n')
}

// formatSnmp renders /proc/net/snmp (snmp_seq_show): the counters the
// stack keeps, 0 for the others. Forwarding is 2: the sandbox does not
// forward.
func formatSnmp(c netif.Counters) []byte {
	var b bytes.Buffer
	snmpLine(&b, "Ip", "Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits",
		2, 64, c.IP.InReceives, 0, c.IP.InAddrErrors, 0, 0, 0, c.IP.InDelivers, c.IP.OutRequests, c.IP.OutDiscards, 0, 0, 0, 0, 0, 0, 0, 0, c.IP.OutRequests)
	var inMsgs, outMsgs uint64
	for _, v := range c.ICMPIn {
		inMsgs += v
	}
	for _, v := range c.ICMPOut {
		outMsgs += v
	}
	in, out := c.ICMPIn, c.ICMPOut
	snmpLine(&b, "Icmp", "InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps",
		inMsgs, c.ICMPInErrors, 0, in[3], in[11], in[12], in[4], in[5], in[8], in[0], in[13], in[14], in[15], in[16],
		outMsgs, c.ICMPOutErrors, 0, 0, out[3], out[11], out[12], out[4], out[5], out[8], out[0], out[13], out[14], out[15], out[16])
	// IcmpMsg lists the types seen, in order; nothing when none.
	var names, vals []string
	for _, dir := range []struct {
		name string
		m    map[uint8]uint64
	}{{"In", in}, {"Out", out}} {
		for t := 0; t < 256; t++ {
			if v := dir.m[uint8(t)]; v != 0 {
				names = append(names, fmt.Sprintf("%sType%d", dir.name, t))
				vals = append(vals, fmt.Sprint(v))
			}
		}
	}
	if len(names) > 0 {
		b.WriteString("IcmpMsg: " + strings.Join(names, " ") + "\nIcmpMsg: " + strings.Join(vals, " ") + "\n")
	}
	snmpLine(&b, "Tcp", "RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors",
		1, 200, 120000, -1, c.TCPActiveOpens, c.TCPPassiveOpens, c.TCPAttemptFails, c.TCPEstabResets, c.TCPCurrEstab,
		c.TCPInSegs, c.TCPOutSegs, c.TCPRetransSegs, c.TCPInErrs, c.TCPOutRsts, c.TCPInCsumErrors)
	udpNames := "InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors"
	snmpLine(&b, "Udp", udpNames, c.UDPInDatagrams, c.UDPNoPorts, c.UDPInErrors, c.UDPOutDatagrams, c.UDPRcvbufErrors, c.UDPSndbufErrors, c.UDPInCsumErrors, 0, 0)
	snmpLine(&b, "UdpLite", udpNames, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	return b.Bytes()
}

// icmp6Named are the ICMPv6 types /proc/net/snmp6 names
// (icmp6type2name), in type order.
var icmp6Named = []struct {
	typ  uint8
	name string
}{
	{1, "DestUnreachs"}, {2, "PktTooBigs"}, {3, "TimeExcds"}, {4, "ParmProblems"},
	{128, "Echos"}, {129, "EchoReplies"}, {130, "GroupMembQueries"}, {131, "GroupMembResponses"},
	{132, "GroupMembReductions"}, {133, "RouterSolicits"}, {134, "RouterAdvertisements"},
	{135, "NeighborSolicits"}, {136, "NeighborAdvertisements"}, {137, "Redirects"}, {143, "MLDv2Reports"},
}

// formatSnmp6 renders /proc/net/snmp6 (snmp6_seq_show), a counter a
// line: IPv6's and ICMPv6's that the stack keeps, 0 for the others.
// Udp6's and UdpLite6's are 0: netstack counts UDP once for both
// versions, and /proc/net/snmp's Udp shows it.
func formatSnmp6(c netif.Counters) []byte {
	var b bytes.Buffer
	put := func(name string, v uint64) { fmt.Fprintf(&b, "%-32s\t%d\n", name, v) }
	ip := c.IP6
	for _, f := range []struct {
		name string
		v    uint64
	}{
		{"InReceives", ip.InReceives}, {"InHdrErrors", 0}, {"InTooBigErrors", 0}, {"InNoRoutes", 0},
		{"InAddrErrors", ip.InAddrErrors}, {"InUnknownProtos", 0}, {"InTruncatedPkts", 0}, {"InDiscards", 0},
		{"InDelivers", ip.InDelivers}, {"OutForwDatagrams", 0}, {"OutRequests", ip.OutRequests},
		{"OutDiscards", ip.OutDiscards}, {"OutNoRoutes", 0}, {"ReasmTimeout", 0}, {"ReasmReqds", 0},
		{"ReasmOKs", 0}, {"ReasmFails", 0}, {"FragOKs", 0}, {"FragFails", 0}, {"FragCreates", 0},
		{"InMcastPkts", 0}, {"OutMcastPkts", 0}, {"InOctets", 0}, {"OutOctets", 0}, {"InMcastOctets", 0},
		{"OutMcastOctets", 0}, {"InBcastOctets", 0}, {"OutBcastOctets", 0}, {"InNoECTPkts", 0},
		{"InECT1Pkts", 0}, {"InECT0Pkts", 0}, {"InCEPkts", 0}, {"OutTransmits", ip.OutRequests},
	} {
		put("Ip6"+f.name, f.v)
	}
	var inMsgs, outMsgs uint64
	for _, v := range c.ICMP6In {
		inMsgs += v
	}
	for _, v := range c.ICMP6Out {
		outMsgs += v
	}
	put("Icmp6InMsgs", inMsgs)
	put("Icmp6InErrors", c.ICMP6InErrors)
	put("Icmp6OutMsgs", outMsgs)
	put("Icmp6OutErrors", c.ICMP6OutErrors)
	put("Icmp6InCsumErrors", 0)
	put("Icmp6OutRateLimitHost", 0)
	dirs := []struct {
		name string
		m    map[uint8]uint64
	}{{"In", c.ICMP6In}, {"Out", c.ICMP6Out}}
	for _, dir := range dirs {
		for _, t := range icmp6Named {
			put("Icmp6"+dir.name+t.name, dir.m[t.typ])
		}
	}
	// Then by number, the types seen.
	for _, dir := range dirs {
		for t := 0; t < 256; t++ {
			if v := dir.m[uint8(t)]; v != 0 {
				put(fmt.Sprintf("Icmp6%sType%d", dir.name, t), v)
			}
		}
	}
	for _, name := range strings.Fields("InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors") {
		put("Udp6"+name, 0)
	}
	for _, name := range strings.Fields("InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors MemErrors") {
		put("UdpLite6"+name, 0)
	}
	return b.Bytes()
}

// netstatFields are /proc/net/netstat's counters of Linux 6.x.
var netstatFields = []struct{ prefix, names string }{
	{"TcpExt", "SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash TCPAORequired TCPAOBad TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps"},
	{"IpExt", "InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts InCEPkts ReasmOverlaps"},
}

// formatNetstat renders /proc/net/netstat (netstat_seq_show): Linux's
// extended counters; of TcpExt those in tcpExt, by name, the others 0,
// as netstack does not keep them.
func formatNetstat(tcpExt map[string]uint64) []byte {
	var b bytes.Buffer
	for _, f := range netstatFields {
		b.WriteString(f.prefix + ": " + f.names + "\n" + f.prefix + ":")
		for _, name := range strings.Fields(f.names) {
			v := uint64(0)
			if f.prefix == "TcpExt" {
				v = tcpExt[name]
			}
			b.WriteString(" " + strconv.FormatUint(v, 10))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// sockstatCounts counts the sockets of one family (IPv6 or not) by what
// sockstat shows: TCP sockets in use, in TIME-WAIT, UDP and raw sockets
// (ping sockets are not shown).
func sockstatCounts(socks []netif.InetSocket, v6 bool) (tcp, tw, udp, raw int) {
	for _, s := range socks {
		switch {
		case s.V6 != v6:
		case s.Raw:
			raw++
		case s.Protocol == unix.IPPROTO_TCP && s.State == netif.TCPTimeWait:
			tw++
		case s.Protocol == unix.IPPROTO_TCP:
			tcp++
		case s.Protocol == unix.IPPROTO_UDP:
			udp++
		}
	}
	return tcp, tw, udp, raw
}

// formatSockstat6 renders /proc/net/sockstat6 (sockstat6_seq_show): the
// IPv6 sockets in use, by protocol.
func formatSockstat6(socks []netif.InetSocket) []byte {
	tcp, _, udp, raw := sockstatCounts(socks, true)
	return fmt.Appendf(nil, "TCP6: inuse %d\nUDP6: inuse %d\nUDPLITE6: inuse %d\nRAW6: inuse %d\nFRAG6: inuse %d memory %d\n", tcp, udp, 0, raw, 0, 0)
}

// formatSockstat renders /proc/net/sockstat (sockstat_seq_show): socket
// counts; memory in pages is not measured (0). As on Linux, TCP and UDP
// "inuse" count IPv4 sockets (IPv6 ones are in sockstat6), while TIME-WAIT
// and allocated TCP sockets are both families'.
func formatSockstat(used int, socks []netif.InetSocket) []byte {
	tcp, tw, udp, raw := sockstatCounts(socks, false)
	tcp6, tw6, _, _ := sockstatCounts(socks, true)
	return fmt.Appendf(nil, "sockets: used %d\nTCP: inuse %d orphan %d tw %d alloc %d mem %d\nUDP: inuse %d mem %d\nUDPLITE: inuse %d\nRAW: inuse %d\nFRAG: inuse %d memory %d\n",
		used, tcp, 0, tw+tw6, tcp+tcp6, 0, udp, 0, 0, raw, 0, 0)
}
