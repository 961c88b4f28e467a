package mm

import (
	"sort"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// NewPageCache returns an object caching the pages of a file that lives
// elsewhere (a gofer file): every MAP_SHARED mapping of the file uses it,
// so processes mapping the file share pages, and a missing page is filled
// from the file when first faulted. The file writes the pages back (see
// WriteBacker). It holds one reference for the caller.
func NewPageCache() *SharedMemory {
	return newSharedMemory()
}

// WriteBacker is implemented by Mappables whose shared object is a page
// cache of a file elsewhere: msync(2) and unmapping call WriteBack with
// the object range [off, off+length) the mapping covered.
type WriteBacker interface {
	WriteBack(obj *SharedMemory, off, length uint64)
}

// CacheFiller is implemented by WriteBackers whose ReadAt consults the
// page cache: faults fill missing cache pages through ReadAtUncached, which
// reads the file itself (the cache is locked then).
type CacheFiller interface {
	ReadAtUncached(p []byte, off int64) (int, error)
}

// EachPage calls fn, in offset order, for every page of the object in
// [off, off+length) with the page's contents; the object is locked
// shared meanwhile, so fn must not fault on this object.
func (s *SharedMemory) EachPage(mf *memfile.File, off, length uint64, fn func(off uint64, data []byte)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	offs := make([]uint64, 0, len(s.pages))
	for o := range s.pages {
		if o >= off && o < off+length {
			offs = append(offs, o)
		}
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	for _, o := range offs {
		p := s.pages[o]
		fn(o, mf.Slice(memfile.Range{Start: p.off, End: p.off + pageSize}))
	}
}

// writeBack writes a shared mapping's pages back to its file, if the file
// caches them for a file elsewhere.
func (v *vma) writeBack(start, end uint64) {
	if v.shared == nil || v.file == nil {
		return
	}
	if wb, ok := v.file.(WriteBacker); ok {
		wb.WriteBack(v.shared, v.fileOffset(start), end-start)
	}
}

// OverlayResident copies the object's pages that overlap [off,
// off+len(dst)) over dst: a read of the file sees what shared mappings
// wrote before it reached the file.
func (s *SharedMemory) OverlayResident(mf *memfile.File, dst []byte, off int64) {
	s.eachOverlap(mf, off, len(dst), false, func(page []byte, pageOff, bufOff, n int) {
		copy(dst[bufOff:bufOff+n], page[pageOff:pageOff+n])
	})
}

// UpdateResident copies src over the object's pages it overlaps: a
// write(2) to the file shows in shared mappings at once.
func (s *SharedMemory) UpdateResident(mf *memfile.File, src []byte, off int64) {
	s.eachOverlap(mf, off, len(src), true, func(page []byte, pageOff, bufOff, n int) {
		copy(page[pageOff:pageOff+n], src[bufOff:bufOff+n])
	})
}

// eachOverlap calls fn for each resident page overlapping [off, off+n)
// with the page, the offset in it, the offset in the buffer and the
// length of the overlap.
func (s *SharedMemory) eachOverlap(mf *memfile.File, off int64, n int, write bool, fn func(page []byte, pageOff, bufOff, n int)) {
	if n <= 0 || off < 0 {
		return
	}
	if write {
		s.mu.Lock()
		defer s.mu.Unlock()
	} else {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	if len(s.pages) == 0 {
		return
	}
	end := off + int64(n)
	for p := off &^ (pageSize - 1); p < end; p += pageSize {
		pg, ok := s.pages[uint64(p)]
		if !ok {
			continue
		}
		from, to := max(p, off), min(p+pageSize, end)
		page := mf.Slice(memfile.Range{Start: pg.off, End: pg.off + pageSize})
		fn(page, int(from-p), int(from-off), int(to-from))
	}
}
