package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Socket syscalls on AF_INET and AF_INET6 sockets (sentry/socket/inet,
// on the sandbox's netstack, or sentry/socket/hostinet for a host-network
// pod: sys_socket_hostinet.go). The handlers in sys_socket.go and
// sys_socket_msg.go decode the descriptor and hand inet sockets here.

const (
	// maxSockaddr bounds a socket address a caller passes (sizeof(struct
	// sockaddr_storage)), as move_addr_to_kernel does.
	maxSockaddr = 128
	// maxInetDgram bounds the kernel buffer of an inet datagram: no
	// IP datagram is larger.
	maxInetDgram = 1 << 16
	// fionbio is FIONBIO.
	fionbio = 0x5421
)

// newInetSocket implements socket(2) for AF_INET and AF_INET6.
func newInetSocket(t *kernel.Task, domain, typ, protocol int) (uint64, error) {
	flags := typ &^ sockTypeMask
	typ &= sockTypeMask
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 || typ >= sockMax {
		return 0, unix.EINVAL
	}
	s, err := newInetImpl(t, domain, typ, protocol)
	if err != nil {
		return 0, err
	}
	fd, err := installSocket(t, s, flags)
	return uint64(fd), err
}

// copyInInetAddr reads a socket address of addrlen bytes.
func copyInInetAddr(t *kernel.Task, addr, addrlen uint64) ([]byte, error) {
	if int32(addrlen) < 0 || addrlen > maxSockaddr {
		return nil, unix.EINVAL
	}
	b := make([]byte, addrlen)
	if _, err := t.CopyIn(addr, b); err != nil {
		return nil, unix.EFAULT
	}
	return b, nil
}

func inetBind(t *kernel.Task, s inetSocket, addr, addrlen uint64) (uint64, error) {
	sa, err := copyInInetAddr(t, addr, addrlen)
	if err != nil {
		return 0, err
	}
	return 0, s.Bind(sa)
}

// inetConnect implements connect(2): a blocking TCP connect waits for
// the handshake (at most SO_SNDTIMEO, then EINPROGRESS), as
// inet_stream_connect does; an interrupted one goes on in the
// background.
func inetConnect(t *kernel.Task, f *vfs.File, s inetSocket, addr, addrlen uint64) (uint64, error) {
	sa, err := copyInInetAddr(t, addr, addrlen)
	if err != nil {
		return 0, err
	}
	err = s.Connect(sa)
	if (err != unix.EINPROGRESS && err != unix.EALREADY) || isNonblocking(f) {
		return 0, err
	}
	return 0, awaitConnect(t, s, sa)
}

// awaitConnect waits, for at most SO_SNDTIMEO (then EINPROGRESS), for
// the connection to sa under way to be made or to fail, and returns its
// outcome.
func awaitConnect(t *kernel.Task, s inetSocket, sa []byte) error {
	timeout := s.Timeout(false)
	if timeout < 0 {
		return unix.EINPROGRESS
	}
	werr := sockWait(t, s, false, timeout, func() error {
		if s.Readiness(waiter.EventOut|waiter.EventErr|waiter.EventHUp) == 0 {
			return unix.EAGAIN
		}
		return nil
	})
	if werr == unix.EAGAIN {
		return unix.EINPROGRESS
	}
	if werr != nil {
		return werr
	}
	return s.ConnectResult(sa)
}

// inetFastOpen starts a stream send with MSG_FASTOPEN, which connects
// the socket to the address to first (sentry/socket/inet/fastopen.go),
// and returns the bytes of iovs already sent: a host socket (hostNetwork
// pods) uses the host's Fast Open, which puts data in the SYN when the
// host holds a cookie for the server. A blocking send waits for the
// connection, as tcp_sendmsg_fastopen does; a non-blocking one ends in
// EINPROGRESS unless data went out with the SYN.
func inetFastOpen(t *kernel.Task, s inetSocket, iovs []iovec, total uint64, to []byte, flags int, nonblock bool) (uint64, error) {
	var sent int
	var err error
	if ns, ok := s.(*inet.Socket); ok {
		err = ns.FastOpenConnect(to)
	} else {
		buf := t.Buffer(int(min(total, sockChunk)))
		if err := gatherIovs(t, iovs, 0, buf); err != nil {
			return 0, err
		}
		sent, err = s.Send(buf, to, flags)
	}
	if err == unix.EINPROGRESS && !nonblock {
		err = awaitConnect(t, s, to)
	}
	return uint64(sent), err
}

func inetAccept(t *kernel.Task, f *vfs.File, s inetSocket, addr, lenAddr uint64, flags int) (uint64, error) {
	c := t.Credentials()
	var ns inetSocket
	var peer []byte
	err := sockWait(t, s, isNonblocking(f), s.Timeout(true), func() error {
		var aerr error
		ns, peer, aerr = acceptInet(s, c.EUID, c.EGID)
		return aerr
	})
	if err != nil {
		return 0, err
	}
	nfd, err := installSocket(t, ns, flags)
	if err != nil {
		_ = ns.Close()
		return 0, err
	}
	if addr != 0 {
		if err := copyOutAddr(t, addr, lenAddr, peer); err != nil {
			_ = t.FDs().Remove(nfd)
			return 0, err
		}
	}
	return uint64(nfd), nil
}

// inetSend sends the iovecs' data: one datagram, or a TCP stream that a
// blocking call writes completely (unless a signal or SO_SNDTIMEO ends
// it after part of it). EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
func inetSend(t *kernel.Task, f *vfs.File, s inetSocket, iovs []iovec, to []byte, flags int) (uint64, error) {
	return inetSendControl(t, f, s, iovs, to, flags, nil)
}

// inetSendControl is inetSend with a datagram's control messages
// (inetControl's).
func inetSendControl(t *kernel.Task, f *vfs.File, s inetSocket, iovs []iovec, to []byte, flags int, control []byte) (uint64, error) {
	n, err := inetSendData(t, f, s, iovs, to, flags, control)
	if zs, ok := s.(*inet.Socket); ok && n > 0 && flags&unix.MSG_ZEROCOPY != 0 {
		zs.ZerocopySent()
	}
	if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL == 0 {
		t.SendSignalToSelf(unix.SIGPIPE)
	}
	return n, err
}

func inetSendData(t *kernel.Task, f *vfs.File, s inetSocket, iovs []iovec, to []byte, flags int, control []byte) (uint64, error) {
	if flags&unix.MSG_OOB != 0 {
		// Urgent data is not implemented by netstack.
		return 0, unix.EOPNOTSUPP
	}
	nonblock := isNonblocking(f) || flags&unix.MSG_DONTWAIT != 0
	timeout := s.Timeout(false)
	total := min(iovTotal(iovs), maxRW)
	if s.Type() != unix.SOCK_STREAM {
		if total > maxInetDgram {
			if ns, ok := s.(*inet.Socket); ok {
				return 0, ns.Oversize(to)
			}
			return 0, unix.EMSGSIZE
		}
		buf := t.Buffer(int(total)) // the sockets copy it
		if err := gatherIovs(t, iovs, 0, buf); err != nil {
			return 0, err
		}
		var n int
		err := sockWait(t, s, nonblock, timeout, func() error {
			var err error
			if cs, ok := s.(controlSender); ok && len(control) > 0 {
				n, err = cs.SendControl(buf, to, flags, control)
			} else {
				n, err = sendDatagram(t, s, buf, to, flags)
			}
			return err
		})
		return uint64(n), err
	}
	var done uint64
	if flags&unix.MSG_FASTOPEN != 0 {
		sent, err := inetFastOpen(t, s, iovs, total, to, flags, nonblock)
		if err != nil {
			return 0, err
		}
		done, flags = sent, flags&^unix.MSG_FASTOPEN
		if done == total || (nonblock && done > 0) {
			return done, nil
		}
	}
	if total == 0 {
		_, err := s.Send(nil, nil, flags)
		return 0, err
	}
	if ns, ok := s.(*inet.Socket); ok {
		return inetSendStream(t, ns, iovs, done, total, nonblock, timeout, flags)
	}
	for done < total {
		buf := t.Buffer(int(min(total-done, sockChunk)))
		if err := gatherIovs(t, iovs, done, buf); err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		var n int
		err := sockWait(t, s, nonblock, timeout, func() error {
			var err error
			n, err = s.Send(buf, nil, flags)
			return err
		})
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		done += uint64(n)
		if nonblock && n < len(buf) {
			break
		}
	}
	return done, nil
}

// inetSendStream is inetSendData's stream loop on a netstack socket from
// byte done of the iovecs on, which reads the data straight from the
// task's memory (sys_socket_iov.go). netstack queues all it read of a send or, when
// the task's memory faulted, nothing: Linux's tcp_sendmsg too queues
// only whole chunks, so a send whose first chunk faults is EFAULT.
func inetSendStream(t *kernel.Task, s *inet.Socket, iovs []iovec, done, total uint64, nonblock bool, timeout time.Duration, flags int) (uint64, error) {
	for done < total {
		var n int
		want := total - done
		err := sockWait(t, s, nonblock, timeout, func() error {
			var err error
			n, err = s.SendFrom(newIovReader(t, iovs, done, want), nil, flags)
			return err
		})
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		done += uint64(n)
		if nonblock && uint64(n) < want {
			break
		}
	}
	return done, nil
}

// inetRecv receives into the iovecs: one datagram, or TCP data (all of
// it with MSG_WAITALL, else what is there once something is).
func inetRecv(t *kernel.Task, f *vfs.File, s inetSocket, iovs []iovec, flags int, wantFrom bool) (inet.RecvResult, error) {
	var res inet.RecvResult
	switch {
	case flags&unix.MSG_OOB != 0:
		// No urgent data is ever pending (tcp_recv_urg's EINVAL).
		if s.Type() == unix.SOCK_STREAM {
			return res, unix.EINVAL
		}
		return res, unix.EOPNOTSUPP
	case flags&unix.MSG_ERRQUEUE != 0:
		return inetRecvErr(t, s, iovs, wantFrom)
	}
	nonblock := isNonblocking(f) || flags&unix.MSG_DONTWAIT != 0
	peek := flags&unix.MSG_PEEK != 0
	rflags := flags & (unix.MSG_PEEK | unix.MSG_TRUNC)
	timeout := s.Timeout(true)
	total := min(iovTotal(iovs), maxRW)
	if s.Type() != unix.SOCK_STREAM {
		buf := t.Buffer(int(min(total, maxInetDgram)))
		err := sockWait(t, s, nonblock, timeout, func() error {
			var err error
			res, err = s.Recv(buf, rflags, wantFrom)
			return err
		})
		if err != nil {
			return res, err
		}
		return res, scatterIovs(t, iovs, 0, buf[:res.N])
	}
	discard := flags&unix.MSG_TRUNC != 0
	waitAll := flags&unix.MSG_WAITALL != 0 && !peek
	if ns, ok := s.(*inet.Socket); ok {
		res, err := inetRecvStream(t, ns, iovs, total, rflags, nonblock, waitAll, timeout)
		if err == nil {
			res.Control = ns.InqControl()
		}
		return res, err
	}
	var done uint64
	for first := true; ; first = false {
		buf := t.Buffer(int(min(total-done, sockChunk)))
		var r inet.RecvResult
		op := func() error {
			var err error
			r, err = s.Recv(buf, rflags, false)
			return err
		}
		err := sockRecvStep(t, s, first || waitAll, nonblock, timeout, op)
		if err != nil {
			if done > 0 {
				break
			}
			return res, err
		}
		if !discard {
			if err := scatterIovs(t, iovs, done, buf[:r.N]); err != nil {
				if done > 0 {
					break
				}
				return res, err
			}
		}
		done += uint64(r.N)
		// A host socket's TCP_CM_INQ: the last read's is the one
		// that counts.
		res.Control = r.Control
		if r.N == 0 || done == total || peek {
			break
		}
	}
	res.N = int(done)
	res.MsgLen = res.N
	return res, nil
}

// inetRecvStream is inetRecv's stream loop on a netstack socket, which
// writes the data straight into the task's memory (sys_socket_iov.go).
// As tcp_recvmsg, a fault ends the receive: the chunks copied whole
// before it are consumed and counted, the rest stays queued; a fault in
// the first chunk is EFAULT.
func inetRecvStream(t *kernel.Task, s *inet.Socket, iovs []iovec, total uint64, rflags int, nonblock, waitAll bool, timeout time.Duration) (inet.RecvResult, error) {
	// A blocking receive returns once it has SO_RCVLOWAT bytes, or all
	// it asked for if fewer (tcp_recvmsg's target). It takes what is
	// queued at once; after that, as tcp_data_ready wakes a reader only
	// once SO_RCVLOWAT bytes are queued anew (or the stream ends), it
	// takes more only then.
	target := uint64(1)
	lowat := s.RcvLowat()
	gate := lowat > 1 && !nonblock && rflags&unix.MSG_PEEK == 0
	if gate {
		target = min(uint64(lowat), total)
	}
	tried := false
	var done uint64
	for first := true; ; first = false {
		var r inet.RecvResult
		op := func() error {
			if gate && tried && !s.LowatReadable() {
				return unix.EAGAIN
			}
			tried = true
			var err error
			r, err = s.RecvTo(newIovWriter(t, iovs, done, total-done), int(total-done), rflags, false)
			return err
		}
		err := sockRecvStep(t, s, first || waitAll || done < target, nonblock, timeout, op)
		if err != nil {
			if done > 0 {
				break
			}
			return r, err
		}
		done += uint64(r.N)
		if r.N == 0 || done == total || rflags&unix.MSG_PEEK != 0 {
			break
		}
	}
	return inet.RecvResult{N: int(done), MsgLen: int(done)}, nil
}

// errQueueReader is a socket with an error queue (MSG_ERRQUEUE).
type errQueueReader interface {
	RecvErr(dst []byte, wantFrom bool) (inet.RecvResult, error)
}

// inetRecvErr takes an entry of the socket's error queue (MSG_ERRQUEUE),
// never waiting, as ip_recv_error.
func inetRecvErr(t *kernel.Task, s inetSocket, iovs []iovec, wantFrom bool) (inet.RecvResult, error) {
	q, ok := s.(errQueueReader)
	if !ok {
		return inet.RecvResult{}, unix.EAGAIN
	}
	buf := t.Buffer(int(min(iovTotal(iovs), maxInetDgram)))
	res, err := q.RecvErr(buf, wantFrom)
	if err != nil {
		return res, err
	}
	return res, scatterIovs(t, iovs, 0, buf[:res.N])
}

// inetRecvmsgOne serves one recvmsg on the msghdr at maddr.
func inetRecvmsgOne(t *kernel.Task, f *vfs.File, s inetSocket, maddr uint64, flags int) (uint64, error) {
	m, err := copyInMsghdr(t, maddr)
	if err != nil {
		return 0, err
	}
	iovs, err := msgIovecs(t, m)
	if err != nil {
		return 0, err
	}
	res, err := inetRecv(t, f, s, iovs, flags, m.name != 0)
	if err != nil {
		return 0, err
	}
	mflags := int32(flags & unix.MSG_CMSG_CLOEXEC)
	if s.Type() != unix.SOCK_STREAM && res.N < res.MsgLen {
		mflags |= unix.MSG_TRUNC
	}
	mflags |= res.Flags
	namelen := uint32(0)
	if m.name != 0 && len(res.From) > 0 {
		namelen = uint32(len(res.From))
		if n := min(int(m.namelen), len(res.From)); n > 0 {
			if _, err := t.CopyOut(m.name, res.From[:n]); err != nil {
				return 0, unix.EFAULT
			}
		}
	}
	// The ancillary data the socket asked for, cut to msg_controllen as
	// put_cmsg cuts it. A control buffer the task cannot write gets
	// nothing, without an error, as put_cmsg's fault is ignored.
	space := min(m.controllen, uint64(len(res.Control)))
	if m.control == 0 {
		space = 0
	}
	control, ctrunc := inet.PutControl(res.Control, int(space))
	if ctrunc {
		mflags |= unix.MSG_CTRUNC
	}
	if len(control) > 0 {
		if _, err := t.CopyOut(m.control, control); err != nil {
			control = nil
		}
	}
	le := binary.LittleEndian
	out := []struct {
		off uint64
		b   []byte
	}{
		{8, le.AppendUint32(nil, namelen)},
		{40, le.AppendUint64(nil, uint64(len(control)))},
		{48, le.AppendUint32(nil, uint32(mflags))},
	}
	for _, o := range out {
		if _, err := t.CopyOut(maddr+o.off, o.b); err != nil {
			return 0, unix.EFAULT
		}
	}
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM && res.Flags&unix.MSG_ERRQUEUE == 0 {
		return uint64(res.MsgLen), nil
	}
	return uint64(res.N), nil
}

// inetSendmsgOne serves one sendmsg of m.
func inetSendmsgOne(t *kernel.Task, f *vfs.File, s inetSocket, m msghdr, flags int) (uint64, error) {
	iovs, err := msgIovecs(t, m)
	if err != nil {
		return 0, err
	}
	var to []byte
	if m.name != 0 && m.namelen != 0 {
		if to, err = copyInInetAddr(t, m.name, uint64(m.namelen)); err != nil {
			return 0, err
		}
	}
	control, err := inetControl(t, s, m)
	if err != nil {
		return 0, err
	}
	return inetSendControl(t, f, s, iovs, to, flags, control)
}

// inetControl reads sendmsg's ancillary data and returns what the
// socket's send takes: a datagram socket's IP and IPv6 control messages,
// which the socket checks (controlSender). SCM_RIGHTS and SCM_CREDENTIALS
// are passed over and other SOL_SOCKET messages are EINVAL; a stream
// socket ignores IP ones, as Linux's TCP does.
func inetControl(t *kernel.Task, s inetSocket, m msghdr) ([]byte, error) {
	if m.controllen == 0 {
		return nil, nil
	}
	if m.controllen > optmemMax {
		return nil, unix.ENOBUFS
	}
	b := make([]byte, m.controllen)
	if _, err := t.CopyIn(m.control, b); err != nil {
		return nil, unix.EFAULT
	}
	le := binary.LittleEndian
	for off := uint64(0); off+cmsgHdrLen <= uint64(len(b)); {
		l := le.Uint64(b[off:])
		level, typ := int32(le.Uint32(b[off+8:])), int32(le.Uint32(b[off+12:]))
		if l < cmsgHdrLen || l > uint64(len(b))-off {
			return nil, unix.EINVAL
		}
		switch level {
		case unix.SOL_SOCKET:
			// __sock_cmsg_send passes over SCM_RIGHTS and
			// SCM_CREDENTIALS; the others it takes (SO_MARK,
			// timestamping, SCM_TXTIME) the sandbox does not.
			if typ != unix.SCM_RIGHTS && typ != unix.SCM_CREDENTIALS {
				return nil, unix.EINVAL
			}
		}
		off += cmsgAlign(l)
	}
	if _, ok := s.(controlSender); !ok || s.Type() == unix.SOCK_STREAM {
		return nil, nil
	}
	return b, nil
}

// controlSender is a socket whose datagrams take control messages: a
// netstack one (inet's cmsg_send.go) or a host one (hostinet's
// cmsg.go), each checking them.
type controlSender interface {
	SendControl(src, to []byte, flags int, control []byte) (int, error)
}

// inetGetsockopt implements getsockopt(2); optval and lenAddr are the
// caller's buffer and length.
func inetGetsockopt(t *kernel.Task, s inetSocket, level, name int32, optval, lenAddr uint64) (uint64, error) {
	var lb [4]byte
	if _, err := t.CopyIn(lenAddr, lb[:]); err != nil {
		return 0, unix.EFAULT
	}
	l := int32(binary.LittleEndian.Uint32(lb[:]))
	if l < 0 {
		return 0, unix.EINVAL
	}
	if ns, v6, ok := netfilterSocket(s, level, name, true); ok {
		return netfilterGetsockopt(t, ns, v6, name, optval, l)
	}
	var v []byte
	if level == unix.SOL_SOCKET && isTimeoOpt(name) {
		v = timeval(s.Timeout(name == unix.SO_RCVTIMEO || name == unix.SO_RCVTIMEO_NEW))
	} else {
		var err error
		if v, err = s.GetSockOpt(int(level), int(name)); err != nil {
			return 0, err
		}
		if err := inet.GetLenError(int(level), int(name), int(l), v); err != nil {
			return 0, err
		}
	}
	n := min(int(l), len(v))
	if n > 0 {
		if _, err := t.CopyOut(optval, v[:n]); err != nil {
			return 0, unix.EFAULT
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(n))
	if _, err := t.CopyOut(lenAddr, lb[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

func isTimeoOpt(name int32) bool {
	switch name {
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW, unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		return true
	}
	return false
}

// inetSetsockopt implements setsockopt(2).
func inetSetsockopt(t *kernel.Task, s inetSocket, level, name int32, optval uint64, optlen int32) (uint64, error) {
	if optlen < 0 {
		return 0, unix.EINVAL
	}
	if ns, v6, ok := netfilterSocket(s, level, name, false); ok {
		return netfilterSetsockopt(t, ns, v6, name, optval, optlen)
	}
	b := make([]byte, min(optlen, 64))
	if _, err := t.CopyIn(optval, b); err != nil {
		return 0, unix.EFAULT
	}
	if level == unix.SOL_SOCKET && isTimeoOpt(name) {
		d, err := parseTimeo(b)
		if err != nil {
			return 0, err
		}
		s.SetTimeout(name == unix.SO_RCVTIMEO || name == unix.SO_RCVTIMEO_NEW, d)
		return 0, nil
	}
	c := t.Credentials()
	if level == unix.SOL_SOCKET && name == unix.SO_MARK && !c.HasCap(capNetAdmin) && !c.HasCap(kernel.CapNetRaw) {
		// sock_setsockopt: either capability over the namespace.
		return 0, unix.EPERM
	}
	if db, ok := s.(deviceBinder); ok && level == unix.SOL_SOCKET && (name == unix.SO_BINDTODEVICE || name == unix.SO_BINDTOIFINDEX) {
		return 0, db.BindToDevice(b, name == unix.SO_BINDTOIFINDEX, c.HasCap(kernel.CapNetRaw))
	}
	return 0, s.SetSockOpt(int(level), int(name), b, c.HasCap(capNetAdmin))
}

// deviceBinder is a socket SO_BINDTODEVICE and SO_BINDTOIFINDEX can tie
// to an interface (the sandbox's stack's; a hostNetwork pod's host
// sockets refuse them): the options take CAP_NET_RAW, which
// SetSockOpt is not told of.
type deviceBinder interface {
	BindToDevice(b []byte, byIndex, netRaw bool) error
}

// parseTimeo decodes SO_RCVTIMEO's and SO_SNDTIMEO's struct timeval as
// sock_set_timeout does: {0, 0} is no timeout, a negative time is no
// wait at all.
func parseTimeo(b []byte) (time.Duration, error) {
	if len(b) < 16 {
		return 0, unix.EINVAL
	}
	le := binary.LittleEndian
	sec, usec := int64(le.Uint64(b)), int64(le.Uint64(b[8:]))
	if usec < 0 || usec >= 1000000 {
		return 0, unix.EDOM
	}
	if sec < 0 {
		return -1, nil
	}
	return time.Duration(min(sec, 1<<32))*time.Second + time.Duration(usec)*time.Microsecond, nil
}

func inetRecvfrom(t *kernel.Task, f *vfs.File, s inetSocket, args arch.SyscallArgs, flags int) (uint64, error) {
	res, err := inetRecv(t, f, s, []iovec{{args[1], args[2]}}, flags, args[4] != 0)
	if err != nil {
		return 0, err
	}
	if args[4] != 0 && len(res.From) > 0 {
		if err := copyOutAddr(t, args[4], args[5], res.From); err != nil {
			return 0, err
		}
	}
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM && res.Flags&unix.MSG_ERRQUEUE == 0 {
		return uint64(res.MsgLen), nil
	}
	return uint64(res.N), nil
}

// ioctlFIONBIO implements FIONBIO, which Linux serves for every file
// (do_vfs_ioctl): O_NONBLOCK from a non-zero int.
func ioctlFIONBIO(t *kernel.Task, f *vfs.File, arg uint64) error {
	var b [4]byte
	if _, err := t.CopyIn(arg, b[:]); err != nil {
		return unix.EFAULT
	}
	flags := f.StatusFlags() &^ unix.O_NONBLOCK
	if binary.LittleEndian.Uint32(b[:]) != 0 {
		flags |= unix.O_NONBLOCK
	}
	f.SetStatusFlags(flags)
	return nil
}
