package netstack

import (
	"slices"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// TestWatchLinkUp: a watcher hears of an interface that comes up, not of
// one already up, and nothing once it stopped.
func TestWatchLinkUp(t *testing.T) {
	s, eth0 := stackWithEth0(t)
	var heard []tcpip.NICID
	stop := s.WatchLinkUp(func(id tcpip.NICID) { heard = append(heard, id) })
	if err := s.EnableNIC(eth0); err != nil {
		t.Fatal(err)
	}
	if len(heard) != 0 {
		t.Fatalf("an interface already up was announced: %v", heard)
	}
	if err := s.DisableNIC(eth0); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableNIC(eth0); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(heard, []tcpip.NICID{eth0}) {
		t.Fatalf("heard %v, want [%d]", heard, eth0)
	}
	stop()
	s.DisableNIC(eth0)
	if err := s.EnableNIC(eth0); err != nil {
		t.Fatal(err)
	}
	if len(heard) != 1 {
		t.Fatalf("heard %v after stop", heard)
	}
}
