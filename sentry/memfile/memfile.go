// Package memfile is the sentry's memory file: one memfd that backs all
// application memory. The sentry maps the whole file into its own address
// space, so copying to or from application memory is a plain memory copy,
// and platforms map ranges of the same file into application address spaces.
//
// Freed ranges go back to the host with fallocate(PUNCH_HOLE), but not one
// by one: a process exit frees hundreds of scattered pages, and a punch is
// a host system call (several microseconds on a virtual machine) after
// which the next use of the page takes a host page fault to get it back.
// Released ranges wait on a dirty list, are handed out again first (zeroed
// by the sentry, which is cheaper than either), and are punched in one
// sorted, coalesced batch once dirtyLimit bytes have piled up.
package memfile

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/fdio"
)

// dirtyLimit is how many released bytes may wait for reuse before they are
// returned to the host.
const dirtyLimit = 32 << 20

const pageSize = 4096

// Range is a page-aligned byte range [Start, End) of the memory file.
type Range struct {
	Start, End uint64
}

// Length returns the number of bytes in r.
func (r Range) Length() uint64 { return r.End - r.Start }

// ErrNoMemory is returned when the file's address range is exhausted.
var ErrNoMemory = errors.New("memory file exhausted")

// File is the memory file.
type File struct {
	fd int
	// base is the offset of the file's first byte in the offset space
	// ranges are given in: 0 for the memory file, past the memory
	// file's end for its store (store.go). mapping is the sentry's view
	// of [base, base+size).
	base    uint64
	mapping []byte
	size    uint64
	// onDisk is set for a store: its ranges are disk blocks, reserved
	// when allocated and freed when released.
	onDisk bool
	// store is the disk-backed store attached before the platform
	// started (AttachStore), or nil; set once, read without a lock.
	store *File

	// mu protects next, free, freeCoalesced, dirty, dirtyBytes and inUse.
	mu sync.Mutex
	// next is the end of the part of the file ever handed out.
	next uint64
	// dirty holds released ranges still holding data and host pages,
	// most recent last; dirtyBytes is their total length.
	dirty      []Range
	dirtyBytes uint64
	// dirtyMerged is set once the newest dirty ranges have been merged
	// (mergeNewestDirtyLocked) and nothing was released since.
	dirtyMerged bool
	// free holds released ranges given back to the host (holes, reading
	// as zeroes), reused first-fit after dirty and before next grows.
	free []Range
	// freeCoalesced is how long free was when a store last coalesced it.
	freeCoalesced int
	// inUse counts the bytes allocated and not released.
	inUse uint64
	// punches counts the hole punches giveBack made (tests read it).
	punches atomic.Int64
}

// InUse returns the bytes allocated and not yet released: the sandbox's
// memory use as its cgroup would report it.
func (f *File) InUse() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inUse
}

// Held returns the bytes of host memory the file holds: those in use and
// those released but not yet given back (the dirty list).
func (f *File) Held() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inUse + f.dirtyBytes
}

// New creates a memory file of size bytes of address space. The file is
// sparse: only pages in use consume host memory.
func New(name string, size uint64) (*File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sizing memory file: %w", err)
	}
	m, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mapping memory file: %w", err)
	}
	// Offset 0 is never handed out, so a zero Range means "none".
	return &File{fd: fd, mapping: m, size: size, next: pageSize}, nil
}

// FD returns the file's descriptor. Platforms map the memory file's into
// address spaces.
func (f *File) FD() int { return f.fd }

// Size returns the size of the file's address range.
func (f *File) Size() uint64 { return f.size }

// Base returns the offset of the file's first byte among ranges: 0 for the
// memory file.
func (f *File) Base() uint64 { return f.base }

