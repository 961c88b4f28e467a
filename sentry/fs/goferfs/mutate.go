package goferfs

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// The operations that change the tree: each is one gofer request. The VFS
// has checked permissions and existence and serialises mutations of a
// directory; the gofer re-checks everything that matters to the host.

// sameFS returns other as an inode of i's tree, or EXDEV.
func (i *inode) sameFS(other vfs.Inode) (*inode, error) {
	o, ok := other.(*inode)
	if !ok || o.fs != i.fs {
		return nil, unix.EXDEV
	}
	return o, nil
}

// Create implements vfs.DirOps.Create.
func (i *inode) Create(name string, flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	if i.fs.mayWriteBehind(i.fid) {
		return i.createBehind(name, mode, owner)
	}
	// Always read-write: the descriptor becomes the inode's shared one
	// for writers (the gofer, not the file's mode, decides access).
	fid, st, fd, err := i.fs.client.Create(i.fid, name, unix.O_RDWR, mode&0o7777, owner.UID, owner.GID)
	i.noteCreate(name, err)
	if err != nil {
		return nil, nil, err
	}
	n := i.fs.newInode(fid, st)
	return n, n.adoptHostFD(fd), nil
}

// CreateTmpfile implements vfs.TmpfileCreator.
func (i *inode) CreateTmpfile(flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	fid, st, fd, err := i.fs.client.CreateTmpfile(i.fid, flags&unix.O_EXCL, mode&0o7777, owner.UID, owner.GID)
	if err != nil {
		return nil, nil, err
	}
	n := i.fs.newInode(fid, st)
	return n, n.adoptHostFD(fd), nil
}

// Mkdir implements vfs.DirOps.Mkdir.
func (i *inode) Mkdir(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	fid, st, err := i.fs.client.Mkdir(i.fid, name, mode&0o7777, owner.UID, owner.GID)
	i.noteCreate(name, err)
	if err != nil {
		return nil, err
	}
	n := i.fs.newInode(fid, st)
	n.startNames()
	return n, nil
}

// Mknod implements vfs.DirOps.Mknod.
func (i *inode) Mknod(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	fid, st, err := i.fs.client.Mknod(i.fid, name, mode, owner.UID, owner.GID)
	i.noteCreate(name, err)
	if err != nil {
		return nil, err
	}
	return i.fs.newInode(fid, st), nil
}

// Symlink implements vfs.DirOps.Symlink.
func (i *inode) Symlink(name, target string, owner vfs.Owner) (vfs.Inode, error) {
	fid, st, err := i.fs.client.Symlink(i.fid, name, target, owner.UID, owner.GID)
	i.noteCreate(name, err)
	if err != nil {
		return nil, err
	}
	n := i.fs.newInode(fid, st)
	n.target = &target
	return n, nil
}

// Link implements vfs.DirOps.Link.
func (i *inode) Link(name string, target vfs.Inode) error {
	t, err := i.sameFS(target)
	if err != nil {
		return err
	}
	// The new name gets its own inode, which asks the gofer: the host
	// file must hold what was written and the attributes set.
	if t.behindOpen.Load() {
		if _, err := t.materialize(); err != nil {
			return err
		}
	}
	t.settle()
	i.fs.noteCopyUp()
	st, err := i.fs.client.Link(i.fid, name, t.fid)
	i.noteCreate(name, err)
	if err != nil {
		return err
	}
	i.fs.linkGen.Add(1)
	t.setStat(st)
	t.fs.hostChanged()
	return nil
}

// Unlink implements vfs.DirOps.Unlink.
func (i *inode) Unlink(name string) error {
	i.fs.linkGen.Add(1)
	// Counted again once done: an fstat of another name of the file
	// made meanwhile may show the old link count (hoststat.go).
	defer i.fs.linkGen.Add(1)
	err := i.fs.client.Unlink(i.fid, name, 0)
	i.noteRemove(name, err)
	return err
}

// Rmdir implements vfs.DirOps.Rmdir.
func (i *inode) Rmdir(name string) error {
	err := i.fs.client.Unlink(i.fid, name, unix.AT_REMOVEDIR)
	i.noteRemove(name, err)
	return err
}

// Rename implements vfs.DirOps.Rename.
func (i *inode) Rename(oldName string, newDir vfs.Inode, newName string, flags uint32) error {
	nd, err := i.sameFS(newDir)
	if err != nil {
		return err
	}
	i.fs.linkGen.Add(1)
	// Counted again once done, as in Unlink.
	defer i.fs.linkGen.Add(1)
	i.fs.noteCopyUp()
	err = i.fs.client.Rename(i.fid, oldName, nd.fid, newName, int(flags))
	switch {
	case err != nil:
		i.forgetNames()
		nd.forgetNames()
	case flags&unix.RENAME_EXCHANGE == 0:
		// An exchange leaves both names in place.
		i.removeName(oldName)
		nd.addName(newName)
	}
	return err
}

// SetStat implements vfs.SetStatter.
func (i *inode) SetStat(opts vfs.SetStatOpts) error {
	if opts.Mask == 0 {
		return nil
	}
	if opts.Mask&vfs.SetSize != 0 && opts.Size < 0 {
		return unix.EINVAL
	}
	// Counted once done, whether deferred, made through the host
	// descriptor or by the gofer.
	defer i.fs.hostChanged()
	i.fs.noteCopyUp()
	if opts.Mask&vfs.SetSize != 0 {
		defer i.fs.beginShrink()()
	}
	if i.deferSetStat(&opts) {
		return nil
	}
	if i.behindOpen.Load() {
		// The gofer's answer is the host file's: it must hold the data.
		if _, err := i.materialize(); err != nil {
			return err
		}
	}
	// Changes that cannot wait go after those that did.
	i.settle()
	if !i.setStatOnHostFD(opts) {
		st, err := i.fs.client.SetAttr(i.fid, gofer.SetAttrArgs{
			Mask:  opts.Mask,
			Mode:  opts.Mode & 0o7777,
			UID:   opts.UID,
			GID:   opts.GID,
			Size:  uint64(opts.Size),
			Atime: opts.Atime,
			Mtime: opts.Mtime,
		})
		if err != nil {
			return err
		}
		i.setStat(st)
	}
	if c := i.cached(); c != nil && opts.Mask&vfs.SetSize != 0 {
		// The page cache follows, as for ftruncate: truncate(2) of a
		// file that shared mappings hold.
		c.Truncate(i.fs.opts.MemFile, opts.Size)
	}
	return nil
}

