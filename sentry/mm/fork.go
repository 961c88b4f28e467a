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
// thread's stack and thread pointers: the private pages around them are
// copied for the child now instead of shared, which spares each side a
// copy-on-write fault (a platform round trip that costs far more than a
// page copy). So are the pages of small writable private VMAs (see
// forkCopySpan). Nothing is copied while another task shares the address
// space (see below).
func (mm *MemoryManager) Fork(as platform.AddressSpace, hot ...uint64) *MemoryManager {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	c := New(mm.mf, as, mm.maxAddr)
	c.brkStart, c.brk = mm.brkStart, mm.brk
	c.mmapBase, c.stackLimit, c.commitLimit, c.asLimit = mm.mmapBase, mm.stackLimit, mm.commitLimit, mm.asLimit
	c.memcg = mm.memcg
	// The child's memory holds the same patched sites and table.
	c.patch = mm.patch.clone()
	c.forkedFrom = mm
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
	budget := forkCopyPages
	if mm.users.Load() > 1 {
		// Another thread may be writing while the copies are made: a
		// copy would hold none of its stores after the copy while the
		// pages shared copy-on-write hold all of them until
		// the write protection below, and the child could see a later
		// store without an earlier one (glibc's fork repairs a thread
		// list in the child going by a marker written before the edit).
		// Sharing everything gives the child its parent's memory as of
		// one point in each thread's run, as on Linux.
		budget = 0
	}
	for _, h := range hot {
		h = arch.PageRoundDown(h)
		start := h - min(h, forkHotPages*pageSize)
		if v := mm.vmaAtLocked(h); v != nil {
			mm.copyForChildLocked(c, v, max(start, v.start), min(h+(forkHotPages+1)*pageSize, v.end), &budget)
		}
	}
	for i := range mm.forkRecall {
		if a := mm.forkRecall[i].Load(); a != 0 {
			mm.copyPageForChildLocked(c, a, &budget)
		}
	}
	mm.cowSinceFork = 0
	for _, v := range mm.vmas {
		if v.end-v.start <= forkCopySpan {
			mm.copyForChildLocked(c, v, v.start, v.end, &budget)
		}
	}
	mm.shareWithChildLocked(c)
	c.mapAheadLocked(mm)
	// The parent's writable private pages must fault on the next write so
	// it gets its own copy.
	for _, v := range downgrade {
		mm.remapLocked(v, v.start, v.end, func(p *pte) bool { return !p.writable })
	}
	return c
}

// shareWithChildLocked gives c, the child being forked, entries for the
// pages it has none for yet (the ones not copied above): the parent's
// pages, shared, private ones copy-on-write in both. It works a chunk of
// the page table at a time (pagetable.go).
func (mm *MemoryManager) shareWithChildLocked(c *MemoryManager) {
	var v *vma
	for k, pc := range mm.pages.chunks {
		cc := c.pages.chunks[k]
		if cc == nil {
			cc = new(ptChunk)
			c.pages.chunks[k] = cc
		}
		for i := range pc.ptes {
			p := &pc.ptes[i]
			if p.page == nil || cc.ptes[i].page != nil {
				continue
			}
			addr := k<<ptChunkShift + uint64(i)<<12
			if v == nil || addr < v.start || addr >= v.end {
				v = mm.vmaAtLocked(addr)
			}
			p.page.refs.Add(1)
			shared := p.writable && v.shared != nil
			if !shared {
				p.writable = false
			}
			cc.ptes[i] = pte{page: p.page, writable: shared}
			cc.n++
		}
	}
	c.pages.n = mm.pages.n
}

// forkHotPages is how many pages below and above a hot address Fork
// copies: a return from fork writes the frames of its callers, and a call
// the frames below.
const forkHotPages = 1

// Fork also copies for the child the pages that the parent, or a child
// forked from it earlier, wrote copy-on-write among its first
// forkRecallPages such writes after the fork: a server that forks a child
// per request has each child write the same few globals (busybox httpd:
// one page, one fault round trip to the sentry per request); a page
// copied at fork is the child's own, and the parent's stays its own.
const forkRecallPages = 8

