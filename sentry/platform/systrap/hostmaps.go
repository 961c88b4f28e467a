package systrap

import (
	"github.com/google/btree"
	"golang.org/x/sys/unix"
)

// The host mappings of a stub process, kept across recycling.
//
// A server that forks a child per request has each child's address space
// recycled for the next child (recycle.go), which maps the same program
// at the same addresses from the same memory-file pages: its text, its
// read-only data, the parent's patched pages and trap table. Emptying the
// process with one munmap and mapping the next child run by run cost the
// host ~100 µs and ~40 mmaps per request (busybox httpd), and the child
// then took a host page fault for each page it touched again. So the
// platform records every mapping it makes below stubStart, a recycled
// process keeps them, an mmap its next address space asks for that is
// already there is not made again, and the kept mappings nobody asked
// for are unmapped before application code next runs (beginRun).
//
// Keeping them is safe because no thread of the process can run
// application code between the old address space's release and the
// purge: release keeps them only once every application thread has
// exited (recycle.go), and the threads that stay never run application
// code. The memory-file pages they map may be freed and reused meanwhile;
// the new address space either maps the same page at the same place
// itself or gets it unmapped before it runs.

// hostMapping is one mapping of the memory file in a stub process.
type hostMapping struct {
	start, end uint64
	// fd and off are the file and offset mapped at start.
	fd, off uintptr
	prot    uintptr
	// kept is set for a mapping the process's previous address space
	// made that the current one has not asked for.
	kept bool
}

// hostMaps is the exact set of a stub process's mappings below stubStart,
// as they will be once the queued edits are made. The tree holds
// pointers, keyed by start, so that marking and claiming change entries in
// place.
type hostMaps struct {
	t *btree.BTreeG[*hostMapping]
	// lost is set when an edit may not have been made as recorded (a
	// request failed): the set no longer says what the process maps,
	// and the process is emptied before it serves anyone else.
	lost bool
	// kept counts the kept mappings.
	kept int
}

func newHostMaps() hostMaps {
	return hostMaps{t: btree.NewG(8, func(a, b *hostMapping) bool { return a.start < b.start })}
}

// apply records op, an edit queued for the process.
func (m *hostMaps) apply(op editOp) {
	start, length := uint64(op.args[0]), uint64(op.args[1])
	end := start + length
	switch op.nr {
	case unix.SYS_MMAP:
		m.carve(start, end)
		m.t.ReplaceOrInsert(&hostMapping{start: start, end: end, fd: op.args[4], off: op.args[5], prot: op.args[2]})
	case unix.SYS_MUNMAP:
		m.carve(start, end)
	case unix.SYS_MPROTECT:
		for _, e := range m.split(start, end) {
			e.prot = op.args[2]
		}
	default:
		m.lost = true
	}
}

// claim reports whether the mmap op is already made: the mappings
// covering its range map the same file pages with the same protection.
// The kept ones among them become the current address space's.
func (m *hostMaps) claim(op editOp) bool {
	if op.nr != unix.SYS_MMAP || m.lost {
		return false
	}
	start, end := uint64(op.args[0]), uint64(op.args[0])+uint64(op.args[1])
	fd, off, prot := op.args[4], op.args[5], op.args[2]
	at := start
	m.overlapping(start, end, func(e *hostMapping) bool {
		if e.start > at || e.fd != fd || e.prot != prot || e.off+uintptr(at-e.start) != off+uintptr(at-start) {
			return false
		}
		at = e.end
		return at < end
	})
	if at < end {
		return false
	}
	for _, e := range m.split(start, end) {
		if e.kept {
			e.kept = false
			m.kept--
		}
	}
	return true
}

// keepAll marks every mapping kept: the process is recycled with them.
func (m *hostMaps) keepAll() {
	m.kept = 0
	m.t.Ascend(func(e *hostMapping) bool {
		e.kept = true
		m.kept++
		return true
	})
}

// purgeKept forgets the kept mappings and returns the munmaps that remove
// them: one per stretch of them with no current mapping in between.
func (m *hostMaps) purgeKept() []editOp {
	if m.kept == 0 {
		return nil
	}
	var (
		ops        []editOp
		gone       []*hostMapping
		start, end uint64
	)
	flush := func() {
		if end > start {
			ops = append(ops, munmapOp(start, end-start))
		}
		start, end = 0, 0
	}
	m.t.Ascend(func(e *hostMapping) bool {
		if !e.kept {
			flush()
			return true
		}
		gone = append(gone, e)
		if end == start {
			start = e.start
		}
		end = e.end
		return true
	})
	flush()
	for _, e := range gone {
		m.t.Delete(e)
	}
	m.kept = 0
	return ops
}

// clear records that the process maps nothing below stubStart.
func (m *hostMaps) clear() {
	m.t.Clear(false)
	m.kept, m.lost = 0, false
}

// overlapping calls fn, in address order, for the mappings that overlap
// [start, end), until fn returns false.
func (m *hostMaps) overlapping(start, end uint64, fn func(*hostMapping) bool) {
	more := true
	m.t.DescendLessOrEqual(&hostMapping{start: start}, func(e *hostMapping) bool {
		if e.end > start {
			more = fn(e)
		}
		return false
	})
	if !more {
		return
	}
	m.t.AscendRange(&hostMapping{start: start + 1}, &hostMapping{start: end}, fn)
}

// split cuts the mappings that overlap [start, end) at start and end and
// returns the pieces inside, which stay in the set. An entry keeps its
// key: the piece it becomes starts where it did.
func (m *hostMaps) split(start, end uint64) []*hostMapping {
	var in []*hostMapping
	m.overlapping(start, end, func(e *hostMapping) bool {
		in = append(in, e)
		return true
	})
	for i, e := range in {
		if e.end > end {
			right := *e
			right.start, right.off = end, e.off+uintptr(end-e.start)
			e.end = end
			m.add(&right)
		}
		if e.start < start {
			mid := *e
			mid.start, mid.off = start, e.off+uintptr(start-e.start)
			e.end = start
			m.add(&mid)
			in[i] = &mid
		}
	}
	return in
}

// add inserts a piece split off an entry.
func (m *hostMaps) add(e *hostMapping) {
	m.t.ReplaceOrInsert(e)
	if e.kept {
		m.kept++
	}
}

// carve removes [start, end) from the mappings.
func (m *hostMaps) carve(start, end uint64) {
	for _, e := range m.split(start, end) {
		m.t.Delete(e)
		if e.kept {
			m.kept--
		}
	}
}
