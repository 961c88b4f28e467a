package syscalls

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Socket syscalls. AF_UNIX sockets are served here (sentry/socket/unix);
// AF_INET and AF_INET6 ones in sys_socket_inet.go (sentry/socket/inet);
// other families fail with EAFNOSUPPORT, as on a Linux built without
// them.

const (
	// sockTypeMask is SOCK_TYPE_MASK; the bits above it are flags.
	sockTypeMask = 0xf
	// sockMax is SOCK_MAX: types at or above it are EINVAL.
	sockMax = 11
	// sizeofSockaddrUn is sizeof(struct sockaddr_un).
	sizeofSockaddrUn = 110
	// scmMaxFD is SCM_MAX_FD, the most descriptors one SCM_RIGHTS takes.
	scmMaxFD = 253
	// optmemMax is net.core.optmem_max, the cap on sendmsg's control
	// data.
	optmemMax = 20480
	// capNetAdmin is CAP_NET_ADMIN.
	capNetAdmin = 12
	// sockChunk bounds the bytes one stream send or receive step copies.
	sockChunk = 256 << 10
	// maxDgramBuf bounds the kernel buffer of a datagram receive: no
	// datagram is larger than the biggest send buffer.
	maxDgramBuf = 4 << 20
)

func unixStack(t *kernel.Task) *unixsock.Stack { return t.Kernel().UnixSockets() }

// taskCred is the caller's credentials as sockets record them: the
// thread group's root-namespace ID and the effective IDs (SO_PEERCRED).
func taskCred(t *kernel.Task, real bool) unixsock.Cred {
	root, _ := t.RootOf(t.TGID())
	c := t.Credentials()
	if real {
		return unixsock.Cred{PID: root, UID: c.UID, GID: c.GID}
	}
	return unixsock.Cred{PID: root, UID: c.EUID, GID: c.EGID}
}

// getSocket returns the socket at fd with the file's reference: EBADF
// for a bad descriptor, ENOTSOCK for another file.
func getSocket(t *kernel.Task, fd int32) (*unixsock.Socket, *vfs.File, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	s, ok := f.Impl().(*unixsock.Socket)
	if !ok {
		f.DecRef()
		return nil, nil, unix.ENOTSOCK
	}
	return s, f, nil
}

// getAnySocket returns the socket at fd, unix (us) or inet (is), with
// the file's reference: EBADF for a bad descriptor, ENOTSOCK for
// another file.
func getAnySocket(t *kernel.Task, fd int32) (us *unixsock.Socket, is inetSocket, f *vfs.File, err error) {
	f, err = getFile(t, fd)
	if err != nil {
		return nil, nil, nil, err
	}
	if s, ok := f.Impl().(*unixsock.Socket); ok {
		return s, nil, f, nil
	}
	if s, ok := asInetSocket(f.Impl()); ok {
		return nil, s, f, nil
	}
	f.DecRef()
	return nil, nil, nil, unix.ENOTSOCK
}

