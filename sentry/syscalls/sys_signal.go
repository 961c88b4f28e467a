package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// Signal actions and masks are recorded so programs that install handlers
// run; delivery comes with the signals work.

const sigsetSize = 8

// RtSigaction implements Linux syscall rt_sigaction(2).
func RtSigaction(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	sig := int(args[0])
	if args[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	if sig < 1 || sig > 64 {
		return 0, unix.EINVAL
	}
	act := t.SigAction(sig)
	old := *act
	if args[1] != 0 {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			return 0, unix.EINVAL
		}
		var b [32]byte
		if _, err := t.CopyIn(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		for i := range act {
			act[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
	}
	if args[2] != 0 {
		var b [32]byte
		for i, v := range old {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
		if _, err := t.CopyOut(args[2], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// RtSigprocmask implements Linux syscall rt_sigprocmask(2).
func RtSigprocmask(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	how := int(args[0])
	if args[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	mask := t.SigMask()
	old := *mask
	if args[1] != 0 {
		var b [8]byte
		if _, err := t.CopyIn(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		set := binary.LittleEndian.Uint64(b[:])
		// SIGKILL and SIGSTOP cannot be blocked.
		set &^= 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)
		switch how {
		case unix.SIG_BLOCK:
			*mask |= set
		case unix.SIG_UNBLOCK:
			*mask &^= set
		case unix.SIG_SETMASK:
			*mask = set
		default:
			return 0, unix.EINVAL
		}
	}
	if args[2] != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], old)
		if _, err := t.CopyOut(args[2], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// Sigaltstack implements Linux syscall sigaltstack(2).
func Sigaltstack(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const ssDisable, minSigStackSize = 2, 2048
	alt := t.AltStack()
	old := *alt
	if args[0] != 0 {
		var b [24]byte
		if _, err := t.CopyIn(args[0], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		sp, flags, size := binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint64(b[16:])
		if flags&^ssDisable != 0 {
			return 0, unix.EINVAL
		}
		if flags&ssDisable == 0 && size < minSigStackSize {
			return 0, unix.ENOMEM
		}
		*alt = [3]uint64{sp, uint64(flags), size}
	}
	if args[1] != 0 {
		var b [24]byte
		binary.LittleEndian.PutUint64(b[0:], old[0])
		flags := old[1]
		if old[2] == 0 {
			flags = ssDisable
		}
		binary.LittleEndian.PutUint32(b[8:], uint32(flags))
		binary.LittleEndian.PutUint64(b[16:], old[2])
		if _, err := t.CopyOut(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}
