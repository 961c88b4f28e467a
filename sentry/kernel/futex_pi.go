package kernel

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// PI futexes (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI,
// FUTEX_UNLOCK_PI, FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI), after
// Linux's kernel/futex/pi.c and requeue.c.
//
// The lock word holds the owner's TID in its low 30 bits, FUTEX_WAITERS
// when the kernel has waiters (so the owner's user-space unlock fails its
// cmpxchg and calls FUTEX_UNLOCK_PI) and FUTEX_OWNER_DIED when a robust
// owner died. Locking and unlocking without contention never enter the
// kernel; the kernel keeps, for a contended futex, a futexPIState naming
// the owner, hands the lock directly to the oldest waiter on unlock, and
// to the oldest waiter when the owner exits.
//
// Priority inheritance itself has no meaning in the sentry: the host
// schedules the task threads and the sentry has no run queue whose
// priorities it could boost, so what is implemented is the ownership
// protocol programs depend on (glibc's PTHREAD_PRIO_INHERIT and robust PI
// mutexes), with its deadlock detection; waiters are served in arrival
// order rather than by priority.

// maxLockDepth bounds the PI deadlock-detection chain walk, as Linux's
// max_lock_depth does; a longer chain counts as a deadlock.
const maxLockDepth = 1024

// futexPIState is the kernel's side of a contended PI futex (Linux's
// futex_pi_state); protected by futexManager.mu.
type futexPIState struct {
	key futexKey
	// owner holds the lock. It is nil only once the state is dropped:
	// an exiting owner hands the lock to the oldest waiter at once
	// (releasePIStatesLocked).
	owner *Task
	// waiters counts the waiters blocked on the state; at zero the state
	// goes away (putPIStateLocked).
	waiters int
}

// newPIStateLocked returns a PI state for key owned by owner.
//
// Preconditions: m.mu is held.
func (m *futexManager) newPIStateLocked(key futexKey, owner *Task) *futexPIState {
	ps := &futexPIState{key: key}
	m.setPIOwnerLocked(ps, owner)
	return ps
}

// setPIOwnerLocked moves ps to owner's list of held PI futexes.
//
// Preconditions: m.mu is held.
func (m *futexManager) setPIOwnerLocked(ps *futexPIState, owner *Task) {
	if ps.owner != nil {
		delete(ps.owner.futex.piOwned, ps)
	}
	ps.owner = owner
	if owner != nil {
		if owner.futex.piOwned == nil {
			owner.futex.piOwned = make(map[*futexPIState]struct{})
		}
		owner.futex.piOwned[ps] = struct{}{}
	}
}

// putPIStateLocked drops ps once no waiter uses it.
//
// Preconditions: m.mu is held.
func (m *futexManager) putPIStateLocked(ps *futexPIState) {
	if ps != nil && ps.waiters == 0 {
		m.setPIOwnerLocked(ps, nil)
	}
}

// firstPIWaiterLocked returns the oldest waiter blocked on ps (the top
// waiter of Linux's rt_mutex), or nil.
//
// Preconditions: m.mu is held.
func (m *futexManager) firstPIWaiterLocked(ps *futexPIState) *futexWaiter {
	for _, w := range m.queues[ps.key] {
		if w.pi == ps {
			return w
		}
	}
	return nil
}

// blockOnPILocked makes w a waiter of ps, unless that would deadlock: the
// owner of ps is, through a chain of PI futexes each waited on by the
// owner of the previous, waiting for w's task (Linux's rt_mutex chain
// walk). The caller queues w.
//
// Preconditions: m.mu is held.
func (m *futexManager) blockOnPILocked(w *futexWaiter, ps *futexPIState) error {
	owner := ps.owner
	for depth := 0; owner != nil; depth++ {
		if owner == w.t || depth > maxLockDepth {
			return unix.EDEADLK
		}
		next := owner.futex.blockedOn
		if next == nil {
			break
		}
		owner = next.owner
	}
	w.pi = ps
	ps.waiters++
	w.t.futex.blockedOn = ps
	return nil
}

