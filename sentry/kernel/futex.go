package kernel

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Futex word bits (linux/futex.h): a PI or robust lock word holds its
// owner's thread ID in the low 30 bits.
const (
	futexWaiters   = 0x80000000
	futexOwnerDied = 0x40000000
	futexTIDMask   = 0x3fffffff
	// futexBitsetAny matches every waiter (FUTEX_BITSET_MATCH_ANY).
	futexBitsetAny = 0xffffffff
)

// errFutexRetry is Linux's internal -EAGAIN of the PI paths: the futex
// word changed under the operation, which starts over. It never reaches
// the application.
var errFutexRetry = errors.New("futex word changed: retry")

// futexKey identifies a futex word: a private one by address space and
// address, a shared one by shared-memory object and offset, so processes
// mapping the same memory at different addresses meet on it.
type futexKey struct {
	obj any
	off uint64
	// private separates FUTEX_PRIVATE_FLAG keys from shared keys on the
	// same private memory, as Linux's FUT_OFF_MMSHARED bit does.
	private bool
}

// futexWake is how a blocked task learns that it was woken: one per
// blocking call, shared by the waiters of one futex_waitv.
type futexWake struct {
	ch chan struct{}
	// fired is set when ch is closed; protected by futexManager.mu.
	fired bool
}

func newFutexWake() *futexWake { return &futexWake{ch: make(chan struct{})} }

// futexWaiter is one task waiting on one futex word. Fields other than
// the immutable t, tid, bitset and wake are protected by futexManager.mu.
type futexWaiter struct {
	// t is the waiting task and tid its thread ID in its own namespace,
	// which it writes into a PI futex word it is handed.
	t   *Task
	tid uint32
	key futexKey
	// bitset is FUTEX_WAIT_BITSET's mask (FUTEX_BITSET_MATCH_ANY for the
	// other waits).
	bitset uint32
	wake   *futexWake
	// woken is set by the waker that took the waiter off its queue.
	woken bool

	// pi is the PI state the waiter blocks on (FUTEX_LOCK_PI, or a
	// FUTEX_WAIT_REQUEUE_PI waiter once FUTEX_CMP_REQUEUE_PI moved it to
	// the PI futex); nil for the other waiters.
	pi *futexPIState
	// requeuePI marks a FUTEX_WAIT_REQUEUE_PI waiter, requeuePIKey being
	// the PI futex it may only be requeued to.
	requeuePI    bool
	requeuePIKey futexKey
	// acquired is set when the PI futex was handed to the waiter;
	// fixupWord when the waiter must then write its TID into the word
	// (a hand-over from an exiting owner, which does not know where the
	// waiter maps the word: Linux's fixup_pi_state_owner).
	acquired  bool
	fixupWord bool
}

// futexManager holds the queues of waiters and the PI states.
type futexManager struct {
	// mu protects queues, every waiter's mutable fields, every PI state
	// and every task's futex state (taskFutexState). Lock order: mu, then
	// Kernel.mu (PI owner look-ups), then a MemoryManager's mu (the
	// futex words).
	mu sync.Mutex
	// queues maps a futex to its waiters, oldest first.
	queues map[futexKey][]*futexWaiter
}

func newFutexManager() futexManager {
	return futexManager{queues: make(map[futexKey][]*futexWaiter)}
}

// taskFutexState is a task's part in the PI futex protocol; protected by
// futexManager.mu.
type taskFutexState struct {
	// piOwned are the PI states whose lock the task holds (Linux's
	// pi_state_list), handed on when it exits or execs.
	piOwned map[*futexPIState]struct{}
	// blockedOn is the PI state the task waits on, for deadlock
	// detection.
	blockedOn *futexPIState
	// exited is set once the exiting task released its futexes: a PI
	// futex naming it as owner then has a dead owner (FUTEX_STATE_DEAD).
	exited bool
}

func (t *Task) futexKey(addr uint64, private bool) (futexKey, error) {
	if addr%4 != 0 {
		return futexKey{}, unix.EINVAL
	}
	obj, off, err := t.mm.FutexKey(addr, private)
	if err != nil {
		return futexKey{}, unix.EFAULT
	}
	return futexKey{obj, off, private}, nil
}

// futexKeyPair returns the keys of the two words of a requeue or wake-op.
func (t *Task) futexKeyPair(addr, addr2 uint64, private bool) (futexKey, futexKey, error) {
	key, err := t.futexKey(addr, private)
	if err != nil {
		return futexKey{}, futexKey{}, err
	}
	key2, err := t.futexKey(addr2, private)
	return key, key2, err
}