// Allocate returns a range of length bytes (a multiple of the page size)
// that reads as zeroes.
func (f *File) Allocate(length uint64) (Range, error) {
	if length == 0 || length%pageSize != 0 {
		return Range{}, fmt.Errorf("memfile: bad allocation length %#x", length)
	}
	if f.onDisk {
		return f.allocateBlocks(length)
	}
	f.mu.Lock()
	r, ok := takeFit(&f.dirty, length, dirtyScan)
	if !ok && length > pageSize && f.mergeNewestDirtyLocked() {
		r, ok = takeFit(&f.dirty, length, dirtyScan)
	}
	if ok {
		f.dirtyBytes -= length
		f.inUse += length
		f.mu.Unlock()
		// Nobody else can reach r now; its old contents must not leak
		// into the new owner's pages.
		clear(f.Slice(r))
		return r, nil
	}
	defer f.mu.Unlock()
	if r, ok := takeFit(&f.free, length, 0); ok {
		f.inUse += length
		return r, nil
	}
	if length > f.base+f.size-f.next { // next <= base+size; next+length could wrap
		return Range{}, ErrNoMemory
	}
	r = Range{f.next, f.next + length}
	f.next += length
	f.inUse += length
	return r, nil
}

// dirtyScan bounds how many of the most recent dirty ranges Allocate looks
// at: the list holds up to dirtyLimit bytes of mostly single pages (8,192
// of them), and a fault's multi-page allocation that fits none would scan
// them all under f.mu.
const dirtyScan = 64

// mergeNewestDirtyLocked merges the newest dirty ranges that touch, and
// reports whether any did. A process exit releases its pages one by one,
// in no particular order, so a run of pages that was one allocation (a
// forked child's copied .data) comes back as single pages: without the
// merge, the next allocation of such a run would miss them all and take
// a hole or new part of the file, whose every page costs a host page
// fault on first touch, several times the cost of the copy itself.
//
// Preconditions: f.mu is held.
func (f *File) mergeNewestDirtyLocked() bool {
	if f.dirtyMerged {
		return false
	}
	f.dirtyMerged = true
	n := min(len(f.dirty), dirtyScan)
	tail := f.dirty[len(f.dirty)-n:]
	merged := coalesce(tail)
	if len(merged) == n {
		return false
	}
	f.dirty = f.dirty[:len(f.dirty)-n+len(merged)]
	return true
}

// takeFit removes length bytes from the first range of *list that holds
// them and returns them. With newest > 0 it looks only at the newest
// ranges (the end of the list, where the most recently released,
// cache-warm ones are), newest first.
func takeFit(list *[]Range, length uint64, newest int) (Range, bool) {
	l := *list
	n := len(l)
	if newest > 0 {
		n = min(n, newest)
	}
	for k := range n {
		i := k
		if newest > 0 {
			i = len(l) - 1 - k
		}
		fr := l[i]
		if fr.Length() < length {
			continue
		}
		r := Range{fr.Start, fr.Start + length}
		if fr.Length() == length {
			l[i] = l[len(l)-1]
			*list = l[:len(l)-1]
		} else {
			l[i].Start += length
		}
		return r, true
	}
	return Range{}, false
}

// Release makes r available for reuse; Allocate zeroes it before handing
// it out again. Its host pages are freed with the next batch.
func (f *File) Release(r Range) {
	if r.Length() == 0 {
		return
	}
	if s := f.store; s != nil && r.Start >= s.base {
		s.Release(r)
		return
	}
	if f.onDisk {
		f.releaseBlocks(r)
		return
	}
	f.mu.Lock()
	f.inUse -= r.Length()
	f.dirty = append(f.dirty, r)
	f.dirtyBytes += r.Length()
	f.dirtyMerged = false
	var batch []Range
	if f.dirtyBytes >= dirtyLimit {
		batch, f.dirty, f.dirtyBytes = f.dirty, nil, 0
	}
	f.mu.Unlock()
	if batch != nil {
		f.giveBack(batch)
	}
}

// Flush returns every released range's host pages now.
func (f *File) Flush() {
	f.mu.Lock()
	batch := f.dirty
	f.dirty, f.dirtyBytes = nil, 0
	f.mu.Unlock()
	f.giveBack(batch)
}

