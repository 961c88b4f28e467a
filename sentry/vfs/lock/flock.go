package lock

import "golang.org/x/sys/unix"

// LockMand is flock(2)'s obsolete LOCK_MAND flag, absent from x/sys/unix.
const LockMand = 32

// ParseFlockOp decodes flock(2)'s operation argument as Linux's sys_flock:
// LOCK_SH, LOCK_EX or LOCK_UN, optionally ORed with LOCK_NB. It returns the
// lock type and whether the request may block. ignore is true for LOCK_MAND
// requests, which Linux ignores: the caller must then return 0 at once,
// before even looking the descriptor up. Anything else is EINVAL.
//
// Checking the descriptor (EBADF, O_PATH descriptors included) is the
// caller's.
func ParseFlockOp(op int32) (typ Type, block, ignore bool, err error) {
	if op&LockMand != 0 {
		return Unlock, false, true, nil
	}
	block = op&unix.LOCK_NB == 0
	switch op &^ unix.LOCK_NB {
	case unix.LOCK_SH:
		return ReadLock, block, false, nil
	case unix.LOCK_EX:
		return WriteLock, block, false, nil
	case unix.LOCK_UN:
		return Unlock, block, false, nil
	}
	return Unlock, false, false, unix.EINVAL
}

// Flock sets (ReadLock for LOCK_SH, WriteLock for LOCK_EX) or removes
// (Unlock) the flock(2) lock of owner, the open file description. flock(2)
// locks cover the whole file and are independent of record locks.
//
// As in Linux, converting an existing lock to the other type is not atomic:
// the old lock is released (waking waiters) before the new one is tried, so
// a failed LOCK_NB conversion (EWOULDBLOCK) or an interrupted blocking one
// leaves owner with no lock at all, and others may get in between. Asking
// for the type already held succeeds at once.
//
// On a conflict, Flock fails with EWOULDBLOCK when wait is nil (LOCK_NB) and
// otherwise calls wait until the lock can be taken, failing with wait's
// error if it fails. Invalid typ gives EINVAL.
func (l *Locks) Flock(owner any, typ Type, wait Waiter) error {
	if !typ.valid() {
		return unix.EINVAL
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		// Linux's flock_lock_inode, run again after each wake-up: another
		// task sharing the description may have changed its lock meanwhile.
		if cur, ok := l.flocks[owner]; ok {
			if cur == typ {
				return nil
			}
			l.releaseFlock(owner)
		}
		if typ == Unlock {
			return nil
		}
		if !l.flockConflict(owner, typ) {
			if l.flocks == nil {
				l.flocks = make(map[any]Type)
			}
			l.flocks[owner] = typ
			return nil
		}
		if wait == nil {
			return unix.EWOULDBLOCK
		}
		ch := l.flockChan()
		l.mu.Unlock()
		err := wait(ch)
		l.mu.Lock()
		if err != nil {
			return err
		}
	}
}

// flockConflict reports whether another owner's flock(2) lock conflicts with
// owner taking a typ lock.
//
// Preconditions: l.mu is held; owner holds no flock(2) lock.
func (l *Locks) flockConflict(owner any, typ Type) bool {
	for o, t := range l.flocks {
		if o != owner && (typ == WriteLock || t == WriteLock) {
			return true
		}
	}
	return false
}

// releaseFlock removes the flock(2) lock of owner, if any.
//
// Preconditions: l.mu is held.
func (l *Locks) releaseFlock(owner any) {
	if _, ok := l.flocks[owner]; ok {
		delete(l.flocks, owner)
		l.wakeFlock()
	}
}
