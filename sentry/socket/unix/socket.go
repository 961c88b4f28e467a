package unix

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	linux "golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/buffer"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Socket states, Linux's sk_state values for unix sockets.
const (
	// stateUnconnected is TCP_CLOSE: a new socket, or a datagram socket
	// without a default peer.
	stateUnconnected = iota
	stateListening
	stateConnected
)

// Shutdown bits: RCV_SHUTDOWN and SEND_SHUTDOWN.
const (
	rcvShutdown  = 1
	sendShutdown = 2
)

// Cred is a process's credentials as a socket records them: SO_PEERCRED
// and SCM_CREDENTIALS. PID is in the root PID namespace (0: none); the
// syscall layer translates it for the reader.
type Cred struct {
	PID      int32
	UID, GID uint32
}

// noCred is what SO_PEERCRED reports without a peer.
var noCred = Cred{UID: ^uint32(0), GID: ^uint32(0)}

// Addr is a socket's name: a path, or an abstract name (without the
// leading NUL).
type Addr struct {
	Abstract bool
	Name     string
}

// Sockaddr encodes a as a struct sockaddr_un of the length Linux reports:
// the family and path with its NUL, or the family, a NUL and the abstract
// name; an unnamed socket (nil) is the family alone.
func (a *Addr) Sockaddr() []byte {
	b := binary.LittleEndian.AppendUint16(nil, linux.AF_UNIX)
	switch {
	case a == nil:
	case a.Abstract:
		b = append(append(b, 0), a.Name...)
	default:
		b = append(append(b, a.Name...), 0)
	}
	return b
}

// Control is the ancillary data of a message.
type Control struct {
	// Rights are the files of SCM_RIGHTS; a message owns one reference
	// to each.
	Rights []*vfs.File
	// Cred is the sender's credentials (always recorded; delivered as
	// SCM_CREDENTIALS to a receiver with SO_PASSCRED).
	Cred *Cred
}

// message is one write's data (a datagram, or a chunk of a stream).
type message struct {
	// data is view's bytes (queue.go).
	data []byte
	view *buffer.View
	// off is how much of a stream chunk has been read.
	off int
	// sender's wmem counts the unread bytes of the message.
	sender *Socket
	// from is the sender's name when it sent (nil: unnamed).
	from *Addr
	ctl  Control
}

// Socket is one unix socket; it is also the file implementation of its
// descriptors.
type Socket struct {
	stack *Stack
	// ns is the network namespace the socket was made in, whose
	// abstract names it binds and finds (Linux's sock_net); immutable.
	ns  any
	typ int
	// SocketAttrs are the socket's inode attributes (Stat, SetStat).
	synth.SocketAttrs
	queue waiter.Queue

	// maxDgramQlen is the net.unix.max_dgram_qlen of the socket's
	// namespace when it was made: more datagrams than this waiting in
	// its receive queue fill it. Immutable.
	maxDgramQlen uint32

	// rcvTimeo and sndTimeo are SO_RCVTIMEO and SO_SNDTIMEO (0: none).
	rcvTimeo, sndTimeo atomic.Int64

	// The fields below are protected by stack.mu.

	state    int
	closed   bool
	addr     *Addr
	boundKey *InodeKey
	peer     *Socket
	// peerCred is SO_PEERCRED: the peer's credentials when the
	// connection was made (for a listener, its own at listen time).
	peerCred Cred
	// listenCred is the listener's credentials at listen(), which its
	// connectors get as their SO_PEERCRED.
	listenCred Cred
	rcv        queue
	// acceptQ holds the server ends of connections not yet accepted;
	// backlog bounds it.
	acceptQ  []*Socket
	backlog  int
	shutdown int
	// err is the pending error SO_ERROR reports (and reads return once).
	err linux.Errno
	// wmem counts the bytes this socket sent that are not read yet;
	// sndbuf bounds it.
	wmem     int
	sndbuf   int
	rcvbuf   int
	passcred bool
	// opts holds the options that are only stored (SO_REUSEADDR,
	// SO_LINGER, ...), encoded as getsockopt returns them.
	opts map[int32][]byte
	// fullWaiters are datagram senders that found this socket's receive
	// queue full: they are woken when it drains (Linux's peer_wake).
	fullWaiters map[*Socket]struct{}
}

