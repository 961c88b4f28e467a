package mm

import (
	"errors"
	"slices"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Runs of pages. Mapping pages into the platform is done a run at a time:
// consecutive pages that are contiguous in the memory file and mapped with
// the same permissions take one platform call. Finding the runs must cost
// what the populated pages cost, not what the address range does: a
// process may reserve gigabytes and touch a few pages of them (a JVM's
// heap, a malloc arena), and a walk of the range page by page made a fork
// of such a process, or an mprotect of the reservation, take milliseconds
// per gigabyte.

// pagesInLocked returns the addresses of the populated pages in
// [start, end), in ascending order, walking whichever of the range and
// the page table is smaller.
func (mm *MemoryManager) pagesInLocked(start, end uint64) []uint64 {
	if end <= start {
		return nil
	}
	if (end-start)/pageSize <= uint64(len(mm.pages)) {
		var addrs []uint64
		for a := start; a < end; a += pageSize {
			if _, ok := mm.pages[a]; ok {
				addrs = append(addrs, a)
			}
		}
		return addrs
	}
	var addrs []uint64
	for a := range mm.pages {
		if a >= start && a < end {
			addrs = append(addrs, a)
		}
	}
	slices.Sort(addrs)
	return addrs
}

// errStopRuns ends a forEachRunLocked walk early without an error for its
// caller.
var errStopRuns = errors.New("stop")

// forEachRunLocked calls fn for each run of the pages of v at addrs
// (ascending, all populated) that include selects: consecutive pages,
// contiguous in the memory file, that v maps with the same permissions.
// first is the run's first page. It returns fn's first error; fn may
// change the entries of its own run.
func (mm *MemoryManager) forEachRunLocked(v *vma, addrs []uint64, include func(addr uint64, p *pte) bool, fn func(start, end uint64, first *pte, perms platform.AccessType) error) error {
	i := 0
	next := func() (uint64, *pte, bool) {
		for i < len(addrs) {
			a := addrs[i]
			i++
			if p := mm.pages[a]; include(a, p) {
				return a, p, true
			}
		}
		return 0, nil, false
	}
	a, p, ok := next()
	for ok {
		perms := mm.ptePermsLocked(v, p)
		e := a + pageSize
		var na uint64
		var np *pte
		for {
			na, np, ok = next()
			if !ok || na != e || np.page.off != p.page.off+(e-a) || mm.ptePermsLocked(v, np) != perms {
				break
			}
			e += pageSize
		}
		if err := fn(a, e, p, perms); err != nil {
			return err
		}
		a, p = na, np
	}
	return nil
}
