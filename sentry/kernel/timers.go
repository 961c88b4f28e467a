package kernel

import (
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// sigev_notify values.
const (
	SigevSignal   = 0
	SigevNone     = 1
	SigevThreadID = 4
)

// IntervalTimer is a POSIX timer or a process's ITIMER_REAL: it fires on
// a Go timer and sends its signal, folding expirations into one queued
// signal (the overrun count) while the previous one is still pending.
// Fields are protected by Kernel.mu.
type IntervalTimer struct {
	k  *Kernel
	tg *ThreadGroup
	// target receives the signal (SIGEV_THREAD_ID); nil for the process.
	target *Task
	id     int32
	// clock is the clock a POSIX timer was created on (timer_create's
	// clockid), which its absolute expirations are times of;
	// CLOCK_REALTIME for ITIMER_REAL. Immutable.
	clock  int32
	notify int32
	signo  unix.Signal
	code   int32
	value  uint64

	timer    *time.Timer
	deadline time.Time
	interval time.Duration
	// overrun counts expirations folded into the queued signal; queued
	// says the signal has not been delivered yet; lastOverrun is what
	// timer_getoverrun reports.
	overrun     int64
	queued      bool
	lastOverrun int32
	// queuedInfo is the queued signal and queuedTo the task it was
	// queued for (nil: the process), so that deleting the timer can take
	// it back.
	queuedInfo *SigInfo
	queuedTo   *Task

	// A timer on a CPU-time clock (cpu set, immutable) expires when the
	// clock, CPU time as the tasks report it (cpu_timers.go), reaches
	// cpuDeadline, not wall time. The clock (immutable) is
	// cpuClock.group's, the timer's own process or another one, or
	// cpuClock.task's. cpuArmed says it runs; it is then in
	// cpuClock.group.cpuClockTimers, or cpuClock.task.threadCPUTimers
	// for a thread's clock. The deadline is a reading of the
	// clock rather than a count of CPU time still to go, so that the
	// timer and the clock agree: time a task had already added to the
	// clock when the timer was armed is never counted toward it.
	cpu         bool
	cpuClock    cpuClock
	cpuArmed    bool
	cpuDeadline time.Duration
}

// fire runs on the Go timer's goroutine.
func (it *IntervalTimer) fire() {
	k := it.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if it.deadline.IsZero() || time.Now().Before(it.deadline) {
		return // disarmed or re-armed meanwhile
	}
	if it.interval > 0 {
		// Expirations missed while the Go timer was late count as
		// overruns too.
		late := time.Since(it.deadline)
		missed := int64(late / it.interval)
		it.overrun += missed
		it.deadline = it.deadline.Add(time.Duration(missed+1) * it.interval)
		it.timer.Reset(time.Until(it.deadline))
	} else {
		it.deadline = time.Time{}
	}
	it.expireLocked()
}

// expireLocked sends the timer's signal for an expiration, or counts it as
// an overrun while the last one is still queued.
//
// Preconditions: k.mu is held.
func (it *IntervalTimer) expireLocked() {
	k := it.k
	if it.notify == SigevNone || it.tg.exiting {
		return
	}
	if it.queued {
		it.overrun++
		return
	}
	info := &SigInfo{Signo: int32(it.signo), Code: it.code}
	if it.code == SITimer {
		info.SetTimer(it.id, 0)
		info.put64(8, it.value)
	}
	info.onDequeue = func(i *SigInfo) {
		// Called with k.mu held, when the signal is delivered.
		it.queued = false
		it.queuedInfo, it.queuedTo = nil, nil
		it.lastOverrun = int32(min(it.overrun, math.MaxInt32))
		if it.code == SITimer {
			i.SetTimer(it.id, it.lastOverrun)
		}
		it.overrun = 0
	}
	target := it.target
	if target != nil {
		if _, live := it.tg.tasks[target]; !live {
			return
		}
	}
	it.queued = k.sendLocked(it.tg, target, info)
	if it.queued {
		it.queuedInfo, it.queuedTo = info, target
	}
}

// setLocked arms (value > 0) or disarms the timer and returns the old
// setting.
//
// Preconditions: k.mu is held.
func (it *IntervalTimer) setLocked(value, interval time.Duration) (oldValue, oldInterval time.Duration) {
	oldValue, oldInterval = it.remainingLocked(), it.interval
	it.interval = interval
	if it.cpu {
		it.armCPULocked(value)
		return
	}
	if value <= 0 {
		it.deadline = time.Time{}
		if it.timer != nil {
			it.timer.Stop()
		}
		return
	}
	it.deadline = time.Now().Add(value)
	if it.timer == nil {
		it.timer = time.AfterFunc(value, it.fire)
	} else {
		it.timer.Reset(value)
	}
	return
}

// remainingLocked is the time until the next expiration (0: disarmed).
//
// The deadline may have passed before fire ran. As Linux's
// common_timer_get reports it then: a timer that signals still has an
// expiration to deliver (1 ns); a SIGEV_NONE timer never runs anything at
// expiry, so a one-shot one is expired (0) and a periodic one is due at
// its next period.
func (it *IntervalTimer) remainingLocked() time.Duration {
	if it.cpu {
		if !it.cpuArmed {
			return 0
		}
		if left := it.cpuDeadline - it.cpuClock.nowLocked(); left > 0 {
			return left
		}
		return time.Nanosecond
	}
	if it.deadline.IsZero() {
		return 0
	}
	left := time.Until(it.deadline)
	switch {
	case left > 0:
		return left
	case it.notify != SigevNone:
		return time.Nanosecond
	case it.interval > 0:
		return it.interval - (-left)%it.interval
	}
	return 0
}

// stopLocked disarms the timer for good and takes back its signal if it
// is still queued, as Linux's timer_delete does.
func (it *IntervalTimer) stopLocked() {
	it.deadline = time.Time{}
	if it.cpuArmed {
		it.armCPULocked(0)
	}
	if it.timer != nil {
		it.timer.Stop()
	}
	if it.queuedInfo != nil {
		if it.queuedTo != nil {
			it.queuedTo.pending.remove(it.queuedInfo)
		} else {
			it.tg.pending.remove(it.queuedInfo)
		}
		it.queued, it.queuedInfo, it.queuedTo = false, nil, nil
	}
}

// SetITimerReal implements setitimer(ITIMER_REAL) and alarm.
func (t *Task) SetITimerReal(value, interval time.Duration) (oldValue, oldInterval time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tg := t.tg
	if tg.itimerReal == nil {
		tg.itimerReal = &IntervalTimer{k: t.k, tg: tg, notify: SigevSignal, signo: unix.SIGALRM, code: SIKernel}
	}
	return tg.itimerReal.setLocked(value, interval)
}

// ITimerReal implements getitimer(ITIMER_REAL).
func (t *Task) ITimerReal() (value, interval time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if it := t.tg.itimerReal; it != nil {
		return it.remainingLocked(), it.interval
	}
	return 0, 0
}

// maxPosixTimers bounds the timers of one process.
const maxPosixTimers = 1 << 16

// CreateTimer implements timer_create for the wall and monotonic clocks.
func (t *Task) CreateTimer(clock int32, notify int32, signo unix.Signal, value uint64, threadID int32) (int32, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	it := &IntervalTimer{k: k, tg: t.tg, clock: clock, notify: notify, signo: signo, code: SITimer, value: value}
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
	default:
		if clock < 0 && clock&3 == 3 {
			// A file descriptor's clock (CLOCKFD, a PTP device's):
			// it takes no timers.
			return 0, unix.EOPNOTSUPP
		}
		c, ok := t.cpuClockLocked(clock, false)
		if !ok {
			return 0, unix.EINVAL
		}
		it.cpu, it.cpuClock = true, c
	}
	switch notify {
	case SigevNone:
	case SigevSignal:
		if signo < 1 || signo > NumSignals {
			return 0, unix.EINVAL
		}
	case SigevThreadID:
		if signo < 1 || signo > NumSignals {
			return 0, unix.EINVAL
		}
		target := t.pidns.lookupTaskLocked(threadID)
		if target == nil || target.tg != t.tg {
			return 0, unix.EINVAL
		}
		it.target = target
	default:
		return 0, unix.EINVAL
	}
	if t.tg.timers == nil {
		t.tg.timers = make(map[int32]*IntervalTimer)
	}
	if len(t.tg.timers) >= maxPosixTimers {
		return 0, unix.EAGAIN
	}
	id := int32(0)
	for ; t.tg.timers[id] != nil; id++ {
	}
	it.id = id
	t.tg.timers[id] = it
	return id, nil
}