// New returns an unconnected socket of type typ (SOCK_STREAM,
// SOCK_DGRAM or SOCK_SEQPACKET) owned by uid and gid.
func (st *Stack) New(ns any, typ int, uid, gid uint32) *Socket {
	s := &Socket{stack: st, ns: ns, typ: typ, sndbuf: defaultBuf, rcvbuf: defaultBuf, peerCred: noCred, maxDgramQlen: st.sysctlsOf(ns).MaxDgramQlen}
	s.InitSocketAttrs(uid, gid)
	return s
}

// NewPair returns two connected sockets (socketpair(2)); each has the
// creator's credentials as its peer's.
func (st *Stack) NewPair(ns any, typ int, cred Cred, uid, gid uint32) (*Socket, *Socket) {
	a, b := st.New(ns, typ, uid, gid), st.New(ns, typ, uid, gid)
	a.peer, b.peer = b, a
	a.state, b.state = stateConnected, stateConnected
	a.peerCred, b.peerCred = cred, cred
	return a, b
}

// Type returns the socket's type.
func (s *Socket) Type() int { return s.typ }

// Namespace returns the network namespace the socket was made in.
func (s *Socket) Namespace() any { return s.ns }

// notifyLocked wakes waiters on s for all events.
func (s *Socket) notifyLocked() {
	s.queue.Notify(waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp | waiter.EventRdHUp)
}

// Listen implements listen(2).
func (s *Socket) Listen(backlog int, cred Cred) error {
	st := s.stack
	// Compared unsigned, as __sys_listen does: a negative backlog is
	// the cap.
	if somaxconn := st.sysctlsOf(s.ns).SomaxConn; backlog < 0 || backlog > somaxconn {
		backlog = somaxconn
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.typ == linux.SOCK_DGRAM {
		return linux.EOPNOTSUPP
	}
	if s.addr == nil || s.state == stateConnected {
		return linux.EINVAL
	}
	if s.state != stateListening {
		s.listenCred = cred
		s.peerCred = cred
	}
	s.state = stateListening
	s.backlog = backlog
	// Connectors waiting for room may fit now.
	s.notifyLocked()
	return nil
}

// Connect connects a stream or seqpacket socket to a listener. EAGAIN
// means the listener's backlog is full: the caller waits on the
// listener (WaitTarget) and retries, or fails a non-blocking connect.
func (s *Socket) Connect(target *Socket, cred Cred) error {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case s.state == stateListening:
		return linux.EINVAL
	case s.state == stateConnected:
		return linux.EISCONN
	case target.typ != s.typ:
		return linux.EPROTOTYPE
	case target.closed || target.state != stateListening:
		return linux.ECONNREFUSED
	case len(target.acceptQ) > target.backlog:
		return linux.EAGAIN
	}
	if s.passcred {
		if err := s.autobindLocked(); err != nil {
			return err
		}
	}
	// As Linux does, the connection exists at once: the server end is
	// made now and waits in the accept queue; data may flow before
	// accept.
	uid, gid := target.Owner()
	ns := st.New(target.ns, s.typ, uid, gid)
	ns.addr = target.addr
	ns.state = stateConnected
	ns.peer = s
	ns.peerCred = cred
	ns.passcred = target.passcred
	s.peer = ns
	s.state = stateConnected
	s.peerCred = target.listenCred
	target.acceptQ = append(target.acceptQ, ns)
	target.notifyLocked()
	s.notifyLocked()
	return nil
}

