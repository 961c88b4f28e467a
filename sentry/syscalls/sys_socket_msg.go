package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/socket/hostinet"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/sockopt"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Data transfer on sockets: send/recv and their msg forms, and read(2),
// write(2), readv(2), writev(2) on socket descriptors, which Linux also
// serves through sock_sendmsg/sock_recvmsg (one datagram per readv, the
// socket's timeouts apply).

const (
	// sizeofMsghdr is sizeof(struct msghdr) on amd64.
	sizeofMsghdr = 56
	// cmsgHdrLen is sizeof(struct cmsghdr) on amd64.
	cmsgHdrLen = 16
)

func cmsgAlign(n uint64) uint64 { return (n + 7) &^ 7 }

func iovTotal(iovs []iovec) uint64 {
	var n uint64
	for _, v := range iovs {
		n += v.len
	}
	return n
}

// gatherIovs copies bytes [off, off+len(dst)) of the iovecs' memory into
// dst.
func gatherIovs(t *kernel.Task, iovs []iovec, off uint64, dst []byte) error {
	return walkIovs(iovs, off, dst, t.CopyIn)
}

// scatterIovs copies src to bytes [off, off+len(src)) of the iovecs'
// memory.
func scatterIovs(t *kernel.Task, iovs []iovec, off uint64, src []byte) error {
	return walkIovs(iovs, off, src, t.CopyOut)
}

// walkIovs runs xfer (a task's CopyIn or CopyOut) over the parts of buf
// that bytes [off, off+len(buf)) of the iovecs' memory map to.
func walkIovs(iovs []iovec, off uint64, buf []byte, xfer func(addr uint64, b []byte) (int, error)) error {
	for _, v := range iovs {
		if len(buf) == 0 {
			return nil
		}
		if off >= v.len {
			off -= v.len
			continue
		}
		n := min(v.len-off, uint64(len(buf)))
		if _, err := xfer(v.base+off, buf[:n]); err != nil {
			return unix.EFAULT
		}
		buf = buf[n:]
		off = 0
	}
	return nil
}

// sendCommon sends the iovecs' data with ctl (whose references it
// consumes) to to (hasAddr: an address was given).
func sendCommon(t *kernel.Task, f *vfs.File, s *unixsock.Socket, iovs []iovec, ctl unixsock.Control, to *unixsock.Socket, hasAddr bool, flags int) (uint64, error) {
	pending := true
	defer func() {
		if pending {
			unixsock.ReleaseRights(ctl.Rights)
		}
	}()
	if flags&unix.MSG_OOB != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if ctl.Cred == nil {
		// Every message records its sender, for a receiver that
		// turns SO_PASSCRED on.
		c := taskCred(t, true)
		ctl.Cred = &c
	}
	nonblock := isNonblocking(f) || flags&unix.MSG_DONTWAIT != 0
	timeout := s.Timeout(false)
	total := min(iovTotal(iovs), maxRW)
	if s.Type() != unix.SOCK_STREAM {
		if total > maxDgramBuf {
			return 0, unix.EMSGSIZE
		}
		buf := t.Buffer(int(total)) // s.Send copies it
		if err := gatherIovs(t, iovs, 0, buf); err != nil {
			return 0, err
		}
		err := sockWait(t, s, nonblock, timeout, func() error {
			_, err := s.Send(buf, ctl, to, hasAddr)
			return err
		})
		if err != nil {
			return 0, err
		}
		pending = false
		return total, nil
	}
	var done uint64
	for {
		buf := t.Buffer(int(min(total-done, sockChunk)))
		if err := gatherIovs(t, iovs, done, buf); err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		var n int
		err := sockWait(t, s, nonblock, timeout, func() error {
			c := unixsock.Control{}
			if pending {
				c = ctl
			}
			var err error
			n, err = s.Send(buf, c, nil, hasAddr)
			return err
		})
		if err != nil {
			if done > 0 {
				return done, nil
			}
			if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL == 0 {
				t.SendSignalToSelf(unix.SIGPIPE)
			}
			return 0, err
		}
		if n > 0 {
			pending = false
		}
		done += uint64(n)
		if done == total {
			return done, nil
		}
	}
}

