package overlay

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// lockForChange copies the directory d up and returns its upper DirOps
// with d.dirMu held; unlock releases it.
func (d *inode) lockForChange() (ops vfs.DirOps, unlock func(), err error) {
	if !d.isDir() {
		return nil, nil, unix.ENOTDIR
	}
	if err := d.copyUp(-1); err != nil {
		return nil, nil, err
	}
	ops, ok := d.upperInode().(vfs.DirOps)
	if !ok {
		return nil, nil, unix.EROFS
	}
	d.dirMu.Lock()
	if d.dead {
		d.dirMu.Unlock()
		return nil, nil, unix.ENOENT
	}
	return ops, d.dirMu.Unlock, nil
}

// created records the new upper file u called name; d.dirMu is held. A
// directory made where a lower name was whited out is opaque (it has no
// lower part in any case).
func (d *inode) created(name string, u vfs.Inode) (*inode, error) {
	ust, err := u.Stat()
	if err != nil {
		return nil, err
	}
	c := d.fs.newInode(d, name, nil, nil, u, &ust)
	if _, ok := d.whiteouts[name]; ok {
		delete(d.whiteouts, name)
		c.opaque = c.isDir()
	}
	d.mu.Lock()
	d.putChildLocked(name, c)
	d.mu.Unlock()
	return c, nil
}

// Create implements vfs.DirOps.Create.
func (d *inode) Create(name string, flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	ops, unlock, err := d.lockForChange()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	u, f, err := ops.Create(name, flags, mode, owner)
	if err != nil {
		return nil, nil, err
	}
	c, err := d.created(name, u)
	if err != nil {
		f.Close()
		_ = ops.Unlink(name)
		return nil, nil, err
	}
	return c, c.wrap(f, c.upper.Load().same), nil
}

// CreateTmpfile implements vfs.TmpfileCreator (open(2)'s O_TMPFILE): an
// unnamed file of the upper layer, made in the copied-up directory, that
// Link can name like any upper file (the VFS refuses that for O_EXCL).
func (d *inode) CreateTmpfile(flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	_, unlock, err := d.lockForChange()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	tc, ok := d.upperInode().(vfs.TmpfileCreator)
	if !ok {
		return nil, nil, unix.EOPNOTSUPP
	}
	u, f, err := tc.CreateTmpfile(flags, mode, owner)
	if err != nil {
		return nil, nil, err
	}
	ust, err := u.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	c := d.fs.newInode(d, "", nil, nil, u, &ust)
	c.unlinked = true
	return c, c.wrap(f, c.upper.Load().same), nil
}

// Mkdir implements vfs.DirOps.Mkdir.
func (d *inode) Mkdir(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	return d.make(name, func(ops vfs.DirOps) (vfs.Inode, error) {
		return ops.Mkdir(name, mode, owner)
	}, true)
}

// Mknod implements vfs.DirOps.Mknod.
func (d *inode) Mknod(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	return d.make(name, func(ops vfs.DirOps) (vfs.Inode, error) {
		return ops.Mknod(name, mode, owner)
	}, false)
}

// Symlink implements vfs.DirOps.Symlink.
func (d *inode) Symlink(name, target string, owner vfs.Owner) (vfs.Inode, error) {
	return d.make(name, func(ops vfs.DirOps) (vfs.Inode, error) {
		return ops.Symlink(name, target, owner)
	}, false)
}

// make creates name in the upper directory with mk.
func (d *inode) make(name string, mk func(vfs.DirOps) (vfs.Inode, error), dir bool) (vfs.Inode, error) {
	ops, unlock, err := d.lockForChange()
	if err != nil {
		return nil, err
	}
	defer unlock()
	u, err := mk(ops)
	if err != nil {
		return nil, err
	}
	c, err := d.created(name, u)
	if err != nil {
		if dir {
			_ = ops.Rmdir(name)
		} else {
			_ = ops.Unlink(name)
		}
		return nil, err
	}
	return c, nil
}

