package mm

import (
	"sync"
	"sync/atomic"
)

// Charges made outside a page fault. A fault charges the faulting address
// space's account unconditionally and leaves the limit to the owner's OOM
// killer (memcg.go), because failing a fault could only deliver SIGBUS. A
// file system allocating pages for write(2) or fallocate(2) of a tmpfs
// file has a better answer, and Linux gives it: the charge is tried
// against the limit before the pages exist, a charge that does not fit
// runs the cgroup's OOM killer synchronously and is retried while the
// killer makes progress, and the call fails with ENOMEM when it cannot
// (the caller was itself chosen, or nothing is left to kill). Such pages
// are charged to the calling task's account, as Linux charges shmem pages
// to the cgroup of the task that allocates them, and uncharged when the
// last reference to them goes (truncation, hole punching, the release of
// an unlinked file) like any other charged page.

// Account is the memory account a non-fault allocation charges, with the
// OOM path of its owner. The zero Account charges nothing.
type Account struct {
	// Memcg is the account (nil: none).
	Memcg *MemCgroup
	// OOM is called when a charge of pages does not fit under Memcg's
	// limit, with no lock of the caller's held: it kills a process of
	// the account's owner (or waits for an earlier victim to be gone)
	// and reports whether the charge should be tried again; false fails
	// the allocation with ENOMEM. Nil behaves as returning false.
	OOM func(pages int64) bool
}

// callerAccount returns the account of the task on whose behalf the
// calling goroutine runs; set by the kernel (SetCallerAccount).
var callerAccount atomic.Pointer[func() Account]

// SetCallerAccount installs fn as the way CallerAccount finds the calling
// task's account (the kernel knows which task runs on the calling
// thread; mm and the file systems do not).
func SetCallerAccount(fn func() Account) { callerAccount.Store(&fn) }

// CallerAccount returns the account of the calling task: the zero Account
// when no kernel installed a lookup, or the caller is no task with an
// account (a sandbox-internal goroutine, a task outside any container).
func CallerAccount() Account {
	if fn := callerAccount.Load(); fn != nil {
		return (*fn)()
	}
	return Account{}
}

// TryCharge charges pages to c if the usage stays within the limit, and
// otherwise charges nothing, counts a failure (memory.failcnt counts the
// charges that hit the limit) and returns false. A nil c always succeeds.
func (c *MemCgroup) TryCharge(pages int64) bool {
	if c == nil || pages <= 0 {
		return true
	}
	for {
		cur := c.pages.Load()
		if limit := c.limitPages.Load(); limit != 0 && cur+pages > limit {
			c.failcnt.Add(1)
			return false
		}
		if c.pages.CompareAndSwap(cur, cur+pages) {
			now := cur + pages
			for {
				p := c.peak.Load()
				if now <= p || c.peak.CompareAndSwap(p, now) {
					break
				}
			}
			return true
		}
	}
}

// TryPrecharge charges pages to a's account, if they fit under its
// limit, ahead of an allocation that runs under locks the OOM path must
// not be waited for with (a file's data lock). The allocation takes its
// pages from the charge (SharedMemory.WriteAtCharged, AllocateCharged),
// and the caller gives back the unused rest with Release. A charge that
// does not fit returns false; the caller then drops its locks, calls
// Reclaim, and tries again while Reclaim returns true. Without an
// account, it returns nil (charge nothing) and true.
func (a Account) TryPrecharge(pages int64) (*Precharge, bool) {
	if a.Memcg == nil {
		return nil, true
	}
	if !a.Memcg.TryCharge(pages) {
		return nil, false
	}
	return &Precharge{memcg: a.Memcg, pages: max(pages, 0)}, true
}

// Reclaim makes room for a charge of pages that did not fit, through the
// owner's OOM killer, and reports whether the charge should be tried
// again; false means the allocation fails with ENOMEM.
func (a Account) Reclaim(pages int64) bool { return a.OOM != nil && a.OOM(pages) }

// Precharge is pages charged to a MemCgroup ahead of their allocation.
// It is used by one allocation at a time (under the object's lock); a nil
// *Precharge charges nothing.
type Precharge struct {
	memcg *MemCgroup
	// pages is what is charged and not yet taken by a page.
	pages int64
}

