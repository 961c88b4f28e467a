package gofer

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvmsg is recvmsg(2) without a source address. unix.Recvmsg always asks
// for one and allocates a Sockaddr for it on every call; a connected socket
// has no use for it.
func recvmsg(fd int, buf, oob []byte, flags int) (n, oobn, recvFlags int, err error) {
	var iov unix.Iovec
	if len(buf) > 0 {
		iov.Base = &buf[0]
		iov.SetLen(len(buf))
	}
	var msg unix.Msghdr
	msg.Iov = &iov
	msg.SetIovlen(1)
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, errno := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if errno != 0 {
		return 0, 0, 0, errno
	}
	return int(r), int(msg.Controllen), int(msg.Flags), nil
}

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// sendBatch sends the packets packed one after the other in buf, whose
// lengths are lens, in as few sendmmsg calls as the socket allows.
func (c *packetConn) sendBatch(buf []byte, lens []int) error {
	iovs := make([]unix.Iovec, len(lens))
	msgs := make([]mmsghdr, len(lens))
	off := 0
	for i, n := range lens {
		iovs[i].Base = &buf[off]
		iovs[i].SetLen(n)
		msgs[i].hdr.Iov = &iovs[i]
		msgs[i].hdr.SetIovlen(1)
		off += n
	}
	c.closeMu.RLock()
	defer c.closeMu.RUnlock()
	if c.closed {
		return os.ErrClosed
	}
	for sent := 0; sent < len(msgs); {
		// MSG_NOSIGNAL: a vanished peer is an EPIPE error, not a signal.
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&msgs[sent])),
			uintptr(len(msgs)-sent), unix.MSG_NOSIGNAL, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return errno
		}
		for i := sent; i < sent+int(r); i++ {
			if int(msgs[i].len) != lens[i] {
				// Cannot happen on SOCK_SEQPACKET, where sends are atomic.
				return fmt.Errorf("gofer: short send: %d of %d bytes", msgs[i].len, lens[i])
			}
		}
		sent += int(r)
	}
	return nil
}
