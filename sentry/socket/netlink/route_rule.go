package netlink

import (
	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// Policy routing rules (net/core/fib_rules.c). The sandbox's stack has
// no policy routing, only the tables a fresh Linux network namespace
// consults through its default rules, so RTM_GETRULE dumps exactly
// those, as fib_nl_fill_rule encodes them; changing them is not
// supported.

// fibRuleHdrLen is sizeof(struct fib_rule_hdr).
const fibRuleHdrLen = 12

// defaultRule is one rule a namespace starts with.
type defaultRule struct {
	family uint8
	pref   uint32
	table  uint8
}

// defaultRules are the rules of a new namespace, in the order
// fib_nl_dumprule walks the families (as they registered their rules:
// IPv4, IPv4 multicast, IPv6 multicast, IPv6): fib4_rules_init's local,
// main and default, ipmr's and ip6mr's single rule
// (CONFIG_IP_MROUTE_MULTIPLE_TABLES), fib6_rules_net_init's local and
// main.
var defaultRules = []defaultRule{
	{linux.AF_INET, 0, linux.RT_TABLE_LOCAL},
	{linux.AF_INET, 0x7FFE, linux.RT_TABLE_MAIN},
	{linux.AF_INET, 0x7FFF, linux.RT_TABLE_DEFAULT},
	{familyIPMR, 0x7FFF, linux.RT_TABLE_DEFAULT},
	{familyIP6MR, 0x7FFF, linux.RT_TABLE_MAIN},
	{linux.AF_INET6, 0, linux.RT_TABLE_LOCAL},
	{linux.AF_INET6, 0x7FFE, linux.RT_TABLE_MAIN},
}

// ruleMessage encodes r as fib_nl_fill_rule does: a rule that looks up
// a table for every packet, made by the kernel.
func ruleMessage(r defaultRule) nlmsg.Message {
	var w nlmsg.Builder
	// family, dst_len, src_len, tos, table, res1, res2, action; flags.
	w.Fixed([]byte{r.family, 0, 0, 0, r.table, 0, 0, linux.FR_ACT_TO_TBL, 0, 0, 0, 0})
	w.U32(linux.FRA_TABLE, uint32(r.table))
	// suppress_prefixlen is -1: no suppression.
	w.U32(linux.FRA_SUPPRESS_PREFIXLEN, 0xFFFFFFFF)
	w.U8(linux.FRA_PROTOCOL, linux.RTPROT_KERNEL)
	if r.pref != 0 {
		w.U32(linux.FRA_PRIORITY, r.pref)
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: linux.RTM_NEWRULE}, Payload: w.Bytes()}
}

// dumpRules is fib_nl_dumprule: the rules of the family, of every
// family for AF_UNSPEC; EAFNOSUPPORT for a family without rules. A
// strict request must be a bare, zeroed fib_rule_hdr
// (fib_valid_dumprule_req).
func dumpRules(m nlmsg.Message, family uint8, strict bool) ([]nlmsg.Message, linux.Errno) {
	if strict {
		if len(m.Payload) < fibRuleHdrLen {
			return nil, linux.EINVAL
		}
		for _, b := range m.Payload[1:fibRuleHdrLen] {
			if b != 0 {
				return nil, linux.EINVAL
			}
		}
		if len(m.Payload) > nlmsg.AlignUp(fibRuleHdrLen) {
			return nil, linux.EINVAL
		}
	}
	var out []nlmsg.Message
	for _, r := range defaultRules {
		if family == linux.AF_UNSPEC || r.family == family {
			out = append(out, ruleMessage(r))
		}
	}
	if len(out) == 0 {
		return nil, linux.EAFNOSUPPORT
	}
	return out, 0
}