// newPage returns the page at off with one reference, charged to the
// precharge's account: from the precharge while it lasts, and beyond it
// (pages a racing truncation made missing again) as a fault would,
// past the limit if need be, which the owner's OOM killer handles.
func (ch *Precharge) newPage(off uint64) *physPage {
	if ch == nil {
		return newPhysPage(off, nil)
	}
	if ch.pages == 0 {
		return newPhysPage(off, ch.memcg)
	}
	ch.pages--
	p := &physPage{off: off, memcg: ch.memcg}
	p.refs.Store(1)
	return p
}

// Release uncharges what the allocation did not use (pages that were
// present after all, or that the memory file could not provide).
func (ch *Precharge) Release() {
	if ch == nil {
		return
	}
	ch.memcg.uncharge(ch.pages)
	ch.pages = 0
}

// Kernel objects the sentry keeps for a container outside its address
// spaces (POSIX message queue messages) are charged by their size in
// bytes, as Linux charges objects allocated with __GFP_ACCOUNT through
// the cgroup's obj_cgroup: the account is charged whole pages, and what
// the objects do not use of them is kept as a stock that later objects
// take from and freed objects give back to; a stock of a page or more
// is uncharged. So the usage moves in pages, and never stays more than
// a page above what the objects hold.

// objStocks holds the object stocks of the accounts that have objects
// charged; mu protects the map and every stock's fields. It is never
// held while charging pages (the OOM path may wait).
var objStocks struct {
	mu sync.Mutex
	m  map[*MemCgroup]*objStock
}

// objStock is what one account's objects hold and the charged bytes no
// object uses: spare plus held is always a whole number of charged
// pages, and spare is below a page between calls.
type objStock struct {
	spare, held int64
}

// ChargeObject charges an object of size bytes to a's account before it
// is allocated, running the account's OOM path while the pages it needs
// do not fit under the limit, as Linux's charge of a __GFP_ACCOUNT
// allocation does; false means the allocation fails with ENOMEM. The
// object is uncharged with UnchargeObject on a.Memcg when it is freed.
// Without an account it charges nothing and succeeds.
func (a Account) ChargeObject(size int64) bool {
	c := a.Memcg
	if c == nil || size <= 0 {
		return true
	}
	objStocks.mu.Lock()
	if s := objStocks.m[c]; s != nil && s.spare >= size {
		s.spare -= size
		s.held += size
		objStocks.mu.Unlock()
		return true
	}
	objStocks.mu.Unlock()
	// The pages for the object alone: the stock may be used by others
	// while the charge waits, and what is left over returns to it.
	pages := (size + pageSize - 1) / pageSize
	for !c.TryCharge(pages) {
		if !a.Reclaim(pages) {
			return false
		}
	}
	objStocks.mu.Lock()
	defer objStocks.mu.Unlock()
	if objStocks.m == nil {
		objStocks.m = make(map[*MemCgroup]*objStock)
	}
	s := objStocks.m[c]
	if s == nil {
		s = &objStock{}
		objStocks.m[c] = s
	}
	s.spare += pages*pageSize - size
	s.held += size
	c.trimObjStockLocked(s)
	return true
}

// UnchargeObject gives back an object of size bytes that ChargeObject
// charged to c (c may be nil: nothing was charged).
func (c *MemCgroup) UnchargeObject(size int64) {
	if c == nil || size <= 0 {
		return
	}
	objStocks.mu.Lock()
	defer objStocks.mu.Unlock()
	s := objStocks.m[c]
	if s == nil || s.held < size {
		// More than was charged: a caller's bug, which must not
		// drive the account below what its objects hold.
		return
	}
	s.held -= size
	s.spare += size
	c.trimObjStockLocked(s)
	if s.held == 0 {
		// spare is 0 too: it and held made whole pages.
		delete(objStocks.m, c)
	}
}

// ObjectBytes returns the bytes of the objects charged to c.
func (c *MemCgroup) ObjectBytes() int64 {
	objStocks.mu.Lock()
	defer objStocks.mu.Unlock()
	if s := objStocks.m[c]; s != nil {
		return s.held
	}
	return 0
}

// trimObjStockLocked uncharges the whole pages of s's spare bytes.
//
// Preconditions: objStocks.mu is held.
func (c *MemCgroup) trimObjStockLocked(s *objStock) {
	if n := s.spare / pageSize; n > 0 {
		c.uncharge(n)
		s.spare -= n * pageSize
	}
}
