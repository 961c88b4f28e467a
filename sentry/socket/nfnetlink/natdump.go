package nfnetlink

import (
	"gvisor.dev/gvisor/pkg/tcpip/nftables"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// gVisor's interpreter cannot dump a nat expression (its data comes back
// empty, which nft lists as a bare "snat" whatever the rule does), so the
// data each rule's nat expressions were made with is kept here and dumped
// in their place: the request's attributes, which are what nft_nat_dump
// would give back for them (type, family, registers, flags).

// ruleKey names a rule across the copies a batch makes of the rule set:
// handles survive them.
type ruleKey struct {
	family      stack.AddressFamily
	table, rule uint64
}

func keyOf(r *nftables.Rule) ruleKey {
	return ruleKey{family: r.GetAddressFamily(), table: r.GetChain().GetTable().GetHandle(), rule: r.GetHandle()}
}

// natData returns the data of the nat expressions among exprs, in order.
func natData(exprs []nftables.ExprInfo) [][]byte {
	var out [][]byte
	for _, e := range exprs {
		if e.ExprName == "nat" {
			out = append(out, append([]byte(nil), e.ExprData...))
		}
	}
	return out
}

// natDumps is the nat data of the committed rules.
type natDumps struct {
	// byRule is protected by the stack's nftables update lock.
	byRule map[ruleKey][][]byte
}

// lookup returns the nat data of a rule: pending's (a batch's own rules)
// first, then the committed ones'.
func (d *natDumps) lookup(pending map[ruleKey][][]byte) func(*nftables.Rule) [][]byte {
	return func(r *nftables.Rule) [][]byte {
		k := keyOf(r)
		if v, ok := pending[k]; ok {
			return v
		}
		return d.byRule[k]
	}
}

// commit takes a committed batch's pending data and forgets the rules nft
// no longer has.
func (d *natDumps) commit(pending map[ruleKey][][]byte, nft *nftables.NFTables) {
	if len(pending) == 0 && len(d.byRule) == 0 {
		return
	}
	live := make(map[ruleKey][][]byte)
	for family := range stack.NumAFs {
		for _, tab := range nft.GetAddressFamilyTables(family) {
			for _, chain := range tab.GetChains() {
				for _, r := range chain.GetRules() {
					k := keyOf(r)
					if v, ok := pending[k]; ok {
						live[k] = v
					} else if v, ok := d.byRule[k]; ok {
						live[k] = v
					}
				}
			}
		}
	}
	d.byRule = live
}
