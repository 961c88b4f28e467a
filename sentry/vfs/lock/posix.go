package lock

import (
	"slices"

	"golang.org/x/sys/unix"
)

// ownerKey identifies the owner of a record lock. POSIX and OFD owners are
// distinct even if the caller passes the same value for both, as in Linux,
// where fl_owner is a files_struct for one and a struct file for the other.
type ownerKey struct {
	owner any
	ofd   bool
}

// recordLock is one POSIX or OFD byte-range lock.
type recordLock struct {
	owner ownerKey
	typ   Type // ReadLock or WriteLock.
	r     Range
	pid   int32 // Reported by F_GETLK; -1 for OFD locks.
}

// Conflict describes the lock reported by TestRange and TestRangeOFD. When no
// lock conflicts, Type is Unlock and the other fields are zero; the caller
// then sets only l_type to F_UNLCK, leaving the rest of its struct flock as
// the user passed it (as Linux does).
type Conflict struct {
	Type  Type
	Range Range
	// PID is the pid stored with a POSIX lock, or -1 for an OFD lock.
	PID int32
}

// LockRange sets, changes or removes (typ == Unlock) the POSIX record lock of
// owner (the thread group) over r, as fcntl F_SETLK/F_SETLKW. pid is stored
// with the lock and reported by F_GETLK to other processes.
//
// If the lock conflicts with another owner's POSIX or OFD lock, LockRange
// fails with EAGAIN when wait is nil (F_SETLK). Otherwise (F_SETLKW) it
// fails with EDEADLK if waiting would deadlock, else it calls wait until the
// lock can be taken, and fails with wait's error (after withdrawing from the
// waits-for graph) if wait fails. Unlocking never blocks and never fails.
// Invalid typ or an empty r gives EINVAL.
func (l *Locks) LockRange(owner any, pid int32, typ Type, r Range, wait Waiter) error {
	return l.lockRange(ownerKey{owner: owner}, pid, typ, r, wait)
}

// LockRangeOFD is LockRange for the OFD lock of the open file description
// owner (F_OFD_SETLK/F_OFD_SETLKW). OFD locks conflict with POSIX locks, but
// waiting for one never gives EDEADLK: Linux does no deadlock detection for
// them.
func (l *Locks) LockRangeOFD(owner any, typ Type, r Range, wait Waiter) error {
	return l.lockRange(ownerKey{owner: owner, ofd: true}, -1, typ, r, wait)
}

// TestRange reports the first lock that would conflict with a POSIX lock of
// type typ over r by owner (F_GETLK). typ must be ReadLock or WriteLock, else
// EINVAL. Linux checks l_type before converting the range, so for matching
// errnos the caller should reject an invalid l_type before RangeFromFlock.
//
// "First" is the conflicting lock with the lowest start (Linux walks its list
// in owner-grouped order instead; POSIX leaves the choice open).
func (l *Locks) TestRange(owner any, typ Type, r Range) (Conflict, error) {
	return l.testRange(ownerKey{owner: owner}, typ, r)
}

// TestRangeOFD is TestRange for F_OFD_GETLK, owner being the open file
// description. (Checking that l_pid is 0 is the caller's.)
func (l *Locks) TestRangeOFD(owner any, typ Type, r Range) (Conflict, error) {
	return l.testRange(ownerKey{owner: owner, ofd: true}, typ, r)
}

