package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// PidfdOpen implements Linux syscall pidfd_open(2).
func PidfdOpen(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, flags := int32(args[0]), int(args[1])
	if pid <= 0 || flags&^unix.O_NONBLOCK != 0 {
		return 0, unix.EINVAL
	}
	f, err := t.Kernel().NewPIDFD(t.PIDNamespace(), pid, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, true, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}

func pidfdOf(t *kernel.Task, fd int32) (*kernel.PIDFD, func(), error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	p, ok := f.Impl().(*kernel.PIDFD)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EBADF
	}
	return p, f.DecRef, nil
}

// PidfdSendSignal implements Linux syscall pidfd_send_signal(2).
func PidfdSendSignal(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	p, done, err := pidfdOf(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer done()
	sig := unix.Signal(args[1])
	if args[3] != 0 || sig < 0 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	tg := p.ThreadGroup()
	if t.Kernel().ThreadGroupByID(tg.ID()) != tg {
		return 0, unix.ESRCH
	}
	if !t.MaySignal(tg) {
		return 0, unix.EPERM
	}
	info := userInfo(t, sig, kernel.SIUser)
	if args[2] != 0 {
		if info, err = queueInfo(t, args[2], sig, tg == t.ThreadGroup()); err != nil {
			return 0, err
		}
	}
	if sig != 0 {
		t.Kernel().SendGroupSignal(tg, info)
	}
	return 0, nil
}

// PidfdGetfd implements Linux syscall pidfd_getfd(2).
func PidfdGetfd(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[2] != 0 {
		return 0, unix.EINVAL
	}
	p, done, err := pidfdOf(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer done()
	f, err := t.GetFD(p, int32(args[1]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, true, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}