// ConnectDgram sets a datagram socket's default peer (nil: dissolve the
// association, connect(2) with AF_UNSPEC).
func (s *Socket) ConnectDgram(target *Socket) error {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	if target == nil {
		s.peer = nil
		s.state = stateUnconnected
		s.notifyLocked()
		return nil
	}
	switch {
	case target.typ != s.typ:
		return linux.EPROTOTYPE
	case target.closed:
		return linux.ECONNREFUSED
	case target.peer != nil && target.peer != s:
		return linux.EPERM
	}
	if s.passcred {
		if err := s.autobindLocked(); err != nil {
			return err
		}
	}
	s.peer = target
	s.state = stateConnected
	s.notifyLocked()
	return nil
}

// Accept takes the next connection of a listener; EAGAIN when none waits.
func (s *Socket) Accept() (*Socket, error) {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.typ == linux.SOCK_DGRAM {
		return nil, linux.EOPNOTSUPP
	}
	if s.state != stateListening {
		return nil, linux.EINVAL
	}
	if len(s.acceptQ) == 0 {
		return nil, linux.EAGAIN
	}
	ns := s.acceptQ[0]
	s.acceptQ = s.acceptQ[1:]
	// Blocked connectors wait for room on the listener's queue.
	s.notifyLocked()
	return ns, nil
}

// Shutdown implements shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR; a
// connected stream or seqpacket peer sees the mirror image.
func (s *Socket) Shutdown(how int) error {
	if how < linux.SHUT_RD || how > linux.SHUT_RDWR {
		return linux.EINVAL
	}
	mode := how + 1
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	s.shutdown |= mode
	s.notifyLocked()
	if p := s.peer; p != nil && s.typ != linux.SOCK_DGRAM {
		peerMode := 0
		if mode&rcvShutdown != 0 {
			peerMode |= sendShutdown
		}
		if mode&sendShutdown != 0 {
			peerMode |= rcvShutdown
		}
		p.shutdown |= peerMode
		p.notifyLocked()
	}
	return nil
}

// Send queues src (all of it for datagrams, as much as fits for
// streams) with ctl. to is the destination of sendto(2) (nil: the
// peer). n > 0 means ctl went with the data; on an error the caller
// still owns ctl's references. EAGAIN means no room: the caller waits
// (WaitSend) and retries, or fails a non-blocking send.
func (s *Socket) Send(src []byte, ctl Control, to *Socket, hasAddr bool) (int, error) {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	var target *Socket
	switch s.typ {
	case linux.SOCK_STREAM:
		if hasAddr {
			if s.state == stateConnected {
				return 0, linux.EISCONN
			}
			return 0, linux.EOPNOTSUPP
		}
		if s.peer == nil {
			return 0, linux.ENOTCONN
		}
		if s.shutdown&sendShutdown != 0 {
			return 0, linux.EPIPE
		}
		target = s.peer
		if target.closed || target.shutdown&rcvShutdown != 0 {
			return 0, linux.EPIPE
		}
		if len(src) == 0 {
			// Nothing is queued: an empty chunk would read as EOF.
			return 0, nil
		}
		if s.wmem >= s.sndbuf {
			return 0, linux.EAGAIN
		}
		n := min(len(src), s.sndbuf-s.wmem)
		s.deliverLocked(target, src[:n], ctl)
		return n, nil
	case linux.SOCK_SEQPACKET:
		if s.state != stateConnected {
			return 0, linux.ENOTCONN
		}
		target = s.peer
	default:
		target = to
		if !hasAddr {
			target = s.peer
		}
		if target == nil {
			return 0, linux.ENOTCONN
		}
	}
	if s.shutdown&sendShutdown != 0 {
		return 0, linux.EPIPE
	}
	if len(src) > s.sndbuf-32 {
		return 0, linux.EMSGSIZE
	}
	if s.passcred {
		if err := s.autobindLocked(); err != nil {
			return 0, err
		}
	}
	if target.closed {
		if s.typ == linux.SOCK_SEQPACKET {
			return 0, linux.EPIPE
		}
		// A datagram socket whose peer went away loses the
		// association, reporting it once (Linux's 1003.1g choice).
		if s.peer == target {
			s.peer = nil
			s.state = stateUnconnected
		}
		return 0, linux.ECONNREFUSED
	}
	if target.typ != s.typ {
		return 0, linux.EPROTOTYPE
	}
	if s.typ == linux.SOCK_DGRAM && target.peer != nil && target.peer != s {
		return 0, linux.EPERM
	}
	if target.shutdown&rcvShutdown != 0 {
		return 0, linux.EPIPE
	}
	if s.typ == linux.SOCK_DGRAM && target.peer != s && uint32(target.rcv.len()) > target.maxDgramQlen {
		target.addFullWaiterLocked(s)
		return 0, linux.EAGAIN
	}
	if s.wmem >= s.sndbuf {
		return 0, linux.EAGAIN
	}
	s.deliverLocked(target, src, ctl)
	return len(src), nil
}

