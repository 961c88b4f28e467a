package kvm

import (
	"sync/atomic"
	"time"
)

// watchdogPeriod is the watchdog's tick: a vCPU that stays in the guest for
// between one and two periods without an exit is kicked.
const watchdogPeriod = 10 * time.Millisecond

// watchdog bounds how long a KVM_RUN lasts. A guest that never traps
// (a busy loop) would otherwise keep KVM_RUN, and the task's Switch, running
// forever; kicked, its Switch returns TrapInterrupted, the kernel's
// preemption point (it then calls Switch again unless it has something to
// do for the task).
//
// It parks when no vCPU is in the guest, so an idle sentry has no timer
// running: the first vCPU to enter wakes it (entering). The vCPU stores
// inGuest before it loads idle, and the watchdog stores idle before it
// loads every inGuest, so one of them sees the other (sequentially
// consistent atomics): a vCPU never enters unwatched.
type watchdog struct {
	pool   *pool
	period time.Duration
	// idle is set while the watchdog is parked or about to park.
	idle atomic.Bool
	// wake carries a wake-up from entering; buffered so that entering
	// never blocks.
	wake chan struct{}
	// done is closed by stop; finished is closed when the loop is over.
	done     chan struct{}
	finished chan struct{}
}

func newWatchdog(p *pool, period time.Duration) *watchdog {
	w := &watchdog{
		pool:     p,
		period:   period,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	go w.loop()
	return w
}

// entering is called by a vCPU after it set inGuest, before KVM_RUN.
func (w *watchdog) entering() {
	if w.idle.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// stop ends the watchdog and waits for it.
func (w *watchdog) stop() {
	close(w.done)
	<-w.finished
}

func (w *watchdog) loop() {
	defer close(w.finished)
	// seen maps a vCPU found in the guest at the last tick to its runSeq
	// then; only this goroutine uses it.
	seen := make(map[*vCPU]uint64)
	t := time.NewTicker(w.period)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
		}
		if w.tick(seen) {
			continue
		}
		w.idle.Store(true)
		if w.anyInGuest() {
			w.idle.Store(false)
			continue
		}
		select {
		case <-w.wake:
		case <-w.done:
			return
		}
		w.idle.Store(false)
		clear(seen)
		t.Reset(w.period)
	}
}

// tick kicks every vCPU that has been in the guest, in the same run, since
// the previous tick, and reports whether any vCPU is in the guest.
func (w *watchdog) tick(seen map[*vCPU]uint64) bool {
	busy := false
	for _, v := range w.pool.vcpus() {
		if !v.inGuest.Load() {
			delete(seen, v)
			continue
		}
		busy = true
		seq := v.runSeq.Load()
		if s, ok := seen[v]; ok && s == seq {
			v.kick()
			delete(seen, v)
			continue
		}
		seen[v] = seq
	}
	return busy
}

func (w *watchdog) anyInGuest() bool {
	for _, v := range w.pool.vcpus() {
		if v.inGuest.Load() {
			return true
		}
	}
	return false
}
