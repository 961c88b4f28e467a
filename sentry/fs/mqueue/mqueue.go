// Package mqueue is the mqueue file system (ipc/mqueue.c's mqueue_fs_type):
// the POSIX message queues of an IPC namespace shown as the regular files
// of one flat directory. Linux keys the superblock by namespace, so every
// mount of mqueue made in a namespace, and the internal mount mq_open(2)
// and mq_unlink(2) work through, show the same root directory and the
// same queues; here that is the FS of the namespace (Get).
//
// The queues and their names live in sentry/kernel (MQNamespace, MQueue);
// this package adds the file system's face: lookups and directory
// listings, stat and chmod/chown, unlink(2), open(2) (which gives a
// descriptor mq_send and mq_receive accept, as on Linux), creation of a
// queue with the default attributes by open(2) with O_CREAT or mknod(2) of
// a regular file, read(2) of the "QSIZE:..." status line, and poll
// readiness. Directories, symlinks, links, renames and other special
// files cannot be made (EPERM), and a queue file cannot be written
// (EINVAL), as in Linux.
//
// Queues come and go behind the VFS's back (mq_open, mq_unlink, other
// mounts), so the root directory revalidates cached names and caches no
// negative ones.
package mqueue

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const (
	// Magic is MQUEUE_MAGIC, statfs(2)'s f_type.
	Magic = 0x19800202
	// dev is the device number of every mqueue file: the sandbox has one
	// IPC namespace, hence one superblock.
	dev = 0x2e
	// blockSize is f_bsize (PAGE_SIZE).
	blockSize = 4096
)

// FS is the mqueue file system of one IPC namespace.
type FS struct {
	ns   *kernel.MQNamespace
	root *Dir
	// internal is the root of the namespace's internal mount
	// (ipc_ns->mq_mnt), where mq_open's descriptors are opened and
	// mq_unlink removes names; immutable.
	internal *vfs.Dentry
}

// Get returns the mqueue file system of ns.
func Get(ns *kernel.MQNamespace) *FS {
	return ns.FileSystem(func() any {
		fs := &FS{ns: ns}
		fs.root = &Dir{fs: fs}
		fs.internal = vfs.NewRoot(fs.root)
		return fs
	}).(*FS)
}

// Root returns the root directory, which every mount of the namespace's
// mqueue file system shows.
func (fs *FS) Root() vfs.Inode { return fs.root }

// InternalRoot returns the root of the internal mount, which no path of
// the sandbox reaches: descriptors opened there read as "/NAME" in
// /proc/PID/fd, as on Linux.
func (fs *FS) InternalRoot() *vfs.Dentry { return fs.internal }

// OpenQueue returns the open file description mq_open made for q, whose
// open MQOpen took (the file releases it): the dentry is q's name under
// the internal mount, or an unlinked one if the name went meanwhile.
func (fs *FS) OpenQueue(q *kernel.MQueue, flags int) *vfs.File {
	d, err := vfs.Resolve(fs.internal, fs.internal, q.Name(), vfs.ResolveOpts{})
	if err != nil || d.Inode().(*Queue).q != q {
		d = vfs.NewAnonymous(q.Name(), &Queue{fs: fs, q: q})
	}
	return vfs.NewFile(&File{fs: fs, q: q}, d, flags)
}

// Dir is the root directory.
type Dir struct {
	fs *FS
}

var (
	_ vfs.DirOps      = (*Dir)(nil)
	_ vfs.Revalidator = (*Dir)(nil)
	_ vfs.SetStatter  = (*Dir)(nil)
	_ vfs.StatFSer    = (*Dir)(nil)
)

// Stat implements vfs.Inode.Stat.
func (d *Dir) Stat() (unix.Stat_t, error) {
	st := d.fs.ns.DirStat()
	st.Dev = dev
	return st, nil
}

// Lookup implements vfs.Inode.Lookup.
func (d *Dir) Lookup(name string) (vfs.Inode, error) {
	if len(name) > vfs.NameMax {
		return nil, unix.ENAMETOOLONG
	}
	q := d.fs.ns.Lookup(name)
	if q == nil {
		return nil, unix.ENOENT
	}
	return &Queue{fs: d.fs, q: q}, nil
}

// Revalidate implements vfs.Revalidator: a cached name is good while it
// still names the same queue.
func (d *Dir) Revalidate(name string, cached vfs.Inode) bool {
	q := d.fs.ns.Lookup(name)
	if cached == nil {
		return q == nil
	}
	c, ok := cached.(*Queue)
	return ok && c.q == q
}

