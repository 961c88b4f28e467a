package nfnetlink

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/marshal/primitive"
	gnl "gvisor.dev/gvisor/pkg/sentry/socket/netlink/nlmsg"
	"gvisor.dev/gvisor/pkg/syserr"
	"gvisor.dev/gvisor/pkg/tcpip/nftables"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// anonChains numbers the names of binding chains made without one.
var anonChains atomic.Uint64

// findChain returns the chain r names by NFTA_CHAIN_HANDLE or
// NFTA_CHAIN_NAME, nil if it names none.
func findChain(tab *nftables.Table, r request) (*nftables.Chain, *syserr.AnnotatedError) {
	if _, ok := r.attrs[glinux.NFTA_CHAIN_HANDLE]; ok {
		h, ok := nftables.AttrNetToHost[uint64](glinux.NFTA_CHAIN_HANDLE, r.attrs)
		if !ok {
			return nil, invalid("malformed NFTA_CHAIN_HANDLE")
		}
		return tab.GetChainByHandle(h)
	}
	if name, ok := r.attrs[glinux.NFTA_CHAIN_NAME]; ok {
		return tab.GetChain(name.String())
	}
	return nil, nil
}

// newChain is NFT_MSG_NEWCHAIN (nf_tables_newchain): it makes a chain,
// or updates an existing one's policy, counters or name.
func newChain(nft *nftables.NFTables, r request, msgFlags uint16, portID uint32) (*nftables.Chain, *syserr.AnnotatedError) {
	tab, err := tableNamed(nft, r, glinux.NFTA_CHAIN_TABLE, portID)
	if err != nil {
		return nil, err
	}
	chain, err := findChain(tab, r)
	if err != nil && err.GetError() != syserr.ErrNoFileOrDir {
		return nil, err
	}
	if chain == nil && !nftables.HasAttr(glinux.NFTA_CHAIN_NAME, r.attrs) && !nftables.HasAttr(glinux.NFTA_CHAIN_ID, r.attrs) {
		return nil, invalid("no chain name, handle or ID")
	}
	policy := uint8(glinux.NF_ACCEPT)
	if _, ok := r.attrs[glinux.NFTA_CHAIN_POLICY]; ok {
		if chain != nil && !chain.IsBaseChain() {
			return nil, unsupported("a policy on a regular chain")
		}
		if chain == nil && !nftables.HasAttr(glinux.NFTA_CHAIN_HOOK, r.attrs) {
			return nil, unsupported("a policy on a chain without a hook")
		}
		v, ok := nftables.AttrNetToHost[uint32](glinux.NFTA_CHAIN_POLICY, r.attrs)
		if !ok {
			return nil, invalid("malformed NFTA_CHAIN_POLICY")
		}
		policy = uint8(v)
		if policy != glinux.NF_DROP && policy != glinux.NF_ACCEPT {
			return nil, invalid("policy is neither accept nor drop")
		}
	}
	var flags uint32
	if _, ok := r.attrs[glinux.NFTA_CHAIN_FLAGS]; ok {
		v, ok := nftables.AttrNetToHost[uint32](glinux.NFTA_CHAIN_FLAGS, r.attrs)
		if !ok {
			return nil, invalid("malformed NFTA_CHAIN_FLAGS")
		}
		flags = v
	} else if chain != nil {
		flags = uint32(chain.GetFlags())
	}
	if flags&^uint32(glinux.NFT_CHAIN_FLAGS) != 0 {
		return nil, unsupported("unknown chain flags")
	}
	if chain != nil {
		return chain, updateChain(r, tab, chain, msgFlags, policy, flags)
	}
	return addChain(nft, r, tab, policy, flags)
}