func (r *Socket) addFullWaiterLocked(s *Socket) {
	if r.fullWaiters == nil {
		r.fullWaiters = make(map[*Socket]struct{})
	}
	r.fullWaiters[s] = struct{}{}
}

// deliverLocked appends a copy of data to target's receive queue: one
// message, or for a stream pieces of at most buffer.MaxChunkSize bytes,
// the first carrying ctl's rights (as Linux's first skb of a write does).
func (s *Socket) deliverLocked(target *Socket, data []byte, ctl Control) {
	for {
		piece := data
		if s.typ == linux.SOCK_STREAM {
			piece = data[:min(len(data), buffer.MaxChunkSize)]
		}
		m := newMessage(piece)
		m.sender, m.from, m.ctl = s, s.addr, ctl
		target.rcv.push(m)
		s.wmem += len(piece)
		if data = data[len(piece):]; len(data) == 0 {
			break
		}
		ctl.Rights = nil
	}
	target.notifyLocked()
}

// consumedLocked accounts for n bytes of m read by their receiver r.
func (r *Socket) consumedLocked(m *message, n int) {
	m.sender.wmem -= n
	m.sender.notifyLocked()
	for w := range r.fullWaiters {
		w.notifyLocked()
	}
	clear(r.fullWaiters)
}

// RecvResult is what one receive returned.
type RecvResult struct {
	// N is the number of bytes copied.
	N int
	// MsgLen is the whole datagram's length (MSG_TRUNC); N for streams.
	MsgLen int
	// From is the sender's name (nil: unnamed).
	From *Addr
	// Ctl holds the message's rights (references the caller owns) and
	// credentials.
	Ctl Control
}

// Recv reads into dst: stream data up to len(dst) (stopping after a
// chunk that carried rights, or where the senders' credentials change
// on a socket with SO_PASSCRED), or one datagram, whose excess is
// discarded unless peek. EAGAIN means nothing to read yet.
func (s *Socket) Recv(dst []byte, peek bool) (RecvResult, error) {
	return s.recv(dst, peek, nil, false)
}

// RecvMore continues a stream read whose earlier part came from a
// sender with credentials cred: on a socket with SO_PASSCRED it reads
// nothing (N 0, no error) once the next bytes come from a sender with
// other credentials, as Linux's unix_stream_read_generic ends a read
// there, MSG_WAITALL or not.
func (s *Socket) RecvMore(dst []byte, peek bool, cred *Cred) (RecvResult, error) {
	return s.recv(dst, peek, cred, true)
}