// recvCommon receives into the iovecs: one datagram, or stream data (all
// of it with MSG_WAITALL, else what is there once something is).
func recvCommon(t *kernel.Task, f *vfs.File, s *unixsock.Socket, iovs []iovec, flags int) (unixsock.RecvResult, error) {
	var res unixsock.RecvResult
	if flags&unix.MSG_OOB != 0 {
		return res, unix.EOPNOTSUPP
	}
	nonblock := isNonblocking(f) || flags&unix.MSG_DONTWAIT != 0
	peek := flags&unix.MSG_PEEK != 0
	timeout := s.Timeout(true)
	total := min(iovTotal(iovs), maxRW)
	if s.Type() != unix.SOCK_STREAM {
		buf := t.Buffer(int(min(total, maxDgramBuf)))
		err := sockWait(t, s, nonblock, timeout, func() error {
			var err error
			res, err = s.Recv(buf, peek)
			return err
		})
		if err != nil {
			return res, err
		}
		if err := scatterIovs(t, iovs, 0, buf[:res.N]); err != nil {
			unixsock.ReleaseRights(res.Ctl.Rights)
			return unixsock.RecvResult{}, err
		}
		return res, nil
	}
	waitAll := flags&unix.MSG_WAITALL != 0 && !peek
	var done uint64
	for first := true; ; first = false {
		buf := t.Buffer(int(min(total-done, sockChunk)))
		var r unixsock.RecvResult
		op := func() error {
			var err error
			if first {
				r, err = s.Recv(buf, peek)
			} else {
				// The rest of the read must come from the first
				// part's sender when SO_PASSCRED delivers one
				// SCM_CREDENTIALS for it all.
				r, err = s.RecvMore(buf, peek, res.Ctl.Cred)
			}
			return err
		}
		err := sockRecvStep(t, s, first || waitAll, nonblock, timeout, op)
		if err != nil {
			if done > 0 {
				break
			}
			return res, err
		}
		if first {
			res.From = r.From
			res.Ctl.Cred = r.Ctl.Cred
		}
		res.Ctl.Rights = append(res.Ctl.Rights, r.Ctl.Rights...)
		if err := scatterIovs(t, iovs, done, buf[:r.N]); err != nil {
			if done > 0 {
				break
			}
			unixsock.ReleaseRights(res.Ctl.Rights)
			return unixsock.RecvResult{}, err
		}
		done += uint64(r.N)
		if r.N == 0 || len(r.Ctl.Rights) > 0 || done == total || peek {
			break
		}
	}
	res.N = int(done)
	res.MsgLen = res.N
	return res, nil
}

// isSocketFile reports whether f is a socket whose reads and writes go
// through sockRW.
func isSocketFile(f *vfs.File) bool {
	switch f.Impl().(type) {
	case *unixsock.Socket, *inet.Socket, *hostinet.Socket:
		return true
	}
	return isNetlinkFile(f)
}

// sockRW serves read(2), write(2), readv(2) and writev(2) on a socket
// (isSocketFile).
func sockRW(t *kernel.Task, f *vfs.File, iovs []iovec, write bool) (uint64, error) {
	if is, ok := asInetSocket(f.Impl()); ok {
		if write {
			return inetSend(t, f, is, iovs, nil, 0)
		}
		res, err := inetRecv(t, f, is, iovs, 0, false)
		return uint64(res.N), err
	}
	s := f.Impl().(*unixsock.Socket)
	if write {
		return sendCommon(t, f, s, iovs, unixsock.Control{}, nil, false, 0)
	}
	res, err := recvCommon(t, f, s, iovs, 0)
	// read(2) has nowhere to put passed descriptors: they are closed.
	unixsock.ReleaseRights(res.Ctl.Rights)
	return uint64(res.N), err
}

// sendTarget resolves the destination address of a datagram send.
func sendTarget(t *kernel.Task, s *unixsock.Socket, addr, addrlen uint64) (*unixsock.Socket, bool, error) {
	if addr == 0 || addrlen == 0 {
		return nil, false, nil
	}
	if s.Type() != unix.SOCK_DGRAM {
		// Streams refuse any address (Send decides how); seqpacket
		// ignores it.
		return nil, s.Type() == unix.SOCK_STREAM, nil
	}
	sa, err := copyInSockaddr(t, addr, addrlen)
	if err != nil {
		return nil, false, err
	}
	if sa.unspec || sa.autobind {
		return nil, false, unix.EINVAL
	}
	target, err := lookupSocket(t, s, sa)
	return target, true, err
}

