package mm

import "github.com/cocoonrt/cocoon/sentry/platform"

// Mappable is a file that can back a memory mapping. Private mappings copy
// its contents into anonymous memory when a page is first touched.
type Mappable interface {
	// ReadAt reads file contents; reads past the end return io.EOF or a
	// short count, and the rest of the page is zero-filled.
	ReadAt(p []byte, off int64) (int, error)
	// Size returns the file's current size; pages wholly past it fault
	// with SIGBUS as on Linux.
	Size() (int64, error)
}

// refCounted is implemented by Mappables whose lifetime the mapping must
// extend: each VMA holds one reference, so closing the descriptor a file
// was mapped through does not pull the file from under the mapping.
type refCounted interface {
	IncRef()
	DecRef()
}

func incRef(m Mappable) {
	if r, ok := m.(refCounted); ok {
		r.IncRef()
	}
}

func decRef(m Mappable) {
	if r, ok := m.(refCounted); ok {
		r.DecRef()
	}
}

// MMapOpts describes a mapping request, after the syscall layer decoded
// mmap(2)'s flags.
type MMapOpts struct {
	// Length is the length of the mapping in bytes (rounded up to pages).
	Length uint64
	// Addr is a hint, or the exact address when Fixed is set.
	Addr uint64
	// Fixed maps exactly at Addr, replacing existing mappings unless
	// NoReplace is also set (MAP_FIXED_NOREPLACE), in which case an overlap
	// fails with EEXIST.
	Fixed     bool
	NoReplace bool
	// Perms are the initial permissions; MaxPerms bounds later mprotect
	// calls (a read-only file descriptor cannot become writable shared).
	Perms    platform.AccessType
	MaxPerms platform.AccessType
	// Private is MAP_PRIVATE; otherwise the mapping is shared (MAP_SHARED).
	Private bool
	// GrowsDown marks a stack that grows by faults below its start.
	GrowsDown bool
	// Populate faults the whole mapping in now (MAP_POPULATE).
	Populate bool
	// Locked locks the mapping (MAP_LOCKED): populated now and counted
	// in VmLck (mlock.go).
	Locked bool
	// NoReserve exempts the mapping from the overcommit check
	// (MAP_NORESERVE).
	NoReserve bool
	// File backs the mapping from Offset; nil means anonymous memory.
	File   Mappable
	Offset uint64
	// Name is shown for anonymous special mappings ("[stack]", "[heap]").
	Name string
	// Object, for a Private mapping without File, maps a kernel object
	// copy-on-write from Offset: the vDSO's image and data page
	// (sentry/vdso), shown as Name. Like Linux's special mappings, such a
	// mapping never grows: mremap to a larger size fails with EFAULT
	// (VM_DONTEXPAND), so it never reaches past the object.
	Object *SharedMemory
}