// recv is Recv, and RecvMore when more is set.
func (s *Socket) recv(dst []byte, peek bool, cred *Cred, more bool) (RecvResult, error) {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	var res RecvResult
	switch {
	case s.typ == linux.SOCK_STREAM && s.state != stateConnected:
		return res, linux.EINVAL
	case s.typ == linux.SOCK_SEQPACKET && s.state != stateConnected:
		return res, linux.ENOTCONN
	}
	if s.rcv.len() == 0 {
		if s.err != 0 {
			err := s.err
			s.err = 0
			return res, err
		}
		if s.shutdown&rcvShutdown != 0 {
			return res, nil
		}
		return res, linux.EAGAIN
	}
	if s.typ != linux.SOCK_STREAM {
		m := s.rcv.at(0)
		res.N = copy(dst, m.data)
		res.MsgLen = len(m.data)
		res.From = m.from
		res.Ctl = m.ctl
		if peek {
			res.Ctl.Rights = dupRights(m.ctl.Rights)
			return res, nil
		}
		s.rcv.pop()
		s.consumedLocked(m, len(m.data))
		m.free()
		return res, nil
	}
	for i := 0; i < s.rcv.len() && res.N < len(dst); i++ {
		m := s.rcv.at(i)
		if i == 0 && more {
			res.Ctl.Cred = cred
		}
		if (i > 0 || more) && s.passcred && !sameCred(m.ctl.Cred, res.Ctl.Cred) {
			break
		}
		if i == 0 {
			res.From = m.from
			res.Ctl.Cred = m.ctl.Cred
		}
		c := copy(dst[res.N:], m.data[m.off:])
		res.N += c
		rights := m.ctl.Rights
		if peek {
			res.Ctl.Rights = append(res.Ctl.Rights, dupRights(rights)...)
		} else {
			res.Ctl.Rights = append(res.Ctl.Rights, rights...)
			m.ctl.Rights = nil
			m.off += c
			s.consumedLocked(m, c)
		}
		if len(rights) > 0 {
			break
		}
	}
	res.MsgLen = res.N
	if !peek {
		for s.rcv.len() > 0 && s.rcv.at(0).off == len(s.rcv.at(0).data) {
			s.rcv.pop().free()
		}
	}
	return res, nil
}

func sameCred(a, b *Cred) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// dupRights takes a new reference to each file (MSG_PEEK leaves the
// message's own).
func dupRights(fs []*vfs.File) []*vfs.File {
	if len(fs) == 0 {
		return nil
	}
	out := make([]*vfs.File, len(fs))
	for i, f := range fs {
		f.IncRef()
		out[i] = f
	}
	return out
}

// ReleaseRights drops the references a message's rights held.
func ReleaseRights(fs []*vfs.File) {
	for _, f := range fs {
		f.DecRef()
	}
}

// Readiness implements waiter.Waitable with unix_poll's and
// unix_dgram_poll's rules.
func (s *Socket) Readiness(mask uint32) uint32 {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	var r uint32
	if s.err != 0 {
		r |= waiter.EventErr
	}
	if s.shutdown == rcvShutdown|sendShutdown {
		r |= waiter.EventHUp
	}
	if s.shutdown&rcvShutdown != 0 {
		r |= waiter.EventRdHUp | waiter.EventIn
	}
	if s.rcv.len() > 0 || len(s.acceptQ) > 0 {
		r |= waiter.EventIn
	}
	if s.typ != linux.SOCK_DGRAM && s.state == stateUnconnected {
		r |= waiter.EventHUp
	}
	writable := s.state != stateListening && s.wmem*4 <= s.sndbuf
	if writable && s.typ == linux.SOCK_DGRAM {
		if p := s.peer; p != nil && p.peer != s && uint32(p.rcv.len()) > p.maxDgramQlen {
			p.addFullWaiterLocked(s)
			writable = false
		}
	}
	if writable {
		r |= waiter.EventOut
	}
	return r & mask
}