// Sendto implements Linux syscall sendto(2).
func Sendto(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if int64(args[2]) < 0 {
		return 0, unix.EINVAL
	}
	if is != nil {
		var to []byte
		if args[4] != 0 && args[5] != 0 {
			if to, err = copyInInetAddr(t, args[4], args[5]); err != nil {
				return 0, err
			}
		}
		return inetSend(t, f, is, []iovec{{args[1], args[2]}}, to, int(int32(args[3])))
	}
	to, hasAddr, err := sendTarget(t, s, args[4], args[5])
	if err != nil {
		return 0, err
	}
	return sendCommon(t, f, s, []iovec{{args[1], args[2]}}, unixsock.Control{}, to, hasAddr, int(int32(args[3])))
}

// Recvfrom implements Linux syscall recvfrom(2).
func Recvfrom(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if int64(args[2]) < 0 {
		return 0, unix.EINVAL
	}
	flags := int(int32(args[3]))
	if is != nil {
		return inetRecvfrom(t, f, is, args, flags)
	}
	res, err := recvCommon(t, f, s, []iovec{{args[1], args[2]}}, flags)
	unixsock.ReleaseRights(res.Ctl.Rights)
	if err != nil {
		return 0, err
	}
	if args[4] != 0 {
		if err := copyOutAddr(t, args[4], args[5], fromAddr(res.From)); err != nil {
			return 0, err
		}
	}
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM {
		return uint64(res.MsgLen), nil
	}
	return uint64(res.N), nil
}

// fromAddr is the source address a receive reports: nothing for an
// unnamed sender (Linux leaves msg_namelen 0).
func fromAddr(a *unixsock.Addr) []byte {
	if a == nil {
		return nil
	}
	return a.Sockaddr()
}

// msghdr is struct msghdr.
type msghdr struct {
	name       uint64
	namelen    uint32
	iov        uint64
	iovlen     uint64
	control    uint64
	controllen uint64
	flags      int32
}

func copyInMsghdr(t *kernel.Task, addr uint64) (msghdr, error) {
	var b [sizeofMsghdr]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return msghdr{}, unix.EFAULT
	}
	le := binary.LittleEndian
	return msghdr{
		name: le.Uint64(b[0:]), namelen: le.Uint32(b[8:]), iov: le.Uint64(b[16:]),
		iovlen: le.Uint64(b[24:]), control: le.Uint64(b[32:]), controllen: le.Uint64(b[40:]),
		flags: int32(le.Uint32(b[48:])),
	}, nil
}

// msgIovecs reads a msghdr's iovecs (EMSGSIZE beyond UIO_MAXIOV, as
// sendmsg and recvmsg say).
func msgIovecs(t *kernel.Task, m msghdr) ([]iovec, error) {
	if m.iovlen > uioMaxIov {
		return nil, unix.EMSGSIZE
	}
	return copyInIovecs(t, m.iov, m.iovlen)
}

