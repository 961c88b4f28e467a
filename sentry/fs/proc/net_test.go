package proc

import (
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
)

func TestFormatNetFiles(t *testing.T) {
	ifs := []netif.Interface{{Index: 1, Name: "lo", Flags: unix.IFF_LOOPBACK}, {Index: 4, Name: "eth0"}}
	routes := []netif.Route{
		{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1"), OIF: 4},
		{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: netip.MustParsePrefix("192.0.2.0/24"), OIF: 4},
		{Family: unix.AF_INET, Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL, Dst: netip.MustParsePrefix("127.0.0.1/32"), OIF: 1},
		{Family: unix.AF_INET6, Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL, Dst: netip.MustParsePrefix("::1/128"), OIF: 1},
	}
	// Lines as this kernel prints them (Linux 6.x).
	route := string(formatRoute(routes, ifs))
	want := []string{
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
		"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
	}
	lines := strings.Split(strings.TrimSuffix(route, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("/proc/net/route:\n%s", route)
	}
	for i, l := range lines {
		if len(l) != 127 || strings.TrimRight(l, " ") != want[i] {
			t.Errorf("route line %d = %q (%d columns), want %q padded to 127", i, l, len(l), want[i])
		}
	}
	v6 := string(formatIPv6Route(routes, ifs))
	if want := "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000001 00000000 80200001       lo\n" +
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"; v6 != want {
		t.Errorf("/proc/net/ipv6_route =\n%s\nwant\n%s", v6, want)
	}
	addrs := []netif.Address{{Index: 1, Prefix: netip.MustParsePrefix("::1/128"), Scope: unix.RT_SCOPE_HOST, Flags: unix.IFA_F_PERMANENT}}
	if got := string(formatIfInet6(addrs, ifs)); got != "00000000000000000000000000000001 01 80 10 80       lo\n" {
		t.Errorf("/proc/net/if_inet6 = %q", got)
	}
	ether := []netif.Interface{{Index: 4, Name: "eth0", Type: unix.ARPHRD_ETHER, Addr: []byte{2, 0, 0, 0, 0, 1}}}
	neigh := []netif.Neighbour{
		{Index: 4, Addr: netip.MustParseAddr("192.0.2.1"), LinkAddr: []byte{2, 0xfc, 0, 0, 0, 5}, State: netif.NUDReachable},
		{Index: 4, Addr: netip.MustParseAddr("192.0.2.9"), State: netif.NUDIncomplete},
		{Index: 4, Addr: netip.MustParseAddr("192.0.2.7"), LinkAddr: []byte{2, 0, 0, 0, 0, 7}, State: netif.NUDPermanent},
		{Index: 4, Addr: netip.MustParseAddr("fd00::1"), State: netif.NUDFailed},
	}
	// Lines as this kernel prints them.
	if got, want := string(formatArp(neigh, ether)), "IP address       HW type     Flags       HW address            Mask     Device\n"+
		"192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0\n"+
		"192.0.2.9        0x1         0x0         00:00:00:00:00:00     *        eth0\n"+
		"192.0.2.7        0x1         0x6         02:00:00:00:00:07     *        eth0\n"; got != want {
		t.Errorf("/proc/net/arp =\n%s\nwant\n%s", got, want)
	}
	socks := []netif.InetSocket{
		{Protocol: unix.IPPROTO_TCP, Local: netip.MustParseAddrPort("127.0.0.1:2024"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: netif.TCPListen, Inode: 511, Cwnd: 10},
		{Protocol: unix.IPPROTO_UDP, Local: netip.MustParseAddrPort("127.0.0.1:53"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: netif.TCPClose, Inode: 7},
	}
	tcp := strings.Split(string(formatInetSockets(socks, "tcp")), "\n")
	if len(tcp) != 3 || len(tcp[0]) != 149 || len(tcp[1]) != 149 ||
		strings.TrimRight(tcp[1], " ") != "   0: 0100007F:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 511 1 0000000000000000 100 0 0 10 0" {
		t.Errorf("/proc/net/tcp = %q", tcp)
	}
	udp := strings.Split(string(formatInetSockets(socks, "udp")), "\n")
	if len(udp) != 3 || len(udp[1]) != 127 ||
		strings.TrimRight(udp[1], " ") != "   53: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 7 2 0000000000000000 0" {
		t.Errorf("/proc/net/udp = %q", udp)
	}
	unixFile := string(formatNetUnix([]UnixSocket{{Type: unix.SOCK_STREAM, Listening: true, Inode: 99, Path: "@x"}}))
	if unixFile != "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01    99 @x\n" {
		t.Errorf("/proc/net/unix = %q", unixFile)
	}
}

// TestFormatSockstat: IPv4 sockets in sockstat's inuse, IPv6 ones in
// sockstat6's; TIME-WAIT and allocated TCP sockets of both families; raw
// sockets under RAW, ping sockets nowhere.
func TestFormatSockstat(t *testing.T) {
	socks := []netif.InetSocket{
		{Protocol: unix.IPPROTO_TCP, State: netif.TCPListen},
		{Protocol: unix.IPPROTO_TCP, State: netif.TCPTimeWait},
		{Protocol: unix.IPPROTO_UDP},
		{Protocol: unix.IPPROTO_TCP, State: netif.TCPListen, V6: true},
		{Protocol: unix.IPPROTO_TCP, State: netif.TCPListen, V6: true},
		{Protocol: unix.IPPROTO_TCP, State: netif.TCPTimeWait, V6: true},
		{Protocol: unix.IPPROTO_UDP, V6: true},
		{Protocol: unix.IPPROTO_ICMP, Raw: true},
		{Protocol: unix.IPPROTO_UDP, Raw: true},
		{Protocol: unix.IPPROTO_ICMPV6, Raw: true, V6: true},
		{Protocol: unix.IPPROTO_ICMP},
		{Protocol: unix.IPPROTO_ICMPV6, V6: true},
	}
	if got, want := string(formatSockstat(9, socks)), "sockets: used 9\nTCP: inuse 1 orphan 0 tw 2 alloc 3 mem 0\nUDP: inuse 1 mem 0\nUDPLITE: inuse 0\nRAW: inuse 2\n"; !strings.HasPrefix(got, want) {
		t.Errorf("sockstat = %q, want it to start %q", got, want)
	}
	if got, want := string(formatSockstat6(socks)), "TCP6: inuse 2\nUDP6: inuse 1\nUDPLITE6: inuse 0\nRAW6: inuse 1\nFRAG6: inuse 0 memory 0\n"; got != want {
		t.Errorf("sockstat6 = %q, want %q", got, want)
	}
}

// TestFormatNetstat: the TcpExt counters netstack keeps land under their
// names, every other column reads 0, and each header has as many values.
func TestFormatNetstat(t *testing.T) {
	got := string(formatNetstat(map[string]uint64{"TCPTimeouts": 7, "ListenOverflows": 3, "TCPSackRecovery": 11}))
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("/proc/net/netstat has %d lines:\n%s", len(lines), got)
	}
	values := map[string]string{}
	for i := 0; i < len(lines); i += 2 {
		names, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) != len(vals) || names[0] != vals[0] {
			t.Fatalf("lines %d and %d do not match:\n%s\n%s", i, i+1, lines[i], lines[i+1])
		}
		for j := 1; j < len(names); j++ {
			values[strings.TrimSuffix(names[0], ":")+"."+names[j]] = vals[j]
		}
	}
	for name, want := range map[string]string{
		"TcpExt.TCPTimeouts": "7", "TcpExt.ListenOverflows": "3", "TcpExt.TCPSackRecovery": "11",
		"TcpExt.TCPFastRetrans": "0", "IpExt.InOctets": "0",
	} {
		if values[name] != want {
			t.Errorf("%s = %q, want %s", name, values[name], want)
		}
	}
}
