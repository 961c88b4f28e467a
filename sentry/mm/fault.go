package mm

import (
	"errors"
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"golang.org/x/sys/unix"
)

// Linux si_code values for memory faults.
const (
	SegvMapErr = 1 // SEGV_MAPERR: no mapping at the address
	SegvAccErr = 2 // SEGV_ACCERR: the mapping forbids the access
	BusAdrErr  = 2 // BUS_ADRERR: the address is past the end of the file
)

// FaultResult says what a fault turned into: nothing (Signo == 0, the
// access can be retried) or a signal for the task.
type FaultResult struct {
	Signo int
	Code  int
	// Major is set when serving the fault read file data: a major
	// fault, as Linux counts one that needed I/O (the rest are minor).
	Major bool
	// OutOfMemory is set with SIGBUS when the memory file had no page
	// to give: the sandbox's memory is used up, and its OOM killer may
	// make room for the access to be retried.
	OutOfMemory bool
	// Access is the faulting access when the platform did not say and
	// the fault tells it: a second fault on a page mapped readable in a
	// mapping that is not writable was a write. 0 otherwise.
	Access platform.AccessType
}

// HandleFault serves a page fault at addr. access is the faulting access
// when the platform knows it, or 0; notPresent says the page was not
// mapped when the access faulted. It is HandleTaskFault for a caller that
// keeps no FaultState.
func (mm *MemoryManager) HandleFault(addr uint64, access platform.AccessType, notPresent bool) FaultResult {
	return mm.HandleTaskFault(addr, access, notPresent, nil)
}

// FaultState is what a task remembers of its last fault, so that a fault
// the page tables cannot explain is retried once, not forever. The zero
// value is ready; a task resets it (Reset) whenever it makes progress
// other than faulting (a system call).
type FaultState struct {
	// retriedPage is the page of the last fault retried as spurious;
	// retried says it is set.
	retriedPage uint64
	retried     bool
}

// Reset forgets the last fault.
func (s *FaultState) Reset() { s.retried = false }

// HandleTaskFault is HandleFault for a task that keeps st (nil: none).
//
// A fault on a page already mapped as its page-table entry allows is
// spurious, as Linux calls it: another thread of the address space
// upgraded the page between the fault and now (broke its copy-on-write,
// mapped it, restored its protection), or the platform's mapping fell
// behind. The page is mapped again as the entry says and the access
// retried. The same task faulting on the same page again right away means
// the mapping really refuses the access (the platform could not say the
// access was a write to a read-only mapping, say): SEGV_ACCERR.
func (mm *MemoryManager) HandleTaskFault(addr uint64, access platform.AccessType, notPresent bool, st *FaultState) FaultResult {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	defer mm.noteChargeLocked()
	v := mm.vmaAtLocked(addr)
	if v == nil {
		if v = mm.growStackLocked(addr); v == nil {
			return FaultResult{Signo: int(unix.SIGSEGV), Code: SegvMapErr}
		}
	}
	if v.perms == 0 || access&^permsImplied(v.perms) != 0 {
		return FaultResult{Signo: int(unix.SIGSEGV), Code: SegvAccErr}
	}
	pageAddr := arch.PageRoundDown(addr)
	p, ok := mm.pages.lookup(pageAddr)
	if !ok || !p.mapped {
		mm.filled = false
		signo, code, err := mm.populateLocked(v, addr)
		if err == nil && signo == 0 && access&platform.Write != 0 && v.perms&platform.Write != 0 {
			// A write to a private file page: copy it now, as
			// Linux's do_cow_fault does, rather than after a second
			// fault on the read-only page.
			if p, ok := mm.pages.lookup(pageAddr); ok && !p.writable {
				err = mm.breakCOWWindowLocked(v, pageAddr)
			}
		}
		if err != nil {
			// Out of memory: SIGBUS is what a failed fault of a
			// mapping delivers, unless the caller's OOM killer makes
			// room.
			return outOfMemory(err)
		}
		return FaultResult{Signo: signo, Code: code, Major: mm.filled}
	}
	if v.perms&platform.Write != 0 && !p.writable && !notPresent {
		// A page still shared copy-on-write in a writable mapping: the
		// access was a write (whether or not the platform could tell),
		// and the address space gets its own copy.
		if err := mm.breakCOWWindowLocked(v, pageAddr); err != nil {
			return outOfMemory(err)
		}
		return FaultResult{}
	}
	if st != nil {
		if st.retried && st.retriedPage == pageAddr {
			st.retried = false
			res := FaultResult{Signo: int(unix.SIGSEGV), Code: SegvAccErr}
			if access == 0 && v.perms&platform.Read != 0 && v.perms&platform.Write == 0 {
				// Reads were allowed; an instruction fetch from a
				// mapping without PROT_EXEC is the other access it
				// could be, which the caller tells by the
				// instruction pointer.
				res.Access = platform.Write
			}
			return res
		}
		st.retriedPage, st.retried = pageAddr, true
	}
	if err := mm.as.MapFile(pageAddr, memfile.Range{Start: p.page.off, End: p.page.off + pageSize}, mm.ptePermsLocked(v, p)); err != nil {
		return FaultResult{Signo: int(unix.SIGBUS), Code: BusAdrErr}
	}
	return FaultResult{}
}

