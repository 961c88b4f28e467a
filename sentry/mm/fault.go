package mm

import (
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
}

// HandleFault serves a page fault at addr. access is the faulting access
// when the platform knows it, or 0.
func (mm *MemoryManager) HandleFault(addr uint64, access platform.AccessType) FaultResult {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	v := mm.vmaAtLocked(addr)
	if v == nil {
		if v = mm.growStackLocked(addr); v == nil {
			return FaultResult{int(unix.SIGSEGV), SegvMapErr}
		}
	}
	if v.perms == 0 || access&^permsImplied(v.perms) != 0 {
		return FaultResult{int(unix.SIGSEGV), SegvAccErr}
	}
	if pg, ok := mm.pages[arch.PageRoundDown(addr)]; ok && pg.mapped {
		// The page is mapped with the VMA's permissions and the hardware
		// still refused: the access is not allowed.
		return FaultResult{int(unix.SIGSEGV), SegvAccErr}
	}
	signo, code, err := mm.populateLocked(v, addr)
	if err != nil {
		// Out of memory: Linux's OOM path kills; SIGBUS is what a
		// failed fault of a mapping delivers.
		return FaultResult{int(unix.SIGBUS), BusAdrErr}
	}
	return FaultResult{signo, code}
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
		size, err := v.file.Size()
		if err != nil {
			return int(unix.SIGBUS), BusAdrErr, nil
		}
		fileEnd, _ := arch.PageRoundUp(uint64(size))
		if v.fileOffset(arch.PageRoundDown(addr)) >= fileEnd {
			return int(unix.SIGBUS), BusAdrErr, nil
		}
		if limit := v.start + (fileEnd - v.off); fileEnd > v.off && limit < end {
			end = limit
		}
	}
	// Allocate the missing pages in runs, so each run is one contiguous
	// piece of the memory file.
	for a := start; a < end; {
		if _, ok := mm.pages[a]; ok {
			a += pageSize
			continue
		}
		runEnd := a + pageSize
		for runEnd < end {
			if _, ok := mm.pages[runEnd]; ok {
				break
			}
			runEnd += pageSize
		}
		fr, err := mm.mf.Allocate(runEnd - a)
		if err != nil {
			return 0, 0, err
		}
		if v.file != nil {
			mm.fillFromFile(v, a, fr)
		}
		for p := a; p < runEnd; p += pageSize {
			mm.pages[p] = &page{off: fr.Start + (p - a)}
		}
		a = runEnd
	}
	return 0, 0, mm.mapRunsLocked(start, end, v.perms)
}

// fillFromFile reads the file contents backing [addr, addr+fr.Length())
// into fr; bytes past the end of the file stay zero.
func (mm *MemoryManager) fillFromFile(v *vma, addr uint64, fr memfile.Range) {
	buf := mm.mf.Slice(fr)
	off := int64(v.fileOffset(addr))
	for len(buf) > 0 {
		n, err := v.file.ReadAt(buf, off)
		if n <= 0 || err != nil && n == 0 {
			return
		}
		buf = buf[n:]
		off += int64(n)
	}
}

// mapRunsLocked maps the populated, unmapped pages of [start, end) into the
// platform address space, one call per run contiguous in the memory file.
func (mm *MemoryManager) mapRunsLocked(start, end uint64, perms platform.AccessType) error {
	for a := start; a < end; {
		pg, ok := mm.pages[a]
		if !ok || pg.mapped {
			a += pageSize
			continue
		}
		runEnd := a + pageSize
		for runEnd < end {
			next, ok := mm.pages[runEnd]
			if !ok || next.mapped || next.off != pg.off+(runEnd-a) {
				break
			}
			runEnd += pageSize
		}
		if err := mm.as.MapFile(a, memfile.Range{Start: pg.off, End: pg.off + (runEnd - a)}, perms); err != nil {
			return err
		}
		for p := a; p < runEnd; p += pageSize {
			mm.pages[p].mapped = true
		}
		a = runEnd
	}
	return nil
}
