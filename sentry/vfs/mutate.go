package vfs

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// renameMu serialises renames, so that the "is the target inside the
// source?" check and the move itself see a tree no other rename changes
// (Linux's s_vfs_rename_mutex). Lock order: renameMu, then the dirMu of
// the directories involved in address order, then Dentry.mu.
var renameMu sync.Mutex

// mountRoot returns the root of the mount d belongs to.
func (d *Dentry) mountRoot() *Dentry {
	for {
		p := d.getParent()
		if p == nil {
			return d
		}
		d = p
	}
}

func (d *Dentry) getParent() *Dentry {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.parent
}

// SetReadOnly makes the mount rooted at d read-only; call it before the
// mount is reachable.
func (d *Dentry) SetReadOnly() { d.readOnly.Store(true) }

// SetMountFlags changes a mount's read-only and noexec flags (a remount);
// d is the mount's root.
func (d *Dentry) SetMountFlags(readOnly, noExec bool) {
	d.readOnly.Store(readOnly)
	d.noExec.Store(noExec)
}

// SetNoExec makes the mount rooted at d refuse execution (noexec); call it
// before the mount is reachable.
func (d *Dentry) SetNoExec() { d.noExec.Store(true) }

// SetNoSuid makes execve ignore the set-user-ID and set-group-ID bits of
// the files of the mount rooted at d (nosuid); call it before the mount is
// reachable, or for a remount.
func (d *Dentry) SetNoSuid(v bool) { d.noSuid.Store(v) }

// NoSuid reports whether d lives on a nosuid mount.
func (d *Dentry) NoSuid() bool { return d.mountRoot().noSuid.Load() }

// NoExec reports whether d lives on a noexec mount.
func (d *Dentry) NoExec() bool { return d.mountRoot().noExec.Load() }

// ReadOnly reports whether d lives on a read-only mount or a read-only
// file system (ReadOnlyFS): either refuses changes with EROFS, so a
// remount that makes the mount writable does not make a file system that
// cannot change writable.
func (d *Dentry) ReadOnly() bool {
	r := d.mountRoot()
	if r.readOnly.Load() {
		return true
	}
	fs, ok := r.inode.(ReadOnlyFS)
	return ok && fs.ReadOnlyFS()
}

// MountReadOnly reports whether the mount d lives on is read-only,
// whatever its file system is (the "ro" of /proc/self/mountinfo's mount
// options).
func (d *Dentry) MountReadOnly() bool { return d.mountRoot().readOnly.Load() }

// Deleted reports whether d's name was unlinked or replaced.
func (d *Dentry) Deleted() bool { return d.deleted.Load() }

// isMountPoint reports whether something is mounted on d or d is the root
// of a mount.
func (d *Dentry) isMountPoint() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mounted != nil || d.mountpoint != nil || d.parent == nil
}

// dirOps returns the DirOps of a directory dentry, or the errno for a
// file system that cannot change.
func (d *Dentry) dirOps() (DirOps, error) {
	if d.ReadOnly() {
		return nil, unix.EROFS
	}
	ops, ok := d.inode.(DirOps)
	if !ok {
		// A synthetic file system (proc, sys, dev): Linux says EACCES
		// for most, but none of them is a place files can be made.
		return nil, unix.EPERM
	}
	return ops, nil
}

// mayCreate checks that creds may add a name to dir (write and search).
func mayCreate(dir *Dentry, creds *Creds) error {
	return creds.mayAccessDentry(dir, MayWrite|MayExec)
}

// lookupLocked returns dir's child called name, or nil if there is none;
// dir.dirMu is held.
func (dir *Dentry) lookupLocked(name string) (*Dentry, error) {
	c, err := dir.child(name)
	if err == unix.ENOENT {
		return nil, nil
	}
	return c, err
}

// addChildLocked records a new name in dir's cache; dir.dirMu is held.
func (dir *Dentry) addChildLocked(name string, inode Inode) *Dentry {
	c := &Dentry{parent: dir, name: name, inode: inode}
	dir.mu.Lock()
	defer dir.mu.Unlock()
	dir.putChildLocked(name, c)
	return c
}

