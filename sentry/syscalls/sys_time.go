package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// hostClock maps an application clock to the host clock that serves it.
// Monotonic and boot clocks count from the host's origin, which only makes
// uptime look longer; CPU-time clocks are the sentry's, which include the
// time spent serving the application (its stub's own time comes with
// per-task accounting).
func hostClock(id int32) (int32, error) {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW,
		unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME,
		unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
		return id, nil
	case unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID:
		return unix.CLOCK_PROCESS_CPUTIME_ID, nil
	}
	return 0, unix.EINVAL
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
	id, err := hostClock(int32(args[0]))
	if err != nil {
		return 0, err
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, err
	}
	return 0, copyOutTimespec(t, args[1], ts)
}

// ClockGetres implements Linux syscall clock_getres(2).
func ClockGetres(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
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

// Time implements Linux syscall time(2).
func Time(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	now := uint64(time.Now().Unix())
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
		return kernel.ERESTARTNOHAND
	}
	return nil
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
		d -= time.Duration(now.Nano())
		rem = 0 // an absolute sleep has no remainder
	}
	return 0, sleepUntil(t, time.Now().Add(d), rem)
}

// Getrusage implements Linux syscall getrusage(2) with the times the sentry
// measures.
func Getrusage(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	who := int32(args[0])
	if who != unix.RUSAGE_SELF && who != unix.RUSAGE_CHILDREN && who != unix.RUSAGE_THREAD {
		return 0, unix.EINVAL
	}
	b := make([]byte, 144)
	if who != unix.RUSAGE_CHILDREN {
		var ru unix.Rusage
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err == nil {
			le := binary.LittleEndian
			le.PutUint64(b[0:], uint64(ru.Utime.Sec))
			le.PutUint64(b[8:], uint64(ru.Utime.Usec))
			le.PutUint64(b[16:], uint64(ru.Stime.Sec))
			le.PutUint64(b[24:], uint64(ru.Stime.Usec))
		}
	}
	if _, err := t.CopyOut(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Times implements Linux syscall times(2).
func Times(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var tms unix.Tms
	ticks, err := unix.Times(&tms)
	if err != nil {
		return 0, err
	}
	if args[0] != 0 {
		b := make([]byte, 32)
		binary.LittleEndian.PutUint64(b[0:], uint64(tms.Utime))
		binary.LittleEndian.PutUint64(b[8:], uint64(tms.Stime))
		if _, err := t.CopyOut(args[0], b); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uint64(ticks), nil
}
