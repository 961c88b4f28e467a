package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The client side of TCP Fast Open, as Linux has it for a client that
// holds no cookie for the server.
//
// gVisor's TCP neither asks for nor keeps Fast Open cookies, so no SYN
// of the sandbox ever carries data. A Linux client without a cookie does
// the same: sendto(MSG_FASTOPEN) sends a plain SYN (with a cookie
// request) and connects; a blocking call then sends the data as any
// send, a non-blocking one says EINPROGRESS and has sent nothing; with
// TCP_FASTOPEN_CONNECT, connect(2) is a plain connect. A program that
// uses either sees what it would see on a Linux host meeting a server it
// has not talked to before. Both are net.ipv4.tcp_fastopen's client bit's, which is set
// by default; without it they are EOPNOTSUPP. TCP_FASTOPEN_NO_COOKIE, with
// which a Linux client puts its data in the SYN without a cookie and a
// listener takes such data, is kept: a server that takes none (as a
// sandbox's listener, and every Linux one with the default sysctl) gets
// the data after the handshake, as it would from Linux.

// FastOpenConnect is the start of a send with MSG_FASTOPEN on a stream
// socket (tcp_sendmsg_fastopen): it connects the socket to the address
// to and sends nothing. It returns EINPROGRESS for a connection under
// way (the caller waits for it, unless the send is non-blocking, and
// then sends), nil when the socket is connected, or the error of the
// send: EISCONN for a connected or listening socket, EINVAL without an
// address, EOPNOTSUPP for AF_UNSPEC or without the sysctl's client bit.
func (s *Socket) FastOpenConnect(to []byte) error {
	if !s.stack.TCPFastOpenClient() {
		return linux.EOPNOTSUPP
	}
	if len(to) >= 2 && le.Uint16(to) == linux.AF_UNSPEC {
		return linux.EOPNOTSUPP
	}
	if len(to) < 2 {
		// __inet_stream_connect: a connected (or listening) socket
		// says so before the missing address is noticed.
		if _, err := s.PeerName(); err == nil || s.Listening() {
			return linux.EISCONN
		}
		return linux.EINVAL
	}
	if s.Listening() {
		return linux.EISCONN
	}
	return s.Connect(to)
}

// setFastOpenConnect sets TCP_FASTOPEN_CONNECT (do_tcp_setsockopt's
// checks, in its order): 0 or 1, the sysctl's client bit, and a socket
// that is neither connected nor listening.
func (s *Socket) setFastOpenConnect(v int) error {
	if v < 0 || v > 1 {
		return linux.EINVAL
	}
	if !s.stack.TCPFastOpenClient() {
		return linux.EOPNOTSUPP
	}
	switch tcp.EndpointState(s.ep.State()) {
	case tcp.StateInitial, tcp.StateBound, tcp.StateClose:
	default:
		return linux.EINVAL
	}
	s.fastOpenConnect.Store(v == 1)
	return nil
}

// setFastOpenNoCookie sets TCP_FASTOPEN_NO_COOKIE (do_tcp_setsockopt's
// checks): 0 or 1, on a closed or listening socket.
func (s *Socket) setFastOpenNoCookie(v int) error {
	if v < 0 || v > 1 {
		return linux.EINVAL
	}
	switch tcp.EndpointState(s.ep.State()) {
	case tcp.StateInitial, tcp.StateBound, tcp.StateClose, tcp.StateListen:
	default:
		return linux.EINVAL
	}
	s.fastOpenNoCookie.Store(v == 1)
	return nil
}