// removeChildLocked drops name from dir's cache and marks its dentry
// deleted; dir.dirMu is held.
func (dir *Dentry) removeChildLocked(name string) {
	dir.mu.Lock()
	c := dir.children[name]
	delete(dir.children, name)
	dir.mu.Unlock()
	if c != nil {
		c.markDeleted()
	}
	dir.cacheNegative(name)
}

func invalidate(i Inode) {
	if inv, ok := i.(Invalidator); ok {
		inv.Invalidate()
	}
}

// createCommon does the checks every creation shares and calls make with
// dir's DirOps while holding dir's mutation lock.
func (dir *Dentry) createCommon(name string, creds *Creds, make func(DirOps) (Inode, error)) (*Dentry, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	dir = dir.top()
	if dir.Deleted() {
		return nil, unix.ENOENT
	}
	if err := mayCreate(dir, creds); err != nil {
		return nil, err
	}
	ops, err := dir.dirOps()
	if err != nil {
		// Linux reports EEXIST before EROFS for an existing name.
		if c, lerr := dir.child(name); lerr == nil && c != nil {
			return nil, unix.EEXIST
		}
		return nil, err
	}
	dir.dirMu.Lock()
	defer dir.dirMu.Unlock()
	if c, err := dir.lookupLocked(name); err != nil {
		return nil, err
	} else if c != nil {
		return nil, unix.EEXIST
	}
	inode, err := make(ops)
	if err != nil {
		return nil, err
	}
	invalidate(dir.inode)
	c := dir.addChildLocked(name, inode)
	// Shrink the cache once dir's locks are released.
	defer dcache.shrink()
	return c, nil
}

func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return unix.EEXIST
	case len(name) > NameMax:
		return unix.ENAMETOOLONG
	}
	return nil
}

// Create creates and opens a regular file called name in dir.
func (dir *Dentry) Create(name string, flags int, mode uint32, owner Owner, creds *Creds) (*Dentry, FileImpl, error) {
	var impl FileImpl
	d, err := dir.createCommon(name, creds, func(ops DirOps) (Inode, error) {
		inode, f, err := ops.Create(name, flags, unix.S_IFREG|mode&0o7777, owner)
		impl = f
		return inode, err
	})
	return d, impl, err
}

// Mkdir creates a directory called name in dir.
func (dir *Dentry) Mkdir(name string, mode uint32, owner Owner, creds *Creds) (*Dentry, error) {
	return dir.createCommon(name, creds, func(ops DirOps) (Inode, error) {
		return ops.Mkdir(name, unix.S_IFDIR|mode&0o7777, owner)
	})
}

// Mknod creates a FIFO, socket or regular file called name in dir.
func (dir *Dentry) Mknod(name string, mode uint32, owner Owner, creds *Creds) (*Dentry, error) {
	return dir.createCommon(name, creds, func(ops DirOps) (Inode, error) {
		return ops.Mknod(name, mode, owner)
	})
}

// Symlink creates a symbolic link called name in dir.
func (dir *Dentry) Symlink(name, target string, owner Owner, creds *Creds) (*Dentry, error) {
	return dir.createCommon(name, creds, func(ops DirOps) (Inode, error) {
		return ops.Symlink(name, target, owner)
	})
}

// Link gives old's inode the name name in dir.
func (dir *Dentry) Link(name string, old *Dentry, creds *Creds) error {
	dir = dir.top()
	if dir.mountRoot() != old.mountRoot() {
		return unix.EXDEV
	}
	st, err := old.inode.Stat()
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EPERM
	}
	_, err = dir.createCommon(name, creds, func(ops DirOps) (Inode, error) {
		if err := ops.Link(name, old.inode); err != nil {
			return nil, err
		}
		// The new name gets its own lookup: a file system may tie an
		// inode object to the name it was found by (a gofer FID is
		// reopened by name), and the old name may go first.
		inode, err := dir.inode.Lookup(name)
		if err == nil {
			return inode, nil
		}
		if _, ok := old.inode.(Forgetter); ok {
			// Sharing the inode would let the old name's removal
			// take the new name's resources with it.
			return nil, err
		}
		return old.inode, nil
	})
	if err == nil {
		invalidate(old.inode)
	}
	return err
}

