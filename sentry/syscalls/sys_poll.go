package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/eventfd"
	"github.com/cocoonrt/cocoon/sentry/fs/eventpoll"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// pollNVal is POLLNVAL.
const pollNVal = 0x20

// readiness returns the ready events of f among mask. Files that cannot
// be waited for (regular files, host streams) are always ready, as Linux's
// poll treats files without a poll method.
func readiness(f *vfs.File, mask uint32) uint32 {
	if w, ok := f.Impl().(waiter.Waitable); ok {
		r := w.Readiness(mask | waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp)
		// POLLRDNORM and POLLWRNORM go with POLLIN and POLLOUT.
		if r&waiter.EventIn != 0 {
			r |= 0x40
		}
		if r&waiter.EventOut != 0 {
			r |= 0x100
		}
		return r & (mask | waiter.EventErr | waiter.EventHUp)
	}
	// DEFAULT_POLLMASK: POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM.
	return (waiter.EventIn | waiter.EventOut | 0x40 | 0x100) & mask
}

type pollEntry struct {
	fd      int32
	events  uint32
	revents uint32
	file    *vfs.File
}

// doPoll waits until one of the entries is ready, the deadline passes
// (zero: never; past: don't wait) or a signal arrives.
func doPoll(t *kernel.Task, entries []pollEntry, deadline time.Time, noWait bool) (int, error) {
	for i := range entries {
		if entries[i].fd < 0 {
			continue
		}
		if f, err := getFile(t, entries[i].fd); err == nil {
			entries[i].file = f
			defer f.DecRef()
		}
	}
	ch := waiter.NewChannel()
	registered := false
	defer func() {
		if registered {
			for _, e := range entries {
				if w, ok := fileWaitable(e.file); ok {
					w.EventUnregister(ch)
				}
			}
		}
	}()
	for {
		n := 0
		for i := range entries {
			e := &entries[i]
			e.revents = 0
			switch {
			case e.fd < 0:
			case e.file == nil:
				e.revents = pollNVal
			default:
				e.revents = readiness(e.file, e.events)
			}
			if e.revents != 0 {
				n++
			}
		}
		if n > 0 || noWait {
			return n, nil
		}
		if !registered {
			for _, e := range entries {
				if w, ok := fileWaitable(e.file); ok {
					w.EventRegister(ch, e.events|waiter.EventErr|waiter.EventHUp)
				}
			}
			registered = true
			continue // re-check: an event may have come before registering
		}
		timedOut, err := t.BlockUntil(ch, deadline)
		if err != nil {
			return 0, kernel.ERESTARTNOHAND
		}
		if timedOut {
			return 0, nil
		}
	}
}

func fileWaitable(f *vfs.File) (waiter.Waitable, bool) {
	if f == nil {
		return nil, false
	}
	w, ok := f.Impl().(waiter.Waitable)
	return w, ok
}

func pollCall(t *kernel.Task, addr uint64, nfds uint64, deadline time.Time, noWait bool) (uint64, error) {
	if nfds > uint64(t.RLimit(unix.RLIMIT_NOFILE).Cur) || nfds > 1<<20 {
		return 0, unix.EINVAL
	}
	raw := make([]byte, 8*nfds)
	if _, err := t.CopyIn(addr, raw); err != nil {
		return 0, unix.EFAULT
	}
	entries := make([]pollEntry, nfds)
	for i := range entries {
		entries[i].fd = int32(binary.LittleEndian.Uint32(raw[8*i:]))
		entries[i].events = uint32(binary.LittleEndian.Uint16(raw[8*i+4:]))
	}
	n, err := doPoll(t, entries, deadline, noWait)
	if err != nil {
		return 0, err
	}
	for i, e := range entries {
		binary.LittleEndian.PutUint16(raw[8*i+6:], uint16(e.revents))
	}
	if _, err := t.CopyOut(addr, raw); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(n), nil
}

// Poll implements Linux syscall poll(2).
func Poll(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	timeout := int32(args[2])
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(time.Duration(timeout) * time.Millisecond)
	}
	return pollCall(t, args[0], args[1], deadline, timeout == 0)
}

// withSigmask runs fn with the mask at addr installed (ppoll, pselect,
// epoll_pwait); the original mask comes back after fn unless a handler
// runs for the interrupting signal, in which case it returns with
// sigreturn, as Linux does.
func withSigmask(t *kernel.Task, addr, size uint64, fn func() (uint64, error)) (uint64, error) {
	if addr == 0 {
		return fn()
	}
	if size != sigsetSize {
		return 0, unix.EINVAL
	}
	mask, err := copyInSigSet(t, addr)
	if err != nil {
		return 0, err
	}
	t.SetSavedSigMask(mask)
	n, err := fn()
	if err == nil {
		t.RestoreSavedSigMask()
	}
	return n, err
}

