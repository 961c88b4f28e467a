package netstack

// The pod's interfaces: taking over the links CNI configured.
//
// The sentry runs inside the pod's network namespace, where CNI left one
// or more links (usually the veth "eth0") up, with addresses, routes, a
// MAC and an MTU. AttachHostLinks gives each of them to the sandbox's
// stack:
//
//  1. It reads the link, its addresses (IPv4 and IPv6, link-local
//     included: the stack does not make its own), its routes in the main
//     table and its permanent neighbours, with netlink.
//  2. It opens an AF_PACKET SOCK_RAW socket bound to the link for every
//     protocol (ETH_P_ALL) that ignores the packets the host kernel sends
//     itself, and builds a fdbased endpoint on it that reads and writes
//     whole Ethernet frames (ARP and NDP are the stack's).
//  3. It adds a NIC of the same name, index (when free), MAC and MTU with
//     the same addresses and routes.
//  4. It takes the link over from the host kernel of the namespace: it
//     turns off IPv6 on the link there (no router solicitations, no
//     SLAAC, no NDP answers: net.ipv6.conf.IF.{accept_ra,autoconf}=0,
//     disable_ipv6=1, which also drops the IPv6 addresses) and deletes
//     the IPv4 addresses (which drops the routes through the link). The
//     link stays up: its frames still reach the packet socket, while the
//     host kernel, which no longer owns an address and does not forward,
//     drops them silently instead of answering with RSTs, ICMP errors or
//     ARP replies of its own. The namespace is the pod's alone and goes
//     with it, so nothing is given back.
//
// A namespace with no link that is up besides lo (a pod without a CNI
// network) attaches nothing: the sandbox keeps only its own loopback.
//
// Steps 1, 2 and 4 need netlink and CAP_NET_RAW and CAP_NET_ADMIN over
// the namespace, which a confined sentry lacks: PrepareHostLinks does
// them in the daemon, which hands the packet sockets to the sentry with
// the rest as JSON (HostLink); AttachLinks, in the sentry, does step 3.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// packetBufBytes is the AF_PACKET socket's receive and send buffer. The
// kernel caps plain SO_RCVBUF at net.core.rmem_max (208 KiB by
// default), which drops frames at full speed; the FORCE variants, which
// need CAP_NET_ADMIN, are not capped.
const packetBufBytes = 4 << 20

// LinkOptions tune the endpoint of the host links. The zero value is the
// default, the fastest measured (see link_test.go's benchmark).
type LinkOptions struct {
	// NoGSO turns off host GSO (PACKET_VNET_HDR): the stack then cuts
	// TCP segments to the MTU itself.
	NoGSO bool
	// FdbasedRX receives through one of fdbased's dispatchers (Dispatch,
	// Processors) instead of on Go's network poller (pollrx.go). The
	// poller measured faster on both platforms: in e2e's TestReportNet
	// held open (COCOON_BENCH_NET_HOLD), two pods side by side, one
	// each way, measured in turns on a loaded 2-CPU machine, it took
	// 25-40% less sentry CPU per byte both ways on systrap and on
	// ptrace, for 15-100% more throughput. fdbased's dispatcher blocks
	// in ppoll(2) on a thread of its own, and the Go scheduler takes
	// its P away and gives it back around every wait.
	FdbasedRX bool
	// Dispatch is fdbased's inbound dispatcher (fdbased.RecvMMsg when
	// zero, i.e. Readv, is given); only with FdbasedRX.
	Dispatch fdbased.PacketDispatchMode
	// GRO merges received TCP segments before the stack sees them.
	GRO bool
	// Processors is the number of goroutines that take received
	// packets from fdbased's dispatcher to the stack (its
	// ProcessorsPerChannel; 0: GOMAXPROCS). 1 has the dispatcher
	// deliver them itself, without a goroutine hand-off. Only with
	// FdbasedRX.
	Processors int
}

