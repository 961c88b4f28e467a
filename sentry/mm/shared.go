package mm

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// SharedMappable is implemented by Mappables whose contents live in a
// SharedMemory object (tmpfs files). mmap(MAP_SHARED) of such a file maps
// the object itself, so every process mapping the file, and read(2) and
// write(2) of it, use the very same pages. Private mappings copy from the
// file through ReadAt as for any other file.
//
// A Mappable that wraps another one (the syscall layer's mapped-file
// wrapper) forwards SharedMemory; a nil result means "no shared object",
// and the mapping gets a fresh one as for other files.
type SharedMappable interface {
	Mappable
	SharedMemory() *SharedMemory
}

// sharedObjectOf returns the file's own shared object, or nil.
func sharedObjectOf(m Mappable) *SharedMemory {
	if sm, ok := m.(SharedMappable); ok {
		return sm.SharedMemory()
	}
	return nil
}

// NewSharedMemory returns an empty object holding a file's data, with one
// reference for the caller. Missing pages are holes: they read as zeroes,
// and a fault of a mapping of the file allocates a zeroed page.
//
// Truncate and Punch unmap the pages they drop from every address space
// that maps the object (truncate.go).
func NewSharedMemory() *SharedMemory {
	s := newSharedMemory()
	s.fileData = true
	return s
}

// NewSharedMemoryOnDisk is NewSharedMemory for a file whose pages, the
// ones faults of its shared mappings allocate included, come from store,
// the memory file's store. The caller passes store as the memory file to
// the object's methods too.
func NewSharedMemoryOnDisk(store *memfile.File) *SharedMemory {
	s := NewSharedMemory()
	s.store = store
	return s
}

// IncRef takes a reference on the object.
func (s *SharedMemory) IncRef() { s.incRef() }

// Refs returns the number of references: the owning file's and one per
// mapping that uses the object.
func (s *SharedMemory) Refs() int32 { return s.refs.Load() }

// DecRef drops a reference; the last one returns the object's pages to mf
// (pages still mapped somewhere stay until their mappings go).
func (s *SharedMemory) DecRef(mf *memfile.File) { s.decRef(mf) }

// pageSpan returns the page offsets [first, end) covering [off, off+n).
func pageSpan(off, n int64) (first, end uint64) {
	first = uint64(off) &^ (pageSize - 1)
	end = (uint64(off) + uint64(n) + pageSize - 1) &^ (pageSize - 1)
	return first, end
}

// pageBytes returns the sentry's view of page pg.
func pageBytes(mf *memfile.File, pg *physPage) []byte {
	return mf.Slice(memfile.Range{Start: pg.off, End: pg.off + pageSize})
}

// ReadAt copies the object's bytes at off into dst; holes read as zeroes
// and allocate nothing. It always reads len(dst) bytes: the object has no
// size, the file system clips reads to the file's.
func (s *SharedMemory) ReadAt(mf *memfile.File, dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	done := 0
	for done < len(dst) {
		o := uint64(off) + uint64(done)
		pageOff := o &^ (pageSize - 1)
		pg, ok := s.pages[pageOff]
		if !ok {
			chunk := dst[done:min(len(dst), done+int(pageSize-(o-pageOff)))]
			clear(chunk)
			done += len(chunk)
			continue
		}
		// A long run of pages that lie one after the other in the
		// memory file is read with pread(2): the host copies from its
		// page cache, where a copy through the sentry's mapping takes a
		// host page fault on each page it touches first (15-25 µs under
		// shadow paging), and on this VM costs more even when warm.
		runEnd := pageOff + pageSize
		want := uint64(off) + uint64(len(dst))
		for runEnd < want {
			next, ok := s.pages[runEnd]
			if !ok || next.off != pg.off+(runEnd-pageOff) {
				break
			}
			runEnd += pageSize
		}
		n := int(min(runEnd, want) - o)
		if runEnd-pageOff >= preadRun {
			if err := mf.ReadFull(dst[done:done+n], pg.off+(o-pageOff)); err == nil {
				done += n
				continue
			}
		}
		for end := done + n; done < end; {
			o := uint64(off) + uint64(done)
			pageOff := o &^ (pageSize - 1)
			done += copy(dst[done:end], pageBytes(mf, s.pages[pageOff])[o-pageOff:])
		}
	}
	return done, nil
}

