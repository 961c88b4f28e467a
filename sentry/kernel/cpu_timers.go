package kernel

import (
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTimer is ITIMER_VIRTUAL or ITIMER_PROF: it sends its signal when the
// process's CPU time (user only, or user and system) as its tasks report
// it reaches deadline, a reading of that clock (0: disarmed), as a POSIX
// timer on a CPU-time clock does (IntervalTimer.cpuDeadline). Protected
// by Kernel.mu.
type cpuTimer struct {
	deadline time.Duration
	interval time.Duration
}

// itimerClock returns the clock ITIMER_VIRTUAL (i 0) or ITIMER_PROF (i 1)
// of tg reads.
func (tg *ThreadGroup) itimerClock(i int) cpuClock {
	return cpuClock{group: tg, userOnly: i == 0}
}

// remainingLocked is the CPU time until ct expires, now being its clock's
// reading: 0 when disarmed, 1 ns when due but not yet sent.
func (ct *cpuTimer) remainingLocked(now time.Duration) time.Duration {
	if ct.deadline == 0 {
		return 0
	}
	return max(ct.deadline-now, time.Nanosecond)
}

// CPU timer kinds, as setitimer numbers them.
const (
	ITimerVirtual = 1
	ITimerProf    = 2
)

// SetCPUTimer implements setitimer for ITIMER_VIRTUAL and ITIMER_PROF.
func (t *Task) SetCPUTimer(which int, value, interval time.Duration) (oldValue, oldInterval time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	ct := &t.tg.cpuTimers[which-1]
	now := t.tg.itimerClock(which - 1).nowLocked()
	oldValue, oldInterval = ct.remainingLocked(now), ct.interval
	ct.deadline, ct.interval = 0, interval
	if value > 0 {
		ct.deadline = now + value
	}
	t.tg.procDue.Store(0) // read the clocks at the next charge
	t.tg.updateCPUTimersArmedLocked()
	return oldValue, oldInterval
}

// CPUTimer implements getitimer for the CPU-time timers.
func (t *Task) CPUTimer(which int) (value, interval time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	ct := &t.tg.cpuTimers[which-1]
	return ct.remainingLocked(t.tg.itimerClock(which - 1).nowLocked()), ct.interval
}

// cpuTimersArmed reports whether the task must charge its CPU time to
// timers (chargeCPUTimers): an itimer or a timer on its process's clocks
// runs, or one on its own thread's clock.
func (t *Task) cpuTimersArmed() bool {
	return t.tg.cpuTimersArmed.Load() || t.threadCPUTimersArmed.Load()
}

// chargeCPUTimers expires the itimers (ITIMER_VIRTUAL, ITIMER_PROF) and
// the timers on CPU-time clocks of the task's process and of its own
// thread whose clocks reached their deadlines, once the task added the
// time it just used (spent) to its clock.
//
// The process's clocks are sums over its tasks, so they are read only
// when a deadline on them may have come: the clocks grow by what the
// tasks charge, and every deadline on them was at least procDue past
// their last reading, so until the charges since it reach procDue none
// is due, and the charge takes no lock. Charges counted twice (a switch's
// user time added to the clock before the reading and charged after it,
// or added to procCharged as the reading is taken) only make the next
// reading come sooner, never a timer fire early. Timers on a thread's
// clock are kept by that thread and looked at only by its charges.
func (t *Task) chargeCPUTimers(spent time.Duration) {
	tg := t.tg
	procDue := false
	if tg.cpuTimersArmed.Load() {
		procDue = tg.procCharged.Add(int64(spent)) >= tg.procDue.Load()
	}
	if !procDue && !t.threadCPUTimersArmed.Load() {
		return
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if procDue {
		tg.expireProcessTimersLocked()
	}
	for it := range t.threadCPUTimers {
		if now := it.cpuClock.nowLocked(); now >= it.cpuDeadline {
			it.expireCPULocked(now)
		}
	}
	tg.updateCPUTimersArmedLocked()
}

// expireProcessTimersLocked reads the process's clocks, expires the
// itimers and the timers on those clocks whose deadlines came, and sets
// procDue for the next reading.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) expireProcessTimersLocked() {
	k := tg.k
	// Charges added from here on stay counted toward the next reading.
	charged := tg.procCharged.Load()
	u, s := tg.cpuTimeLocked()
	read := func(c cpuClock) time.Duration {
		if c.userOnly {
			return time.Duration(u)
		}
		return time.Duration(u + s)
	}
	due := time.Duration(math.MaxInt64)
	for i := range tg.cpuTimers {
		ct := &tg.cpuTimers[i]
		if ct.deadline == 0 {
			continue
		}
		now := read(tg.itimerClock(i))
		if now < ct.deadline {
			due = min(due, ct.deadline-now)
			continue
		}
		sig := unix.SIGVTALRM
		if i == 1 {
			sig = unix.SIGPROF
		}
		k.sendLocked(tg, nil, &SigInfo{Signo: int32(sig), Code: SIKernel})
		if ct.interval > 0 {
			// Periods a long switch overran are not sent
			// one by one: the next is a period from now.
			if ct.deadline += ct.interval; ct.deadline <= now {
				ct.deadline = now + ct.interval
			}
		} else {
			ct.deadline = 0
		}
		if ct.deadline != 0 {
			due = min(due, ct.deadline-now)
		}
	}
	for it := range tg.cpuClockTimers {
		now := read(it.cpuClock)
		if now >= it.cpuDeadline {
			it.expireCPULocked(now)
		}
		if it.cpuArmed {
			due = min(due, it.cpuDeadline-now)
		}
	}
	tg.procCharged.Add(-charged)
	tg.procDue.Store(int64(due))
}

// expireCPULocked expires a timer on a CPU-time clock that reads now, at
// or past its deadline: a periodic one moves to its next period, counting
// those now passed as overruns; a one-shot one is disarmed.
//
// Preconditions: k.mu is held.
func (it *IntervalTimer) expireCPULocked(now time.Duration) {
	if it.interval > 0 {
		missed := (now - it.cpuDeadline) / it.interval
		it.overrun += int64(missed)
		it.cpuDeadline += (missed + 1) * it.interval
	} else {
		it.disarmCPULocked()
	}
	it.expireLocked()
}

// updateCPUTimersArmedLocked sets cpuTimersArmed: whether an itimer or a
// POSIX timer (the process's own or another's) on one of the process's
// CPU-time clocks runs.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) updateCPUTimersArmedLocked() {
	armed := tg.cpuTimers[0].deadline != 0 || tg.cpuTimers[1].deadline != 0 || len(tg.cpuClockTimers) > 0
	tg.cpuTimersArmed.Store(armed)
	tg.startCPUTickLocked()
}

