package nfnetlink

import (
	"encoding/binary"

	linux "golang.org/x/sys/unix"
	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	gnl "gvisor.dev/gvisor/pkg/sentry/socket/netlink/nlmsg"
	"gvisor.dev/gvisor/pkg/syserr"
	"gvisor.dev/gvisor/pkg/tcpip/nftables"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// Batch implements netlink.Batcher: a send that starts with
// NFNL_MSG_BATCH_BEGIN is one transaction (nfnetlink_rcv_batch). Every
// message is applied to a copy of the rule set; one that fails is
// reported with its errno, one that asks is acknowledged, and the copy
// is committed only if none failed and NFNL_MSG_BATCH_END came. A send
// without CAP_NET_ADMIN gets EPERM for its first message, whatever it is
// (nfnetlink_rcv).
func (p *Protocol) Batch(data []byte, c *netlink.Caller) ([]netlink.Ack, bool) {
	msgs := nlmsg.Split(data)
	if len(msgs) == 0 {
		return nil, false
	}
	first := msgs[0]
	if !c.NetAdmin {
		return []netlink.Ack{{Request: first, Errno: linux.EPERM}}, true
	}
	if first.Type != glinux.NFNL_MSG_BATCH_BEGIN {
		return nil, false
	}
	begin, ok, errno := parse(first)
	if !ok {
		// Too short to name a subsystem: ignored.
		return nil, true
	}
	if errno != 0 {
		return []netlink.Ack{{Request: first, Errno: errno}}, true
	}
	// Old nft sent res_id in host order.
	subsys := begin.resID
	if binary.LittleEndian.Uint16(first.Payload[2:]) == glinux.NFNL_SUBSYS_NFTABLES {
		subsys = glinux.NFNL_SUBSYS_NFTABLES
	}
	if subsys != glinux.NFNL_SUBSYS_NFTABLES {
		// No other subsystem takes batches here.
		return []netlink.Ack{{Request: first, Errno: linux.EINVAL}}, true
	}
	st, err := p.stackOf()
	if err != nil {
		return []netlink.Ack{{Request: first, Errno: linux.ENETDOWN}}, true
	}
	st.LockNFTablesUpdate()
	defer st.UnlockNFTablesUpdate()
	live := rules(st)

	var acks []netlink.Ack
	if gen, ok := nftables.AttrNetToHost[uint32](glinux.NFNL_BATCH_GENID, begin.attrs); ok && gen != 0 && gen != live.GetGenID() {
		// The rule set changed since the caller read it; nft
		// reads it again and retries.
		return []netlink.Ack{{Request: first, Errno: linux.ERESTART}}, true
	}
	if first.Flags&nlmsg.FlagAck != 0 {
		acks = append(acks, netlink.Ack{Request: first})
	}
	work := live.DeepCopy()
	var newChains []*nftables.Chain
	failed := false
	for _, m := range msgs[1:] {
		if len(m.Payload) < nfgenmsgLen {
			// nfnetlink_rcv_batch stops at a message too short
			// to be one and reports nothing.
			return nil, true
		}
		if m.Flags&nlmsg.FlagRequest == 0 {
			acks = append(acks, netlink.Ack{Request: m, Errno: linux.EINVAL})
			failed = true
			continue
		}
		switch m.Type {
		case glinux.NFNL_MSG_BATCH_BEGIN:
			// A batch inside a batch: nothing happens.
			return nil, true
		case glinux.NFNL_MSG_BATCH_END:
			if failed {
				return acks, true
			}
			if err := work.CanCommitChains(newChains); err != nil {
				return append(acks, netlink.Ack{Request: m, Errno: errnoOf(err)}), true
			}
			if m.Flags&nlmsg.FlagAck != 0 {
				acks = append(acks, netlink.Ack{Request: m})
			}
			work.PruneUnused()
			work.SetGenID(live.GetGenID() + 1)
			st.SetNFTables(work)
			st.SetNFTablesConfigured(hasBaseChains(work))
			return acks, true
		}
		if m.Type < nlmsg.MinType || uint8(m.Type>>8) != glinux.NFNL_SUBSYS_NFTABLES {
			acks = append(acks, netlink.Ack{Request: m, Errno: linux.EINVAL})
			failed = true
			continue
		}
		r, _, errno := parse(m)
		var chain *nftables.Chain
		var aerr *syserr.AnnotatedError
		if errno == 0 {
			chain, aerr = apply(work, r, m, c)
			errno = errnoOf(aerr)
		}
		if chain != nil {
			newChains = append(newChains, chain)
		}
		if errno != 0 {
			failed = true
			acks = append(acks, netlink.Ack{Request: m, Errno: errno})
		} else if m.Flags&nlmsg.FlagAck != 0 {
			acks = append(acks, netlink.Ack{Request: m})
		}
	}
	// No NFNL_MSG_BATCH_END: nothing is committed.
	return acks, true
}

// apply makes one change of a batch on nft; it returns the chain a
// NEWCHAIN made or updated.
func apply(nft *nftables.NFTables, r request, m nlmsg.Message, c *netlink.Caller) (*nftables.Chain, *syserr.AnnotatedError) {
	ms := gnl.NewMessageSet(int32(c.PortID), m.Seq)
	switch glinux.NfTableMsgType(r.typ) {
	case glinux.NFT_MSG_NEWTABLE:
		if r.familyErr != nil {
			return nil, syserr.NewAnnotatedError(r.familyErr, "unsupported family")
		}
		return nil, newTable(nft, r, m.Flags, c.PortID)
	case glinux.NFT_MSG_DELTABLE, glinux.NFT_MSG_DESTROYTABLE:
		return nil, deleteTable(nft, r, m.Flags, c.PortID)
	case glinux.NFT_MSG_NEWCHAIN:
		return newChain(nft, r, m.Flags, c.PortID)
	case glinux.NFT_MSG_DELCHAIN, glinux.NFT_MSG_DESTROYCHAIN:
		return nil, deleteChain(nft, r, m.Flags, c.PortID)
	case glinux.NFT_MSG_NEWRULE:
		return nil, newRule(nft, r, m.Flags, c.PortID)
	case glinux.NFT_MSG_DELRULE, glinux.NFT_MSG_DESTROYRULE:
		return nil, nft.DeleteRule(r.attrs, r.family, glinux.NfTableMsgType(r.typ), ms)
	case glinux.NFT_MSG_NEWSET:
		return nil, nft.NewSet(r.attrs, r.family, m.Flags, ms)
	case glinux.NFT_MSG_NEWSETELEM:
		return nil, nft.NewSetElements(r.raw, r.family, m.Flags, ms)
	case glinux.NFT_MSG_DELSETELEM, glinux.NFT_MSG_DESTROYSETELEM:
		return nil, nft.DeleteSetElements(r.raw, r.family, m.Flags, glinux.NfTableMsgType(r.typ), ms)
	case glinux.NFT_MSG_DELSET, glinux.NFT_MSG_DESTROYSET,
		glinux.NFT_MSG_NEWOBJ, glinux.NFT_MSG_DELOBJ, glinux.NFT_MSG_DESTROYOBJ,
		glinux.NFT_MSG_NEWFLOWTABLE, glinux.NFT_MSG_DELFLOWTABLE, glinux.NFT_MSG_DESTROYFLOWTABLE:
		return nil, syserr.NewAnnotatedError(syserr.ErrNotSupported, "not supported in the sandbox")
	}
	return nil, syserr.NewAnnotatedError(syserr.ErrInvalidArgument, "not a batch message")
}

// hasBaseChains reports whether any chain is on a hook: only then does
// the stack need to run nftables on its packets.
func hasBaseChains(nft *nftables.NFTables) bool {
	for family := range stack.NumAFs {
		for _, tab := range nft.GetAddressFamilyTables(family) {
			for _, chain := range tab.GetChains() {
				if chain.IsBaseChain() {
					return true
				}
			}
		}
	}
	return false
}
