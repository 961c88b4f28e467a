// Package nfnetlink is the kernel side of NETLINK_NETFILTER in the
// sandbox: the nf_tables subsystem (what nft(8) and iptables-nft speak)
// and nft_compat's revision queries, over gVisor's nftables
// interpreter, which the sandbox's stack evaluates at its hooks.
//
// Changes come in batches (NFNL_MSG_BATCH_BEGIN ... NFNL_MSG_BATCH_END),
// applied as one transaction as nfnetlink_rcv_batch applies them: every
// message is tried on a private copy of the rule set, each failure is
// reported, and the copy replaces the stack's rule set only when the
// whole batch succeeded and ended; packets in flight finish on the rule
// set they started with. Reads (GETTABLE, GETCHAIN, GETRULE, GETSET,
// GETSETELEM, GETGEN and empty GETOBJ and GETFLOWTABLE dumps) are single
// messages, as on Linux. Everything needs CAP_NET_ADMIN, reads too
// (nfnetlink_rcv).
//
// A commit is announced to NFNLGRP_NFTABLES (nft monitor) and echoed to
// a sender that asks (nft -e): tables, chains and rules made and
// deleted, and the new generation; sets and their elements are not.
//
// Not supported, with EOPNOTSUPP: stateful objects, flowtables,
// deleting sets, netdev-family chains; the other nfnetlink subsystems
// (conntrack, queue, log, ipset, ...) are EINVAL, as on a kernel without
// them. gVisor's interpreter panicking on a request is caught: the
// request is refused (EINVAL), the rule set unchanged.
package nfnetlink

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"

	linux "golang.org/x/sys/unix"
	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	glog "gvisor.dev/gvisor/pkg/log"
	grand "gvisor.dev/gvisor/pkg/rand"
	gnl "gvisor.dev/gvisor/pkg/sentry/socket/netlink/nlmsg"
	"gvisor.dev/gvisor/pkg/syserr"
	"gvisor.dev/gvisor/pkg/tcpip/nftables"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// nfgenmsgLen is sizeof(struct nfgenmsg): family, version, res_id.
const nfgenmsgLen = 4

// maxGroups is NFNLGRP_MAX.
const maxGroups = 9

var enableOnce sync.Once

// recovered counts the requests refused because the interpreter
// panicked on them, for the fuzz test to see.
var recovered atomic.Int64

// Protocol is NETLINK_NETFILTER on one network stack.
type Protocol struct {
	stackOf func() (*stack.Stack, error)
	// nat is what the interpreter cannot dump of the rules; clock is
	// the rule set's (clock.go). Both are protected by the stack's
	// nftables update lock.
	nat   natDumps
	clock *stoppableClock
}

// Close ends the rule set's timers: call it when the network namespace
// is gone.
func (p *Protocol) Close() {
	st, err := p.stackOf()
	if err != nil {
		return
	}
	st.LockNFTablesUpdate()
	defer st.UnlockNFTablesUpdate()
	if p.clock != nil {
		p.clock.stop()
	}
}

// New returns NETLINK_NETFILTER over the stack stackOf returns.
func New(stackOf func() (*stack.Stack, error)) *Protocol {
	// gVisor's interpreter refuses to run until told it may.
	enableOnce.Do(nftables.EnableNFTables)
	return &Protocol{stackOf: stackOf}
}

// Groups implements netlink.Protocol.
func (*Protocol) Groups() int { return maxGroups }

// NonrootRecv implements netlink.Protocol: nfnetlink's groups are for
// CAP_NET_ADMIN only.
func (*Protocol) NonrootRecv() bool { return false }

// request is one nfnetlink message taken apart.
type request struct {
	subsys, typ uint8
	family      stack.AddressFamily
	familyErr   *syserr.Error
	// resID is nfgenmsg's res_id, in host order.
	resID uint16
	attrs map[uint16]gnl.BytesView
	// raw is the attributes' bytes.
	raw gnl.AttrsView
}

// parse takes m apart; ok is false when its payload is shorter than
// nfgenmsg (Linux ignores such a message) and errno is set when its
// attributes do not parse.
func parse(m nlmsg.Message) (r request, ok bool, errno linux.Errno) {
	if len(m.Payload) < nfgenmsgLen {
		return r, false, 0
	}
	r.subsys, r.typ = uint8(m.Type>>8), uint8(m.Type)
	r.family, r.familyErr = nftables.AFtoNetlinkAF(m.Payload[0])
	r.resID = binary.BigEndian.Uint16(m.Payload[2:])
	r.raw = gnl.AttrsView(m.Payload[nfgenmsgLen:])
	attrs, parsed := nftables.NfParse(r.raw)
	if !parsed {
		return r, true, linux.EINVAL
	}
	r.attrs = attrs
	return r, true, 0
}

// errnoOf is the errno an nftables error stands for.
func errnoOf(err *syserr.AnnotatedError) linux.Errno {
	if err == nil {
		return 0
	}
	return linux.Errno(err.GetError().ToLinux())
}