// armCPULocked arms a timer on a CPU-time clock to expire after value of
// that clock's time, or disarms it (value <= 0).
//
// Preconditions: k.mu is held.
func (it *IntervalTimer) armCPULocked(value time.Duration) {
	if value <= 0 {
		it.disarmCPULocked()
		return
	}
	c := it.cpuClock
	it.cpuDeadline = c.nowLocked() + value
	if !it.cpuArmed {
		it.cpuArmed = true
		if t := c.task; t != nil {
			if t.threadCPUTimers == nil {
				t.threadCPUTimers = make(map[*IntervalTimer]struct{})
			}
			t.threadCPUTimers[it] = struct{}{}
			t.threadCPUTimersArmed.Store(true)
			c.group.threadCPUTimers++
		} else {
			if c.group.cpuClockTimers == nil {
				c.group.cpuClockTimers = make(map[*IntervalTimer]struct{})
			}
			c.group.cpuClockTimers[it] = struct{}{}
		}
	}
	// A new deadline may come before the gate's: read at the next charge.
	c.group.procDue.Store(0)
	c.group.updateCPUTimersArmedLocked()
}

// disarmCPULocked stops a timer on a CPU-time clock.
//
// Preconditions: k.mu is held.
func (it *IntervalTimer) disarmCPULocked() {
	if !it.cpuArmed {
		return
	}
	it.cpuArmed = false
	c := it.cpuClock
	if t := c.task; t != nil {
		delete(t.threadCPUTimers, it)
		t.threadCPUTimersArmed.Store(len(t.threadCPUTimers) > 0)
		c.group.threadCPUTimers--
	} else {
		delete(c.group.cpuClockTimers, it)
	}
	c.group.updateCPUTimersArmedLocked()
}

// stopThreadCPUTimersLocked disarms the timers on the task's clock as it
// exits: the clock stops, and they would never expire.
//
// Preconditions: k.mu is held.
func (t *Task) stopThreadCPUTimersLocked() {
	for it := range t.threadCPUTimers {
		it.disarmCPULocked()
	}
}

// needsCPUTickLocked reports whether the group's CPU time must be
// accounted as it runs: a CPU-time timer runs, or RLIMIT_CPU is finite.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) needsCPUTickLocked() bool {
	return tg.cpuTimersArmed.Load() || tg.threadCPUTimers > 0 || tg.limits[unix.RLIMIT_CPU].Cur != Infinity
}

// startCPUTickLocked schedules cpuTickFire if the group needs it and it
// is not scheduled yet.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) startCPUTickLocked() {
	if !tg.cpuTicking && tg.needsCPUTickLocked() {
		tg.cpuTicking = true
		time.AfterFunc(cpuTick, tg.cpuTickFire)
	}
}

// cpuTick is how often the running tasks of a process with a CPU-time
// timer armed, or a finite RLIMIT_CPU, are made to account the CPU time
// they spent in application code: a task that makes no system call never
// returns to the sentry otherwise, and its timers would never fire nor its
// limit be enforced. Linux charges CPU time on
// every scheduler tick (4 ms at HZ=250).
const cpuTick = 4 * time.Millisecond

