package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// Interval timer kinds.
const (
	itimerReal    = 0
	itimerVirtual = 1
	itimerProf    = 2
)

func copyInTimeval(t *kernel.Task, addr uint64) (time.Duration, error) {
	var b [16]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	sec, usec := int64(binary.LittleEndian.Uint64(b[0:])), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || usec < 0 || usec >= 1e6 {
		return 0, unix.EINVAL
	}
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, nil
}

func timevalBytes(d time.Duration) []byte {
	b := make([]byte, 16)
	// A positive remainder rounds up to a microsecond, never to zero.
	us := (d + time.Microsecond - 1) / time.Microsecond
	binary.LittleEndian.PutUint64(b[0:], uint64(us/1e6))
	binary.LittleEndian.PutUint64(b[8:], uint64(us%1e6))
	return b
}

func copyOutItimerval(t *kernel.Task, addr uint64, value, interval time.Duration) error {
	b := append(timevalBytes(interval), timevalBytes(value)...)
	if _, err := t.CopyOut(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}

// Setitimer implements Linux syscall setitimer(2): ITIMER_REAL on the wall
// clock, ITIMER_VIRTUAL and ITIMER_PROF on the sentry's CPU accounting.
func Setitimer(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[0] > itimerProf {
		return 0, unix.EINVAL
	}
	var value, interval time.Duration
	if args[1] != 0 {
		var err error
		if interval, err = copyInTimeval(t, args[1]); err != nil {
			return 0, err
		}
		if value, err = copyInTimeval(t, args[1]+16); err != nil {
			return 0, err
		}
	}
	var oldValue, oldInterval time.Duration
	if args[0] == itimerReal {
		oldValue, oldInterval = t.SetITimerReal(value, interval)
	} else {
		oldValue, oldInterval = t.SetCPUTimer(int(args[0]), value, interval)
	}
	if args[2] != 0 {
		return 0, copyOutItimerval(t, args[2], oldValue, oldInterval)
	}
	return 0, nil
}

// Getitimer implements Linux syscall getitimer(2).
func Getitimer(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	switch args[0] {
	case itimerReal:
		value, interval := t.ITimerReal()
		return 0, copyOutItimerval(t, args[1], value, interval)
	case itimerVirtual, itimerProf:
		value, interval := t.CPUTimer(int(args[0]))
		return 0, copyOutItimerval(t, args[1], value, interval)
	}
	return 0, unix.EINVAL
}

// Alarm implements Linux syscall alarm(2).
func Alarm(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	old, _ := t.SetITimerReal(time.Duration(uint32(args[0]))*time.Second, 0)
	// The remainder rounds to the nearest second, and a pending alarm
	// reports at least 1.
	secs := uint64((old + time.Second/2) / time.Second)
	if old > 0 && secs == 0 {
		secs = 1
	}
	return secs, nil
}

// TimerCreate implements Linux syscall timer_create(2).
func TimerCreate(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	clock := int32(args[0])
	notify, signo, value, threadID := int32(kernel.SigevSignal), unix.SIGALRM, uint64(0), int32(0)
	if args[1] != 0 {
		var b [64]byte
		if _, err := t.CopyIn(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		value = binary.LittleEndian.Uint64(b[0:])
		signo = unix.Signal(binary.LittleEndian.Uint32(b[8:]))
		notify = int32(binary.LittleEndian.Uint32(b[12:]))
		threadID = int32(binary.LittleEndian.Uint32(b[16:]))
	}
	id, err := t.CreateTimer(clock, notify, signo, value, threadID)
	if err != nil {
		return 0, err
	}
	if args[1] == 0 {
		// The default sigevent carries the timer ID as its value.
		_, _, _ = t.SetTimer(id, 0, 0)
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(id))
	if _, err := t.CopyOut(args[2], b[:]); err != nil {
		_ = t.DeleteTimer(id)
		return 0, unix.EFAULT
	}
	return 0, nil
}

func copyOutItimerspec(t *kernel.Task, addr uint64, value, interval time.Duration) error {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint64(b[0:], uint64(interval/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(interval%time.Second))
	binary.LittleEndian.PutUint64(b[16:], uint64(value/time.Second))
	binary.LittleEndian.PutUint64(b[24:], uint64(value%time.Second))
	if _, err := t.CopyOut(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}

// TimerSettime implements Linux syscall timer_settime(2).
func TimerSettime(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const timerAbstime = 1
	id, flags := int32(args[0]), args[1]
	if flags&^timerAbstime != 0 {
		return 0, unix.EINVAL
	}
	interval, err := copyInTimespec(t, args[2])
	if err != nil {
		return 0, err
	}
	value, err := copyInTimespec(t, args[2]+16)
	if err != nil {
		return 0, err
	}
	oldValue, oldInterval, err := t.SetTimerAt(id, time.Duration(value.Nano()), flags&timerAbstime != 0, time.Duration(interval.Nano()))
	if err != nil {
		return 0, err
	}
	if args[3] != 0 {
		return 0, copyOutItimerspec(t, args[3], oldValue, oldInterval)
	}
	return 0, nil
}

// TimerGettime implements Linux syscall timer_gettime(2).
func TimerGettime(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	value, interval, err := t.GetTimer(int32(args[0]))
	if err != nil {
		return 0, err
	}
	return 0, copyOutItimerspec(t, args[1], value, interval)
}

// TimerGetoverrun implements Linux syscall timer_getoverrun(2).
func TimerGetoverrun(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	n, err := t.TimerOverrun(int32(args[0]))
	return uint64(n), err
}

// TimerDelete implements Linux syscall timer_delete(2).
func TimerDelete(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.DeleteTimer(int32(args[0]))
}
