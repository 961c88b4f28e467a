package kvm

import (
	"sync/atomic"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// 4-level x86-64 page tables (Intel SDM Vol. 3A 4.5, "4-Level Paging").
//
// Every table is one 4 KiB page of the memory file holding 512 8-byte
// entries. A linear address selects PML4[47:39], PDPT[38:30], PD[29:21],
// PT[20:12]; only 4 KiB leaves are used (PS is never set), so a
// translation is always a four-step walk ending in a PT entry.
//
// The guest never writes a table: every entry is created with its Accessed
// bit (and Dirty bit for leaves) already set, so the processor has no A/D
// update to make (SDM 4.8), and the sentry is the only writer. Entries are
// still stored with 64-bit atomic stores because a running vCPU may walk a
// table while the sentry adds an entry to it, and it must see the old or
// the new entry, never a mix.

// Entry bits (SDM Vol. 3A Tables 4-15 to 4-20).
const (
	ptePresent  = 1 << 0
	pteWrite    = 1 << 1
	pteUser     = 1 << 2
	pteAccessed = 1 << 5
	pteDirty    = 1 << 6
	ptePageSize = 1 << 7 // PS; never set by this package
	pteNX       = 1 << 63
	// pteAddrMask selects the physical address of the next table or of
	// the page (bits 51:12; bits above MAXPHYADDR must be zero, which
	// New checks for the whole memory file).
	pteAddrMask = 0x000ffffffffff000
)

// Flags of intermediate entries. The access rights of a translation are the
// most restrictive combination of all four levels (SDM 4.6): intermediate
// entries of the user half allow everything and the leaf decides; those of
// the trampoline's half are supervisor-only, so no leaf below them can ever
// be reached from user mode whatever its own U/S bit says.
const (
	userTableFlags   = ptePresent | pteWrite | pteUser | pteAccessed
	kernelTableFlags = ptePresent | pteWrite | pteAccessed
)

// Leaf flags of the trampoline pages.
const (
	kernelCodeFlags = ptePresent | pteAccessed                               // read, execute
	kernelROFlags   = ptePresent | pteAccessed | pteNX                       // read
	kernelRWFlags   = ptePresent | pteWrite | pteAccessed | pteDirty | pteNX // read, write
)

// userLeafFlags returns the leaf flags mapping a page with perms.
//
// x86 paging cannot express write-only or execute-only pages: a present
// page is readable, so Write and Execute imply Read. Execute can be denied
// only when the CPU has NX and EFER.NXE is set (nx): without it bit 63 is
// reserved and every present user page is executable (SDM 4.6.2).
func userLeafFlags(perms platform.AccessType, nx bool) uint64 {
	if perms == 0 {
		return 0
	}
	f := uint64(ptePresent | pteUser | pteAccessed | pteDirty)
	if perms&platform.Write != 0 {
		f |= pteWrite
	}
	if nx && perms&platform.Execute == 0 {
		f |= pteNX
	}
	return f
}

// tableMemory provides the pages page tables live in.
type tableMemory interface {
	// allocTable returns the guest physical address of a zeroed page.
	allocTable() (uint64, error)
	// freeTable returns a page allocTable gave.
	freeTable(phys uint64)
	// table returns the entries of the table at phys.
	table(phys uint64) *[512]uint64
}

// memfileTables allocates page tables from the machine's memory file,
// in memory slots the guest can reach (slots.go).
type memfileTables struct {
	m *machine
}

func (t memfileTables) allocTable() (uint64, error) {
	r, err := t.m.mf.Allocate(pageSize)
	if err != nil {
		return 0, err
	}
	if err := t.m.ensureSlots(r); err != nil {
		t.m.mf.Release(r)
		return 0, err
	}
	// memfile.Allocate promises zeroes.
	return physBase + r.Start, nil
}

func (t memfileTables) freeTable(phys uint64) {
	off := phys - physBase
	t.m.mf.Release(memfile.Range{Start: off, End: off + pageSize})
}

func (t memfileTables) table(phys uint64) *[512]uint64 {
	off := phys - physBase
	return tableView(t.m.mf.Slice(memfile.Range{Start: off, End: off + pageSize}))
}

// pageTables is one tree of page tables.
//
// It does no locking: the address space that owns it serializes every
// change (addressSpace.mu), and the trampoline's shared tables are changed
// under machine.kernelMu.
type pageTables struct {
	mem  tableMemory
	root uint64
}

// Levels, numbered from the leaves.
const (
	levelPT   = 0
	levelPD   = 1
	levelPDPT = 2
	levelPML4 = 3
)

// levelShift is the number of address bits below an entry of a table at
// level: 12 for a PT entry (4 KiB), 21, 30, and 39 for a PML4 entry.
func levelShift(level int) uint {
	return pageShift + 9*uint(level)
}

// entrySpanEnd returns the end of the region mapped by the entry covering
// va at level, clipped to end.
func entrySpanEnd(va, end uint64, level int) uint64 {
	s := levelShift(level)
	next := (va>>s + 1) << s
	if next > end || next == 0 {
		return end
	}
	return next
}

func entryIndex(va uint64, level int) uint64 {
	return (va >> levelShift(level)) & 511
}

// mapRange makes [start, end) translate to [phys, phys+end-start) with the
// given leaf flags, creating intermediate tables with tableFlags. It
// replaces existing leaves; callers decide whether that needs a TLB
// shootdown first (wouldRestrict). When taken is not nil, the pages of
// the leaves it replaced with another page or fewer rights are added to
// it.
//
// Preconditions: start, end and phys are page aligned; start < end; the
// range lies in one half of the address space.
func (pt *pageTables) mapRange(start, end, phys, leaf, tableFlags uint64, taken *frameRuns) error {
	return pt.mapLevel(pt.root, levelPML4, start, end, phys, leaf, tableFlags, taken)
}

func (pt *pageTables) mapLevel(table uint64, level int, start, end, phys, leaf, tableFlags uint64, taken *frameRuns) error {
	t := pt.mem.table(table)
	for va := start; va < end; {
		next := entrySpanEnd(va, end, level)
		i := entryIndex(va, level)
		p := phys + (va - start)
		if level == levelPT {
			nw := p&pteAddrMask | leaf
			if taken != nil {
				if old := atomic.LoadUint64(&t[i]); old&ptePresent != 0 && restricts(old, nw) {
					taken.add(old & pteAddrMask)
				}
			}
			atomic.StoreUint64(&t[i], nw)
		} else {
			e := atomic.LoadUint64(&t[i])
			if e&ptePresent == 0 {
				// A zeroed table has no present entry, so
				// linking it before filling it is safe.
				child, err := pt.mem.allocTable()
				if err != nil {
					return err
				}
				e = child | tableFlags
				atomic.StoreUint64(&t[i], e)
			}
			if err := pt.mapLevel(e&pteAddrMask, level-1, va, next, p, leaf, tableFlags, taken); err != nil {
				return err
			}
		}
		va = next
	}
	return nil
}

// unmapRange clears every leaf in [start, end) and frees each table that
// the clearing left empty. It reports whether any present leaf was
// cleared; when taken is not nil, the pages of the cleared leaves are
// added to it.
//
// A table is freed only when a leaf in it was cleared by this call, so a
// table is never freed without the caller's TLB shootdown (which the caller
// does whenever anyPresent reports a leaf in the range). The root is never
// freed.
func (pt *pageTables) unmapRange(start, end uint64, taken *frameRuns) bool {
	return pt.unmapLevel(pt.root, levelPML4, start, end, taken)
}

func (pt *pageTables) unmapLevel(table uint64, level int, start, end uint64, taken *frameRuns) bool {
	t := pt.mem.table(table)
	cleared := false
	for va := start; va < end; {
		next := entrySpanEnd(va, end, level)
		i := entryIndex(va, level)
		e := atomic.LoadUint64(&t[i])
		if e&ptePresent != 0 {
			if level == levelPT {
				atomic.StoreUint64(&t[i], 0)
				cleared = true
				if taken != nil {
					taken.add(e & pteAddrMask)
				}
			} else {
				child := e & pteAddrMask
				if pt.unmapLevel(child, level-1, va, next, taken) {
					cleared = true
					if tableEmpty(pt.mem.table(child)) {
						atomic.StoreUint64(&t[i], 0)
						pt.mem.freeTable(child)
					}
				}
			}
		}
		va = next
	}
	return cleared
}

// protectRange gives every present leaf in [start, end) the flags leaf,
// keeping its page; absent subtrees are skipped whole. When taken is not
// nil, the pages of the leaves that lost a right are added to it.
//
// Preconditions: start and end are page aligned; start < end.
func (pt *pageTables) protectRange(start, end, leaf uint64, taken *frameRuns) {
	pt.protectLevel(pt.root, levelPML4, start, end, leaf, taken)
}

func (pt *pageTables) protectLevel(table uint64, level int, start, end, leaf uint64, taken *frameRuns) {
	t := pt.mem.table(table)
	for va := start; va < end; {
		next := entrySpanEnd(va, end, level)
		i := entryIndex(va, level)
		if e := atomic.LoadUint64(&t[i]); e&ptePresent != 0 {
			if level == levelPT {
				nw := e&pteAddrMask | leaf
				if taken != nil && restricts(e, nw) {
					taken.add(e & pteAddrMask)
				}
				atomic.StoreUint64(&t[i], nw)
			} else {
				pt.protectLevel(e&pteAddrMask, level-1, va, next, leaf, taken)
			}
		}
		va = next
	}
}

// tableEmpty reports whether no entry of t is present.
func tableEmpty(t *[512]uint64) bool {
	for i := range t {
		if atomic.LoadUint64(&t[i])&ptePresent != 0 {
			return false
		}
	}
	return true
}

// visitLeaves calls fn for every present leaf in [start, end), in address
// order, until fn returns false. Absent subtrees are skipped whole, so the
// cost follows what is mapped, not the size of the range.
func (pt *pageTables) visitLeaves(start, end uint64, fn func(va, pte uint64) bool) {
	pt.visitLevel(pt.root, levelPML4, start, end, fn)
}

func (pt *pageTables) visitLevel(table uint64, level int, start, end uint64, fn func(va, pte uint64) bool) bool {
	t := pt.mem.table(table)
	for va := start; va < end; {
		next := entrySpanEnd(va, end, level)
		e := atomic.LoadUint64(&t[entryIndex(va, level)])
		if e&ptePresent != 0 {
			if level == levelPT {
				if !fn(va, e) {
					return false
				}
			} else if !pt.visitLevel(e&pteAddrMask, level-1, va, next, fn) {
				return false
			}
		}
		va = next
	}
	return true
}

// anyPresent reports whether a leaf in [start, end) is present.
func (pt *pageTables) anyPresent(start, end uint64) bool {
	found := false
	pt.visitLeaves(start, end, func(uint64, uint64) bool {
		found = true
		return false
	})
	return found
}

// wouldRestrict reports whether mapping [start, end) to phys with leaf
// would take anything away from a present translation: a different page,
// or the loss of write, execute or user access. Such a change must not
// happen while a vCPU may hold the old translation in its TLB. Adding a
// translation where none was present, or only adding rights, needs no
// shootdown: a stale entry can only cause a spurious page fault, after
// which the processor drops it (SDM Vol. 3A 4.10.4.3), and the vCPU loop
// retries such faults (context.go).
func (pt *pageTables) wouldRestrict(start, end, phys, leaf uint64) bool {
	restrict := false
	pt.visitLeaves(start, end, func(va, old uint64) bool {
		nw := (phys+(va-start))&pteAddrMask | leaf
		if restricts(old, nw) {
			restrict = true
			return false
		}
		return true
	})
	return restrict
}

// restricts reports whether replacing the present leaf old by nw removes
// a right or changes the page.
func restricts(old, nw uint64) bool {
	switch {
	case nw&ptePresent == 0:
		return true
	case old&pteAddrMask != nw&pteAddrMask:
		return true
	case old&pteWrite != 0 && nw&pteWrite == 0:
		return true
	case old&pteUser != 0 && nw&pteUser == 0:
		return true
	case old&pteNX == 0 && nw&pteNX != 0:
		return true
	}
	return false
}

// translate walks the tables like the MMU: it returns the physical address
// va maps to and the effective rights of the translation, as the
// combination of the four levels (present and U/S and R/W only if set at
// every level, NX if set at any level), or ok false if a level is not
// present.
func (pt *pageTables) translate(va uint64) (phys, rights uint64, ok bool) {
	table := pt.root
	rights = ptePresent | pteWrite | pteUser
	for level := levelPML4; ; level-- {
		e := atomic.LoadUint64(&pt.mem.table(table)[entryIndex(va, level)])
		if e&ptePresent == 0 {
			return 0, 0, false
		}
		rights &= e | pteNX
		rights |= e & pteNX
		if level == levelPT {
			return e&pteAddrMask | va&(pageSize-1), rights, true
		}
		table = e & pteAddrMask
	}
}

// allows reports whether effective rights permit access.
func allows(rights uint64, access platform.AccessType, nx bool) bool {
	if rights&(ptePresent|pteUser) != ptePresent|pteUser {
		return false
	}
	if access&platform.Write != 0 && rights&pteWrite == 0 {
		return false
	}
	if access&platform.Execute != 0 && nx && rights&pteNX != 0 {
		return false
	}
	return true
}

// freeUserTables clears the user half of the root (PML4 entries 0-254) and
// frees every table below it. Leaves are memory-file pages the caller owns,
// not tables, and are not freed.
func (pt *pageTables) freeUserTables() {
	root := pt.mem.table(pt.root)
	for i := 0; i < kernelPML4Index; i++ {
		e := atomic.LoadUint64(&root[i])
		if e&ptePresent == 0 {
			continue
		}
		atomic.StoreUint64(&root[i], 0)
		pt.freeSubtree(e&pteAddrMask, levelPDPT)
	}
}

// freeSubtree frees the table at level and every table below it.
func (pt *pageTables) freeSubtree(table uint64, level int) {
	if level > levelPT {
		t := pt.mem.table(table)
		for i := range t {
			if e := atomic.LoadUint64(&t[i]); e&ptePresent != 0 {
				pt.freeSubtree(e&pteAddrMask, level-1)
			}
		}
	}
	pt.mem.freeTable(table)
}
