package netif

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	linux "golang.org/x/sys/unix"
)

// TestMulticastGroupsEthernet checks an Ethernet interface's groups and
// link-layer addresses against what Linux lists for one that came up with
// two IPv6 addresses and then had sockets join groups (a node's eth0).
func TestMulticastGroupsEthernet(t *testing.T) {
	eth := Interface{Index: 4, Name: "eth0", Type: linux.ARPHRD_ETHER, Flags: linux.IFF_UP | linux.IFF_BROADCAST | linux.IFF_MULTICAST}
	lo := Interface{Index: 1, Name: "lo", Type: linux.ARPHRD_LOOPBACK, Flags: linux.IFF_UP | linux.IFF_LOOPBACK}
	addrs := []Address{
		{Index: 4, Prefix: netip.MustParsePrefix("10.0.0.2/24")},
		{Index: 4, Prefix: netip.MustParsePrefix("fd00::1/64")},
		{Index: 4, Prefix: netip.MustParsePrefix("fe80::2/64")},
		{Index: 1, Prefix: netip.MustParsePrefix("::1/128")},
	}
	joined := []Joined{
		{Index: 4, Group: netip.MustParseAddr("ff05::fb"), Order: 7},
		{Index: 4, Group: netip.MustParseAddr("239.255.0.1"), Order: 5},
		{Index: 4, Group: netip.MustParseAddr("ff02::1"), Order: 6},
		{Index: 4, Group: netip.MustParseAddr("239.127.0.1"), Order: 8},
	}
	ifs := []Interface{lo, eth}
	groups := MulticastGroups(ifs, addrs, joined)
	var got []string
	for _, g := range groups {
		got = append(got, fmt.Sprintf("%d %s %d", g.Index, g.Group, g.Users))
	}
	want := []string{
		// lo: no solicited-node group for ::1.
		"1 224.0.0.1 1", "1 ff02::1 1", "1 ff01::1 1",
		"4 239.127.0.1 1", "4 239.255.0.1 1", "4 224.0.0.1 1",
		"4 ff05::fb 1", "4 ff02::1:ff00:2 1", "4 ff02::1:ff00:1 1", "4 ff02::1 2", "4 ff01::1 1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("groups:\n got %q\nwant %q", got, want)
	}

	got = nil
	for _, m := range LinkMulticasts(ifs, groups) {
		got = append(got, fmt.Sprintf("%d %x %d", m.Index, m.Addr, m.Refs))
	}
	// 239.255.0.1 and 239.127.0.1 share 01:00:5e:7f:00:01 (only the
	// low 23 bits map); ff01::1 maps to none.
	want = []string{"4 333300000001 1", "4 01005e000001 1", "4 3333ff000001 1", "4 3333ff000002 1", "4 01005e7f0001 2", "4 3333000000fb 1"}
	if !slices.Equal(got, want) {
		t.Errorf("link addresses:\n got %q\nwant %q", got, want)
	}

	// Taken down, the interface leaves 224.0.0.1 and its link-layer
	// filter is emptied.
	eth.Flags &^= linux.IFF_UP
	eth.GroupsDropped = true
	ifs = []Interface{lo, eth}
	groups = MulticastGroups(ifs, addrs, joined)
	if slices.ContainsFunc(groups, func(g MulticastGroup) bool { return g.Index == 4 && g.Group == allHosts }) {
		t.Errorf("a down interface is in 224.0.0.1: %v", groups)
	}
	if !slices.ContainsFunc(groups, func(g MulticastGroup) bool { return g.Index == 4 && g.Group == netip.MustParseAddr("239.255.0.1") }) {
		t.Errorf("a down interface left its sockets' groups: %v", groups)
	}
	if m := LinkMulticasts(ifs, groups); len(m) != 0 {
		t.Errorf("a down interface's link addresses: %v", m)
	}

	// Never up, it has the link addresses of its groups.
	eth.GroupsDropped = false
	ifs = []Interface{lo, eth}
	got = nil
	for _, m := range LinkMulticasts(ifs, MulticastGroups(ifs, nil, nil)) {
		got = append(got, fmt.Sprintf("%d %x %d", m.Index, m.Addr, m.Refs))
	}
	if want := []string{"4 333300000001 1"}; !slices.Equal(got, want) {
		t.Errorf("link addresses of an interface never up:\n got %q\nwant %q", got, want)
	}
}

// TestMulticastGroupsRouter checks the all-routers groups of an interface
// that forwards IPv6: on a multicast device only, newer than its
// addresses' groups and older than any socket's join.
func TestMulticastGroupsRouter(t *testing.T) {
	eth := Interface{Index: 2, Name: "eth0", Type: linux.ARPHRD_ETHER, Flags: linux.IFF_UP | linux.IFF_MULTICAST, Forwarding6: true}
	lo := Interface{Index: 1, Name: "lo", Type: linux.ARPHRD_LOOPBACK, Flags: linux.IFF_UP | linux.IFF_LOOPBACK, Forwarding6: true}
	addrs := []Address{{Index: 2, Prefix: netip.MustParsePrefix("fd00::5/64")}}
	joined := []Joined{{Index: 2, Group: netip.MustParseAddr("ff02::fb"), Order: 1}}
	var got []string
	for _, g := range MulticastGroups([]Interface{lo, eth}, addrs, joined) {
		if g.Group.Is6() {
			got = append(got, fmt.Sprintf("%d %s", g.Index, g.Group))
		}
	}
	want := []string{"1 ff02::1", "1 ff01::1", "2 ff02::fb", "2 ff05::2", "2 ff01::2", "2 ff02::2", "2 ff02::1:ff00:5", "2 ff02::1", "2 ff01::1"}
	if !slices.Equal(got, want) {
		t.Errorf("groups:\n got %q\nwant %q", got, want)
	}
}
