package syscalls

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// parentAt resolves all but the last component of path relative to dirfd,
// with the caller's search permissions checked.
func parentAt(t *kernel.Task, dirfd int32, path string) (*vfs.Dentry, string, error) {
	start, err := startDir(t, dirfd, path)
	if err != nil {
		return nil, "", err
	}
	return vfs.ResolveParent(t.Root(), start, path, t.FSCreds())
}

// newOwner returns the owner and mode of a file created in dir by t:
// Linux's inode_init_owner, with the set-group-ID directory rules.
func newOwner(t *kernel.Task, dir *vfs.Dentry, mode uint32) (vfs.Owner, uint32, error) {
	creds := t.FSCreds()
	owner := vfs.Owner{UID: creds.UID, GID: creds.GID}
	// Only the directory's mode and group matter, which a file system
	// caching metadata keeps across changes to the directory's times
	// (a full Stat would be a gofer round trip after every create).
	st, err := vfs.PermStat(dir.Inode())
	if err != nil {
		return owner, mode, err
	}
	if st.Mode&unix.S_ISGID != 0 {
		owner.GID = st.Gid
		if mode&unix.S_IFMT == unix.S_IFDIR {
			mode |= unix.S_ISGID
		} else if mode&unix.S_ISGID != 0 && mode&unix.S_IXGRP != 0 &&
			!creds.InGroup(owner.GID) && !creds.HasCap(vfs.CapFsetid) {
			mode &^= unix.S_ISGID
		}
	}
	return owner, mode, nil
}

// createMode applies the umask to the permission bits of mode.
func createMode(t *kernel.Task, mode uint32) uint32 {
	return mode & 0o7777 &^ t.Umask()
}

func mkdirAt(t *kernel.Task, dirfd int32, pathAddr uint64, mode uint32) (uint64, error) {
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	dir, name, err := parentAt(t, dirfd, path)
	if err != nil {
		return 0, err
	}
	owner, m, err := newOwner(t, dir, unix.S_IFDIR|createMode(t, mode&0o1777))
	if err != nil {
		return 0, err
	}
	if _, err = dir.Mkdir(name, m, owner, t.FSCreds()); err != nil {
		return 0, err
	}
	notifyChild(t, dir, name, unix.IN_CREATE, true)
	return 0, nil
}

// Mkdir implements Linux syscall mkdir(2).
func Mkdir(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return mkdirAt(t, atFDCWD, args[0], uint32(args[1]))
}

// Mkdirat implements Linux syscall mkdirat(2).
func Mkdirat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return mkdirAt(t, int32(args[0]), args[1], uint32(args[2]))
}

func mknodAt(t *kernel.Task, dirfd int32, pathAddr uint64, mode uint32, dev uint64) (uint64, error) {
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	switch mode & unix.S_IFMT {
	case 0:
		mode |= unix.S_IFREG
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFDIR:
		// Linux's may_mknod: directories come from mkdir only.
		return 0, unix.EPERM
	case unix.S_IFCHR, unix.S_IFBLK:
		// Device nodes would be a way around the sandbox's device
		// policy; even root inside is refused, as in a user namespace.
		if _, _, err := parentAt(t, dirfd, path); err != nil {
			return 0, err
		}
		return 0, unix.EPERM
	default:
		return 0, unix.EINVAL
	}
	if strings.HasSuffix(path, "/") {
		return 0, unix.ENOENT
	}
	dir, name, err := parentAt(t, dirfd, path)
	if err != nil {
		return 0, err
	}
	owner, m, err := newOwner(t, dir, mode&unix.S_IFMT|createMode(t, mode))
	if err != nil {
		return 0, err
	}
	if _, err = dir.Mknod(name, m, owner, t.FSCreds()); err != nil {
		return 0, err
	}
	notifyChild(t, dir, name, unix.IN_CREATE, false)
	return 0, nil
}

// Mknod implements Linux syscall mknod(2).
func Mknod(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return mknodAt(t, atFDCWD, args[0], uint32(args[1]), args[2])
}

// Mknodat implements Linux syscall mknodat(2).
func Mknodat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return mknodAt(t, int32(args[0]), args[1], uint32(args[2]), args[3])
}

func unlinkAt(t *kernel.Task, dirfd int32, pathAddr uint64, rmdir bool) (uint64, error) {
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	dir, name, err := parentAt(t, dirfd, path)
	if err != nil {
		return 0, err
	}
	if name == "" {
		// "/" or a path ending in "/" that names the root.
		return 0, unix.EBUSY
	}
	if reg := t.Kernel().Inotify(); reg.Active() {
		defer notifyRemoved(t, dir, name)()
	}
	if rmdir {
		return 0, dir.Rmdir(name, t.FSCreds())
	}
	if strings.HasSuffix(path, "/") {
		// "name/" names a directory (EISDIR) or is not a directory
		// (ENOTDIR); nothing is removed either way.
		c, err := vfs.Resolve(t.Root(), dir, name, vfs.ResolveOpts{Creds: t.FSCreds()})
		if err != nil {
			return 0, err
		}
		if st, err := c.Inode().Stat(); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return 0, unix.EISDIR
		}
		return 0, unix.ENOTDIR
	}
	return 0, dir.Unlink(name, t.FSCreds())
}

// Unlink implements Linux syscall unlink(2).
func Unlink(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return unlinkAt(t, atFDCWD, args[0], false)
}

// Unlinkat implements Linux syscall unlinkat(2).
func Unlinkat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := int(args[2])
	if flags&^unix.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	return unlinkAt(t, int32(args[0]), args[1], flags&unix.AT_REMOVEDIR != 0)
}