// Link implements vfs.DirOps.Link: the target is copied up and linked in
// the upper tree.
func (d *inode) Link(name string, target vfs.Inode) error {
	t, ok := target.(*inode)
	if !ok || t.fs != d.fs {
		return unix.EXDEV
	}
	if t.isDir() {
		return unix.EPERM
	}
	if err := t.copyUp(-1); err != nil {
		return err
	}
	ops, unlock, err := d.lockForChange()
	if err != nil {
		return err
	}
	defer unlock()
	if err := ops.Link(name, t.upperInode()); err != nil {
		return err
	}
	delete(d.whiteouts, name)
	d.mu.Lock()
	d.putChildLocked(name, t)
	d.mu.Unlock()
	t.mu.Lock()
	if t.unlinked {
		// An O_TMPFILE file's first name, or a name again.
		t.parent, t.name, t.unlinked = d, name, false
	}
	t.mu.Unlock()
	return nil
}

// Unlink implements vfs.DirOps.Unlink.
func (d *inode) Unlink(name string) error {
	return d.remove(name, false)
}

// Rmdir implements vfs.DirOps.Rmdir: the merged directory must be empty.
func (d *inode) Rmdir(name string) error {
	return d.remove(name, true)
}

// remove removes name: its upper file if any, and the lower one with a
// whiteout.
func (d *inode) remove(name string, rmdir bool) error {
	ops, unlock, err := d.lockForChange()
	if err != nil {
		return err
	}
	defer unlock()
	c, err := d.lookupLocked(name)
	if err != nil {
		return err
	}
	switch {
	case rmdir && !c.isDir():
		return unix.ENOTDIR
	case !rmdir && c.isDir():
		return unix.EISDIR
	}
	hasLower, err := d.lowerHas(name, c)
	if err != nil {
		return err
	}
	if rmdir {
		c.dirMu.Lock()
		defer c.dirMu.Unlock()
		empty, err := c.emptyLocked()
		if err != nil {
			return err
		}
		if !empty {
			return unix.ENOTEMPTY
		}
	}
	hasUpper := c.upperInode() != nil
	if hasUpper {
		if rmdir {
			err = ops.Rmdir(name)
		} else {
			err = ops.Unlink(name)
		}
		if err != nil {
			return err
		}
	}
	if rmdir {
		c.dead = true
	}
	d.dropChild(name, c)
	if hasLower {
		d.whiteout(name)
		if !hasUpper {
			// Only a whiteout was added, which on Linux changes the
			// upper directory too.
			touch(d.upperInode())
		}
	}
	return nil
}

// whiteout hides the lower name; d.dirMu is held.
func (d *inode) whiteout(name string) {
	if d.whiteouts == nil {
		d.whiteouts = make(map[string]struct{})
	}
	d.whiteouts[name] = struct{}{}
}

// dropChild forgets the child c called name, which lost that name; d.dirMu
// is held.
func (d *inode) dropChild(name string, c *inode) {
	d.mu.Lock()
	if d.children[name].get() == c {
		delete(d.children, name)
	}
	d.mu.Unlock()
	c.mu.Lock()
	c.unlinked = true
	c.mu.Unlock()
}

// touch sets a directory's mtime (and so ctime) to now.
func touch(in vfs.Inode) {
	if s, ok := in.(vfs.SetStatter); ok {
		now := unix.Timespec{Nsec: unix.UTIME_NOW}
		_ = s.SetStat(vfs.SetStatOpts{Mask: vfs.SetMtime, Mtime: now})
	}
}

// lockDirs takes the dirMu of a and b in address order.
func lockDirs(a, b *inode) (unlock func()) {
	if a == b {
		a.dirMu.Lock()
		return a.dirMu.Unlock
	}
	if uintptr(unsafe.Pointer(b)) < uintptr(unsafe.Pointer(a)) {
		a, b = b, a
	}
	a.dirMu.Lock()
	b.dirMu.Lock()
	return func() {
		b.dirMu.Unlock()
		a.dirMu.Unlock()
	}
}

