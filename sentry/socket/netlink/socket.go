// Package netlink implements AF_NETLINK sockets (netlink(7)) inside the
// sandbox: user sockets with port IDs and multicast groups in the
// sandbox's own netlink namespace (Namespace), and the kernel side of
// NETLINK_ROUTE (rtnetlink(7), route.go) over the sandbox's network
// (sentry/socket/netif), or, for a hostNetwork pod, forwarded read-only
// to the host (route_host.go), and of NETLINK_SOCK_DIAG (sock_diag(7),
// sock_diag.go) over its sockets. Other protocols, and sock_diag in a
// hostNetwork pod, whose sockets are the host's, fail with
// EPROTONOSUPPORT, as on a kernel built without them.
//
// A request is served when it is sent, as the kernel serves it in
// sendmsg: replies and acknowledgements are queued on the sender. A dump
// is cut into batches the way netlink_dump cuts it (one batch when the
// request arrives, the next after each receive that leaves the queue
// half empty, NLMSG_DONE last and alone), so programs that size their
// buffers with MSG_PEEK|MSG_TRUNC, or use glibc's page-sized one, see
// what they see on Linux.
//
// As in package inet, operations never block: an empty queue is EAGAIN
// and the caller (sentry/syscalls) waits on the socket's queue.
//
// Lock order: Namespace.mu, then Socket.mu, then the waiter queue's.
package netlink

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Linux's sizes and defaults.
const (
	// sizeofSockaddrNL is sizeof(struct sockaddr_nl).
	sizeofSockaddrNL = 12
	// defaultBuf is net.core.rmem_default and wmem_default; maxBuf
	// rmem_max and wmem_max, the cap on SO_RCVBUF and SO_SNDBUF.
	defaultBuf = 212992
	maxBuf     = 212992
	// minRcvBuf and minSndBuf are SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF.
	minRcvBuf = 2304
	minSndBuf = 4608
	// goodSize is NLMSG_GOODSIZE with 4 KiB pages: the least a dump
	// batch holds.
	goodSize = 4096 - 320
	// maxRecvmsgLen caps the receive size that grows dump batches
	// (SKB_WITH_OVERHEAD(32768)).
	maxRecvmsgLen = 32768 - 320
	// sendOverhead is what netlink_sendmsg keeps of SO_SNDBUF for
	// bookkeeping: a send longer than sndbuf-32 is EMSGSIZE.
	sendOverhead = 32
)

// datagram is one queued skb: a message or a batch of them.
type datagram struct {
	data []byte
	// from is the sender's port ID (0: the kernel); group the
	// multicast group it was sent to (1-based; 0: unicast).
	from, group uint32
}

// dumpState is a dump in progress: the messages not queued yet.
type dumpState struct {
	msgs [][]byte
	// done is NLMSG_DONE, queued alone after the last batch.
	done []byte
}

// Socket is one AF_NETLINK socket; it is also the file implementation
// of its descriptors.
type Socket struct {
	ns       *Namespace
	proto    Protocol // nil: a protocol without a kernel side
	protocol int
	typ      int
	// SocketAttrs are the socket's inode attributes (Stat, SetStat).
	synth.SocketAttrs
	// netAdmin is whether the socket's opener had CAP_NET_ADMIN, which
	// Linux checks on the file's credentials (netlink_net_capable), and
	// tgid its process ID, the first port autobind tries; immutable.
	netAdmin bool
	tgid     int32

	queue waiter.Queue

	// rcvTimeo and sndTimeo are SO_RCVTIMEO and SO_SNDTIMEO (0: none,
	// negative: never wait).
	rcvTimeo, sndTimeo atomic.Int64

	// sendMu serializes the requests a socket sends, as the kernel
	// serves one sendmsg at a time under its protocol's lock.
	sendMu sync.Mutex

	// mu protects the fields below.
	mu sync.Mutex
	// portID is the socket's port once bound.
	portID uint32
	bound  bool
	// groups is the multicast membership, bit g-1 for group g.
	groups uint64
	// dstPort and dstGroup are the default destination (connect).
	dstPort, dstGroup uint32
	// rcv is the receive queue, rcvBytes its size.
	rcv      []datagram
	rcvBytes int
	// rcvBuf and sndBuf are SO_RCVBUF and SO_SNDBUF.
	rcvBuf, sndBuf int
	// err is the pending error (sk_err): ENOBUFS after an overrun.
	err linux.Errno
	// dump is the dump in progress.
	dump *dumpState
	// recvmsgLen is the largest receive buffer seen, which sizes dump
	// batches (max_recvmsg_len).
	recvmsgLen int
	// flags are the NETLINK_* options set (bit n for option n).
	flags uint32
	// opts holds the SOL_SOCKET options that only round-trip.
	opts map[int][]byte
	// passCred is SO_PASSCRED.
	passCred bool
	closed   bool
}