// Readlink implements vfs.Inode.Readlink.
func (*Dir) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements vfs.Inode.Open.
func (d *Dir) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EISDIR
	}
	return &dirFile{d: d}, nil
}

// SetStat implements vfs.SetStatter (chmod, chown and utimes of a mount's
// root change the namespace's directory).
func (d *Dir) SetStat(opts vfs.SetStatOpts) error { return d.fs.ns.SetDirStat(opts) }

// StatFS implements vfs.StatFSer.
func (*Dir) StatFS() (unix.Statfs_t, error) { return statFS() }

// statFS is simple_statfs: no blocks or inodes to count.
func statFS() (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: Magic, Bsize: blockSize, Namelen: vfs.NameMax, Frsize: blockSize}, nil
}

// Create implements vfs.DirOps.Create (mqueue_create): a queue with the
// namespace's default attributes.
func (d *Dir) Create(name string, flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	q, err := d.fs.ns.CreateForCaller(name, mode&0o7777, owner)
	if err != nil {
		return nil, nil, err
	}
	if err := q.Open(); err != nil {
		return nil, nil, err // unlinked already by another task
	}
	return &Queue{fs: d.fs, q: q}, &File{fs: d.fs, q: q}, nil
}

// Mknod implements vfs.DirOps.Mknod: a regular file is a queue (mknod(2)
// creates through vfs_create), anything else is EPERM.
func (d *Dir) Mknod(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	if mode&unix.S_IFMT != unix.S_IFREG && mode&unix.S_IFMT != 0 {
		return nil, unix.EPERM
	}
	q, err := d.fs.ns.CreateForCaller(name, mode&0o7777, owner)
	if err != nil {
		return nil, err
	}
	return &Queue{fs: d.fs, q: q}, nil
}

// Mkdir implements vfs.DirOps.Mkdir: the directory is flat.
func (*Dir) Mkdir(string, uint32, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }

// Symlink implements vfs.DirOps.Symlink.
func (*Dir) Symlink(string, string, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }

// Link implements vfs.DirOps.Link.
func (*Dir) Link(string, vfs.Inode) error { return unix.EPERM }

// Rename implements vfs.DirOps.Rename.
func (*Dir) Rename(string, vfs.Inode, string, uint32) error { return unix.EPERM }

// Rmdir implements vfs.DirOps.Rmdir.
func (*Dir) Rmdir(string) error { return unix.EPERM }

// Unlink implements vfs.DirOps.Unlink (mqueue_unlink): the name goes; the
// queue lives on while it is open. The internal mount's cached name is
// dropped at once, so that mq_open's descriptors of the queue read as
// deleted in /proc/PID/fd whichever mount the name went through.
func (d *Dir) Unlink(name string) error {
	if err := d.fs.ns.Unlink(name); err != nil {
		return err
	}
	// The lookup revalidates the cached name and finds it gone.
	_, _ = vfs.Resolve(d.fs.internal, d.fs.internal, name, vfs.ResolveOpts{})
	return nil
}

// dirFile is an open root directory.
type dirFile struct{ d *Dir }

func (*dirFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EISDIR }
func (*dirFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }
func (f *dirFile) Stat() (unix.Stat_t, error)       { return f.d.Stat() }
func (*dirFile) Close() error                       { return nil }

// Directory cookies: "." is 1, ".." is 2, and a queue's is 2 plus its
// creation number, so a cookie keeps its place whatever comes and goes.
const (
	cookieDot    = 1
	cookieDotDot = 2
)

// Readdir implements vfs.DirReader.
func (f *dirFile) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	var out []vfs.Dirent
	size := 0
	add := func(e vfs.Dirent) bool {
		n := (19 + len(e.Name) + 1 + 7) &^ 7 // struct linux_dirent64
		if len(out) > 0 && maxBytes > 0 && size+n > maxBytes {
			return false
		}
		out = append(out, e)
		size += n
		return true
	}
	root, _ := f.d.Stat()
	if off < cookieDot && !add(vfs.Dirent{Ino: root.Ino, Off: cookieDot, Type: unix.DT_DIR, Name: "."}) {
		return out, nil
	}
	if off < cookieDotDot && !add(vfs.Dirent{Ino: root.Ino, Off: cookieDotDot, Type: unix.DT_DIR, Name: ".."}) {
		return out, nil
	}
	for _, e := range f.d.fs.ns.Entries() {
		cookie := cookieDotDot + e.Queue.Ino() - root.Ino
		if cookie <= off {
			continue
		}
		if !add(vfs.Dirent{Ino: e.Queue.Ino(), Off: cookie, Type: synth.DirentType(unix.S_IFREG), Name: e.Name}) {
			break
		}
	}
	return out, nil
}
