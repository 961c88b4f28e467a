package kernel

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// timerTestProcess returns a bare process of n tasks, enough for its CPU
// timers: no RLIMIT_CPU (so its CPU tick stops with its timers), SIGPROF
// caught.
func timerTestProcess(n int) (*Kernel, *ThreadGroup, []*Task) {
	k := &Kernel{}
	tg := &ThreadGroup{k: k, tasks: map[*Task]struct{}{}, handlers: &SignalHandlers{}}
	tg.limits[unix.RLIMIT_CPU] = Limit{Cur: Infinity, Max: Infinity}
	tg.handlers.actions[unix.SIGPROF].Handler = 0x1000
	tasks := make([]*Task, n)
	for i := range tasks {
		tasks[i] = &Task{k: k, tg: tg}
		tg.tasks[tasks[i]] = struct{}{}
	}
	return k, tg, tasks
}

// A timer armed on a CPU-time clock expires when the clock reaches its
// deadline: the CPU time a task had already added to the clock when it
// armed the timer (its user time before the timer_settime call, charged
// to timers at the end of that same call) does not count toward the
// timer, so the clock never reads less than the deadline once the timer
// fired (timer_cpu_clock's absolute-expiration check).
func TestCPUClockTimerDeadlineIsAClockReading(t *testing.T) {
	k, tg, tasks := timerTestProcess(1)
	task := tasks[0]
	it := &IntervalTimer{k: k, tg: tg, notify: SigevNone, cpu: true, cpuClock: cpuClock{group: tg}}

	// The run loop adds a switch's user time before the system call it
	// ends in, and charges timers with it after the call.
	user := 5 * time.Millisecond
	task.userNS.Add(int64(user))
	k.mu.Lock()
	it.setLocked(time.Millisecond, 0)
	k.mu.Unlock()
	sys := 10 * time.Microsecond
	task.sysNS.Add(int64(sys))
	task.chargeCPUTimers(user + sys)
	k.mu.Lock()
	armed, left := it.cpuArmed, it.remainingLocked()
	k.mu.Unlock()
	if !armed || left != time.Millisecond-sys {
		t.Fatalf("after the arming call: armed %v, %v left; want armed, %v left", armed, left, time.Millisecond-sys)
	}

	// A millisecond more of user time reaches the deadline.
	task.userNS.Add(int64(time.Millisecond))
	task.chargeCPUTimers(time.Millisecond)
	k.mu.Lock()
	defer k.mu.Unlock()
	if it.cpuArmed {
		t.Errorf("still armed with the clock at %v, past the deadline %v", cpuClock{group: tg}.nowLocked(), it.cpuDeadline)
	}
}

// ITIMER_PROF, like a POSIX timer, counts CPU time from the clock's
// reading when it was set: the time the task had already added to the
// clock then does not count toward it.
func TestITimerDeadlineIsAClockReading(t *testing.T) {
	_, tg, tasks := timerTestProcess(1)
	task := tasks[0]

	task.userNS.Add(int64(5 * time.Millisecond))
	task.SetCPUTimer(ITimerProf, time.Millisecond, 0)
	task.sysNS.Add(int64(10 * time.Microsecond))
	task.chargeCPUTimers(5*time.Millisecond + 10*time.Microsecond)
	if left, _ := task.CPUTimer(ITimerProf); left != time.Millisecond-10*time.Microsecond {
		t.Fatalf("after the arming call: %v left, want %v", left, time.Millisecond-10*time.Microsecond)
	}
	task.userNS.Add(int64(time.Millisecond))
	task.chargeCPUTimers(time.Millisecond)
	if left, _ := task.CPUTimer(ITimerProf); left != 0 {
		t.Errorf("%v left with the clock past the deadline, want expired", left)
	}
	if tg.pending.set&sigBit(unix.SIGPROF) == 0 {
		t.Errorf("no SIGPROF pending after the expiration")
	}
}