// Rmdir implements Linux syscall rmdir(2).
func Rmdir(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return unlinkAt(t, atFDCWD, args[0], true)
}

func renameAt(t *kernel.Task, oldDirfd int32, oldAddr uint64, newDirfd int32, newAddr uint64, flags uint32) (uint64, error) {
	oldPath, err := copyInPath(t, oldAddr)
	if err != nil {
		return 0, err
	}
	newPath, err := copyInPath(t, newAddr)
	if err != nil {
		return 0, err
	}
	if flags&unix.RENAME_WHITEOUT != 0 {
		return 0, unix.EINVAL
	}
	oldDir, oldName, err := parentAt(t, oldDirfd, oldPath)
	if err != nil {
		return 0, err
	}
	newDir, newName, err := parentAt(t, newDirfd, newPath)
	if err != nil {
		return 0, err
	}
	// A trailing slash on either name requires the source to be a
	// directory.
	if strings.HasSuffix(oldPath, "/") || strings.HasSuffix(newPath, "/") {
		src, err := vfs.Resolve(t.Root(), oldDir, oldName, vfs.ResolveOpts{})
		if err != nil {
			return 0, err
		}
		st, err := src.Inode().Stat()
		if err != nil {
			return 0, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return 0, unix.ENOTDIR
		}
	}
	var after func()
	if reg := t.Kernel().Inotify(); reg.Active() {
		after = notifyRenamed(t, oldDir, oldName, newDir, newName, flags)
	}
	if err := vfs.Rename(oldDir, oldName, newDir, newName, flags, t.FSCreds()); err != nil {
		return 0, err
	}
	if after != nil {
		after()
	}
	return 0, nil
}

// Rename implements Linux syscall rename(2).
func Rename(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return renameAt(t, atFDCWD, args[0], atFDCWD, args[1], 0)
}

// Renameat implements Linux syscall renameat(2).
func Renameat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return renameAt(t, int32(args[0]), args[1], int32(args[2]), args[3], 0)
}

// Renameat2 implements Linux syscall renameat2(2).
func Renameat2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return renameAt(t, int32(args[0]), args[1], int32(args[2]), args[3], uint32(args[4]))
}

func linkAt(t *kernel.Task, oldDirfd int32, oldAddr uint64, newDirfd int32, newAddr uint64, flags int) (uint64, error) {
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	oldPath, err := copyInPath(t, oldAddr)
	if err != nil {
		return 0, err
	}
	newPath, err := copyInPath(t, newAddr)
	if err != nil {
		return 0, err
	}
	if flags&unix.AT_EMPTY_PATH != 0 && oldPath == "" && !t.FSCreds().HasCap(vfs.CapDacReadSearch) {
		return 0, unix.ENOENT
	}
	old, err := resolveAt(t, oldDirfd, oldPath, flags&unix.AT_SYMLINK_FOLLOW != 0, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	if strings.HasSuffix(newPath, "/") {
		return 0, unix.ENOENT
	}
	dir, name, err := parentAt(t, newDirfd, newPath)
	if err != nil {
		return 0, err
	}
	if err := mayLink(t, old); err != nil {
		return 0, err
	}
	if old.Deleted() && !old.Linkable() {
		// An unlinked file cannot get a name again; an O_TMPFILE file
		// made without O_EXCL can.
		return 0, unix.ENOENT
	}
	if err := dir.Link(name, old, t.FSCreds()); err != nil {
		return 0, err
	}
	notifyFile(t, old, unix.IN_ATTRIB)
	notifyChild(t, dir, name, unix.IN_CREATE, false)
	return 0, nil
}

// mayLink implements Linux's protected hardlinks rule for a caller that
// does not own the file: it must be able to read and write it.
func mayLink(t *kernel.Task, old *vfs.Dentry) error {
	creds := t.FSCreds()
	st, err := old.Inode().Stat()
	if err != nil {
		return err
	}
	if creds.IsOwner(st.Uid) {
		return nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG &&
		(st.Mode&unix.S_ISUID != 0 || st.Mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP) {
		return unix.EPERM
	}
	if creds.MayAccess(&st, vfs.MayRead|vfs.MayWrite) != nil {
		return unix.EPERM
	}
	return nil
}

// Link implements Linux syscall link(2).
func Link(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return linkAt(t, atFDCWD, args[0], atFDCWD, args[1], 0)
}

// Linkat implements Linux syscall linkat(2).
func Linkat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return linkAt(t, int32(args[0]), args[1], int32(args[2]), args[3], int(args[4]))
}

func symlinkAt(t *kernel.Task, targetAddr uint64, dirfd int32, pathAddr uint64) (uint64, error) {
	target, err := copyInPath(t, targetAddr)
	if err != nil {
		return 0, err
	}
	if target == "" {
		return 0, unix.ENOENT
	}
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	if strings.HasSuffix(path, "/") {
		return 0, unix.ENOENT
	}
	dir, name, err := parentAt(t, dirfd, path)
	if err != nil {
		return 0, err
	}
	owner, _, err := newOwner(t, dir, unix.S_IFLNK|0o777)
	if err != nil {
		return 0, err
	}
	if _, err = dir.Symlink(name, target, owner, t.FSCreds()); err != nil {
		return 0, err
	}
	notifyChild(t, dir, name, unix.IN_CREATE, false)
	return 0, nil
}

// Symlink implements Linux syscall symlink(2).
func Symlink(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return symlinkAt(t, args[0], atFDCWD, args[1])
}

// Symlinkat implements Linux syscall symlinkat(2).
func Symlinkat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return symlinkAt(t, args[0], int32(args[1]), args[2])
}
