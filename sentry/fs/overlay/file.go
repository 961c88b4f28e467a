package overlay

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// sizer is the half of mm.Mappable a FileImpl lacks.
type sizer interface {
	Size() (int64, error)
}

// wrap returns f, a layer's open file, with the merged st_ino and st_dev:
// f itself when the layer reports them already (same) or when f has
// optional interfaces no wrapper below reproduces exactly.
func (i *inode) wrap(f vfs.FileImpl, same bool) vfs.FileImpl {
	if same || i.typ != unix.S_IFREG {
		return f
	}
	switch f.(type) {
	case vfs.Streamer, vfs.Seeker, vfs.Ioctler, vfs.Nonblocker, vfs.DirReader, waiter.Waitable:
		return f
	}
	_, t := f.(vfs.Truncater)
	_, a := f.(vfs.Allocator)
	_, s := f.(vfs.Syncer)
	_, z := f.(sizer)
	_, sh := f.(mm.SharedMappable)
	base := file{FileImpl: f, i: i}
	switch {
	case !t && !a && !s && !z && !sh:
		return &base
	case t && a && s && z && !sh:
		return &fileTASM{base}
	case t && a && s && z && sh:
		return &fileTASMS{fileTASM{base}}
	}
	return f
}

// file is a layer's open regular file reporting the merged st_ino and
// st_dev.
type file struct {
	vfs.FileImpl
	i *inode
}

// Stat implements vfs.FileImpl.Stat.
func (f *file) Stat() (unix.Stat_t, error) {
	st, err := f.FileImpl.Stat()
	if err != nil {
		return st, err
	}
	st.Ino, st.Dev = f.i.ino, f.i.dev
	return st, nil
}

// fileTASM is a file that truncates, allocates, syncs and maps.
type fileTASM struct{ file }

// Truncate implements vfs.Truncater.
func (f *fileTASM) Truncate(size int64) error {
	return f.FileImpl.(vfs.Truncater).Truncate(size)
}

// Allocate implements vfs.Allocator.
func (f *fileTASM) Allocate(mode uint32, off, length int64) error {
	return f.FileImpl.(vfs.Allocator).Allocate(mode, off, length)
}

// Sync implements vfs.Syncer.
func (f *fileTASM) Sync(dataOnly bool) error {
	return f.FileImpl.(vfs.Syncer).Sync(dataOnly)
}

// Size implements mm.Mappable.
func (f *fileTASM) Size() (int64, error) {
	return f.FileImpl.(sizer).Size()
}

// fileTASMS is a fileTASM whose pages are shared (tmpfs).
type fileTASMS struct{ fileTASM }

// SharedMemory implements mm.SharedMappable.
func (f *fileTASMS) SharedMemory() *mm.SharedMemory {
	return f.FileImpl.(mm.SharedMappable).SharedMemory()
}

var (
	_ vfs.FileImpl      = (*file)(nil)
	_ vfs.Truncater     = (*fileTASM)(nil)
	_ vfs.Allocator     = (*fileTASM)(nil)
	_ vfs.Syncer        = (*fileTASM)(nil)
	_ mm.Mappable       = (*fileTASM)(nil)
	_ mm.SharedMappable = (*fileTASMS)(nil)
)
