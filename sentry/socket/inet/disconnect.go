package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// Disconnecting a TCP socket: connect(2) with AF_UNSPEC, Linux's
// tcp_disconnect.
//
// On a listening socket it stops listening, which is how HAProxy pauses
// its listeners on a reload or a "disable frontend": the connections
// waiting to be accepted are reset, new ones are refused, and the socket,
// now in TCP_CLOSE, keeps its address and port until listen(2) starts it
// again. shutdown(SHUT_RD) on a listener does the same (inet_shutdown
// calls tcp_disconnect for it). netstack's listener has no way back to
// the bound state: shut for reading, it resets what it holds and refuses
// what comes, but stays in its listen state, so the socket remembers
// that it stopped (listenStopped) and answers as Linux's closed socket
// does: SO_ACCEPTCONN 0, TCP_INFO's state TCP_CLOSE, poll
// POLLOUT|POLLHUP, no line in /proc/net/tcp, ENOTCONN for another
// shutdown. Linux would also let it connect(2) to a peer; netstack's
// listener cannot become a client, so that is EOPNOTSUPP.
//
// A socket that never connected is in TCP_CLOSE already: nothing
// changes. One that is connecting or connected is refused with
// EOPNOTSUPP: Linux resets the connection and lets the same socket
// connect again, and a netstack endpoint, once connected, can never be
// used for another connection.

// disconnectStream is connect(AF_UNSPEC) on a TCP socket.
func (s *Socket) disconnectStream() error {
	switch tcp.EndpointState(s.ep.State()) {
	case tcp.StateInitial, tcp.StateBound, tcp.StateClose:
		return nil
	case tcp.StateListen:
		return s.stopListening()
	default:
		return linux.EOPNOTSUPP
	}
}

// stopListening takes a listening socket to TCP_CLOSE, keeping its
// address; listen(2) starts it again.
func (s *Socket) stopListening() error {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	return s.stopListeningLocked()
}

// Preconditions: s.listenMu is held.
func (s *Socket) stopListeningLocked() error {
	if s.listenStopped.Load() {
		return nil
	}
	if err := errno(s.ep.Shutdown(tcpip.ShutdownRead)); err != nil {
		return err
	}
	s.listenStopped.Store(true)
	return nil
}

// ListenStopped reports whether the socket is a listener that stopped
// listening (connect AF_UNSPEC or shutdown SHUT_RD) and was not started
// again: Linux's socket is in TCP_CLOSE then, in none of its listings.
func (s *Socket) ListenStopped() bool { return s.listenStopped.Load() }

// shutdownListener is shutdown(2) on a socket in netstack's listen
// state (inet_shutdown's TCP_LISTEN and TCP_CLOSE cases).
func (s *Socket) shutdownListener(how int) error {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if s.listenStopped.Load() {
		return linux.ENOTCONN
	}
	if how == linux.SHUT_WR {
		return nil // a listener has nothing to send
	}
	return s.stopListeningLocked()
}
