package mm

import (
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Copy-on-write.
//
// A private page shared by a fork (or a private file mapping's page of the
// file's cache) is mapped read-only, and a write to it faults: the address
// space then gets its own copy, or takes the page over when nobody else
// holds it any more. Each such fault is a round trip to the sentry, which
// on the systrap platform of a VM costs 50-60 us against about a
// microsecond for copying a page.
//
// So a write fault also takes over, without copying, the pages of its
// fault-around window that nobody else holds any more (the other process
// exited or exec'd), and, when the address space is writing densely (its
// previous copying fault was within a window of this one), copies the
// window's shared pages too, as gVisor does for its (larger) allocation
// unit: into one piece of the memory file, mapped in one call. A forked
// child that fills a buffer then faults once per window instead of once
// per page (writing 1 MiB: 2.8 ms instead of 10 ms). Scattered writes (an
// interpreter updating reference counts all over its heap) copy only the
// page written: a window copied for each would cost memory for pages never
// written, and the copying, for no fault saved.
//
// A private file mapping's pages that are still the file's cache pages are
// never copied ahead: they show changes made to the file until the address
// space writes them, as Linux guarantees.

// breakCOWLocked gives the address space its own copy of the private page p
// at addr (or takes the page over when nobody else holds it) and maps it
// writable if it was mapped.
func (mm *MemoryManager) breakCOWLocked(v *vma, addr uint64, p *pte) error {
	if !p.page.exclusive() {
		fr, err := mm.mf.Allocate(pageSize)
		if err != nil {
			return err
		}
		copy(mm.mf.Slice(fr), mm.mf.Slice(memfile.Range{Start: p.page.off, End: p.page.off + pageSize}))
		p.page.decRef(mm.mf)
		p.page = newPhysPage(fr.Start, mm.memcg)
	}
	p.writable = true
	if p.mapped {
		return mm.as.MapFile(addr, memfile.Range{Start: p.page.off, End: p.page.off + pageSize}, v.perms)
	}
	return nil
}

// breakCOWWindowLocked breaks copy-on-write for the populated page at addr
// of v, which a write faulted on, and for those of the other copy-on-write
// pages of its fault-around window that the rules above allow, and maps
// the changed pages that were mapped writable. Out of memory for the
// window's copies, it copies the faulting page alone.
//
// Preconditions: v is writable; the page at addr is populated and not
// writable.
func (mm *MemoryManager) breakCOWWindowLocked(v *vma, addr uint64) error {
	mm.noteCOWLocked(addr)
	if protector, ok := mm.as.(platform.Protector); ok && mm.pages.get(addr).page.exclusive() {
		return mm.takeOverLocked(v, addr, protector)
	}
	window := uint64(faultAroundPages * pageSize)
	start, end := max(v.start, addr&^(window-1)), min(v.end, (addr&^(window-1))+window)
	if v.cache != nil {
		v.cache.mu.RLock()
		defer v.cache.mu.RUnlock()
	}
	dense := mm.lastCOW != 0 && max(addr, mm.lastCOW)-min(addr, mm.lastCOW) <= window
	var copies [faultAroundPages]*pte
	n := 0
	// Bit i stands for the page at start+i*pageSize: changed for those
	// to map again, copied for those among them to copy.
	var changed, copied uint32
	for a := start; a < end; a += pageSize {
		p, ok := mm.pages.lookup(a)
		if !ok || p.writable {
			continue
		}
		bit := uint32(1) << ((a - start) / pageSize)
		switch {
		case p.page.exclusive():
			p.writable = true
		case a == addr || dense && !mm.tracksFileLocked(v, a, p):
			copies[n] = p
			n++
			copied |= bit
		default:
			continue
		}
		changed |= bit
	}
	if n > 0 {
		mm.lastCOW = addr
		fr, err := mm.mf.Allocate(uint64(n) * pageSize)
		if err != nil {
			// Only the faulting page's copy is needed; what was taken
			// over is mapped below.
			changed &^= copied
			if p := mm.pages.get(addr); !p.writable {
				if err := mm.breakCOWLocked(v, addr, p); err != nil {
					return err
				}
			}
			n = 0
		}
		dst := mm.mf.Slice(fr)
		for i, p := range copies[:n] {
			copy(dst[uint64(i)*pageSize:], mm.mf.Slice(memfile.Range{Start: p.page.off, End: p.page.off + pageSize}))
			p.page.decRef(mm.mf)
			p.page = newPhysPage(fr.Start+uint64(i)*pageSize, mm.memcg)
			p.writable = true
		}
	}
	remap := func(a uint64, p *pte) bool { return p.mapped && changed&(1<<((a-start)/pageSize)) != 0 }
	return mm.forEachRunLocked(v, start, end, true, remap, func(a, e uint64, first *pte, perms platform.AccessType) error {
		return mm.as.MapFile(a, memfile.Range{Start: first.page.off, End: first.page.off + (e - a)}, perms)
	})
}

// takeOverSpan is how much of its VMA around it a write fault on a page
// nobody else holds any more takes over, on a platform that changes
// permissions in place: 2 MiB, aligned.
const takeOverSpan = 2 << 20

// takeOverLocked serves a write fault on the copy-on-write page at addr of
// v that nobody else holds any more (the other process of a fork exited
// or exec'd): it makes that page, and every other such page within
// takeOverSpan, writable, with one Protect per run of consecutive mapped
// pages. A process that forked a child that is gone takes one fault per
// 2 MiB it writes instead of one per fault-around window; taking a page
// over copies nothing.
//
// Preconditions: v is writable; the page at addr is populated, not
// writable and exclusive.
func (mm *MemoryManager) takeOverLocked(v *vma, addr uint64, protector platform.Protector) error {
	start, end := max(v.start, addr&^(takeOverSpan-1)), min(v.end, (addr&^(takeOverSpan-1))+takeOverSpan)
	mm.pages.eachIn(start, end, func(_ uint64, p *pte) bool {
		if !p.writable && p.page.exclusive() {
			p.writable = true
		}
		return true
	})
	// Pages that were writable already are mapped so: protecting them
	// again changes nothing and joins the runs.
	return mm.forEachRunLocked(v, start, end, false, func(_ uint64, p *pte) bool { return p.mapped && p.writable },
		func(a, e uint64, _ *pte, perms platform.AccessType) error {
			return protector.Protect(a, e-a, perms)
		})
}

// tracksFileLocked reports whether p, v's page at addr, is v's file's own
// cache page, which a private mapping shows until it writes it.
//
// Preconditions: v.cache.mu is held if v has a cache.
func (mm *MemoryManager) tracksFileLocked(v *vma, addr uint64, p *pte) bool {
	return v.cache != nil && v.cache.pages[v.fileOffset(addr)] == p.page
}