// preadRun is the shortest run of pages ReadAt reads with pread(2).
const preadRun = 4 * pageSize

// WriteAt copies src into the object at off, allocating the missing pages
// uncharged (the sandbox's own objects: the vDSO). When the memory file is
// exhausted it returns the bytes written before the first page it could
// not allocate and unix.ENOSPC.
func (s *SharedMemory) WriteAt(mf *memfile.File, src []byte, off int64) (int, error) {
	return s.WriteAtCharged(mf, src, off, nil)
}

// WriteAtCharged is WriteAt with the pages it allocates charged to ch
// (nil: to nobody); the caller releases what is left of ch.
func (s *SharedMemory) WriteAtCharged(mf *memfile.File, src []byte, off int64, ch *Precharge) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if len(src) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first, end := pageSpan(off, int64(len(src)))
	// The pages this write allocates are written with pwrite(2) on the
	// memory file rather than copied through its mapping: the host
	// kernel fills its own page cache, where a copy would take a host
	// page fault on the first touch of every page of the mapping (15-25
	// µs each under shadow paging, several times the copy).
	var fresh []bool
	for o := first; o < end; o += pageSize {
		if _, ok := s.pages[o]; !ok {
			if fresh == nil {
				fresh = make([]bool, (end-first)/pageSize)
			}
			fresh[(o-first)/pageSize] = true
		}
	}
	allocErr := s.allocateLocked(mf, first, end, ch)
	done := 0
	for done < len(src) {
		o := uint64(off) + uint64(done)
		pageOff := o &^ (pageSize - 1)
		pg, ok := s.pages[pageOff]
		if !ok {
			// allocateLocked stopped here.
			return done, allocErr
		}
		if fresh == nil || !fresh[(pageOff-first)/pageSize] {
			done += copy(pageBytes(mf, pg)[o-pageOff:], src[done:])
			continue
		}
		// The run of new pages that lie one after the other in the
		// memory file.
		runEnd := pageOff + pageSize
		for runEnd < end && fresh[(runEnd-first)/pageSize] {
			next, ok := s.pages[runEnd]
			if !ok || next.off != pg.off+(runEnd-pageOff) {
				break
			}
			runEnd += pageSize
		}
		n := int(min(runEnd-o, uint64(len(src)-done)))
		if err := mf.WriteNew(src[done:done+n], pg.off+(o-pageOff)); err != nil {
			// The memory file is this process's own: fall back to
			// the copy.
			n = copy(pageBytes(mf, pg)[o-pageOff:], src[done:])
		}
		done += n
	}
	return done, nil
}

// Allocate makes sure every page of [off, off+length) is present
// (fallocate(2) without flags or with FALLOC_FL_KEEP_SIZE), allocating
// uncharged pages. On ENOSPC the pages allocated before the failure stay.
func (s *SharedMemory) Allocate(mf *memfile.File, off, length int64) error {
	return s.AllocateCharged(mf, off, length, nil)
}

// AllocateCharged is Allocate with the pages it allocates charged to ch
// (nil: to nobody); the caller releases what is left of ch.
func (s *SharedMemory) AllocateCharged(mf *memfile.File, off, length int64, ch *Precharge) error {
	if off < 0 || length < 0 {
		return unix.EINVAL
	}
	if length == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first, end := pageSpan(off, length)
	return s.allocateLocked(mf, first, end, ch)
}

// allocateLocked allocates the missing pages of the page offsets
// [first, end) in ascending order, one memory file range per run of
// missing pages where possible, and returns ENOSPC at the first page it
// cannot allocate. The new pages are charged to ch.
func (s *SharedMemory) allocateLocked(mf *memfile.File, first, end uint64, ch *Precharge) error {
	for o := first; o < end; {
		if _, ok := s.pages[o]; ok {
			o += pageSize
			continue
		}
		runEnd := o + pageSize
		for runEnd < end {
			if _, ok := s.pages[runEnd]; ok {
				break
			}
			runEnd += pageSize
		}
		fr, err := mf.Allocate(runEnd - o)
		if err != nil {
			// The file may be too fragmented for the run: go page by
			// page.
			if fr, err = mf.Allocate(pageSize); err != nil {
				return allocError(err)
			}
			s.pages[o] = ch.newPage(fr.Start)
			o += pageSize
			continue
		}
		for p := o; p < runEnd; p += pageSize {
			s.pages[p] = ch.newPage(fr.Start + (p - o))
		}
		o = runEnd
	}
	return nil
}

