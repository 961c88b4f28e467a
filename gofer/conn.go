package gofer

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// packetConn is one end of a connected SOCK_SEQPACKET socket, used with
// blocking system calls.
//
// Blocking calls rather than the Go runtime's poller, because every
// exchange is a request followed at once by its reply: the waiting thread
// sleeps in recvmsg and the kernel wakes exactly that thread when the
// packet arrives. Through the poller a receive costs a failed recvmsg, an
// epoll wait and a goroutine hand-off, and the sentry's callers are task
// goroutines locked to their OS threads (task_run.go), for which every
// park and wake-up is a further futex round trip between two threads.
// Measured on the tar benchmark, that hand-off was most of an RPC's cost.
//
// A packetConn allows any number of concurrent sends and receives (the
// kernel keeps packets whole); the client and server serialize them as
// their protocols need.
type packetConn struct {
	// fd is the socket. Immutable; closed (under closeMu held for
	// writing) once no call is using it.
	fd int

	// closeMu is held for reading by every send and receive for the
	// duration of its system call, and for writing by close, so that the
	// descriptor number is never closed (and reused) under a blocked call.
	closeMu sync.RWMutex
	// closed is set when fd has been closed. Protected by closeMu.
	closed bool
	// closing is set by the first close, which alone shuts fd down (a
	// later one might otherwise shut down a reused descriptor number).
	closing atomic.Bool
}

// newPacketConn takes ownership of fd, which must be a connected
// SOCK_SEQPACKET socket. On error fd is closed.
func newPacketConn(fd int) (*packetConn, error) {
	if fd < 0 {
		return nil, fmt.Errorf("gofer: bad socket descriptor %d", fd)
	}
	sockType, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: descriptor %d is not a socket: %w", fd, err)
	}
	if sockType != unix.SOCK_SEQPACKET {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: descriptor %d is socket type %d, want SOCK_SEQPACKET", fd, sockType)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: set socket blocking: %w", err)
	}
	// Close-on-exec keeps the socket out of any process this one starts.
	unix.CloseOnExec(fd)
	// Best effort: a whole packet must fit the sender's buffer. The default
	// already does (see maxMessageSize); this keeps some headroom where the
	// host configured a smaller default, and is capped by wmem_max.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 2*maxMessageSize)
	return &packetConn{fd: fd}, nil
}

// newPacketConnChecked wraps fd, a blocking, close-on-exec SOCK_SEQPACKET
// socket this process made itself (socketpair), so that no check is needed.
func newPacketConnChecked(fd int) *packetConn {
	return &packetConn{fd: fd}
}

// send writes one packet, with donatedFD attached as SCM_RIGHTS when it is
// not negative. The caller keeps ownership of donatedFD.
func (c *packetConn) send(pkt []byte, donatedFD int) error {
	var oob []byte
	if donatedFD >= 0 {
		oob = unix.UnixRights(donatedFD)
	}
	c.closeMu.RLock()
	defer c.closeMu.RUnlock()
	if c.closed {
		return os.ErrClosed
	}
	for {
		// MSG_NOSIGNAL: a vanished peer is an EPIPE error, not a signal.
		n, err := unix.SendmsgN(c.fd, pkt, oob, nil, unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(pkt) {
			// Cannot happen on SOCK_SEQPACKET, where sends are atomic.
			return fmt.Errorf("gofer: short send: %d of %d bytes", n, len(pkt))
		}
		return nil
	}
}

// recv reads one packet into buf and any SCM_RIGHTS descriptors into oob
// (received close-on-exec). It returns the packet length and length of the
// control data, and whether the packet or its control data were truncated to
// fit. n == 0 means the peer hung up (or close was called).
func (c *packetConn) recv(buf, oob []byte) (n, oobn int, truncated bool, err error) {
	c.closeMu.RLock()
	defer c.closeMu.RUnlock()
	if c.closed {
		return 0, 0, false, os.ErrClosed
	}
	for {
		n, oobn, flags, err := recvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, 0, false, err
		}
		return n, oobn, flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0, nil
	}
}

// close shuts the socket down, which wakes any blocked send or receive of
// either end (a receive then sees a hang-up), and closes it once no call
// uses it. Later calls fail with os.ErrClosed.
func (c *packetConn) close() error {
	if c.closing.Swap(true) {
		return os.ErrClosed
	}
	// fd stays open until closed is set below, so this is still ours.
	_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	c.closed = true
	return unix.Close(c.fd)
}

// isHangup reports whether err from send or recv means the peer is gone or
// this end was closed, as opposed to a failure worth reporting.
func isHangup(err error) bool {
	return errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) ||
		errors.Is(err, os.ErrClosed)
}
