package proc

import (
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const (
	// procDev is the st_dev of /proc's files (anonymous device 0:22).
	procDev = 0x16
	// synthDev is the st_dev of the sentry's other synthetic trees
	// (sentry/fs/synth).
	synthDev = 0x10
	// rootIno is /proc's inode number, as on Linux.
	rootIno = 1
)

// filesystem is one /proc instance.
type filesystem struct {
	src Source
	cfg Config
	// ctime stamps every inode.
	ctime unix.Timespec
	// bootID is /proc/sys/kernel/random/boot_id.
	bootID string
}

// ino returns a stable inode number for the entry named by key: the same
// entry always gets the same number, so getdents and stat agree without
// any table.
func ino(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	// Keep clear of small numbers (the root, synth's counter).
	return h.Sum64() | 1<<62
}

// node is every /proc inode: a directory (list and lookup), a file (read)
// or a symlink (link), as mode says.
type node struct {
	fs   *filesystem
	ino  uint64
	mode uint32
	// attr, if set, checks that the entry still exists (its process, its
	// descriptor) and may set owner and permissions.
	attr func(st *unix.Stat_t) error

	// list returns a directory's entries, "." and ".." excluded.
	list func() ([]dirent, error)
	// lookup returns a directory's child.
	lookup func(name string) (vfs.Inode, error)
	// read generates a file's contents.
	read func() ([]byte, error)
	// link returns a symlink's target.
	link func() (string, error)
	// magic, if set, makes the symlink a magic link: following it goes
	// to this dentry (nil: follow link's text instead).
	magic func() (*vfs.Dentry, error)
	// write, if set, makes a file writable: it receives each write.
	write func(p []byte) (int, error)
	// openWrite, if set, makes a file writable too: it runs when the
	// file is opened for writing, and returns the handler of that open
	// file's writes (which may check its opener), or why the open fails.
	openWrite func() (func(p []byte) (int, error), error)
}

// dirent is one directory entry; pos orders entries and is the getdents
// cookie (entries are returned from a cookie onwards, so ones that come
// and go between calls never shift the others).
type dirent struct {
	pos  uint64
	name string
	ino  uint64
	typ  uint8
}

func (n *node) isDir() bool { return n.mode&unix.S_IFMT == unix.S_IFDIR }

// Stat implements vfs.Inode.Stat.
func (n *node) Stat() (unix.Stat_t, error) {
	nlink := uint64(1)
	if n.isDir() {
		nlink = 2
	}
	st := unix.Stat_t{
		Dev: procDev, Ino: n.ino, Mode: n.mode, Nlink: nlink, Blksize: 1024,
		Atim: n.fs.ctime, Mtim: n.fs.ctime, Ctim: n.fs.ctime,
	}
	if n.attr != nil {
		if err := n.attr(&st); err != nil {
			return unix.Stat_t{}, err
		}
	}
	return st, nil
}

// exists runs attr for its existence check.
func (n *node) exists() error {
	if n.attr == nil {
		return nil
	}
	var st unix.Stat_t
	return n.attr(&st)
}

// Lookup implements vfs.Inode.Lookup.
func (n *node) Lookup(name string) (vfs.Inode, error) {
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if err := n.exists(); err != nil {
		return nil, err
	}
	return n.lookup(name)
}

// Readlink implements vfs.Inode.Readlink.
func (n *node) Readlink() (string, error) {
	if n.link == nil {
		return "", unix.EINVAL
	}
	if err := n.exists(); err != nil {
		return "", err
	}
	return n.link()
}

// Open implements vfs.Inode.Open.
func (n *node) Open(flags int) (vfs.FileImpl, error) {
	if err := n.exists(); err != nil {
		return nil, err
	}
	switch {
	case n.isDir():
		if flags&unix.O_ACCMODE != unix.O_RDONLY {
			return nil, unix.EISDIR
		}
		return &dirFile{n: n}, nil
	case n.read != nil:
		if (flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0) && n.write == nil && n.openWrite == nil {
			return nil, unix.EACCES
		}
		f := &seqFile{n: n, write: n.write}
		if n.openWrite != nil && flags&unix.O_ACCMODE != unix.O_RDONLY {
			w, err := n.openWrite()
			if err != nil {
				return nil, err
			}
			f.write = w
		}
		return f, nil
	}
	return nil, unix.ELOOP // a symlink the VFS did not follow
}

// seqFile is an open /proc file.
type seqFile struct {
	n *node
	// write serves the file's writes, nil when it was not opened for
	// writing; immutable.
	write func(p []byte) (int, error)

	// mu protects data and valid.
	mu    sync.Mutex
	data  []byte
	valid bool
}

// ReadAt implements vfs.FileImpl.ReadAt: a read at offset 0 generates the
// contents afresh; later offsets read the same generation.
func (f *seqFile) ReadAt(dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if off == 0 || !f.valid {
		data, err := f.n.read()
		if err != nil {
			return 0, err
		}
		f.data, f.valid = data, true
	}
	if off >= int64(len(f.data)) {
		return 0, nil
	}
	return copy(dst, f.data[off:]), nil
}

// WriteAt implements vfs.FileImpl.WriteAt: the whole write goes to the
// file's handler, whatever the offset, as Linux's /proc writes do.
func (f *seqFile) WriteAt(src []byte, _ int64) (int, error) {
	if f.write == nil {
		return 0, unix.EBADF
	}
	return f.write(src)
}

// Stat implements vfs.FileImpl.Stat.
func (f *seqFile) Stat() (unix.Stat_t, error) { return f.n.Stat() }

// Close implements vfs.FileImpl.Close.
func (*seqFile) Close() error { return nil }

// dirFile is an open /proc directory.
type dirFile struct{ n *node }

func (*dirFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EISDIR }
func (*dirFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }
func (d *dirFile) Stat() (unix.Stat_t, error)       { return d.n.Stat() }
func (*dirFile) Close() error                       { return nil }

// Readdir implements vfs.DirReader.Readdir: "." and ".." (cookies 0 and
// 1), then the entries from cookie off on, about maxBytes of them.
func (d *dirFile) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	if err := d.n.exists(); err != nil {
		return nil, err
	}
	ents := []dirent{
		{pos: 0, name: ".", ino: d.n.ino, typ: unix.DT_DIR},
		{pos: 1, name: "..", ino: d.n.ino, typ: unix.DT_DIR},
	}
	more, err := d.n.list()
	if err != nil {
		return nil, err
	}
	ents = append(ents, more...)
	var out []vfs.Dirent
	size := 0
	for _, e := range ents {
		if e.pos < off {
			continue
		}
		// getdents64's record size.
		size += (19 + len(e.name) + 1 + 7) &^ 7
		if size > maxBytes && len(out) > 0 {
			break
		}
		out = append(out, vfs.Dirent{Ino: e.ino, Off: e.pos + 1, Type: e.typ, Name: e.name})
	}
	return out, nil
}

