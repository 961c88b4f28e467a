package kvm

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

// The vCPU pool. A context holds a vCPU only for the duration of one
// Switch; between Switches the vCPU is free but remembers the host thread
// that last ran it (vCPU.tid) and the state it holds, so the next Switch of
// the same task normally takes the same vCPU back without a lock or an
// ioctl (the fast path of acquire).
//
// Why vCPUs stay with threads: KVM_RUN from a thread other than the one
// that ran the vCPU last makes KVM swap the vCPU's pid, which waits for an
// RCU grace period (synchronize_rcu in virt/kvm/kvm_main.c, KVM_RUN), i.e.
// milliseconds. Tasks are locked to their OS threads for life (a platform
// precondition), so binding a vCPU to the thread that first runs it, and
// preferring that binding, means a vCPU changes threads only when the pool
// is exhausted.
//
// Choosing a vCPU when the fast path fails, in order:
//  1. a free vCPU last run by this thread;
//  2. a free vCPU that has never run;
//  3. a new vCPU, while the pool is below its cap;
//  4. any free vCPU (it changes threads);
//  5. wait: the next vCPU released is handed to the longest waiter
//     directly, so a task that releases and re-acquires in a loop (a
//     spinning guest preempted by the watchdog) cannot starve others.

// vCPU pool states (vCPU.state).
const (
	vcpuFree uint32 = iota
	vcpuHeld
)

var errPoolClosed = errors.New("kvm: platform closed")

// errWaitInterrupted is acquireOrWake's answer when wake fired before a
// vCPU was free.
var errWaitInterrupted = errors.New("kvm: wait for a vCPU interrupted")

// pool is the set of vCPUs.
type pool struct {
	// max is the cap on the number of vCPUs; immutable.
	max int
	// create makes vCPU id; called with mu held. Immutable.
	create func(id int) (*vCPU, error)

	// all is every vCPU created, replaced (never changed in place) under
	// mu, so that shootdowns and the watchdog read it without locking.
	all atomic.Pointer[[]*vCPU]
	// waiting is the number of acquirers registered as possible waiters;
	// incremented and decremented under mu, read without it by release.
	waiting atomic.Int32

	// mu protects waiters, nextID, retired and closed, and serializes
	// creation.
	mu sync.Mutex
	// retired are the broken vCPUs taken out of all (retire), kept for
	// the machine's close.
	retired []*vCPU
	// waiters are the channels of blocked acquirers, oldest first.
	waiters []chan *vCPU
	// nextID is the id of the next vCPU to create. An id whose creation
	// failed is not reused (KVM may have consumed it).
	nextID int
	closed bool
}

func newPool(max int, create func(id int) (*vCPU, error)) *pool {
	p := &pool{max: max, create: create}
	p.all.Store(&[]*vCPU{})
	return p
}

// vcpus returns every vCPU of the pool (those created and not retired).
func (p *pool) vcpus() []*vCPU {
	return *p.all.Load()
}

// created returns every vCPU ever created, the retired ones included,
// for the machine to release.
func (p *pool) created() []*vCPU {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(slices.Clone(p.vcpus()), p.retired...)
}

// acquire returns a vCPU held by the caller, preferring last.
func (p *pool) acquire(last *vCPU, tid int32) (*vCPU, error) {
	return p.acquireOrWake(last, tid, nil)
}

// acquireOrWake is acquire that stops waiting, with errWaitInterrupted,
// when wake fires: a task waiting for a vCPU must still take its signals
// and die when killed, or a sandbox whose vCPUs are all held could not
// even exit.
func (p *pool) acquireOrWake(last *vCPU, tid int32, wake <-chan struct{}) (*vCPU, error) {
	if last != nil && last.state.CompareAndSwap(vcpuFree, vcpuHeld) {
		last.tid.Store(tid)
		return last, nil
	}
	return p.acquireSlow(tid, wake)
}