func (l *Locks) testRange(key ownerKey, typ Type, r Range) (Conflict, error) {
	if (typ != ReadLock && typ != WriteLock) || r.Start >= r.End {
		return Conflict{}, unix.EINVAL
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.posix {
		if lk := &l.posix[i]; conflicts(lk, key, typ, r) {
			return Conflict{Type: lk.typ, Range: lk.r, PID: lk.pid}, nil
		}
	}
	return Conflict{Type: Unlock}, nil
}

// conflicts reports whether a request by key for a typ lock over r conflicts
// with lk (Linux's posix_locks_conflict).
func conflicts(lk *recordLock, key ownerKey, typ Type, r Range) bool {
	return lk.owner != key && (typ == WriteLock || lk.typ == WriteLock) && lk.r.overlaps(r)
}

// blockers returns the distinct owners of the locks that conflict with a
// request by key for a typ lock over r.
//
// Preconditions: l.mu is held.
func (l *Locks) blockers(key ownerKey, typ Type, r Range) []ownerKey {
	var owners []ownerKey
	for i := range l.posix {
		if lk := &l.posix[i]; conflicts(lk, key, typ, r) && !slices.Contains(owners, lk.owner) {
			owners = append(owners, lk.owner)
		}
	}
	return owners
}

func (l *Locks) lockRange(key ownerKey, pid int32, typ Type, r Range, wait Waiter) error {
	if !typ.valid() || r.Start >= r.End {
		return unix.EINVAL
	}
	l.mu.Lock()
	if typ == Unlock {
		l.apply(key, pid, typ, r)
		l.mu.Unlock()
		return nil
	}
	var rec *waitRecord // Our entry in the waits-for graph, if any.
	for {
		blockers := l.blockers(key, typ, r)
		if len(blockers) == 0 {
			l.withdraw(rec)
			l.apply(key, pid, typ, r)
			l.mu.Unlock()
			return nil
		}
		if wait == nil {
			l.mu.Unlock()
			return unix.EAGAIN
		}
		if !key.ofd {
			// Linux's posix_locks_deadlock skips OFD requests, and an OFD
			// owner never waits in the graph (its owner is not a process).
			var err error
			if rec, err = l.block(rec, key, blockers); err != nil {
				l.mu.Unlock()
				return err
			}
		}
		ch := l.posixChan()
		l.mu.Unlock()
		err := wait(ch)
		l.mu.Lock()
		if err != nil {
			l.withdraw(rec)
			l.mu.Unlock()
			return err
		}
	}
}

// apply sets the locks of key over r to typ (removing them if typ is Unlock),
// splitting and merging the owner's locks exactly as Linux's
// posix_lock_inode: parts of the owner's locks outside r survive (a lock
// straddling r is split in two), and a new lock absorbs the owner's locks
// of the same type that it overlaps or touches. The caller has checked that
// nothing conflicts.
//
// Preconditions: l.mu is held.
func (l *Locks) apply(key ownerKey, pid int32, typ Type, r Range) {
	touched := false
	out := make([]recordLock, 0, len(l.posix)+2)
	for _, lk := range l.posix {
		if lk.owner != key || !lk.r.overlaps(r) {
			out = append(out, lk)
			continue
		}
		touched = true
		if lk.r.Start < r.Start {
			left := lk
			left.r.End = r.Start
			out = append(out, left)
		}
		if lk.r.End > r.End {
			right := lk
			right.r.Start = r.End
			out = append(out, right)
		}
	}
	if typ != Unlock {
		// The owner's remaining locks no longer overlap r; merge the new
		// lock with those of its type that touch it. (By the invariant there
		// is at most one on each side; loop anyway for robustness.)
		nr := recordLock{owner: key, typ: typ, r: r, pid: pid}
		for merged := true; merged; {
			merged = false
			out = slices.DeleteFunc(out, func(lk recordLock) bool {
				if lk.owner != key || lk.typ != typ {
					return false
				}
				switch {
				case lk.r.End == nr.r.Start:
					nr.r.Start = lk.r.Start
				case lk.r.Start == nr.r.End:
					nr.r.End = lk.r.End
				default:
					return false
				}
				merged = true
				return true
			})
		}
		out = append(out, nr)
	}
	slices.SortStableFunc(out, func(a, b recordLock) int {
		switch {
		case a.r.Start < b.r.Start:
			return -1
		case a.r.Start > b.r.Start:
			return 1
		}
		return 0
	})
	l.posix = out
	if touched {
		// Something was removed, shrunk or changed type: waiters may now
		// succeed. (An upgrade or a merge wakes them needlessly; they just
		// block again.)
		l.wakePOSIX()
	}
}

// releaseRecords removes every record lock of key.
//
// Preconditions: l.mu is held.
func (l *Locks) releaseRecords(key ownerKey) {
	n := len(l.posix)
	l.posix = slices.DeleteFunc(l.posix, func(lk recordLock) bool { return lk.owner == key })
	if len(l.posix) != n {
		l.wakePOSIX()
	}
}
