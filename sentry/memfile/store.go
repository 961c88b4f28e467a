package memfile

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// A store is a second file of pages, on the node's disk: the container
// root's writable layer keeps its files' data there (a tmpfs over the
// store) so that what programs write to their root counts as the node's
// disk use, as under runc, and not as the pod's memory.
//
// Its ranges follow the memory file's in one offset space, a page apart
// (so no range of one ever touches a range of the other), and the memory
// file's Slice, Release, WriteNew and ReadFull take them too: the address spaces
// and the sentry's copies deal in ranges and never ask which file one is
// of. Platforms map a range of the store from the store's descriptor, at
// the range's offset less Base (StoreOf).
//
// Unlike memory, a store's pages are disk blocks: allocating reserves
// them with fallocate(2), so a full disk is ENOSPC from the allocation
// and never SIGBUS from a later store through a mapping of a hole, and
// releasing punches them out at once, since disk space left waiting for
// reuse would show as the pod's.

// maxStoreSize bounds a store's address range: below ext4's largest file
// (16 TiB with 4 KiB blocks) and, after the memory file, well inside the
// 46 bits of guest physical address space KVM guests usually have.
const maxStoreSize = 4 << 40

// AttachStore makes the regular file fd f's store and returns it; the
// store owns fd from then on (Close closes it), the caller still does
// after an error. It must be called before a platform is made over f:
// platforms learn the store when they start. The store's address range
// is the size of the file system holding it (a store cannot hold more),
// up to maxStoreSize, rounded to pages.
func (f *File) AttachStore(fd int) (*File, error) {
	if f.store != nil {
		return nil, errors.New("memfile: a store is attached already")
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return nil, fmt.Errorf("memfile: sizing the store: %w", err)
	}
	size := min(st.Blocks*uint64(st.Bsize), maxStoreSize) &^ (pageSize - 1)
	if size == 0 {
		return nil, errors.New("memfile: the store's file system is empty")
	}
	// Whatever the file held belongs to no one now.
	if err := unix.Ftruncate(fd, 0); err != nil {
		return nil, fmt.Errorf("memfile: emptying the store: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, fmt.Errorf("memfile: sizing the store: %w", err)
	}
	m, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("memfile: mapping the store: %w", err)
	}
	base := (f.base + f.size + pageSize - 1) &^ (pageSize - 1)
	s := &File{fd: fd, base: base + pageSize, mapping: m, size: size, onDisk: true}
	s.next = s.base
	f.store = s
	return s, nil
}

// OnDisk reports whether f is a store.
func (f *File) OnDisk() bool { return f.onDisk }

// Store returns the store attached to f, or nil.
func (f *File) Store() *File { return f.store }

// StoreOf says where a platform finds r: in the memory file at offset
// r.Start (store false), or in the store at offset off. r never spans
// both.
func (f *File) StoreOf(r Range) (store bool, off uint64) {
	if s := f.store; s != nil && r.Start >= s.base {
		return true, r.Start - s.base
	}
	return false, r.Start
}

// allocateBlocks is Allocate of a store: released ranges are holes, and
// the range handed out gets its disk blocks now.
func (f *File) allocateBlocks(length uint64) (Range, error) {
	f.mu.Lock()
	r, ok := takeFit(&f.free, length, 0)
	if !ok {
		if length > f.base+f.size-f.next {
			f.mu.Unlock()
			return Range{}, ErrNoMemory
		}
		r = Range{f.next, f.next + length}
		f.next += length
	}
	f.inUse += length
	f.mu.Unlock()
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_KEEP_SIZE, int64(r.Start-f.base), int64(length)); err != nil {
		f.releaseBlocks(r)
		if err == unix.ENOSPC || err == unix.EDQUOT {
			return Range{}, fmt.Errorf("%w: the store's disk is full", ErrNoMemory)
		}
		return Range{}, fmt.Errorf("memfile: reserving store blocks: %w", err)
	}
	return r, nil
}

// releaseBlocks frees r's disk blocks and makes it available again.
func (f *File) releaseBlocks(r Range) {
	// The punch also zeroes the range, which Allocate promises. Should
	// it fail the range is lost rather than handed out unzeroed.
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(r.Start-f.base), int64(r.Length())); err != nil {
		f.mu.Lock()
		f.inUse -= r.Length()
		f.mu.Unlock()
		return
	}
	f.mu.Lock()
	f.inUse -= r.Length()
	f.free = append(f.free, r)
	// Coalescing sorts the list: do it when it has doubled, not for
	// every file deleted.
	if len(f.free) > 2*f.freeCoalesced+64 {
		f.free = coalesce(f.free)
		f.freeCoalesced = len(f.free)
	}
	f.mu.Unlock()
}
