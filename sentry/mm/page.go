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
	// memcg is the account the page is charged to (nil: none);
	// immutable.
	memcg *MemCgroup
}

// newPhysPage returns the page at off with one reference, charged to memcg
// (which may be nil).
func newPhysPage(off uint64, memcg *MemCgroup) *physPage {
	p := &physPage{off: off, memcg: memcg}
	p.refs.Store(1)
	memcg.charge(1)
	return p
}

// decRef drops a reference and frees the page with the last one.
func (p *physPage) decRef(mf *memfile.File) {
	if p.refs.Add(-1) == 0 {
		p.memcg.uncharge(1)
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

// SharedMemory backs MAP_SHARED mappings: the pages belong to the object,
// so every mapping of it, in this address space or in a forked one, sees
// the same memory. An anonymous shared mapping gets a fresh object; a file
// system keeps a regular file's data in one (see shared.go), and every
// MAP_SHARED mapping of that file uses the file's object.
type SharedMemory struct {
	refs atomic.Int32

	// fileData is set on objects that hold a file's data (NewSharedMemory):
	// a page missing from such an object is a hole of the file and reads
	// as zeroes, so faults never fill it from the file.
	fileData bool
	// store, when set, is the memory file's store (memfile.AttachStore)
	// the object's pages come from: a file of the container root's
	// writable layer, whose pages are the node's disk, not the pod's
	// memory, and are charged to no memory cgroup. Immutable.
	store *memfile.File

	// mu protects pages (and the contents of the pages against truncation
	// while the sentry copies them). Faults and writes take it exclusively,
	// reads shared.
	mu sync.RWMutex
	// pages maps an offset in the object (a multiple of the page size) to
	// its page. The object holds one reference on each.
	pages map[uint64]*physPage

	// mappersMu protects mappers: the address spaces with VMAs of the
	// object, with their VMA counts, so that truncation can unmap the
	// pages it drops from every one of them (truncate.go). It is taken
	// with nothing else held, or under MemoryManager.mu.
	mappersMu sync.Mutex
	mappers   map[*MemoryManager]int
}

// sharedMemory is the name the rest of the package grew up with.
type sharedMemory = SharedMemory

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