// installSocket gives s a description and a descriptor; flags are
// SOCK_NONBLOCK and SOCK_CLOEXEC.
func installSocket(t *kernel.Task, s vfs.FileImpl, flags int) (int32, error) {
	f := vfs.NewFile(s, nil, unix.O_RDWR|flags&unix.O_NONBLOCK)
	defer f.DecRef()
	return t.FDs().NewFD(f, 0, flags&unix.O_CLOEXEC != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
}

// socketType checks socket(2)'s type argument and returns the unix
// socket type and the flags.
func socketType(domain, typ, protocol int) (int, int, error) {
	if domain != unix.AF_UNIX {
		return 0, 0, unix.EAFNOSUPPORT
	}
	flags := typ &^ sockTypeMask
	typ &= sockTypeMask
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 || typ >= sockMax {
		return 0, 0, unix.EINVAL
	}
	switch typ {
	case unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET:
	case unix.SOCK_RAW:
		// Linux's unix_create treats SOCK_RAW as SOCK_DGRAM.
		typ = unix.SOCK_DGRAM
	default:
		return 0, 0, unix.ESOCKTNOSUPPORT
	}
	if protocol != 0 && protocol != unix.AF_UNIX {
		return 0, 0, unix.EPROTONOSUPPORT
	}
	return typ, flags, nil
}

// Socket implements Linux syscall socket(2).
func Socket(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if d := int(int32(args[0])); d == unix.AF_INET || d == unix.AF_INET6 {
		return newInetSocket(t, d, int(int32(args[1])), int(int32(args[2])))
	} else if d == unix.AF_NETLINK {
		return newNetlinkSocket(t, int(int32(args[1])), int(int32(args[2])))
	}
	typ, flags, err := socketType(int(int32(args[0])), int(int32(args[1])), int(int32(args[2])))
	if err != nil {
		return 0, err
	}
	c := t.Credentials()
	fd, err := installSocket(t, unixStack(t).New(t.NetNamespaceOrInitial(), typ, c.EUID, c.EGID), flags)
	return uint64(fd), err
}

// Socketpair implements Linux syscall socketpair(2).
func Socketpair(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if d := int(int32(args[0])); d == unix.AF_INET || d == unix.AF_INET6 || d == unix.AF_NETLINK {
		// inet and netlink sockets have no socketpair
		// (sock_no_socketpair).
		if int32(args[1])&^(sockTypeMask|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
			return 0, unix.EINVAL
		}
		return 0, unix.EOPNOTSUPP
	}
	typ, flags, err := socketType(int(int32(args[0])), int(int32(args[1])), int(int32(args[2])))
	if err != nil {
		return 0, err
	}
	c := t.Credentials()
	a, b := unixStack(t).NewPair(t.NetNamespaceOrInitial(), typ, taskCred(t, false), c.EUID, c.EGID)
	fa, err := installSocket(t, a, flags)
	if err != nil {
		_ = b.Close()
		return 0, err
	}
	fb, err := installSocket(t, b, flags)
	if err != nil {
		_ = t.FDs().Remove(fa)
		return 0, err
	}
	out := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(fa)), uint32(fb))
	if _, err := t.CopyOut(args[3], out); err != nil {
		_ = t.FDs().Remove(fa)
		_ = t.FDs().Remove(fb)
		return 0, unix.EFAULT
	}
	return 0, nil
}

// sockAddr is a decoded struct sockaddr_un.
type sockAddr struct {
	// unspec is AF_UNSPEC (a datagram disconnect).
	unspec bool
	// autobind is an address of the family alone (bind: pick a name).
	autobind bool
	abstract bool
	name     string
}

// copyInSockaddr reads and checks a struct sockaddr_un of addrlen bytes,
// as Linux's unix_validate_addr and unix_mkname_bsd do.
func copyInSockaddr(t *kernel.Task, addr uint64, addrlen uint64) (sockAddr, error) {
	if int32(addrlen) < 0 || addrlen > 128 {
		return sockAddr{}, unix.EINVAL
	}
	b := make([]byte, addrlen)
	if _, err := t.CopyIn(addr, b); err != nil {
		return sockAddr{}, unix.EFAULT
	}
	if len(b) >= 2 && binary.LittleEndian.Uint16(b) == unix.AF_UNSPEC {
		return sockAddr{unspec: true}, nil
	}
	if len(b) < 2 || len(b) > sizeofSockaddrUn {
		return sockAddr{}, unix.EINVAL
	}
	if binary.LittleEndian.Uint16(b) != unix.AF_UNIX {
		return sockAddr{}, unix.EINVAL
	}
	path := b[2:]
	switch {
	case len(path) == 0:
		return sockAddr{autobind: true}, nil
	case path[0] == 0:
		return sockAddr{abstract: true, name: string(path[1:])}, nil
	}
	if i := bytes.IndexByte(path, 0); i >= 0 {
		path = path[:i]
	}
	return sockAddr{name: string(path)}, nil
}

// copyOutAddr writes a socket address to a (addr, *addrlen) pair as
// Linux's move_addr_to_user does: truncated to the buffer, with the full
// length stored.
func copyOutAddr(t *kernel.Task, addr, lenAddr uint64, sa []byte) error {
	if addr == 0 || lenAddr == 0 {
		return nil
	}
	var lb [4]byte
	if _, err := t.CopyIn(lenAddr, lb[:]); err != nil {
		return unix.EFAULT
	}
	l := int32(binary.LittleEndian.Uint32(lb[:]))
	if l < 0 {
		return unix.EINVAL
	}
	if n := min(int(l), len(sa)); n > 0 {
		if _, err := t.CopyOut(addr, sa[:n]); err != nil {
			return unix.EFAULT
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(sa)))
	if _, err := t.CopyOut(lenAddr, lb[:]); err != nil {
		return unix.EFAULT
	}
	return nil
}