// Link is a host link the stack took over.
type Link struct {
	Name   string
	NIC    tcpip.NICID
	Index  int // the host's ifindex
	MAC    net.HardwareAddr
	MTU    uint32
	Addrs  []netip.Prefix
	Routes []tcpip.Route
	// GSO is the largest GSO packet the host takes from the stack (0:
	// no host GSO).
	GSO uint32

	fd int
}

func (l *Link) String() string {
	return fmt.Sprintf("%s (nic %d, %s, mtu %d, addrs %v, %d routes, gso %d)", l.Name, l.NIC, l.MAC, l.MTU, l.Addrs, len(l.Routes), l.GSO)
}

// HostLink is a link of the pod's network namespace that PrepareHostLinks
// read and took over from the host kernel: everything a stack needs to
// attach it, so that the attaching process (a confined sentry, in a user
// namespace that owns nothing of the network namespace) needs neither
// netlink nor the right to open packet sockets. It travels as JSON, FD as
// the descriptor's number in the receiving process.
type HostLink struct {
	Name      string         `json:"name"`
	Index     int            `json:"index"`
	MAC       string         `json:"mac"`
	MTU       uint32         `json:"mtu"`
	GSO       uint32         `json:"gso,omitempty"`
	Addrs     []netip.Prefix `json:"addrs,omitempty"`
	Routes    []HostRoute    `json:"routes,omitempty"`
	Neighbors []HostNeighbor `json:"neighbors,omitempty"`
	// FD is the packet socket bound to the link.
	FD int `json:"fd"`
}

// HostRoute is a main-table unicast route through a link; Gateway is
// invalid for a directly connected destination.
type HostRoute struct {
	Dst     netip.Prefix `json:"dst"`
	Gateway netip.Addr   `json:"gateway,omitzero"`
}

// HostNeighbor is a permanent neighbour entry of a link.
type HostNeighbor struct {
	IP  netip.Addr `json:"ip"`
	MAC string     `json:"mac"`
}

