package gofer

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// packetConn is one end of a connected SOCK_SEQPACKET socket, driven through
// the Go runtime's poller so that a blocked receive parks a goroutine rather
// than an OS thread, and so that close wakes a blocked peer operation.
//
// A packetConn allows one send and one receive to run concurrently; callers
// serialize sends among themselves and receives among themselves. That rule
// is what lets each direction keep its system call's arguments and results in
// the struct, so that the callbacks handed to the poller are built once
// instead of allocated per packet.
type packetConn struct {
	file *os.File        // owns the descriptor; immutable
	raw  syscall.RawConn // file's raw access; immutable

	// Owned by the one goroutine sending at a time.
	sendPkt, sendOOB []byte
	sendN            int
	sendErr          error
	sendFn           func(fd uintptr) bool // c.trySend; immutable

	// Owned by the one goroutine receiving at a time.
	recvBuf, recvOOB          []byte
	recvN, recvOOBN, recvFlag int
	recvErr                   error
	recvFn                    func(fd uintptr) bool // c.tryRecv; immutable
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
	// The poller needs a non-blocking descriptor; os.NewFile registers it
	// only when it already is. Close-on-exec keeps the socket out of any
	// process this one starts.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: set socket non-blocking: %w", err)
	}
	unix.CloseOnExec(fd)
	// Best effort: a whole packet must fit the sender's buffer. The default
	// already does (see maxMessageSize); this keeps some headroom where the
	// host configured a smaller default, and is capped by wmem_max.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 2*maxMessageSize)

	file := os.NewFile(uintptr(fd), "gofer-socket")
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("gofer: socket raw access: %w", err)
	}
	c := &packetConn{file: file, raw: raw}
	c.sendFn = c.trySend
	c.recvFn = c.tryRecv
	return c, nil
}

// send writes one packet, with donatedFD attached as SCM_RIGHTS when it is
// not negative. The caller keeps ownership of donatedFD.
func (c *packetConn) send(pkt []byte, donatedFD int) error {
	c.sendPkt, c.sendOOB = pkt, nil
	if donatedFD >= 0 {
		c.sendOOB = unix.UnixRights(donatedFD)
	}
	err := c.raw.Write(c.sendFn)
	n, sendErr := c.sendN, c.sendErr
	c.sendPkt, c.sendOOB, c.sendErr = nil, nil, nil
	if err != nil {
		return err
	}
	if sendErr != nil {
		return sendErr
	}
	if n != len(pkt) {
		// Cannot happen on SOCK_SEQPACKET, where sends are atomic.
		return fmt.Errorf("gofer: short send: %d of %d bytes", n, len(pkt))
	}
	return nil
}

// trySend makes one send attempt for the poller; it returns false to wait
// for the socket to become writable.
func (c *packetConn) trySend(fd uintptr) bool {
	for {
		// MSG_NOSIGNAL: a vanished peer is an EPIPE error, not a signal.
		c.sendN, c.sendErr = unix.SendmsgN(int(fd), c.sendPkt, c.sendOOB, nil, unix.MSG_NOSIGNAL)
		if c.sendErr != unix.EINTR {
			return c.sendErr != unix.EAGAIN
		}
	}
}

// recv reads one packet into buf and any SCM_RIGHTS descriptors into oob
// (received close-on-exec). It returns the packet length and length of the
// control data, and whether the packet or its control data were truncated to
// fit. n == 0 means the peer hung up.
func (c *packetConn) recv(buf, oob []byte) (n, oobn int, truncated bool, err error) {
	c.recvBuf, c.recvOOB = buf, oob
	err = c.raw.Read(c.recvFn)
	n, oobn, flags, recvErr := c.recvN, c.recvOOBN, c.recvFlag, c.recvErr
	c.recvBuf, c.recvOOB, c.recvErr = nil, nil, nil
	if err != nil {
		return 0, 0, false, err
	}
	if recvErr != nil {
		return 0, 0, false, recvErr
	}
	return n, oobn, flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0, nil
}

// tryRecv makes one receive attempt for the poller; it returns false to wait
// for the socket to become readable.
func (c *packetConn) tryRecv(fd uintptr) bool {
	for {
		c.recvN, c.recvOOBN, c.recvFlag, c.recvErr = recvmsg(int(fd), c.recvBuf, c.recvOOB, unix.MSG_CMSG_CLOEXEC)
		if c.recvErr != unix.EINTR {
			return c.recvErr != unix.EAGAIN
		}
	}
}

// close closes the socket, waking any blocked send or receive.
func (c *packetConn) close() error {
	return c.file.Close()
}

// isHangup reports whether err from send or recv means the peer is gone or
// this end was closed, as opposed to a failure worth reporting.
func isHangup(err error) bool {
	return errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) ||
		errors.Is(err, os.ErrClosed)
}