// Node constructors.

func (fs *filesystem) dir(key string, perm uint32, attr func(*unix.Stat_t) error, list func() ([]dirent, error), lookup func(string) (vfs.Inode, error)) *node {
	return &node{fs: fs, ino: ino(key), mode: unix.S_IFDIR | perm, attr: attr, list: list, lookup: lookup}
}

func (fs *filesystem) file(key string, perm uint32, attr func(*unix.Stat_t) error, read func() ([]byte, error)) *node {
	return &node{fs: fs, ino: ino(key), mode: unix.S_IFREG | perm, attr: attr, read: read}
}

func (fs *filesystem) symlink(key string, attr func(*unix.Stat_t) error, link func() (string, error)) *node {
	return &node{fs: fs, ino: ino(key), mode: unix.S_IFLNK | 0o777, attr: attr, link: link}
}

// entry is one child of a fixed directory.
type entry struct {
	name string
	// make builds the child; key is its inode key.
	make func(key string) *node
}

// fixedDir returns a directory of entries under key.
func (fs *filesystem) fixedDir(key string, perm uint32, attr func(*unix.Stat_t) error, entries []entry) *node {
	return fs.dir(key, perm, attr, func() ([]dirent, error) {
		out := make([]dirent, len(entries))
		for i, e := range entries {
			c := e.make(key + "/" + e.name)
			out[i] = dirent{pos: uint64(2 + i), name: e.name, ino: c.ino, typ: direntType(c.mode)}
		}
		return out, nil
	}, func(name string) (vfs.Inode, error) {
		for _, e := range entries {
			if e.name == name {
				return e.make(key + "/" + name), nil
			}
		}
		return nil, unix.ENOENT
	})
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// MagicLink implements vfs.MagicLinker for /proc/[pid]/fd entries.
func (n *node) MagicLink() (*vfs.Dentry, error) {
	if n.magic == nil {
		return nil, nil
	}
	if n.attr != nil {
		var st unix.Stat_t
		if err := n.attr(&st); err != nil {
			return nil, err
		}
	}
	return n.magic()
}
