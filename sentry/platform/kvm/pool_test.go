package kvm

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// fakePool returns a pool of vCPUs with no KVM behind them.
func fakePool(max int) (*pool, *int) {
	created := 0
	p := newPool(max, func(id int) (*vCPU, error) {
		created++
		return &vCPU{id: id, run: new(kvmRun)}, nil
	})
	return p, &created
}

func TestPoolAffinity(t *testing.T) {
	p, created := fakePool(4)
	a, _ := p.acquire(nil, 100)
	b, _ := p.acquire(nil, 200)
	if a == b || *created != 2 || a.tid.Load() != 100 || b.tid.Load() != 200 {
		t.Fatalf("a %d b %d created %d", a.id, b.id, *created)
	}
	p.release(a)
	p.release(b)
	// Fast path: the context's own last vCPU.
	if v, _ := p.acquire(a, 100); v != a {
		t.Fatalf("got vCPU %d, want the last one %d", v.id, a.id)
	}
	p.release(a)
	// Slow path from thread 200 with no last vCPU: its own vCPU.
	if v, _ := p.acquire(nil, 200); v != b {
		t.Fatalf("thread 200 got vCPU %d, want %d", v.id, b.id)
	}
	// A new thread gets a new vCPU while below the cap, not a's.
	c, _ := p.acquire(nil, 300)
	if c == a || *created != 3 {
		t.Fatalf("thread 300 got vCPU %d, created %d", c.id, *created)
	}
	p.release(b)
	p.release(c)
}

func TestPoolPrefersNeverRun(t *testing.T) {
	p, _ := fakePool(3)
	a, _ := p.acquire(nil, 1)
	b, _ := p.acquire(nil, 2)
	p.release(a)
	p.release(b)
	// A vCPU that never ran beats another thread's vCPU.
	c, _ := p.acquire(nil, 3)
	p.release(c)
	c.tid.Store(0) // as if it had never run
	if v, _ := p.acquire(nil, 4); v != c {
		t.Fatalf("got vCPU %d, want the never-run %d", v.id, c.id)
	}
}

func TestPoolCapAndSteal(t *testing.T) {
	p, created := fakePool(2)
	a, _ := p.acquire(nil, 1)
	b, _ := p.acquire(nil, 2)
	p.release(a)
	// At the cap, a new thread takes another thread's free vCPU.
	v, _ := p.acquire(nil, 3)
	if v != a || *created != 2 || a.tid.Load() != 3 {
		t.Fatalf("got %d created %d tid %d", v.id, *created, a.tid.Load())
	}
	p.release(a)
	p.release(b)
}

func TestPoolWaitAndHandOff(t *testing.T) {
	p, _ := fakePool(1)
	a, _ := p.acquire(nil, 1)
	got := queuedAcquire(t, p, 2)
	p.release(a)
	// The released vCPU went to the waiter, not back to the free list: the
	// releaser's fast path fails.
	if v, err := tryAcquireFast(p, a, 1); v != nil || err != nil {
		t.Fatal("releaser re-took a vCPU handed to a waiter")
	}
	v := <-got
	if v != a || v.tid.Load() != 2 || p.waiting.Load() != 0 {
		t.Fatalf("waiter got %v tid %d waiting %d", v, v.tid.Load(), p.waiting.Load())
	}
	p.release(v)
}

