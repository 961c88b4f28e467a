package overlay

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// readdirChunk is the maxBytes this package asks the layers for.
const readdirChunk = 64 << 10

// forEachEntry calls fn for each entry of the directory in other than "."
// and "..", until fn returns false.
func forEachEntry(in vfs.Inode, fn func(vfs.Dirent) bool) error {
	f, err := in.Open(unix.O_RDONLY | unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer f.Close()
	dr, ok := f.(vfs.DirReader)
	if !ok {
		return unix.ENOTDIR
	}
	var off uint64
	for {
		ents, err := dr.Readdir(off, readdirChunk)
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			return nil
		}
		for _, e := range ents {
			off = e.Off
			if e.Name == "." || e.Name == ".." {
				continue
			}
			if !fn(e) {
				return nil
			}
		}
	}
}

// emptyLocked reports whether the merged directory d lists nothing;
// d.dirMu is held.
func (d *inode) emptyLocked() (bool, error) {
	if d.dead {
		return true, nil
	}
	empty := true
	if u := d.upperInode(); u != nil {
		if err := forEachEntry(u, func(vfs.Dirent) bool {
			empty = false
			return false
		}); err != nil {
			return false, err
		}
		if !empty {
			return false, nil
		}
	}
	if d.lower != nil {
		err := forEachEntry(d.lower, func(e vfs.Dirent) bool {
			if !d.whitedOut(e.Name) {
				empty = false
			}
			return empty
		})
		if err != nil {
			return false, err
		}
	}
	return empty, nil
}

// list returns the merged listing of d: ".", "..", the upper entries, then
// the lower entries neither whited out nor shadowed, with cookies
// 1, 2, ... in that order.
func (d *inode) list() ([]vfs.Dirent, error) {
	d.dirMu.RLock()
	if d.dead {
		d.dirMu.RUnlock()
		return nil, unix.ENOENT
	}
	var upper, lower []vfs.Dirent
	var err error
	if u := d.upperInode(); u != nil {
		err = forEachEntry(u, func(e vfs.Dirent) bool {
			upper = append(upper, e)
			return true
		})
	}
	if err == nil && d.lower != nil {
		err = forEachEntry(d.lower, func(e vfs.Dirent) bool {
			if !d.whitedOut(e.Name) {
				lower = append(lower, e)
			}
			return true
		})
	}
	d.dirMu.RUnlock()
	if err != nil {
		return nil, err
	}

	d.mu.Lock()
	parent := d.parent
	d.mu.Unlock()
	if parent == nil {
		parent = d
	}
	out := make([]vfs.Dirent, 0, 2+len(upper)+len(lower))
	out = append(out,
		vfs.Dirent{Ino: d.ino, Type: unix.DT_DIR, Name: "."},
		vfs.Dirent{Ino: parent.ino, Type: unix.DT_DIR, Name: ".."})
	var lowerDirs map[string]uint64
	inUpper := make(map[string]struct{}, len(upper))
	for _, e := range upper {
		inUpper[e.Name] = struct{}{}
	}
	for _, e := range lower {
		if _, ok := inUpper[e.Name]; ok && e.Type == unix.DT_DIR {
			if lowerDirs == nil {
				lowerDirs = make(map[string]uint64)
			}
			lowerDirs[e.Name] = e.Ino
		}
	}
	for _, e := range upper {
		if c := d.cached(e.Name); c != nil {
			e.Ino = c.ino
		} else if ino, ok := lowerDirs[e.Name]; ok && e.Type == unix.DT_DIR {
			// Merges with the lower directory (as Lookup would).
			e.Ino = ino
		} else if d.fs.opts.Dev != 0 {
			e.Ino |= xinoBit
		}
		out = append(out, e)
	}
	for _, e := range lower {
		if _, ok := inUpper[e.Name]; ok {
			continue
		}
		if c := d.cached(e.Name); c != nil {
			e.Ino = c.ino
		}
		out = append(out, e)
	}
	for k := range out {
		out[k].Off = uint64(k + 1)
	}
	return out, nil
}

// dirFile is an open merged directory.
type dirFile struct {
	d *inode

	// mu protects snap, the listing later offsets are served from.
	mu   sync.Mutex
	snap []vfs.Dirent
	have bool
}

// ReadAt implements vfs.FileImpl.ReadAt.
func (*dirFile) ReadAt([]byte, int64) (int, error) { return 0, unix.EISDIR }

// WriteAt implements vfs.FileImpl.WriteAt.
func (*dirFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EISDIR }

// Stat implements vfs.FileImpl.Stat.
func (f *dirFile) Stat() (unix.Stat_t, error) { return f.d.Stat() }

// Close implements vfs.FileImpl.Close.
func (*dirFile) Close() error { return nil }

// Sync implements vfs.Syncer: nothing to write back.
func (*dirFile) Sync(bool) error { return nil }

// direntLen is the size of a linux_dirent64 record for name.
func direntLen(name string) int {
	return (19 + len(name) + 1 + 7) &^ 7
}

// Readdir implements vfs.DirReader. Reading at offset 0 (or the first
// read) takes a new snapshot of the merged listing; entry k (from 0) has
// cookie k+1.
func (f *dirFile) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if off == 0 || !f.have {
		snap, err := f.d.list()
		if err != nil {
			return nil, err
		}
		f.snap, f.have = snap, true
	}
	var out []vfs.Dirent
	size := 0
	for k := off; k < uint64(len(f.snap)); k++ {
		e := f.snap[k]
		n := direntLen(e.Name)
		if len(out) > 0 && maxBytes > 0 && size+n > maxBytes {
			break
		}
		out = append(out, e)
		size += n
	}
	return out, nil
}

var (
	_ vfs.FileImpl  = (*dirFile)(nil)
	_ vfs.DirReader = (*dirFile)(nil)
	_ vfs.Syncer    = (*dirFile)(nil)
)
