package mm

import (
	"errors"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Runs of pages. Mapping pages into the platform is done a run at a time:
// consecutive pages that are contiguous in the memory file and mapped with
// the same permissions take one platform call (for a change of
// permissions, where the platform can, consecutive pages whatever backs
// them: platform.Protector). Finding the runs must cost
// what the populated pages cost, not what the address range does: a
// process may reserve gigabytes and touch a few pages of them (a JVM's
// heap, a malloc arena), and a walk of the range page by page made a fork
// of such a process, or an mprotect of the reservation, take milliseconds
// per gigabyte.

// errStopRuns ends a forEachRunLocked walk early without an error for its
// caller.
var errStopRuns = errors.New("stop")

// forEachRunLocked calls fn for each run of the populated pages of
// [start, end) of v that include selects: consecutive pages that v maps
// with the same permissions and, when byFrame is set, that are contiguous
// in the memory file, in address order. first is the run's first page. It
// returns fn's first error; fn may change the entries of its own run.
func (mm *MemoryManager) forEachRunLocked(v *vma, start, end uint64, byFrame bool, include func(addr uint64, p *pte) bool, fn func(start, end uint64, first *pte, perms platform.AccessType) error) error {
	var (
		runStart, runEnd uint64
		first            *pte
		perms            platform.AccessType
		err              error
	)
	flush := func() bool {
		if first != nil {
			err = fn(runStart, runEnd, first, perms)
			first = nil
		}
		return err == nil
	}
	mm.pages.eachIn(start, end, func(a uint64, p *pte) bool {
		if !include(a, p) {
			return true
		}
		pp := mm.ptePermsLocked(v, p)
		if first != nil && a == runEnd && (!byFrame || p.page.off == first.page.off+(a-runStart)) && pp == perms {
			runEnd += pageSize
			return true
		}
		if !flush() {
			return false
		}
		runStart, runEnd, first, perms = a, a+pageSize, p, pp
		return true
	})
	if err == nil {
		flush()
	}
	return err
}
