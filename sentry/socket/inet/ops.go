package inet

import (
	"bytes"
	"encoding/binary"
	"io"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// Bind implements bind(2) with inet_bind's and inet6_bind's checks.
func (s *Socket) Bind(sa []byte) error {
	min := sizeofSockaddrIn
	if s.family == linux.AF_INET6 {
		min = sockaddrIn6MinSize
	}
	if len(sa) < min {
		return linux.EINVAL
	}
	p, err := parseSockaddr(sa)
	if err != nil {
		return err
	}
	if p.family != s.family {
		// Linux lets an AF_INET socket bind AF_UNSPEC with
		// INADDR_ANY, for old programs.
		if !(s.family == linux.AF_INET && p.family == linux.AF_UNSPEC &&
			binary.LittleEndian.Uint32(sa[4:8]) == 0) {
			return linux.EAFNOSUPPORT
		}
		p.addr = tcpip.FullAddress{Port: binary.BigEndian.Uint16(sa[2:])}
	}
	// inet_port_requires_bind_service: the ports below the namespace's
	// net.ipv4.ip_unprivileged_port_start need CAP_NET_BIND_SERVICE.
	if port := int(p.addr.Port); port != 0 && port < s.stack.UnprivilegedPortStart() && !callerMayBindService() {
		return linux.EACCES
	}
	if took, err := s.deferBind(p.addr); took {
		return err
	}
	var terr tcpip.Error
	if tp, ok := s.portTransport(); !ok {
		terr = s.ep.Bind(p.addr)
	} else if p.addr.Port == 0 {
		s.stack.RestoreReservedPorts()
		terr = s.ep.Bind(p.addr)
	} else {
		// A port of net.ipv4.ip_local_reserved_ports is bound by
		// number like any other.
		terr = s.stack.BindPort(tp, p.addr.Port, func() tcpip.Error { return s.ep.Bind(p.addr) })
	}
	switch terr.(type) {
	case nil:
		return nil
	case *tcpip.ErrNoPortAvailable:
		// netstack says so both for a taken port and an exhausted
		// ephemeral range; bind(2) reports both as EADDRINUSE.
		return linux.EADDRINUSE
	default:
		return errno(terr)
	}
}

// portTransport returns the socket's transport protocol when its
// ephemeral ports skip net.ipv4.ip_local_reserved_ports: TCP and UDP.
func (s *Socket) portTransport() (tcpip.TransportProtocolNumber, bool) {
	switch {
	case s.typ == linux.SOCK_STREAM:
		return tcp.ProtocolNumber, true
	case s.typ == linux.SOCK_DGRAM && s.protocol == linux.IPPROTO_UDP:
		return udp.ProtocolNumber, true
	}
	return 0, false
}

// preparePick readies a TCP or UDP socket for an operation that may pick
// its ephemeral port (connect, listen, a send to an address): a bind
// IP_BIND_ADDRESS_NO_PORT deferred is made, and the reserved ports a
// closed socket let go are held again.
func (s *Socket) preparePick() error {
	if _, ok := s.portTransport(); !ok {
		return nil
	}
	if err := s.bindDeferred(); err != nil {
		return err
	}
	s.stack.RestoreReservedPorts()
	return nil
}

// Listen implements listen(2); the backlog is capped at the namespace's
// net.core.somaxconn, as __sys_listen does (a negative one too).
func (s *Socket) Listen(backlog int) error {
	if !s.isStream() {
		return linux.EOPNOTSUPP
	}
	if somaxconn := s.stack.SomaxConn(); backlog < 0 || backlog > somaxconn {
		backlog = somaxconn
	}
	// Linux's accept queue is full only past the backlog
	// (sk_acceptq_is_full compares with >): it holds backlog+1
	// connections, netstack's holds what it is given. An unbound
	// socket gets an ephemeral port.
	if err := s.preparePick(); err != nil {
		return err
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if err := errno(s.ep.Listen(backlog + 1)); err != nil {
		return err
	}
	s.listenStopped.Store(false)
	s.backlog.Store(int32(backlog))
	return nil
}

// Accept takes the next established connection: EAGAIN when none waits.
// It returns the new socket and the peer's address.
func (s *Socket) Accept(uid, gid uint32) (*Socket, []byte, error) {
	if !s.isStream() {
		return nil, nil, linux.EOPNOTSUPP
	}
	var peer tcpip.FullAddress
	ep, wq, terr := s.ep.Accept(&peer)
	if terr != nil {
		return nil, nil, errno(terr)
	}
	// A connection inherits the listener's keepalive settings, as
	// sk_clone copies them.
	var idle tcpip.KeepaliveIdleOption
	var intvl tcpip.KeepaliveIntervalOption
	if s.ep.GetSockOpt(&idle) == nil && s.ep.GetSockOpt(&intvl) == nil {
		ep.SetSockOpt(&idle)
		ep.SetSockOpt(&intvl)
	}
	if n, terr := s.ep.GetSockOptInt(tcpip.KeepaliveCountOption); terr == nil {
		ep.SetSockOptInt(tcpip.KeepaliveCountOption, n)
	}
	ns := wrap(s.stack, s.family, s.typ, s.protocol, ep, wq, uid, gid)
	return ns, sockaddr(s.family, peer), nil
}

// connectAddr decodes connect(2)'s address; unspec reports AF_UNSPEC
// (dissolve the association).
func (s *Socket) connectAddr(sa []byte) (addr tcpip.FullAddress, unspec bool, err error) {
	if len(sa) >= 2 && binary.LittleEndian.Uint16(sa) == linux.AF_UNSPEC {
		return addr, true, nil
	}
	min := sizeofSockaddrIn
	if s.family == linux.AF_INET6 {
		min = sockaddrIn6MinSize
	}
	if len(sa) < min {
		return addr, false, linux.EINVAL
	}
	p, err := parseSockaddr(sa)
	if err != nil {
		return addr, false, err
	}
	switch {
	case p.family == s.family:
	case s.family == linux.AF_INET6 && p.family == linux.AF_INET:
		if s.ep.SocketOptions().GetV6Only() {
			return addr, false, linux.ENETUNREACH
		}
	default:
		return addr, false, linux.EAFNOSUPPORT
	}
	return s.toNetstack(p), false, nil
}

// Connect starts connect(2): nil when connected at once (datagram
// sockets), EINPROGRESS while a TCP handshake runs (the caller waits for
// EventOut and calls ConnectResult), or the error.
func (s *Socket) Connect(sa []byte) error {
	addr, unspec, err := s.connectAddr(sa)
	if err != nil {
		return err
	}
	if unspec {
		if s.isStream() {
			return s.disconnectStream()
		}
		terr := s.ep.Disconnect()
		if _, ok := terr.(*tcpip.ErrNotSupported); ok {
			return linux.EAFNOSUPPORT
		}
		return errno(terr)
	}
	if s.listenStopped.Load() {
		return linux.EOPNOTSUPP // disconnect.go
	}
	if err := s.preparePick(); err != nil {
		return err
	}
	switch terr := s.ep.Connect(addr); terr.(type) {
	case *tcpip.ErrConnectStarted:
		if s.isStream() {
			s.armSynDeadline()
		}
		return errno(terr)
	case *tcpip.ErrNoPortAvailable:
		if s.isStream() {
			// TCP, unlike UDP, reports ephemeral port exhaustion as
			// EADDRNOTAVAIL.
			return linux.EADDRNOTAVAIL
		}
		return linux.EAGAIN
	default:
		return errno(terr)
	}
}

// ConnectResult returns the outcome of a connect that returned
// EINPROGRESS, once the socket is writable or in error: netstack answers
// a repeated Connect with the result.
func (s *Socket) ConnectResult(sa []byte) error {
	addr, _, err := s.connectAddr(sa)
	if err != nil {
		return err
	}
	if e := s.takeSynError(); e != 0 {
		return e
	}
	return errno(s.ep.Connect(addr))
}

// Shutdown implements shutdown(2).
func (s *Socket) Shutdown(how int) error {
	var f tcpip.ShutdownFlags
	switch how {
	case linux.SHUT_RD:
		f = tcpip.ShutdownRead
	case linux.SHUT_WR:
		f = tcpip.ShutdownWrite
	case linux.SHUT_RDWR:
		f = tcpip.ShutdownRead | tcpip.ShutdownWrite
	default:
		return linux.EINVAL
	}
	if s.isStream() && tcp.EndpointState(s.ep.State()) == tcp.StateListen {
		return s.shutdownListener(how)
	}
	return errno(s.ep.Shutdown(f))
}

// Send sends src (as much as fits for TCP, one datagram otherwise) to
// the address to (nil: the peer). EAGAIN means no room yet.
func (s *Socket) Send(src []byte, to []byte, flags int) (int, error) {
	return s.SendFrom(bytes.NewReader(src), to, flags)
}

// SendFrom is Send reading the data from src, which netstack copies
// straight into its own buffers: a caller whose data is in another
// address space (a task's memory) passes a reader of it and saves a
// copy through a buffer of its own. A read error (a fault) before
// anything is queued fails the send (EFAULT).
func (s *Socket) SendFrom(src tcpip.Payloader, to []byte, flags int) (int, error) {
	return s.SendFromControl(src, to, flags, nil)
}

// SendControl is Send with sendmsg's control messages (cmsg_send.go).
func (s *Socket) SendControl(src, to []byte, flags int, control []byte) (int, error) {
	return s.SendFromControl(bytes.NewReader(src), to, flags, control)
}

// SendFromControl is SendFrom with sendmsg's control messages (cmsg_send.go),
// which a stream socket ignores, as Linux's TCP ignores those of IP. A
// UDP socket may hold the data for a later send (udp_cork.go).
func (s *Socket) SendFromControl(src tcpip.Payloader, to []byte, flags int, control []byte) (int, error) {
	if s.isUDP() {
		if n, held, err := s.corkSend(src, to, flags, control); held {
			return n, err
		}
	}
	return s.send(src, to, flags, control)
}

// datagramTo parses the address to of a datagram send.
func (s *Socket) datagramTo(to []byte) (*tcpip.FullAddress, error) {
	p, err := parseSockaddr(to)
	if err != nil {
		return nil, err
	}
	switch {
	case p.family == s.family:
	case p.family == linux.AF_INET && s.family == linux.AF_INET6:
		if s.ep.SocketOptions().GetV6Only() {
			return nil, linux.ENETUNREACH
		}
	case p.family == linux.AF_UNSPEC && s.family == linux.AF_INET:
		// udp_sendmsg takes AF_UNSPEC as AF_INET.
		p, _ = parseSockaddr(append([]byte{linux.AF_INET, 0}, to[2:]...))
	default:
		return nil, linux.EAFNOSUPPORT
	}
	a := s.toNetstack(p)
	return &a, nil
}

// send is SendFromControl once corking is dealt with.
func (s *Socket) send(src tcpip.Payloader, to []byte, flags int, control []byte) (int, error) {
	opts := tcpip.WriteOptions{More: flags&linux.MSG_MORE != 0 && s.isStream()}
	if len(to) > 0 && !s.isStream() {
		a, err := s.datagramTo(to)
		if err != nil {
			return 0, err
		}
		opts.To = a
		// An unbound socket gets an ephemeral port.
		if err := s.preparePick(); err != nil {
			return 0, err
		}
	}
	if s.isStream() && src.Len() == 0 {
		// netstack would queue nothing but still check the state; Linux
		// does the same checks and returns 0.
		if _, terr := s.ep.Write(bytes.NewReader(nil), opts); terr != nil {
			if _, ok := terr.(*tcpip.ErrWouldBlock); !ok {
				return 0, errno(terr)
			}
		}
		return 0, nil
	}
	// gVisor's TCP endpoint keeps the last payloader it read from (in the
	// io.LimitedReader it reuses) until the endpoint is freed, a minute
	// after a close that enters TIME-WAIT: a reader of a task's memory
	// kept the whole task (~15 KiB) and a sendfile's 64 KiB buffer alive
	// for every connection a forking web server had closed. It gets a
	// wrapper, emptied once the write returns.
	w := &heldPayloader{src}
	gsoSize := -1
	if !s.isStream() {
		s.ctlMu.RLock()
		defer s.ctlMu.RUnlock()
		dontFrag := s.dontFrag.Load()
		if len(control) > 0 {
			done, c, err := s.applyControl(&opts, control)
			if err != nil {
				return 0, err
			}
			defer done()
			gsoSize = c.gsoSize
			if c.dontFrag >= 0 {
				dontFrag = c.dontFrag == 1
			}
		}
		if gsoSize < 0 {
			gsoSize = int(s.udp.gsoSize.Load())
		}
		if err := s.checkSize(&opts, w.Len()); err != nil {
			return 0, err
		}
		if dontFrag && gsoSize <= 0 {
			if err := s.checkDontFrag(&opts, w.Len()); err != nil {
				return 0, err
			}
		}
		s.owner.dropped.Store(false)
	}
	var n int64
	var terr tcpip.Error
	if gsoSize > 0 {
		sent, werr, err := s.writeSegments(w, opts, gsoSize)
		if err != nil {
			return 0, err
		}
		n, terr = int64(sent), werr
	} else {
		n, terr = s.ep.Write(w, opts)
	}
	w.Payloader = nil
	if terr != nil {
		if n > 0 {
			return int(n), nil
		}
		return 0, errno(terr)
	}
	if !s.isStream() && s.owner.dropped.Swap(false) {
		// The packet filter dropped the datagram on its way out:
		// ip_local_out's NF_DROP fails the send.
		return 0, linux.EPERM
	}
	return int(n), nil
}

// RecvResult is what one receive returned.
type RecvResult struct {
	// N is the number of bytes copied.
	N int
	// MsgLen is the whole datagram's length (MSG_TRUNC); for TCP with
	// MSG_TRUNC, the bytes discarded.
	MsgLen int
	// From is the sender's address (datagram sockets, when asked).
	From []byte
	// Control is the datagram's ancillary data the socket asked for
	// (cmsg.go), as Linux's control messages.
	Control []byte
	// Flags are msg_flags bits the receive sets itself: MSG_ERRQUEUE
	// for an entry of the error queue (errqueue.go), with MSG_TRUNC when
	// its payload was cut.
	Flags int32
}

// sliceWriter fills a byte slice; a write that does not fit is short,
// which makes netstack stop and keep the rest queued.
type sliceWriter struct {
	buf []byte
	n   int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	c := copy(w.buf[w.n:], p)
	w.n += c
	if c < len(p) {
		return c, io.ErrShortWrite
	}
	return c, nil
}

// Recv reads into dst: TCP data up to len(dst), or one datagram whose
// excess is dropped (unless MSG_PEEK). Flags are MSG_PEEK and MSG_TRUNC;
// EAGAIN means nothing to read yet; N == 0 without an error is the end
// of a TCP stream.
func (s *Socket) Recv(dst []byte, flags int, wantFrom bool) (RecvResult, error) {
	return s.RecvTo(&sliceWriter{buf: dst}, len(dst), flags, wantFrom)
}

// RecvTo is Recv writing at most n bytes to dst, straight from
// netstack's buffers: a caller whose destination is in another address
// space (a task's memory) passes a writer to it and saves a copy through
// a buffer of its own. A short write or a write error (a fault) ends the
// receive: what dst took is consumed and counted, the rest stays queued
// (a datagram's rest is dropped, as a short buffer drops it); a failure
// before any byte is EFAULT.
func (s *Socket) RecvTo(dst io.Writer, n int, flags int, wantFrom bool) (RecvResult, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	peek := flags&linux.MSG_PEEK != 0
	trunc := flags&linux.MSG_TRUNC != 0
	control := !s.isStream() && s.cmsg.Load() != 0
	opts := tcpip.ReadOptions{Peek: peek, NeedRemoteAddr: (wantFrom || control) && !s.isStream()}
	var res RecvResult
	if s.isStream() && trunc {
		// tcp(7): MSG_TRUNC discards the data instead of copying it.
		if peek {
			q, terr := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
			if terr != nil {
				return res, errno(terr)
			}
			if q == 0 {
				if _, terr := s.ep.Read(io.Discard, tcpip.ReadOptions{Peek: true}); terr != nil {
					if _, ok := terr.(*tcpip.ErrClosedForReceive); ok {
						return res, nil
					}
					return res, errno(terr)
				}
			}
			res.N = min(q, n)
			res.MsgLen = res.N
			return res, nil
		}
		r, terr := s.ep.Read(&tcpip.LimitedWriter{W: io.Discard, N: int64(n)}, opts)
		if terr != nil {
			if _, ok := terr.(*tcpip.ErrClosedForReceive); ok {
				return res, nil
			}
			if _, ok := terr.(*tcpip.ErrBadBuffer); ok && n == 0 {
				return res, nil
			}
			return res, errno(terr)
		}
		res.N, res.MsgLen = r.Count, r.Count
		return res, nil
	}
	w := dst
	if sw, ok := dst.(*sliceWriter); !ok || len(sw.buf) > n {
		w = &tcpip.LimitedWriter{W: dst, N: int64(n)}
	}
	r, terr := s.ep.Read(w, opts)
	if terr != nil {
		if _, ok := terr.(*tcpip.ErrClosedForReceive); ok {
			return res, nil
		}
		if _, ok := terr.(*tcpip.ErrBadBuffer); ok && n == 0 {
			// A zero-length read: the datagram (if any) went.
			return res, nil
		}
		return res, errno(terr)
	}
	res.N = r.Count
	res.MsgLen = r.Total
	if s.isStream() {
		res.MsgLen = r.Count
		if !peek && r.Count > 0 {
			s.ep.ModerateRecvBuf(r.Count)
		}
	} else {
		if wantFrom {
			res.From = sockaddr(s.family, r.RemoteAddr)
		}
		if control {
			res.Control = s.control(r.ControlMessages, r.RemoteAddr)
		}
	}
	return res, nil
}

// Name returns the socket's address (getsockname(2)).
func (s *Socket) Name() []byte {
	if a, ok := s.deferredName(); ok {
		return sockaddr(s.family, a)
	}
	a, terr := s.ep.GetLocalAddress()
	if terr != nil {
		a = tcpip.FullAddress{}
	}
	return sockaddr(s.family, a)
}

// PeerName returns the peer's address; ENOTCONN without a peer.
func (s *Socket) PeerName() ([]byte, error) {
	a, terr := s.ep.GetRemoteAddress()
	if terr != nil {
		return nil, errno(terr)
	}
	return sockaddr(s.family, a), nil
}

// TakeError returns and clears the pending error (SO_ERROR).
func (s *Socket) TakeError() linux.Errno {
	if e := s.takeSynError(); e != 0 || s.syn.expired.Load() {
		// The errors netstack keeps of the aborted handshake are not
		// Linux's: it had the one.
		s.ep.LastError()
		s.ep.LastError()
		return e
	}
	var first linux.Errno
	// netstack keeps a failed connection's error twice (as its hard
	// and its last error) and each read clears one; Linux's sk_err is
	// one value, so drain both.
	for range 2 {
		terr := s.ep.LastError()
		if terr == nil {
			break
		}
		if e, ok := errno(terr).(linux.Errno); ok && first == 0 {
			first = e
		}
	}
	return first
}

// heldPayloader is what Write gives netstack to read from: its Payloader
// is cleared when the write returns, so that netstack holds nothing of
// the caller's.
type heldPayloader struct{ tcpip.Payloader }
