package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// Futex operations.
const (
	futexWait          = 0
	futexWake          = 1
	futexRequeue       = 3
	futexCmpRequeue    = 4
	futexWakeOp        = 5
	futexLockPI        = 6
	futexUnlockPI      = 7
	futexTrylockPI     = 8
	futexWaitBitset    = 9
	futexWakeBitset    = 10
	futexWaitRequeuePI = 11
	futexCmpRequeuePI  = 12
	futexLockPI2       = 13
	futexPrivateFlag   = 128
	futexClockRealtime = 256
)

// futexHasTimeout reports whether cmd reads a timeout from the fourth
// argument (for the requeues it is a count).
func futexHasTimeout(cmd int) bool {
	switch cmd {
	case futexWait, futexWaitBitset, futexLockPI, futexLockPI2, futexWaitRequeuePI:
		return true
	}
	return false
}

// futexDeadline converts a futex timeout to a deadline: FUTEX_WAIT's is
// relative; the others are absolute, on CLOCK_REALTIME for FUTEX_LOCK_PI
// and with FUTEX_CLOCK_REALTIME, on CLOCK_MONOTONIC otherwise (Linux's
// futex_init_timeout).
func futexDeadline(cmd int, realtime bool, ts unix.Timespec) time.Time {
	if cmd == futexWait {
		return time.Now().Add(time.Duration(ts.Nano()))
	}
	clock := int32(unix.CLOCK_MONOTONIC)
	if realtime || cmd == futexLockPI {
		clock = unix.CLOCK_REALTIME
	}
	var now unix.Timespec
	_ = unix.ClockGettime(clock, &now)
	return time.Now().Add(time.Duration(ts.Nano() - now.Nano()))
}

// futexWaitRestartable runs a FUTEX_WAIT or FUTEX_WAIT_BITSET. Interrupted,
// an untimed wait is restarted (after a handler only with SA_RESTART); a
// timed one is not after a handler (EINTR), and without one (a stop and a
// continue) goes on through restart_syscall(2) to the same deadline, so a
// relative timeout is not started again: Linux's futex_wait_restart, which
// checks the futex word again.
func futexWaitRestartable(t *kernel.Task, addr uint64, private bool, val, bitset uint32, deadline time.Time) error {
	err := t.FutexWait(addr, private, val, bitset, deadline)
	if err != kernel.ERESTARTSYS || deadline.IsZero() {
		return err
	}
	t.SetRestartBlock(func(t *kernel.Task) (uint64, error) {
		return 0, futexWaitRestartable(t, addr, private, val, bitset, deadline)
	})
	return kernel.ERESTARTRESTARTBLOCK
}

// Futex implements Linux syscall futex(2), the priority-inheritance
// operations included (kernel/futex_pi.go says what "priority
// inheritance" means in the sentry).
func Futex(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	addr, op, val := args[0], int(args[1]), uint32(args[2])
	private := op&futexPrivateFlag != 0
	realtime := op&futexClockRealtime != 0
	cmd := op &^ (futexPrivateFlag | futexClockRealtime)
	var deadline time.Time
	if args[3] != 0 && futexHasTimeout(cmd) {
		ts, err := copyInTimespec(t, args[3])
		if err != nil {
			return 0, err
		}
		deadline = futexDeadline(cmd, realtime, ts)
	}
	if realtime && cmd != futexWaitBitset && cmd != futexWaitRequeuePI && cmd != futexLockPI2 {
		return 0, unix.ENOSYS
	}
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := uint32(0xffffffff)
		if cmd == futexWaitBitset {
			bitset = uint32(args[5])
		}
		return 0, futexWaitRestartable(t, addr, private, val, bitset, deadline)
	case futexWake, futexWakeBitset:
		bitset := uint32(0xffffffff)
		if cmd == futexWakeBitset {
			bitset = uint32(args[5])
		}
		n, err := t.FutexWake(addr, private, int(int32(val)), bitset)
		return uint64(n), err
	case futexRequeue, futexCmpRequeue:
		nRequeue := int(int32(args[3]))
		if int32(val) < 0 || nRequeue < 0 {
			return 0, unix.EINVAL
		}
		n, err := t.FutexRequeue(addr, args[4], private, int(val), nRequeue, cmd == futexCmpRequeue, uint32(args[5]))
		return uint64(n), err
	case futexWakeOp:
		n, err := t.FutexWakeOp(addr, args[4], private, int(int32(val)), int(int32(args[3])), uint32(args[5]))
		return uint64(n), err
	case futexLockPI, futexLockPI2:
		return 0, t.FutexLockPI(addr, private, deadline, false)
	case futexTrylockPI:
		return 0, t.FutexLockPI(addr, private, time.Time{}, true)
	case futexUnlockPI:
		return 0, t.FutexUnlockPI(addr, private)
	case futexWaitRequeuePI:
		return 0, t.FutexWaitRequeuePI(addr, args[4], private, val, deadline)
	case futexCmpRequeuePI:
		// Requeue-PI wakes exactly one waiter, and only when it can
		// take the PI futex for it.
		nRequeue := int(int32(args[3]))
		if int32(val) != 1 || nRequeue < 0 {
			return 0, unix.EINVAL
		}
		n, err := t.FutexCmpRequeuePI(addr, args[4], private, nRequeue, uint32(args[5]))
		return uint64(n), err
	}
	return 0, unix.ENOSYS
}

// futex_waitv(2) limits and flags (linux/futex.h).
const (
	futexWaitvMax  = 128
	futex2SizeMask = 0x03
	futex2SizeU32  = 0x02
	futex2Private  = futexPrivateFlag
)

// FutexWaitv implements Linux syscall futex_waitv(2): wait on up to 128
// 32-bit futexes at once, until one is woken (its index is returned), the
// absolute timeout on clockid passes, or a signal comes. Only 32-bit
// futexes exist, as in Linux; FUTEX2_NUMA (Linux 6.16) is not accepted,
// as in the 6.1 kernel the sandbox reports.
func FutexWaitv(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	waiters, n, flags, timeout, clockid := args[0], uint32(args[1]), uint32(args[2]), args[3], int32(args[4])
	if flags != 0 || n == 0 || n > futexWaitvMax || waiters == 0 {
		return 0, unix.EINVAL
	}
	var deadline time.Time
	if timeout != 0 {
		if clockid != unix.CLOCK_MONOTONIC && clockid != unix.CLOCK_REALTIME {
			return 0, unix.EINVAL
		}
		ts, err := copyInTimespec(t, timeout)
		if err != nil {
			return 0, err
		}
		deadline = futexDeadline(futexWaitBitset, clockid == unix.CLOCK_REALTIME, ts)
	}
	entries := make([]kernel.FutexWaitvEntry, n)
	le := binary.LittleEndian
	for i := range entries {
		// struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 __reserved; }
		var b [24]byte
		if _, err := t.CopyIn(waiters+uint64(i)*24, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		e := &entries[i]
		e.Val, e.Addr = le.Uint64(b[0:]), le.Uint64(b[8:])
		wflags, reserved := le.Uint32(b[16:]), le.Uint32(b[20:])
		if wflags&^(futex2SizeMask|futex2Private) != 0 || reserved != 0 ||
			wflags&futex2SizeMask != futex2SizeU32 || e.Val>>32 != 0 {
			return 0, unix.EINVAL
		}
		e.Private = wflags&futex2Private != 0
	}
	idx, err := t.FutexWaitv(entries, deadline)
	return uint64(idx), err
}