// PrepareHostLinks takes over every link of the calling thread's network
// namespace that is up, is not a loopback and has a MAC address (see the
// top of this file) and returns them, each with its packet socket open,
// for AttachLinks here or in another process. The caller must run in the
// pod's namespace on a thread that stays there for the call (lock the OS
// thread), with CAP_NET_RAW and CAP_NET_ADMIN over it. On failure the
// sockets it opened are closed.
func PrepareHostLinks(opts LinkOptions) (_ []HostLink, retErr error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netstack: netlink: %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("netstack: listing links: %w", err)
	}
	var out []HostLink
	defer func() {
		if retErr != nil {
			CloseHostLinks(out)
		}
	}()
	for _, nl := range links {
		a := nl.Attrs()
		if a.Flags&net.FlagUp == 0 || a.Flags&net.FlagLoopback != 0 {
			continue
		}
		if len(a.HardwareAddr) != 6 {
			// An L3 device (ipvlan L3, wireguard, tun): no Ethernet
			// frames to speak. Not handled yet.
			return nil, fmt.Errorf("netstack: link %s has no Ethernet address (%s); only Ethernet links are supported", a.Name, nl.Type())
		}
		l, err := prepare(h, nl, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// CloseHostLinks closes the packet sockets of links.
func CloseHostLinks(links []HostLink) {
	for _, l := range links {
		if l.FD >= 0 {
			unix.Close(l.FD)
		}
	}
}

// prepare reads one link and takes it over.
func prepare(h *netlink.Handle, nl netlink.Link, opts LinkOptions) (HostLink, error) {
	a := nl.Attrs()
	l := HostLink{Name: a.Name, Index: a.Index, MAC: a.HardwareAddr.String(), MTU: uint32(a.MTU), FD: -1}
	addrs, err := h.AddrList(nl, netlink.FAMILY_ALL)
	if err != nil {
		return l, fmt.Errorf("netstack: addresses of %s: %w", a.Name, err)
	}
	for _, ad := range addrs {
		ip, ok := netip.AddrFromSlice(ad.IP)
		if !ok || ad.IPNet == nil {
			continue
		}
		ones, _ := ad.Mask.Size()
		l.Addrs = append(l.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
	}
	// Routes before the take-over: removing the addresses removes them.
	routes, err := h.RouteList(nl, netlink.FAMILY_ALL)
	if err != nil {
		return l, fmt.Errorf("netstack: routes of %s: %w", a.Name, err)
	}
	for _, r := range routes {
		if rt, ok := convertRoute(r); ok {
			l.Routes = append(l.Routes, rt)
		}
	}
	neighs, err := h.NeighList(a.Index, netlink.FAMILY_ALL)
	if err != nil {
		return l, fmt.Errorf("netstack: neighbours of %s: %w", a.Name, err)
	}
	for _, n := range neighs {
		if n.State != netlink.NUD_PERMANENT || len(n.HardwareAddr) != 6 {
			continue
		}
		if ip, ok := netip.AddrFromSlice(n.IP); ok {
			l.Neighbors = append(l.Neighbors, HostNeighbor{IP: ip.Unmap(), MAC: n.HardwareAddr.String()})
		}
	}
	fd, gso, err := openPacketSocket(a, opts)
	if err != nil {
		return l, err
	}
	l.FD, l.GSO = fd, gso
	if err := takeOver(h, nl, addrs); err != nil {
		unix.Close(fd)
		l.FD = -1
		return l, err
	}
	return l, nil
}

// AttachHostLinks takes over the links of the calling thread's network
// namespace (PrepareHostLinks) and attaches them (AttachLinks): both
// halves in one process, which needs PrepareHostLinks's privileges.
func (s *Stack) AttachHostLinks(opts LinkOptions) ([]*Link, error) {
	prepared, err := PrepareHostLinks(opts)
	if err != nil {
		return nil, err
	}
	links, err := s.AttachLinks(prepared, opts)
	if err != nil {
		for _, l := range prepared[len(links):] {
			unix.Close(l.FD)
		}
	}
	return links, err
}

// AttachLinks gives the stack the prepared links, in order, each on its
// packet socket, which the stack owns from then on (Close closes it).
// On failure, the links before the failing one stay attached and are
// returned; the sockets of the others are the caller's.
func (s *Stack) AttachLinks(prepared []HostLink, opts LinkOptions) ([]*Link, error) {
	var out []*Link
	for _, hl := range prepared {
		l, err := s.attach(hl, opts)
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
	return out, nil
}

// attach gives the stack one prepared link.
func (s *Stack) attach(hl HostLink, opts LinkOptions) (*Link, error) {
	mac, err := net.ParseMAC(hl.MAC)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("netstack: link %s: bad MAC %q", hl.Name, hl.MAC)
	}
	if hl.FD < 0 {
		return nil, fmt.Errorf("netstack: link %s has no packet socket", hl.Name)
	}
	l := &Link{Name: hl.Name, Index: hl.Index, MAC: mac, MTU: hl.MTU, GSO: hl.GSO, Addrs: hl.Addrs, fd: -1}
	nic := tcpip.NICID(hl.Index)
	if hl.Index <= int(LoopbackNIC) || s.HasNIC(nic) {
		nic = s.NextNICID()
	}
	l.NIC = nic
	for _, r := range hl.Routes {
		if rt, ok := stackRoute(r, nic); ok {
			l.Routes = append(l.Routes, rt)
		}
	}
	dispatch, procs := opts.Dispatch, max(opts.Processors, 0)
	if dispatch == fdbased.Readv {
		dispatch = fdbased.RecvMMsg
	}
	if !opts.FdbasedRX {
		// fdbased only sends; its readv dispatcher allocates nothing
		// before it runs, and one processor starts no goroutine.
		dispatch, procs = fdbased.Readv, 1
	}
	ep, err := fdbased.New(&fdbased.Options{
		FDs:            []int{hl.FD},
		MTU:            l.MTU,
		EthernetHeader: true,
		Address:        tcpip.LinkAddress(mac),
		// The frames come from the host kernel (a veth), whose
		// local senders leave TCP and UDP checksums for the
		// hardware to fill in (CHECKSUM_PARTIAL): checking them
		// would drop every segment a process of the host sends. As
		// runsc does, trust the host to have checked what came from
		// a wire.
		RXChecksumOffload:    true,
		GSOMaxSize:           hl.GSO,
		PacketDispatchMode:   dispatch,
		GRO:                  opts.GRO,
		ProcessorsPerChannel: procs,
		InterfaceIndex:       hl.Index,
	})
	if err != nil {
		return nil, fmt.Errorf("netstack: endpoint on %s: %w", hl.Name, err)
	}
	if !opts.FdbasedRX {
		if ep, err = newPollLink(ep, hl.FD, hl.GSO > 0, opts.GRO); err != nil {
			return nil, fmt.Errorf("netstack: endpoint on %s: %w", hl.Name, err)
		}
	}
	if err := s.CreateNICWithOptions(nic, ep, stack.NICOptions{Name: hl.Name, QDisc: newTxQueue(ep)}); err != nil {
		// Frees what the endpoint holds (the poller's duplicate of
		// the socket); the socket itself stays the caller's.
		ep.Attach(nil)
		return nil, fmt.Errorf("netstack: creating NIC %s: %s", hl.Name, err)
	}
	for _, p := range hl.Addrs {
		pa := tcpip.ProtocolAddress{Protocol: protoOf(p.Addr()), AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpAddr(p.Addr()), PrefixLen: p.Bits()}}
		if err := s.AddProtocolAddress(nic, pa, stack.AddressProperties{}); err != nil {
			s.RemoveNIC(nic)
			return nil, fmt.Errorf("netstack: adding %s to %s: %s", pa.AddressWithPrefix, hl.Name, err)
		}
	}
	for _, rt := range l.Routes {
		s.AddRoute(rt)
	}
	for _, n := range hl.Neighbors {
		if nmac, err := net.ParseMAC(n.MAC); err == nil && len(nmac) == 6 && n.IP.IsValid() {
			_ = s.AddStaticNeighbor(nic, protoOf(n.IP), tcpAddr(n.IP), tcpip.LinkAddress(nmac))
		}
	}
	l.fd = hl.FD
	s.mu.Lock()
	s.links = append(s.links, l)
	s.mu.Unlock()
	return l, nil
}

// openPacketSocket opens the AF_PACKET socket of link a and returns it
// with the GSO size the stack may use on it (0 without host GSO).
func openPacketSocket(a *netlink.LinkAttrs, opts LinkOptions) (int, uint32, error) {
	// Protocol 0 at socket time, ETH_P_ALL at bind: the socket then
	// receives nothing before it is bound to the link.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("netstack: packet socket for %s: %w", a.Name, err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	var gso uint32
	if !opts.NoGSO && a.GSOMaxSize > 0 {
		// The virtio-net header before every frame carries GSO and
		// checksum offload to the host, which segments (or, on a
		// veth, hands the whole segment to the peer).
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err == nil {
			gso = a.GSOMaxSize
			if gso > 65536 {
				gso = 65536
			}
		}
	}
	// Frames the host kernel itself sends on the link are not for
	// the stack (Linux 4.20 and later; older ones show them, and the
	// stack ignores them as it ignores any frame not for it).
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: a.Index}); err != nil {
		return -1, 0, fmt.Errorf("netstack: binding the packet socket to %s: %w", a.Name, err)
	}
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], packetBufBytes); err != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], packetBufBytes)
		}
	}
	ok = true
	return fd, gso, nil
}

