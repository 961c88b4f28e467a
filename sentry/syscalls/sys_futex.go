package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
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

// Futex implements Linux syscall futex(2) (the PI operations are not
// supported yet and return ENOSYS).
func Futex(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	addr, op, val := args[0], int(args[1]), uint32(args[2])
	private := op&futexPrivateFlag != 0
	cmd := op &^ (futexPrivateFlag | futexClockRealtime)
	if op&futexClockRealtime != 0 && cmd != futexWaitBitset && cmd != futexWait {
		return 0, unix.ENOSYS
	}
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := uint32(0xffffffff)
		if cmd == futexWaitBitset {
			bitset = uint32(args[5])
		}
		var deadline time.Time
		if args[3] != 0 {
			ts, err := copyInTimespec(t, args[3])
			if err != nil {
				return 0, err
			}
			if cmd == futexWait {
				// FUTEX_WAIT's timeout is relative.
				deadline = time.Now().Add(time.Duration(ts.Nano()))
			} else {
				clock := int32(unix.CLOCK_MONOTONIC)
				if op&futexClockRealtime != 0 {
					clock = unix.CLOCK_REALTIME
				}
				var now unix.Timespec
				_ = unix.ClockGettime(clock, &now)
				deadline = time.Now().Add(time.Duration(ts.Nano() - now.Nano()))
			}
		}
		err := t.FutexWait(addr, private, val, bitset, deadline)
		if err == kernel.ERESTARTSYS && !deadline.IsZero() {
			// A timed wait is not restarted with a stale deadline.
			return 0, kernel.ERESTARTNOHAND
		}
		return 0, err
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
		if t.Dumpable() {
			return 1, nil
		}
		return 0, nil
	case unix.PR_SET_DUMPABLE:
		if args[1] > 1 {
			return 0, unix.EINVAL
		}
		t.SetDumpable(args[1] == 1)
		return 0, nil
	case unix.PR_GET_NO_NEW_PRIVS:
		if args[1]|args[2]|args[3]|args[4] != 0 {
			return 0, unix.EINVAL
		}
		if t.NoNewPrivs() {
			return 1, nil
		}
		return 0, nil
	case unix.PR_SET_NO_NEW_PRIVS:
		if args[1] != 1 || args[2]|args[3]|args[4] != 0 {
			return 0, unix.EINVAL
		}
		t.SetNoNewPrivs()
		return 0, nil
	case unix.PR_GET_KEEPCAPS:
		if t.KeepCaps() {
			return 1, nil
		}
		return 0, nil
	case unix.PR_SET_KEEPCAPS:
		if args[1] > 1 {
			return 0, unix.EINVAL
		}
		t.SetKeepCaps(args[1] == 1)
		return 0, nil
	case unix.PR_CAPBSET_READ:
		if args[1] > kernel.CapLast {
			return 0, unix.EINVAL
		}
		if t.Credentials().Caps.Bounding&(1<<args[1]) != 0 {
			return 1, nil
		}
		return 0, nil
	case unix.PR_CAPBSET_DROP:
		return 0, t.DropBoundingCap(int(args[1]))
	case unix.PR_CAP_AMBIENT:
		var ret uint64
		var err error
		t.UpdateCredentials(func(c *kernel.Credentials) {
			ret, err = capAmbient(&c.Caps, args[1], args[2])
		})
		return ret, err
	case unix.PR_GET_SECCOMP:
		return seccomp.PrctlGetSeccomp(t.SeccompState())
	case unix.PR_SET_SECCOMP:
		return seccomp.PrctlSetSeccomp(t.SeccompCaller(), args[1], args[2])
	case unix.PR_SET_CHILD_SUBREAPER:
		t.Kernel().SetSubreaper(t.ThreadGroup(), args[1] != 0)
		return 0, nil
	case unix.PR_GET_CHILD_SUBREAPER:
		var b [4]byte
		if t.Kernel().Subreaper(t.ThreadGroup()) {
			b[0] = 1
		}
		if _, err := t.CopyOut(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case unix.PR_SET_PDEATHSIG:
		if args[1] > kernel.NumSignals {
			return 0, unix.EINVAL
		}
		t.SetPDeathSig(unix.Signal(args[1]))
		return 0, nil
	case unix.PR_GET_PDEATHSIG:
		var b [4]byte
		b[0] = byte(t.PDeathSig())
		if _, err := t.CopyOut(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case unix.PR_SET_TIMERSLACK, unix.PR_SET_VMA:
		return 0, nil
	}
	return 0, unix.EINVAL
}

// Seccomp implements Linux syscall seccomp(2) for the application's own
// filters.
func Seccomp(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return seccomp.Seccomp(t.SeccompCaller(), args[0], args[1], args[2])
}

// capAmbient implements PR_CAP_AMBIENT on caps.
func capAmbient(c *kernel.Capabilities, op, capNum uint64) (uint64, error) {
	if op == unix.PR_CAP_AMBIENT_CLEAR_ALL {
		c.Ambient = 0
		return 0, nil
	}
	if capNum > kernel.CapLast {
		return 0, unix.EINVAL
	}
	bit := uint64(1) << capNum
	switch op {
	case unix.PR_CAP_AMBIENT_IS_SET:
		if c.Ambient&bit != 0 {
			return 1, nil
		}
		return 0, nil
	case unix.PR_CAP_AMBIENT_RAISE:
		if c.Permitted&bit == 0 || c.Inheritable&bit == 0 {
			return 0, unix.EPERM
		}
		c.Ambient |= bit
		return 0, nil
	case unix.PR_CAP_AMBIENT_LOWER:
		c.Ambient &^= bit
		return 0, nil
	}
	return 0, unix.EINVAL
}
