package hostinet

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Bind implements bind(2); the host checks the address.
func (s *Socket) Bind(sa []byte) error {
	if err := s.checkFamily(sa); err != nil {
		return err
	}
	return sockaddrCall(unix.SYS_BIND, s.fd, sa)
}

// checkFamily refuses addresses of families other than inet ones before
// the host sees them: an inet socket only ever takes AF_INET, AF_INET6
// or AF_UNSPEC addresses, and the host's answer for others is the same
// EAFNOSUPPORT (or EINVAL for a short one), so nothing is lost.
func (s *Socket) checkFamily(sa []byte) error {
	if len(sa) < 2 {
		return unix.EINVAL
	}
	switch binary.LittleEndian.Uint16(sa) {
	case unix.AF_INET, unix.AF_INET6, unix.AF_UNSPEC:
		return nil
	}
	return unix.EAFNOSUPPORT
}

// Listen implements listen(2).
func (s *Socket) Listen(backlog int) error {
	return hostErr(unix.Listen(int(s.fd), backlog))
}

// Accept takes the next established connection: EAGAIN when none waits.
// It returns the new socket and the peer's address.
func (s *Socket) Accept(uid, gid uint32) (*Socket, []byte, error) {
	if s.typ != unix.SOCK_STREAM {
		return nil, nil, unix.EOPNOTSUPP
	}
	fd, peer, err := accept4(s.fd)
	if err != nil {
		return nil, nil, err
	}
	ns, err := wrap(s.notifier, fd, s.family, s.typ, s.protocol, uid, gid)
	if err != nil {
		return nil, nil, err
	}
	return ns, peer, nil
}

// Connect starts connect(2): nil when connected at once, EINPROGRESS
// while a TCP handshake runs (the caller waits for EventOut and calls
// ConnectResult), or the error.
func (s *Socket) Connect(sa []byte) error {
	if err := s.checkFamily(sa); err != nil {
		return err
	}
	return sockaddrCall(unix.SYS_CONNECT, s.fd, sa)
}

// ConnectResult returns the outcome of a connect that returned
// EINPROGRESS, once the socket is writable or in error: the pending
// error (SO_ERROR), as a blocking connect would have returned it.
func (s *Socket) ConnectResult([]byte) error {
	if e := s.TakeError(); e != 0 {
		return e
	}
	return nil
}

// Shutdown implements shutdown(2).
func (s *Socket) Shutdown(how int) error {
	switch how {
	case unix.SHUT_RD, unix.SHUT_WR, unix.SHUT_RDWR:
	default:
		return unix.EINVAL
	}
	return hostErr(unix.Shutdown(int(s.fd), how))
}

// sendFlags are the send(2) flags passed to the host; others are
// dropped. MSG_DONTWAIT and MSG_NOSIGNAL are always added: the sentry
// waits itself, and raises SIGPIPE in the sandbox, not in the sentry.
const sendFlags = unix.MSG_OOB | unix.MSG_DONTROUTE | unix.MSG_EOR | unix.MSG_MORE | unix.MSG_CONFIRM | unix.MSG_FASTOPEN

// Send sends src (as much as fits for TCP, one datagram otherwise) to
// the address to (nil: the peer). EAGAIN means no room yet.
func (s *Socket) Send(src []byte, to []byte, flags int) (int, error) {
	if len(to) > 0 {
		if err := s.checkFamily(to); err != nil {
			return 0, err
		}
	}
	return sendto(s.fd, src, flags&sendFlags|unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, to)
}

// SendControl is Send with sendmsg's control messages, those cmsg.go
// lists (EOPNOTSUPP for others; SCM_RIGHTS and SCM_CREDENTIALS are
// passed over).
func (s *Socket) SendControl(src []byte, to []byte, flags int, control []byte) (int, error) {
	if len(to) > 0 {
		if err := s.checkFamily(to); err != nil {
			return 0, err
		}
	}
	c, err := filterControl(control, true)
	if err != nil {
		return 0, err
	}
	return sendmsg(s.fd, src, flags&sendFlags|unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, to, c)
}

// recvFlags are the recv(2) flags passed to the host.
const recvFlags = unix.MSG_PEEK | unix.MSG_TRUNC | unix.MSG_OOB

// Recv receives into dst: TCP data (0 bytes at end of file) or one
// datagram. EAGAIN means nothing is there yet.
func (s *Socket) Recv(dst []byte, flags int, wantFrom bool) (RecvResult, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	hf := flags&recvFlags | unix.MSG_DONTWAIT
	if s.typ != unix.SOCK_STREAM {
		// The whole datagram's length, for MSG_TRUNC's answer and
		// msg_flags.
		hf |= unix.MSG_TRUNC
	}
	var from []byte
	if wantFrom && s.typ != unix.SOCK_STREAM {
		from = make([]byte, maxSockaddr)
	}
	var control []byte
	if s.cmsgOn.Load() {
		control = make([]byte, maxControl)
	}
	n, fl, cl, err := recvmsg(s.fd, dst, hf, from, control)
	if err != nil {
		return RecvResult{}, err
	}
	res := RecvResult{N: min(n, len(dst)), MsgLen: n}
	if from != nil && fl > 0 {
		res.From = from[:min(fl, len(from))]
	}
	if cl > 0 {
		res.Control, _ = filterControl(control[:min(cl, len(control))], false)
	}
	return res, nil
}

// Name implements getsockname(2).
func (s *Socket) Name() []byte {
	sa, err := nameCall(unix.SYS_GETSOCKNAME, s.fd)
	if err != nil {
		return nil
	}
	return sa
}

// PeerName implements getpeername(2): ENOTCONN when not connected.
func (s *Socket) PeerName() ([]byte, error) {
	return nameCall(unix.SYS_GETPEERNAME, s.fd)
}

// TakeError returns and clears the pending error (SO_ERROR).
func (s *Socket) TakeError() unix.Errno {
	v, err := unix.GetsockoptInt(int(s.fd), unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return 0
	}
	return unix.Errno(v)
}
