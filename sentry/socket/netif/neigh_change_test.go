package netif

import (
	"net/netip"
	"testing"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/netstack"
)

// TestNeighbourChanges adds, replaces and deletes permanent neighbour
// entries of an Ethernet interface, as `ip neigh add/change/del` do.
func TestNeighbourChanges(t *testing.T) {
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ep := ethernet.New(channel.New(16, 1500, "\x02\x00\x00\x00\x00\x01"))
	if err := st.CreateNICWithOptions(2, ep, stack.NICOptions{Name: "eth0"}); err != nil {
		t.Fatal(err)
	}
	s := NewStack(st)
	a := netip.MustParseAddr("10.0.0.2")
	mac := []byte{2, 0, 0, 0, 0, 2}
	other := []byte{2, 0, 0, 0, 0, 3}
	lookup := func() *Neighbour {
		all, _ := s.Neighbours()
		for i := range all {
			if all[i].Index == 2 && all[i].Addr == a {
				return &all[i]
			}
		}
		return nil
	}
	if err := s.SetNeighbour(2, a, mac, false, false, false); err != linux.ENOENT {
		t.Errorf("change of a missing entry = %v, want ENOENT", err)
	}
	if err := s.SetNeighbour(2, a, mac, true, true, false); err != nil {
		t.Fatalf("add: %v", err)
	}
	if n := lookup(); n == nil || n.State != NUDPermanent || string(n.LinkAddr) != string(mac) {
		t.Fatalf("after add: %+v", n)
	}
	if err := s.SetNeighbour(2, a, other, true, true, false); err != linux.EEXIST {
		t.Errorf("second add = %v, want EEXIST", err)
	}
	// Without NLM_F_REPLACE an entry keeps its address.
	if err := s.SetNeighbour(2, a, other, true, false, false); err != nil || string(lookup().LinkAddr) != string(mac) {
		t.Errorf("add without replace = %v, entry %+v", err, lookup())
	}
	if err := s.SetNeighbour(2, a, other, false, false, true); err != nil || string(lookup().LinkAddr) != string(other) {
		t.Errorf("replace = %v, entry %+v", err, lookup())
	}
	if err := s.SetNeighbour(9, a, mac, true, false, false); err != linux.ENODEV {
		t.Errorf("add on a missing interface = %v, want ENODEV", err)
	}
	if err := s.SetNeighbour(1, netip.MustParseAddr("127.0.0.2"), mac, true, false, false); err != linux.EOPNOTSUPP {
		t.Errorf("add on lo = %v, want EOPNOTSUPP", err)
	}
	if err := s.DelNeighbour(2, a); err != nil || lookup() != nil {
		t.Errorf("delete = %v, entry %+v", err, lookup())
	}
	if err := s.DelNeighbour(2, a); err != linux.ENOENT {
		t.Errorf("second delete = %v, want ENOENT", err)
	}
}