func (p *pool) acquireSlow(tid int32, wake <-chan struct{}) (*vCPU, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	// Register before looking, so that a release racing with the scan
	// either is seen by the scan or sees the registration.
	p.waiting.Add(1)
	v := p.takeLocked(func(v *vCPU) bool { return v.tid.Load() == tid })
	if v == nil {
		v = p.takeLocked(func(v *vCPU) bool { return v.tid.Load() == 0 })
	}
	if v == nil && len(p.vcpus()) < p.max {
		p.waiting.Add(-1)
		nv, err := p.createLocked()
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
		nv.tid.Store(tid)
		return nv, nil
	}
	if v == nil {
		v = p.takeLocked(func(*vCPU) bool { return true })
	}
	if v != nil {
		p.waiting.Add(-1)
		p.mu.Unlock()
		v.tid.Store(tid)
		return v, nil
	}
	ch := make(chan *vCPU, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	select {
	case v = <-ch:
	case <-wake:
		p.mu.Lock()
		if i := slices.Index(p.waiters, ch); i >= 0 {
			p.waiters = slices.Delete(p.waiters, i, i+1)
			p.waiting.Add(-1)
			p.mu.Unlock()
			return nil, errWaitInterrupted
		}
		p.mu.Unlock()
		// A release or close already answered.
		v = <-ch
	}
	if v == nil {
		return nil, errPoolClosed
	}
	v.tid.Store(tid)
	return v, nil
}

// takeLocked claims the first free vCPU that ok accepts.
func (p *pool) takeLocked(ok func(*vCPU) bool) *vCPU {
	for _, v := range p.vcpus() {
		if ok(v) && v.state.Load() == vcpuFree && v.state.CompareAndSwap(vcpuFree, vcpuHeld) {
			return v
		}
	}
	return nil
}

// createLocked creates a held vCPU.
func (p *pool) createLocked() (*vCPU, error) {
	id := p.nextID
	p.nextID++
	v, err := p.create(id)
	if err != nil {
		return nil, err
	}
	v.state.Store(vcpuHeld)
	old := p.vcpus()
	all := make([]*vCPU, len(old), len(old)+1)
	copy(all, old)
	all = append(all, v)
	p.all.Store(&all)
	return v, nil
}

// release returns a held vCPU. A broken vCPU is never handed out again:
// it leaves the pool (retire).
func (p *pool) release(v *vCPU) {
	if v.broken {
		p.retire(v)
		return
	}
	v.state.Store(vcpuFree)
	if p.waiting.Load() == 0 {
		return
	}
	p.mu.Lock()
	if len(p.waiters) > 0 && v.state.CompareAndSwap(vcpuFree, vcpuHeld) {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.waiting.Add(-1)
		ch <- v
	}
	p.mu.Unlock()
}

// retire drops a broken vCPU from the pool, so that a new one can take its
// place under the cap (a sandbox whose vCPUs all broke one by one could
// otherwise run nothing), and hands the new one to the longest waiter at
// once, since no release may come. The broken vCPU stays held for good:
// a context that still names it as its last vCPU fails the fast path.
// Its descriptor and pages are given back with the machine's (created):
// the watchdog may still be looking at it through an older list, and KVM
// would not reuse its id anyway.
func (p *pool) retire(v *vCPU) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.vcpus()
	i := slices.Index(old, v)
	if i < 0 {
		return
	}
	all := slices.Delete(slices.Clone(old), i, i+1)
	p.all.Store(&all)
	p.retired = append(p.retired, v)
	if len(p.waiters) == 0 || p.closed {
		return
	}
	nv, err := p.createLocked()
	if err != nil {
		return // the waiters take the next release
	}
	ch := p.waiters[0]
	p.waiters = p.waiters[1:]
	p.waiting.Add(-1)
	ch <- nv
}

// close wakes every waiter with an error; later acquires fail.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	for _, ch := range p.waiters {
		p.waiting.Add(-1)
		ch <- nil
	}
	p.waiters = nil
	p.mu.Unlock()
}
