package netlink

import (
	"encoding/binary"
	"net/netip"
	"testing"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// newTestNS returns a namespace whose rtnetlink serves a fresh stack
// (lo only).
func newTestNS(t *testing.T) (*Namespace, *netif.Stack) {
	t.Helper()
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	n := netif.NewStack(st)
	ns := NewNamespace(map[int]Protocol{linux.NETLINK_ROUTE: NewRoute(func() (netif.Network, error) { return n, nil })})
	return ns, n
}

func newSock(t *testing.T, ns *Namespace, admin bool, tgid int32) *Socket {
	t.Helper()
	s, err := New(ns, linux.SOCK_RAW, linux.NETLINK_ROUTE, 0, 0, admin, tgid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// request sends one message and returns every message queued after it,
// datagram by datagram.
func request(t *testing.T, s *Socket, typ, flags uint16, seq uint32, payload []byte) [][]nlmsg.Message {
	t.Helper()
	m := nlmsg.Message{Header: nlmsg.Header{Type: typ, Flags: flags, Seq: seq}, Payload: payload}
	if n, err := s.SendAs(m.Bytes(), nil, 0, true); err != nil || n != len(m.Bytes()) {
		t.Fatalf("send: %d, %v", n, err)
	}
	var out [][]nlmsg.Message
	buf := make([]byte, 1<<16)
	for {
		res, err := s.Recv(buf, 0, false)
		if err == linux.EAGAIN {
			return out
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		out = append(out, nlmsg.Split(append([]byte(nil), buf[:res.N]...)))
	}
}

func errnoOfReply(t *testing.T, m nlmsg.Message) int32 {
	t.Helper()
	if m.Type != nlmsg.ErrorType {
		t.Fatalf("type %d, want NLMSG_ERROR", m.Type)
	}
	return int32(binary.LittleEndian.Uint32(m.Payload))
}

func TestAutobindAndName(t *testing.T) {
	ns, _ := newTestNS(t)
	a, b := newSock(t, ns, false, 42), newSock(t, ns, false, 42)
	any := sockaddr(0, 0)
	if err := a.Bind(any); err != nil {
		t.Fatal(err)
	}
	if err := b.Bind(any); err != nil {
		t.Fatal(err)
	}
	if a.PortID() != 42 || b.PortID() == 42 || int32(b.PortID()) > -4097 {
		t.Errorf("ports %d and %d (%d), want 42 and a negative one", a.PortID(), b.PortID(), int32(b.PortID()))
	}
	c := newSock(t, ns, false, 7)
	if err := c.Bind(sockaddr(42, 0)); err != linux.EADDRINUSE {
		t.Errorf("bind to a taken port = %v", err)
	}
	if err := a.Bind(sockaddr(43, 0)); err != linux.EINVAL {
		t.Errorf("rebind = %v", err)
	}
	if err := a.Bind(sockaddr(42, 1<<(linux.RTNLGRP_LINK-1))); err != nil {
		t.Errorf("groups: %v", err)
	}
	if got := binary.LittleEndian.Uint32(a.Name()[8:]); got != 1 {
		t.Errorf("nl_groups = %#x", got)
	}
	if err := a.Bind([]byte{16, 0}); err != linux.EINVAL {
		t.Errorf("short address = %v", err)
	}
}

func TestLinkDumpBatches(t *testing.T) {
	ns, _ := newTestNS(t)
	s := newSock(t, ns, false, 1)
	got := request(t, s, linux.RTM_GETLINK, nlmsg.FlagRequest|nlmsg.FlagDump, 9, []byte{linux.AF_UNSPEC})
	if len(got) != 2 {
		t.Fatalf("%d datagrams, want the links then NLMSG_DONE", len(got))
	}
	lo := got[0][0]
	if lo.Type != linux.RTM_NEWLINK || lo.Flags&nlmsg.FlagMulti == 0 || lo.Seq != 9 || lo.PortID != s.PortID() {
		t.Errorf("link header = %+v", lo.Header)
	}
	ifi := nlmsg.DecodeIfInfoMsg(lo.Payload)
	attrs, ok := nlmsg.Attrs(lo.Payload[nlmsg.IfInfoMsgLen:])
	if !ok || ifi.Index != 1 || ifi.Type != linux.ARPHRD_LOOPBACK || ifi.Flags&linux.IFF_LOOPBACK == 0 || nlmsg.Str(attrs[linux.IFLA_IFNAME]) != "lo" {
		t.Errorf("lo = %+v %v", ifi, attrs)
	}
	done := got[1]
	if len(done) != 1 || done[0].Type != nlmsg.DoneType || done[0].Flags&nlmsg.FlagMulti == 0 {
		t.Errorf("end = %+v", done)
	}
}

func TestPeekTruncAndErrors(t *testing.T) {
	ns, _ := newTestNS(t)
	s := newSock(t, ns, false, 1)
	m := nlmsg.Message{Header: nlmsg.Header{Type: rtmMax + 1, Flags: nlmsg.FlagRequest, Seq: 3}, Payload: []byte{1, 2, 3}}
	if _, err := s.SendAs(m.Bytes(), nil, 0, false); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 8)
	res, err := s.Recv(small, linux.MSG_PEEK|linux.MSG_TRUNC, false)
	if err != nil || res.N != 8 || res.MsgLen != 40 {
		t.Fatalf("peek = %+v, %v; want 8 of 40", res, err)
	}
	buf := make([]byte, 64)
	res, err = s.Recv(buf, 0, true)
	if err != nil || res.N != 40 {
		t.Fatalf("recv = %+v, %v", res, err)
	}
	if from := binary.LittleEndian.Uint32(res.From[4:]); from != 0 {
		t.Errorf("sender port %d, want the kernel's", from)
	}
	e := nlmsg.Split(buf[:res.N])[0]
	if errnoOfReply(t, e) != -int32(linux.EOPNOTSUPP) || nlmsg.DecodeHeader(e.Payload[4:]).Seq != 3 {
		t.Errorf("error = %v", e)
	}
	if _, err := s.Recv(buf, 0, false); err != linux.EAGAIN {
		t.Errorf("empty queue: %v", err)
	}
	// A second dump while one runs (its NLMSG_DONE is not queued
	// before the first batch is read): EBUSY.
	dump := nlmsg.Message{Header: nlmsg.Header{Type: linux.RTM_GETLINK, Flags: nlmsg.FlagRequest | nlmsg.FlagDump, Seq: 4}, Payload: []byte{0}}.Bytes()
	s.SendAs(dump, nil, 0, false)
	s.SendAs(dump, nil, 0, false)
	s.mu.Lock()
	n := len(s.rcv)
	last := nlmsg.Split(s.rcv[n-1].data)[0]
	s.mu.Unlock()
	if errnoOfReply(t, last) != -int32(linux.EBUSY) {
		t.Errorf("second dump: %+v", last)
	}
}

func addrRequest(index uint32, p netip.Prefix) []byte {
	family := uint8(linux.AF_INET)
	if p.Addr().Is6() {
		family = linux.AF_INET6
	}
	var w nlmsg.Builder
	w.Fixed(nlmsg.IfAddrMsg{Family: family, PrefixLen: uint8(p.Bits()), Index: index}.Encode())
	w.Addr(linux.IFA_LOCAL, p.Addr())
	w.Addr(linux.IFA_ADDRESS, p.Addr())
	return w.Bytes()
}

func TestChangesNeedNetAdmin(t *testing.T) {
	ns, n := newTestNS(t)
	user := newSock(t, ns, false, 1)
	got := request(t, user, linux.RTM_NEWADDR, nlmsg.FlagRequest|nlmsg.FlagAck, 1, addrRequest(1, netip.MustParsePrefix("10.9.8.7/24")))
	if errnoOfReply(t, got[0][0]) != -int32(linux.EPERM) {
		t.Errorf("unprivileged NEWADDR: %+v", got)
	}
	addrs, _ := n.Addresses()
	for _, a := range addrs {
		if a.Prefix.Addr() == netip.MustParseAddr("10.9.8.7") {
			t.Error("the address was added")
		}
	}
}

func TestAddressAndRouteChanges(t *testing.T) {
	ns, n := newTestNS(t)
	admin := newSock(t, ns, true, 1)
	listener := newSock(t, ns, false, 2)
	if err := listener.Bind(sockaddr(0, 1<<(linux.RTNLGRP_IPV4_IFADDR-1)|1<<(linux.RTNLGRP_IPV4_ROUTE-1))); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix("10.9.8.7/24")
	got := request(t, admin, linux.RTM_NEWADDR, nlmsg.FlagRequest|nlmsg.FlagAck|nlmsg.FlagCreate|nlmsg.FlagExcl, 1, addrRequest(1, p))
	if errnoOfReply(t, got[0][0]) != 0 {
		t.Fatalf("NEWADDR: %+v", got)
	}
	found := false
	addrs, _ := n.Addresses()
	for _, a := range addrs {
		if a.Prefix == p && a.Index == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("addresses %v lack %v", addrs, p)
	}
	// On lo, the prefix route is a local one (fib_magic's RTN_LOCAL).
	routes, _ := n.Routes()
	prefixRoute := false
	for _, r := range routes {
		if r.Table == linux.RT_TABLE_LOCAL && r.Type == linux.RTN_LOCAL && r.Dst == p.Masked() && r.Protocol == linux.RTPROT_KERNEL && r.PrefSrc == p.Addr() {
			prefixRoute = true
		}
	}
	if !prefixRoute {
		t.Errorf("no prefix route in %v", routes)
	}
	// The listener heard it.
	buf := make([]byte, 4096)
	res, err := listener.Recv(buf, 0, true)
	if err != nil || nlmsg.Split(buf[:res.N])[0].Type != linux.RTM_NEWADDR || binary.LittleEndian.Uint32(res.From[8:]) != 1<<(linux.RTNLGRP_IPV4_IFADDR-1) {
		t.Errorf("notification: %+v %v", res, err)
	}
	// Again: EEXIST.
	got = request(t, admin, linux.RTM_NEWADDR, nlmsg.FlagRequest|nlmsg.FlagAck|nlmsg.FlagCreate|nlmsg.FlagExcl, 2, addrRequest(1, p))
	if errnoOfReply(t, got[0][0]) != -int32(linux.EEXIST) {
		t.Errorf("duplicate NEWADDR: %+v", got)
	}

	// A route through the new prefix's gateway.
	var w nlmsg.Builder
	w.Fixed(nlmsg.RtMsg{Family: linux.AF_INET, DstLen: 16, Table: linux.RT_TABLE_MAIN, Protocol: linux.RTPROT_BOOT, Type: linux.RTN_UNICAST}.Encode())
	w.Addr(linux.RTA_DST, netip.MustParseAddr("172.16.0.0"))
	w.Addr(linux.RTA_GATEWAY, netip.MustParseAddr("10.9.8.1"))
	got = request(t, admin, linux.RTM_NEWROUTE, nlmsg.FlagRequest|nlmsg.FlagAck|nlmsg.FlagCreate|nlmsg.FlagExcl, 3, w.Bytes())
	if errnoOfReply(t, got[0][0]) != 0 {
		t.Fatalf("NEWROUTE: %+v", got)
	}
	routes, _ = n.Routes()
	via := false
	for _, r := range routes {
		if r.Dst == netip.MustParsePrefix("172.16.0.0/16") && r.Gateway == netip.MustParseAddr("10.9.8.1") && r.OIF == 1 {
			via = true
		}
	}
	if !via {
		t.Errorf("no route via 10.9.8.1 in %v", routes)
	}
	// An unreachable gateway: ENETUNREACH.
	var bad nlmsg.Builder
	bad.Fixed(nlmsg.RtMsg{Family: linux.AF_INET, DstLen: 16, Table: linux.RT_TABLE_MAIN, Type: linux.RTN_UNICAST}.Encode())
	bad.Addr(linux.RTA_DST, netip.MustParseAddr("172.17.0.0"))
	bad.Addr(linux.RTA_GATEWAY, netip.MustParseAddr("192.168.77.1"))
	got = request(t, admin, linux.RTM_NEWROUTE, nlmsg.FlagRequest|nlmsg.FlagAck|nlmsg.FlagCreate, 4, bad.Bytes())
	if errnoOfReply(t, got[0][0]) != -int32(linux.ENETUNREACH) {
		t.Errorf("unreachable gateway: %+v", got)
	}
	// Deleting the route, then the address and its prefix route.
	got = request(t, admin, linux.RTM_DELROUTE, nlmsg.FlagRequest|nlmsg.FlagAck, 5, w.Bytes())
	if errnoOfReply(t, got[0][0]) != 0 {
		t.Errorf("DELROUTE: %+v", got)
	}
	got = request(t, admin, linux.RTM_DELROUTE, nlmsg.FlagRequest|nlmsg.FlagAck, 6, w.Bytes())
	if errnoOfReply(t, got[0][0]) != -int32(linux.ESRCH) {
		t.Errorf("second DELROUTE: %+v", got)
	}
	got = request(t, admin, linux.RTM_DELADDR, nlmsg.FlagRequest|nlmsg.FlagAck, 7, addrRequest(1, p))
	if errnoOfReply(t, got[0][0]) != 0 {
		t.Errorf("DELADDR: %+v", got)
	}
	routes, _ = n.Routes()
	for _, r := range routes {
		if r.Dst == p.Masked() {
			t.Errorf("prefix route %v outlived its address", r)
		}
	}
}

func TestSetLink(t *testing.T) {
	ns, n := newTestNS(t)
	admin := newSock(t, ns, true, 1)
	var w nlmsg.Builder
	w.Fixed(nlmsg.IfInfoMsg{Index: 1}.Encode())
	w.U32(linux.IFLA_MTU, 9000)
	got := request(t, admin, linux.RTM_SETLINK, nlmsg.FlagRequest|nlmsg.FlagAck, 1, w.Bytes())
	if errnoOfReply(t, got[0][0]) != 0 {
		t.Fatalf("SETLINK mtu: %+v", got)
	}
	ifs, _ := n.Interfaces()
	if ifs[0].MTU != 9000 {
		t.Errorf("lo mtu %d, want 9000", ifs[0].MTU)
	}
	// Down, then up again.
	down := nlmsg.IfInfoMsg{Index: 1, Flags: 0, Change: linux.IFF_UP}.Encode()
	got = request(t, admin, linux.RTM_NEWLINK, nlmsg.FlagRequest|nlmsg.FlagAck, 2, down)
	if errnoOfReply(t, got[0][0]) != 0 {
		t.Fatalf("down: %+v", got)
	}
	ifs, _ = n.Interfaces()
	if ifs[0].Up() || ifs[0].OperState != netif.OperDown {
		t.Errorf("lo after down: %+v", ifs[0])
	}
	up := nlmsg.IfInfoMsg{Index: 1, Flags: linux.IFF_UP, Change: linux.IFF_UP}.Encode()
	request(t, admin, linux.RTM_NEWLINK, nlmsg.FlagRequest|nlmsg.FlagAck, 3, up)
	ifs, _ = n.Interfaces()
	if !ifs[0].Up() {
		t.Errorf("lo after up: %+v", ifs[0])
	}
	// Other flags and creating links are not supported.
	promisc := nlmsg.IfInfoMsg{Index: 1, Flags: linux.IFF_PROMISC, Change: linux.IFF_PROMISC}.Encode()
	got = request(t, admin, linux.RTM_NEWLINK, nlmsg.FlagRequest|nlmsg.FlagAck, 4, promisc)
	if errnoOfReply(t, got[0][0]) != -int32(linux.EOPNOTSUPP) {
		t.Errorf("promisc: %+v", got)
	}
	got = request(t, admin, linux.RTM_NEWLINK, nlmsg.FlagRequest|nlmsg.FlagAck, 5, nlmsg.IfInfoMsg{Index: 99}.Encode())
	if errnoOfReply(t, got[0][0]) != -int32(linux.ENODEV) {
		t.Errorf("no such link: %+v", got)
	}
}

// TestHostRoute forwards requests to this machine's rtnetlink, as a
// hostNetwork sandbox does: GETs come back re-batched with the sandbox
// socket's port; changes are EPERM even with CAP_NET_ADMIN.
func TestHostRoute(t *testing.T) {
	h, err := netif.OpenHost()
	if err != nil {
		t.Skipf("no host netlink here: %v", err)
	}
	defer h.Close()
	ns := NewNamespace(map[int]Protocol{linux.NETLINK_ROUTE: NewHostRoute(h)})
	s := newSock(t, ns, true, 5)
	got := request(t, s, linux.RTM_GETLINK, nlmsg.FlagRequest|nlmsg.FlagDump, 11, []byte{linux.AF_UNSPEC})
	links := 0
	for i, batch := range got {
		size := 0
		for _, m := range batch {
			size += nlmsg.AlignUp(int(m.Len))
			if m.Seq != 11 || m.PortID != s.PortID() {
				t.Errorf("message %+v", m.Header)
			}
			if m.Type == linux.RTM_NEWLINK {
				links++
			}
		}
		// The first batch is NLMSG_GOODSIZE; later ones grow to the
		// reader's buffer (request's 64 KiB), as netlink_dump sizes
		// them by max_recvmsg_len.
		limit := goodSize
		if i > 0 {
			limit = max(goodSize, min(1<<16, maxRecvmsgLen))
		}
		if len(batch) > 1 && size > limit {
			t.Errorf("batch %d of %d bytes is larger than %d", i, size, limit)
		}
	}
	last := got[len(got)-1]
	if links == 0 || len(last) != 1 || last[0].Type != nlmsg.DoneType {
		t.Errorf("%d links, last %+v", links, last)
	}
	got = request(t, s, linux.RTM_NEWADDR, nlmsg.FlagRequest|nlmsg.FlagAck, 12, addrRequest(1, netip.MustParsePrefix("10.9.9.9/32")))
	if errnoOfReply(t, got[0][0]) != -int32(linux.EPERM) {
		t.Errorf("host NEWADDR: %+v", got)
	}
	// A GET the host refuses comes back with the host's errno.
	got = request(t, s, linux.RTM_GETLINK, nlmsg.FlagRequest, 13, nlmsg.IfInfoMsg{Index: 0x7ffffff0}.Encode())
	if errnoOfReply(t, got[0][0]) != -int32(linux.ENODEV) {
		t.Errorf("host GETLINK of nothing: %+v", got)
	}
}
