package kernel

import (
	"time"

	"golang.org/x/sys/unix"
)

// FutexWaitvEntry is one futex of a futex_waitv(2) call, its flags
// already checked.
type FutexWaitvEntry struct {
	// Val is the value the 32-bit word at Addr must hold to sleep.
	Val, Addr uint64
	// Private is FUTEX2_PRIVATE.
	Private bool
}

// FutexWaitv implements futex_waitv(2): if every word holds its value,
// sleep on all of them until one is woken, and return its index (the
// highest one when several were, as Linux's futex_unqueue_multiple does).
// A word holding another value fails with EAGAIN, the deadline (zero:
// none) with ETIMEDOUT, a signal with a restart (the timeout is absolute).
// Each entry waits like a FUTEX_WAIT: FUTEX_WAKE, FUTEX_REQUEUE and
// FUTEX_WAKE_OP act on it.
func (t *Task) FutexWaitv(entries []FutexWaitvEntry, deadline time.Time) (int, error) {
	keys := make([]futexKey, len(entries))
	for i, e := range entries {
		key, err := t.futexKey(e.Addr, e.Private)
		if err != nil {
			return 0, err
		}
		keys[i] = key
	}
	m := &t.k.futexes
	wake := newFutexWake()
	ws := make([]*futexWaiter, len(entries))
	// Check and queue every word under mu: a wake between two checks
	// cannot be missed, and none can come before all are queued, so a
	// mismatch leaves nothing woken to report.
	m.mu.Lock()
	for i, e := range entries {
		cur, err := t.loadFutexWord(e.Addr)
		if err == nil && uint64(cur) != e.Val {
			err = unix.EAGAIN
		}
		if err != nil {
			for _, w := range ws[:i] {
				m.dequeueLocked(w)
			}
			m.mu.Unlock()
			return 0, err
		}
		ws[i] = &futexWaiter{t: t, key: keys[i], bitset: futexBitsetAny, wake: wake}
		m.enqueueLocked(ws[i])
	}
	m.mu.Unlock()

	timedOut, err := t.BlockUntil(wake.ch, deadline)
	m.mu.Lock()
	woken := -1
	for i, w := range ws {
		if w.woken {
			woken = i
		} else {
			m.dequeueLocked(w)
		}
	}
	m.mu.Unlock()
	switch {
	case woken >= 0:
		return woken, nil
	case timedOut:
		return 0, unix.ETIMEDOUT
	}
	return 0, err
}