func allocError(err error) error {
	if errors.Is(err, memfile.ErrNoMemory) {
		return unix.ENOSPC
	}
	return err
}

// Missing returns how many bytes of pages in the page-rounded range
// [off, off+length) are not present, that is what writing or allocating
// the range would allocate.
func (s *SharedMemory) Missing(off, length int64) int64 {
	if off < 0 || length <= 0 {
		return 0
	}
	first, end := pageSpan(off, length)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	if (end-first)/pageSize > uint64(len(s.pages)) {
		for o := range s.pages {
			if o >= first && o < end {
				n++
			}
		}
		return int64(end-first) - n*pageSize
	}
	for o := first; o < end; o += pageSize {
		if _, ok := s.pages[o]; !ok {
			n += pageSize
		}
	}
	return n
}

// Truncate drops the pages wholly at or past size, unmapping them from
// every address space that maps them (truncate.go), and zeroes the bytes
// of the last partial page from size on, so a later extension of the file
// reads zeroes there.
func (s *SharedMemory) Truncate(mf *memfile.File, size int64) {
	if size < 0 {
		size = 0
	}
	keep := (uint64(size) + pageSize - 1) &^ (pageSize - 1)
	s.mu.Lock()
	for o, pg := range s.pages {
		if o >= keep {
			pg.decRef(mf)
			delete(s.pages, o)
		}
	}
	if tail := uint64(size) % pageSize; tail != 0 {
		if pg, ok := s.pages[uint64(size)-tail]; ok {
			clear(pageBytes(mf, pg)[tail:])
		}
	}
	s.mu.Unlock()
	s.unmapRange(keep, ^uint64(0), true, nil)
}

// Punch makes [off, off+length) a hole (FALLOC_FL_PUNCH_HOLE): pages wholly
// inside are dropped (and unmapped where they are mapped, truncate.go),
// the parts of partial pages at either end are zeroed.
func (s *SharedMemory) Punch(mf *memfile.File, off, length int64) {
	if off < 0 || length <= 0 {
		return
	}
	start, end := uint64(off), uint64(off)+uint64(length)
	if end < start {
		end = ^uint64(0)
	}
	dropped := map[*physPage]struct{}{}
	s.mu.Lock()
	// Whole pages inside [start, end).
	firstWhole := (start + pageSize - 1) &^ (pageSize - 1)
	endWhole := end &^ (pageSize - 1)
	if firstWhole < endWhole {
		if (endWhole-firstWhole)/pageSize > uint64(len(s.pages)) {
			for o, pg := range s.pages {
				if o >= firstWhole && o < endWhole {
					dropped[pg] = struct{}{}
					pg.decRef(mf)
					delete(s.pages, o)
				}
			}
		} else {
			for o := firstWhole; o < endWhole; o += pageSize {
				if pg, ok := s.pages[o]; ok {
					dropped[pg] = struct{}{}
					pg.decRef(mf)
					delete(s.pages, o)
				}
			}
		}
	}
	// Partial pages at the edges.
	zero := func(pageOff, from, to uint64) {
		if pg, ok := s.pages[pageOff]; ok {
			clear(pageBytes(mf, pg)[from:to])
		}
	}
	headPage := start &^ (pageSize - 1)
	if start%pageSize != 0 {
		zero(headPage, start-headPage, min(end-headPage, pageSize))
	}
	if end%pageSize != 0 {
		// Unless the head case above already covered a range within
		// one page.
		if tailPage := end &^ (pageSize - 1); start%pageSize == 0 || tailPage != headPage {
			zero(tailPage, max(start, tailPage)-tailPage, end-tailPage)
		}
	}
	s.mu.Unlock()
	if len(dropped) > 0 {
		s.unmapRange(firstWhole, endWhole, false, dropped)
	}
}

// Resident returns the bytes of memory the object holds.
func (s *SharedMemory) Resident() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return uint64(len(s.pages)) * pageSize
}