// cpuTickFire interrupts the group's tasks running application code, so
// that they charge their CPU time and check RLIMIT_CPU (task_run.go),
// while the group needs it.
func (tg *ThreadGroup) cpuTickFire() {
	k := tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if !tg.needsCPUTickLocked() || tg.exiting {
		tg.cpuTicking = false
		return
	}
	for t := range tg.tasks {
		if ctx := t.runningCtx.Load(); ctx != nil {
			(*ctx).Interrupt()
		}
	}
	time.AfterFunc(cpuTick, tg.cpuTickFire)
}

// cpuClock is a CPU-time clock: a process's (task nil) or a thread's.
type cpuClock struct {
	group *ThreadGroup
	task  *Task
	// userOnly: CPUCLOCK_VIRT, user time; otherwise (CPUCLOCK_PROF,
	// CPUCLOCK_SCHED) user and system time.
	userOnly bool
}

// nowLocked reads the clock.
//
// Preconditions: k.mu is held.
func (c cpuClock) nowLocked() time.Duration {
	var user, sys int64
	if c.task != nil {
		user, sys = c.task.userNS.Load(), c.task.sysNS.Load()
	} else {
		user, sys = c.group.cpuTimeLocked()
	}
	if c.userOnly {
		return time.Duration(user)
	}
	return time.Duration(user + sys)
}

// cpuClockLocked decodes a CPU-time clock ID: CLOCK_PROCESS_CPUTIME_ID,
// CLOCK_THREAD_CPUTIME_ID, or a dynamic one (~pid << 3 | perthread << 2
// | type; clock_getcpuclockid's and pthread_getcpuclockid's). As Linux's
// pid_for_clock has it, a thread's clock must be of a thread of the
// caller's process, and a process's of any process the caller's PID
// namespace sees; to read a clock (gettime), a process clock may also
// name the process by one of the caller's own thread IDs.
//
// Preconditions: k.mu is held.
func (t *Task) cpuClockLocked(clock int32, gettime bool) (cpuClock, bool) {
	switch clock {
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		return cpuClock{group: t.tg}, true
	case unix.CLOCK_THREAD_CPUTIME_ID:
		return cpuClock{group: t.tg, task: t}, true
	}
	const cpuclockVirt, cpuclockMax = 1, 3
	typ := clock & 3
	if clock >= 0 || typ >= cpuclockMax {
		return cpuClock{}, false
	}
	c := cpuClock{group: t.tg, userOnly: typ == cpuclockVirt}
	pid := ^(clock >> 3)
	if clock&4 != 0 {
		c.task = t
		if pid != 0 {
			c.task = t.pidns.lookupTaskLocked(pid)
			if c.task == nil || c.task.tg != t.tg {
				return cpuClock{}, false
			}
		}
		return c, true
	}
	if pid == 0 {
		return c, true
	}
	if gettime && t.pidns.lookupTaskLocked(pid) == t {
		return c, true
	}
	// Thread groups are found by their process IDs only.
	c.group = t.pidns.lookupThreadGroupLocked(pid)
	return c, c.group != nil
}

// ReadCPUClock implements clock_gettime for the CPU-time clocks; ok is
// false for an ID that names no CPU-time clock.
func (t *Task) ReadCPUClock(clock int32) (now time.Duration, ok bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c, ok := t.cpuClockLocked(clock, true)
	if !ok {
		return 0, false
	}
	return c.nowLocked(), true
}

// cpuTimersState is embedded in ThreadGroup.
type cpuTimersState struct {
	cpuTimers [2]cpuTimer
	// cpuTimersArmed lets tasks skip the lock when no CPU timer runs.
	cpuTimersArmed atomic.Bool
	// cpuTicking says cpuTickFire is scheduled (protected by Kernel.mu).
	cpuTicking bool
	// procCharged is the CPU time the process's tasks charged since its
	// clocks were last read for its timers, and procDue how much more
	// than that reading a deadline on them was (chargeCPUTimers); both
	// in nanoseconds. procDue is written under Kernel.mu.
	procCharged, procDue atomic.Int64
	// cpuClockTimers are the armed POSIX timers, of this process and of
	// others, on this process's CPU-time clocks, and threadCPUTimers the
	// number of those armed on its threads' clocks, which the threads
	// keep (threadCPUTimers; protected by Kernel.mu).
	cpuClockTimers  map[*IntervalTimer]struct{}
	threadCPUTimers int
}

// threadCPUTimersState is embedded in Task.
type threadCPUTimersState struct {
	// threadCPUTimers are the armed POSIX timers on the task's own
	// CPU-time clock (protected by Kernel.mu), and
	// threadCPUTimersArmed says there are any, for the task to read
	// without the lock.
	threadCPUTimers      map[*IntervalTimer]struct{}
	threadCPUTimersArmed atomic.Bool
}
