package gofer

import (
	"sync"

	"golang.org/x/sys/unix"
)

// A session may have several connections, so that requests of different
// sentry threads are served at once instead of queueing on one socket.
// Connect makes one more: the server makes a socket pair, serves one end
// with the same state as the asking connection (the same trees and FIDs)
// and donates the other. The session ends when its first connection does;
// the others are then shut down.

// maxSessionConns bounds the connections of one session, the first one
// included; each costs a thread blocked in recvmsg while idle.
const maxSessionConns = MaxClientConns

// extraConns are the connections Connect added to a session.
type extraConns struct {
	// mu protects conns and closed.
	mu sync.Mutex
	// conns are the added connections still served.
	conns map[*packetConn]struct{}
	// closed is set when the session ended; Connect fails from then on.
	closed bool
	// wg counts the goroutines serving added connections.
	wg sync.WaitGroup
}

// handleConnect implements Connect: () -> () + one SCM_RIGHTS fd.
func (s *server) handleConnect(r *request) unix.Errno {
	if !r.args.ok() {
		return unix.EINVAL
	}
	x := &s.extra
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return unix.ECONNRESET
	}
	if 1+len(x.conns) >= maxSessionConns {
		return unix.EMFILE
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return toErrno(err)
	}
	_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 2*maxMessageSize)
	_ = unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUF, 2*maxMessageSize)
	pc := newPacketConnChecked(fds[0])
	if x.conns == nil {
		x.conns = make(map[*packetConn]struct{})
	}
	x.conns[pc] = struct{}{}
	// Counted now, under mu, so that closeExtra waits for it; the serving
	// loop starts it once the reply is sent (serveExtra).
	x.wg.Add(1)
	r.newConn = pc
	r.donatedFD = fds[1]
	return 0
}

// serveExtra serves pc, a connection handleConnect added, until its client
// hangs up or the session ends.
func (s *server) serveExtra(pc *packetConn) {
	x := &s.extra
	defer x.wg.Done()
	// A failure ends this connection only; the client sees the hang-up as
	// a broken session.
	_ = s.serve(pc)
	x.mu.Lock()
	delete(x.conns, pc)
	x.mu.Unlock()
	_ = pc.close()
}

// closeExtra shuts down every added connection and waits until none is
// served, so that no request runs once the session's FIDs are released.
func (s *server) closeExtra() {
	x := &s.extra
	x.mu.Lock()
	x.closed = true
	for pc := range x.conns {
		// Wakes its server from recvmsg; the serving goroutine closes
		// it.
		_ = unix.Shutdown(pc.fd, unix.SHUT_RDWR)
	}
	x.mu.Unlock()
	x.wg.Wait()
}