// Rename implements vfs.DirOps.Rename.
func (d *inode) Rename(oldName string, newDir vfs.Inode, newName string, flags uint32) error {
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != d.fs {
		return unix.EXDEV
	}
	if !d.isDir() || !nd.isDir() {
		return unix.ENOTDIR
	}
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 ||
		flags == unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE {
		return unix.EINVAL
	}
	exchange := flags&unix.RENAME_EXCHANGE != 0

	// The VFS holds both directories' mutation locks, so the names stay
	// as looked up here while things are copied up.
	in, err := d.Lookup(oldName)
	if err != nil {
		return err
	}
	src := in.(*inode)
	var dst *inode
	switch in, err := nd.Lookup(newName); err {
	case nil:
		dst = in.(*inode)
	case unix.ENOENT:
	default:
		return err
	}
	switch {
	case dst == nil && exchange:
		return unix.ENOENT
	case dst != nil && flags&unix.RENAME_NOREPLACE != 0:
		return unix.EEXIST
	case dst == src:
		return nil
	}
	// A directory with a lower part cannot move (no redirect_dir).
	if src.isDir() && src.lower != nil {
		return unix.EXDEV
	}
	if exchange && dst.isDir() && dst.lower != nil {
		return unix.EXDEV
	}
	if !exchange && dst != nil {
		switch {
		case src.isDir() && !dst.isDir():
			return unix.ENOTDIR
		case !src.isDir() && dst.isDir():
			return unix.EISDIR
		}
	}
	if err := src.copyUp(-1); err != nil {
		return err
	}
	if exchange {
		if err := dst.copyUp(-1); err != nil {
			return err
		}
	}
	if err := nd.copyUp(-1); err != nil {
		return err
	}
	ops, ok := d.upperInode().(vfs.DirOps)
	if !ok {
		return unix.EROFS
	}

	unlock := lockDirs(d, nd)
	defer unlock()
	if d.dead || nd.dead {
		return unix.ENOENT
	}
	if c, err := d.lookupLocked(oldName); err != nil || c != src {
		// Changed behind the VFS's back.
		return unix.ENOENT
	}
	if c, _ := nd.lookupLocked(newName); c != dst {
		return unix.ENOENT
	}
	hasLower := false
	if !exchange {
		if hasLower, err = d.lowerHas(oldName, src); err != nil {
			return err
		}
	}
	if !exchange && dst != nil && dst.isDir() {
		if dst == d {
			// a/x over a: a holds x.
			return unix.ENOTEMPTY
		}
		dst.dirMu.Lock()
		defer dst.dirMu.Unlock()
		empty, err := dst.emptyLocked()
		if err != nil {
			return err
		}
		if !empty {
			return unix.ENOTEMPTY
		}
	}
	if err := ops.Rename(oldName, nd.upperInode(), newName, flags); err != nil {
		return err
	}

	// Commit the merged view.
	if exchange {
		d.mu.Lock()
		d.putChildLocked(oldName, dst)
		d.mu.Unlock()
	} else {
		d.mu.Lock()
		delete(d.children, oldName)
		d.mu.Unlock()
		if dst != nil {
			if dst.isDir() {
				dst.dead = true
			}
			dst.mu.Lock()
			dst.unlinked = true
			dst.mu.Unlock()
		}
		delete(nd.whiteouts, newName)
		if hasLower {
			d.whiteout(oldName)
		}
	}
	nd.mu.Lock()
	nd.putChildLocked(newName, src)
	nd.mu.Unlock()
	src.mu.Lock()
	src.parent, src.name = nd, newName
	src.mu.Unlock()
	if exchange {
		dst.mu.Lock()
		dst.parent, dst.name = d, oldName
		dst.mu.Unlock()
	}
	return nil
}
