package nfnetlink

import (
	"testing"
	"time"

	linux "golang.org/x/sys/unix"
	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/faketime"
	"gvisor.dev/gvisor/pkg/tcpip/nftables"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// TestStoppedClockEndsTimers: a timer that re-arms itself, as the
// conntrack reaper does, fires until the clock is stopped, then never.
func TestStoppedClockEndsTimers(t *testing.T) {
	fake := faketime.NewManualClock()
	c := &stoppableClock{Clock: fake}
	fired := 0
	var timer tcpip.Timer
	timer = c.AfterFunc(time.Second, func() {
		fired++
		timer.Reset(time.Second)
	})
	fake.Advance(3 * time.Second)
	if fired != 3 {
		t.Fatalf("fired %d times in 3 s, want 3", fired)
	}
	c.stop()
	fake.Advance(5 * time.Second)
	if fired != 3 {
		t.Fatalf("fired %d times, want no more after stop", fired)
	}
}

// TestConnTrackMadeOnce: the rule set's connection tracking is made with
// it, so a batch's copy never makes its own (whose reaper would outlive
// a copy that failed).
func TestConnTrackMadeOnce(t *testing.T) {
	r := newRig(t)
	r.genID(t) // makes the rule set
	ct := r.st.NFTables().(*nftables.NFTables).GetConnTrack()
	if ct == nil {
		t.Fatal("the rule set has no connection tracking")
	}
	// A nat chain is what makes a rule set track connections; the
	// first batch fails after it, the second commits it.
	natChain := msg(nft(glinux.NFT_MSG_NEWCHAIN), req|nlmsg.FlagCreate, 11, glinux.NFPROTO_IPV4, 0, func(b *nlmsg.Builder) {
		b.Attr(glinux.NFTA_CHAIN_TABLE, str("a"))
		b.Attr(glinux.NFTA_CHAIN_NAME, str("pre"))
		b.Attr(glinux.NFTA_CHAIN_TYPE, str("nat"))
		b.Nest(glinux.NFTA_CHAIN_HOOK, func(b *nlmsg.Builder) {
			b.Attr(glinux.NFTA_HOOK_HOOKNUM, be32(glinux.NF_INET_PRE_ROUTING))
			b.Attr(glinux.NFTA_HOOK_PRIORITY, be32(uint32(0xffffff9c))) // -100
		})
	})
	got := acks(t, r.send(t, true, batch(0, newTableMsg(10, "a"), natChain, newChainMsg(12, "nosuch", "c"), end(13))))
	if got[12] != linux.ENOENT {
		t.Fatalf("acks %v, want the batch to fail at 12", got)
	}
	if got := acks(t, r.send(t, true, batch(0, newTableMsg(10, "a"), natChain, end(13)))); len(got) != 1 || got[10] != 0 {
		t.Fatalf("acks %v, want the nat chain's batch to commit", got)
	}
	if got := r.st.NFTables().(*nftables.NFTables).GetConnTrack(); got != ct {
		t.Fatal("a batch replaced the rule set's connection tracking")
	}
}
