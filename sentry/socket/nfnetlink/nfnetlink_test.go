package nfnetlink

import (
	"encoding/binary"
	"fmt"
	"testing"

	linux "golang.org/x/sys/unix"
	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// rig is a netlink namespace with NETLINK_NETFILTER on a stack of its own.
type rig struct {
	st *netstack.Stack
	ns *netlink.Namespace
}

func newRig(t testing.TB) *rig {
	st, err := netstack.NewDown()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	p := New(func() (*stack.Stack, error) { return st.Stack, nil })
	return &rig{st: st, ns: netlink.NewNamespace(map[int]netlink.Protocol{linux.NETLINK_NETFILTER: p})}
}

// msg builds one nfnetlink message of subsystem nf_tables (or the batch
// control type typ when batch), family, flags and attributes.
func msg(typ uint16, flags uint16, seq uint32, family uint8, resID uint16, attrs func(*nlmsg.Builder)) []byte {
	var b nlmsg.Builder
	b.Fixed([]byte{family, 0, byte(resID >> 8), byte(resID)})
	if attrs != nil {
		attrs(&b)
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: typ, Flags: flags, Seq: seq}, Payload: b.Bytes()}.Bytes()
}

func nft(t glinux.NfTableMsgType) uint16 { return glinux.NFNL_SUBSYS_NFTABLES<<8 | uint16(t) }

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func str(s string) []byte { return append([]byte(s), 0) }

const req = nlmsg.FlagRequest

func newTableMsg(seq uint32, name string) []byte {
	return msg(nft(glinux.NFT_MSG_NEWTABLE), req|nlmsg.FlagAck|nlmsg.FlagCreate, seq, glinux.NFPROTO_IPV4, 0, func(b *nlmsg.Builder) {
		b.Attr(glinux.NFTA_TABLE_NAME, str(name))
	})
}

func newChainMsg(seq uint32, table, name string) []byte {
	return msg(nft(glinux.NFT_MSG_NEWCHAIN), req|nlmsg.FlagAck|nlmsg.FlagCreate, seq, glinux.NFPROTO_IPV4, 0, func(b *nlmsg.Builder) {
		b.Attr(glinux.NFTA_CHAIN_TABLE, str(table))
		b.Attr(glinux.NFTA_CHAIN_NAME, str(name))
	})
}

func batch(genID uint32, body ...[]byte) []byte {
	begin := msg(glinux.NFNL_MSG_BATCH_BEGIN, req, 1, glinux.NFPROTO_UNSPEC, glinux.NFNL_SUBSYS_NFTABLES, func(b *nlmsg.Builder) {
		if genID != 0 {
			b.Attr(glinux.NFNL_BATCH_GENID, be32(genID))
		}
	})
	out := begin
	for _, m := range body {
		out = append(out, m...)
	}
	return out
}

func end(seq uint32) []byte {
	return msg(glinux.NFNL_MSG_BATCH_END, req, seq, glinux.NFPROTO_UNSPEC, glinux.NFNL_SUBSYS_NFTABLES, nil)
}

