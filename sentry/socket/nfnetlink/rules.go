package nfnetlink

import (
	"encoding/binary"

	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/marshal/primitive"
	gnl "gvisor.dev/gvisor/pkg/sentry/socket/netlink/nlmsg"
	"gvisor.dev/gvisor/pkg/syserr"
	"gvisor.dev/gvisor/pkg/tcpip/nftables"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// maxExprs is NFT_RULE_MAXEXPRS.
const maxExprs = 128

// newRule is NFT_MSG_NEWRULE (nf_tables_newrule): a rule appended or
// inserted, at either end of its chain or next to the rule
// NFTA_RULE_POSITION names. Replacing the rule NFTA_RULE_HANDLE names
// (NLM_F_REPLACE) is not supported.
func newRule(nft *nftables.NFTables, r request, msgFlags uint16, portID uint32) (*nftables.Rule, [][]byte, *syserr.AnnotatedError) {
	tab, err := tableNamed(nft, r, glinux.NFTA_RULE_TABLE, portID)
	if err != nil {
		return nil, nil, err
	}
	var chain *nftables.Chain
	if name, ok := r.attrs[glinux.NFTA_RULE_CHAIN]; ok {
		chain, err = tab.GetChain(name.String())
	} else if id, ok := nftables.AttrNetToHost[uint32](glinux.NFTA_RULE_CHAIN_ID, r.attrs); ok {
		chain, err = tab.GetChainByID(id)
	} else {
		return nil, nil, invalid("no NFTA_RULE_CHAIN or NFTA_RULE_CHAIN_ID")
	}
	if err != nil {
		return nil, nil, err
	}
	if chain.IsBound() {
		return nil, nil, unsupported("a rule in a bound chain")
	}
	if chain.GetFlags()&glinux.NFT_CHAIN_HW_OFFLOAD != 0 {
		return nil, nil, unsupported("hardware offload")
	}
	var old *nftables.Rule
	if _, ok := r.attrs[glinux.NFTA_RULE_HANDLE]; ok {
		h, ok := nftables.AttrNetToHost[uint64](glinux.NFTA_RULE_HANDLE, r.attrs)
		if !ok {
			return nil, nil, invalid("malformed NFTA_RULE_HANDLE")
		}
		if old, err = chain.GetRuleByHandle(h); err != nil {
			return nil, nil, err
		}
		if msgFlags&glinux.NLM_F_EXCL != 0 {
			return nil, nil, syserr.NewAnnotatedError(syserr.ErrExists, "rule exists")
		}
		if msgFlags&glinux.NLM_F_REPLACE == 0 {
			return nil, nil, unsupported("a rule handle without NLM_F_REPLACE")
		}
		// Linux's replacement keeps the rule's handle, which the
		// interpreter cannot give a new rule: scripts that name the
		// rule by it afterwards would miss it.
		return nil, nil, unsupported("replacing a rule")
	} else {
		if msgFlags&glinux.NLM_F_CREATE == 0 || msgFlags&glinux.NLM_F_REPLACE != 0 {
			return nil, nil, invalid("a new rule needs NLM_F_CREATE and no NLM_F_REPLACE")
		}
		if _, ok := r.attrs[glinux.NFTA_RULE_POSITION]; ok {
			h, ok := nftables.AttrNetToHost[uint64](glinux.NFTA_RULE_POSITION, r.attrs)
			if !ok {
				return nil, nil, invalid("malformed NFTA_RULE_POSITION")
			}
			if old, err = chain.GetRuleByHandle(h); err != nil {
				return nil, nil, err
			}
		} else if nftables.HasAttr(glinux.NFTA_RULE_POSITION_ID, r.attrs) {
			return nil, nil, unsupported("NFTA_RULE_POSITION_ID")
		}
	}
	var exprs []nftables.ExprInfo
	if b, ok := r.attrs[glinux.NFTA_RULE_EXPRESSIONS]; ok {
		if exprs, err = nftables.ParseNestedExprs(gnl.AttrsView(b), maxExprs); err != nil {
			return nil, nil, err
		}
	}
	rule := &nftables.Rule{}
	if udata, ok := r.attrs[glinux.NFTA_RULE_USERDATA]; ok {
		if err := rule.SetUserData(udata); err != nil {
			return nil, nil, err
		}
	}
	for _, e := range exprs {
		if err := checkPassThroughMatch(e); err != nil {
			return nil, nil, err
		}
		if err := rule.AddOpFromExprInfo(nft, tab, e); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case msgFlags&glinux.NLM_F_APPEND != 0 && old != nil:
		err = chain.RegisterAfterExistingRule(rule, old)
	case msgFlags&glinux.NLM_F_APPEND != 0:
		err = chain.RegisterRule(rule, -1)
	case old != nil:
		err = chain.RegisterBeforeExistingRule(rule, old)
	default:
		err = chain.RegisterRule(rule, 0)
	}
	if err != nil {
		return nil, nil, err
	}
	return rule, natData(exprs), nil
}

// getRule is NFT_MSG_GETRULE: one rule by table, chain and handle, or a
// dump, of one table or chain when the request names it.
func getRule(nft *nftables.NFTables, r request, dump bool, ms *gnl.MessageSet, nat func(*nftables.Rule) [][]byte) *syserr.AnnotatedError {
	tabName, hasTab := r.attrs[glinux.NFTA_RULE_TABLE]
	chainName, hasChain := r.attrs[glinux.NFTA_RULE_CHAIN]
	if dump {
		return eachFamily(r, func(f stack.AddressFamily) *syserr.AnnotatedError {
			for _, tab := range sortedTables(nft, f) {
				if hasTab && tab.GetName() != tabName.String() {
					continue
				}
				for _, chain := range sortedChains(tab) {
					if hasChain && chain.GetName() != chainName.String() {
						continue
					}
					var prev *nftables.Rule
					for _, rule := range chain.GetRules() {
						if err := fillRule(rule, prev, ms, glinux.NFT_MSG_NEWRULE, nat); err != nil {
							return err
						}
						prev = rule
					}
				}
			}
			return nil
		})
	}
	tab, err := tableNamed(nft, r, glinux.NFTA_RULE_TABLE, 0)
	if err != nil {
		return err
	}
	if !hasChain {
		return invalid("no NFTA_RULE_CHAIN")
	}
	chain, err := tab.GetChain(chainName.String())
	if err != nil {
		return err
	}
	h, ok := nftables.AttrNetToHost[uint64](glinux.NFTA_RULE_HANDLE, r.attrs)
	if !ok {
		return invalid("no NFTA_RULE_HANDLE")
	}
	rule, err := chain.GetRuleByHandle(h)
	if err != nil {
		return err
	}
	var prev *nftables.Rule
	if i, err := chain.GetRuleIndex(rule); err == nil && i > 0 {
		prev, _ = chain.GetRule(i - 1)
	}
	return fillRule(rule, prev, ms, glinux.NFT_MSG_NEWRULE, nat)
}

// fillRule adds a rule's message of type typ (NEWRULE, or DELRULE for a
// notice), as nf_tables_fill_rule_info writes it: its position is the
// handle of the rule before it, if given.
func fillRule(rule, prev *nftables.Rule, ms *gnl.MessageSet, typ glinux.NfTableMsgType, nat func(*nftables.Rule) [][]byte) *syserr.AnnotatedError {
	chain := rule.GetChain()
	m := ms.AddMessage(glinux.NetlinkMessageHeader{Type: uint16(glinux.NFNL_SUBSYS_NFTABLES)<<8 | uint16(typ)})
	m.Put(&glinux.NetFilterGenMsg{Family: nftables.AfProtocol(rule.GetAddressFamily()), Version: glinux.NFNETLINK_V0})
	m.PutAttrString(glinux.NFTA_RULE_TABLE, chain.GetTable().GetName())
	m.PutAttrString(glinux.NFTA_RULE_CHAIN, chain.GetName())
	m.PutAttr(glinux.NFTA_RULE_HANDLE, gnl.PutU64(rule.GetHandle()))
	if prev != nil {
		m.PutAttr(glinux.NFTA_RULE_POSITION, gnl.PutU64(prev.GetHandle()))
	}
	var list gnl.NestedAttr
	natKept := nat(rule)
	for _, op := range rule.GetOperations() {
		var expr gnl.NestedAttr
		expr.PutAttrString(glinux.NFTA_EXPR_NAME, op.GetExprName())
		data, err := op.Dump()
		if err != nil {
			return err
		}
		if op.GetExprName() == "nat" && len(data) == 0 && len(natKept) > 0 {
			data, natKept = natKept[0], natKept[1:]
		}
		if len(data) > 0 {
			expr.PutAttr(glinux.NFTA_EXPR_DATA, primitive.AsByteSlice(data))
		}
		list.PutAttr(glinux.NFTA_LIST_ELEM, primitive.AsByteSlice(expr))
	}
	m.PutNestedAttr(glinux.NFTA_RULE_EXPRESSIONS, list)
	if rule.HasUserData() {
		m.PutAttr(glinux.NFTA_RULE_USERDATA, primitive.AsByteSlice(rule.GetUserData()))
	}
	return nil
}

// checkPassThroughMatch refuses an xtables tcp or udp match (nft_compat)
// that tests something: gVisor's interpreter runs those as matching every
// packet, since iptables-nft puts their tests in native expressions
// before them, so one that carries its own ports, flags or options (an
// older iptables-nft, or another program) would make its rule apply to
// all of the protocol's packets. One that tests nothing is kept.
func checkPassThroughMatch(e nftables.ExprInfo) *syserr.AnnotatedError {
	if e.ExprName != "match" {
		return nil
	}
	attrs, ok := nftables.NfParse(e.ExprData)
	if !ok {
		return nil // the interpreter refuses it
	}
	name, info := attrs[glinux.NFTA_MATCH_NAME], attrs[glinux.NFTA_MATCH_INFO]
	allPorts := func(b []byte) bool {
		return binary.NativeEndian.Uint16(b) == 0 && binary.NativeEndian.Uint16(b[2:]) == 0xffff
	}
	var testsNothing bool
	switch name.String() {
	case "tcp":
		// struct xt_tcp: spts[2], dpts[2], option, flg_mask, flg_cmp,
		// invflags.
		testsNothing = len(info) >= 12 && allPorts(info) && allPorts(info[4:]) && info[8] == 0 && info[9] == 0 && info[11] == 0
	case "udp":
		// struct xt_udp: spts[2], dpts[2], invflags.
		testsNothing = len(info) >= 9 && allPorts(info) && allPorts(info[4:]) && info[8] == 0
	default:
		return nil
	}
	if !testsNothing {
		return unsupported("an xtables " + name.String() + " match with ports, flags or options: write them as native expressions")
	}
	return nil
}