// Ppoll implements Linux syscall ppoll(2).
func Ppoll(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var deadline time.Time
	noWait := false
	if args[2] != 0 {
		ts, err := copyInTimespec(t, args[2])
		if err != nil {
			return 0, err
		}
		noWait = ts.Sec == 0 && ts.Nsec == 0
		deadline = time.Now().Add(time.Duration(ts.Nano()))
	}
	return withSigmask(t, args[3], args[4], func() (uint64, error) {
		return pollCall(t, args[0], args[1], deadline, noWait)
	})
}

// selectCall implements select/pselect6 over fd_set bitmaps.
func selectCall(t *kernel.Task, nfds int32, readAddr, writeAddr, exceptAddr uint64, deadline time.Time, noWait bool) (uint64, error) {
	if nfds < 0 || uint64(nfds) > t.RLimit(unix.RLIMIT_NOFILE).Cur {
		return 0, unix.EINVAL
	}
	size := (int(nfds) + 63) / 64 * 8
	sets := [3][]byte{}
	for i, a := range []uint64{readAddr, writeAddr, exceptAddr} {
		if a == 0 {
			continue
		}
		sets[i] = make([]byte, size)
		if _, err := t.CopyIn(a, sets[i]); err != nil {
			return 0, unix.EFAULT
		}
	}
	masks := [3]uint32{waiter.EventIn | waiter.EventHUp | waiter.EventErr, waiter.EventOut | waiter.EventErr, waiter.EventPri}
	var entries []pollEntry
	for fd := int32(0); fd < nfds; fd++ {
		var ev uint32
		for i := range sets {
			if sets[i] != nil && sets[i][fd/8]&(1<<(fd%8)) != 0 {
				ev |= masks[i]
			}
		}
		if ev != 0 {
			entries = append(entries, pollEntry{fd: fd, events: ev})
		}
	}
	if _, err := doPoll(t, entries, deadline, noWait); err != nil {
		return 0, err
	}
	n := 0
	for i := range sets {
		if sets[i] != nil {
			clear(sets[i])
		}
	}
	for _, e := range entries {
		if e.revents&pollNVal != 0 {
			return 0, unix.EBADF
		}
		for i := range sets {
			if sets[i] != nil && e.revents&masks[i] != 0 && e.events&masks[i] != 0 {
				sets[i][e.fd/8] |= 1 << (e.fd % 8)
				n++
			}
		}
	}
	for i, a := range []uint64{readAddr, writeAddr, exceptAddr} {
		if a != 0 {
			if _, err := t.CopyOut(a, sets[i]); err != nil {
				return 0, unix.EFAULT
			}
		}
	}
	return uint64(n), nil
}

// Select implements Linux syscall select(2).
func Select(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var deadline time.Time
	noWait := false
	if args[4] != 0 {
		var b [16]byte
		if _, err := t.CopyIn(args[4], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		sec, usec := int64(binary.LittleEndian.Uint64(b[0:])), int64(binary.LittleEndian.Uint64(b[8:]))
		if sec < 0 || usec < 0 || usec >= 1e6 {
			return 0, unix.EINVAL
		}
		d := time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
		noWait = d == 0
		deadline = time.Now().Add(d)
	}
	n, err := selectCall(t, int32(args[0]), args[1], args[2], args[3], deadline, noWait)
	if args[4] != 0 && err != unix.EFAULT {
		// Linux's select writes back the time left.
		left := max(time.Until(deadline), 0)
		if noWait {
			left = 0
		}
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(left/time.Second))
		binary.LittleEndian.PutUint64(b[8:], uint64((left%time.Second)/time.Microsecond))
		_, _ = t.CopyOut(args[4], b[:])
	}
	return n, err
}

// Pselect6 implements Linux syscall pselect6(2).
func Pselect6(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var deadline time.Time
	noWait := false
	if args[4] != 0 {
		ts, err := copyInTimespec(t, args[4])
		if err != nil {
			return 0, err
		}
		noWait = ts.Sec == 0 && ts.Nsec == 0
		deadline = time.Now().Add(time.Duration(ts.Nano()))
	}
	var maskAddr, maskSize uint64
	if args[5] != 0 {
		var b [16]byte
		if _, err := t.CopyIn(args[5], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		maskAddr, maskSize = binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint64(b[8:])
	}
	n, err := withSigmask(t, maskAddr, maskSize, func() (uint64, error) {
		return selectCall(t, int32(args[0]), args[1], args[2], args[3], deadline, noWait)
	})
	if args[4] != 0 && err != unix.EFAULT {
		left := max(time.Until(deadline), 0)
		if noWait {
			left = 0
		}
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(left/time.Second))
		binary.LittleEndian.PutUint64(b[8:], uint64(left%time.Second))
		_, _ = t.CopyOut(args[4], b[:])
	}
	return n, err
}