// updateChain changes an existing chain (nf_tables_updchain): its hook
// must stay the same.
func updateChain(r request, tab *nftables.Table, chain *nftables.Chain, msgFlags uint16, policy uint8, flags uint32) *syserr.AnnotatedError {
	if chain.GetFlags()&glinux.NFT_CHAIN_BINDING != 0 {
		return invalid("a binding chain cannot be updated")
	}
	if msgFlags&glinux.NLM_F_EXCL != 0 {
		return syserr.NewAnnotatedError(syserr.ErrExists, "chain exists")
	}
	if msgFlags&glinux.NLM_F_REPLACE != 0 {
		return unsupported("replacing a chain")
	}
	if chain.IsBaseChain() {
		flags |= glinux.NFT_CHAIN_BASE
	}
	if uint32(chain.GetFlags()) != flags {
		return unsupported("changing a chain's flags")
	}
	if hook, ok := r.attrs[glinux.NFTA_CHAIN_HOOK]; ok {
		if !chain.IsBaseChain() {
			return syserr.NewAnnotatedError(syserr.ErrExists, "a hook for a regular chain")
		}
		want, err := parseHook(r, gnl.AttrsView(hook))
		if err != nil {
			return err
		}
		have := chain.GetBaseChainInfo()
		if have.LinuxHookNum != want.LinuxHookNum || have.Priority.GetValue() != want.Priority.GetValue() || have.BcType != want.BcType {
			return unsupported("moving a base chain to another hook, priority or type")
		}
	}
	if counters, ok := r.attrs[glinux.NFTA_CHAIN_COUNTERS]; ok {
		if !chain.IsBaseChain() {
			return unsupported("counters on a regular chain")
		}
		counter, err := nftables.ParseChainCounter(counters)
		if err != nil {
			return err
		}
		chain.SetCounter(counter)
	}
	if name, ok := r.attrs[glinux.NFTA_CHAIN_NAME]; ok && nftables.HasAttr(glinux.NFTA_CHAIN_HANDLE, r.attrs) {
		if err := tab.RenameChain(chain, name.String()); err != nil {
			return err
		}
	}
	if nftables.HasAttr(glinux.NFTA_CHAIN_POLICY, r.attrs) {
		return chain.SetPolicy(policy)
	}
	return nil
}

// addChain makes a chain (nf_tables_addchain): a base chain when r has a
// hook.
func addChain(nft *nftables.NFTables, r request, tab *nftables.Table, policy uint8, flags uint32) (*nftables.Chain, *syserr.AnnotatedError) {
	var info *nftables.BaseChainInfo
	if hook, ok := r.attrs[glinux.NFTA_CHAIN_HOOK]; ok {
		if flags&glinux.NFT_CHAIN_BINDING != 0 {
			return nil, unsupported("a binding chain on a hook")
		}
		var err *syserr.AnnotatedError
		if info, err = parseHook(r, gnl.AttrsView(hook)); err != nil {
			return nil, err
		}
		flags |= glinux.NFT_CHAIN_BASE
	} else {
		if flags&glinux.NFT_CHAIN_BASE != 0 {
			return nil, invalid("NFT_CHAIN_BASE without a hook")
		}
		if flags&glinux.NFT_CHAIN_HW_OFFLOAD != 0 {
			return nil, unsupported("hardware offload")
		}
	}
	var counter *nftables.ChainCounter
	if counters, ok := r.attrs[glinux.NFTA_CHAIN_COUNTERS]; ok && info != nil {
		var err *syserr.AnnotatedError
		if counter, err = nftables.ParseChainCounter(counters); err != nil {
			return nil, err
		}
	}
	var name string
	if b, ok := r.attrs[glinux.NFTA_CHAIN_NAME]; ok {
		name = b.String()
	} else if flags&glinux.NFT_CHAIN_BINDING != 0 {
		name = fmt.Sprintf("__chain%d", anonChains.Add(1))
	} else {
		return nil, invalid("no chain name")
	}
	udata := r.attrs[glinux.NFTA_CHAIN_USERDATA]
	chain, err := nft.AddChainToTable(tab, name, info, "", true, flags, udata, policy)
	if err != nil {
		return nil, err
	}
	if counter != nil {
		chain.SetCounter(counter)
	}
	// Later messages of the batch may name the chain by its ID.
	if id, ok := nftables.AttrNetToHost[uint32](glinux.NFTA_CHAIN_ID, r.attrs); ok {
		tab.RegisterChainID(id, chain)
	}
	return chain, nil
}

