package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// hostClock maps an application wall or monotonic clock to the host clock
// that serves it. Monotonic and boot clocks count from the host's origin,
// which only makes uptime look longer.
func hostClock(id int32) (int32, error) {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW,
		unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME,
		unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
		return id, nil
	}
	return 0, unix.EINVAL
}

// cpuClock reads a CPU-time clock: the calling thread's or process's, or
// a dynamic clock naming another process or a thread
// (clock_getcpuclockid, pthread_getcpuclockid), from the sentry's own
// accounting. isCPU is false for the other clocks.
func cpuClock(t *kernel.Task, id int32) (d time.Duration, isCPU bool, err error) {
	if id >= 0 && id != unix.CLOCK_PROCESS_CPUTIME_ID && id != unix.CLOCK_THREAD_CPUTIME_ID {
		return 0, false, nil
	}
	d, ok := t.ReadCPUClock(id)
	if !ok {
		return 0, true, unix.EINVAL
	}
	return d, true, nil
}

func copyOutTimespec(t *kernel.Task, addr uint64, ts unix.Timespec) error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(ts.Sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(ts.Nsec))
	if _, err := t.CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return nil
}

func copyInTimespec(t *kernel.Task, addr uint64) (unix.Timespec, error) {
	var b [16]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return unix.Timespec{}, unix.EFAULT
	}
	ts := unix.Timespec{Sec: int64(binary.LittleEndian.Uint64(b[0:])), Nsec: int64(binary.LittleEndian.Uint64(b[8:]))}
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
		return ts, unix.EINVAL
	}
	return ts, nil
}

// ClockGettime implements Linux syscall clock_gettime(2).
func ClockGettime(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if d, ok, err := cpuClock(t, int32(args[0])); ok {
		if err != nil {
			return 0, err
		}
		return 0, copyOutTimespec(t, args[1], unix.NsecToTimespec(d.Nanoseconds()))
	}
	id, err := hostClock(int32(args[0]))
	if err != nil {
		return 0, err
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, err
	}
	if off := t.ClockOffset(id); off != 0 {
		ts = unix.NsecToTimespec(ts.Nano() + int64(off))
	}
	return 0, copyOutTimespec(t, args[1], ts)
}

// ClockGetres implements Linux syscall clock_getres(2).
func ClockGetres(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if _, ok, err := cpuClock(t, int32(args[0])); ok {
		if err != nil {
			return 0, err
		}
		if args[1] == 0 {
			return 0, nil
		}
		return 0, copyOutTimespec(t, args[1], unix.Timespec{Nsec: 1})
	}
	id, err := hostClock(int32(args[0]))
	if err != nil {
		return 0, err
	}
	if args[1] == 0 {
		return 0, nil
	}
	var ts unix.Timespec
	if err := unix.ClockGetres(id, &ts); err != nil {
		return 0, err
	}
	return 0, copyOutTimespec(t, args[1], ts)
}

