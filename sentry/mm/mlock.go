package mm

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
)

// Memory locking (mlock(2), mlockall(2)).
//
// Nothing the sentry maps is ever swapped out, so a lock changes no
// residency: what it does is what programs observe. Locked VMAs are
// populated at once (unless locked on fault), counted in VmLck and against
// RLIMIT_MEMLOCK (the caller checks the limit with LockedBytes), split and
// merged like any other VMA attribute, and not inherited across fork or
// exec. mlockall(MCL_FUTURE) locks the mappings made after it.

// lockMode is a VMA's lock: none, locked and populated (VM_LOCKED), or
// locked as pages are faulted in (VM_LOCKED|VM_LOCKONFAULT).
type lockMode uint8

const (
	unlocked lockMode = iota
	lockedNow
	lockedOnFault
)

// LockedBytes returns the size of the locked VMAs (VmLck).
func (mm *MemoryManager) LockedBytes() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.lockedBytesLocked(0, ^uint64(0))
}

// lockedBytesLocked returns how much of [start, end) locked VMAs cover.
func (mm *MemoryManager) lockedBytesLocked(start, end uint64) uint64 {
	var n uint64
	for _, v := range mm.vmas {
		if v.lock != unlocked && v.end > start && v.start < end {
			n += min(v.end, end) - max(v.start, start)
		}
	}
	return n
}

// LockRange returns the page-aligned range mlock(2) and munlock(2) apply
// to for addr and length, and whether it is valid.
func LockRange(addr, length uint64) (start, end uint64, ok bool) {
	start = arch.PageRoundDown(addr)
	end, ok = arch.PageRoundUp(addr + length)
	if !ok || addr+length < addr {
		return 0, 0, false
	}
	return start, end, true
}

// NewlyLocked returns how many bytes of [start, end) are not locked yet:
// what locking the range adds to VmLck.
func (mm *MemoryManager) NewlyLocked(start, end uint64) uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return end - start - mm.lockedBytesLocked(start, end)
}

// Mlock locks [start, end) (page-aligned, from LockRange), populating it
// unless onFault; unlock undoes it (munlock). The whole range must be
// mapped (ENOMEM).
func (mm *MemoryManager) Mlock(start, end uint64, onFault, unlock bool) error {
	if start == end {
		return nil
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for a := start; a < end; {
		v := mm.vmaAtLocked(a)
		if v == nil {
			return errNoMem
		}
		a = v.end
	}
	mode := lockedNow
	switch {
	case unlock:
		mode = unlocked
	case onFault:
		mode = lockedOnFault
	}
	mm.setLockLocked(start, end, mode)
	return nil
}

// MlockAll implements mlockall(2): current locks every VMA now, future
// the ones made from now on.
func (mm *MemoryManager) MlockAll(current, future, onFault bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mode := lockedNow
	if onFault {
		mode = lockedOnFault
	}
	if future {
		mm.lockFuture = mode
	} else {
		mm.lockFuture = unlocked
	}
	if current {
		for i := 0; i < len(mm.vmas); i++ {
			v := mm.vmas[i]
			mm.setLockLocked(v.start, v.end, mode)
		}
	}
}

// MunlockAll implements munlockall(2).
func (mm *MemoryManager) MunlockAll() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.lockFuture = unlocked
	for _, v := range mm.vmas {
		v.lock = unlocked
	}
}

// LockFuture reports whether mlockall(MCL_FUTURE) is in force, so that the
// caller checks RLIMIT_MEMLOCK for new mappings.
func (mm *MemoryManager) LockFuture() bool {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.lockFuture != unlocked
}

// setLockLocked gives the VMAs of [start, end) lock mode, splitting those
// that straddle its ends, and populates them when locked now.
func (mm *MemoryManager) setLockLocked(start, end uint64, mode lockMode) {
	mm.splitLocked(start)
	mm.splitLocked(end)
	for i := mm.findLocked(start); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		v := mm.vmas[i]
		if v.special && mode != unlocked {
			// Kernel objects (the vDSO's pages) are never locked,
			// as Linux skips its VM_SPECIAL mappings.
			continue
		}
		v.lock = mode
		if mode == lockedNow {
			mm.populateVMALocked(v)
		}
	}
}

// populateVMALocked faults every page of v in, as MAP_POPULATE and
// mlock do; failures are ignored, as Linux ignores them there. It stops
// once the address space's account is past its limit: the calling task
// meets its container's OOM killer when its system call is done, as a
// populate in Linux ends at the charge that needed the OOM killer.
func (mm *MemoryManager) populateVMALocked(v *vma) {
	if v.perms == 0 || v.special {
		return
	}
	for a := v.start; a < v.end; a = (a + faultAroundPages*pageSize) &^ (faultAroundPages*pageSize - 1) {
		if mm.memcg != nil && mm.memcg.Over() {
			mm.chargedOver.Store(true)
			return
		}
		if _, _, err := mm.populateLocked(v, a); err != nil {
			return
		}
	}
}
