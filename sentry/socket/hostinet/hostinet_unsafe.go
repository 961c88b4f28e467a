package hostinet

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw host socket calls on byte buffers: socket addresses and option
// values go to the host exactly as the sandbox's program wrote them
// (after the checks in ops.go and sockopt.go), so the host kernel's own
// parsing applies, and come back as the host wrote them.

// ptr returns b's first byte, or nil for an empty b.
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// sockaddrCall is bind(2) or connect(2).
func sockaddrCall(nr uintptr, fd int32, sa []byte) error {
	for {
		_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(ptr(sa)), uintptr(len(sa)))
		if e == unix.EINTR && nr != unix.SYS_CONNECT {
			continue
		}
		return errnoErr(e)
	}
}

// accept4 takes a connection (SOCK_NONBLOCK|SOCK_CLOEXEC) and returns it
// and the peer's address.
func accept4(fd int32) (int, []byte, error) {
	var sa [maxSockaddr]byte
	l := uint32(len(sa))
	for {
		nfd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(unsafe.Pointer(&l)),
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, nil, e
		}
		return int(nfd), append([]byte(nil), sa[:min(int(l), len(sa))]...), nil
	}
}

// nameCall is getsockname(2) or getpeername(2).
func nameCall(nr uintptr, fd int32) ([]byte, error) {
	var sa [maxSockaddr]byte
	l := uint32(len(sa))
	_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return nil, e
	}
	return append([]byte(nil), sa[:min(int(l), len(sa))]...), nil
}

// sendto sends b to the address to (nil: the peer).
func sendto(fd int32, b []byte, flags int, to []byte) (int, error) {
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr(b)), uintptr(len(b)), uintptr(flags),
			uintptr(ptr(to)), uintptr(len(to)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// recvmsg receives into b; from, when not nil, gets the sender's
// address, and control the ancillary data (their lengths returned).
func recvmsg(fd int32, b []byte, flags int, from, control []byte) (n, fromLen, controlLen int, err error) {
	n, fromLen, controlLen, _, err = recvmsgFlags(fd, b, flags, from, control)
	return n, fromLen, controlLen, err
}

// recvmsgFlags is recvmsg that also returns msg_flags.
func recvmsgFlags(fd int32, b []byte, flags int, from, control []byte) (n, fromLen, controlLen int, msgFlags int32, err error) {
	iov := unix.Iovec{Base: (*byte)(ptr(b))}
	iov.SetLen(len(b))
	var m unix.Msghdr
	m.Iov, m.Iovlen = &iov, 1
	if from != nil {
		m.Name, m.Namelen = (*byte)(ptr(from)), uint32(len(from))
	}
	if control != nil {
		m.Control = (*byte)(ptr(control))
		m.SetControllen(len(control))
	}
	for {
		r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m)), uintptr(flags))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, 0, 0, 0, e
		}
		return int(r), int(m.Namelen), int(m.Controllen), m.Flags, nil
	}
}

// sendmsg sends b to the address to (nil: the peer) with control
// messages.
func sendmsg(fd int32, b []byte, flags int, to, control []byte) (int, error) {
	iov := unix.Iovec{Base: (*byte)(ptr(b))}
	iov.SetLen(len(b))
	var m unix.Msghdr
	m.Iov, m.Iovlen = &iov, 1
	if len(to) > 0 {
		m.Name, m.Namelen = (*byte)(ptr(to)), uint32(len(to))
	}
	if len(control) > 0 {
		m.Control = (*byte)(ptr(control))
		m.SetControllen(len(control))
	}
	for {
		r, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&m)), uintptr(flags))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// getsockopt reads an option into a buffer of size bytes and returns
// what the host wrote.
func getsockopt(fd int32, level, name, size int) ([]byte, error) {
	b := make([]byte, size)
	l := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(ptr(b)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return nil, e
	}
	return b[:min(int(l), size)], nil
}

// setsockopt sets an option from b.
func setsockopt(fd int32, level, name int, b []byte) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(ptr(b)), uintptr(len(b)), 0)
	return errnoErr(e)
}
