package syscalls

import (
	"crypto/rand"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/mm"
)

// Exit implements Linux syscall exit(2): it ends the calling thread.
func Exit(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	t.Exit(int(args[0]))
	return 0, nil
}

// ExitGroup implements Linux syscall exit_group(2).
func ExitGroup(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	t.ExitGroup(int(args[0]))
	return 0, nil
}

// Getpid implements Linux syscall getpid(2).
func Getpid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) { return uint64(t.TGID()), nil }

// Gettid implements Linux syscall gettid(2).
func Gettid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) { return uint64(t.TID()), nil }

// Getppid implements Linux syscall getppid(2): init's parent is outside its
// namespace, which Linux reports as 0, as it does for any parent outside
// the caller's PID namespace.
func Getppid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	return uint64(t.PPID()), nil
}

// Umask implements Linux syscall umask(2).
func Umask(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return uint64(t.SwapUmask(uint32(args[0]))), nil
}

// SetTidAddress implements Linux syscall set_tid_address(2).
func SetTidAddress(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	t.SetClearChildTID(args[0])
	return uint64(t.TID()), nil
}

// SetRobustList implements Linux syscall set_robust_list(2).
func SetRobustList(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[1] != 24 { // sizeof(struct robust_list_head)
		return 0, unix.EINVAL
	}
	t.SetRobustList(args[0])
	return 0, nil
}