// leavePILocked ends w's wait on its PI state.
//
// Preconditions: m.mu is held.
func (m *futexManager) leavePILocked(w *futexWaiter) {
	ps := w.pi
	if ps == nil {
		return
	}
	if w.t.futex.blockedOn == ps {
		w.t.futex.blockedOn = nil
	}
	w.pi = nil
	ps.waiters--
	m.putPIStateLocked(ps)
}

// handOverLocked gives the lock of ps to its oldest waiter, which the
// caller has taken off the queue, and wakes it.
//
// Preconditions: m.mu is held.
func (m *futexManager) handOverLocked(ps *futexPIState, w *futexWaiter, fixupWord bool) {
	m.setPIOwnerLocked(ps, w.t)
	w.acquired = true
	w.fixupWord = fixupWord
	m.leavePILocked(w)
	m.wakeWaiterLocked(w)
}

// lockPIAtomicLocked is Linux's futex_lock_pi_atomic: it takes the PI
// futex at addr for task, whose TID as the caller sees it is tid, if the
// word holds no owner (keeping FUTEX_OWNER_DIED), or returns the PI state
// to wait on: the existing one, or a new one attached to the owner the
// word names. setWaiters (a requeue that will queue more waiters) sets
// FUTEX_WAITERS and a PI state on a lock taken for task.
//
// Preconditions: m.mu is held.
func (m *futexManager) lockPIAtomicLocked(caller *Task, addr uint64, key futexKey, task *Task, tid uint32, setWaiters bool) (acquired bool, ps *futexPIState, err error) {
	uval, err := caller.loadFutexWord(addr)
	if err != nil {
		return false, nil, err
	}
	if uval&futexTIDMask == tid {
		return false, nil, unix.EDEADLK
	}
	if top := m.firstWaiterLocked(key); top != nil {
		ps, err := m.attachToPIStateLocked(caller, addr, uval, top.pi)
		return false, ps, err
	}
	if uval&futexTIDMask == 0 {
		// No owner and no waiters: a stale FUTEX_WAITERS or
		// FUTEX_OWNER_DIED bit sent the caller here. Take it over.
		newVal := uval&futexOwnerDied | tid
		if setWaiters {
			newVal |= futexWaiters
		}
		if err := caller.casFutexWord(addr, uval, newVal); err != nil {
			return false, nil, err
		}
		if setWaiters {
			ps = m.newPIStateLocked(key, task)
		}
		return true, ps, nil
	}
	// The first waiter: set FUTEX_WAITERS, so that the owner's unlock
	// comes to the kernel, then find the owner. If it is gone the bit
	// stays set, as in Linux.
	newVal := uval | futexWaiters
	if err := caller.casFutexWord(addr, uval, newVal); err != nil {
		return false, nil, err
	}
	ps, err = m.attachToPIOwnerLocked(caller, addr, newVal, key)
	return false, ps, err
}

// attachToPIStateLocked checks the word against the existing PI state of
// its waiters (Linux's attach_to_pi_state); nil ps means the waiters are
// not PI waiters, which is EINVAL.
//
// Preconditions: m.mu is held.
func (m *futexManager) attachToPIStateLocked(caller *Task, addr uint64, uval uint32, ps *futexPIState) (*futexPIState, error) {
	if ps == nil {
		return nil, unix.EINVAL
	}
	if cur, err := caller.loadFutexWord(addr); err != nil {
		return nil, err
	} else if cur != uval {
		return nil, errFutexRetry
	}
	pid := uval & futexTIDMask
	if uval&futexOwnerDied != 0 && pid == 0 {
		// The robust list of a dying owner cleared the TID; its exit
		// hands the lock to the oldest waiter.
		return ps, nil
	}
	if int32(pid) != caller.IDOfTask(ps.owner) {
		// User space changed the word behind the kernel's back.
		return nil, unix.EINVAL
	}
	return ps, nil
}