// outOfMemory is the result of a fault that could not get memory (err).
func outOfMemory(err error) FaultResult {
	return FaultResult{Signo: int(unix.SIGBUS), Code: BusAdrErr, OutOfMemory: errors.Is(err, memfile.ErrNoMemory)}
}

// permsImplied returns what the hardware grants for perms: on x86 a
// writable or executable page is also readable.
func permsImplied(p platform.AccessType) platform.AccessType {
	if p != 0 {
		p |= platform.Read
	}
	return p
}

// growStackLocked extends a GrowsDown VMA down to cover addr, as Linux's
// expand_stack does, and returns it, or nil when addr is not a stack access.
func (mm *MemoryManager) growStackLocked(addr uint64) *vma {
	i := mm.findLocked(addr)
	if i == len(mm.vmas) || !mm.vmas[i].growsDown {
		return nil
	}
	v := mm.vmas[i]
	start := arch.PageRoundDown(addr)
	if v.end-start > mm.stackLimit {
		return nil
	}
	// Like Linux's expand_downwards, only an accessible mapping below that
	// is not itself a stack enforces the guard gap; anything below must
	// still not be overlapped.
	if i > 0 {
		prev := mm.vmas[i-1]
		if prev.end > start {
			return nil
		}
		if prev.perms != 0 && !prev.growsDown && prev.end+stackGuardGap > start {
			return nil
		}
	}
	if start < minMmapAddr {
		return nil
	}
	v.start = start
	return v
}

// populateLocked backs the fault-around window containing addr with pages,
// filling them from the file for file-backed VMAs, and maps them.
func (mm *MemoryManager) populateLocked(v *vma, addr uint64) (signo, code int, err error) {
	defer mm.notePeakLocked()
	window := uint64(faultAroundPages * pageSize)
	if v.file != nil {
		window = fileFaultAroundPages * pageSize
	}
	start := addr &^ (window - 1)
	end := start + window
	if start < v.start {
		start = v.start
	}
	if end > v.end {
		end = v.end
	}
	if v.file != nil {
		limit, ok := fileLimit(v)
		if !ok || arch.PageRoundDown(addr) >= limit {
			return int(unix.SIGBUS), BusAdrErr, nil
		}
		end = min(end, limit)
	}
	if v.shared != nil {
		if err := mm.populateObjectLocked(v, v.shared, start, end, true); err != nil {
			return 0, 0, err
		}
		return 0, 0, mm.mapRunsLocked(v, start, end)
	}
	if v.cache != nil {
		// A private mapping of a file with a page cache maps the cache's
		// pages copy-on-write: it sees the file's changes until it
		// writes a page, as Linux's private file mappings do.
		if err := mm.populateObjectLocked(v, v.cache, start, end, false); err != nil {
			return 0, 0, err
		}
		lo := max(v.start, arch.PageRoundDown(addr)-min(residentAround, arch.PageRoundDown(addr)))
		hi := min(v.end, arch.PageRoundDown(addr)+residentAround)
		mm.adoptResidentLocked(v, v.cache, lo, hi)
		return 0, 0, mm.mapRunsLocked(v, min(lo, start), max(hi, end))
	}
	if err := mm.populatePrivateLocked(v, start, end); err != nil {
		return 0, 0, err
	}
	return 0, 0, mm.mapRunsLocked(v, start, end)
}

