package goferfs

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reads through a mapping of the host file.
//
// A read of a donated descriptor is a host pread: about 2 µs for 4 KiB on
// a VM, where copying the same bytes out of a shared mapping of the file
// costs about 0.6 µs, the page faults of the mapping included once the
// file is read many times. So a descriptor of an exclusive tree that is
// read often gets a read-only MAP_SHARED mapping, and reads inside the
// file's known size copy from it. The mapping shares the host's page
// cache, so it sees every write to the file at once, whoever makes it.
//
// What a mapping must never show:
//   - Bytes past the file's end. A page wholly past it raises SIGBUS,
//     which copyFrom turns into a fallback to pread; the part of the last
//     page past the end reads zeroes, so reads stop at the size last read
//     by fstat. Every shrink in the tree (truncate, ftruncate, O_TRUNC,
//     fallocate's collapse) runs inside fs.shrinks' odd count: a read
//     whose copy overlapped one is made again with pread, and the next
//     read asks fstat for the size again.
//   - A lower layer's copy of a file that a host overlayfs has copied up
//     since the descriptor was opened. The overlay serves pread from the
//     upper file once it exists, but a mapping keeps the file the
//     descriptor was opened on. A read-write descriptor was opened after
//     its copy-up, so its mapping is always good; a read-only one is used
//     only while nothing in the tree that could copy a file up (an open
//     for writing, a change of attributes, a link or a rename) has
//     happened since it was opened, and never again after.

// mapAfterReads is how many reads a descriptor serves with pread before
// it is mapped: a file read once or twice is cheaper to pread than to map.
const mapAfterReads = 8

// maxMapLen bounds one mapping; reads past it use pread.
const maxMapLen = 1 << 30

const pageSize = 4096

// maxMaps bounds the mappings of a tree, which each hold a host VMA of
// the sentry.
const maxMaps = 512

// readMap is the mapping of one host descriptor.
type readMap struct {
	data []byte
	// known is the file's size as last read, and the shrinks count it
	// is good for.
	known atomic.Pointer[knownSize]
	// refreshMu serialises fstat refreshes of known.
	refreshMu sync.Mutex
}

type knownSize struct {
	size    int64
	shrinks uint64
}

// beginShrink marks the start of an operation that may make a file of the
// tree shorter; the caller calls the function it returns when done.
func (fs *FS) beginShrink() func() {
	fs.shrinks.Add(1)
	return func() { fs.shrinks.Add(1) }
}

// noteCopyUp says an operation that may copy a file of a host overlay up
// is about to run.
func (fs *FS) noteCopyUp() { fs.copyUps.Add(1) }

// current returns h's mapping if it has one that reads may use.
func (h *hostFD) current(fs *FS) *readMap {
	m := h.rmap.Load()
	if m == nil || h.refused.Load() {
		return nil
	}
	if !h.writable && h.copyUps != fs.copyUps.Load() {
		// Possibly copied up: this descriptor's mapping may show the
		// old file from now on.
		h.refused.Store(true)
		return nil
	}
	return m
}

// mapping returns h's mapping, making it once h has served enough reads,
// or nil when reads must use pread.
func (h *hostFD) mapping(fs *FS) *readMap {
	if h.refused.Load() {
		return nil
	}
	if h.rmap.Load() != nil {
		return h.current(fs)
	}
	if !fs.opts.Exclusive {
		return nil
	}
	if h.reads.Add(1) < mapAfterReads {
		return nil
	}
	return h.makeMapping(fs)
}