// New returns a socket of type typ (SOCK_RAW or SOCK_DGRAM, without
// flags) and protocol in ns, owned by uid and gid; netAdmin and tgid
// describe the opener.
func New(ns *Namespace, typ, protocol int, uid, gid uint32, netAdmin bool, tgid int32) (*Socket, error) {
	if typ != linux.SOCK_RAW && typ != linux.SOCK_DGRAM {
		return nil, linux.ESOCKTNOSUPPORT
	}
	proto, ok := ns.protocols[protocol]
	if !ok {
		return nil, linux.EPROTONOSUPPORT
	}
	s := &Socket{ns: ns, proto: proto, protocol: protocol, typ: typ, netAdmin: netAdmin, tgid: tgid, rcvBuf: defaultBuf, sndBuf: defaultBuf}
	s.InitSocketAttrs(uid, gid)
	ns.add(s)
	return s, nil
}

// Family returns AF_NETLINK.
func (s *Socket) Family() int { return linux.AF_NETLINK }

// Type returns SOCK_RAW or SOCK_DGRAM.
func (s *Socket) Type() int { return s.typ }

// Protocol returns the NETLINK_* protocol (SO_PROTOCOL).
func (s *Socket) Protocol() int { return s.protocol }

// sockaddr encodes a struct sockaddr_nl.
func sockaddr(port uint32, groups uint32) []byte {
	b := make([]byte, sizeofSockaddrNL)
	binary.LittleEndian.PutUint16(b, linux.AF_NETLINK)
	binary.LittleEndian.PutUint32(b[4:], port)
	binary.LittleEndian.PutUint32(b[8:], groups)
	return b
}

// parseSockaddr decodes a struct sockaddr_nl as netlink_bind and
// netlink_sendmsg check it: EINVAL when short or of another family.
func parseSockaddr(sa []byte) (port, groups uint32, err error) {
	if len(sa) < sizeofSockaddrNL || binary.LittleEndian.Uint16(sa) != linux.AF_NETLINK {
		return 0, 0, linux.EINVAL
	}
	return binary.LittleEndian.Uint32(sa[4:]), binary.LittleEndian.Uint32(sa[8:]), nil
}

// groupMask is netlink_group_mask: the nl_groups bit of group.
func groupMask(group uint32) uint32 {
	if group == 0 || group > 32 {
		return 0
	}
	return 1 << (group - 1)
}

// allowed is netlink_allowed: the protocol lets anyone do it, or the
// opener has CAP_NET_ADMIN.
func (s *Socket) allowed(nonroot bool) bool { return nonroot || s.netAdmin }

// nonrootRecv reports NL_CFG_F_NONROOT_RECV for s's protocol.
func (s *Socket) nonrootRecv() bool { return s.proto != nil && s.proto.NonrootRecv() }

// ngroups is the protocol's number of groups, at most 64 here.
func (s *Socket) ngroups() int {
	if s.proto == nil {
		return 32
	}
	return min(s.proto.Groups(), 64)
}

