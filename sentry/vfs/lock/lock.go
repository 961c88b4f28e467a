// Package lock implements Linux file locking semantics for a single inode:
// POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK), open file description
// locks (F_OFD_SETLK/F_OFD_SETLKW/F_OFD_GETLK) and flock(2) locks.
//
// The package is pure bookkeeping: it never blocks with any of its own
// mutexes held and never makes a system call. Blocking requests take a
// [Waiter] supplied by the caller, which blocks in the caller's own
// (interruptible) way until a channel handed to it is closed.
//
// Each inode embeds (or points to) one [Locks]; its zero value is ready to
// use. Owners are arbitrary comparable values: the sentry passes the thread
// group for POSIX locks and the open file description for OFD and flock
// locks. A non-comparable owner panics (it is used as a map key).
//
// Mutex ordering: Locks.mu is taken before graphMu (see deadlock.go), as
// Linux takes flc_lock before blocked_lock_lock. graphMu is never held while
// taking any Locks.mu.
package lock

import (
	"math"
	"sync"

	"golang.org/x/sys/unix"
)

// Type is a lock type. Its values equal Linux's l_type values for struct
// flock (F_RDLCK, F_WRLCK, F_UNLCK), so the caller can convert l_type with a
// plain Type(l_type). For flock(2), ReadLock is LOCK_SH and WriteLock is
// LOCK_EX.
type Type int16

// Lock types.
const (
	ReadLock  Type = unix.F_RDLCK
	WriteLock Type = unix.F_WRLCK
	Unlock    Type = unix.F_UNLCK
)

// String implements fmt.Stringer.
func (t Type) String() string {
	switch t {
	case ReadLock:
		return "F_RDLCK"
	case WriteLock:
		return "F_WRLCK"
	case Unlock:
		return "F_UNLCK"
	}
	return "Type(invalid)"
}

// valid reports whether t is one of ReadLock, WriteLock or Unlock.
func (t Type) valid() bool {
	return t == ReadLock || t == WriteLock || t == Unlock
}

// EOF is the End of a Range that extends to the end of the file, however
// large it grows (Linux's fl_end == OFFSET_MAX, l_len == 0).
const EOF = math.MaxUint64

// offsetMax is Linux's OFFSET_MAX (the largest loff_t).
const offsetMax = math.MaxInt64

// Range is the half-open byte range [Start, End). End == EOF means "to the end
// of the file". A valid Range has Start < End.
type Range struct {
	Start uint64
	End   uint64
}

// overlaps reports whether r and o share at least one byte.
func (r Range) overlaps(o Range) bool {
	return r.Start < o.End && o.Start < r.End
}

// RangeFromFlock converts the fields of a struct flock to a Range, exactly as
// Linux's flock_to_posix_lock_common does. base is the offset l_whence refers
// to, already resolved by the caller (0 for SEEK_SET, the file position for
// SEEK_CUR, the file size for SEEK_END; an invalid l_whence is the caller's
// EINVAL). start and length are l_start and l_len:
//
//   - length > 0: [base+start, base+start+length)
//   - length == 0: [base+start, EOF)
//   - length < 0: [base+start+length, base+start), i.e. the bytes before
//     the start (POSIX-2001)
//
// Errors, as Linux:
//   - EINVAL: base+start is negative (including when it overflows), or a
//     negative length reaches below offset 0.
//   - EOVERFLOW: the last byte of a positive length lies beyond the largest
//     file offset (Linux returns EOVERFLOW, not EINVAL, here).
//
// A range whose last byte is the largest offset is returned as ending at EOF,
// since Linux cannot tell it from l_len == 0 either (F_GETLK reports both as
// l_len == 0).
func RangeFromFlock(base, start, length int64) (Range, error) {
	// Linux computes this in loff_t, which wraps (the kernel builds with
	// -fno-strict-overflow); a wrapped sum is negative and rejected.
	s := int64(uint64(base) + uint64(start))
	if s < 0 {
		return Range{}, unix.EINVAL
	}
	var end int64 // Inclusive, as Linux's fl_end.
	switch {
	case length > 0:
		if length-1 > offsetMax-s {
			return Range{}, unix.EOVERFLOW
		}
		end = s + length - 1
	case length < 0:
		if s+length < 0 { // s >= 0, so no overflow.
			return Range{}, unix.EINVAL
		}
		end = s - 1
		s += length
	default:
		end = offsetMax
	}
	if end < s {
		return Range{}, unix.EOVERFLOW
	}
	if end == offsetMax {
		return Range{Start: uint64(s), End: EOF}, nil
	}
	return Range{Start: uint64(s), End: uint64(end) + 1}, nil
}

