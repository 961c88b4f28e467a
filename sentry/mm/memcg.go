package mm

import "sync/atomic"

// MemCgroup is a container's memory account, as a memory cgroup is for a
// runc container: the pages its address spaces populate are charged to
// it when they are allocated and uncharged when the last reference to
// them goes, wherever they went since (a page shared copy-on-write with
// another container's process after a fork stays charged to its first
// owner, as in Linux).
//
// The limit is enforced by an OOM killer (the owner's) rather than by
// failing the charge: an allocation past the limit succeeds, and the
// owner kills a process of the container before the charging task runs
// on (after the fault or system call, and between the chunks of a long
// copy into its memory), so the overshoot is at most a fault-around
// window or a copy chunk. The account also signals OverLimit, for charges
// no task of the owner's waits on. Failing the charge instead would turn a
// container's memory pressure into SIGBUS or EFAULT at whatever access
// crossed the line, which is not what Linux programs see.
//
// Pages allocated outside a fault (tmpfs data written with write(2) or
// fallocate(2)) are charged to the caller's account before they exist and
// never past the limit: a charge that does not fit runs the owner's OOM
// path synchronously (memcg_charge.go).
type MemCgroup struct {
	// limitPages is the limit in pages; 0 is none.
	limitPages atomic.Int64
	// pages is the number of charged pages; peak its maximum.
	pages, peak atomic.Int64
	// failcnt counts the charges that went past the limit.
	failcnt atomic.Uint64
	// over holds a token while the account is over its limit and the
	// owner has not yet been told.
	over chan struct{}
}

// NewMemCgroup returns an account without a limit.
func NewMemCgroup() *MemCgroup { return &MemCgroup{over: make(chan struct{}, 1)} }

// SetLimit sets the limit in bytes (0: none), rounded down to pages but
// at least one page. Lowering it below the usage signals OverLimit.
func (c *MemCgroup) SetLimit(bytes uint64) {
	pages := int64(bytes / pageSize)
	if bytes != 0 && pages == 0 {
		pages = 1
	}
	c.limitPages.Store(pages)
	if c.Over() {
		c.signal()
	}
}

// Limit returns the limit in bytes (0: none).
func (c *MemCgroup) Limit() uint64 { return uint64(c.limitPages.Load()) * pageSize }

// Usage returns the charged memory in bytes.
func (c *MemCgroup) Usage() uint64 { return uint64(max(c.pages.Load(), 0)) * pageSize }

// Peak returns the most memory charged at once, in bytes.
func (c *MemCgroup) Peak() uint64 { return uint64(c.peak.Load()) * pageSize }

// Failcnt returns how many charges went past the limit.
func (c *MemCgroup) Failcnt() uint64 { return c.failcnt.Load() }

// Over reports whether the usage is past the limit.
func (c *MemCgroup) Over() bool {
	limit := c.limitPages.Load()
	return limit != 0 && c.pages.Load() > limit
}

// OverLimit returns a channel that receives a value after a charge takes
// the account past its limit.
func (c *MemCgroup) OverLimit() <-chan struct{} { return c.over }

func (c *MemCgroup) signal() {
	select {
	case c.over <- struct{}{}:
	default:
	}
}

// charge accounts n new pages (c may be nil: no account).
func (c *MemCgroup) charge(n int64) {
	if c == nil {
		return
	}
	now := c.pages.Add(n)
	for {
		p := c.peak.Load()
		if now <= p || c.peak.CompareAndSwap(p, now) {
			break
		}
	}
	if limit := c.limitPages.Load(); limit != 0 && now > limit {
		c.failcnt.Add(1)
		c.signal()
	}
}

// uncharge accounts n freed pages (c may be nil).
func (c *MemCgroup) uncharge(n int64) {
	if c != nil {
		c.pages.Add(-n)
	}
}

// noteChargeLocked records, after a fault, copy or populate of mm, that
// mm's account is past its limit, for TakeChargedOver.
func (mm *MemoryManager) noteChargeLocked() {
	if mm.memcg != nil && mm.memcg.Over() {
		mm.chargedOver.Store(true)
	}
}

// TakeChargedOver reports, once, whether a fault, copy or populate of the
// address space found its account past its limit since the last call:
// the task that made it then runs its container's OOM path, as Linux's
// charging task does, while tasks that allocated nothing run on.
func (mm *MemoryManager) TakeChargedOver() bool {
	return mm.chargedOver.Load() && mm.chargedOver.Swap(false)
}