// Bind implements bind(2) as netlink_bind does: a port ID (0: autobind)
// and the first 32 groups, which replace the socket's.
func (s *Socket) Bind(sa []byte) error {
	port, groups, err := parseSockaddr(sa)
	if err != nil {
		return err
	}
	if groups != 0 && !s.allowed(s.nonrootRecv()) {
		return linux.EPERM
	}
	if n := s.ngroups(); n < 32 {
		groups &= 1<<n - 1
	}
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound {
		if port != s.portID {
			return linux.EINVAL
		}
	} else {
		var err error
		if port != 0 {
			err = s.ns.bindLocked(s, port)
		} else {
			err = s.ns.autobindLocked(s, s.tgid)
		}
		if err != nil {
			return err
		}
	}
	s.groups = s.groups&^0xffffffff | uint64(groups)
	return nil
}

// ensureBound autobinds an unbound socket, as sendmsg and connect do.
func (s *Socket) ensureBound() error {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound {
		return nil
	}
	return s.ns.autobindLocked(s, s.tgid)
}

// Listen implements listen(2): netlink sockets have none
// (sock_no_listen).
func (s *Socket) Listen(int) error { return linux.EOPNOTSUPP }

// Shutdown implements shutdown(2): sock_no_shutdown.
func (s *Socket) Shutdown(int) error { return linux.EOPNOTSUPP }

// Connect implements connect(2) as netlink_connect does: it sets the
// default destination (AF_UNSPEC clears it) and autobinds.
func (s *Socket) Connect(sa []byte) error {
	if len(sa) < 2 {
		return linux.EINVAL
	}
	if binary.LittleEndian.Uint16(sa) == linux.AF_UNSPEC {
		s.mu.Lock()
		s.dstPort, s.dstGroup = 0, 0
		s.mu.Unlock()
		return nil
	}
	port, groups, err := parseSockaddr(sa)
	if err != nil {
		return err
	}
	// rtnetlink has no NL_CFG_F_NONROOT_SEND.
	if groups != 0 && !s.allowed(false) {
		return linux.EPERM
	}
	if err := s.ensureBound(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dstPort, s.dstGroup = port, uint32(bits.TrailingZeros32(groups)+1)
	if groups == 0 {
		s.dstGroup = 0
	}
	return nil
}

// ConnectResult implements the inet surface: connect never waits.
func (s *Socket) ConnectResult([]byte) error { return nil }

// Name returns the socket's address (getsockname(2)): its port and first
// 32 groups.
func (s *Socket) Name() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sockaddr(s.portID, uint32(s.groups))
}

// PeerName returns the default destination (getpeername(2)), which is
// the kernel's port 0 when none was set.
func (s *Socket) PeerName() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sockaddr(s.dstPort, groupMask(s.dstGroup)), nil
}

// PortID returns the socket's port ID (0 while unbound).
func (s *Socket) PortID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.portID
}

// inGroupLocked reports membership of group (1-based).
//
// Preconditions: s.mu is held.
func (s *Socket) inGroupLocked(group uint32) bool {
	return group >= 1 && group <= 64 && s.groups&(1<<(group-1)) != 0
}

// enqueueLocked queues a datagram the kernel or another socket sends: a
// full queue drops it and reports ENOBUFS to the receiver
// (netlink_overrun), unless NETLINK_NO_ENOBUFS.
//
// Preconditions: s.mu is held.
func (s *Socket) enqueueLocked(d datagram) {
	if s.closed {
		return
	}
	if s.rcvBytes > s.rcvBuf {
		if s.flags&(1<<linux.NETLINK_NO_ENOBUFS) == 0 {
			s.err = linux.ENOBUFS
			s.queue.Notify(waiter.EventErr | waiter.EventIn)
		}
		return
	}
	s.rcv = append(s.rcv, d)
	s.rcvBytes += len(d.data)
	s.queue.Notify(waiter.EventIn)
}