// notePeakLocked records the number of populated pages if it is a peak.
func (mm *MemoryManager) notePeakLocked() {
	mm.peakPages = max(mm.peakPages, uint64(mm.pages.len()))
}

// fileLimit returns the address in v past which v maps no page of its
// file (the file's page-rounded end), v.start when it maps none; false
// when the file's size cannot be read.
func fileLimit(v *vma) (uint64, bool) {
	size, err := v.file.Size()
	if err != nil {
		return 0, false
	}
	fileEnd, _ := arch.PageRoundUp(uint64(size))
	if fileEnd <= v.off {
		return v.start, true
	}
	return min(v.end, v.start+(fileEnd-v.off)), true
}

// populatePrivateLocked gives the missing pages of [start, end) of v, a
// private VMA without a page cache (anonymous memory, or a file read
// directly), pages of their own, allocated in runs so each run is one
// contiguous piece of the memory file.
func (mm *MemoryManager) populatePrivateLocked(v *vma, start, end uint64) error {
	for a := start; a < end; {
		if mm.pages.has(a) {
			a += pageSize
			continue
		}
		runEnd := a + pageSize
		for runEnd < end {
			if mm.pages.has(runEnd) {
				break
			}
			runEnd += pageSize
		}
		fr, err := mm.mf.Allocate(runEnd - a)
		if err != nil {
			return err
		}
		if v.file != nil {
			mm.fillFromFile(v, a, fr, false)
		}
		for p := a; p < runEnd; p += pageSize {
			mm.pages.set(p, pte{page: newPhysPage(fr.Start+(p-a), mm.memcg), writable: true})
		}
		a = runEnd
	}
	return nil
}

// populateObjectLocked gives [start, end) of v page-table entries for the
// pages of obj (v's shared object, or the page cache of its file),
// creating (and filling) missing object pages. The entries are writable
// for a shared VMA; a private one copies a page before writing it.
//
// Missing object pages are allocated in runs, one contiguous piece of the
// memory file each, so the mappings of the object take few platform calls.
func (mm *MemoryManager) populateObjectLocked(v *vma, obj *SharedMemory, start, end uint64, writable bool) error {
	obj.mu.Lock()
	defer obj.mu.Unlock()
	missing := func(a uint64) bool {
		if mm.pages.has(a) {
			return false
		}
		_, ok := obj.pages[v.fileOffset(a)]
		return !ok
	}
	for a := start; a < end; {
		if mm.pages.has(a) {
			a += pageSize
			continue
		}
		if pg, ok := obj.pages[v.fileOffset(a)]; ok {
			pg.refs.Add(1)
			mm.pages.set(a, pte{page: pg, writable: writable})
			a += pageSize
			continue
		}
		runEnd := a + pageSize
		for runEnd < end && missing(runEnd) {
			runEnd += pageSize
		}
		alloc, memcg := mm.mf, mm.memcg
		if obj.store != nil {
			alloc, memcg = obj.store, nil
		}
		fr, err := alloc.Allocate(runEnd - a)
		if err != nil {
			return err
		}
		// A file's own object (tmpfs) is the file's data: its missing
		// page is a hole, and reading the file here would take obj.mu
		// again.
		if v.file != nil && !obj.fileData {
			mm.fillFromFile(v, a, fr, true)
		}
		for q := a; q < runEnd; q += pageSize {
			pg := newPhysPage(fr.Start+(q-a), memcg)
			obj.pages[v.fileOffset(q)] = pg
			pg.refs.Add(1)
			mm.pages.set(q, pte{page: pg, writable: writable})
		}
		a = runEnd
	}
	return nil
}

// residentAround is how far either side of a fault in a private file
// mapping its page-cache pages already in memory are mapped too, as
// Linux's filemap_map_pages does within its fault-around window: no file
// is read for them, and a program started again (each exec of a shell's
// commands) takes one fault for its text instead of one per window.
const residentAround = 1 << 20