func (h *hostFD) makeMapping(fs *FS) *readMap {
	h.mapMu.Lock()
	defer h.mapMu.Unlock()
	if m := h.rmap.Load(); m != nil || h.refused.Load() {
		return h.current(fs)
	}
	refuse := func() *readMap {
		h.refused.Store(true)
		return nil
	}
	if !h.writable && h.copyUps != fs.copyUps.Load() {
		return refuse()
	}
	shrinks := fs.shrinks.Load()
	var st unix.Stat_t
	if shrinks&1 != 0 || unix.Fstat(h.fd, &st) != nil {
		return nil
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return refuse()
	}
	if st.Size <= 0 {
		// Nothing to map yet: count the reads again.
		h.reads.Store(0)
		return nil
	}
	if fs.maps.Add(1) > maxMaps {
		// Another file may give its mapping up meanwhile.
		fs.maps.Add(-1)
		h.reads.Store(0)
		return nil
	}
	length := min((st.Size+pageSize-1)&^(pageSize-1), maxMapLen)
	data, err := unix.Mmap(h.fd, 0, int(length), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		// Not every file system maps its files.
		fs.maps.Add(-1)
		return refuse()
	}
	m := &readMap{data: data}
	m.known.Store(&knownSize{size: st.Size, shrinks: shrinks})
	h.rmap.Store(m)
	return m
}

// unmap releases h's mapping; h is closing and nothing reads it any more.
func (h *hostFD) unmap(fs *FS) {
	if m := h.rmap.Swap(nil); m != nil {
		_ = unix.Munmap(m.data)
		fs.maps.Add(-1)
	}
}

// span returns the file's bytes at off, at most n of them, as they lie
// in the mapping, and the shrinks count they are good for until the
// caller has used them (a count that moved means they may be wrong). It
// reports false when the read must be made with pread instead: outside
// the mapping, or during a shrink. An empty span is the file's end.
func (m *readMap) span(fs *FS, fd int, off int64, n int) ([]byte, uint64, bool) {
	shrinks := fs.shrinks.Load()
	if shrinks&1 != 0 || off < 0 {
		return nil, 0, false
	}
	k := m.known.Load()
	end := off + int64(n)
	if k.shrinks != shrinks || end > k.size {
		// The file may have shrunk, or grown since.
		if k = m.refresh(fd, shrinks); k == nil {
			return nil, 0, false
		}
	}
	if off >= k.size {
		return nil, shrinks, true
	}
	end = min(end, k.size)
	if end > int64(len(m.data)) {
		return nil, 0, false
	}
	return m.data[off:end], shrinks, true
}

// read copies the file's bytes at off into dst from the mapping,
// reporting false when the read must be made with pread instead.
func (m *readMap) read(fs *FS, fd int, dst []byte, off int64) (int, bool) {
	src, shrinks, ok := m.span(fs, fd, off, len(dst))
	if !ok {
		return 0, false
	}
	if !copyFrom(dst, src) || fs.shrinks.Load() != shrinks {
		return 0, false
	}
	return len(src), true
}

// refresh reads the file's size with fstat for the shrinks count seen
// before, or returns nil if it cannot.
func (m *readMap) refresh(fd int, shrinks uint64) *knownSize {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return nil
	}
	// A refresh for a newer count may have stored its size already:
	// this one's is as current, stamped older, so it only costs the
	// next read a refresh.
	k := &knownSize{size: st.Size, shrinks: shrinks}
	m.known.Store(k)
	return k
}

// copyFrom copies src into dst, reporting false if the mapping src lies in
// faulted: the host file shrank under it (SIGBUS) or the host refused the
// page.
func copyFrom(dst, src []byte) bool {
	_, _, faulted := passFaulting(func(src []byte) (int, error) { return copy(dst, src), nil }, src)
	return !faulted
}

// passFaulting passes src, which lies in a mapping of a host file, to out,
// and reports whether reading src faulted, in which case out may have
// taken part of it. Any other panic goes on.
func passFaulting(out func([]byte) (int, error), src []byte) (n int, err error, faulted bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			fault, ok := r.(interface{ Addr() uintptr })
			if !ok || len(src) == 0 {
				panic(r)
			}
			start := uintptr(unsafe.Pointer(unsafe.SliceData(src)))
			if a := fault.Addr(); a < start || a-start >= uintptr(len(src)) {
				panic(r)
			}
			n, err, faulted = 0, nil, true
		}
	}()
	n, err = out(src)
	return n, err, false
}