func (t *Task) timerLocked(id int32) (*IntervalTimer, error) {
	it := t.tg.timers[id]
	if it == nil {
		return nil, unix.EINVAL
	}
	return it, nil
}

// SetTimer implements timer_settime for a value that is a duration from
// now (SetTimerAt converts absolute times).
func (t *Task) SetTimer(id int32, value, interval time.Duration) (oldValue, oldInterval time.Duration, err error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	it, err := t.timerLocked(id)
	if err != nil {
		return 0, 0, err
	}
	oldValue, oldInterval = it.setLocked(value, interval)
	return oldValue, oldInterval, nil
}

// SetTimerAt implements timer_settime: value is the first expiration, a
// duration from now or, with abs (TIMER_ABSTIME), a time of the timer's
// clock as the task reads it. Such a time is in the task's time
// namespace: its offset comes off before the time is compared with the
// host's clock, as Linux's common_timer_set does (timens_ktime_to_host).
// An absolute time already past expires at once.
func (t *Task) SetTimerAt(id int32, value time.Duration, abs bool, interval time.Duration) (oldValue, oldInterval time.Duration, err error) {
	if abs && value > 0 {
		t.k.mu.Lock()
		it, err := t.timerLocked(id)
		t.k.mu.Unlock()
		if err != nil {
			return 0, 0, err
		}
		// The clock is immutable and the offset is read without a
		// lock: a timer deleted meanwhile is found out by SetTimer.
		// An alarm clock reads as its base clock (the host's needs
		// an RTC to read at all).
		clock := it.clock
		switch clock {
		case unix.CLOCK_REALTIME_ALARM:
			clock = unix.CLOCK_REALTIME
		case unix.CLOCK_BOOTTIME_ALARM:
			clock = unix.CLOCK_BOOTTIME
		}
		switch {
		case it.cpu:
			t.k.mu.Lock()
			value -= it.cpuClock.nowLocked()
			t.k.mu.Unlock()
		default:
			var now unix.Timespec
			if err := unix.ClockGettime(clock, &now); err != nil {
				return 0, 0, unix.EINVAL
			}
			value -= time.Duration(now.Nano()) + t.ClockOffset(it.clock)
		}
		if value <= 0 {
			value = time.Nanosecond
		}
	}
	return t.SetTimer(id, value, interval)
}