// noteCOWLocked records the copy-on-write fault at addr among the pages
// the next forks copy, here and in the address space mm was forked from,
// if it is among the first since mm was made or last forked.
func (mm *MemoryManager) noteCOWLocked(addr uint64) {
	if mm.cowSinceFork >= forkRecallPages {
		return
	}
	mm.cowSinceFork++
	mm.recallForFork(addr)
	if p := mm.forkedFrom; p != nil {
		p.recallForFork(addr)
	}
}

// recallForFork adds the page at addr to the pages forks copy.
func (mm *MemoryManager) recallForFork(addr uint64) {
	for i := range mm.forkRecall {
		if mm.forkRecall[i].Load() == addr {
			return
		}
	}
	mm.forkRecall[mm.forkRecallNext.Add(1)%forkRecallPages].Store(addr)
}

// copyPageForChildLocked gives c, the child being forked, a copy of the
// populated page at addr if it lies in a writable private VMA, c has no
// entry for it yet and *budget allows. Out of memory, it stays shared.
func (mm *MemoryManager) copyPageForChildLocked(c *MemoryManager, addr uint64, budget *int) {
	v := mm.vmaAtLocked(addr)
	if *budget <= 0 || v == nil || v.shared != nil || v.perms&platform.Write == 0 || c.pages.has(addr) {
		return
	}
	p, ok := mm.pages.lookup(addr)
	if !ok {
		return
	}
	fr, err := mm.mf.Allocate(pageSize)
	if err != nil {
		return
	}
	copy(mm.mf.Slice(fr), mm.mf.Slice(memfile.Range{Start: p.page.off, End: p.page.off + pageSize}))
	c.pages.set(addr, pte{page: newPhysPage(fr.Start, mm.memcg), writable: true})
	*budget--
}

// Fork also copies the written pages of writable private VMAs of at most
// forkCopySpan bytes: a program's and its libraries' .data and .bss,
// where the C library keeps the state that both sides of a fork update
// first (locks, the PID cache, stdio, malloc's arena), one copy-on-write
// fault each otherwise. At most forkCopyPages pages are copied in all,
// hot ones included, so a process with much memory forks as cheaply as
// copy-on-write lets it.
const (
	forkCopySpan  = 16 * pageSize
	forkCopyPages = 64
)

// copyForChildLocked gives c, the child being forked, its own copies of
// the writable private pages of [start, end) of v that c has no entry for
// yet, while *budget lasts. Each run of such pages is copied into one
// contiguous piece of the memory file, so the child maps it in one call.
// Out of memory, the pages stay shared copy-on-write.
func (mm *MemoryManager) copyForChildLocked(c *MemoryManager, v *vma, start, end uint64, budget *int) {
	if v.shared != nil || v.perms&platform.Write == 0 {
		return
	}
	copyable := func(a uint64) bool {
		p, ok := mm.pages.lookup(a)
		done := c.pages.has(a)
		return ok && p.writable && !done
	}
	for a := start; a < end && *budget > 0; {
		if !copyable(a) {
			a += pageSize
			continue
		}
		runEnd := a + pageSize
		for runEnd < end && uint64(*budget) > (runEnd-a)/pageSize && copyable(runEnd) {
			runEnd += pageSize
		}
		fr, err := mm.mf.Allocate(runEnd - a)
		if err != nil {
			return
		}
		dst := mm.mf.Slice(fr)
		for q := a; q < runEnd; q += pageSize {
			src := mm.pages.get(q).page.off
			copy(dst[q-a:q-a+pageSize], mm.mf.Slice(memfile.Range{Start: src, End: src + pageSize}))
			c.pages.set(q, pte{page: newPhysPage(fr.Start+(q-a), mm.memcg), writable: true})
		}
		*budget -= int((runEnd - a) / pageSize)
		a = runEnd
	}
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
		if v.end-v.start > forkMapAheadSpan {
			continue
		}
		err := mm.forEachRunLocked(v, v.start, v.end, true, func(a uint64, _ *pte) bool { return parent.pages.get(a).mapped },
			func(a, e uint64, first *pte, perms platform.AccessType) error {
				if budget == 0 {
					return errStopRuns
				}
				if err := mm.as.MapFile(a, memfile.Range{Start: first.page.off, End: first.page.off + (e - a)}, perms); err != nil {
					// They fault in instead.
					return err
				}
				for q := a; q < e; q += pageSize {
					mm.pages.get(q).mapped = true
				}
				budget--
				return nil
			})
		if err != nil {
			return
		}
	}
}