// EventRegister implements waiter.Waitable.
func (s *Socket) EventRegister(ch chan struct{}, mask uint32) { s.queue.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (s *Socket) EventUnregister(ch chan struct{}) { s.queue.EventUnregister(ch) }

// Close implements vfs.FileImpl.Close: the socket's names go, its peer
// sees the connection end (ECONNRESET when data was left unread), its
// unaccepted connections are reset and the files in its queue released.
func (s *Socket) Close() error {
	var drop []*vfs.File
	st := s.stack
	st.mu.Lock()
	drop = s.releaseLocked(false, drop)
	st.mu.Unlock()
	// Outside the lock: a dropped file may be a socket of this stack.
	ReleaseRights(drop)
	return nil
}

// releaseLocked tears s down; embryo is set for an unaccepted server end
// whose listener closed. It returns drop with the files s's queue held.
func (s *Socket) releaseLocked(embryo bool, drop []*vfs.File) []*vfs.File {
	st := s.stack
	if s.closed {
		return drop
	}
	s.closed = true
	if s.addr != nil {
		if s.boundKey != nil {
			if st.bound[*s.boundKey] == s {
				delete(st.bound, *s.boundKey)
			}
		} else if key := (abstractKey{s.ns, s.typ, s.addr.Name}); s.addr.Abstract && st.abstract[key] == s {
			delete(st.abstract, key)
		}
	}
	for _, ns := range s.acceptQ {
		drop = ns.releaseLocked(true, drop)
	}
	s.acceptQ = nil
	if p := s.peer; p != nil && s.typ != linux.SOCK_DGRAM {
		p.shutdown = rcvShutdown | sendShutdown
		if s.rcv.len() > 0 || embryo {
			p.err = linux.ECONNRESET
		}
		p.notifyLocked()
	}
	s.peer = nil
	for s.rcv.len() > 0 {
		m := s.rcv.pop()
		drop = append(drop, m.ctl.Rights...)
		s.consumedLocked(m, len(m.data)-m.off)
		m.free()
	}
	s.shutdown = rcvShutdown | sendShutdown
	s.notifyLocked()
	return drop
}

// Name returns the socket's name (nil: unnamed).
func (s *Socket) Name() *Addr {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	return s.addr
}

// PeerName returns the peer's name; ENOTCONN without a peer.
func (s *Socket) PeerName() (*Addr, error) {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	if s.peer == nil || s.state != stateConnected {
		return nil, linux.ENOTCONN
	}
	return s.peer.addr, nil
}

// PeerCred returns SO_PEERCRED's credentials.
func (s *Socket) PeerCred() Cred {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	return s.peerCred
}

// TakeError returns and clears the pending error (SO_ERROR).
func (s *Socket) TakeError() linux.Errno {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	err := s.err
	s.err = 0
	return err
}

// Listening reports SO_ACCEPTCONN.
func (s *Socket) Listening() bool {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	return s.state == stateListening
}

// SetPassCred sets SO_PASSCRED.
func (s *Socket) SetPassCred(on bool) {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	s.passcred = on
}

// PassCred reports SO_PASSCRED.
func (s *Socket) PassCred() bool {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	return s.passcred
}

// SetBuf sets SO_SNDBUF (snd) or SO_RCVBUF as Linux does: the value,
// capped at the maximum unless force, doubled for bookkeeping overhead,
// at least the minimum.
func (s *Socket) SetBuf(snd bool, v int, force bool) {
	if !force {
		v = min(v, maxBuf)
	}
	v = min(v, 1<<30) * 2
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	if snd {
		s.sndbuf = max(v, minSndBuf)
		// Writers waiting for room may fit now.
		s.notifyLocked()
	} else {
		s.rcvbuf = max(v, minRcvBuf)
	}
}

// Buf returns SO_SNDBUF (snd) or SO_RCVBUF.
func (s *Socket) Buf(snd bool) int {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	if snd {
		return s.sndbuf
	}
	return s.rcvbuf
}

// Timeout returns SO_RCVTIMEO (rcv) or SO_SNDTIMEO; 0 is none, a
// negative value means not to wait at all.
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

// IsStream implements vfs.Streamer: sockets have no position.
func (*Socket) IsStream() bool { return true }

// ReadAt implements vfs.FileImpl.ReadAt for the generic paths (splice,
// sendfile): a receive whose rights, if any, are dropped as read(2) on a
// socket drops them.
func (s *Socket) ReadAt(dst []byte, _ int64) (int, error) {
	res, err := s.Recv(dst, false)
	ReleaseRights(res.Ctl.Rights)
	return res.N, err
}

// WriteAt implements vfs.FileImpl.WriteAt for the generic paths.
func (s *Socket) WriteAt(src []byte, _ int64) (int, error) {
	return s.Send(src, Control{}, nil, false)
}

// Ioctl implements vfs.Ioctler: SIOCINQ (FIONREAD) and SIOCOUTQ.
func (s *Socket) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	var n int
	s.stack.mu.Lock()
	switch request {
	case linux.SIOCINQ:
		if s.state == stateListening {
			s.stack.mu.Unlock()
			return 0, linux.EINVAL
		}
		if s.typ == linux.SOCK_STREAM {
			for i := range s.rcv.len() {
				n += len(s.rcv.at(i).data) - s.rcv.at(i).off
			}
		} else if s.rcv.len() > 0 {
			n = len(s.rcv.at(0).data)
		}
	case linux.SIOCOUTQ:
		n = s.wmem
	default:
		s.stack.mu.Unlock()
		return 0, linux.ENOTTY
	}
	s.stack.mu.Unlock()
	if _, err := io.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(n))); err != nil {
		return 0, linux.EFAULT
	}
	return 0, nil
}