// takeOver makes the host kernel of the namespace let go of link nl:
// IPv6 off on it, its IPv4 addresses deleted; the link stays up.
func takeOver(h *netlink.Handle, nl netlink.Link, addrs []netlink.Addr) error {
	name := nl.Attrs().Name
	conf := filepath.Join("/proc/sys/net/ipv6/conf", name)
	if _, err := os.Stat(conf); err == nil {
		// Order: no more RAs and SLAAC first, then IPv6 off, which
		// drops the link's IPv6 addresses and routes.
		for _, kv := range [][2]string{{"accept_ra", "0"}, {"autoconf", "0"}, {"disable_ipv6", "1"}} {
			if err := os.WriteFile(filepath.Join(conf, kv[0]), []byte(kv[1]), 0); err != nil {
				return fmt.Errorf("netstack: taking %s over: net.ipv6.conf.%s.%s: %w", name, name, kv[0], err)
			}
		}
	}
	var errs []error
	for i := range addrs {
		ad := addrs[i]
		if ad.IP.To4() == nil {
			continue // gone with disable_ipv6, or no IPv6 at all
		}
		if err := h.AddrDel(nl, &ad); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("netstack: taking %s over: deleting %s: %w", name, ad.IPNet, err))
		}
	}
	return errors.Join(errs...)
}