// attachToPIOwnerLocked makes a PI state owned by the task the word names
// (Linux's attach_to_pi_owner). A TID that names no live task, or a task
// whose exit already released its futexes, is ESRCH: the owner died
// without a robust list to mark the word.
//
// Preconditions: m.mu is held.
func (m *futexManager) attachToPIOwnerLocked(caller *Task, addr uint64, uval uint32, key futexKey) (*futexPIState, error) {
	pid := uval & futexTIDMask
	if pid == 0 {
		return nil, errFutexRetry
	}
	p := caller.LookupTask(int32(pid))
	if p == nil || p.futex.exited {
		// The exiting owner may have changed the word (its robust
		// list): then start over.
		cur, err := caller.loadFutexWord(addr)
		if err != nil {
			return nil, err
		}
		if cur != uval {
			return nil, errFutexRetry
		}
		return nil, unix.ESRCH
	}
	return m.newPIStateLocked(key, p), nil
}

// FutexLockPI implements FUTEX_LOCK_PI and FUTEX_LOCK_PI2 (deadline is the
// absolute timeout, zero for none) and, with trylock, FUTEX_TRYLOCK_PI.
func (t *Task) FutexLockPI(addr uint64, private bool, deadline time.Time, trylock bool) error {
	key, err := t.futexKey(addr, private)
	if err != nil {
		return err
	}
	tid := uint32(t.TID())
	m := &t.k.futexes
	for {
		m.mu.Lock()
		acquired, ps, err := m.lockPIAtomicLocked(t, addr, key, t, tid, false)
		if err == errFutexRetry {
			m.mu.Unlock()
			runtime.Gosched()
			continue
		}
		if err != nil || acquired {
			m.mu.Unlock()
			return err
		}
		if trylock {
			// The lock is held (the owner's PI state can never be
			// ownerless here): EWOULDBLOCK, leaving FUTEX_WAITERS
			// set as Linux does.
			m.putPIStateLocked(ps)
			m.mu.Unlock()
			return unix.EAGAIN
		}
		w := t.newFutexWaiter(key, futexBitsetAny, tid)
		if err := m.blockOnPILocked(w, ps); err != nil {
			m.putPIStateLocked(ps)
			m.mu.Unlock()
			return err
		}
		m.enqueueLocked(w)
		m.mu.Unlock()
		return t.waitPI(w, addr, deadline)
	}
}

// waitPI blocks until the PI futex at addr is handed to w, the deadline
// passes (ETIMEDOUT) or a signal comes (ERESTARTNOINTR: the lock attempt
// restarts after the handler, as futex_lock_pi's does). A hand-over that
// races with the timeout or the signal wins.
func (t *Task) waitPI(w *futexWaiter, addr uint64, deadline time.Time) error {
	timedOut, _ := t.BlockUntil(w.wake.ch, deadline)
	m := &t.k.futexes
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.acquired {
		return t.fixupPIOwnerLocked(w, addr)
	}
	m.dequeueLocked(w)
	m.leavePILocked(w)
	if timedOut {
		return unix.ETIMEDOUT
	}
	// Interrupted (only a hand-over wakes a PI waiter otherwise).
	return ERESTARTNOINTR
}

// fixupPIOwnerLocked writes the new owner's TID into a PI futex word it
// was handed by an exiting owner, with FUTEX_WAITERS and FUTEX_OWNER_DIED:
// the owner died, whether or not a robust list said so (Linux's
// fixup_pi_state_owner, for a pi_state its exit left ownerless).
//
// Preconditions: m.mu is held.
func (t *Task) fixupPIOwnerLocked(w *futexWaiter, addr uint64) error {
	if !w.fixupWord {
		return nil
	}
	w.fixupWord = false
	for {
		uval, err := t.loadFutexWord(addr)
		if err != nil {
			return err
		}
		err = t.casFutexWord(addr, uval, futexOwnerDied|futexWaiters|w.tid)
		if err != errFutexRetry {
			return err
		}
	}
}