// parseHook reads NFTA_CHAIN_HOOK and NFTA_CHAIN_TYPE
// (nft_chain_parse_hook).
func parseHook(r request, hook gnl.AttrsView) (*nftables.BaseChainInfo, *syserr.AnnotatedError) {
	attrs, ok := nftables.NfParse(hook)
	if !ok {
		return nil, invalid("malformed NFTA_CHAIN_HOOK")
	}
	num, okNum := nftables.AttrNetToHost[uint32](glinux.NFTA_HOOK_HOOKNUM, attrs)
	prio, okPrio := nftables.AttrNetToHost[uint32](glinux.NFTA_HOOK_PRIORITY, attrs)
	if !okNum || !okPrio {
		return nil, syserr.NewAnnotatedError(syserr.ErrNoFileOrDir, "a hook needs its number and priority")
	}
	typ := nftables.BaseChainTypeFilter
	if b, ok := r.attrs[glinux.NFTA_CHAIN_TYPE]; ok {
		switch b.String() {
		case "filter":
		case "route":
			typ = nftables.BaseChainTypeRoute
		case "nat":
			typ = nftables.BaseChainTypeNat
		default:
			return nil, syserr.NewAnnotatedError(syserr.ErrNoFileOrDir, "unknown chain type")
		}
	}
	if !nftables.ValidLinuxHook(r.family, typ, num) {
		return nil, unsupported("the chain type has no such hook in the family")
	}
	if typ == nftables.BaseChainTypeNat && int32(prio) <= glinux.NF_IP_PRI_CONNTRACK {
		return nil, unsupported("a nat chain must come after conntrack")
	}
	if r.family == stack.Netdev || (r.family == stack.Inet && num == glinux.NF_INET_INGRESS) {
		return nil, unsupported("netdev and ingress hooks")
	}
	if nftables.HasAttr(glinux.NFTA_HOOK_DEV, attrs) || nftables.HasAttr(glinux.NFTA_HOOK_DEVS, attrs) {
		return nil, unsupported("a device on a hook outside netdev")
	}
	stackHook, err := nftables.StackHook(r.family, num)
	if err != nil {
		return nil, err
	}
	return &nftables.BaseChainInfo{
		Hook:         stackHook,
		LinuxHookNum: num,
		BcType:       typ,
		Priority:     nftables.NewIntPriority(int(int32(prio))),
	}, nil
}

// deleteChain is NFT_MSG_DELCHAIN and DESTROYCHAIN: a chain no rule
// jumps to.
func deleteChain(nft *nftables.NFTables, r request, msgFlags uint16, portID uint32) *syserr.AnnotatedError {
	destroy := glinux.NfTableMsgType(r.typ) == glinux.NFT_MSG_DESTROYCHAIN
	tab, err := tableNamed(nft, r, glinux.NFTA_CHAIN_TABLE, portID)
	if err != nil {
		if destroy && err.GetError() == syserr.ErrNoFileOrDir {
			return nil
		}
		return err
	}
	chain, err := findChain(tab, r)
	if err != nil {
		if destroy && err.GetError() == syserr.ErrNoFileOrDir {
			return nil
		}
		return err
	}
	if chain == nil {
		return invalid("no chain name or handle")
	}
	if chain.GetFlags()&glinux.NFT_CHAIN_BINDING != 0 {
		return unsupported("deleting a binding chain")
	}
	if chain.GetChainUse() > 0 {
		return syserr.NewAnnotatedError(syserr.ErrBusy, "rules jump to the chain")
	}
	if msgFlags&glinux.NLM_F_NONREC != 0 && chain.RuleCount() > 0 {
		return syserr.NewAnnotatedError(syserr.ErrBusy, "chain not empty")
	}
	_, err = nft.DeleteChainFromTable(tab, chain.GetName())
	return err
}

