// Package memfile is the sentry's memory file: one memfd that backs all
// application memory. The sentry maps the whole file into its own address
// space, so copying to or from application memory is a plain memory copy,
// and platforms map ranges of the same file into application address spaces.
// Freed ranges are returned to the host with fallocate(PUNCH_HOLE).
package memfile

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

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
	fd      int
	mapping []byte
	size    uint64

	// mu protects next and free.
	mu sync.Mutex
	// next is the end of the part of the file ever handed out.
	next uint64
	// free holds released ranges, reused first-fit before next grows.
	free []Range
	// inUse counts the bytes allocated and not released.
	inUse uint64
}

// InUse returns the bytes allocated and not yet released: the sandbox's
// memory use as its cgroup would report it.
func (f *File) InUse() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inUse
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

// FD returns the memfd. Platforms map it into address spaces.
func (f *File) FD() int { return f.fd }

// Size returns the size of the file's address range.
func (f *File) Size() uint64 { return f.size }

// Allocate returns a range of length bytes (a multiple of the page size)
// that reads as zeroes.
func (f *File) Allocate(length uint64) (Range, error) {
	if length == 0 || length%pageSize != 0 {
		return Range{}, fmt.Errorf("memfile: bad allocation length %#x", length)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, fr := range f.free {
		if fr.Length() < length {
			continue
		}
		r := Range{fr.Start, fr.Start + length}
		if fr.Length() == length {
			f.free[i] = f.free[len(f.free)-1]
			f.free = f.free[:len(f.free)-1]
		} else {
			f.free[i].Start += length
		}
		f.inUse += length
		return r, nil
	}
	if length > f.size-f.next { // next <= size; next+length could wrap
		return Range{}, ErrNoMemory
	}
	r := Range{f.next, f.next + length}
	f.next += length
	f.inUse += length
	return r, nil
}

// Release returns r to the host and makes it available for reuse. The
// range reads as zeroes afterwards.
func (f *File) Release(r Range) {
	if r.Length() == 0 {
		return
	}
	// Punching a hole both frees the host pages and zeroes the range, which
	// Allocate promises.
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(r.Start), int64(r.Length())); err != nil {
		// Without the punch the range is not zero: zero it by hand so reuse
		// stays correct.
		clear(f.Slice(r))
	}
	f.mu.Lock()
	f.free = append(f.free, r)
	f.inUse -= r.Length()
	f.mu.Unlock()
}

// Slice returns the sentry's view of r.
func (f *File) Slice(r Range) []byte {
	return f.mapping[r.Start:r.End:r.End]
}

// Close unmaps and closes the file.
func (f *File) Close() error {
	err := unix.Munmap(f.mapping)
	if cerr := unix.Close(f.fd); err == nil {
		err = cerr
	}
	return err
}
