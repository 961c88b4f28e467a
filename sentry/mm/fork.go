package mm

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Fork returns a copy of the address space for a child process, as fork(2)
// makes it: private memory is shared copy-on-write by both, MAP_SHARED
// memory stays shared. as is the child's empty platform address space.
//
// hot are addresses both processes are about to write, the forking
// thread's stack pointer: the private pages around them are copied for
// the child now instead of shared, which spares each side a
// copy-on-write fault (a platform round trip that costs far more than a
// page copy).
func (mm *MemoryManager) Fork(as platform.AddressSpace, hot ...uint64) *MemoryManager {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	c := New(mm.mf, as, mm.maxAddr)
	c.brkStart, c.brk = mm.brkStart, mm.brk
	c.mmapBase, c.stackLimit, c.commitLimit, c.asLimit = mm.mmapBase, mm.stackLimit, mm.commitLimit, mm.asLimit
	c.memcg = mm.memcg
	// The child's memory holds the same patched sites and table.
	c.patch = patchState{table: mm.patch.table, next: mm.patch.next, disabled: mm.patch.disabled}
	if len(mm.patch.sites) > 0 {
		c.patch.sites = make(map[uint64]uint32, len(mm.patch.sites))
		for site, sysno := range mm.patch.sites {
			c.patch.sites[site] = sysno
		}
	}
	if patcher, ok := as.(platform.SyscallPatcher); ok && c.patch.table != 0 {
		patcher.SetTrapTable(c.patch.table)
	}
	c.vmas = make([]*vma, 0, len(mm.vmas))
	var downgrade []*vma
	for _, v := range mm.vmas {
		nv := *v
		// Memory locks are not inherited (mlock(2)); neither is
		// mlockall(MCL_FUTURE), c's lockFuture being zero.
		nv.lock = unlocked
		nv.hold(c)
		c.vmas = append(c.vmas, &nv)
		if v.shared == nil && v.perms&platform.Write != 0 {
			downgrade = append(downgrade, v)
		}
	}
	for addr, p := range mm.pages {
		v := mm.vmaAtLocked(addr)
		if p.writable && v.shared == nil && isHotPage(addr, hot) {
			if page, ok := mm.copyPageLocked(p.page); ok {
				c.pages[addr] = &pte{page: page, writable: true}
				continue
			}
		}
		p.page.refs.Add(1)
		shared := p.writable && v.shared != nil
		if !shared {
			p.writable = false
		}
		c.pages[addr] = &pte{page: p.page, writable: shared}
	}
	c.mapAheadLocked(mm)
	// The parent's writable private pages must fault on the next write so
	// it gets its own copy.
	for _, v := range downgrade {
		mm.writeProtectLocked(v)
	}
	return c
}

// forkHotPages is how many pages below and above a hot address Fork
// copies: a return from fork writes the frames of its callers, and a call
// the frames below.
const forkHotPages = 1

// isHotPage reports whether the page at addr is within forkHotPages of one
// of the hot addresses.
func isHotPage(addr uint64, hot []uint64) bool {
	for _, h := range hot {
		h = arch.PageRoundDown(h)
		if addr+forkHotPages*pageSize >= h && addr <= h+forkHotPages*pageSize {
			return true
		}
	}
	return false
}

// copyPageLocked returns a new page holding a copy of src, or false when
// the memory file is out of space.
func (mm *MemoryManager) copyPageLocked(src *physPage) (*physPage, bool) {
	fr, err := mm.mf.Allocate(pageSize)
	if err != nil {
		return nil, false
	}
	copy(mm.mf.Slice(fr), mm.mf.Slice(memfile.Range{Start: src.off, End: src.off + pageSize}))
	return newPhysPage(fr.Start, mm.memcg), true
}

// Mapping a forked child ahead. A child that starts with nothing mapped
// takes a fault for every page it touches, and on a platform where a
// fault is a round trip to the sentry (tens of microseconds on a VM) the
// few a fork+exec touches cost more than the fork itself. So the child
// gets mapped, before it first runs, the pages its parent had mapped, in
// at most forkMapAheadRuns runs (the platform makes them in one call),
// walking only VMAs of at most forkMapAheadSpan bytes.
const (
	forkMapAheadRuns = 48
	forkMapAheadSpan = 8 << 20
)

// mapAheadLocked maps into the platform address space of mm, a child just
// forked from parent, the pages parent has mapped, within the bounds above.
//
// Preconditions: parent.mu is held; mm is not shared yet.
func (mm *MemoryManager) mapAheadLocked(parent *MemoryManager) {
	budget := forkMapAheadRuns
	for _, v := range mm.vmas {
		if v.special || v.end-v.start > forkMapAheadSpan {
			continue
		}
		for a := v.start; a < v.end && budget > 0; {
			p, ok := mm.pages[a]
			if !ok || !parent.pages[a].mapped {
				a += pageSize
				continue
			}
			perms := mm.ptePermsLocked(v, p)
			runEnd := a + pageSize
			for runEnd < v.end {
				next, ok := mm.pages[runEnd]
				if !ok || !parent.pages[runEnd].mapped || next.page.off != p.page.off+(runEnd-a) || mm.ptePermsLocked(v, next) != perms {
					break
				}
				runEnd += pageSize
			}
			if mm.as.MapFile(a, memfile.Range{Start: p.page.off, End: p.page.off + (runEnd - a)}, perms) != nil {
				// They fault in instead.
				return
			}
			for q := a; q < runEnd; q += pageSize {
				mm.pages[q].mapped = true
			}
			budget--
			a = runEnd
		}
	}
}

// writeProtectLocked makes the mapped pages of v whose entries are no
// longer writable read-only in the platform address space. Pages still
// writable (copied for the child instead) stay as they are.
func (mm *MemoryManager) writeProtectLocked(v *vma) {
	mm.remapLocked(v, v.start, v.end, func(p *pte) bool { return !p.writable })
}