// queuedAcquire starts an acquire for thread tid of a pool with nothing
// free, returns once it waits, and delivers the vCPU it gets.
func queuedAcquire(t *testing.T, p *pool, tid int32) <-chan *vCPU {
	t.Helper()
	got := make(chan *vCPU, 1)
	go func() {
		v, err := p.acquire(nil, tid)
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	for p.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	return got
}

// tryAcquireFast is acquire's fast path alone.
func tryAcquireFast(p *pool, last *vCPU, tid int32) (*vCPU, error) {
	if last.state.CompareAndSwap(vcpuFree, vcpuHeld) {
		return last, nil
	}
	return nil, nil
}

func TestPoolFairnessUnderContention(t *testing.T) {
	// Eight goroutines share two vCPUs; each must get its turns.
	p, _ := fakePool(2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	holders := map[*vCPU]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(tid int32) {
			defer wg.Done()
			var last *vCPU
			for i := 0; i < 200; i++ {
				v, err := p.acquire(last, tid)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				holders[v]++
				if holders[v] != 1 {
					t.Errorf("vCPU %d held twice", v.id)
				}
				mu.Unlock()
				time.Sleep(10 * time.Microsecond)
				mu.Lock()
				holders[v]--
				mu.Unlock()
				p.release(v)
				last = v
			}
		}(int32(g + 1))
	}
	wg.Wait()
	if n := len(p.vcpus()); n != 2 {
		t.Fatalf("%d vCPUs, cap 2", n)
	}
}

func TestPoolCloseAndErrors(t *testing.T) {
	p := newPool(2, func(id int) (*vCPU, error) {
		if id == 0 {
			return nil, errors.New("no")
		}
		return &vCPU{id: id, run: new(kvmRun)}, nil
	})
	if _, err := p.acquire(nil, 1); err == nil {
		t.Fatal("creation error lost")
	}
	// The failed id is not reused.
	v, err := p.acquire(nil, 1)
	if err != nil || v.id != 1 {
		t.Fatalf("second creation: %v %v", v, err)
	}
	// A broken vCPU is never handed out again.
	v.broken = true
	p.release(v)
	if w, _ := tryAcquireFast(p, v, 1); w != nil {
		t.Fatal("broken vCPU reused")
	}
	done := make(chan error)
	p2, _ := fakePool(1)
	a, _ := p2.acquire(nil, 1)
	go func() {
		_, err := p2.acquire(nil, 2)
		done <- err
	}()
	for p2.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	p2.close()
	if err := <-done; err != errPoolClosed {
		t.Fatalf("waiter after close: %v", err)
	}
	if _, err := p2.acquire(nil, 3); err != errPoolClosed {
		t.Fatalf("acquire after close: %v", err)
	}
	_ = a
}

// TestWatchdogTick checks the kick rule deterministically: a vCPU seen in
// the guest in the same run at two consecutive ticks is kicked, one that
// exited in between is not.
func TestWatchdogTick(t *testing.T) {
	p, _ := fakePool(3)
	spinning, _ := p.acquire(nil, 0)
	busy, _ := p.acquire(nil, 0)
	idle, _ := p.acquire(nil, 0)
	w := &watchdog{pool: p}
	seen := map[*vCPU]uint64{}
	spinning.inGuest.Store(true)
	busy.inGuest.Store(true)
	if !w.tick(seen) {
		t.Fatal("tick reports no vCPU in the guest")
	}
	busy.runSeq.Add(1) // exited and re-entered
	w.tick(seen)
	if immediateExit(spinning.run) == 0 {
		t.Fatal("a vCPU in the same run for a whole tick was not kicked")
	}
	if immediateExit(busy.run) != 0 || immediateExit(idle.run) != 0 {
		t.Fatal("a vCPU that exited, or was not in the guest, was kicked")
	}
	spinning.inGuest.Store(false)
	busy.inGuest.Store(false)
	if w.tick(seen) || len(seen) != 0 {
		t.Fatalf("tick with nothing in the guest: seen %v", seen)
	}
}

// TestWatchdogLoop checks that the running watchdog kicks a spinning vCPU,
// parks when nothing runs, and wakes when a vCPU enters.
func TestWatchdogLoop(t *testing.T) {
	p, _ := fakePool(1)
	v, _ := p.acquire(nil, 0)
	w := newWatchdog(p, time.Millisecond)
	defer w.stop()
	deadline := time.Now().Add(10 * time.Second)
	waitFor := func(what string, cond func() bool) {
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	v.runSeq.Add(1)
	v.inGuest.Store(true)
	w.entering()
	waitFor("spinning vCPU never kicked", func() bool { return immediateExit(v.run) != 0 })
	v.inGuest.Store(false)
	waitFor("watchdog never parked", w.idle.Load)
	setImmediateExit(v.run, 0)
	v.runSeq.Add(1)
	v.inGuest.Store(true)
	w.entering()
	waitFor("parked watchdog did not wake", func() bool { return immediateExit(v.run) != 0 })
	v.inGuest.Store(false)
}

// A waiter whose wake fires leaves the queue with errWaitInterrupted, and
// the next release goes to the waiter behind it.
func TestPoolWaitInterrupted(t *testing.T) {
	p, _ := fakePool(1)
	held, _ := p.acquire(nil, 1)
	wake := make(chan struct{}, 1)
	first := make(chan error, 1)
	go func() {
		_, err := p.acquireOrWake(nil, 2, wake)
		first <- err
	}()
	for p.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan *vCPU, 1)
	go func() {
		v, _ := p.acquire(nil, 3)
		second <- v
	}()
	for p.waiting.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	wake <- struct{}{}
	if err := <-first; err != errWaitInterrupted {
		t.Fatalf("woken waiter: %v, want errWaitInterrupted", err)
	}
	p.release(held)
	if v := <-second; v != held {
		t.Fatalf("the waiter behind got %v, want the released vCPU", v)
	}
	if n := p.waiting.Load(); n != 0 {
		t.Errorf("%d waiters counted after both left", n)
	}
}

// TestPoolReplacesBrokenVCPUs: a broken vCPU leaves the pool, a new one
// takes its place under the cap, and a waiter gets the new one.
func TestPoolReplacesBrokenVCPUs(t *testing.T) {
	p, created := fakePool(1)
	a, _ := p.acquire(nil, 1)
	a.broken = true
	p.release(a)
	// With nothing free and the cap reached, acquire would wait: a wake
	// that has already fired makes that an error rather than a hang.
	fired := make(chan struct{})
	close(fired)
	b, err := p.acquireOrWake(a, 1, fired)
	if err != nil || b == a || *created != 2 {
		t.Fatalf("after a broken vCPU: got %v (%v), created %d", b, err, *created)
	}
	if all := p.vcpus(); len(all) != 1 || all[0] != b {
		t.Fatalf("the pool holds %d vCPUs", len(all))
	}
	if all := p.created(); len(all) != 2 {
		t.Fatalf("%d vCPUs to release at close, want the broken one too", len(all))
	}

	// A waiter for the only vCPU gets a new one when that one breaks.
	got := queuedAcquire(t, p, 2)
	b.broken = true
	p.release(b)
	select {
	case v := <-got:
		if v == nil || v == b || v.broken || *created != 3 {
			t.Fatalf("the waiter got %v, created %d", v, *created)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter got no vCPU after the only one broke")
	}
}
