package mqueue

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// BootRoot returns the root of an mqueue mount that boot makes from a
// container spec, before the sandbox's kernel exists. It shows the queues
// of the IPC namespace of the tasks that reach it: the sandbox has one
// IPC namespace, which every spec mount is made for, and the first task
// that uses the mount binds it to that namespace's file system. Until
// then (boot reading the mount's attributes) it looks like an empty
// mqueue root.
func BootRoot() vfs.Inode { return &bootRoot{} }

// bootRoot is BootRoot's inode: every operation is the namespace's root
// directory's once bound.
type bootRoot struct {
	fs atomic.Pointer[FS]
}

var (
	_ vfs.DirOps      = (*bootRoot)(nil)
	_ vfs.Revalidator = (*bootRoot)(nil)
	_ vfs.SetStatter  = (*bootRoot)(nil)
	_ vfs.StatFSer    = (*bootRoot)(nil)
)

// dir returns the root directory it stands for, or nil before a task
// reached it.
func (r *bootRoot) dir() *Dir {
	if fs := r.fs.Load(); fs != nil {
		return fs.root
	}
	ns := kernel.CallerMQNamespace()
	if ns == nil {
		return nil
	}
	r.fs.CompareAndSwap(nil, Get(ns))
	return r.fs.Load().root
}

// errUnbound is what operations that need the namespace fail with when
// no task has reached the mount yet (only the sentry's own accesses can).
const errUnbound = unix.EIO

func (r *bootRoot) Stat() (unix.Stat_t, error) {
	if d := r.dir(); d != nil {
		return d.Stat()
	}
	return unix.Stat_t{
		Dev: dev, Ino: kernel.MQRootIno, Mode: unix.S_IFDIR | unix.S_ISVTX | 0o777, Nlink: 2,
		Size: 2 * 20, Blksize: blockSize,
	}, nil
}

func (r *bootRoot) Lookup(name string) (vfs.Inode, error) {
	if d := r.dir(); d != nil {
		return d.Lookup(name)
	}
	return nil, unix.ENOENT
}

func (r *bootRoot) Revalidate(name string, cached vfs.Inode) bool {
	if d := r.dir(); d != nil {
		return d.Revalidate(name, cached)
	}
	return false
}

func (*bootRoot) Readlink() (string, error) { return "", unix.EINVAL }

func (r *bootRoot) Open(flags int) (vfs.FileImpl, error) {
	if d := r.dir(); d != nil {
		return d.Open(flags)
	}
	return nil, errUnbound
}

func (r *bootRoot) SetStat(opts vfs.SetStatOpts) error {
	if d := r.dir(); d != nil {
		return d.SetStat(opts)
	}
	return errUnbound
}

func (*bootRoot) StatFS() (unix.Statfs_t, error) { return statFS() }

func (r *bootRoot) Create(name string, flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	if d := r.dir(); d != nil {
		return d.Create(name, flags, mode, owner)
	}
	return nil, nil, errUnbound
}

func (r *bootRoot) Mknod(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	if d := r.dir(); d != nil {
		return d.Mknod(name, mode, owner)
	}
	return nil, errUnbound
}

func (r *bootRoot) Unlink(name string) error {
	if d := r.dir(); d != nil {
		return d.Unlink(name)
	}
	return errUnbound
}

func (*bootRoot) Mkdir(string, uint32, vfs.Owner) (vfs.Inode, error)   { return nil, unix.EPERM }
func (*bootRoot) Symlink(string, string, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }
func (*bootRoot) Link(string, vfs.Inode) error                         { return unix.EPERM }
func (*bootRoot) Rename(string, vfs.Inode, string, uint32) error       { return unix.EPERM }
func (*bootRoot) Rmdir(string) error                                   { return unix.EPERM }