// FutexUnlockPI implements FUTEX_UNLOCK_PI: the caller must own the lock
// (EPERM otherwise); the oldest waiter gets it, with FUTEX_WAITERS set
// whatever waiters remain, or the word is cleared when there is none.
func (t *Task) FutexUnlockPI(addr uint64, private bool) error {
	tid := uint32(t.TID())
	m := &t.k.futexes
	for {
		uval, err := t.loadFutexWord(addr)
		if err != nil {
			return err
		}
		if uval&futexTIDMask != tid {
			return unix.EPERM
		}
		key, err := t.futexKey(addr, private)
		if err != nil {
			return err
		}
		m.mu.Lock()
		err = m.unlockPILocked(t, addr, key, uval)
		m.mu.Unlock()
		if err != errFutexRetry {
			return err
		}
		runtime.Gosched()
	}
}

// unlockPILocked is the locked part of FUTEX_UNLOCK_PI, uval being the
// word the caller read.
//
// Preconditions: m.mu is held.
func (m *futexManager) unlockPILocked(t *Task, addr uint64, key futexKey, uval uint32) error {
	top := m.firstWaiterLocked(key)
	if top == nil {
		// No waiters in the kernel: clear the word, owner-died and
		// waiters bits included. If it changed, user space handles it.
		cur, err := t.mm.CompareAndSwapUint32(addr, uval, 0)
		if err != nil {
			return unix.EFAULT
		}
		if cur != uval {
			return unix.EAGAIN
		}
		return nil
	}
	ps := top.pi
	if ps == nil || ps.owner != t {
		// The word says we own it but the kernel does not: user space
		// mixed PI and non-PI operations or forged the word.
		return unix.EINVAL
	}
	newVal := futexWaiters | uint32(t.IDOfTask(top.t))
	cur, err := t.mm.CompareAndSwapUint32(addr, uval, newVal)
	if err != nil {
		return unix.EFAULT
	}
	if cur != uval {
		if cur&futexTIDMask == uval {
			// A waiter set FUTEX_WAITERS since the caller read the
			// word.
			return errFutexRetry
		}
		return unix.EINVAL
	}
	m.dequeueLocked(top)
	m.handOverLocked(ps, top, false)
	return nil
}

// releasePIStatesLocked hands every PI futex t holds to its oldest waiter,
// who writes its TID and FUTEX_OWNER_DIED into the word when it runs
// (Linux's exit_pi_state_list; the waiter's fixup_pi_state_owner).
//
// Preconditions: m.mu is held.
func (m *futexManager) releasePIStatesLocked(t *Task) {
	for ps := range t.futex.piOwned {
		w := m.firstPIWaiterLocked(ps)
		if w == nil {
			m.setPIOwnerLocked(ps, nil)
			continue
		}
		m.dequeueLocked(w)
		m.handOverLocked(ps, w, true)
	}
}

// FutexWaitRequeuePI implements FUTEX_WAIT_REQUEUE_PI: wait on the non-PI
// futex at addr while it holds val, to be moved by FUTEX_CMP_REQUEUE_PI to
// the PI futex at addr2 and return owning it. A timeout or signal before
// the requeue ends the wait with ETIMEDOUT or a restart; a signal after it
// with EAGAIN, since the wait cannot be restarted (Linux's
// futex_wait_requeue_pi).
func (t *Task) FutexWaitRequeuePI(addr, addr2 uint64, private bool, val uint32, deadline time.Time) error {
	if addr == addr2 {
		return unix.EINVAL
	}
	key2, err := t.futexKey(addr2, private)
	if err != nil {
		return err
	}
	key, err := t.futexKey(addr, private)
	if err != nil {
		return err
	}
	tid := uint32(t.TID())
	m := &t.k.futexes
	m.mu.Lock()
	cur, err := t.loadFutexWord(addr)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if cur != val {
		m.mu.Unlock()
		return unix.EAGAIN
	}
	if key == key2 {
		// Two addresses of the same shared futex.
		m.mu.Unlock()
		return unix.EINVAL
	}
	w := t.newFutexWaiter(key, futexBitsetAny, tid)
	w.requeuePI, w.requeuePIKey = true, key2
	m.enqueueLocked(w)
	m.mu.Unlock()

	timedOut, err := t.BlockUntil(w.wake.ch, deadline)
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.acquired {
		return t.fixupPIOwnerLocked(w, addr2)
	}
	requeued := w.pi != nil
	m.dequeueLocked(w)
	m.leavePILocked(w)
	switch {
	case timedOut:
		return unix.ETIMEDOUT
	case requeued:
		return unix.EAGAIN
	case err != nil:
		return ERESTARTNOINTR
	}
	return unix.EAGAIN
}