// copyInControl parses sendmsg's ancillary data: SCM_RIGHTS (the files,
// with references) and SCM_CREDENTIALS (checked as Linux's scm_check_creds
// does). Other levels are ignored, unknown SOL_SOCKET types are EINVAL.
func copyInControl(t *kernel.Task, m msghdr) (unixsock.Control, error) {
	var ctl unixsock.Control
	if m.controllen == 0 {
		return ctl, nil
	}
	if m.controllen > optmemMax {
		return ctl, unix.ENOBUFS
	}
	b := make([]byte, m.controllen)
	if _, err := t.CopyIn(m.control, b); err != nil {
		return ctl, unix.EFAULT
	}
	fail := func(err error) (unixsock.Control, error) {
		unixsock.ReleaseRights(ctl.Rights)
		return unixsock.Control{}, err
	}
	le := binary.LittleEndian
	for off := uint64(0); off+cmsgHdrLen <= uint64(len(b)); {
		l := le.Uint64(b[off:])
		level := int32(le.Uint32(b[off+8:]))
		typ := int32(le.Uint32(b[off+12:]))
		if l < cmsgHdrLen || l > uint64(len(b))-off {
			return fail(unix.EINVAL)
		}
		data := b[off+cmsgHdrLen : off+l]
		if level == unix.SOL_SOCKET {
			switch typ {
			case unix.SCM_RIGHTS:
				n := len(data) / 4
				if n == 0 || len(ctl.Rights)+n > scmMaxFD {
					return fail(unix.EINVAL)
				}
				for i := 0; i < n; i++ {
					fd := int32(le.Uint32(data[4*i:]))
					file, err := getFile(t, fd)
					if err != nil {
						return fail(unix.EBADF)
					}
					ctl.Rights = append(ctl.Rights, file)
				}
			case unix.SCM_CREDENTIALS:
				if len(data) != 12 {
					return fail(unix.EINVAL)
				}
				c, err := checkCred(t, int32(le.Uint32(data)), le.Uint32(data[4:]), le.Uint32(data[8:]))
				if err != nil {
					return fail(err)
				}
				ctl.Cred = &c
			default:
				return fail(unix.EINVAL)
			}
		}
		off += cmsgAlign(l)
	}
	return ctl, nil
}

// checkCred checks credentials a sender claims (SCM_CREDENTIALS), IDs of
// its user namespace (EINVAL without a mapping there, scm_check_creds):
// its own process unless CAP_SYS_ADMIN, one of its user and group IDs
// unless CAP_SETUID and CAP_SETGID in its namespace.
func checkCred(t *kernel.Task, pid int32, uid, gid uint32) (unixsock.Cred, error) {
	c := t.Credentials()
	if uid == ^uint32(0) || gid == ^uint32(0) {
		return unixsock.Cred{}, unix.EINVAL
	}
	if err := kernelIDs(t, false, &uid); err != nil {
		return unixsock.Cred{}, err
	}
	if err := kernelIDs(t, true, &gid); err != nil {
		return unixsock.Cred{}, err
	}
	if pid != t.TGID() && !c.HasCap(kernel.CapSysAdmin) {
		return unixsock.Cred{}, unix.EPERM
	}
	if uid != c.UID && uid != c.EUID && uid != c.SUID && !c.HasOwnCap(kernel.CapSetuid) {
		return unixsock.Cred{}, unix.EPERM
	}
	if gid != c.GID && gid != c.EGID && gid != c.SGID && !c.HasOwnCap(kernel.CapSetgid) {
		return unixsock.Cred{}, unix.EPERM
	}
	root, ok := t.RootOf(pid)
	if !ok {
		return unixsock.Cred{}, unix.ESRCH
	}
	return unixsock.Cred{PID: root, UID: uid, GID: gid}, nil
}

// Sendmsg implements Linux syscall sendmsg(2).
func Sendmsg(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	m, err := copyInMsghdr(t, args[1])
	if err != nil {
		return 0, err
	}
	if is != nil {
		return inetSendmsgOne(t, f, is, m, int(int32(args[2])))
	}
	return sendmsgOne(t, f, s, m, int(int32(args[2])))
}

func sendmsgOne(t *kernel.Task, f *vfs.File, s *unixsock.Socket, m msghdr, flags int) (uint64, error) {
	iovs, err := msgIovecs(t, m)
	if err != nil {
		return 0, err
	}
	to, hasAddr, err := sendTarget(t, s, m.name, uint64(m.namelen))
	if err != nil {
		return 0, err
	}
	ctl, err := copyInControl(t, m)
	if err != nil {
		return 0, err
	}
	return sendCommon(t, f, s, iovs, ctl, to, hasAddr, flags)
}

// Recvmsg implements Linux syscall recvmsg(2).
func Recvmsg(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if is != nil {
		return inetRecvmsgOne(t, f, is, args[1], int(int32(args[2])))
	}
	return recvmsgOne(t, f, s, args[1], int(int32(args[2])))
}

