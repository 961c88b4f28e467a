package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/mm"
)

const (
	mlockOnFault = 1 // MLOCK_ONFAULT
	mclOnFault   = 4 // MCL_ONFAULT
)

// Mlock implements Linux syscall mlock(2).
func Mlock(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return mlock(t, args[0], args[1], false)
}

// Mlock2 implements Linux syscall mlock2(2).
func Mlock2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[2]&^mlockOnFault != 0 {
		return 0, unix.EINVAL
	}
	return mlock(t, args[0], args[1], args[2]&mlockOnFault != 0)
}

// mlock checks RLIMIT_MEMLOCK as Linux's do_mlock does: a caller without
// CAP_IPC_LOCK needs a nonzero limit (EPERM) that the locked memory,
// this range included, stays within (ENOMEM).
func mlock(t *kernel.Task, addr, length uint64, onFault bool) (uint64, error) {
	start, end, ok := mm.LockRange(addr, length)
	if !ok {
		return 0, unix.EINVAL
	}
	if !t.Credentials().HasCap(kernel.CapIPCLock) {
		limit := t.RLimit(unix.RLIMIT_MEMLOCK).Cur
		if limit == 0 {
			return 0, unix.EPERM
		}
		m := t.MM()
		if m.LockedBytes()+m.NewlyLocked(start, end) > limit {
			return 0, unix.ENOMEM
		}
	}
	return 0, t.MM().Mlock(start, end, onFault, false)
}

// Munlock implements Linux syscall munlock(2).
func Munlock(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	start, end, ok := mm.LockRange(args[0], args[1])
	if !ok {
		return 0, unix.EINVAL
	}
	return 0, t.MM().Mlock(start, end, false, true)
}

// Mlockall implements Linux syscall mlockall(2).
func Mlockall(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := args[0]
	if flags&^(unix.MCL_CURRENT|unix.MCL_FUTURE|mclOnFault) != 0 || flags&(unix.MCL_CURRENT|unix.MCL_FUTURE) == 0 {
		return 0, unix.EINVAL
	}
	m := t.MM()
	if !t.Credentials().HasCap(kernel.CapIPCLock) {
		limit := t.RLimit(unix.RLIMIT_MEMLOCK).Cur
		if limit == 0 {
			return 0, unix.EPERM
		}
		if flags&unix.MCL_CURRENT != 0 && m.Usage().VirtualBytes > limit {
			return 0, unix.ENOMEM
		}
	}
	m.MlockAll(flags&unix.MCL_CURRENT != 0, flags&unix.MCL_FUTURE != 0, flags&mclOnFault != 0)
	return 0, nil
}

// Munlockall implements Linux syscall munlockall(2).
func Munlockall(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	t.MM().MunlockAll()
	return 0, nil
}

// mmapLockAllowed applies RLIMIT_MEMLOCK to a new mapping that will be
// locked (MAP_LOCKED, or mlockall(MCL_FUTURE) in force): EAGAIN past it,
// as Linux's mlock_future_ok.
func mmapLockAllowed(t *kernel.Task, locked bool, length uint64) error {
	m := t.MM()
	if !locked && !m.LockFuture() {
		return nil
	}
	if t.Credentials().HasCap(kernel.CapIPCLock) {
		return nil
	}
	length, ok := arch.PageRoundUp(length)
	if limit := t.RLimit(unix.RLIMIT_MEMLOCK).Cur; !ok || m.LockedBytes()+length > limit {
		return unix.EAGAIN
	}
	return nil
}
