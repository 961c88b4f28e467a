package gofer

import (
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
