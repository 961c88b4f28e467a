package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/mqueue"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// POSIX message queues (ipc/mqueue.c); the queues are in
// sentry/kernel/mqueue*.go, their file system in sentry/fs/mqueue. Each
// handler checks its arguments in Linux's order, so that a call with
// several faults fails with the errno Linux gives.

// sizeofSigevent is sizeof(struct sigevent).
const sizeofSigevent = 64

// mqFile returns the queue behind descriptor fd and its file, with a
// reference the caller drops: EBADF for a descriptor that is not a queue
// (O_PATH ones included, as fdget refuses them).
func mqFile(t *kernel.Task, fd int32) (*vfs.File, *kernel.MQueue, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	mf, ok := f.Impl().(*mqueue.File)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EBADF
	}
	return f, mf.Queue(), nil
}

// mqDeadline reads an absolute CLOCK_REALTIME timeout (zero time: none);
// EINVAL for an invalid timespec (prepare_timeout).
func mqDeadline(t *kernel.Task, addr uint64) (time.Time, error) {
	if addr == 0 {
		return time.Time{}, nil
	}
	var b [16]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return time.Time{}, unix.EFAULT
	}
	sec := int64(binary.LittleEndian.Uint64(b[0:]))
	nsec := binary.LittleEndian.Uint64(b[8:])
	if sec < 0 || nsec >= 1e9 {
		return time.Time{}, unix.EINVAL
	}
	return time.Unix(sec, int64(nsec)), nil
}

// MqOpen implements Linux syscall mq_open(2). Descriptors are always
// close-on-exec (do_mq_open asks for O_CLOEXEC whatever oflag says).
func MqOpen(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	oflag, mode := int(int32(args[1])), uint32(args[2])
	var attr *kernel.MQAttr
	if args[3] != 0 {
		b := make([]byte, kernel.SizeofMQAttr)
		if _, err := t.CopyIn(args[3], b); err != nil {
			return 0, unix.EFAULT
		}
		a := kernel.DecodeMQAttr(b)
		attr = &a
	}
	name, err := t.CopyInString(args[0], vfs.PathMax)
	if err != nil {
		return 0, err
	}
	if name == "" {
		return 0, unix.ENOENT // getname
	}
	limit := t.RLimit(unix.RLIMIT_NOFILE).Cur
	if !t.FDs().HasFreeFD(limit) {
		return 0, unix.EMFILE
	}
	if err := kernel.CheckMQName(name); err != nil {
		return 0, err
	}
	q, created, err := t.MQOpen(name, oflag, mode, attr)
	if err != nil {
		return 0, err
	}
	ns := t.IPCNamespace().MQueues()
	f := mqueue.Get(ns).OpenQueue(q, oflag&(unix.O_ACCMODE|unix.O_NONBLOCK))
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, true, limit)
	if err != nil {
		if created {
			ns.Forget(q)
		}
		return 0, err
	}
	return uint64(fd), nil
}

// MqUnlink implements Linux syscall mq_unlink(2): the name goes through
// the namespace's internal mount, with unlink(2)'s permission rules (the
// directory is sticky: only the queue's or the directory's owner, or
// CAP_FOWNER, may remove a name).
func MqUnlink(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	name, err := t.CopyInString(args[0], vfs.PathMax)
	if err != nil {
		return 0, err
	}
	if err := kernel.CheckMQName(name); err != nil {
		return 0, err
	}
	ns := t.IPCNamespace().MQueues()
	if ns.Lookup(name) == nil {
		return 0, unix.ENOENT
	}
	return 0, mqueue.Get(ns).InternalRoot().Unlink(name, t.FSCreds())
}

// MqTimedsend implements Linux syscall mq_timedsend(2).
func MqTimedsend(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	deadline, err := mqDeadline(t, args[4])
	if err != nil {
		return 0, err
	}
	prio := uint32(args[3])
	if prio >= kernel.MQPrioMax {
		return 0, unix.EINVAL
	}
	f, q, err := mqFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Writable() {
		return 0, unix.EBADF
	}
	if args[2] > uint64(q.MsgSize()) {
		return 0, unix.EMSGSIZE
	}
	text := make([]byte, args[2])
	if _, err := t.CopyIn(args[1], text); err != nil {
		return 0, unix.EFAULT
	}
	nonblock := f.StatusFlags()&unix.O_NONBLOCK != 0
	return 0, t.MQTimedSend(q, text, prio, nonblock, deadline)
}