// GetTimer implements timer_gettime.
func (t *Task) GetTimer(id int32) (value, interval time.Duration, err error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	it, err := t.timerLocked(id)
	if err != nil {
		return 0, 0, err
	}
	return it.remainingLocked(), it.interval, nil
}

// TimerOverrun implements timer_getoverrun.
func (t *Task) TimerOverrun(id int32) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	it, err := t.timerLocked(id)
	if err != nil {
		return 0, err
	}
	return it.lastOverrun, nil
}

// DeleteTimer implements timer_delete.
func (t *Task) DeleteTimer(id int32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	it, err := t.timerLocked(id)
	if err != nil {
		return err
	}
	it.stopLocked()
	delete(t.tg.timers, id)
	return nil
}

// stopTimersLocked disarms every timer of the group (exit), and with
// posixOnly only its POSIX timers (execve).
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) stopTimersLocked(posixOnly bool) {
	for id, it := range tg.timers {
		it.stopLocked()
		delete(tg.timers, id)
	}
	if !posixOnly && tg.itimerReal != nil {
		tg.itimerReal.stopLocked()
	}
	if !posixOnly {
		// Other processes' timers on this one's clocks: those clocks
		// stop, and the timers never expire.
		for it := range tg.cpuClockTimers {
			it.armCPULocked(0)
		}
	}
}