// GetXattr implements vfs.Xattrs.
func (i *inode) GetXattr(name string, size int) ([]byte, error) {
	i.settle()
	v, n, err := i.fs.client.Getxattr(i.fid, name, size)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		// Only the length was asked for; the syscall reports len(v).
		return make([]byte, n), nil
	}
	return v, nil
}

// SetXattr implements vfs.Xattrs.
func (i *inode) SetXattr(name string, value []byte, flags int) error {
	i.settle()
	i.fs.noteCopyUp()
	defer i.fs.hostChanged()
	return i.fs.client.Setxattr(i.fid, name, value, flags)
}

// ListXattr implements vfs.Xattrs.
func (i *inode) ListXattr(size int) ([]string, error) {
	i.settle()
	names, _, err := i.fs.client.Listxattr(i.fid, vfsListMax)
	return names, err
}

// vfsListMax asks the gofer for every name; the syscall layer applies the
// caller's size after filtering.
const vfsListMax = 65536

// RemoveXattr implements vfs.Xattrs.
func (i *inode) RemoveXattr(name string) error {
	i.settle()
	i.fs.noteCopyUp()
	defer i.fs.hostChanged()
	return i.fs.client.Removexattr(i.fid, name)
}

// StatFS implements vfs.StatFSer.
func (i *inode) StatFS() (unix.Statfs_t, error) {
	s, err := i.fs.client.StatFS(i.fid)
	if err != nil {
		return unix.Statfs_t{}, err
	}
	return unix.Statfs_t{
		Type:    int64(s.Type),
		Bsize:   int64(s.Bsize),
		Blocks:  s.Blocks,
		Bfree:   s.Bfree,
		Bavail:  s.Bavail,
		Files:   s.Files,
		Ffree:   s.Ffree,
		Namelen: int64(s.Namelen),
		Frsize:  int64(s.Frsize),
		Flags:   int64(s.Flags),
	}, nil
}

// setStatOnHostFD applies opts through the inode's own host descriptor,
// if it has one, saving the gofer round trip: the descriptor already
// grants the sentry this file, and fchmod, fchown, futimens and ftruncate
// name no path. It reports false (nothing changed) when the change must
// go through the gofer.
func (i *inode) setStatOnHostFD(opts vfs.SetStatOpts) bool {
	i.mu.Lock()
	ro, rw := fdOf(i.hostFDs[0]), fdOf(i.hostFDs[1])
	// Forget leaves the descriptors open while they are borrowed.
	i.borrowed++
	i.mu.Unlock()
	defer func() {
		i.mu.Lock()
		i.borrowed--
		release := i.idleForgottenLocked()
		i.mu.Unlock()
		release()
	}()
	fd := rw
	if fd < 0 {
		fd = ro
	}
	if fd < 0 || (opts.Mask&vfs.SetSize != 0 && rw < 0) {
		return false
	}
	// Check everything can be done before doing any of it.
	if opts.Mask&(vfs.SetUID|vfs.SetGID) != 0 && unix.Geteuid() != 0 {
		return false
	}
	if opts.Mask&(vfs.SetUID|vfs.SetGID|vfs.SetMode) != 0 && i.fs.opts.IDsFromGofer {
		return false
	}
	if opts.Mask&vfs.SetSize != 0 {
		kept := i.privsBeforeWrite()
		if ignoringEINTR(func() error { return unix.Ftruncate(rw, opts.Size) }) != nil {
			return false
		}
		i.restorePrivs(rw, kept)
	}
	if opts.Mask&(vfs.SetUID|vfs.SetGID) != 0 {
		uid, gid := -1, -1
		if opts.Mask&vfs.SetUID != 0 {
			uid = int(opts.UID)
		}
		if opts.Mask&vfs.SetGID != 0 {
			gid = int(opts.GID)
		}
		if unix.Fchown(fd, uid, gid) != nil {
			return false
		}
	}
	if opts.Mask&vfs.SetMode != 0 {
		// After chown, which may have cleared set-ID bits the caller
		// wants to keep.
		if unix.Fchmod(fd, opts.Mode&0o7777) != nil {
			return false
		}
	}
	if opts.Mask&(vfs.SetAtime|vfs.SetMtime) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if opts.Mask&vfs.SetAtime != 0 {
			ts[0] = opts.Atime
		}
		if opts.Mask&vfs.SetMtime != 0 {
			ts[1] = opts.Mtime
		}
		// futimens: utimensat with a NULL path, which a confined
		// sentry's seccomp filter tells from a path walk.
		if _, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
			return false
		}
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		i.mu.Lock()
		st.Dev, st.Ino = i.stat.Dev, i.stat.Ino
		if i.fs.opts.IDsFromGofer {
			st.Uid, st.Gid = i.stat.Uid, i.stat.Gid
		}
		i.pending.apply(&st)
		i.stat, i.statValid, i.statGen = st, true, i.fs.linkGen.Load()
		i.mu.Unlock()
	}
	return true
}