// recvmsgOne serves one recvmsg on a unix socket, with the msghdr at
// maddr.
func recvmsgOne(t *kernel.Task, f *vfs.File, s *unixsock.Socket, maddr uint64, flags int) (uint64, error) {
	m, err := copyInMsghdr(t, maddr)
	if err != nil {
		return 0, err
	}
	iovs, err := msgIovecs(t, m)
	if err != nil {
		return 0, err
	}
	res, err := recvCommon(t, f, s, iovs, flags)
	if err != nil {
		return 0, err
	}
	// Linux starts msg_flags from the caller's MSG_CMSG_CLOEXEC.
	mflags := int32(flags & unix.MSG_CMSG_CLOEXEC)
	if s.Type() != unix.SOCK_STREAM && res.N < res.MsgLen {
		mflags |= unix.MSG_TRUNC
	}
	namelen := uint32(0)
	if m.name != 0 {
		sa := fromAddr(res.From)
		namelen = uint32(len(sa))
		if n := min(int(m.namelen), len(sa)); n > 0 {
			if _, err := t.CopyOut(m.name, sa[:n]); err != nil {
				unixsock.ReleaseRights(res.Ctl.Rights)
				return 0, unix.EFAULT
			}
		}
	}
	used, cflags, err := putControl(t, s, res.Ctl, m.control, m.controllen, flags&unix.MSG_CMSG_CLOEXEC != 0)
	if err != nil {
		return 0, err
	}
	mflags |= cflags
	le := binary.LittleEndian
	var b [4]byte
	le.PutUint32(b[:], namelen)
	if _, err := t.CopyOut(maddr+8, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	var c [8]byte
	le.PutUint64(c[:], used)
	if _, err := t.CopyOut(maddr+40, c[:]); err != nil {
		return 0, unix.EFAULT
	}
	le.PutUint32(b[:], uint32(mflags))
	if _, err := t.CopyOut(maddr+48, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM {
		return uint64(res.MsgLen), nil
	}
	return uint64(res.N), nil
}

// putControl writes a received message's ancillary data, as Linux's
// put_cmsg and scm_detach_fds do: SCM_CREDENTIALS (with SO_PASSCRED)
// then SCM_RIGHTS, each truncated to the room left with MSG_CTRUNC; the
// descriptors that do not fit are closed. It returns the bytes used.
func putControl(t *kernel.Task, s *unixsock.Socket, ctl unixsock.Control, addr, room uint64, cloexec bool) (uint64, int32, error) {
	var out []byte
	var flags int32
	le := binary.LittleEndian
	put := func(typ int32, data []byte) {
		if room < cmsgHdrLen {
			flags |= unix.MSG_CTRUNC
			return
		}
		l := cmsgHdrLen + uint64(len(data))
		if room < l {
			flags |= unix.MSG_CTRUNC
			l = room
		}
		rec := le.AppendUint64(nil, l)
		rec = le.AppendUint32(rec, unix.SOL_SOCKET)
		rec = le.AppendUint32(rec, uint32(typ))
		rec = append(rec, data...)[:l]
		space := min(cmsgAlign(cmsgHdrLen+uint64(len(data))), room)
		for uint64(len(rec)) < space {
			rec = append(rec, 0)
		}
		out = append(out, rec...)
		room -= space
	}
	if addr == 0 {
		room = 0
	}
	if ctl.Cred != nil && s.PassCred() {
		pid := t.IDOfRoot(ctl.Cred.PID)
		d := le.AppendUint32(nil, uint32(pid))
		d = le.AppendUint32(d, userIDs(t, ctl.Cred.UID)[0])
		d = le.AppendUint32(d, groupIDs(t, ctl.Cred.GID)[0])
		put(unix.SCM_CREDENTIALS, d)
	}
	if n := len(ctl.Rights); n > 0 {
		var fds []byte
		installed := 0
		if room >= cmsgHdrLen {
			fdmax := int((room - cmsgHdrLen) / 4)
			limit := t.RLimit(unix.RLIMIT_NOFILE).Cur
			for installed < min(fdmax, n) {
				fd, err := t.FDs().NewFD(ctl.Rights[installed], 0, cloexec, limit)
				if err != nil {
					break
				}
				fds = le.AppendUint32(fds, uint32(fd))
				installed++
			}
		}
		if installed > 0 {
			put(unix.SCM_RIGHTS, fds)
		}
		if installed < n {
			flags |= unix.MSG_CTRUNC
		}
		// The descriptor table took its own references.
		unixsock.ReleaseRights(ctl.Rights)
	}
	if len(out) > 0 {
		if _, err := t.CopyOut(addr, out); err != nil {
			return 0, 0, unix.EFAULT
		}
	}
	return uint64(len(out)), flags, nil
}

// timeval encodes d as a struct timeval.
func timeval(d time.Duration) []byte {
	d = max(d, 0)
	b := binary.LittleEndian.AppendUint64(nil, uint64(d/time.Second))
	return binary.LittleEndian.AppendUint64(b, uint64((d%time.Second)/time.Microsecond))
}

// Getsockopt implements Linux syscall getsockopt(2) for SOL_SOCKET.
func Getsockopt(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	level, name := int32(args[1]), int32(args[2])
	optval, lenAddr := args[3], args[4]
	if is != nil {
		return inetGetsockopt(t, is, level, name, optval, lenAddr)
	}
	var lb [4]byte
	if _, err := t.CopyIn(lenAddr, lb[:]); err != nil {
		return 0, unix.EFAULT
	}
	l := int32(binary.LittleEndian.Uint32(lb[:]))
	if level != unix.SOL_SOCKET {
		return 0, unix.EOPNOTSUPP
	}
	if l < 0 {
		return 0, unix.EINVAL
	}
	le := binary.LittleEndian
	b2i := func(b bool) int32 {
		if b {
			return 1
		}
		return 0
	}
	var v []byte
	switch name {
	case unix.SO_TYPE:
		v = le.AppendUint32(nil, uint32(s.Type()))
	case unix.SO_DOMAIN:
		v = le.AppendUint32(nil, unix.AF_UNIX)
	case unix.SO_PROTOCOL:
		v = le.AppendUint32(nil, 0)
	case unix.SO_ERROR:
		v = le.AppendUint32(nil, uint32(s.TakeError()))
	case unix.SO_ACCEPTCONN:
		v = le.AppendUint32(nil, uint32(b2i(s.Listening())))
	case unix.SO_SNDBUF:
		v = le.AppendUint32(nil, uint32(s.Buf(true)))
	case unix.SO_RCVBUF:
		v = le.AppendUint32(nil, uint32(s.Buf(false)))
	case unix.SO_PASSCRED:
		v = le.AppendUint32(nil, uint32(b2i(s.PassCred())))
	case unix.SO_PEERCRED:
		c := s.PeerCred()
		pid := int32(0)
		if c.PID != 0 {
			pid = t.IDOfRoot(c.PID)
		}
		v = le.AppendUint32(nil, uint32(pid))
		v = le.AppendUint32(v, c.UID)
		v = le.AppendUint32(v, c.GID)
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW:
		v = timeval(s.Timeout(true))
	case unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		v = timeval(s.Timeout(false))
	case unix.SO_LINGER:
		v = s.Opt(name, 8)
	case unix.SO_REUSEADDR, unix.SO_REUSEPORT, unix.SO_KEEPALIVE, unix.SO_BROADCAST,
		unix.SO_OOBINLINE, unix.SO_PRIORITY, unix.SO_DONTROUTE:
		v = s.Opt(name, 4)
	case unix.SO_RCVLOWAT:
		v = s.Opt(name, 4)
		if le.Uint32(v) == 0 {
			v = le.AppendUint32(nil, 1)
		}
	case unix.SO_SNDLOWAT:
		v = le.AppendUint32(nil, 1)
	case unix.SO_ZEROCOPY:
		v = le.AppendUint32(nil, 0) // never set: only TCP and UDP take it
	case unix.SO_BUSY_POLL, unix.SO_PREFER_BUSY_POLL, unix.SO_BUSY_POLL_BUDGET:
		var err error
		if v, err = sockopt.GetBusyPoll(int(name), int32(le.Uint32(s.Opt(name, 4)))); err != nil {
			return 0, err
		}
	case unix.SO_SELECT_ERR_QUEUE:
		v = s.Opt(name, 4)
	case unix.SO_INCOMING_NAPI_ID:
		v = le.AppendUint32(nil, 0)
	case unix.SO_TXREHASH:
		return 0, unix.EOPNOTSUPP // TCP sockets only
	default:
		return 0, unix.ENOPROTOOPT
	}
	n := min(int(l), len(v))
	if n > 0 {
		if _, err := t.CopyOut(optval, v[:n]); err != nil {
			return 0, unix.EFAULT
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(n))
	if _, err := t.CopyOut(lenAddr, lb[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Setsockopt implements Linux syscall setsockopt(2) for SOL_SOCKET.
func Setsockopt(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	level, name := int32(args[1]), int32(args[2])
	optval, optlen := args[3], int32(args[4])
	if is != nil {
		return inetSetsockopt(t, is, level, name, optval, optlen)
	}
	if level != unix.SOL_SOCKET {
		return 0, unix.EOPNOTSUPP
	}
	if optlen < 0 {
		return 0, unix.EINVAL
	}
	b := make([]byte, min(optlen, 64))
	if _, err := t.CopyIn(optval, b); err != nil {
		return 0, unix.EFAULT
	}
	le := binary.LittleEndian
	switch name {
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW, unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		if len(b) < 16 {
			return 0, unix.EINVAL
		}
		sec, usec := int64(le.Uint64(b)), int64(le.Uint64(b[8:]))
		if usec < 0 || usec >= 1000000 {
			return 0, unix.EDOM
		}
		// {0, 0} is no timeout; a negative time is no wait at all
		// (Linux stores a timeout of 0 jiffies for it).
		d := time.Duration(-1)
		if sec >= 0 {
			d = time.Duration(min(sec, 1<<32))*time.Second + time.Duration(usec)*time.Microsecond
		}
		s.SetTimeout(name == unix.SO_RCVTIMEO || name == unix.SO_RCVTIMEO_NEW, d)
		return 0, nil
	case unix.SO_LINGER:
		if len(b) < 8 {
			return 0, unix.EINVAL
		}
		s.SetOpt(name, b[:8])
		return 0, nil
	}
	if len(b) < 4 {
		return 0, unix.EINVAL
	}
	v := int32(le.Uint32(b))
	valBool := func() []byte {
		if v != 0 {
			return le.AppendUint32(nil, 1)
		}
		return le.AppendUint32(nil, 0)
	}
	switch name {
	case unix.SO_SNDBUF, unix.SO_RCVBUF:
		s.SetBuf(name == unix.SO_SNDBUF, int(max(v, 0)), false)
	case unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE:
		if !t.Credentials().HasCap(capNetAdmin) {
			return 0, unix.EPERM
		}
		s.SetBuf(name == unix.SO_SNDBUFFORCE, int(max(v, 0)), true)
	case unix.SO_PASSCRED:
		s.SetPassCred(v != 0)
	case unix.SO_REUSEADDR, unix.SO_REUSEPORT, unix.SO_KEEPALIVE, unix.SO_BROADCAST,
		unix.SO_OOBINLINE, unix.SO_DONTROUTE:
		s.SetOpt(name, valBool())
	case unix.SO_PRIORITY:
		if (v < 0 || v > 6) && !t.Credentials().HasCap(capNetAdmin) {
			return 0, unix.EPERM
		}
		s.SetOpt(name, b[:4])
	case unix.SO_RCVLOWAT:
		if v < 0 {
			v = 1<<31 - 1
		}
		s.SetOpt(name, le.AppendUint32(nil, uint32(v)))
	case unix.SO_ZEROCOPY, unix.SO_TXREHASH:
		return 0, unix.EOPNOTSUPP // sk_setsockopt: TCP and UDP (zerocopy), TCP (txrehash) only
	case unix.SO_BUSY_POLL, unix.SO_PREFER_BUSY_POLL, unix.SO_BUSY_POLL_BUDGET:
		kept, err := sockopt.SetBusyPoll(int(name), v, int32(le.Uint32(s.Opt(name, 4))), t.Credentials().HasCap(capNetAdmin))
		if err != nil {
			return 0, err
		}
		s.SetOpt(name, le.AppendUint32(nil, uint32(kept)))
	case unix.SO_SELECT_ERR_QUEUE:
		s.SetOpt(name, valBool())
	case unix.SO_TYPE, unix.SO_DOMAIN, unix.SO_PROTOCOL, unix.SO_ERROR, unix.SO_ACCEPTCONN, unix.SO_PEERCRED:
		// Read-only options.
		return 0, unix.ENOPROTOOPT
	default:
		return 0, unix.ENOPROTOOPT
	}
	return 0, nil
}
