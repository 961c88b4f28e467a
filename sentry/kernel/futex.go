package kernel

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// futexBitsetAny matches every waiter (FUTEX_BITSET_MATCH_ANY).
const futexBitsetAny = 0xffffffff

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

type futexWaiter struct {
	key    futexKey
	bitset uint32
	// woken is closed by the waker; the waiter is then off the queue.
	woken chan struct{}
}

// futexManager holds the queues of waiters.
type futexManager struct {
	// mu protects queues and every waiter's key.
	mu     sync.Mutex
	queues map[futexKey][]*futexWaiter
}

func newFutexManager() futexManager {
	return futexManager{queues: make(map[futexKey][]*futexWaiter)}
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
	w := &futexWaiter{key: key, bitset: bitset, woken: make(chan struct{})}
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
	m.queues[key] = append(m.queues[key], w)
	m.mu.Unlock()

	timedOut, err := t.BlockUntil(w.woken, deadline)
	if timedOut || err != nil {
		if m.remove(w) {
			if timedOut {
				return unix.ETIMEDOUT
			}
			return err
		}
		// Woken concurrently: the wake counts.
	}
	return nil
}

// remove takes w off its queue; false if a waker already did.
func (m *futexManager) remove(w *futexWaiter) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[w.key]
	for i, x := range q {
		if x == w {
			m.queues[w.key] = append(q[:i:i], q[i+1:]...)
			if len(m.queues[w.key]) == 0 {
				delete(m.queues, w.key)
			}
			return true
		}
	}
	return false
}

// wakeLocked wakes up to n waiters of key matching bitset.
//
// Preconditions: m.mu is held.
func (m *futexManager) wakeLocked(key futexKey, n int, bitset uint32) int {
	q := m.queues[key]
	woken := 0
	kept := q[:0]
	for _, w := range q {
		if woken < n && w.bitset&bitset != 0 {
			close(w.woken)
			woken++
			continue
		}
		kept = append(kept, w)
	}
	if len(kept) == 0 {
		delete(m.queues, key)
	} else {
		m.queues[key] = kept
	}
	return woken
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
	return m.wakeLocked(key, n, bitset), nil
}

// FutexWake implements FUTEX_WAKE and FUTEX_WAKE_BITSET.
func (t *Task) FutexWake(addr uint64, private bool, n int, bitset uint32) (int, error) {
	return t.k.futexes.wake(t, addr, private, n, bitset)
}

// FutexRequeue implements FUTEX_REQUEUE and, with checkVal, FUTEX_CMP_REQUEUE:
// wake up to nWake waiters of addr and move up to nRequeue others to addr2.
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
	woken := m.wakeLocked(key, nWake, futexBitsetAny)
	q := m.queues[key]
	moved := 0
	for len(q) > 0 && moved < nRequeue {
		w := q[0]
		q = q[1:]
		w.key = key2
		m.queues[key2] = append(m.queues[key2], w)
		moved++
	}
	if len(q) == 0 {
		delete(m.queues, key)
	} else {
		m.queues[key] = q
	}
	return woken + moved, nil
}

// FutexWakeOp implements FUTEX_WAKE_OP: atomically apply op to the word at
// addr2, wake nWake waiters of addr, and nWake2 of addr2 if the old value
// of addr2 passes op's comparison.
func (t *Task) FutexWakeOp(addr, addr2 uint64, private bool, nWake, nWake2 int, op uint32) (int, error) {
	key, key2, err := t.futexKeyPair(addr, addr2, private)
	if err != nil {
		return 0, err
	}
	m := &t.k.futexes
	m.mu.Lock()
	defer m.mu.Unlock()
	old, err := t.loadFutexWord(addr2)
	if err != nil {
		return 0, err
	}
	kind, cmp := (op>>28)&7, (op>>24)&15
	oparg, cmparg := (op>>12)&0xfff, op&0xfff
	if op&(8<<28) != 0 { // FUTEX_OP_OPARG_SHIFT
		if oparg > 31 {
			return 0, unix.EINVAL
		}
		oparg = 1 << oparg
	}
	var nv uint32
	switch kind {
	case 0:
		nv = oparg
	case 1:
		nv = old + oparg
	case 2:
		nv = old | oparg
	case 3:
		nv = old &^ oparg
	case 4:
		nv = old ^ oparg
	default:
		return 0, unix.ENOSYS
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], nv)
	if _, err := t.CopyOut(addr2, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	woken := m.wakeLocked(key, nWake, futexBitsetAny)
	var ok bool
	switch cmp {
	case 0:
		ok = old == cmparg
	case 1:
		ok = old != cmparg
	case 2:
		ok = int32(old) < int32(cmparg)
	case 3:
		ok = int32(old) <= int32(cmparg)
	case 4:
		ok = int32(old) > int32(cmparg)
	case 5:
		ok = int32(old) >= int32(cmparg)
	default:
		return 0, unix.ENOSYS
	}
	if ok {
		woken += m.wakeLocked(key2, nWake2, futexBitsetAny)
	}
	return woken, nil
}