// rules returns the stack's rule set, made empty on first use. Its
// connection tracking is made with it, before it is published: made
// later, by a batch's copy that then failed, its reaper's timer would
// outlive the copy.
//
// Preconditions: the stack's nftables update lock is held.
func (p *Protocol) rules(st *stack.Stack) *nftables.NFTables {
	if cur := st.NFTables(); cur != nil {
		if nft, ok := cur.(*nftables.NFTables); ok {
			return nft
		}
	}
	p.clock = &stoppableClock{Clock: st.Clock()}
	nft := nftables.NewNFTables(st, p.clock, grand.RNGFrom(rand.Reader))
	nft.InitConnTrackOnce()
	st.SetNFTables(nft)
	return nft
}

// replies turns what nftables wrote into ms into our messages.
func replies(ms *gnl.MessageSet) []nlmsg.Message {
	var out []nlmsg.Message
	for _, m := range ms.Messages {
		out = append(out, nlmsg.Split(m.Finalize())...)
	}
	return out
}

// Serve implements netlink.Protocol for a message outside a batch.
func (p *Protocol) Serve(m nlmsg.Message, c *netlink.Caller) (out []nlmsg.Message, dump bool, errno linux.Errno) {
	defer func() {
		if r := recover(); r != nil {
			// A read changes nothing: refusing it is safe.
			out, dump, errno = nil, false, linux.EINVAL
			recovered.Add(1)
			glog.Warningf("nfnetlink: a request crashed the nftables interpreter and was refused: %v", r)
		}
	}()
	if !c.NetAdmin {
		return nil, false, linux.EPERM
	}
	r, ok, perr := parse(m)
	if !ok {
		return nil, false, 0
	}
	if r.subsys != glinux.NFNL_SUBSYS_NFTABLES && r.subsys != glinux.NFNL_SUBSYS_NFT_COMPAT {
		return nil, false, linux.EINVAL
	}
	if perr != 0 {
		return nil, false, perr
	}
	st, err := p.stackOf()
	if err != nil {
		return nil, false, linux.ENETDOWN
	}
	st.LockNFTablesUpdate()
	defer st.UnlockNFTablesUpdate()
	nft := p.rules(st)
	ms := gnl.NewMessageSet(int32(c.PortID), m.Seq)
	dump = m.Flags&nlmsg.FlagDump == nlmsg.FlagDump
	if r.subsys == glinux.NFNL_SUBSYS_NFT_COMPAT {
		hdr := glinux.NetlinkMessageHeader{Length: m.Len, Type: m.Type, Flags: m.Flags, Seq: m.Seq, PortID: m.PortID}
		if err := nft.ProcessCompatMessage(hdr, ms, r.attrs, r.family); err != nil {
			return nil, false, errnoOf(err)
		}
		return replies(ms), false, 0
	}
	var aerr *syserr.AnnotatedError
	switch glinux.NfTableMsgType(r.typ) {
	case glinux.NFT_MSG_GETTABLE:
		aerr = getTable(nft, r, dump, ms)
	case glinux.NFT_MSG_GETCHAIN:
		aerr = getChain(nft, r, dump, ms)
	case glinux.NFT_MSG_GETRULE:
		aerr = getRule(nft, r, dump, ms, p.nat.lookup(nil))
	case glinux.NFT_MSG_GETGEN:
		getGen(nft, ms)
		return replies(ms), false, 0
	case glinux.NFT_MSG_GETSET:
		aerr = nft.GetSet(r.attrs, r.family, m.Flags, ms)
	case glinux.NFT_MSG_GETSETELEM:
		aerr = nft.GetSetElements(r.attrs, r.family, m.Flags, ms)
	case glinux.NFT_MSG_GETOBJ, glinux.NFT_MSG_GETFLOWTABLE:
		// None can be made here: a dump is empty, a lookup finds
		// nothing.
		if !dump {
			return nil, false, linux.ENOENT
		}
	case glinux.NFT_MSG_GETRULE_RESET, glinux.NFT_MSG_GETSETELEM_RESET, glinux.NFT_MSG_GETOBJ_RESET:
		return nil, false, linux.EOPNOTSUPP
	default:
		return nil, false, linux.EINVAL
	}
	if aerr != nil {
		return nil, dump, errnoOf(aerr)
	}
	return replies(ms), dump, 0
}

// getGen answers NFT_MSG_GETGEN with the rule set's generation, which nft
// sends back in its batches to detect a concurrent change.
func getGen(nft *nftables.NFTables, ms *gnl.MessageSet) {
	m := ms.AddMessage(glinux.NetlinkMessageHeader{Type: uint16(glinux.NFNL_SUBSYS_NFTABLES)<<8 | uint16(glinux.NFT_MSG_NEWGEN)})
	m.Put(&glinux.NetFilterGenMsg{Family: glinux.AF_UNSPEC, Version: glinux.NFNETLINK_V0})
	m.PutAttr(glinux.NFTA_GEN_ID, gnl.PutU32(nft.GetGenID()))
}
