package kernel

import (
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// MappedFile is a file as a memory mapping holds it: the mapping keeps the
// open file description alive after the descriptor is closed, and reaches
// the file's page cache or shared object through it, so mmap(2) and
// execve(2) mappings of one file share its pages.
type MappedFile struct {
	file *vfs.File
	m    mm.Mappable
}

// NewMappedFile returns f (whose implementation is m) as a mapping holds it.
func NewMappedFile(f *vfs.File, m mm.Mappable) *MappedFile {
	return &MappedFile{file: f, m: m}
}

func (f *MappedFile) ReadAt(p []byte, off int64) (int, error) { return f.m.ReadAt(p, off) }
func (f *MappedFile) Size() (int64, error)                    { return f.m.Size() }
func (f *MappedFile) IncRef()                                 { f.file.IncRef() }
func (f *MappedFile) DecRef()                                 { f.file.DecRef() }

// VFSFile returns the open file the mapping holds (for /proc/[pid]/maps).
func (f *MappedFile) VFSFile() *vfs.File { return f.file }

// SharedMemory forwards mm.SharedMappable: mappings of a file that keeps
// its data in sentry memory (tmpfs) map its own pages, and those of a file
// with a page cache (gofer files) map the cache's.
func (f *MappedFile) SharedMemory() *mm.SharedMemory {
	if s, ok := f.m.(mm.SharedMappable); ok {
		return s.SharedMemory()
	}
	return nil
}

// WriteBack forwards mm.WriteBacker: shared mappings of gofer files write
// their pages back through the file.
func (f *MappedFile) WriteBack(obj *mm.SharedMemory, off, length uint64) {
	if wb, ok := f.m.(mm.WriteBacker); ok {
		wb.WriteBack(obj, off, length)
	}
}

// ReadAtUncached forwards mm.CacheFiller.
func (f *MappedFile) ReadAtUncached(p []byte, off int64) (int, error) {
	if cf, ok := f.m.(mm.CacheFiller); ok {
		return cf.ReadAtUncached(p, off)
	}
	return f.m.ReadAt(p, off)
}
