package netlink

import (
	"encoding/binary"
	"net/netip"
	"testing"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
)

// Whatever a program of the sandbox sends to the kernel's side of
// NETLINK_ROUTE or NETLINK_SOCK_DIAG (malformed headers, attributes that
// lie about their lengths, requests that change the stack) gets replies
// or errors and never takes the sentry down. Each input is a sendmsg
// payload after a first byte that chooses the protocol, served with
// CAP_NET_ADMIN against a stack with lo.

// fuzzSeeds are well-formed requests of every kind the protocols serve.
func fuzzSeeds() [][]byte {
	msg := func(typ, flags uint16, payload []byte) []byte {
		return nlmsg.Message{Header: nlmsg.Header{Type: typ, Flags: flags | nlmsg.FlagRequest, Seq: 1}, Payload: payload}.Bytes()
	}
	attr := func(typ uint16, data []byte) []byte {
		b := make([]byte, 4, 4+len(data)+3)
		binary.LittleEndian.PutUint16(b, uint16(4+len(data)))
		binary.LittleEndian.PutUint16(b[2:], typ)
		b = append(b, data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	ifinfo := func(family uint8, index int32, flags, change uint32) []byte {
		b := make([]byte, 16)
		b[0] = family
		binary.LittleEndian.PutUint32(b[4:], uint32(index))
		binary.LittleEndian.PutUint32(b[8:], flags)
		binary.LittleEndian.PutUint32(b[12:], change)
		return b
	}
	rtmsg := func(family, dstLen, table, proto, scope, typ uint8) []byte {
		return []byte{family, dstLen, 0, 0, table, proto, scope, typ, 0, 0, 0, 0}
	}
	ndmsg := func(family uint8, index int32, state uint16) []byte {
		b := make([]byte, 12)
		b[0] = family
		binary.LittleEndian.PutUint32(b[4:], uint32(index))
		binary.LittleEndian.PutUint16(b[8:], state)
		return b
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	const dump = nlmsg.FlagDump
	const create = linux.NLM_F_CREATE | linux.NLM_F_EXCL | linux.NLM_F_ACK
	route := [][]byte{
		msg(linux.RTM_GETLINK, dump, ifinfo(linux.AF_UNSPEC, 0, 0, 0)),
		msg(linux.RTM_GETLINK, 0, append(ifinfo(linux.AF_UNSPEC, 0, 0, 0), attr(linux.IFLA_IFNAME, []byte("lo\x00"))...)),
		msg(linux.RTM_SETLINK, linux.NLM_F_ACK, append(ifinfo(linux.AF_UNSPEC, 1, 0, linux.IFF_UP), attr(linux.IFLA_MTU, u32(1500))...)),
		msg(linux.RTM_GETADDR, dump, []byte{linux.AF_INET, 0, 0, 0, 0, 0, 0, 0}),
		msg(linux.RTM_NEWADDR, create, append([]byte{linux.AF_INET, 24, 0, 0, 1, 0, 0, 0}, attr(linux.IFA_LOCAL, netip.MustParseAddr("10.9.0.1").AsSlice())...)),
		msg(linux.RTM_DELADDR, linux.NLM_F_ACK, append([]byte{linux.AF_INET6, 128, 0, 0, 1, 0, 0, 0}, attr(linux.IFA_ADDRESS, netip.MustParseAddr("::1").AsSlice())...)),
		msg(linux.RTM_GETROUTE, dump, rtmsg(linux.AF_INET, 0, 0, 0, 0, 0)),
		msg(linux.RTM_GETROUTE, 0, append(rtmsg(linux.AF_INET, 32, 0, 0, 0, 0), attr(linux.RTA_DST, netip.MustParseAddr("127.0.0.1").AsSlice())...)),
		msg(linux.RTM_NEWROUTE, create, append(append(rtmsg(linux.AF_INET, 16, linux.RT_TABLE_MAIN, linux.RTPROT_STATIC, linux.RT_SCOPE_UNIVERSE, linux.RTN_UNICAST),
			attr(linux.RTA_DST, netip.MustParseAddr("10.8.0.0").AsSlice())...), attr(linux.RTA_OIF, u32(1))...)),
		msg(linux.RTM_GETNEIGH, dump, ndmsg(linux.AF_UNSPEC, 0, 0)),
		msg(linux.RTM_NEWNEIGH, create, append(append(ndmsg(linux.AF_INET, 1, linux.NUD_PERMANENT),
			attr(linux.NDA_DST, netip.MustParseAddr("127.0.0.9").AsSlice())...), attr(linux.NDA_LLADDR, []byte{2, 0, 0, 0, 0, 1})...)),
		msg(linux.RTM_GETQDISC, dump, make([]byte, 20)),
		msg(linux.RTM_GETRULE, dump, rtmsg(linux.AF_INET, 0, 0, 0, 0, 0)),
	}
	inetReq := make([]byte, 56)
	inetReq[0], inetReq[1] = linux.AF_INET, linux.IPPROTO_TCP
	binary.LittleEndian.PutUint32(inetReq[4:], 0xffffffff)
	unixReq := make([]byte, 24)
	unixReq[0] = linux.AF_UNIX
	binary.LittleEndian.PutUint32(unixReq[4:], 0xffffffff)
	diag := [][]byte{
		msg(linux.SOCK_DIAG_BY_FAMILY, dump, inetReq),
		msg(linux.SOCK_DIAG_BY_FAMILY, dump, unixReq),
	}
	var seeds [][]byte
	for _, m := range route {
		seeds = append(seeds, append([]byte{0}, m...))
	}
	for _, m := range diag {
		seeds = append(seeds, append([]byte{1}, m...))
	}
	// Several requests in one send.
	seeds = append(seeds, append(append([]byte{0}, route[4]...), route[3]...))
	return seeds
}

func FuzzRequests(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	st, err := netstack.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(st.Close)
	n := netif.NewStack(st)
	ns := NewNamespace(map[int]Protocol{
		linux.NETLINK_ROUTE:     NewRoute(func() (netif.Network, error) { return n, nil }),
		linux.NETLINK_SOCK_DIAG: NewSockDiag(func() []netif.InetSocket { return nil }, func() []*unixsock.Socket { return nil }),
	})
	buf := make([]byte, 1<<16)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		proto := linux.NETLINK_ROUTE
		if data[0]&1 == 1 {
			proto = linux.NETLINK_SOCK_DIAG
		}
		s, err := New(ns, linux.SOCK_RAW, proto, 0, 0, true, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.SendAs(data[1:], nil, 0, true); err != nil && err != linux.EMSGSIZE {
			t.Fatalf("send to the kernel: %v", err)
		}
		for {
			res, err := s.Recv(buf, linux.MSG_DONTWAIT, false)
			if err != nil {
				break
			}
			for _, m := range nlmsg.Split(buf[:res.N]) {
				if int(m.Len) > res.N {
					t.Fatalf("reply claims %d bytes of a %d-byte datagram", m.Len, res.N)
				}
			}
		}
	})
}
