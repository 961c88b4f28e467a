package nfnetlink

import (
	"encoding/binary"

	linux "golang.org/x/sys/unix"
	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	glog "gvisor.dev/gvisor/pkg/log"
	gnl "gvisor.dev/gvisor/pkg/sentry/socket/netlink/nlmsg"
	"gvisor.dev/gvisor/pkg/syserr"
	"gvisor.dev/gvisor/pkg/tcpip/nftables"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

var _ netlink.Batcher = (*Protocol)(nil)

// Batch implements netlink.Batcher: a send that starts with
// NFNL_MSG_BATCH_BEGIN is one transaction (nfnetlink_rcv_batch). Every
// message is applied to a copy of the rule set; one that fails is
// reported with its errno, one that asks is acknowledged, and the copy
// is committed only if none failed and NFNL_MSG_BATCH_END came. A commit
// is announced to NFNLGRP_NFTABLES, a notice for each table, chain and
// rule made or deleted and one for the new generation, and echoed to the
// sender for the messages that asked (NLM_F_ECHO), as nft -e does. A
// send without CAP_NET_ADMIN gets EPERM for its first message, whatever
// it is (nfnetlink_rcv).
func (p *Protocol) Batch(data []byte, c *netlink.Caller) (echo []nlmsg.Message, acks []netlink.Ack, ok bool) {
	msgs := nlmsg.Split(data)
	if len(msgs) == 0 {
		return nil, nil, false
	}
	first := msgs[0]
	defer func() {
		if r := recover(); r != nil {
			// A fault in gVisor's interpreter on a request it
			// should have refused: the batch worked on a copy, so
			// refusing it loses nothing, and the sandbox lives on.
			echo, acks, ok = nil, []netlink.Ack{{Request: first, Errno: linux.EINVAL}}, true
			recovered.Add(1)
			glog.Warningf("nfnetlink: a batch crashed the nftables interpreter and was refused: %v", r)
		}
	}()
	refuse := func(errno linux.Errno) ([]nlmsg.Message, []netlink.Ack, bool) {
		return nil, []netlink.Ack{{Request: first, Errno: errno}}, true
	}
	if !c.NetAdmin {
		return refuse(linux.EPERM)
	}
	if first.Type != glinux.NFNL_MSG_BATCH_BEGIN {
		return nil, nil, false
	}
	begin, ok, errno := parse(first)
	if !ok {
		// Too short to name a subsystem: ignored.
		return nil, nil, true
	}
	if errno != 0 {
		return refuse(errno)
	}
	// Old nft sent res_id in host order.
	subsys := begin.resID
	if binary.LittleEndian.Uint16(first.Payload[2:]) == glinux.NFNL_SUBSYS_NFTABLES {
		subsys = glinux.NFNL_SUBSYS_NFTABLES
	}
	if subsys != glinux.NFNL_SUBSYS_NFTABLES {
		// No other subsystem takes batches here.
		return refuse(linux.EINVAL)
	}
	st, err := p.stackOf()
	if err != nil {
		return refuse(linux.ENETDOWN)
	}
	st.LockNFTablesUpdate()
	defer st.UnlockNFTablesUpdate()
	live := p.rules(st)
	if gen, ok := nftables.AttrNetToHost[uint32](glinux.NFNL_BATCH_GENID, begin.attrs); ok && gen != 0 && gen != live.GetGenID() {
		// The rule set changed since the caller read it; nft
		// reads it again and retries.
		return refuse(linux.ERESTART)
	}

	if first.Flags&nlmsg.FlagAck != 0 {
		acks = append(acks, netlink.Ack{Request: first})
	}
	work := live.DeepCopy()
	var newChains []*nftables.Chain
	var notices []notice
	pendingNat := make(map[ruleKey][][]byte)
	failed, changed := false, false
	for _, m := range msgs[1:] {
		if len(m.Payload) < nfgenmsgLen {
			// nfnetlink_rcv_batch stops at a message too short
			// to be one and reports nothing.
			return nil, nil, true
		}
		if m.Flags&nlmsg.FlagRequest == 0 {
			acks = append(acks, netlink.Ack{Request: m, Errno: linux.EINVAL})
			failed = true
			continue
		}
		switch m.Type {
		case glinux.NFNL_MSG_BATCH_BEGIN:
			// A batch inside a batch: nothing happens.
			return nil, nil, true
		case glinux.NFNL_MSG_BATCH_END:
			if failed {
				return nil, acks, true
			}
			if err := work.CanCommitChains(newChains); err != nil {
				return nil, append(acks, netlink.Ack{Request: m, Errno: errnoOf(err)}), true
			}
			if m.Flags&nlmsg.FlagAck != 0 {
				acks = append(acks, netlink.Ack{Request: m})
			}
			if !changed {
				// nf_tables_commit: an empty transaction makes
				// no generation.
				return nil, acks, true
			}
			work.PruneUnused()
			work.SetGenID(live.GetGenID() + 1)
			st.SetNFTables(work)
			st.SetNFTablesConfigured(hasBaseChains(work))
			p.nat.commit(pendingNat, work)
			return announce(work, notices, first, c), acks, true
		}
		changed = true
		if m.Type < nlmsg.MinType || uint8(m.Type>>8) != glinux.NFNL_SUBSYS_NFTABLES {
			acks = append(acks, netlink.Ack{Request: m, Errno: linux.EINVAL})
			failed = true
			continue
		}
		r, _, errno := parse(m)
		if errno == 0 {
			var chain *nftables.Chain
			var aerr *syserr.AnnotatedError
			chain, notices, aerr = p.apply(work, r, m, c, notices, pendingNat)
			errno = errnoOf(aerr)
			if chain != nil {
				newChains = append(newChains, chain)
			}
		}
		if errno != 0 {
			failed = true
			acks = append(acks, netlink.Ack{Request: m, Errno: errno})
		} else if m.Flags&nlmsg.FlagAck != 0 {
			acks = append(acks, netlink.Ack{Request: m})
		}
	}
	// No NFNL_MSG_BATCH_END: nothing is committed.
	return nil, acks, true
}

// A notice is what a commit announces of one change: the message, made
// when the change was (a deleted object is gone by the commit), and
// whether its request asked for an echo.
type notice struct {
	msg  nlmsg.Message
	echo bool
}

// noticeOf runs fill, which adds the message of one table, chain or rule
// to a message set, and returns it as a notice for request m.
func noticeOf(m nlmsg.Message, c *netlink.Caller, fill func(*gnl.MessageSet) *syserr.AnnotatedError) []notice {
	ms := gnl.NewMessageSet(int32(c.PortID), m.Seq)
	if fill(ms) != nil {
		return nil
	}
	var out []notice
	for _, r := range replies(ms) {
		// The request's creation flags tell listeners, among others,
		// an added rule (NLM_F_APPEND) from an inserted one.
		r.Flags |= m.Flags & (nlmsg.FlagCreate | nlmsg.FlagExcl | nlmsg.FlagAppend)
		out = append(out, notice{msg: r, echo: m.Flags&nlmsg.FlagEcho != 0})
	}
	return out
}

// announce multicasts a commit's notices and its new generation to
// NFNLGRP_NFTABLES, and returns those the sender gets back: the ones it
// asked to be echoed, and the generation if any did or the batch's
// begin did (nf_tables_gen_notify).
func announce(nft *nftables.NFTables, notices []notice, begin nlmsg.Message, c *netlink.Caller) []nlmsg.Message {
	echoGen := begin.Flags&nlmsg.FlagEcho != 0
	var echo []nlmsg.Message
	for _, n := range notices {
		if c.Notify != nil {
			c.Notify(uint32(glinux.NFNLGRP_NFTABLES), n.msg)
		}
		if n.echo {
			echo = append(echo, n.msg)
			echoGen = true
		}
	}
	ms := gnl.NewMessageSet(int32(c.PortID), begin.Seq)
	m := ms.AddMessage(glinux.NetlinkMessageHeader{Type: uint16(glinux.NFNL_SUBSYS_NFTABLES)<<8 | uint16(glinux.NFT_MSG_NEWGEN)})
	m.Put(&glinux.NetFilterGenMsg{Family: glinux.AF_UNSPEC, Version: glinux.NFNETLINK_V0})
	m.PutAttr(glinux.NFTA_GEN_ID, gnl.PutU32(nft.GetGenID()))
	m.PutAttr(glinux.NFTA_GEN_PROC_PID, gnl.PutU32(uint32(c.PID)))
	m.PutAttrString(glinux.NFTA_GEN_PROC_NAME, c.Comm)
	for _, g := range replies(ms) {
		if c.Notify != nil {
			c.Notify(uint32(glinux.NFNLGRP_NFTABLES), g)
		}
		if echoGen {
			echo = append(echo, g)
		}
	}
	return echo
}

// apply makes one change of a batch on nft, adding to notices what the
// commit will announce of it and to pendingNat the nat data of a rule it
// makes; it returns the chain a NEWCHAIN made or updated.
func (p *Protocol) apply(nft *nftables.NFTables, r request, m nlmsg.Message, c *netlink.Caller, notices []notice, pendingNat map[ruleKey][][]byte) (*nftables.Chain, []notice, *syserr.AnnotatedError) {
	ms := gnl.NewMessageSet(int32(c.PortID), m.Seq)
	nat := p.nat.lookup(pendingNat)
	typ := glinux.NfTableMsgType(r.typ)
	switch typ {
	case glinux.NFT_MSG_NEWTABLE:
		if r.familyErr != nil {
			return nil, notices, syserr.NewAnnotatedError(r.familyErr, "unsupported family")
		}
		tab, err := newTable(nft, r, m.Flags, c.PortID)
		if err != nil {
			return nil, notices, err
		}
		return nil, append(notices, noticeOf(m, c, func(ms *gnl.MessageSet) *syserr.AnnotatedError {
			return fillTable(tab, ms, glinux.NFT_MSG_NEWTABLE)
		})...), nil
	case glinux.NFT_MSG_DELTABLE, glinux.NFT_MSG_DESTROYTABLE:
		// The messages are made first: a deleted table is destroyed.
		// Its rules and chains go with it, each announced.
		var pending []notice
		for _, tab := range tablesToDelete(nft, r, c.PortID) {
			pending = append(pending, noticeOf(m, c, func(ms *gnl.MessageSet) *syserr.AnnotatedError {
				for _, chain := range sortedChains(tab) {
					for _, rule := range chain.GetRules() {
						if err := fillRule(rule, nil, ms, glinux.NFT_MSG_DELRULE, nat); err != nil {
							return err
						}
					}
					if err := fillChain(chain, ms, glinux.NFT_MSG_DELCHAIN); err != nil {
						return err
					}
				}
				return fillTable(tab, ms, glinux.NFT_MSG_DELTABLE)
			})...)
		}
		if err := deleteTable(nft, r, m.Flags, c.PortID); err != nil {
			return nil, notices, err
		}
		return nil, append(notices, pending...), nil
	case glinux.NFT_MSG_NEWCHAIN:
		chain, err := newChain(nft, r, m.Flags, c.PortID)
		if err != nil {
			return nil, notices, err
		}
		return chain, append(notices, noticeOf(m, c, func(ms *gnl.MessageSet) *syserr.AnnotatedError {
			return fillChain(chain, ms, glinux.NFT_MSG_NEWCHAIN)
		})...), nil
	case glinux.NFT_MSG_DELCHAIN, glinux.NFT_MSG_DESTROYCHAIN:
		// The message is made first: the chain is gone after.
		var pending []notice
		if tab, err := tableNamed(nft, r, glinux.NFTA_CHAIN_TABLE, c.PortID); err == nil {
			if chain, err := findChain(tab, r); err == nil && chain != nil {
				pending = noticeOf(m, c, func(ms *gnl.MessageSet) *syserr.AnnotatedError {
					return fillChain(chain, ms, glinux.NFT_MSG_DELCHAIN)
				})
			}
		}
		if err := deleteChain(nft, r, m.Flags, c.PortID); err != nil {
			return nil, notices, err
		}
		return nil, append(notices, pending...), nil
	case glinux.NFT_MSG_NEWRULE:
		rule, natExprs, err := newRule(nft, r, m.Flags, c.PortID)
		if err != nil {
			return nil, notices, err
		}
		if len(natExprs) > 0 {
			pendingNat[keyOf(rule)] = natExprs
		}
		return nil, append(notices, noticeOf(m, c, func(ms *gnl.MessageSet) *syserr.AnnotatedError {
			return fillRule(rule, nil, ms, glinux.NFT_MSG_NEWRULE, nat)
		})...), nil
	case glinux.NFT_MSG_DELRULE, glinux.NFT_MSG_DESTROYRULE:
		var pending []notice
		for _, rule := range rulesToDelete(nft, r, c.PortID) {
			pending = append(pending, noticeOf(m, c, func(ms *gnl.MessageSet) *syserr.AnnotatedError {
				return fillRule(rule, nil, ms, glinux.NFT_MSG_DELRULE, nat)
			})...)
		}
		if err := nft.DeleteRule(r.attrs, r.family, typ, ms); err != nil {
			return nil, notices, err
		}
		return nil, append(notices, pending...), nil
	case glinux.NFT_MSG_NEWSET:
		return nil, notices, nft.NewSet(r.attrs, r.family, m.Flags, ms)
	case glinux.NFT_MSG_NEWSETELEM:
		return nil, notices, nft.NewSetElements(r.raw, r.family, m.Flags, ms)
	case glinux.NFT_MSG_DELSETELEM, glinux.NFT_MSG_DESTROYSETELEM:
		return nil, notices, nft.DeleteSetElements(r.raw, r.family, m.Flags, typ, ms)
	case glinux.NFT_MSG_DELSET, glinux.NFT_MSG_DESTROYSET,
		glinux.NFT_MSG_NEWOBJ, glinux.NFT_MSG_DELOBJ, glinux.NFT_MSG_DESTROYOBJ,
		glinux.NFT_MSG_NEWFLOWTABLE, glinux.NFT_MSG_DELFLOWTABLE, glinux.NFT_MSG_DESTROYFLOWTABLE:
		return nil, notices, syserr.NewAnnotatedError(syserr.ErrNotSupported, "not supported in the sandbox")
	}
	return nil, notices, syserr.NewAnnotatedError(syserr.ErrInvalidArgument, "not a batch message")
}

// tablesToDelete returns the tables a DELTABLE would delete, for its
// notices: the one it names, or, flushing, every one of its family (all
// families') the caller may delete.
func tablesToDelete(nft *nftables.NFTables, r request, portID uint32) []*nftables.Table {
	_, byName := r.attrs[glinux.NFTA_TABLE_NAME]
	_, byHandle := r.attrs[glinux.NFTA_TABLE_HANDLE]
	if r.family != stack.Unspec && (byName || byHandle) {
		var tab *nftables.Table
		var err *syserr.AnnotatedError
		if byHandle {
			h, _ := nftables.AttrNetToHost[uint64](glinux.NFTA_TABLE_HANDLE, r.attrs)
			tab, err = nft.GetTableByHandle(r.family, h, portID)
		} else {
			tab, err = tableNamed(nft, r, glinux.NFTA_TABLE_NAME, portID)
		}
		if err != nil {
			return nil
		}
		return []*nftables.Table{tab}
	}
	var out []*nftables.Table
	_ = eachFamily(r, func(f stack.AddressFamily) *syserr.AnnotatedError {
		for _, tab := range sortedTables(nft, f) {
			if !tab.HasOwner() || tab.GetOwner() == portID {
				if !byName || tab.GetName() == nameOf(r, glinux.NFTA_TABLE_NAME) {
					out = append(out, tab)
				}
			}
		}
		return nil
	})
	return out
}

// rulesToDelete returns the rules a DELRULE would delete, for its
// notices: the one its handle names, or every rule of its chain, or of
// its table.
func rulesToDelete(nft *nftables.NFTables, r request, portID uint32) []*nftables.Rule {
	tab, err := tableNamed(nft, r, glinux.NFTA_RULE_TABLE, portID)
	if err != nil {
		return nil
	}
	chains := sortedChains(tab)
	if _, ok := r.attrs[glinux.NFTA_RULE_CHAIN]; ok {
		chain, err := tab.GetChain(nameOf(r, glinux.NFTA_RULE_CHAIN))
		if err != nil {
			return nil
		}
		if h, ok := nftables.AttrNetToHost[uint64](glinux.NFTA_RULE_HANDLE, r.attrs); ok {
			rule, err := chain.GetRuleByHandle(h)
			if err != nil {
				return nil
			}
			return []*nftables.Rule{rule}
		}
		chains = []*nftables.Chain{chain}
	}
	var out []*nftables.Rule
	for _, chain := range chains {
		if chain.GetFlags()&glinux.NFT_CHAIN_BINDING == 0 {
			out = append(out, chain.GetRules()...)
		}
	}
	return out
}

// nameOf returns the string attribute attr of r ("" if absent).
func nameOf(r request, attr uint16) string {
	b := r.attrs[attr]
	return b.String()
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
