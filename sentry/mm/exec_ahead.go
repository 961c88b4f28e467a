package mm

import "github.com/cocoonrt/cocoon/sentry/platform"

// Mapping a new program ahead.
//
// A program execve just loaded has nothing mapped in its platform address
// space, and the first touch of each page is a fault. Where a fault is a
// round trip to the sentry (systrap on a VM: 150-300 µs, against about a
// microsecond to copy a page), a small static program took a dozen of them
// to reach main: its text, its read-only data, its ELF headers (read
// through AT_PHDR), each page of .data and .got it writes (copy-on-write,
// one fault each) and its .bss. So the loader has each segment populated
// and mapped before the program first runs, and the platform makes the
// mappings in the call that starts it:
//
//   - The file pages of a read-only or executable segment come from the
//     page cache, read for a segment of at most aheadReadSpan, only those
//     already resident for a longer one (a large program's text, mostly
//     never run). They stay shared with the cache, as a fault leaves them.
//   - The file pages of a writable segment are read, and for the program
//     itself (not its interpreter) copied and mapped writable: a program
//     writes its data and relocations at once. A fault would map them
//     copy-on-write, so that a page not yet written keeps showing the
//     file's changes, but the program's file cannot change while it runs
//     (execve denies writing it: ETXTBSY).
//   - Anonymous memory (.bss) is allocated, zeroed and mapped.
//   - The vDSO's pages are mapped: the C library reads its ELF header at
//     start-up.
//
// Everything is bounded per segment, and failures are ignored: the
// program then faults the pages in, as it would have.
const (
	aheadReadSpan     = 256 << 10
	aheadResidentSpan = 2 << 20
	aheadPrivateSpan  = 128 << 10
)

// MapProgramAhead populates and maps [start, end), a segment execve just
// mapped for a program, as described above; program says whether the
// segment is the program's own (its writable file pages are then copied).
func (mm *MemoryManager) MapProgramAhead(start, end uint64, program bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	defer mm.notePeakLocked()
	for i := mm.findLocked(start); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		v := mm.vmas[i]
		if v.perms == 0 || v.shared != nil {
			continue
		}
		s, e := max(v.start, start), min(v.end, end)
		if !mm.mapSegmentAheadLocked(v, s, e, program) {
			return
		}
	}
}

// mapSegmentAheadLocked does MapProgramAhead's work for [start, end) of v, and
// reports whether it succeeded.
func (mm *MemoryManager) mapSegmentAheadLocked(v *vma, start, end uint64, program bool) bool {
	if v.file != nil {
		limit, ok := fileLimit(v)
		if !ok {
			return false
		}
		end = min(end, limit)
	}
	if v.cache == nil {
		end = min(end, start+aheadPrivateSpan)
		return mm.populatePrivateLocked(v, start, end) == nil && mm.mapRunsLocked(v, start, end) == nil
	}
	// A page cache, or a kernel object's pages (the vDSO's).
	copyData := program && v.file != nil && v.perms&platform.Write != 0
	switch {
	case end-start <= aheadReadSpan && (!copyData || end-start <= aheadPrivateSpan):
		if err := mm.populateObjectLocked(v, v.cache, start, end, false); err != nil {
			return false
		}
	case copyData:
		// Too much to copy: the pages fault in as they are written.
		return true
	default:
		end = min(end, start+aheadResidentSpan)
		mm.adoptResidentLocked(v, v.cache, start, end)
	}
	if copyData {
		for a := start; a < end; a += pageSize {
			if p, ok := mm.pages.lookup(a); ok && !p.writable {
				if mm.breakCOWLocked(v, a, p) != nil {
					return false
				}
			}
		}
	}
	return mm.mapRunsLocked(v, start, end) == nil
}
