package kernel

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// fdEntry is one slot of a descriptor table.
type fdEntry struct {
	file    *vfs.File
	cloexec bool
}

// FDTable maps descriptor numbers to open file descriptions. Tasks made
// with CLONE_FILES share one table.
type FDTable struct {
	refs atomic.Int32
	// locks is the kernel's record-lock table (nil in tables made
	// without a kernel): closing a descriptor drops the POSIX locks the
	// table's processes hold on the file.
	locks *lockTable

	// mu protects entries.
	mu      sync.Mutex
	entries []fdEntry
}

// NewFDTable returns an empty table with one reference.
func NewFDTable() *FDTable {
	t := &FDTable{}
	t.refs.Store(1)
	return t
}

// NewFDTable returns an empty table with one reference whose closes
// release k's record locks.
func (k *Kernel) NewFDTable() *FDTable {
	t := NewFDTable()
	t.locks = &k.fileLocks
	return t
}

// IncRef takes a reference for another task sharing the table.
func (t *FDTable) IncRef() { t.refs.Add(1) }

// DecRef drops a reference; the last one closes every descriptor.
func (t *FDTable) DecRef() {
	if t.refs.Add(-1) == 0 {
		t.Release()
	}
}

// Fork returns a copy for a child without CLONE_FILES: the same open file
// descriptions under the same numbers and flags.
func (t *FDTable) Fork() *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := NewFDTable()
	c.locks = t.locks
	c.entries = make([]fdEntry, len(t.entries))
	copy(c.entries, t.entries)
	for _, e := range c.entries {
		if e.file != nil {
			e.file.IncRef()
		}
	}
	return c
}

// Get returns the file at fd with a reference the caller must drop.
func (t *FDTable) Get(fd int32) (*vfs.File, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.entries) || t.entries[fd].file == nil {
		return nil, false
	}
	f := t.entries[fd].file
	f.IncRef()
	return f, true
}

// GetFlags returns fd's close-on-exec flag.
func (t *FDTable) GetFlags(fd int32) (cloexec bool, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.entries) || t.entries[fd].file == nil {
		return false, false
	}
	return t.entries[fd].cloexec, true
}

// SetFlags sets fd's close-on-exec flag.
func (t *FDTable) SetFlags(fd int32, cloexec bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.entries) || t.entries[fd].file == nil {
		return false
	}
	t.entries[fd].cloexec = cloexec
	return true
}

// NewFD installs f at the lowest free descriptor >= min, below limit, taking
// a reference.
func (t *FDTable) NewFD(f *vfs.File, min int32, cloexec bool, limit uint64) (int32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fd := min
	for int(fd) < len(t.entries) && t.entries[fd].file != nil {
		fd++
	}
	if uint64(fd) >= limit {
		return -1, unix.EMFILE
	}
	t.growLocked(fd)
	f.IncRef()
	t.entries[fd] = fdEntry{file: f, cloexec: cloexec}
	return fd, nil
}

// SetFD installs f at fd, closing what was there (dup2/dup3).
func (t *FDTable) SetFD(fd int32, f *vfs.File, cloexec bool, limit uint64) error {
	if fd < 0 || uint64(fd) >= limit {
		return unix.EBADF
	}
	t.mu.Lock()
	t.growLocked(fd)
	old := t.entries[fd].file
	f.IncRef()
	t.entries[fd] = fdEntry{file: f, cloexec: cloexec}
	t.mu.Unlock()
	if old != nil {
		t.closeFile(old)
	}
	return nil
}

// closeFile drops the table's reference to f. Closing any descriptor of a
// file releases the POSIX record locks the table's processes hold on it,
// as Linux's filp_close does (the lock owner is the descriptor table),
// after the file's flush (FileFlusher, mqueue.go).
func (t *FDTable) closeFile(f *vfs.File) {
	flushFile(f)
	l := f.Locks()
	if l == nil && t.locks != nil && f.Dentry() != nil {
		// Locks taken through another description of the same file.
		l = t.locks.lookup(f)
	}
	if l != nil {
		l.ReleasePOSIX(t)
	}
	f.DecRef()
}

func (t *FDTable) growLocked(fd int32) {
	if int(fd) >= len(t.entries) {
		n := max(int(fd)+1, 2*len(t.entries))
		grown := make([]fdEntry, n)
		copy(grown, t.entries)
		t.entries = grown
	}
}

// Remove closes fd.
func (t *FDTable) Remove(fd int32) error {
	t.mu.Lock()
	if fd < 0 || int(fd) >= len(t.entries) || t.entries[fd].file == nil {
		t.mu.Unlock()
		return unix.EBADF
	}
	f := t.entries[fd].file
	t.entries[fd] = fdEntry{}
	t.mu.Unlock()
	t.closeFile(f)
	return nil
}

// RemoveRange closes descriptors in [first, last] (close_range).
func (t *FDTable) RemoveRange(first, last uint32, onlyCloexec bool) {
	t.mu.Lock()
	var closing []*vfs.File
	for fd := uint64(first); fd <= uint64(last) && fd < uint64(len(t.entries)); fd++ {
		e := &t.entries[fd]
		if e.file == nil {
			continue
		}
		if onlyCloexec {
			e.cloexec = true
			continue
		}
		closing = append(closing, e.file)
		*e = fdEntry{}
	}
	t.mu.Unlock()
	for _, f := range closing {
		t.closeFile(f)
	}
}

// Release closes every descriptor.
func (t *FDTable) Release() {
	t.RemoveRange(0, ^uint32(0), false)
}

// RemoveCloexec closes every close-on-exec descriptor (execve).
func (t *FDTable) RemoveCloexec() {
	t.mu.Lock()
	var closing []*vfs.File
	for fd := range t.entries {
		e := &t.entries[fd]
		if e.file != nil && e.cloexec {
			closing = append(closing, e.file)
			*e = fdEntry{}
		}
	}
	t.mu.Unlock()
	for _, f := range closing {
		t.closeFile(f)
	}
}