// SetOpt stores an option that has no effect on unix sockets.
func (s *Socket) SetOpt(name int32, v []byte) {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	if s.opts == nil {
		s.opts = make(map[int32][]byte)
	}
	s.opts[name] = append([]byte(nil), v...)
}

// Opt returns a stored option, size zero bytes if it was never set.
func (s *Socket) Opt(name int32, size int) []byte {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	if v, ok := s.opts[name]; ok {
		return append([]byte(nil), v...)
	}
	return make([]byte, size)
}

// DiagInfo is what NETLINK_SOCK_DIAG shows of a socket (Linux's
// unix_diag.c, sk_diag_fill).
type DiagInfo struct {
	Type int
	// State is Linux's sk_state for the socket: TCP_LISTEN,
	// TCP_ESTABLISHED (connected) or TCP_CLOSE.
	State uint8
	// Name is the socket's name (nil: unnamed).
	Name *Addr
	// Peer is the connected peer (nil: none).
	Peer *Socket
	// Connectors are, for a listener, the connecting sockets of the
	// connections waiting to be accepted.
	Connectors []*Socket
	// RQueue and WQueue are, for a listener, the connections waiting
	// and its backlog; else the bytes waiting to be read (of the first
	// datagram for a datagram socket) and those sent and not yet read.
	RQueue, WQueue uint32
	// Shutdown is the shutdown(2) mask: bit 0 receive, bit 1 send.
	Shutdown uint8
}

// Diag returns a snapshot of the socket for NETLINK_SOCK_DIAG.
func (s *Socket) Diag() DiagInfo {
	const tcpEstablished, tcpClose, tcpListen = 1, 7, 10
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	d := DiagInfo{Type: s.typ, State: tcpClose, Name: s.addr, Shutdown: uint8(s.shutdown)}
	switch s.state {
	case stateListening:
		d.State = tcpListen
		d.RQueue, d.WQueue = uint32(len(s.acceptQ)), uint32(s.backlog)
		for _, ns := range s.acceptQ {
			d.Connectors = append(d.Connectors, ns.peer)
		}
		return d
	case stateConnected:
		d.State = tcpEstablished
		d.Peer = s.peer
	}
	if s.typ == linux.SOCK_DGRAM {
		if s.rcv.len() > 0 {
			d.RQueue = uint32(len(s.rcv.at(0).data))
		}
	} else {
		for i := range s.rcv.len() {
			d.RQueue += uint32(len(s.rcv.at(i).data) - s.rcv.at(i).off)
		}
	}
	d.WQueue = uint32(s.wmem)
	return d
}