func (t *Task) loadFutexWord(addr uint64) (uint32, error) {
	var b [4]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// casFutexWord atomically replaces the word at addr with newVal if it
// holds old; errFutexRetry if it held something else.
func (t *Task) casFutexWord(addr uint64, old, newVal uint32) error {
	cur, err := t.mm.CompareAndSwapUint32(addr, old, newVal)
	if err != nil {
		return unix.EFAULT
	}
	if cur != old {
		return errFutexRetry
	}
	return nil
}

// newFutexWaiter returns a waiter for t on key with its own wake-up.
func (t *Task) newFutexWaiter(key futexKey, bitset, tid uint32) *futexWaiter {
	return &futexWaiter{t: t, tid: tid, key: key, bitset: bitset, wake: newFutexWake()}
}

// enqueueLocked adds w at the end of its futex's queue.
//
// Preconditions: m.mu is held.
func (m *futexManager) enqueueLocked(w *futexWaiter) {
	m.queues[w.key] = append(m.queues[w.key], w)
}

// dequeueLocked takes w off its queue; false if it was not on it.
//
// Preconditions: m.mu is held.
func (m *futexManager) dequeueLocked(w *futexWaiter) bool {
	q := m.queues[w.key]
	for i, x := range q {
		if x == w {
			copy(q[i:], q[i+1:])
			q[len(q)-1] = nil
			m.setQueueLocked(w.key, q[:len(q)-1])
			return true
		}
	}
	return false
}

// setQueueLocked stores q as key's queue, dropping an empty one.
//
// Preconditions: m.mu is held.
func (m *futexManager) setQueueLocked(key futexKey, q []*futexWaiter) {
	if len(q) == 0 {
		delete(m.queues, key)
	} else {
		m.queues[key] = q
	}
}

// firstWaiterLocked returns the oldest waiter of key (Linux's
// futex_top_waiter), or nil.
//
// Preconditions: m.mu is held.
func (m *futexManager) firstWaiterLocked(key futexKey) *futexWaiter {
	if q := m.queues[key]; len(q) > 0 {
		return q[0]
	}
	return nil
}

// wakeWaiterLocked wakes w, already off its queue.
//
// Preconditions: m.mu is held.
func (m *futexManager) wakeWaiterLocked(w *futexWaiter) {
	w.woken = true
	if !w.wake.fired {
		w.wake.fired = true
		close(w.wake.ch)
	}
}

// compactLocked stores kept, a prefix-compacted copy of q sharing its
// array, as key's queue, clearing the tail so that the array does not
// keep removed waiters alive.
//
// Preconditions: m.mu is held.
func (m *futexManager) compactLocked(key futexKey, q, kept []*futexWaiter) {
	clear(q[len(kept):])
	m.setQueueLocked(key, kept)
}

// FutexWait implements FUTEX_WAIT(_BITSET): it sleeps while the word at
// addr holds val, until woken, interrupted or past deadline (zero: none).
func (t *Task) FutexWait(addr uint64, private bool, val, bitset uint32, deadline time.Time) error {
	if bitset == 0 {
		return unix.EINVAL
	}
	key, err := t.futexKey(addr, private)
	if err != nil {
		return err
	}
	m := &t.k.futexes
	w := t.newFutexWaiter(key, bitset, 0)
	// Queue first, then check the value, both under mu, so a waker that
	// changes the word and wakes after our check cannot be missed.
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
	m.enqueueLocked(w)
	m.mu.Unlock()

	timedOut, err := t.BlockUntil(w.wake.ch, deadline)
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.woken {
		// Woken, perhaps concurrently with the timeout or signal: the
		// wake counts.
		return nil
	}
	m.dequeueLocked(w)
	if timedOut {
		return unix.ETIMEDOUT
	}
	return err
}

// wakeLocked wakes up to n waiters of key matching bitset. Like Linux's
// futex_wake it wakes one waiter even when n is zero or negative, and
// fails with EINVAL on meeting a PI waiter (the futex is a PI futex, whose
// waiters only an unlock may wake); the waiters woken before stay woken.
//
// Preconditions: m.mu is held.
func (m *futexManager) wakeLocked(key futexKey, n int, bitset uint32) (int, error) {
	n = max(n, 1)
	q := m.queues[key]
	kept := q[:0]
	woken := 0
	var err error
	for _, w := range q {
		switch {
		case err != nil || woken >= n:
			kept = append(kept, w)
		case w.pi != nil || w.requeuePI:
			err = unix.EINVAL
			kept = append(kept, w)
		case w.bitset&bitset == 0:
			kept = append(kept, w)
		default:
			m.wakeWaiterLocked(w)
			woken++
		}
	}
	m.compactLocked(key, q, kept)
	return woken, err
}

// wake implements FUTEX_WAKE(_BITSET).
func (m *futexManager) wake(t *Task, addr uint64, private bool, n int, bitset uint32) (int, error) {
	if bitset == 0 {
		return 0, unix.EINVAL
	}
	key, err := t.futexKey(addr, private)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wakeLocked(key, n, bitset)
}

// FutexWake implements FUTEX_WAKE and FUTEX_WAKE_BITSET.
//
// A waker whose FUTEX_WAKE readied a task yields its host thread to it.
// The woken task's goroutine is queued to run next on the waker's thread,
// but the waker goes straight back to its platform and waits there for
// its application's next call, polling, and the woken task waits behind
// it until another thread steals it or the runtime takes the thread
// back: a futex ping-pong between two threads took 150 µs a round in
// about half the runs here, against 55-76 µs with the yield. Only for
// goroutines not locked to a host thread, which the yield would hand
// off as well.
func (t *Task) FutexWake(addr uint64, private bool, n int, bitset uint32) (int, error) {
	woken, err := t.k.futexes.wake(t, addr, private, n, bitset)
	if woken > 0 && t.k.threadFree() {
		runtime.Gosched()
	}
	return woken, err
}

// FutexRequeue implements FUTEX_REQUEUE and, with checkVal, FUTEX_CMP_REQUEUE:
// wake up to nWake waiters of addr and move up to nRequeue others to addr2.
// A FUTEX_WAIT_REQUEUE_PI waiter may only be moved by
// FUTEX_CMP_REQUEUE_PI: meeting one fails with EINVAL, as in Linux.
func (t *Task) FutexRequeue(addr, addr2 uint64, private bool, nWake, nRequeue int, checkVal bool, val uint32) (int, error) {
	key, key2, err := t.futexKeyPair(addr, addr2, private)
	if err != nil {
		return 0, err
	}
	m := &t.k.futexes
	m.mu.Lock()
	defer m.mu.Unlock()
	if checkVal {
		cur, err := t.loadFutexWord(addr)
		if err != nil {
			return 0, err
		}
		if cur != val {
			return 0, unix.EAGAIN
		}
	}
	q := m.queues[key]
	kept := q[:0]
	var moved []*futexWaiter
	count := 0
	for _, w := range q {
		switch {
		case err != nil || count-nWake >= nRequeue:
			kept = append(kept, w)
		case w.pi != nil || w.requeuePI:
			err = unix.EINVAL
			kept = append(kept, w)
		default:
			count++
			if count <= nWake {
				m.wakeWaiterLocked(w)
			} else {
				w.key = key2
				moved = append(moved, w)
			}
		}
	}
	m.compactLocked(key, q, kept)
	if len(moved) > 0 {
		m.queues[key2] = append(m.queues[key2], moved...)
	}
	if err != nil {
		return 0, err
	}
	return count, nil
}

// signExtend12 widens FUTEX_WAKE_OP's 12-bit signed arguments.
func signExtend12(v uint32) int32 { return int32(v<<20) >> 20 }

// FutexWakeOp implements FUTEX_WAKE_OP: atomically apply op to the word at
// addr2, wake nWake waiters of addr, and nWake2 of addr2 if the old value
// of addr2 passes op's comparison (Linux's futex_atomic_op_inuser: the
// arguments are signed, an out-of-range shift is masked, and an unknown
// comparison fails with ENOSYS after the operation was applied).
func (t *Task) FutexWakeOp(addr, addr2 uint64, private bool, nWake, nWake2 int, op uint32) (int, error) {
	key, key2, err := t.futexKeyPair(addr, addr2, private)
	if err != nil {
		return 0, err
	}
	kind, cmp := (op>>28)&7, (op>>24)&15
	oparg, cmparg := signExtend12((op>>12)&0xfff), signExtend12(op&0xfff)
	if op&(8<<28) != 0 { // FUTEX_OP_OPARG_SHIFT
		oparg = 1 << (oparg & 31)
	}
	apply := func(old uint32) uint32 {
		switch kind {
		case 0: // FUTEX_OP_SET
			return uint32(oparg)
		case 1: // FUTEX_OP_ADD
			return old + uint32(oparg)
		case 2: // FUTEX_OP_OR
			return old | uint32(oparg)
		case 3: // FUTEX_OP_ANDN
			return old &^ uint32(oparg)
		default: // FUTEX_OP_XOR
			return old ^ uint32(oparg)
		}
	}
	if kind > 4 {
		return 0, unix.ENOSYS
	}
	m := &t.k.futexes
	m.mu.Lock()
	defer m.mu.Unlock()
	var old uint32
	for {
		if old, err = t.loadFutexWord(addr2); err != nil {
			return 0, err
		}
		if err = t.casFutexWord(addr2, old, apply(old)); err != errFutexRetry {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	var ok bool
	switch o := int32(old); cmp {
	case 0:
		ok = o == cmparg
	case 1:
		ok = o != cmparg
	case 2:
		ok = o < cmparg
	case 3:
		ok = o <= cmparg
	case 4:
		ok = o > cmparg
	case 5:
		ok = o >= cmparg
	default:
		return 0, unix.ENOSYS
	}
	woken, err := m.wakeLocked(key, nWake, futexBitsetAny)
	if err != nil {
		return 0, err
	}
	if ok {
		n, err := m.wakeLocked(key2, nWake2, futexBitsetAny)
		if err != nil {
			return 0, err
		}
		woken += n
	}
	return woken, nil
}