// Send sends one sendmsg's data with the opener's privileges (the
// generic write paths); see SendAs.
func (s *Socket) Send(src, to []byte, flags int) (int, error) {
	return s.SendAs(src, to, flags, s.netAdmin)
}

// SendAs implements sendmsg(2) as netlink_sendmsg does: to the address
// given, or the connected one; to port 0 the kernel serves the
// messages now, other ports and groups need CAP_NET_ADMIN (rtnetlink
// has no NL_CFG_F_NONROOT_SEND). netAdmin is the caller's
// CAP_NET_ADMIN, which requests that change the network need; Linux
// requires it of the opener and the caller alike.
func (s *Socket) SendAs(src, to []byte, flags int, netAdmin bool) (int, error) {
	return s.SendFrom(src, to, flags, Sender{NetAdmin: netAdmin, PID: s.tgid})
}

// Sender is the process that sends a request.
type Sender struct {
	// NetAdmin is its CAP_NET_ADMIN.
	NetAdmin bool
	// PID and Comm are its process ID and name, which nf_tables'
	// generation notices name.
	PID  int32
	Comm string
}

// SendFrom is SendAs for a sender the kernel side may name.
func (s *Socket) SendFrom(src, to []byte, flags int, from Sender) (int, error) {
	if flags&linux.MSG_OOB != 0 {
		return 0, linux.EOPNOTSUPP
	}
	netAdmin := from.NetAdmin && s.netAdmin
	s.mu.Lock()
	dstPort, dstGroup, sndBuf := s.dstPort, s.dstGroup, s.sndBuf
	s.mu.Unlock()
	if len(to) > 0 {
		port, groups, err := parseSockaddr(to)
		if err != nil {
			return 0, err
		}
		dstPort, dstGroup = port, 0
		if groups != 0 {
			dstGroup = uint32(bits.TrailingZeros32(groups) + 1)
		}
		if (dstPort != 0 || dstGroup != 0) && !s.allowed(false) {
			return 0, linux.EPERM
		}
	}
	if err := s.ensureBound(); err != nil {
		return 0, err
	}
	if len(src) > sndBuf-sendOverhead {
		return 0, linux.EMSGSIZE
	}
	data := append([]byte(nil), src...)
	port := s.PortID()
	if dstGroup != 0 {
		s.ns.broadcast(s.protocol, dstGroup, port, data, s)
	}
	if dstPort != 0 {
		peer, ok := s.ns.lookup(s.protocol, dstPort)
		if !ok {
			return 0, linux.ECONNREFUSED
		}
		peer.mu.Lock()
		peer.enqueueLocked(datagram{data: data, from: port})
		peer.mu.Unlock()
		return len(src), nil
	}
	if s.proto == nil {
		return 0, linux.ECONNREFUSED
	}
	s.serve(data, Caller{PortID: port, NetAdmin: netAdmin, PID: from.PID, Comm: from.Comm})
	return len(src), nil
}

