package netif

import (
	"errors"
	"testing"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// TestHostDumpError asks the host for a dump its kernel refuses in
// NLMSG_DONE (a strict RTM_GETNEIGH with ndm_ifindex set is EINVAL there):
// Request reports that error, not an empty dump.
func TestHostDumpError(t *testing.T) {
	h, err := OpenHost()
	if err != nil {
		t.Skipf("no host netlink here: %v", err)
	}
	defer h.Close()
	if err := linux.SetsockoptInt(h.nl, linux.SOL_NETLINK, linux.NETLINK_GET_STRICT_CHK, 1); err != nil {
		t.Skipf("NETLINK_GET_STRICT_CHK: %v", err)
	}
	// struct ndmsg: family, padding, ifindex, state, flags, type.
	nd := make([]byte, 12)
	nd[0] = linux.AF_INET
	nd[4] = 1
	msgs, err := h.Request(linux.RTM_GETNEIGH, nlmsg.FlagDump, nd)
	var de *DumpError
	if !errors.As(err, &de) || de.Errno != linux.EINVAL || !errors.Is(err, linux.EINVAL) {
		t.Fatalf("strict dump with ndm_ifindex: %d messages, %v; want a DumpError EINVAL", len(msgs), err)
	}
	// The socket is still in step: a good dump works.
	nd[4] = 0
	if _, err := h.Request(linux.RTM_GETNEIGH, nlmsg.FlagDump, nd); err != nil {
		t.Errorf("strict dump: %v", err)
	}
}