// Gettimeofday implements Linux syscall gettimeofday(2).
func Gettimeofday(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[0] != 0 {
		now := time.Now()
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(now.Unix()))
		binary.LittleEndian.PutUint64(b[8:], uint64(now.Nanosecond()/1000))
		if _, err := t.CopyOut(args[0], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if args[1] != 0 {
		var tz [8]byte // UTC, no DST
		if _, err := t.CopyOut(args[1], tz[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// Time implements Linux syscall time(2). Like Linux's
// (ktime_get_real_seconds) and the vDSO's time, it reads the coarse clock:
// the precise one can be a second ahead just after a second boundary, and
// time through the vDSO and through the system call would then go back.
func Time(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts); err != nil {
		return 0, err
	}
	now := uint64(ts.Sec)
	if args[0] != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], now)
		if _, err := t.CopyOut(args[0], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return now, nil
}

// sleepUntil sleeps until deadline; when a signal interrupts it, the time
// left is written to remAddr (if set) and the call is restarted or fails
// with EINTR by the usual rules.
func sleepUntil(t *kernel.Task, deadline time.Time, remAddr uint64) error {
	if _, err := t.BlockUntil(nil, deadline); err != nil {
		if remAddr != 0 {
			left := time.Until(deadline)
			if left < 0 {
				left = 0
			}
			if err := copyOutTimespec(t, remAddr, unix.NsecToTimespec(left.Nanoseconds())); err != nil {
				return err
			}
		}
		// Restarted without a handler (a stop and a continue), the
		// sleep goes on to the same deadline, as Linux's restart
		// block does.
		t.SetRestartBlock(func(t *kernel.Task) (uint64, error) {
			return 0, sleepUntil(t, deadline, remAddr)
		})
		return kernel.ERESTARTRESTARTBLOCK
	}
	return nil
}

// RestartSyscall implements Linux syscall restart_syscall(2).
func RestartSyscall(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.RestartSyscall()
}

// Nanosleep implements Linux syscall nanosleep(2).
func Nanosleep(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	ts, err := copyInTimespec(t, args[0])
	if err != nil {
		return 0, err
	}
	return 0, sleepUntil(t, time.Now().Add(time.Duration(ts.Nano())), args[1])
}

// ClockNanosleep implements Linux syscall clock_nanosleep(2).
func ClockNanosleep(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const timerAbstime = 1
	id := int32(args[0])
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_TAI:
	case unix.CLOCK_THREAD_CPUTIME_ID:
		return 0, unix.EINVAL
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		return 0, unix.EOPNOTSUPP
	default:
		return 0, unix.EINVAL
	}
	ts, err := copyInTimespec(t, args[2])
	if err != nil {
		return 0, err
	}
	d := time.Duration(ts.Nano())
	rem := args[3]
	if args[1]&timerAbstime != 0 {
		var now unix.Timespec
		if err := unix.ClockGettime(id, &now); err != nil {
			return 0, err
		}
		d -= time.Duration(now.Nano()) + t.ClockOffset(id)
		rem = 0 // an absolute sleep has no remainder
	}
	return 0, sleepUntil(t, time.Now().Add(d), rem)
}

// rusageBytes encodes a struct rusage with the given times.
func rusageBytes(user, sys time.Duration) []byte {
	b := make([]byte, 144)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(user/time.Second))
	le.PutUint64(b[8:], uint64(user%time.Second/time.Microsecond))
	le.PutUint64(b[16:], uint64(sys/time.Second))
	le.PutUint64(b[24:], uint64(sys%time.Second/time.Microsecond))
	return b
}

// setRusageMaxRSS stores ru_maxrss, given in pages, in an encoded struct
// rusage.
func setRusageMaxRSS(b []byte, pages uint64) {
	binary.LittleEndian.PutUint64(b[32:], pages*(arch.PageSize/1024))
}

// setRusageFaults stores ru_minflt and ru_majflt in an encoded struct
// rusage.
func setRusageFaults(b []byte, minor, major uint64) {
	binary.LittleEndian.PutUint64(b[64:], minor)
	binary.LittleEndian.PutUint64(b[72:], major)
}

// Getrusage implements Linux syscall getrusage(2) from the sentry's
// accounting of each task's time in application code (user) and in the
// sentry serving it (system).
func Getrusage(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var user, sys time.Duration
	switch int32(args[0]) {
	case unix.RUSAGE_SELF:
		user, sys = t.ProcessCPUTime()
	case unix.RUSAGE_THREAD:
		user, sys = t.CPUTime()
	case unix.RUSAGE_CHILDREN:
		user, sys = t.ChildrenCPUTime()
	default:
		return 0, unix.EINVAL
	}
	b := rusageBytes(user, sys)
	// ru_maxrss, in KiB: the most pages the process's address spaces
	// held, before execve included (or its reaped children's).
	setRusageMaxRSS(b, t.MaxRSS(int32(args[0]) == unix.RUSAGE_CHILDREN))
	minor, major := t.Faults(int32(args[0]))
	setRusageFaults(b, minor, major)
	if _, err := t.CopyOut(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// clockTicks is USER_HZ.
const clockTicks = 100

func toTicks(d time.Duration) uint64 { return uint64(d / (time.Second / clockTicks)) }

// Times implements Linux syscall times(2).
func Times(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[0] != 0 {
		u, s := t.ProcessCPUTime()
		cu, cs := t.ChildrenCPUTime()
		b := make([]byte, 32)
		le := binary.LittleEndian
		le.PutUint64(b[0:], toTicks(u))
		le.PutUint64(b[8:], toTicks(s))
		le.PutUint64(b[16:], toTicks(cu))
		le.PutUint64(b[24:], toTicks(cs))
		if _, err := t.CopyOut(args[0], b); err != nil {
			return 0, unix.EFAULT
		}
	}
	return toTicks(time.Since(t.Kernel().BootTime)), nil
}