// ToFlock converts r to struct flock's l_start and l_len (with l_whence =
// SEEK_SET), as Linux's posix_lock_to_flock does: a range to EOF (or one
// reaching the largest file offset) has l_len == 0.
func (r Range) ToFlock() (start, length int64) {
	start = int64(min(r.Start, offsetMax))
	if r.End > offsetMax {
		return start, 0
	}
	return start, int64(r.End - r.Start)
}

// Waiter blocks the calling task until ch is closed, or until it is
// interrupted. It returns nil when ch was closed (a spurious nil return is
// harmless: the request is simply retried) and otherwise the error the
// lock operation must fail with, e.g. EINTR or the sentry's ERESTARTSYS.
// A Waiter is always called with none of this package's mutexes held.
type Waiter func(ch <-chan struct{}) error

// Locks holds all the locks of one inode. The zero value has no locks and is
// ready to use. A Locks must not be copied after first use.
type Locks struct {
	// mu protects every field below. It is never held while a Waiter runs.
	mu sync.Mutex

	// posix holds the POSIX and OFD record locks of every owner, sorted by
	// Range.Start. The locks of one owner never overlap, and never touch if
	// they have the same type (they are merged), as in Linux.
	posix []recordLock

	// flocks maps the owner (open file description) of each flock(2) lock to
	// its type (ReadLock for LOCK_SH, WriteLock for LOCK_EX).
	flocks map[any]Type

	// posixCh is closed, then cleared, whenever a record lock is removed or
	// shrunk or downgraded, waking every task blocked on a record lock of this
	// inode so it retries. nil when nobody has waited since the last wake.
	posixCh chan struct{}

	// flockCh is posixCh's counterpart for flock(2) locks.
	flockCh chan struct{}

	// blocked holds the waits-for records (see deadlock.go) of the POSIX
	// waiters blocked on this inode; each of them is also in the global graph.
	// They are removed from both when posixCh is closed, since the waiters
	// are then no longer blocked (until they retry), as Linux's
	// __locks_wake_up_blocks removes woken waiters from blocked_hash.
	blocked map[*waitRecord]struct{}
}

// wakePOSIX wakes every task blocked on a record lock of l.
//
// Preconditions: l.mu is held.
func (l *Locks) wakePOSIX() {
	if len(l.blocked) != 0 {
		graphMu.Lock()
		for rec := range l.blocked {
			graphRemove(rec)
		}
		graphMu.Unlock()
		clear(l.blocked)
	}
	if l.posixCh != nil {
		close(l.posixCh)
		l.posixCh = nil
	}
}

// posixChan returns the channel that the next wakePOSIX closes.
//
// Preconditions: l.mu is held.
func (l *Locks) posixChan() <-chan struct{} {
	if l.posixCh == nil {
		l.posixCh = make(chan struct{})
	}
	return l.posixCh
}

// wakeFlock wakes every task blocked on a flock(2) lock of l.
//
// Preconditions: l.mu is held.
func (l *Locks) wakeFlock() {
	if l.flockCh != nil {
		close(l.flockCh)
		l.flockCh = nil
	}
}

// flockChan returns the channel that the next wakeFlock closes.
//
// Preconditions: l.mu is held.
func (l *Locks) flockChan() <-chan struct{} {
	if l.flockCh == nil {
		l.flockCh = make(chan struct{})
	}
	return l.flockCh
}

// ReleasePOSIX removes every POSIX record lock that owner holds on this
// inode. The caller calls it whenever the owning process closes any file
// descriptor referring to the inode (Linux's locks_remove_posix at
// filp_flush), not only the last one.
func (l *Locks) ReleasePOSIX(owner any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseRecords(ownerKey{owner: owner})
}

// ReleaseOFD removes every OFD lock held by the open file description owner.
func (l *Locks) ReleaseOFD(owner any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseRecords(ownerKey{owner: owner, ofd: true})
}

// ReleaseFlock removes the flock(2) lock held by the open file description
// owner, if any.
func (l *Locks) ReleaseFlock(owner any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseFlock(owner)
}

// ReleaseFile removes all the locks attached to the open file description
// file, its OFD and flock(2) locks. The caller calls it when the last
// reference to the description goes away (Linux's locks_remove_file).
func (l *Locks) ReleaseFile(file any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseRecords(ownerKey{owner: file, ofd: true})
	l.releaseFlock(file)
}