// giveBack punches the ranges of batch, which nobody can allocate meanwhile,
// out of the file in as few calls as they coalesce into, and puts them on
// the free list, which it coalesces too.
//
// A free range that fills the gap between two ranges of the batch is
// punched with them (a hole punched again stays a hole), so that one call
// covers the three: a process's pages come back one at a time, among
// pages it freed earlier, and a cold go build released 512,000 ranges in
// 322,000 such runs.
func (f *File) giveBack(batch []Range) {
	if len(batch) == 0 {
		return
	}
	batch = coalesce(batch)
	f.mu.Lock()
	batch = coalesce(append(batch, f.takeGapsLocked(batch)...))
	f.mu.Unlock()
	for _, r := range batch {
		// Punching a hole both frees the host pages and zeroes the
		// range, which the free list promises.
		f.punches.Add(1)
		if err := unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(r.Start-f.base), int64(r.Length())); err != nil {
			// Without the punch the range is not zero: zero it by
			// hand so reuse stays correct.
			clear(f.Slice(r))
		}
	}
	f.mu.Lock()
	f.free = coalesce(append(f.free, batch...))
	f.mu.Unlock()
}

// takeGapsLocked removes from the free list and returns the free ranges
// that each fill the whole gap between two consecutive ranges of batch
// (sorted and coalesced). A free range never overlaps a released one, so
// one that starts where a batch range ends and ends where the next starts
// is the gap.
//
// Preconditions: f.mu is held.
func (f *File) takeGapsLocked(batch []Range) []Range {
	if len(batch) < 2 || len(f.free) == 0 {
		return nil
	}
	byStart := make(map[uint64]int, len(f.free))
	for i, r := range f.free {
		byStart[r.Start] = i
	}
	var gaps []Range
	for k := 0; k+1 < len(batch); k++ {
		if i, ok := byStart[batch[k].End]; ok && f.free[i].End == batch[k+1].Start {
			gaps = append(gaps, f.free[i])
			f.free[i] = Range{}
		}
	}
	if len(gaps) > 0 {
		f.free = slices.DeleteFunc(f.free, func(r Range) bool { return r.Length() == 0 })
	}
	return gaps
}

// coalesce sorts ranges and merges those that touch.
func coalesce(rs []Range) []Range {
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].End == r.Start {
			out[n-1].End = r.End
			continue
		}
		out = append(out, r)
	}
	return out
}

// Slice returns the sentry's view of r, of the memory file or its store.
func (f *File) Slice(r Range) []byte {
	if s := f.store; s != nil && r.Start >= s.base {
		return s.Slice(r)
	}
	return f.mapping[r.Start-f.base : r.End-f.base : r.End-f.base]
}

// WriteNew writes src at off of the memory file or its store with
// pwrite(2), where copying through the mapping would take a host page
// fault for every page touched first (newly allocated pages).
func (f *File) WriteNew(src []byte, off uint64) error {
	if s := f.store; s != nil && off >= s.base {
		return s.WriteNew(src, off)
	}
	return fdio.PwriteAll(f.fd, src, int64(off-f.base))
}

// ReadFull reads len(dst) bytes at off of the memory file or its store
// with pread(2), which copies from the host's page cache without faulting
// the sentry's mapping in.
func (f *File) ReadFull(dst []byte, off uint64) error {
	if s := f.store; s != nil && off >= s.base {
		return s.ReadFull(dst, off)
	}
	return fdio.PreadFull(f.fd, dst, int64(off-f.base))
}

// Close unmaps and closes the file, and its store.
func (f *File) Close() error {
	var err error
	if f.store != nil {
		err = f.store.Close()
	}
	if merr := unix.Munmap(f.mapping); err == nil {
		err = merr
	}
	if cerr := unix.Close(f.fd); err == nil {
		err = cerr
	}
	return err
}