// EpollCreate1 implements Linux syscall epoll_create1(2).
func EpollCreate1(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[0]&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	f := vfs.NewFile(eventpoll.New(), nil, unix.O_RDWR)
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, args[0]&unix.EPOLL_CLOEXEC != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}

// EpollCreate implements Linux syscall epoll_create(2).
func EpollCreate(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if int32(args[0]) <= 0 {
		return 0, unix.EINVAL
	}
	return EpollCreate1(t, arch.SyscallArgs{})
}

func epollInstance(t *kernel.Task, epfd int32) (*eventpoll.Instance, *vfs.File, error) {
	f, err := getFile(t, epfd)
	if err != nil {
		return nil, nil, err
	}
	ep, ok := f.Impl().(*eventpoll.Instance)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EINVAL
	}
	return ep, f, nil
}

// EpollCtl implements Linux syscall epoll_ctl(2).
func EpollCtl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	epfd, op, fd := int32(args[0]), int(args[1]), int32(args[2])
	ep, epf, err := epollInstance(t, epfd)
	if err != nil {
		return 0, err
	}
	defer epf.DecRef()
	target, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer target.DecRef()
	if target == epf {
		return 0, unix.EINVAL
	}
	var events uint32
	var data uint64
	if op != unix.EPOLL_CTL_DEL {
		var b [12]byte
		if _, err := t.CopyIn(args[3], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		events, data = binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint64(b[4:])
	}
	switch op {
	case unix.EPOLL_CTL_ADD:
		return 0, ep.Add(target, fd, events, data)
	case unix.EPOLL_CTL_MOD:
		return 0, ep.Modify(target, fd, events, data)
	case unix.EPOLL_CTL_DEL:
		return 0, ep.Delete(target, fd)
	}
	return 0, unix.EINVAL
}

func epollWait(t *kernel.Task, epfd int32, eventsAddr uint64, maxEvents int32, deadline time.Time, noWait bool) (uint64, error) {
	if maxEvents <= 0 || maxEvents > (1<<31-1)/12 {
		return 0, unix.EINVAL
	}
	ep, epf, err := epollInstance(t, epfd)
	if err != nil {
		return 0, err
	}
	defer epf.DecRef()
	for {
		evs := ep.Ready(int(maxEvents))
		if len(evs) > 0 {
			b := t.Buffer(12 * len(evs))
			for i, e := range evs {
				binary.LittleEndian.PutUint32(b[12*i:], e.Events)
				binary.LittleEndian.PutUint64(b[12*i+4:], e.Data)
			}
			if _, err := t.CopyOut(eventsAddr, b); err != nil {
				return 0, unix.EFAULT
			}
			return uint64(len(evs)), nil
		}
		if noWait {
			return 0, nil
		}
		timedOut, err := t.BlockUntil(ep.Notify(), deadline)
		if err != nil {
			return 0, unix.EINTR
		}
		if timedOut {
			return 0, nil
		}
	}
}

func msDeadline(timeout int32) (time.Time, bool) {
	if timeout < 0 {
		return time.Time{}, false
	}
	return time.Now().Add(time.Duration(timeout) * time.Millisecond), timeout == 0
}

// EpollWait implements Linux syscall epoll_wait(2).
func EpollWait(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	deadline, noWait := msDeadline(int32(args[3]))
	return epollWait(t, int32(args[0]), args[1], int32(args[2]), deadline, noWait)
}

// EpollPwait implements Linux syscall epoll_pwait(2).
func EpollPwait(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	deadline, noWait := msDeadline(int32(args[3]))
	return withSigmask(t, args[4], args[5], func() (uint64, error) {
		return epollWait(t, int32(args[0]), args[1], int32(args[2]), deadline, noWait)
	})
}

// EpollPwait2 implements Linux syscall epoll_pwait2(2): epoll_pwait with a
// timespec timeout, NULL for none.
func EpollPwait2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var deadline time.Time
	noWait := false
	if args[3] != 0 {
		ts, err := copyInTimespec(t, args[3])
		if err != nil {
			return 0, err
		}
		noWait = ts.Sec == 0 && ts.Nsec == 0
		deadline = time.Now().Add(time.Duration(ts.Nano()))
	}
	return withSigmask(t, args[4], args[5], func() (uint64, error) {
		return epollWait(t, int32(args[0]), args[1], int32(args[2]), deadline, noWait)
	})
}

// Eventfd2 implements Linux syscall eventfd2(2).
func Eventfd2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const efdSemaphore = 1
	flags := int(args[1])
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|efdSemaphore) != 0 {
		return 0, unix.EINVAL
	}
	f := vfs.NewFile(eventfd.New(uint64(uint32(args[0])), flags&efdSemaphore != 0), nil, unix.O_RDWR|flags&unix.O_NONBLOCK)
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, flags&unix.EFD_CLOEXEC != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}

// Eventfd implements Linux syscall eventfd(2).
func Eventfd(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return Eventfd2(t, arch.SyscallArgs{args[0], 0})
}