// ArchPrctl implements Linux syscall arch_prctl(2).
func ArchPrctl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const (
		archSetGS = 0x1001
		archSetFS = 0x1002
		archGetFS = 0x1003
		archGetGS = 0x1004
	)
	regs := t.Regs()
	switch args[0] {
	case archSetFS, archSetGS:
		// Linux refuses bases at or above TASK_SIZE_MAX.
		if args[1] >= 0x7ffffffff000 {
			return 0, unix.EPERM
		}
		if args[0] == archSetFS {
			regs.Fs_base = args[1]
		} else {
			regs.Gs_base = args[1]
		}
		return 0, nil
	case archGetFS, archGetGS:
		v := regs.Fs_base
		if args[0] == archGetGS {
			v = regs.Gs_base
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		if _, err := t.CopyOut(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}

// Prlimit64 implements Linux syscall prlimit64(2).
func Prlimit64(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, res := int32(args[0]), args[1]
	target := t
	if pid != 0 && pid != t.TGID() {
		target = t.LookupTask(pid)
		if target == nil {
			return 0, unix.ESRCH
		}
	}
	if res >= uint64(len(kernel.Limits{})) {
		return 0, unix.EINVAL
	}
	old := target.RLimit(int(res))
	if args[2] != 0 {
		var b [16]byte
		if _, err := t.CopyIn(args[2], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		nl := kernel.Limit{Cur: binary.LittleEndian.Uint64(b[0:]), Max: binary.LittleEndian.Uint64(b[8:])}
		if nl.Cur > nl.Max {
			return 0, unix.EINVAL
		}
		// Raising a hard limit needs CAP_SYS_RESOURCE, which sandboxed
		// processes do not have.
		if nl.Max > old.Max {
			return 0, unix.EPERM
		}
		if res == unix.RLIMIT_NOFILE && nl.Max > 1<<20 {
			return 0, unix.EPERM
		}
		target.SetRLimit(int(res), nl)
	}
	if args[3] != 0 {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], old.Cur)
		binary.LittleEndian.PutUint64(b[8:], old.Max)
		if _, err := t.CopyOut(args[3], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// Getrlimit implements Linux syscall getrlimit(2).
func Getrlimit(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return Prlimit64(t, arch.SyscallArgs{0, args[0], 0, args[1]})
}

// Setrlimit implements Linux syscall setrlimit(2).
func Setrlimit(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return Prlimit64(t, arch.SyscallArgs{0, args[0], args[1], 0})
}

// Uname implements Linux syscall uname(2).
func Uname(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var b [6 * 65]byte
	host, domain := t.UTS().Names()
	for i, s := range []string{"Linux", host, "6.1.0", "#1 SMP Cocoon", "x86_64", domain} {
		copy(b[i*65:i*65+64], s)
	}
	if _, err := t.CopyOut(args[0], b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Getrandom implements Linux syscall getrandom(2).
func Getrandom(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const grndNonblock, grndRandom, grndInsecure = 1, 2, 4
	flags := args[2]
	if flags&^(grndNonblock|grndRandom|grndInsecure) != 0 || flags&(grndRandom|grndInsecure) == grndRandom|grndInsecure {
		return 0, unix.EINVAL
	}
	n := min(args[1], 1<<25)
	buf := t.Buffer(int(min(n, ioChunk)))
	var done uint64
	for done < n {
		if done > 0 && !t.SettleMemoryCharge() {
			// As in readOnce: the OOM killer chose this task.
			return done, nil
		}
		chunk := buf[:min(n-done, uint64(len(buf)))]
		_, _ = rand.Read(chunk)
		c, err := t.CopyOut(args[0]+done, chunk)
		done += uint64(c)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, unix.EFAULT
		}
	}
	return done, nil
}

// Sysinfo implements Linux syscall sysinfo(2).
func Sysinfo(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	b := make([]byte, 112)
	le := binary.LittleEndian
	k := t.Kernel()
	// Uptime is CLOCK_BOOTTIME, as /proc/uptime and clock_gettime report.
	var boot unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot)
	le.PutUint64(b[0:], uint64(boot.Sec))
	// loads: the load averages with SI_LOAD_SHIFT (16) fractional bits.
	avenrun, _ := k.LoadAverages()
	for i, l := range avenrun {
		le.PutUint64(b[8+8*i:], l<<(16-11))
	}
	used, shared := mm.ResidentMemory(k.MemoryManagers())
	free := k.MemoryLimit - min(used*arch.PageSize, k.MemoryLimit)
	le.PutUint64(b[32:], k.MemoryLimit)                                 // totalram
	le.PutUint64(b[40:], free)                                          // freeram
	le.PutUint64(b[48:], shared*arch.PageSize)                          // sharedram
	le.PutUint16(b[80:], uint16(min(len(k.AllThreadGroups()), 0xffff))) // procs
	le.PutUint32(b[104:], 1)                                            // mem_unit
	if _, err := t.CopyOut(args[0], b); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// SchedYield implements Linux syscall sched_yield(2).
func SchedYield(*kernel.Task, arch.SyscallArgs) (uint64, error) { return 0, nil }

// Getcpu implements Linux syscall getcpu(2).
func Getcpu(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var zero [4]byte
	for _, a := range []uint64{args[0], args[1]} {
		if a != 0 {
			if _, err := t.CopyOut(a, zero[:]); err != nil {
				return 0, unix.EFAULT
			}
		}
	}
	return 0, nil
}

// sethostnameCall implements sethostname(2) and setdomainname(2).
func sethostnameCall(t *kernel.Task, args arch.SyscallArgs, domain bool) (uint64, error) {
	n := int64(int32(args[1]))
	if n < 0 || n > 64 {
		return 0, unix.EINVAL
	}
	b := make([]byte, n)
	if _, err := t.CopyIn(args[0], b); err != nil {
		return 0, unix.EFAULT
	}
	return 0, t.SetHostname(string(b), domain)
}

// Sethostname implements Linux syscall sethostname(2).
func Sethostname(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return sethostnameCall(t, args, false)
}

// Setdomainname implements Linux syscall setdomainname(2).
func Setdomainname(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return sethostnameCall(t, args, true)
}

// Unshare implements Linux syscall unshare(2).
func Unshare(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.UnshareNamespaces(args[0])
}

// Syslog implements Linux syscall syslog(2), the kernel log's reader
// (sentry/kernel/klog.go).
func Syslog(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	action, buf, n := int(int32(args[0])), args[1], int(int32(args[2]))
	text, result, err := t.Syslog(action, buf != 0, n)
	if err != nil {
		return 0, err
	}
	if text != "" {
		if _, err := t.CopyOut(buf, []byte(text)); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uint64(result), nil
}