// lookupSocket finds the socket a name refers to for socket s: an
// abstract name in s's network namespace, of s's type, a path through the file system
// (write permission on the socket inode needed; ECONNREFUSED if it is not
// a socket or nobody is bound).
func lookupSocket(t *kernel.Task, s *unixsock.Socket, sa sockAddr) (*unixsock.Socket, error) {
	st := unixStack(t)
	if sa.abstract {
		return st.LookupAbstract(s.Namespace(), s.Type(), sa.name)
	}
	if sa.name == "" {
		return nil, unix.EINVAL
	}
	d, err := resolveAt(t, atFDCWD, sa.name, true, false)
	if err != nil {
		return nil, err
	}
	ist, err := d.Inode().Stat()
	if err != nil {
		return nil, err
	}
	if err := t.FSCreds().MayAccess(&ist, 2); err != nil {
		return nil, err
	}
	if ist.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil, unix.ECONNREFUSED
	}
	return st.LookupInode(unixsock.InodeKey{Dev: ist.Dev, Ino: ist.Ino})
}

// Bind implements Linux syscall bind(2).
func Bind(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		return inetBind(t, is, args[1], args[2])
	}
	sa, err := copyInSockaddr(t, args[1], args[2])
	if err != nil {
		return 0, err
	}
	switch {
	case sa.unspec:
		return 0, unix.EINVAL
	case sa.autobind:
		return 0, s.Autobind()
	case sa.abstract:
		return 0, s.BindAbstract(sa.name)
	}
	return 0, bindPath(t, s, sa.name)
}

// bindPath creates the socket inode of a path name (with the caller's
// umask, EADDRINUSE if the name exists) and binds s to it.
func bindPath(t *kernel.Task, s *unixsock.Socket, path string) error {
	if s.Bound() {
		return unix.EINVAL
	}
	if strings.HasSuffix(path, "/") {
		return unix.ENOENT
	}
	dir, name, err := parentAt(t, atFDCWD, path)
	if err != nil {
		return err
	}
	if name == "" {
		return unix.EADDRINUSE
	}
	owner, m, err := newOwner(t, dir, unix.S_IFSOCK|createMode(t, 0o777))
	if err != nil {
		return err
	}
	d, err := dir.Mknod(name, m, owner, t.FSCreds())
	if err == unix.EEXIST {
		return unix.EADDRINUSE
	}
	if err != nil {
		return err
	}
	notifyChild(t, dir, name, unix.IN_CREATE, false)
	ist, err := d.Inode().Stat()
	if err == nil {
		err = s.BindInode(path, unixsock.InodeKey{Dev: ist.Dev, Ino: ist.Ino})
	}
	if err != nil {
		// Linux removes the node when the socket turns out bound.
		_ = dir.Unlink(name, t.FSCreds())
		return err
	}
	return nil
}

// Listen implements Linux syscall listen(2).
func Listen(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		return 0, is.Listen(int(int32(args[1])))
	}
	return 0, s.Listen(int(int32(args[1])), taskCred(t, false))
}

// sockRecvStep runs one step of a receive loop: the first step, and every
// step of an MSG_WAITALL receive, waits for data as sockWait does; the
// others take only what is queued.
func sockRecvStep(t *kernel.Task, w waiter.Waitable, wait, nonblock bool, timeout time.Duration, op func() error) error {
	if !wait {
		return op()
	}
	return sockWait(t, w, nonblock, timeout, op)
}

// sockWait retries op until it returns something other than EAGAIN,
// waiting on w between tries: not at all for a non-blocking call or a
// negative timeout, at most timeout (0: no limit; then EAGAIN) otherwise. An interrupted wait ends
// with ERESTARTSYS, or EINTR when a timeout was set (Linux's
// sock_intr_errno).
func sockWait(t *kernel.Task, w waiter.Waitable, nonblock bool, timeout time.Duration, op func() error) error {
	err := op()
	if err != unix.EAGAIN || nonblock || timeout < 0 {
		return err
	}
	ch := waiter.NewChannel()
	w.EventRegister(ch, ^uint32(0))
	defer w.EventUnregister(ch)
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if err = op(); err != unix.EAGAIN {
			return err
		}
		timedOut, berr := t.BlockUntil(ch, deadline)
		if berr != nil {
			if timeout > 0 {
				return unix.EINTR
			}
			return berr
		}
		if timedOut {
			return unix.EAGAIN
		}
	}
}

