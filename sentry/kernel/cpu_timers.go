package kernel

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTimer is ITIMER_VIRTUAL or ITIMER_PROF: it counts down the process's
// CPU time (user only, or user and system) as its tasks report it, and
// sends its signal when it runs out. Protected by Kernel.mu.
type cpuTimer struct {
	remaining time.Duration
	interval  time.Duration
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
	oldValue, oldInterval = ct.remaining, ct.interval
	ct.remaining, ct.interval = value, interval
	t.tg.updateCPUTimersArmedLocked()
	return oldValue, oldInterval
}

// CPUTimer implements getitimer for the CPU-time timers.
func (t *Task) CPUTimer(which int) (value, interval time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	ct := t.tg.cpuTimers[which-1]
	return ct.remaining, ct.interval
}

// chargeCPUTimers counts user and sys time just used against the armed
// CPU timers of the task's process.
func (t *Task) chargeCPUTimers(user, sys time.Duration) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.tg
	for i, spent := range []time.Duration{user, user + sys} {
		ct := &tg.cpuTimers[i]
		if ct.remaining <= 0 {
			continue
		}
		ct.remaining -= spent
		if ct.remaining > 0 {
			continue
		}
		sig := unix.SIGVTALRM
		if i == 1 {
			sig = unix.SIGPROF
		}
		k.sendLocked(tg, nil, &SigInfo{Signo: int32(sig), Code: SIKernel})
		if ct.interval > 0 {
			ct.remaining += ct.interval
			if ct.remaining <= 0 {
				ct.remaining = ct.interval
			}
		} else {
			ct.remaining = 0
		}
	}
	for _, it := range tg.timers {
		if !it.cpuArmed || (it.cpuTask != nil && it.cpuTask != t) {
			continue
		}
		if it.cpuLeft -= user + sys; it.cpuLeft > 0 {
			continue
		}
		if it.interval > 0 {
			missed := -it.cpuLeft / it.interval
			it.overrun += int64(missed)
			it.cpuLeft += (missed + 1) * it.interval
		} else {
			it.cpuArmed = false
		}
		it.expireLocked()
	}
	tg.updateCPUTimersArmedLocked()
}

// updateCPUTimersArmedLocked sets cpuTimersArmed: whether an itimer or a
// POSIX timer on a CPU-time clock runs.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) updateCPUTimersArmedLocked() {
	armed := tg.cpuTimers[0].remaining > 0 || tg.cpuTimers[1].remaining > 0
	for _, it := range tg.timers {
		armed = armed || it.cpuArmed
	}
	tg.cpuTimersArmed.Store(armed)
	tg.startCPUTickLocked()
}

// needsCPUTickLocked reports whether the group's CPU time must be
// accounted as it runs: a CPU-time timer runs, or RLIMIT_CPU is finite.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) needsCPUTickLocked() bool {
	return tg.cpuTimersArmed.Load() || tg.limits[unix.RLIMIT_CPU].Cur != Infinity
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

// cpuClockTaskLocked decodes a dynamic CPU-time clock ID (~pid << 3 |
// perthread << 2 | type, clock_getcpuclockid's) that a timer can run on:
// one of the caller's process or of a thread in it, CPUCLOCK_SCHED or
// CPUCLOCK_PROF (both count user and system time). It returns the thread,
// nil for the process.
//
// Preconditions: k.mu is held.
func (t *Task) cpuClockTaskLocked(clock int32) (*Task, bool) {
	if clock >= 0 || clock&3 == 1 || clock&3 == 3 {
		return nil, false
	}
	pid := ^(clock >> 3)
	if clock&4 == 0 {
		if pid != 0 && t.pidns.lookupTaskLocked(pid) != t.tg.leader {
			return nil, false
		}
		return nil, true
	}
	if pid == 0 {
		return t, true
	}
	target := t.pidns.lookupTaskLocked(pid)
	if target == nil || target.tg != t.tg {
		return nil, false
	}
	return target, true
}

// cpuTimersState is embedded in ThreadGroup.
type cpuTimersState struct {
	cpuTimers [2]cpuTimer
	// cpuTimersArmed lets tasks skip the lock when no CPU timer runs.
	cpuTimersArmed atomic.Bool
	// cpuTicking says cpuTickFire is scheduled (protected by Kernel.mu).
	cpuTicking bool
}