// adoptResidentLocked gives the unpopulated pages of [start, end) of v
// whose page of obj (v's page cache) is resident entries for those pages,
// shared copy-on-write.
func (mm *MemoryManager) adoptResidentLocked(v *vma, obj *SharedMemory, start, end uint64) {
	obj.mu.RLock()
	defer obj.mu.RUnlock()
	for a := start; a < end; a += pageSize {
		if mm.pages.has(a) {
			continue
		}
		if pg, ok := obj.pages[v.fileOffset(a)]; ok {
			pg.refs.Add(1)
			mm.pages.set(a, pte{page: pg})
		}
	}
}

// fillFromFile reads the file contents backing [addr, addr+fr.Length())
// into fr; bytes past the end of the file stay zero.
func (mm *MemoryManager) fillFromFile(v *vma, addr uint64, fr memfile.Range, cacheLocked bool) {
	mm.filled = true
	buf := mm.mf.Slice(fr)
	off := int64(v.fileOffset(addr))
	read := v.file.ReadAt
	if cf, ok := v.file.(CacheFiller); ok && cacheLocked {
		read = cf.ReadAtUncached
	}
	for len(buf) > 0 {
		n, err := read(buf, off)
		if n <= 0 || err != nil && n == 0 {
			return
		}
		buf = buf[n:]
		off += int64(n)
	}
}

// ptePermsLocked returns what the page of p in v is mapped with: the
// VMA's permissions, less write while the page is shared copy-on-write.
func (mm *MemoryManager) ptePermsLocked(v *vma, p *pte) platform.AccessType {
	if p.writable {
		return v.perms
	}
	return v.perms &^ platform.Write
}

// remapRuns is how many mapped runs of a VMA a change of its pages'
// permissions (fork's write protection, mprotect) maps again; a VMA with
// more is unmapped in one call instead, and its pages fault back in.
const remapRuns = 16

// remapLocked gives the mapped pages of [start, end) of v that match the
// permissions their entries now have (a change of the VMA's, or a page's
// copy-on-write), keeping the memory-file pages they map: one Protect per
// run of consecutive pages on a platform that can (platform.Protector),
// one MapFile per run that is also contiguous in the memory file
// otherwise, or one Unmap of the range when there are more than remapRuns
// runs or the VMA allows no access. The platform may queue the calls; it
// makes them before any thread runs application code again, so no access
// the new permissions refuse succeeds after this.
func (mm *MemoryManager) remapLocked(v *vma, start, end uint64, match func(*pte) bool) {
	if v.perms == 0 {
		mm.unmapPlatformLocked(start, end)
		return
	}
	protector, byRange := mm.as.(platform.Protector)
	type run struct {
		start, end, off uint64
		perms           platform.AccessType
	}
	var runs [remapRuns]run
	n := 0
	err := mm.forEachRunLocked(v, start, end, !byRange, func(_ uint64, p *pte) bool { return p.mapped && match(p) },
		func(a, e uint64, first *pte, perms platform.AccessType) error {
			if n == len(runs) {
				return errStopRuns
			}
			runs[n] = run{a, e, first.page.off, perms}
			n++
			return nil
		})
	if err != nil {
		mm.unmapPlatformLocked(start, end)
		return
	}
	for _, r := range runs[:n] {
		if byRange {
			err = protector.Protect(r.start, r.end-r.start, r.perms)
		} else {
			err = mm.as.MapFile(r.start, memfile.Range{Start: r.off, End: r.off + (r.end - r.start)}, r.perms)
		}
		if err != nil {
			mm.unmapPlatformLocked(start, end)
			return
		}
	}
}

// mapRunsLocked maps the populated, unmapped pages of [start, end) of v
// into the platform address space, one call per run that is contiguous in
// the memory file and has the same permissions. Private pages still shared
// copy-on-write are mapped without write permission.
func (mm *MemoryManager) mapRunsLocked(v *vma, start, end uint64) error {
	return mm.forEachRunLocked(v, start, end, true, func(_ uint64, p *pte) bool { return !p.mapped },
		func(a, e uint64, first *pte, perms platform.AccessType) error {
			if err := mm.as.MapFile(a, memfile.Range{Start: first.page.off, End: first.page.off + (e - a)}, perms); err != nil {
				return err
			}
			for q := a; q < e; q += pageSize {
				mm.pages.get(q).mapped = true
			}
			return nil
		})
}