// getChain is NFT_MSG_GETCHAIN: one chain by table and name, or a dump.
func getChain(nft *nftables.NFTables, r request, dump bool, ms *gnl.MessageSet) *syserr.AnnotatedError {
	if dump {
		return eachFamily(r, func(f stack.AddressFamily) *syserr.AnnotatedError {
			for _, tab := range sortedTables(nft, f) {
				for _, chain := range sortedChains(tab) {
					if err := fillChain(chain, ms, glinux.NFT_MSG_NEWCHAIN); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	tab, err := tableNamed(nft, r, glinux.NFTA_CHAIN_TABLE, 0)
	if err != nil {
		return err
	}
	name, ok := r.attrs[glinux.NFTA_CHAIN_NAME]
	if !ok {
		return invalid("no NFTA_CHAIN_NAME")
	}
	chain, err := tab.GetChain(name.String())
	if err != nil {
		return err
	}
	return fillChain(chain, ms, glinux.NFT_MSG_NEWCHAIN)
}

// sortedChains returns a table's chains in the order they were made.
func sortedChains(tab *nftables.Table) []*nftables.Chain {
	chains := slices.Collect(maps.Values(tab.GetChains()))
	slices.SortFunc(chains, func(a, b *nftables.Chain) int { return cmp.Compare(a.GetHandle(), b.GetHandle()) })
	return chains
}

// fillChain adds a chain's message of type typ (NEWCHAIN, or DELCHAIN
// for a notice), as nf_tables_fill_chain_info writes it.
func fillChain(chain *nftables.Chain, ms *gnl.MessageSet, typ glinux.NfTableMsgType) *syserr.AnnotatedError {
	m := ms.AddMessage(glinux.NetlinkMessageHeader{Type: uint16(glinux.NFNL_SUBSYS_NFTABLES)<<8 | uint16(typ)})
	m.Put(&glinux.NetFilterGenMsg{Family: nftables.AfProtocol(chain.GetAddressFamily()), Version: glinux.NFNETLINK_V0})
	m.PutAttrString(glinux.NFTA_CHAIN_TABLE, chain.GetTable().GetName())
	m.PutAttr(glinux.NFTA_CHAIN_HANDLE, gnl.PutU64(chain.GetHandle()))
	m.PutAttrString(glinux.NFTA_CHAIN_NAME, chain.GetName())
	if chain.IsBaseChain() {
		info := chain.GetBaseChainInfo()
		var hook gnl.NestedAttr
		hook.PutAttr(glinux.NFTA_HOOK_HOOKNUM, gnl.PutU32(info.LinuxHookNum))
		hook.PutAttr(glinux.NFTA_HOOK_PRIORITY, gnl.PutU32(uint32(int32(info.Priority.GetValue()))))
		m.PutNestedAttr(glinux.NFTA_CHAIN_HOOK, hook)
		m.PutAttr(glinux.NFTA_CHAIN_POLICY, gnl.PutU32(uint32(info.PolicyBoolToValue())))
		m.PutAttrString(glinux.NFTA_CHAIN_TYPE, info.BcType.String())
		if counter := chain.Counter(); counter != nil {
			bytes, packets := counter.Value()
			var c gnl.NestedAttr
			c.PutAttr(glinux.NFTA_COUNTER_PACKETS, gnl.PutU64(packets))
			c.PutAttr(glinux.NFTA_COUNTER_BYTES, gnl.PutU64(bytes))
			m.PutNestedAttr(glinux.NFTA_CHAIN_COUNTERS, c)
		}
	}
	if flags := chain.GetFlags(); flags != 0 {
		m.PutAttr(glinux.NFTA_CHAIN_FLAGS, gnl.PutU32(uint32(flags)))
	}
	m.PutAttr(glinux.NFTA_CHAIN_USE, gnl.PutU32(chain.GetChainUse()))
	if chain.HasUserData() {
		m.PutAttr(glinux.NFTA_CHAIN_USERDATA, primitive.AsByteSlice(chain.GetUserData()))
	}
	return nil
}