// MqTimedreceive implements Linux syscall mq_timedreceive(2). A message
// whose copy-out faults is lost, as in Linux.
func MqTimedreceive(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	deadline, err := mqDeadline(t, args[4])
	if err != nil {
		return 0, err
	}
	f, q, err := mqFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Readable() {
		return 0, unix.EBADF
	}
	if args[2] < uint64(q.MsgSize()) {
		return 0, unix.EMSGSIZE
	}
	nonblock := f.StatusFlags()&unix.O_NONBLOCK != 0
	text, prio, err := t.MQTimedReceive(q, nonblock, deadline)
	if err != nil {
		return 0, err
	}
	if args[3] != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], prio)
		if _, err := t.CopyOut(args[3], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if _, err := t.CopyOut(args[1], text); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(text)), nil
}

// MqNotify implements Linux syscall mq_notify(2). SIGEV_THREAD names a
// socket that takes mq_notify cookies (kernel.MQNotifySink; Linux's
// netlink sockets) in sigev_signo and the cookie's address in
// sigev_value; other descriptors fail as in Linux (EBADF, ENOTSOCK,
// EINVAL).
func MqNotify(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var ev *kernel.MQSigevent
	if args[1] != 0 {
		b := make([]byte, sizeofSigevent)
		if _, err := t.CopyIn(args[1], b); err != nil {
			return 0, unix.EFAULT
		}
		le := binary.LittleEndian
		ev = &kernel.MQSigevent{
			Value:  le.Uint64(b[0:]),
			Signo:  int32(le.Uint32(b[8:])),
			Notify: int32(le.Uint32(b[12:])),
		}
		switch ev.Notify {
		case kernel.SigevNone, kernel.SigevSignal, kernel.SigevThread:
		default:
			return 0, unix.EINVAL
		}
		// valid_signal: 0 to _NSIG.
		if ev.Notify == kernel.SigevSignal && uint32(ev.Signo) > 64 {
			return 0, unix.EINVAL
		}
		if ev.Notify == kernel.SigevThread {
			if err := mqNotifySink(t, ev); err != nil {
				return 0, err
			}
		}
	}
	f, q, err := mqFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, t.MQNotify(q, ev)
}

// Netlink sockets take SIGEV_THREAD's cookies, for glibc's helper thread.
var _ kernel.MQNotifySink = (*netlink.Socket)(nil)

// mqNotifySink reads SIGEV_THREAD's cookie and finds its socket, as
// do_mq_notify and netlink_getsockbyfilp do.
func mqNotifySink(t *kernel.Task, ev *kernel.MQSigevent) error {
	cookie := make([]byte, kernel.MQNotifyCookieLen)
	if _, err := t.CopyIn(ev.Value, cookie); err != nil {
		return unix.EFAULT
	}
	sf, err := getFile(t, ev.Signo)
	if err != nil {
		return err
	}
	defer sf.DecRef()
	st, err := sf.Impl().Stat()
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return unix.ENOTSOCK
	}
	sink, ok := sf.Impl().(kernel.MQNotifySink)
	if !ok {
		return unix.EINVAL // a socket of another family
	}
	ev.Sink, ev.Cookie = sink, cookie
	return nil
}

// MqGetsetattr implements Linux syscall mq_getsetattr(2): only
// O_NONBLOCK of mq_flags can change.
func MqGetsetattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var set *kernel.MQAttr
	if args[1] != 0 {
		b := make([]byte, kernel.SizeofMQAttr)
		if _, err := t.CopyIn(args[1], b); err != nil {
			return 0, unix.EFAULT
		}
		a := kernel.DecodeMQAttr(b)
		if a.Flags&^unix.O_NONBLOCK != 0 {
			return 0, unix.EINVAL
		}
		set = &a
	}
	f, q, err := mqFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	old := q.GetSetAttr(f, set)
	if args[2] != 0 {
		if _, err := t.CopyOut(args[2], old.Encode()); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}
