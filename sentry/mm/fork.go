package mm

import (
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Fork returns a copy of the address space for a child process, as fork(2)
// makes it: private memory is shared copy-on-write by both, MAP_SHARED
// memory stays shared. as is the child's empty platform address space.
func (mm *MemoryManager) Fork(as platform.AddressSpace) *MemoryManager {
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
		p.page.refs.Add(1)
		shared := p.writable && mm.vmaAtLocked(addr).shared != nil
		if !shared {
			p.writable = false
		}
		// The child starts with nothing mapped: its pages fault in
		// lazily.
		c.pages[addr] = &pte{page: p.page, writable: shared}
	}
	// The parent's writable private pages must fault on the next write so
	// it gets its own copy.
	for _, v := range downgrade {
		mm.writeProtectLocked(v)
	}
	return c
}

// forkRemapRuns is how many mapped runs of a VMA fork maps again read-only;
// a VMA with more is unmapped in one call instead, and its pages fault back
// in read-only.
const forkRemapRuns = 16

// writeProtectLocked makes the mapped pages of v, whose entries are no
// longer writable, read-only in the platform address space: mapped again
// without write permission when they form few runs (the platform may queue
// those calls, and reads after the fork do not fault), else unmapped.
func (mm *MemoryManager) writeProtectLocked(v *vma) {
	runs := 0
	for a := v.start; a < v.end && runs <= forkRemapRuns; {
		p, ok := mm.pages[a]
		if !ok || !p.mapped {
			a += pageSize
			continue
		}
		runs++
		a = mm.mappedRunEndLocked(a, v.end)
	}
	if runs > forkRemapRuns {
		mm.unmapPlatformLocked(v.start, v.end)
		return
	}
	for a := v.start; a < v.end; {
		p, ok := mm.pages[a]
		if !ok || !p.mapped {
			a += pageSize
			continue
		}
		end := mm.mappedRunEndLocked(a, v.end)
		if err := mm.as.MapFile(a, memfile.Range{Start: p.page.off, End: p.page.off + (end - a)}, mm.ptePermsLocked(v, p)); err != nil {
			mm.unmapPlatformLocked(v.start, v.end)
			return
		}
		a = end
	}
}

// mappedRunEndLocked returns the end of the run of mapped pages from a
// (mapped) that are contiguous in the memory file, up to end.
func (mm *MemoryManager) mappedRunEndLocked(a, end uint64) uint64 {
	first := mm.pages[a]
	runEnd := a + pageSize
	for runEnd < end {
		next, ok := mm.pages[runEnd]
		if !ok || !next.mapped || next.page.off != first.page.off+(runEnd-a) {
			break
		}
		runEnd += pageSize
	}
	return runEnd
}