// send sends data from a fresh socket (with or without CAP_NET_ADMIN) and
// returns every message queued in answer.
func (r *rig) send(t *testing.T, netAdmin bool, data []byte) []nlmsg.Message {
	t.Helper()
	s, err := netlink.New(r.ns, linux.SOCK_RAW, linux.NETLINK_NETFILTER, 0, 0, netAdmin, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.SendAs(data, nil, 0, netAdmin); err != nil {
		t.Fatal(err)
	}
	var out []nlmsg.Message
	buf := make([]byte, 1<<16)
	for {
		res, err := s.Recv(buf, linux.MSG_DONTWAIT, false)
		if err != nil {
			return out
		}
		for _, m := range nlmsg.Split(buf[:res.N]) {
			m.Payload = append([]byte(nil), m.Payload...)
			out = append(out, m)
		}
	}
}

// acks returns the errno of each NLMSG_ERROR in msgs, keyed by the
// sequence number of the message it answers.
func acks(t *testing.T, msgs []nlmsg.Message) map[uint32]linux.Errno {
	t.Helper()
	out := make(map[uint32]linux.Errno)
	for _, m := range msgs {
		if m.Type != nlmsg.ErrorType {
			continue
		}
		errno := linux.Errno(-int32(binary.LittleEndian.Uint32(m.Payload)))
		seq := binary.LittleEndian.Uint32(m.Payload[4+8:])
		out[seq] = errno
	}
	return out
}

// tables dumps the IPv4 tables' names.
func (r *rig) tables(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, m := range r.send(t, true, msg(nft(glinux.NFT_MSG_GETTABLE), req|nlmsg.FlagDump, 9, glinux.NFPROTO_IPV4, 0, nil)) {
		if m.Type != nft(glinux.NFT_MSG_NEWTABLE) {
			continue
		}
		for _, a := range attrsOf(m.Payload[4:]) {
			if a.typ == glinux.NFTA_TABLE_NAME {
				names = append(names, string(a.val[:len(a.val)-1]))
			}
		}
	}
	return names
}

type attr struct {
	typ uint16
	val []byte
}

func attrsOf(b []byte) []attr {
	var out []attr
	for len(b) >= 4 {
		l := int(binary.LittleEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		out = append(out, attr{binary.LittleEndian.Uint16(b[2:]) & nlmsg.AttrTypeMask, b[4:l]})
		b = b[min(nlmsg.AlignUp(l), len(b)):]
	}
	return out
}

func (r *rig) genID(t *testing.T) uint32 {
	t.Helper()
	for _, m := range r.send(t, true, msg(nft(glinux.NFT_MSG_GETGEN), req, 3, glinux.NFPROTO_UNSPEC, 0, nil)) {
		for _, a := range attrsOf(m.Payload[4:]) {
			if m.Type == nft(glinux.NFT_MSG_NEWGEN) && a.typ == glinux.NFTA_GEN_ID {
				return binary.BigEndian.Uint32(a.val)
			}
		}
	}
	t.Fatal("no NEWGEN answer")
	return 0
}

func TestBatchCommits(t *testing.T) {
	r := newRig(t)
	gen := r.genID(t)
	got := acks(t, r.send(t, true, batch(gen, newTableMsg(10, "a"), newChainMsg(11, "a", "c"), end(12))))
	if len(got) != 2 || got[10] != 0 || got[11] != 0 {
		t.Fatalf("acks %v, want 10 and 11 acknowledged", got)
	}
	if names := r.tables(t); len(names) != 1 || names[0] != "a" {
		t.Fatalf("tables %q after the batch, want [a]", names)
	}
	if g := r.genID(t); g != gen+1 {
		t.Errorf("generation %d after a commit, want %d", g, gen+1)
	}
	// A table with no chain on a hook filters nothing.
	if r.st.IsNFTablesConfigured() {
		t.Errorf("the stack runs nftables with no chain on a hook")
	}
}

// TestBatchAllOrNothing: one failing message and the batch changes
// nothing, though the others are acknowledged; without its end, neither.
func TestBatchAllOrNothing(t *testing.T) {
	r := newRig(t)
	got := acks(t, r.send(t, true, batch(0, newTableMsg(10, "a"), newChainMsg(11, "nosuch", "c"), end(12))))
	if got[10] != 0 || got[11] != linux.ENOENT {
		t.Fatalf("acks %v, want 10 acknowledged and 11 ENOENT", got)
	}
	if names := r.tables(t); len(names) != 0 {
		t.Fatalf("tables %q after a failed batch", names)
	}
	r.send(t, true, batch(0, newTableMsg(10, "a")))
	if names := r.tables(t); len(names) != 0 {
		t.Fatalf("tables %q after a batch without its end", names)
	}
}

func TestBatchStaleGeneration(t *testing.T) {
	r := newRig(t)
	gen := r.genID(t)
	r.send(t, true, batch(gen, newTableMsg(10, "a"), end(11)))
	got := acks(t, r.send(t, true, batch(gen, newTableMsg(20, "b"), end(21))))
	if got[1] != linux.ERESTART {
		t.Fatalf("acks %v, want the batch refused with ERESTART", got)
	}
	if names := r.tables(t); len(names) != 1 {
		t.Fatalf("tables %q, want [a] alone", names)
	}
}

func TestNeedsNetAdmin(t *testing.T) {
	r := newRig(t)
	if got := acks(t, r.send(t, false, batch(0, newTableMsg(10, "a"), end(11)))); len(got) != 1 || got[1] != linux.EPERM {
		t.Fatalf("batch without CAP_NET_ADMIN: acks %v, want the first message EPERM", got)
	}
	dump := msg(nft(glinux.NFT_MSG_GETTABLE), req|nlmsg.FlagDump, 5, glinux.NFPROTO_IPV4, 0, nil)
	if got := acks(t, r.send(t, false, dump)); got[5] != linux.EPERM {
		t.Fatalf("dump without CAP_NET_ADMIN: acks %v, want EPERM", got)
	}
}

func TestUnknownSubsystem(t *testing.T) {
	r := newRig(t)
	const ctnetlink = 1
	m := msg(ctnetlink<<8, req|nlmsg.FlagAck, 4, glinux.NFPROTO_IPV4, 0, nil)
	if got := acks(t, r.send(t, true, m)); got[4] != linux.EINVAL {
		t.Fatalf("conntrack request: acks %v, want EINVAL", got)
	}
}

// baseChainMsg makes an input filter chain.
func baseChainMsg(seq uint32, table, name string) []byte {
	return msg(nft(glinux.NFT_MSG_NEWCHAIN), req|nlmsg.FlagCreate, seq, glinux.NFPROTO_IPV4, 0, func(b *nlmsg.Builder) {
		b.Attr(glinux.NFTA_CHAIN_TABLE, str(table))
		b.Attr(glinux.NFTA_CHAIN_NAME, str(name))
		b.Attr(glinux.NFTA_CHAIN_TYPE, str("filter"))
		b.Nest(glinux.NFTA_CHAIN_HOOK, func(b *nlmsg.Builder) {
			b.Attr(glinux.NFTA_HOOK_HOOKNUM, be32(glinux.NF_INET_LOCAL_IN))
			b.Attr(glinux.NFTA_HOOK_PRIORITY, be32(0))
		})
	})
}

// dropRuleMsg appends `tcp dport 8080 drop`: a payload load, a compare and
// a verdict.
func dropRuleMsg(seq uint32, table, chain string) []byte {
	expr := func(b *nlmsg.Builder, name string, data func(*nlmsg.Builder)) {
		b.Nest(glinux.NFTA_LIST_ELEM, func(b *nlmsg.Builder) {
			b.Attr(glinux.NFTA_EXPR_NAME, str(name))
			b.Nest(glinux.NFTA_EXPR_DATA, data)
		})
	}
	return msg(nft(glinux.NFT_MSG_NEWRULE), req|nlmsg.FlagCreate|nlmsg.FlagAppend|nlmsg.FlagAck, seq, glinux.NFPROTO_IPV4, 0, func(b *nlmsg.Builder) {
		b.Attr(glinux.NFTA_RULE_TABLE, str(table))
		b.Attr(glinux.NFTA_RULE_CHAIN, str(chain))
		b.Nest(glinux.NFTA_RULE_EXPRESSIONS, func(b *nlmsg.Builder) {
			expr(b, "payload", func(b *nlmsg.Builder) {
				b.Attr(glinux.NFTA_PAYLOAD_DREG, be32(glinux.NFT_REG_1))
				b.Attr(glinux.NFTA_PAYLOAD_BASE, be32(glinux.NFT_PAYLOAD_TRANSPORT_HEADER))
				b.Attr(glinux.NFTA_PAYLOAD_OFFSET, be32(2))
				b.Attr(glinux.NFTA_PAYLOAD_LEN, be32(2))
			})
			expr(b, "cmp", func(b *nlmsg.Builder) {
				b.Attr(glinux.NFTA_CMP_SREG, be32(glinux.NFT_REG_1))
				b.Attr(glinux.NFTA_CMP_OP, be32(glinux.NFT_CMP_EQ))
				b.Nest(glinux.NFTA_CMP_DATA, func(b *nlmsg.Builder) { b.Attr(glinux.NFTA_DATA_VALUE, []byte{0x1f, 0x90}) })
			})
			expr(b, "immediate", func(b *nlmsg.Builder) {
				b.Attr(glinux.NFTA_IMMEDIATE_DREG, be32(glinux.NFT_REG_VERDICT))
				b.Nest(glinux.NFTA_IMMEDIATE_DATA, func(b *nlmsg.Builder) {
					b.Nest(glinux.NFTA_DATA_VERDICT, func(b *nlmsg.Builder) { b.Attr(glinux.NFTA_VERDICT_CODE, be32(glinux.NF_DROP)) })
				})
			})
		})
	})
}

func TestBaseChainTurnsFilteringOn(t *testing.T) {
	r := newRig(t)
	got := acks(t, r.send(t, true, batch(0, newTableMsg(10, "a"), baseChainMsg(11, "a", "in"), dropRuleMsg(12, "a", "in"), end(13))))
	if got[10] != 0 || got[12] != 0 || len(got) != 2 {
		t.Fatalf("acks %v", got)
	}
	if !r.st.IsNFTablesConfigured() {
		t.Fatal("a base chain did not turn the stack's nftables on")
	}
	var exprs []string
	for _, m := range r.send(t, true, msg(nft(glinux.NFT_MSG_GETRULE), req|nlmsg.FlagDump, 14, glinux.NFPROTO_IPV4, 0, nil)) {
		for _, a := range attrsOf(m.Payload[4:]) {
			if m.Type != nft(glinux.NFT_MSG_NEWRULE) || a.typ != glinux.NFTA_RULE_EXPRESSIONS {
				continue
			}
			for _, elem := range attrsOf(a.val) {
				for _, e := range attrsOf(elem.val) {
					if e.typ == glinux.NFTA_EXPR_NAME {
						exprs = append(exprs, string(e.val[:len(e.val)-1]))
					}
				}
			}
		}
	}
	if fmt.Sprint(exprs) != "[payload cmp immediate]" {
		t.Fatalf("the rule dumps as %q", exprs)
	}
	del := msg(nft(glinux.NFT_MSG_DELTABLE), req, 20, glinux.NFPROTO_IPV4, 0, func(b *nlmsg.Builder) {
		b.Attr(glinux.NFTA_TABLE_NAME, str("a"))
	})
	r.send(t, true, batch(0, del, end(21)))
	if r.st.IsNFTablesConfigured() {
		t.Fatal("the stack still runs nftables with no chain left")
	}
}

// FuzzBatch sends arbitrary messages, as a batch and alone: the kernel
// side must answer or ignore them, never fail.
func FuzzBatch(f *testing.F) {
	f.Add(newTableMsg(1, "a"))
	f.Add(append(newTableMsg(1, "a"), newChainMsg(2, "a", "c")...))
	f.Add(msg(nft(glinux.NFT_MSG_GETRULE), req|nlmsg.FlagDump, 1, glinux.NFPROTO_INET, 0, nil))
	f.Add(append(append(newTableMsg(1, "a"), baseChainMsg(2, "a", "in")...), dropRuleMsg(3, "a", "in")...))
	r := newRig(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		before := recovered.Load()
		r.send(t, true, data)
		r.send(t, true, batch(0, data, end(99)))
		if recovered.Load() != before {
			t.Fatal("the interpreter panicked (recovered, the request refused): report it to gVisor or refuse the input earlier")
		}
	})
}

// compatTCPRuleMsg appends a rule with an xtables tcp match whose
// struct xt_tcp is info, then a drop.
func compatTCPRuleMsg(seq uint32, info []byte) []byte {
	return msg(nft(glinux.NFT_MSG_NEWRULE), req|nlmsg.FlagCreate|nlmsg.FlagAppend|nlmsg.FlagAck, seq, glinux.NFPROTO_IPV4, 0, func(b *nlmsg.Builder) {
		b.Attr(glinux.NFTA_RULE_TABLE, str("a"))
		b.Attr(glinux.NFTA_RULE_CHAIN, str("in"))
		b.Nest(glinux.NFTA_RULE_EXPRESSIONS, func(b *nlmsg.Builder) {
			b.Nest(glinux.NFTA_LIST_ELEM, func(b *nlmsg.Builder) {
				b.Attr(glinux.NFTA_EXPR_NAME, str("match"))
				b.Nest(glinux.NFTA_EXPR_DATA, func(b *nlmsg.Builder) {
					b.Attr(glinux.NFTA_MATCH_NAME, str("tcp"))
					b.Attr(glinux.NFTA_MATCH_REV, be32(0))
					b.Attr(glinux.NFTA_MATCH_INFO, info)
				})
			})
			b.Nest(glinux.NFTA_LIST_ELEM, func(b *nlmsg.Builder) {
				b.Attr(glinux.NFTA_EXPR_NAME, str("immediate"))
				b.Nest(glinux.NFTA_EXPR_DATA, func(b *nlmsg.Builder) {
					b.Attr(glinux.NFTA_IMMEDIATE_DREG, be32(glinux.NFT_REG_VERDICT))
					b.Nest(glinux.NFTA_IMMEDIATE_DATA, func(b *nlmsg.Builder) {
						b.Nest(glinux.NFTA_DATA_VERDICT, func(b *nlmsg.Builder) { b.Attr(glinux.NFTA_VERDICT_CODE, be32(glinux.NF_DROP)) })
					})
				})
			})
		})
	})
}

// TestCompatTCPMatchTestsOrIsRefused: gVisor runs an xtables tcp match as
// one that matches everything, so one with a port is refused rather than
// made a rule that drops all TCP; one that tests nothing is taken.
func TestCompatTCPMatchTestsOrIsRefused(t *testing.T) {
	r := newRig(t)
	xtTCP := func(dport uint16) []byte {
		b := binary.NativeEndian.AppendUint16(nil, 0)
		b = binary.NativeEndian.AppendUint16(b, 0xffff)
		b = binary.NativeEndian.AppendUint16(b, dport)
		b = binary.NativeEndian.AppendUint16(b, dport)
		return append(b, 0, 0, 0, 0)
	}
	matchAll := xtTCP(0)
	binary.NativeEndian.PutUint16(matchAll[6:], 0xffff)
	got := acks(t, r.send(t, true, batch(0, newTableMsg(10, "a"), baseChainMsg(11, "a", "in"), compatTCPRuleMsg(12, xtTCP(22)), end(13))))
	if got[12] != linux.EOPNOTSUPP {
		t.Fatalf("a tcp match on port 22: acks %v, want EOPNOTSUPP", got)
	}
	got = acks(t, r.send(t, true, batch(0, newTableMsg(10, "a"), baseChainMsg(11, "a", "in"), compatTCPRuleMsg(12, matchAll), end(13))))
	if got[12] != 0 {
		t.Fatalf("a tcp match that tests nothing: acks %v, want it taken", got)
	}
}