// removeCommon checks and performs an unlink (rmdir false) or rmdir of
// name in dir.
func (dir *Dentry) removeCommon(name string, rmdir bool, creds *Creds) error {
	dir = dir.top()
	switch {
	case name == ".":
		if rmdir {
			return unix.EINVAL
		}
		return unix.EISDIR
	case name == "..":
		if rmdir {
			return unix.ENOTEMPTY
		}
		return unix.EISDIR
	case len(name) > NameMax:
		return unix.ENAMETOOLONG
	}
	if err := mayCreate(dir, creds); err != nil {
		return err
	}
	dir.dirMu.Lock()
	defer dir.dirMu.Unlock()
	c, err := dir.lookupLocked(name)
	if err != nil {
		return err
	}
	if c == nil {
		return unix.ENOENT
	}
	st, err := c.inode.Stat()
	if err != nil {
		return err
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case rmdir && !isDir:
		return unix.ENOTDIR
	case !rmdir && isDir:
		return unix.EISDIR
	}
	if creds != nil {
		dirSt, err := dir.inode.Stat()
		if err != nil {
			return err
		}
		if err := creds.mayDelete(&dirSt, &st); err != nil {
			return err
		}
	}
	if c.isMountPoint() {
		return unix.EBUSY
	}
	ops, err := dir.dirOps()
	if err != nil {
		return err
	}
	if rmdir {
		err = ops.Rmdir(name)
	} else {
		err = ops.Unlink(name)
	}
	if err != nil {
		return err
	}
	dir.removeChildLocked(name)
	invalidate(dir.inode)
	invalidate(c.inode)
	return nil
}

// Unlink removes the non-directory name from dir.
func (dir *Dentry) Unlink(name string, creds *Creds) error {
	return dir.removeCommon(name, false, creds)
}

// Rmdir removes the empty directory name from dir.
func (dir *Dentry) Rmdir(name string, creds *Creds) error {
	return dir.removeCommon(name, true, creds)
}

// isAncestorOf reports whether d is a (strict or not) ancestor of c
// within one mount; renameMu is held.
func (d *Dentry) isAncestorOf(c *Dentry) bool {
	for c != nil {
		if c == d {
			return true
		}
		c = c.getParent()
	}
	return false
}

// lockDirs takes the mutation locks of a and b in address order.
func lockDirs(a, b *Dentry) (unlock func()) {
	if a == b {
		a.dirMu.Lock()
		return a.dirMu.Unlock
	}
	first, second := a, b
	if pointerLess(b, a) {
		first, second = b, a
	}
	first.dirMu.Lock()
	second.dirMu.Lock()
	return func() {
		second.dirMu.Unlock()
		first.dirMu.Unlock()
	}
}

