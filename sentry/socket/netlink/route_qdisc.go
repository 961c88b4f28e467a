package netlink

import (
	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// Queueing disciplines (net/sched/sch_api.c). The sandbox's stack hands
// every packet straight to its link, so each interface has the root
// noqueue qdisc Linux gives a device without a queue of its own (the
// IFLA_QDISC its link messages name), and RTM_GETQDISC dumps those, as
// tc_fill_qdisc encodes them: `tc qdisc show` lists them, with the zero
// counters a noqueue qdisc keeps (packets bypass it). Changing them is
// not supported.

// tcMsgLen is sizeof(struct tcmsg).
const tcMsgLen = 20

// tcHRoot is TC_H_ROOT; statsBasic and statsQueue are TCA_STATS_BASIC and
// TCA_STATS_QUEUE (include/uapi/linux/gen_stats.h).
const (
	tcHRoot    = 0xFFFFFFFF
	statsBasic = 1
	statsQueue = 3
)

// noqueueRefcnt is the reference count Linux shows for an interface's
// root noqueue qdisc ("refcnt 2").
const noqueueRefcnt = 2

// Sizes of the statistics tc_fill_qdisc appends: struct gnet_stats_basic
// (bytes, packets, padded), struct gnet_stats_queue, and the legacy
// struct tc_stats.
const (
	sizeofStatsBasic = 16
	sizeofStatsQueue = 20
	sizeofTcStats    = 36
)

// qdiscMessage encodes the root noqueue qdisc of it.
func qdiscMessage(it *netif.Interface) nlmsg.Message {
	var w nlmsg.Builder
	hdr := make([]byte, tcMsgLen)
	hdr[0] = linux.AF_UNSPEC
	le.PutUint32(hdr[4:], uint32(it.Index))
	le.PutUint32(hdr[8:], 0)              // handle: noqueue has none
	le.PutUint32(hdr[12:], tcHRoot)       // parent
	le.PutUint32(hdr[16:], noqueueRefcnt) // info
	w.Fixed(hdr)
	w.String(linux.TCA_KIND, "noqueue")
	w.U8(linux.TCA_HW_OFFLOAD, 0)
	w.Nest(linux.TCA_STATS2, func(s *nlmsg.Builder) {
		s.Attr(statsBasic, make([]byte, sizeofStatsBasic))
		s.Attr(statsQueue, make([]byte, sizeofStatsQueue))
	})
	w.Attr(linux.TCA_STATS, make([]byte, sizeofTcStats))
	return nlmsg.Message{Header: nlmsg.Header{Type: linux.RTM_NEWQDISC}, Payload: w.Bytes()}
}

// dumpQdiscs is tc_dump_qdisc: the qdiscs of every interface. As on
// Linux, the request's tcm_ifindex does not narrow a dump (tc filters
// what it prints).
func dumpQdiscs(n netif.Network) ([]nlmsg.Message, linux.Errno) {
	ifs, err := n.Interfaces()
	if err != nil {
		return nil, errnoOf(err)
	}
	out := make([]nlmsg.Message, 0, len(ifs))
	for i := range ifs {
		out = append(out, qdiscMessage(&ifs[i]))
	}
	return out, 0
}
