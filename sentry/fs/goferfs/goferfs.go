// Package goferfs is the file system the sentry sees through the gofer: each
// inode holds a gofer FID, and opened regular files are host FDs the gofer
// donated, read with pread directly.
//
// This first version is read-only: the gofer serves the tree read-only and
// metadata is cached for the life of the sandbox (revalidation of changes
// made on the host side comes with the writable gofer).
package goferfs

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// FS is one gofer connection's tree.
type FS struct {
	client *gofer.Client
}

// New returns the root inode of the tree the gofer serves.
func New(client *gofer.Client) (vfs.Inode, error) {
	fs := &FS{client: client}
	fid, st, err := client.Root()
	if err != nil {
		return nil, err
	}
	return fs.newInode(fid, st), nil
}

type inode struct {
	fs   *FS
	fid  gofer.FID
	stat unix.Stat_t

	// mu protects target.
	mu sync.Mutex
	// target caches a symlink's target.
	target *string
}

func (fs *FS) newInode(fid gofer.FID, st gofer.Stat) *inode {
	return &inode{fs: fs, fid: fid, stat: toLinuxStat(st)}
}

func toLinuxStat(s gofer.Stat) unix.Stat_t {
	return unix.Stat_t{
		Dev:     s.Dev,
		Ino:     s.Ino,
		Nlink:   uint64(s.Nlink),
		Mode:    s.Mode,
		Uid:     s.UID,
		Gid:     s.GID,
		Rdev:    s.Rdev,
		Size:    s.Size,
		Blksize: s.Blksize,
		Blocks:  s.Blocks,
		Atim:    s.Atime,
		Mtim:    s.Mtime,
		Ctim:    s.Ctime,
	}
}

// Stat implements vfs.Inode.Stat.
func (i *inode) Stat() (unix.Stat_t, error) { return i.stat, nil }

// Lookup implements vfs.Inode.Lookup.
func (i *inode) Lookup(name string) (vfs.Inode, error) {
	if i.stat.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	fids, stats, err := i.fs.client.Walk(i.fid, []string{name})
	if len(fids) == 1 {
		return i.fs.newInode(fids[0], stats[0]), nil
	}
	if err == nil {
		err = unix.ENOENT
	}
	return nil, err
}

// Readlink implements vfs.Inode.Readlink.
func (i *inode) Readlink() (string, error) {
	if i.stat.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.target != nil {
		return *i.target, nil
	}
	t, err := i.fs.client.Readlink(i.fid)
	if err != nil {
		return "", err
	}
	i.target = &t
	return t, nil
}

// Open implements vfs.Inode.Open.
func (i *inode) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
		return nil, unix.EROFS
	}
	switch i.stat.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return &dirFile{inode: i}, nil
	case unix.S_IFREG:
		fd, err := i.fs.client.Open(i.fid, unix.O_RDONLY)
		if err != nil {
			return nil, err
		}
		return &regularFile{inode: i, fd: fd}, nil
	default:
		// FIFOs, sockets and device nodes of the served tree are never
		// opened through the gofer.
		return nil, unix.EACCES
	}
}

// regularFile reads a donated host FD.
type regularFile struct {
	inode *inode
	fd    int
}

// ReadAt implements vfs.FileImpl.ReadAt.
func (f *regularFile) ReadAt(dst []byte, off int64) (int, error) {
	total := 0
	for total < len(dst) {
		n, err := unix.Pread(f.fd, dst[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
		total += n
	}
	return total, nil
}

// WriteAt implements vfs.FileImpl.WriteAt.
func (f *regularFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }

// Stat implements vfs.FileImpl.Stat.
func (f *regularFile) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return f.inode.stat, nil
	}
	// Keep the identity the sandbox saw at lookup.
	st.Dev, st.Ino = f.inode.stat.Dev, f.inode.stat.Ino
	return st, nil
}

// Size implements mm.Mappable.Size.
func (f *regularFile) Size() (int64, error) {
	st, err := f.Stat()
	return st.Size, err
}

// Close implements vfs.FileImpl.Close.
func (f *regularFile) Close() error { return unix.Close(f.fd) }

// dirFile lists a directory through the gofer.
type dirFile struct {
	inode *inode
}

// ReadAt implements vfs.FileImpl.ReadAt.
func (*dirFile) ReadAt([]byte, int64) (int, error) { return 0, unix.EISDIR }

// WriteAt implements vfs.FileImpl.WriteAt.
func (*dirFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }

// Stat implements vfs.FileImpl.Stat.
func (d *dirFile) Stat() (unix.Stat_t, error) { return d.inode.stat, nil }

// Close implements vfs.FileImpl.Close.
func (*dirFile) Close() error { return nil }

// Readdir implements vfs.DirReader.Readdir.
func (d *dirFile) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	if maxBytes > gofer.MaxGetdentsBytes {
		maxBytes = gofer.MaxGetdentsBytes
	}
	ents, err := d.inode.fs.client.Getdents(d.inode.fid, off, maxBytes)
	if err != nil {
		return nil, err
	}
	out := make([]vfs.Dirent, len(ents))
	for i, e := range ents {
		out[i] = vfs.Dirent{Ino: e.Ino, Off: e.Off, Type: e.Type, Name: e.Name}
	}
	return out, nil
}
