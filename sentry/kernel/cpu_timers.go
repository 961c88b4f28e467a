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
	armed := t.tg.cpuTimers[0].remaining > 0 || t.tg.cpuTimers[1].remaining > 0
	t.tg.cpuTimersArmed.Store(armed)
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
	tg.cpuTimersArmed.Store(tg.cpuTimers[0].remaining > 0 || tg.cpuTimers[1].remaining > 0)
}

// cpuTimersState is embedded in ThreadGroup.
type cpuTimersState struct {
	cpuTimers [2]cpuTimer
	// cpuTimersArmed lets tasks skip the lock when no CPU timer runs.
	cpuTimersArmed atomic.Bool
}
