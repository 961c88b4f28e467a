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
	futexWaitBitset    = 9
	futexWakeBitset    = 10
	futexPrivateFlag   = 128
	futexClockRealtime = 256
)

// Futex implements Linux syscall futex(2) for a sandbox with one task: no
// other task can wake a waiter, so a wait whose value matches sleeps until
// its timeout (or forever without one, as it would on Linux), and wakes
// find no waiters.
func Futex(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	addr, op, val := args[0], int(args[1]), uint32(args[2])
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	cmd := op &^ (futexPrivateFlag | futexClockRealtime)
	switch cmd {
	case futexWait, futexWaitBitset:
		if cmd == futexWaitBitset && uint32(args[5]) == 0 {
			return 0, unix.EINVAL
		}
		var b [4]byte
		if _, err := t.CopyIn(addr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		if binary.LittleEndian.Uint32(b[:]) != val {
			return 0, unix.EAGAIN
		}
		if args[3] == 0 {
			// Nothing can wake it: block for good, like Linux.
			select {}
		}
		ts, err := copyInTimespec(t, args[3])
		if err != nil {
			return 0, err
		}
		d := time.Duration(ts.Nano())
		if cmd == futexWaitBitset {
			// Absolute deadline on the chosen clock.
			clock := int32(unix.CLOCK_MONOTONIC)
			if op&futexClockRealtime != 0 {
				clock = unix.CLOCK_REALTIME
			}
			var now unix.Timespec
			_ = unix.ClockGettime(clock, &now)
			d -= time.Duration(now.Nano())
		}
		sleepFor(d)
		return 0, unix.ETIMEDOUT
	case futexWake, futexWakeBitset:
		if cmd == futexWakeBitset && uint32(args[5]) == 0 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case futexRequeue, futexCmpRequeue, futexWakeOp:
		if cmd == futexCmpRequeue {
			var b [4]byte
			if _, err := t.CopyIn(addr, b[:]); err != nil {
				return 0, unix.EFAULT
			}
			if binary.LittleEndian.Uint32(b[:]) != uint32(args[5]) {
				return 0, unix.EAGAIN
			}
		}
		return 0, nil
	}
	return 0, unix.ENOSYS
}

// Prctl implements Linux syscall prctl(2) for the options a single process
// uses.
func Prctl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	switch args[0] {
	case unix.PR_SET_NAME:
		name, err := t.CopyInString(args[1], 4096)
		if err != nil && err != unix.ENAMETOOLONG {
			return 0, unix.EFAULT
		}
		if len(name) > 15 {
			name = name[:15]
		}
		t.SetName(name)
		return 0, nil
	case unix.PR_GET_NAME:
		var b [16]byte
		copy(b[:15], t.Name())
		if _, err := t.CopyOut(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case unix.PR_GET_DUMPABLE:
		return 0, nil
	case unix.PR_SET_DUMPABLE:
		if args[1] > 1 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case unix.PR_GET_NO_NEW_PRIVS:
		return 1, nil
	case unix.PR_SET_NO_NEW_PRIVS:
		if args[1] != 1 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case unix.PR_CAPBSET_READ:
		if args[1] > 63 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case unix.PR_GET_SECCOMP:
		return 0, nil
	case unix.PR_SET_PDEATHSIG, unix.PR_SET_CHILD_SUBREAPER, unix.PR_SET_TIMERSLACK, unix.PR_SET_VMA:
		return 0, nil
	case unix.PR_GET_PDEATHSIG, unix.PR_GET_CHILD_SUBREAPER:
		var zero [4]byte
		if _, err := t.CopyOut(args[1], zero[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}
