package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Errors with which interrupted system calls return; the signal-delivery
// code turns them into a restart or EINTR as Linux does (task_run.go).
const (
	// ERESTARTSYS restarts if the handler has SA_RESTART, else EINTR.
	ERESTARTSYS = unix.Errno(512)
	// ERESTARTNOINTR always restarts.
	ERESTARTNOINTR = unix.Errno(513)
	// ERESTARTNOHAND restarts only when no handler runs.
	ERESTARTNOHAND = unix.Errno(514)
	// ERESTARTRESTARTBLOCK restarts (with the time left, for sleeps) only
	// when no handler runs.
	ERESTARTRESTARTBLOCK = unix.Errno(516)
)

// isRestartErrno reports whether e asks for a restart decision.
func isRestartErrno(e unix.Errno) bool {
	return e == ERESTARTSYS || e == ERESTARTNOINTR || e == ERESTARTNOHAND || e == ERESTARTRESTARTBLOCK
}

// kick wakes the task wherever it is: blocked in the sentry or running
// application code.
func (t *Task) kick() {
	// Linux's signal_wake_up makes a task in an interruptible sleep
	// runnable before kill(2) returns, and /proc says so from then on;
	// BlockUntil marks it sleeping again if the kick was spurious.
	t.waitState.CompareAndSwap(uint32(StateSleeping), 0)
	select {
	case t.interrupt <- struct{}{}:
	default:
	}
	// A task whose goroutine has not made its context yet finds the
	// interrupt token before it first runs application code.
	if ctx := t.runningCtx.Load(); ctx != nil {
		(*ctx).Interrupt()
	}
}

// interruptedLocked reports whether the task must stop waiting: it must
// exit, its group is stopping, or it has a signal it does not block.
//
// Preconditions: k.mu is held.
func (t *Task) interruptedLocked() bool {
	return t.killed || t.tg.exiting || t.tg.stopped ||
		t.pending.set&^t.sigmask != 0 || t.tg.pending.set&^t.sigmask != 0
}

// Interrupted reports whether a wait should end early (see
// interruptedLocked).
func (t *Task) Interrupted() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.interruptedLocked()
}

// Block waits until ch is ready or the task is interrupted, in which case
// it returns ERESTARTSYS.
func (t *Task) Block(ch <-chan struct{}) error {
	_, err := t.BlockUntil(ch, time.Time{})
	return err
}

// BlockUntil is Block with a deadline (zero for none); it reports whether
// the deadline passed.
func (t *Task) BlockUntil(ch <-chan struct{}, deadline time.Time) (timedOut bool, err error) {
	t.tg.settle.mark()
	var (
		timeout <-chan time.Time
		// hostTimeout is closed when a host timer (host_timer.go)
		// expires, for a short wait.
		hostTimeout <-chan struct{}
	)
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return true, nil
		}
		if h, fired := startHostTimer(d); h != nil {
			hostTimeout = fired
			defer h.stop(fired)
		} else {
			timer := time.NewTimer(d)
			defer timer.Stop()
			timeout = timer.C
		}
	}
	if bn, ok := t.ctx.(platform.BlockNotifier); ok {
		bn.Blocking()
	}
	// An interruptible sleep does not count toward the load average.
	t.k.load.taskInactive()
	defer t.k.load.taskActive()
	defer t.waitState.Store(0)
	defer t.chargeBlocked(time.Now())
	for {
		if t.Interrupted() {
			return false, ERESTARTSYS
		}
		t.waitState.Store(uint32(StateSleeping))
		select {
		case <-ch:
			return false, nil
		case <-timeout:
			return true, nil
		case <-hostTimeout:
			return true, nil
		case <-t.interrupt:
			// Spurious wake-ups (a kick whose signal was already
			// handled) loop back to the check above.
		}
	}
}

// Sleep sleeps for d, interruptibly.
func (t *Task) Sleep(d time.Duration) error {
	_, err := t.BlockUntil(nil, time.Now().Add(d))
	return err
}

// chargeBlocked records that the task slept since start, time its system
// call does not charge as CPU time.
func (t *Task) chargeBlocked(start time.Time) {
	t.blockedNS += int64(time.Since(start))
}
