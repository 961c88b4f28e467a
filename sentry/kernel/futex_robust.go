package kernel

import "encoding/binary"

// Robust futex lists (set_robust_list(2); Linux's kernel/futex/core.c).
// A thread registers a list of the robust locks it holds; the list's
// entries point at struct robust_list links inside the locks, the lock
// word sitting futex_offset bytes from its link, and an entry's low bit
// marks a PI lock. list_op_pending names a lock being acquired or released
// while the list is updated.

// robustListLimit bounds the walk of a (possibly circular or corrupt)
// robust list, as Linux's ROBUST_LIST_LIMIT does.
const robustListLimit = 2048

// releaseFutexes is Linux's futex_exit_release and futex_exec_release: at
// exit and at execve, the locks on the task's robust list get
// FUTEX_OWNER_DIED and a waiter is woken, then the PI futexes the task
// still owns are handed to their oldest waiters. With exiting, the task
// is marked dead for the PI protocol: from then on a PI futex naming it
// as owner has a dead owner (ESRCH).
func (t *Task) releaseFutexes(exiting bool) {
	t.exitRobustList()
	m := &t.k.futexes
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releasePIStatesLocked(t)
	if exiting {
		t.futex.exited = true
	}
}

// exitRobustList walks the robust list registered with set_robust_list
// (Linux's exit_robust_list) and forgets it.
func (t *Task) exitRobustList() {
	head := t.robustList
	t.robustList = 0
	if head == 0 || t.mm == nil {
		return
	}
	entry, pi, err := t.fetchRobustEntry(head)
	if err != nil {
		return
	}
	var b [8]byte
	if _, err := t.mm.CopyIn(head+8, b[:]); err != nil {
		return
	}
	offset := binary.LittleEndian.Uint64(b[:])
	pending, pendingPI, err := t.fetchRobustEntry(head + 16)
	if err != nil {
		return
	}
	// Lock words hold thread IDs as the task's namespace numbers them.
	tid := uint32(t.TID())
	for limit := robustListLimit; entry != head; {
		// The next entry first: handling this one may let another
		// thread reuse the lock's memory.
		next, nextPI, nextErr := t.fetchRobustEntry(entry)
		// A lock being acquired may already be on the list: it is
		// handled once, below.
		if entry != pending {
			if !t.handleFutexDeath(entry+offset, tid, pi, false) {
				return
			}
		}
		if nextErr != nil {
			return
		}
		entry, pi = next, nextPI
		if limit--; limit == 0 {
			break
		}
	}
	if pending != 0 {
		t.handleFutexDeath(pending+offset, tid, pendingPI, true)
	}
}

// fetchRobustEntry reads a robust list pointer: the entry and its PI bit.
func (t *Task) fetchRobustEntry(addr uint64) (entry uint64, pi bool, err error) {
	var b [8]byte
	if _, err := t.mm.CopyIn(addr, b[:]); err != nil {
		return 0, false, err
	}
	v := binary.LittleEndian.Uint64(b[:])
	return v &^ 1, v&1 != 0, nil
}

// handleFutexDeath marks one lock of the dying task tid (Linux's
// handle_futex_death): a word it owns gets FUTEX_OWNER_DIED, keeping
// FUTEX_WAITERS, and for a plain futex one waiter is woken (a PI futex's
// waiter gets the lock from releasePIStatesLocked instead). A pending
// plain lock with no owner was released, or not yet taken, by the dying
// task just before the waiter could be woken: that waiter is woken. It
// reports false when the word cannot be accessed, which ends the walk.
func (t *Task) handleFutexDeath(uaddr uint64, tid uint32, pi, pendingOp bool) bool {
	if uaddr%4 != 0 {
		return false
	}
	m := &t.k.futexes
	// The kernel never uses FUTEX_PRIVATE_FLAG for these wakes, and glibc
	// waits on robust mutexes with shared operations for that reason.
	wake := func() {
		if key, err := t.futexKey(uaddr, false); err == nil {
			_, _ = m.wakeLocked(key, 1, futexBitsetAny)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		uval, err := t.loadFutexWord(uaddr)
		if err != nil {
			return false
		}
		owner := uval & futexTIDMask
		if pendingOp && !pi && owner == 0 {
			wake()
			return true
		}
		if owner != tid {
			return true
		}
		err = t.casFutexWord(uaddr, uval, uval&futexWaiters|futexOwnerDied)
		if err == errFutexRetry {
			continue
		}
		if err != nil {
			return false
		}
		if !pi && uval&futexWaiters != 0 {
			wake()
		}
		return true
	}
}
