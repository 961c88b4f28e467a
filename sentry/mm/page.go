package mm

import (
	"sync"
	"sync/atomic"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// physPage is one page of the memory file, shared by every page-table entry
// (in any address space) and shared-memory object that refers to it.
type physPage struct {
	// off is the page's offset in the memory file; immutable.
	off uint64
	// refs counts the holders; the page returns to the memory file when
	// it drops to zero.
	refs atomic.Int32
}

func newPhysPage(off uint64) *physPage {
	p := &physPage{off: off}
	p.refs.Store(1)
	return p
}

// decRef drops a reference and frees the page with the last one.
func (p *physPage) decRef(mf *memfile.File) {
	if p.refs.Add(-1) == 0 {
		mf.Release(memfile.Range{Start: p.off, End: p.off + pageSize})
	}
}

// exclusive reports whether the caller holds the only reference.
func (p *physPage) exclusive() bool { return p.refs.Load() == 1 }

// pte is one page of an address space.
type pte struct {
	page *physPage
	// mapped is set while the page is mapped in the platform address space.
	mapped bool
	// writable is set when the page may be mapped writable: always for
	// shared memory whose VMA allows writes, and for private memory only
	// once the page is this address space's own (copy-on-write broken).
	writable bool
}

// sharedMemory backs MAP_SHARED mappings: the pages belong to the object,
// so every mapping of it, in this address space or in a forked one, sees
// the same memory.
type sharedMemory struct {
	refs atomic.Int32

	// mu protects pages.
	mu sync.Mutex
	// pages maps an offset in the object to its page.
	pages map[uint64]*physPage
}

func newSharedMemory() *sharedMemory {
	s := &sharedMemory{pages: make(map[uint64]*physPage)}
	s.refs.Store(1)
	return s
}

func (s *sharedMemory) incRef() { s.refs.Add(1) }

func (s *sharedMemory) decRef(mf *memfile.File) {
	if s.refs.Add(-1) != 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for off, p := range s.pages {
		p.decRef(mf)
		delete(s.pages, off)
	}
}

// discard drops the object's pages in [start, end) of its offsets
// (MADV_REMOVE-like; used when a shared file page must be re-read).
func (s *sharedMemory) discard(mf *memfile.File, start, end uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for off, p := range s.pages {
		if off >= start && off < end {
			p.decRef(mf)
			delete(s.pages, off)
		}
	}
}