func isNonblocking(f *vfs.File) bool { return f.StatusFlags()&unix.O_NONBLOCK != 0 }

// Connect implements Linux syscall connect(2).
func Connect(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		return inetConnect(t, f, is, args[1], args[2])
	}
	sa, err := copyInSockaddr(t, args[1], args[2])
	if err != nil {
		return 0, err
	}
	if s.Type() == unix.SOCK_DGRAM {
		if sa.unspec {
			return 0, s.ConnectDgram(nil)
		}
		if sa.autobind {
			return 0, unix.EINVAL
		}
		target, err := lookupSocket(t, s, sa)
		if err != nil {
			return 0, err
		}
		return 0, s.ConnectDgram(target)
	}
	if sa.unspec || sa.autobind {
		return 0, unix.EINVAL
	}
	target, err := lookupSocket(t, s, sa)
	if err != nil {
		return 0, err
	}
	cred := taskCred(t, false)
	// A full backlog makes a blocking connect wait on the listener
	// for an accept (Linux's unix_wait_for_peer).
	return 0, sockWait(t, target, isNonblocking(f), s.Timeout(false), func() error {
		return s.Connect(target, cred)
	})
}

// acceptCall implements accept(2) and accept4(2).
func acceptCall(t *kernel.Task, fd int32, addr, lenAddr uint64, flags int) (uint64, error) {
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	s, is, f, err := getAnySocket(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		return inetAccept(t, f, is, addr, lenAddr, flags)
	}
	var ns *unixsock.Socket
	err = sockWait(t, s, isNonblocking(f), s.Timeout(true), func() error {
		var aerr error
		ns, aerr = s.Accept()
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
		peer, _ := ns.PeerName()
		if err := copyOutAddr(t, addr, lenAddr, peer.Sockaddr()); err != nil {
			// Linux keeps the new descriptor's connection but
			// reports the fault.
			_ = t.FDs().Remove(nfd)
			return 0, err
		}
	}
	return uint64(nfd), nil
}

// Accept implements Linux syscall accept(2).
func Accept(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return acceptCall(t, int32(args[0]), args[1], args[2], 0)
}

// Accept4 implements Linux syscall accept4(2).
func Accept4(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return acceptCall(t, int32(args[0]), args[1], args[2], int(int32(args[3])))
}

// Shutdown implements Linux syscall shutdown(2).
func Shutdown(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		return 0, is.Shutdown(int(int32(args[1])))
	}
	return 0, s.Shutdown(int(int32(args[1])))
}

// Getsockname implements Linux syscall getsockname(2).
func Getsockname(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		return 0, copyOutAddrChecked(t, args[1], args[2], is.Name())
	}
	return 0, copyOutAddrChecked(t, args[1], args[2], s.Name().Sockaddr())
}

// Getpeername implements Linux syscall getpeername(2).
func Getpeername(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		a, err := is.PeerName()
		if err != nil {
			return 0, err
		}
		return 0, copyOutAddrChecked(t, args[1], args[2], a)
	}
	a, err := s.PeerName()
	if err != nil {
		return 0, err
	}
	return 0, copyOutAddrChecked(t, args[1], args[2], a.Sockaddr())
}

// copyOutAddrChecked is copyOutAddr where a NULL buffer is EFAULT.
func copyOutAddrChecked(t *kernel.Task, addr, lenAddr uint64, sa []byte) error {
	if lenAddr == 0 {
		return unix.EFAULT
	}
	if addr == 0 {
		var lb [4]byte
		if _, err := t.CopyIn(lenAddr, lb[:]); err != nil {
			return unix.EFAULT
		}
		if int32(binary.LittleEndian.Uint32(lb[:])) < 0 {
			return unix.EINVAL
		}
		if binary.LittleEndian.Uint32(lb[:]) > 0 {
			return unix.EFAULT
		}
	}
	return copyOutAddr(t, addr, lenAddr, sa)
}
