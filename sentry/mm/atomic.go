package mm

import (
	"sync/atomic"
	"unsafe"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// CompareAndSwapUint32 atomically replaces the 32-bit word at addr with
// newVal if it holds old, and returns the value it held (Linux's
// futex_atomic_cmpxchg_inatomic). The futex code needs it because the
// application changes the same word with its own lock cmpxchg while the
// kernel updates it (PI ownership, FUTEX_WAITERS, FUTEX_OWNER_DIED): a
// copy-in followed by a copy-out would lose one of the two updates. The
// sentry's view of a page is the memory file the application maps, so an
// atomic instruction here is atomic against the application's.
//
// addr must be 4-byte aligned (the word cannot then straddle pages); the
// access needs write permission, as the application's cmpxchg would, and
// breaks copy-on-write sharing like a write fault.
func (mm *MemoryManager) CompareAndSwapUint32(addr uint64, old, newVal uint32) (uint32, error) {
	if addr%4 != 0 {
		return 0, errFault
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	pg, err := mm.translateLocked(addr, platform.Read|platform.Write)
	if err != nil {
		return 0, err
	}
	p := (*uint32)(unsafe.Pointer(&pg[addr%pageSize]))
	for {
		if atomic.CompareAndSwapUint32(p, old, newVal) {
			return old, nil
		}
		// A failed swap reports what the word held, unless the
		// application changed it back in between: then try again.
		if cur := atomic.LoadUint32(p); cur != old {
			return cur, nil
		}
	}
}

// LoadUint32 atomically reads the 32-bit word at addr (4-byte aligned),
// as the futex code's get_user does.
func (mm *MemoryManager) LoadUint32(addr uint64) (uint32, error) {
	if addr%4 != 0 {
		return 0, errFault
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	pg, err := mm.translateLocked(addr, platform.Read)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&pg[addr%pageSize]))), nil
}