// serve runs the kernel side on the messages of one send, as
// netlink_rcv_skb does: each request is served, and acknowledged when
// it failed or asked for it (NLM_F_ACK); what is not a request, or is a
// control message, is only acknowledged when asked.
func (s *Socket) serve(data []byte, caller Caller) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	caller.Strict = s.flags&(1<<linux.NETLINK_GET_STRICT_CHK) != 0
	s.mu.Unlock()
	caller.Notify = func(group uint32, m nlmsg.Message) {
		s.ns.broadcast(s.protocol, group, 0, m.Bytes(), nil)
	}
	c, port := &caller, caller.PortID
	if b, ok := s.proto.(Batcher); ok {
		if echo, acks, ok := b.Batch(data, c); ok {
			s.mu.Lock()
			for _, m := range echo {
				s.enqueueLocked(datagram{data: m.Bytes()})
			}
			for _, a := range acks {
				s.enqueueLocked(datagram{data: s.ackLocked(a.Request, port, a.Errno)})
			}
			s.mu.Unlock()
			return
		}
	}
	for _, m := range nlmsg.Split(data) {
		var errno linux.Errno
		if m.Flags&nlmsg.FlagRequest != 0 && m.Type >= nlmsg.MinType {
			replies, dump, err := s.proto.Serve(m, c)
			errno = err
			if dump {
				if err != 0 {
					replies = nil
				}
				if s.startDump(m, port, replies, err) {
					// A dump is acknowledged by its NLMSG_DONE,
					// which carries the error of one that failed
					// (netlink_dump_done), as Linux's dump
					// callbacks report theirs.
					continue
				}
				errno = linux.EBUSY
			} else {
				s.mu.Lock()
				for _, r := range replies {
					r.Seq, r.PortID = m.Seq, port
					s.enqueueLocked(datagram{data: r.Bytes()})
				}
				s.mu.Unlock()
			}
		}
		if m.Flags&nlmsg.FlagAck != 0 || errno != 0 {
			s.mu.Lock()
			s.enqueueLocked(datagram{data: s.ackLocked(m, port, errno)})
			s.mu.Unlock()
		}
	}
}

// ackLocked builds netlink_ack's NLMSG_ERROR: the errno (0 for an
// acknowledgement) and the request's header, with its payload too for
// an error unless NETLINK_CAP_ACK.
//
// Preconditions: s.mu is held.
func (s *Socket) ackLocked(m nlmsg.Message, port uint32, errno linux.Errno) []byte {
	var flags uint16
	payload := binary.LittleEndian.AppendUint32(nil, uint32(-int32(errno)))
	hdr := make([]byte, nlmsg.HdrLen)
	m.Header.Encode(hdr)
	payload = append(payload, hdr...)
	if errno != 0 && s.flags&(1<<linux.NETLINK_CAP_ACK) == 0 {
		// nlmsg_append pads the copy, and the length counts it.
		payload = append(payload, m.Payload...)
		payload = append(payload, make([]byte, nlmsg.AlignUp(len(m.Payload))-len(m.Payload))...)
	} else {
		flags |= nlmsg.FlagCapped
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: nlmsg.ErrorType, Flags: flags, Seq: m.Seq, PortID: port}, Payload: payload}.Bytes()
}

// startDump starts a dump of msgs for request m, ending with an
// NLMSG_DONE that carries errno, and queues its first batch; false if
// one is running (EBUSY).
func (s *Socket) startDump(m nlmsg.Message, port uint32, msgs []nlmsg.Message, errno linux.Errno) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dump != nil {
		return false
	}
	d := &dumpState{}
	for _, r := range msgs {
		r.Seq, r.PortID = m.Seq, port
		r.Flags |= nlmsg.FlagMulti
		d.msgs = append(d.msgs, r.Bytes())
	}
	d.done = nlmsg.Message{Header: nlmsg.Header{Type: nlmsg.DoneType, Flags: nlmsg.FlagMulti, Seq: m.Seq, PortID: port}, Payload: binary.LittleEndian.AppendUint32(nil, uint32(-int32(errno)))}.Bytes()
	s.dump = d
	s.dumpBatchLocked()
	return true
}

// dumpBatchLocked queues the next batch of the running dump: as many
// messages as fit in a batch (at least one), or NLMSG_DONE when none is
// left, which ends the dump.
//
// Preconditions: s.mu is held; s.dump is set.
func (s *Socket) dumpBatchLocked() {
	d := s.dump
	if len(d.msgs) == 0 {
		s.dump = nil
		s.enqueueDumpLocked(d.done)
		return
	}
	size := max(goodSize, s.recvmsgLen)
	var batch []byte
	for len(d.msgs) > 0 && (len(batch) == 0 || len(batch)+len(d.msgs[0]) <= size) {
		batch = append(batch, d.msgs[0]...)
		d.msgs = d.msgs[1:]
	}
	s.enqueueDumpLocked(batch)
}

