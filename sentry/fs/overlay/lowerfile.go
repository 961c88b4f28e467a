package overlay

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// lowerFile is a regular file opened read-only while it lay only in the
// lower tree. Once the file is copied up (another descriptor wrote it,
// truncated it, linked it), its reads, attributes and new mappings are
// the upper file's, as Linux overlayfs reopens the real file of such a
// descriptor on copy-up: a program that reads a file another changed
// sees the change. Mappings made before the copy-up keep the lower pages
// (overlayfs's documented exception).
type lowerFile struct {
	i     *inode
	flags int
	// lower is the lower file, wrapped for the merged st_ino; immutable.
	lower vfs.FileImpl

	// mu protects upper, the upper file once opened.
	mu    sync.Mutex
	upper vfs.FileImpl
}

// current returns the file that serves the descriptor now.
func (f *lowerFile) current() vfs.FileImpl {
	l := f.i.upper.Load()
	if l == nil {
		return f.lower
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.upper == nil {
		up, err := l.in.Open(f.flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC))
		if err != nil {
			// The upper file refused a read-only open it was copied
			// up to serve: the lower data is all there is.
			return f.lower
		}
		f.upper = f.i.wrap(up, l.same)
	}
	return f.upper
}

// ReadAt implements vfs.FileImpl.
func (f *lowerFile) ReadAt(dst []byte, off int64) (int, error) { return f.current().ReadAt(dst, off) }

// WriteAt implements vfs.FileImpl; the descriptor is read-only, which the
// layer's file reports.
func (f *lowerFile) WriteAt(src []byte, off int64) (int, error) { return f.current().WriteAt(src, off) }

// Stat implements vfs.FileImpl.
func (f *lowerFile) Stat() (unix.Stat_t, error) { return f.current().Stat() }

// Close implements vfs.FileImpl.
func (f *lowerFile) Close() error {
	err := f.lower.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.upper != nil {
		if uerr := f.upper.Close(); err == nil {
			err = uerr
		}
	}
	return err
}

// ReadInPlace implements vfs.InPlaceReader when the current file does.
func (f *lowerFile) ReadInPlace(off int64, n int, out func(src []byte) (int, error)) (int, bool, error) {
	if r, ok := f.current().(vfs.InPlaceReader); ok {
		return r.ReadInPlace(off, n, out)
	}
	return 0, false, nil
}

// Size implements mm.Mappable.
func (f *lowerFile) Size() (int64, error) {
	cur := f.current()
	if s, ok := cur.(sizer); ok {
		return s.Size()
	}
	st, err := cur.Stat()
	return st.Size, err
}

// SharedMemory implements mm.SharedMappable: the current file's shared
// object (a page cache, or tmpfs pages), or none.
func (f *lowerFile) SharedMemory() *mm.SharedMemory {
	if sm, ok := f.current().(mm.SharedMappable); ok {
		return sm.SharedMemory()
	}
	return nil
}

// ReadAtUncached implements mm.CacheFiller for a lower page cache.
func (f *lowerFile) ReadAtUncached(p []byte, off int64) (int, error) {
	cur := f.current()
	if cf, ok := cur.(mm.CacheFiller); ok {
		return cf.ReadAtUncached(p, off)
	}
	return cur.ReadAt(p, off)
}

// WriteBack implements mm.WriteBacker; a read-only descriptor's shared
// mappings are read-only, so only a page cache's own file has any.
func (f *lowerFile) WriteBack(obj *mm.SharedMemory, off, length uint64) {
	if wb, ok := f.current().(mm.WriteBacker); ok {
		wb.WriteBack(obj, off, length)
	}
}

// Truncate implements vfs.Truncater; the VFS refuses ftruncate(2) of a
// read-only descriptor first, the layer's file otherwise.
func (f *lowerFile) Truncate(size int64) error {
	if t, ok := f.current().(vfs.Truncater); ok {
		return t.Truncate(size)
	}
	return unix.EINVAL
}

// Allocate implements vfs.Allocator, as Truncate.
func (f *lowerFile) Allocate(mode uint32, off, length int64) error {
	if a, ok := f.current().(vfs.Allocator); ok {
		return a.Allocate(mode, off, length)
	}
	return unix.EOPNOTSUPP
}

// Sync implements vfs.Syncer (fsync(2) of a read-only descriptor).
func (f *lowerFile) Sync(dataOnly bool) error {
	if s, ok := f.current().(vfs.Syncer); ok {
		return s.Sync(dataOnly)
	}
	return nil
}

var (
	_ vfs.InPlaceReader = (*lowerFile)(nil)
	_ mm.SharedMappable = (*lowerFile)(nil)
	_ mm.CacheFiller    = (*lowerFile)(nil)
	_ mm.WriteBacker    = (*lowerFile)(nil)
	_ vfs.Syncer        = (*lowerFile)(nil)
	_ vfs.Truncater     = (*lowerFile)(nil)
	_ vfs.Allocator     = (*lowerFile)(nil)
)