// A process's timers are checked against its clock, a sum over its tasks,
// only when the time its tasks charged since the last reading could have
// reached a deadline; whichever task's charge gets there fires it.
func TestProcessTimerReadsTheClockOnlyWhenDue(t *testing.T) {
	k, tg, tasks := timerTestProcess(2)
	a, b := tasks[0], tasks[1]
	a.SetCPUTimer(ITimerProf, 10*time.Millisecond, 0)

	run := func(task *Task, d time.Duration) {
		task.userNS.Add(int64(d))
		task.chargeCPUTimers(d)
	}
	run(a, time.Millisecond) // the first charge after arming reads the clock
	k.mu.Lock()
	due, charged := time.Duration(tg.procDue.Load()), time.Duration(tg.procCharged.Load())
	k.mu.Unlock()
	if due != 9*time.Millisecond || charged != 0 {
		t.Fatalf("after the first charge: due %v, charged %v; want 9ms, 0", due, charged)
	}
	for i := 0; i < 4; i++ {
		run(b, time.Millisecond)
		run(a, time.Millisecond)
	}
	k.mu.Lock()
	charged, pending := time.Duration(tg.procCharged.Load()), tg.pending.set&sigBit(unix.SIGPROF) != 0
	k.mu.Unlock()
	if charged != 8*time.Millisecond || pending {
		t.Fatalf("at 9ms of CPU: charged %v without a reading, SIGPROF pending %v; want 8ms, false", charged, pending)
	}
	run(b, time.Millisecond)
	k.mu.Lock()
	defer k.mu.Unlock()
	if tg.pending.set&sigBit(unix.SIGPROF) == 0 {
		t.Errorf("no SIGPROF with the process clock at its 10ms deadline")
	}
	if tg.cpuTimers[1].deadline != 0 {
		t.Errorf("one-shot ITIMER_PROF still armed")
	}
}

// chargeReturnsUnlocked reports whether task's charge of d completes while
// another holds the kernel's lock.
func chargeReturnsUnlocked(k *Kernel, task *Task, d time.Duration) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	done := make(chan struct{})
	go func() {
		task.userNS.Add(int64(d))
		task.chargeCPUTimers(d)
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// A timer on one thread's CPU clock is kept by that thread: the charges of
// the process's other threads, and its own while the process's timers are
// not due, take no lock; its own charge fires it; its exit disarms it.
func TestThreadClockTimerIsTheThreadsOwn(t *testing.T) {
	k, tg, tasks := timerTestProcess(2)
	a, b := tasks[0], tasks[1]
	it := &IntervalTimer{k: k, tg: tg, notify: SigevNone, cpu: true, cpuClock: cpuClock{group: tg, task: a}}
	k.mu.Lock()
	it.setLocked(3*time.Millisecond, 0)
	k.mu.Unlock()
	b.SetCPUTimer(ITimerProf, time.Hour, 0)
	b.userNS.Add(int64(time.Millisecond))
	b.chargeCPUTimers(time.Millisecond) // reads the process clock: due in ~1h

	for range 5 {
		if !chargeReturnsUnlocked(k, b, time.Millisecond) {
			t.Fatalf("another thread's charge waited for the kernel's lock")
		}
	}
	a.userNS.Add(int64(2 * time.Millisecond))
	a.chargeCPUTimers(2 * time.Millisecond)
	k.mu.Lock()
	armed := it.cpuArmed
	k.mu.Unlock()
	if !armed {
		t.Fatalf("expired with its thread at 2ms of its 3ms")
	}
	a.userNS.Add(int64(time.Millisecond))
	a.chargeCPUTimers(time.Millisecond)
	k.mu.Lock()
	armed = it.cpuArmed
	k.mu.Unlock()
	if armed {
		t.Fatalf("still armed with its thread's clock at its deadline")
	}

	k.mu.Lock()
	it.setLocked(time.Hour, 0)
	a.stopThreadCPUTimersLocked()
	defer k.mu.Unlock()
	if it.cpuArmed || len(a.threadCPUTimers) != 0 || a.threadCPUTimersArmed.Load() || tg.threadCPUTimers != 0 {
		t.Errorf("after its thread's exit: armed %v, %d kept by the thread, %d counted by the process", it.cpuArmed, len(a.threadCPUTimers), tg.threadCPUTimers)
	}
}