// GiveBackLinks is the inverse of the take-over, for the namespace of the
// calling thread once the sandbox's stack is gone: each named link gets
// its addresses back in the host kernel (IPv6 on again for the IPv6
// ones, without duplicate address detection). CNI plugins find what to
// undo at DEL by the addresses on the pod's interface: without them the
// bridge plugin's DEL leaves the pod's masquerade chain and rules in the
// host's iptables. A link or address that is gone, or already there, is
// fine.
func GiveBackLinks(addrs map[string][]netip.Prefix) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netstack: netlink: %w", err)
	}
	defer h.Close()
	var errs []error
	for name, prefixes := range addrs {
		nl, err := h.LinkByName(name)
		if err != nil {
			var notFound netlink.LinkNotFoundError
			if !errors.As(err, &notFound) {
				errs = append(errs, fmt.Errorf("netstack: giving %s back: %w", name, err))
			}
			continue
		}
		for _, p := range prefixes {
			if p.Addr().Is6() {
				conf := filepath.Join("/proc/sys/net/ipv6/conf", name, "disable_ipv6")
				if err := os.WriteFile(conf, []byte("0"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, fmt.Errorf("netstack: giving %s back: net.ipv6.conf.%s.disable_ipv6: %w", name, name, err))
					continue
				}
			}
			ad := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
			if p.Addr().Is6() {
				ad.Flags = unix.IFA_F_NODAD
			}
			if err := h.AddrAdd(nl, ad); err != nil && !errors.Is(err, unix.EEXIST) {
				errs = append(errs, fmt.Errorf("netstack: giving %s back: adding %s: %w", name, p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// convertRoute turns a main-table unicast route of a link into a
// HostRoute.
func convertRoute(r netlink.Route) (HostRoute, bool) {
	if r.Type != unix.RTN_UNICAST || len(r.MultiPath) > 0 {
		return HostRoute{}, false
	}
	if r.Table != 0 && r.Table != unix.RT_TABLE_MAIN {
		return HostRoute{}, false
	}
	var dst netip.Prefix
	if r.Dst == nil {
		switch r.Family {
		case netlink.FAMILY_V4:
			dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		case netlink.FAMILY_V6:
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		default:
			return HostRoute{}, false
		}
	} else {
		ip, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			return HostRoute{}, false
		}
		ones, _ := r.Dst.Mask.Size()
		dst = netip.PrefixFrom(ip.Unmap(), ones).Masked()
	}
	if dst.Addr().Is6() && dst.Addr().IsMulticast() {
		return HostRoute{}, false
	}
	rt := HostRoute{Dst: dst}
	if gw, ok := netip.AddrFromSlice(r.Gw); ok && !gw.IsUnspecified() {
		gw = gw.Unmap()
		if gw.Is4() != dst.Addr().Is4() {
			return HostRoute{}, false // IPv4 via an IPv6 next hop: not handled
		}
		rt.Gateway = gw
	}
	return rt, true
}

// stackRoute is r as the stack's route on NIC nic.
func stackRoute(r HostRoute, nic tcpip.NICID) (tcpip.Route, bool) {
	dst := r.Dst
	if !dst.IsValid() {
		return tcpip.Route{}, false
	}
	sub, err := tcpip.NewSubnet(tcpAddr(dst.Addr()), tcpip.MaskFromBytes(net.CIDRMask(dst.Bits(), dst.Addr().BitLen())))
	if err != nil {
		return tcpip.Route{}, false
	}
	rt := tcpip.Route{Destination: sub, NIC: nic}
	if r.Gateway.IsValid() {
		if r.Gateway.Is4() != dst.Addr().Is4() {
			return tcpip.Route{}, false
		}
		rt.Gateway = tcpAddr(r.Gateway)
	}
	return rt, true
}

func protoOf(ip netip.Addr) tcpip.NetworkProtocolNumber {
	if ip.Is4() {
		return ipv4.ProtocolNumber
	}
	return ipv6.ProtocolNumber
}

func tcpAddr(ip netip.Addr) tcpip.Address {
	if ip.Is4() {
		return tcpip.AddrFrom4(ip.As4())
	}
	return tcpip.AddrFrom16(ip.As16())
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Interface is one of the stack's interfaces as /proc/net/dev, ip link
// and SIOCGIF* show it.
type Interface struct {
	Index tcpip.NICID
	Name  string
	MAC   net.HardwareAddr
	MTU   uint32
	Up    bool
	Lo    bool
	Addrs []netip.Prefix
	// Counters since the interface was made.
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// Interfaces lists the stack's interfaces by index.
func (s *Stack) Interfaces() []Interface {
	info := s.NICInfo()
	out := make([]Interface, 0, len(info))
	for id, ni := range info {
		it := Interface{
			Index: id, Name: ni.Name, MTU: ni.MTU, Up: ni.Flags.Up, Lo: ni.Flags.Loopback,
			RxBytes: ni.Stats.Rx.Bytes.Value(), RxPackets: ni.Stats.Rx.Packets.Value(),
			TxBytes: ni.Stats.Tx.Bytes.Value(), TxPackets: ni.Stats.Tx.Packets.Value(),
			RxDropped: ni.Stats.DisabledRx.Packets.Value(),
			TxDropped: ni.Stats.TxPacketsDroppedNoBufferSpace.Value(),
			RxErrors:  ni.Stats.MalformedL4RcvdPackets.Value(),
		}
		if len(ni.LinkAddress) == 6 {
			it.MAC = net.HardwareAddr([]byte(ni.LinkAddress))
		}
		for _, pa := range ni.ProtocolAddresses {
			if ip, ok := netip.AddrFromSlice(pa.AddressWithPrefix.Address.AsSlice()); ok {
				it.Addrs = append(it.Addrs, netip.PrefixFrom(ip, pa.AddressWithPrefix.PrefixLen))
			}
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b Interface) int { return int(a.Index) - int(b.Index) })
	return out
}

// NetDev formats /proc/net/dev.
func (s *Stack) NetDev() string {
	b := []byte("Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n")
	for _, it := range s.Interfaces() {
		b = fmt.Appendf(b, "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n",
			it.Name, it.RxBytes, it.RxPackets, it.RxErrors, it.RxDropped, 0, 0, 0, 0,
			it.TxBytes, it.TxPackets, it.TxErrors, it.TxDropped, 0, 0, 0, 0)
	}
	return string(b)
}