// enqueueDumpLocked queues a dump batch: dumps wait for room rather
// than overrun, so it is never dropped.
//
// Preconditions: s.mu is held.
func (s *Socket) enqueueDumpLocked(b []byte) {
	s.rcv = append(s.rcv, datagram{data: b})
	s.rcvBytes += len(b)
	s.queue.Notify(waiter.EventIn)
}

// Recv implements recvmsg(2) as netlink_recvmsg does: one datagram,
// truncated to dst (MSG_TRUNC reports its whole length); a receive
// that leaves the queue half empty makes the next batch of a dump.
func (s *Socket) Recv(dst []byte, flags int, wantFrom bool) (inet.RecvResult, error) {
	var res inet.RecvResult
	if flags&linux.MSG_OOB != 0 {
		return res, linux.EOPNOTSUPP
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rcv) == 0 {
		if s.err != 0 {
			err := s.err
			s.err = 0
			return res, err
		}
		return res, linux.EAGAIN
	}
	d := s.rcv[0]
	if flags&linux.MSG_PEEK == 0 {
		s.rcv[0] = datagram{}
		s.rcv = s.rcv[1:]
		s.rcvBytes -= len(d.data)
	}
	s.recvmsgLen = min(max(s.recvmsgLen, len(dst)), maxRecvmsgLen)
	res.N = copy(dst, d.data)
	res.MsgLen = len(d.data)
	if wantFrom {
		res.From = sockaddr(d.from, groupMask(d.group))
	}
	if s.dump != nil && s.rcvBytes <= s.rcvBuf/2 {
		s.dumpBatchLocked()
	}
	return res, nil
}

// Readiness implements waiter.Waitable as datagram_poll does.
func (s *Socket) Readiness(mask uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := waiter.EventOut
	if len(s.rcv) > 0 {
		r |= waiter.EventIn
	}
	if s.err != 0 {
		r |= waiter.EventErr
	}
	return r & mask
}

// EventRegister implements waiter.Waitable.
func (s *Socket) EventRegister(ch chan struct{}, mask uint32) { s.queue.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (s *Socket) EventUnregister(ch chan struct{}) { s.queue.EventUnregister(ch) }

// Close implements vfs.FileImpl.Close: the port is free again.
func (s *Socket) Close() error {
	s.ns.remove(s)
	s.mu.Lock()
	s.closed = true
	s.rcv, s.rcvBytes, s.dump = nil, 0, nil
	s.mu.Unlock()
	s.queue.Notify(waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp)
	return nil
}

// IsStream implements vfs.Streamer: sockets have no position.
func (*Socket) IsStream() bool { return true }

// ReadAt implements vfs.FileImpl.ReadAt for the generic paths.
func (s *Socket) ReadAt(dst []byte, _ int64) (int, error) {
	res, err := s.Recv(dst, 0, false)
	return res.N, err
}

// WriteAt implements vfs.FileImpl.WriteAt for the generic paths.
func (s *Socket) WriteAt(src []byte, _ int64) (int, error) { return s.Send(src, nil, 0) }

// Timeout returns SO_RCVTIMEO (rcv) or SO_SNDTIMEO.
func (s *Socket) Timeout(rcv bool) time.Duration {
	if rcv {
		return time.Duration(s.rcvTimeo.Load())
	}
	return time.Duration(s.sndTimeo.Load())
}

// SetTimeout sets SO_RCVTIMEO (rcv) or SO_SNDTIMEO.
func (s *Socket) SetTimeout(rcv bool, d time.Duration) {
	if rcv {
		s.rcvTimeo.Store(int64(d))
	} else {
		s.sndTimeo.Store(int64(d))
	}
}