// Rename moves oldName in oldDir to newName in newDir, with renameat2's
// RENAME_NOREPLACE and RENAME_EXCHANGE flags.
func Rename(oldDir *Dentry, oldName string, newDir *Dentry, newName string, flags uint32, creds *Creds) error {
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 ||
		flags == unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE {
		return unix.EINVAL
	}
	for _, n := range []string{oldName, newName} {
		switch {
		case n == "." || n == ".." || n == "":
			return unix.EBUSY
		case len(n) > NameMax:
			return unix.ENAMETOOLONG
		}
	}
	oldDir, newDir = oldDir.top(), newDir.top()
	if oldDir.mountRoot() != newDir.mountRoot() {
		return unix.EXDEV
	}
	if err := mayCreate(oldDir, creds); err != nil {
		return err
	}
	if err := mayCreate(newDir, creds); err != nil {
		return err
	}
	renameMu.Lock()
	defer renameMu.Unlock()
	unlock := lockDirs(oldDir, newDir)
	defer unlock()

	src, err := oldDir.lookupLocked(oldName)
	if err != nil {
		return err
	}
	if src == nil {
		return unix.ENOENT
	}
	dst, err := newDir.lookupLocked(newName)
	if err != nil {
		return err
	}
	exchange := flags&unix.RENAME_EXCHANGE != 0
	if dst == nil && exchange {
		return unix.ENOENT
	}
	if dst != nil && flags&unix.RENAME_NOREPLACE != 0 {
		return unix.EEXIST
	}
	srcSt, err := src.inode.Stat()
	if err != nil {
		return err
	}
	srcIsDir := srcSt.Mode&unix.S_IFMT == unix.S_IFDIR
	var dstSt unix.Stat_t
	dstIsDir := false
	if dst != nil {
		if dstSt, err = dst.inode.Stat(); err != nil {
			return err
		}
		dstIsDir = dstSt.Mode&unix.S_IFMT == unix.S_IFDIR
		if dst.inode == src.inode || (dstSt.Dev == srcSt.Dev && dstSt.Ino == srcSt.Ino) {
			// Two names of one file: Linux does nothing.
			return nil
		}
		if !exchange {
			switch {
			case srcIsDir && !dstIsDir:
				return unix.ENOTDIR
			case !srcIsDir && dstIsDir:
				return unix.EISDIR
			}
		}
	}
	// A directory cannot move below itself.
	if srcIsDir && src.isAncestorOf(newDir) {
		return unix.EINVAL
	}
	if exchange && dstIsDir && dst.isAncestorOf(oldDir) {
		return unix.EINVAL
	}
	if creds != nil {
		oldSt, err := oldDir.inode.Stat()
		if err != nil {
			return err
		}
		if err := creds.mayDelete(&oldSt, &srcSt); err != nil {
			return err
		}
		if dst != nil {
			newSt, err := newDir.inode.Stat()
			if err != nil {
				return err
			}
			if err := creds.mayDelete(&newSt, &dstSt); err != nil {
				return err
			}
		}
		// Moving a directory to a new parent rewrites its "..".
		if srcIsDir && oldDir != newDir {
			if err := creds.MayAccess(&srcSt, MayWrite); err != nil {
				return err
			}
		}
	}
	if src.isMountPoint() || (dst != nil && dst.isMountPoint()) {
		return unix.EBUSY
	}
	ops, err := oldDir.dirOps()
	if err != nil {
		return err
	}
	if _, err := newDir.dirOps(); err != nil {
		return err
	}
	if err := ops.Rename(oldName, newDir.inode, newName, flags); err != nil {
		return err
	}
	oldDir.moveChild(src, oldName, newDir, newName, dst, exchange)
	invalidate(oldDir.inode)
	invalidate(newDir.inode)
	invalidate(src.inode)
	if dst != nil {
		invalidate(dst.inode)
	}
	return nil
}

// moveChild updates the dentry cache after a rename of src (oldDir's
// oldName) to newDir's newName, replacing dst or, with exchange, swapping
// places with it. Both dirMus and renameMu are held.
func (oldDir *Dentry) moveChild(src *Dentry, oldName string, newDir *Dentry, newName string, dst *Dentry, exchange bool) {
	first, second := oldDir, newDir
	if pointerLess(newDir, oldDir) {
		first, second = newDir, oldDir
	}
	first.mu.Lock()
	if second != first {
		second.mu.Lock()
	}
	delete(oldDir.children, oldName)
	newDir.putChildLocked(newName, src)
	if exchange {
		oldDir.children[oldName] = dst
	}
	if second != first {
		second.mu.Unlock()
	}
	first.mu.Unlock()

	src.mu.Lock()
	src.parent, src.name = newDir, newName
	src.mu.Unlock()
	switch {
	case exchange:
		dst.mu.Lock()
		dst.parent, dst.name = oldDir, oldName
		dst.mu.Unlock()
	case dst != nil:
		dst.markDeleted()
	}
}

// pointerLess orders dentries for lock ordering.
func pointerLess(a, b *Dentry) bool {
	return uintptr(unsafe.Pointer(a)) < uintptr(unsafe.Pointer(b))
}