// FutexCmpRequeuePI implements FUTEX_CMP_REQUEUE_PI: if the word at addr
// holds val, take the PI futex at addr2 for the oldest waiter of addr if
// it is free (waking that waiter, the one wake allowed), and move up to
// nRequeue other waiters (nRequeue+1 if the lock was not free) to wait on
// the PI futex. Every waiter met must be a FUTEX_WAIT_REQUEUE_PI waiter
// for addr2 (EINVAL otherwise). It returns how many waiters were woken or
// moved.
func (t *Task) FutexCmpRequeuePI(addr, addr2 uint64, private bool, nRequeue int, val uint32) (int, error) {
	if addr == addr2 {
		return 0, unix.EINVAL
	}
	key, key2, err := t.futexKeyPair(addr, addr2, private)
	if err != nil {
		return 0, err
	}
	if key == key2 {
		return 0, unix.EINVAL
	}
	m := &t.k.futexes
	for {
		m.mu.Lock()
		n, err := m.cmpRequeuePILocked(t, addr, addr2, key, key2, nRequeue, val)
		m.mu.Unlock()
		if err != errFutexRetry {
			return n, err
		}
		runtime.Gosched()
	}
}

// cmpRequeuePILocked is the locked part of FUTEX_CMP_REQUEUE_PI.
//
// Preconditions: m.mu is held.
func (m *futexManager) cmpRequeuePILocked(t *Task, addr, addr2 uint64, key, key2 futexKey, nRequeue int, val uint32) (int, error) {
	cur, err := t.loadFutexWord(addr)
	if err != nil {
		return 0, err
	}
	if cur != val {
		return 0, unix.EAGAIN
	}
	top := m.firstWaiterLocked(key)
	if top == nil {
		return 0, nil
	}
	if !top.requeuePI || top.pi != nil || top.requeuePIKey != key2 {
		return 0, unix.EINVAL
	}
	// Linux's futex_proxy_trylock_atomic: try to take the PI futex for
	// the oldest waiter.
	acquired, ps, err := m.lockPIAtomicLocked(t, addr2, key2, top.t, uint32(t.IDOfTask(top.t)), nRequeue > 0)
	if err != nil {
		return 0, err
	}
	count := 0
	if acquired {
		m.dequeueLocked(top)
		top.acquired = true
		m.wakeWaiterLocked(top)
		count = 1
	}
	q := m.queues[key]
	kept := q[:0]
	var moved []*futexWaiter
	for _, w := range q {
		switch {
		case err != nil || count-1 >= nRequeue:
			kept = append(kept, w)
		case !w.requeuePI || w.pi != nil || w.requeuePIKey != key2:
			err = unix.EINVAL
			kept = append(kept, w)
		default:
			// Linux's rt_mutex_start_proxy_lock: the lock has an
			// owner, so the waiter queues on it, unless that is a
			// deadlock, which stops the requeue.
			if err = m.blockOnPILocked(w, ps); err != nil {
				kept = append(kept, w)
				continue
			}
			w.key = key2
			moved = append(moved, w)
			count++
		}
	}
	m.compactLocked(key, q, kept)
	if len(moved) > 0 {
		m.queues[key2] = append(m.queues[key2], moved...)
	}
	m.putPIStateLocked(ps)
	if err != nil {
		return 0, err
	}
	return count, nil
}
