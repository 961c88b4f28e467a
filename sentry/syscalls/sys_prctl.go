package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
)

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
