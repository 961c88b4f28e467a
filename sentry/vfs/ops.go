package vfs

import (
	"golang.org/x/sys/unix"
)

// Owner is the owner a new file gets: the creating task's fsuid, and its
// fsgid or the parent directory's group (set-group-ID directories), which
// the VFS works out before calling the file system.
type Owner struct {
	UID, GID uint32
}

// DirOps is implemented by the directory inodes of file systems whose tree
// can change. Names are single components the VFS has checked (never "",
// "." or "..", no '/', at most NameMax bytes). The VFS has already checked
// permissions, the mount's read-only flag and that the name does (or does
// not) exist as the operation requires, and it holds the directory's
// mutation lock (and, for Rename, the rename lock) while calling, so a file
// system sees one mutation of a directory at a time. Modes carry the file
// type bits and the permission bits after umask.
type DirOps interface {
	// Create creates a regular file and opens it with flags (the access
	// mode, O_APPEND and O_NONBLOCK matter; O_CREAT and O_EXCL are
	// implied).
	Create(name string, flags int, mode uint32, owner Owner) (Inode, FileImpl, error)
	// Mkdir creates a directory.
	Mkdir(name string, mode uint32, owner Owner) (Inode, error)
	// Mknod creates a FIFO, a socket or an empty regular file; the VFS
	// refuses device nodes before calling.
	Mknod(name string, mode uint32, owner Owner) (Inode, error)
	// Symlink creates a symbolic link to target.
	Symlink(name, target string, owner Owner) (Inode, error)
	// Link gives target (a non-directory of the same file system, or
	// EXDEV) a new name in this directory.
	Link(name string, target Inode) error
	// Unlink removes a name that is not a directory.
	Unlink(name string) error
	// Rmdir removes an empty directory (ENOTEMPTY otherwise).
	Rmdir(name string) error
	// Rename moves oldName in this directory to newName in newDir (an
	// inode of the same file system, or EXDEV), with renameat2's
	// RENAME_NOREPLACE and RENAME_EXCHANGE flags. The VFS has checked the
	// type rules (EISDIR, ENOTDIR, EINVAL for a directory into itself);
	// the file system checks ENOTEMPTY for a replaced directory.
	Rename(oldName string, newDir Inode, newName string, flags uint32) error
}

// SetStat mask bits: which fields of SetStatOpts apply. They are statx's.
const (
	SetMode  = unix.STATX_MODE
	SetUID   = unix.STATX_UID
	SetGID   = unix.STATX_GID
	SetSize  = unix.STATX_SIZE
	SetAtime = unix.STATX_ATIME
	SetMtime = unix.STATX_MTIME
)

// SetStatOpts is a change of attributes (chmod, chown, truncate, utimes).
type SetStatOpts struct {
	Mask uint32
	// Mode holds permission bits only (with set-ID and sticky bits).
	Mode     uint32
	UID, GID uint32
	Size     int64
	// Atime and Mtime may be UTIME_NOW; the file system supplies the
	// time then. UTIME_OMIT never reaches a file system (the bit is clear
	// in Mask instead).
	Atime, Mtime unix.Timespec
}

// SetStatter is implemented by inodes whose attributes can change. The
// file system updates ctime.
type SetStatter interface {
	SetStat(opts SetStatOpts) error
}

// Xattrs is implemented by inodes with extended attributes. The VFS has
// checked the namespace and permissions; sizes follow the syscalls (a
// size of 0 asks for the needed size only).
type Xattrs interface {
	GetXattr(name string, size int) ([]byte, error)
	SetXattr(name string, value []byte, flags int) error
	ListXattr(size int) ([]string, error)
	RemoveXattr(name string) error
}

// StatFSer is implemented by inodes that know their file system's
// statfs(2) numbers.
type StatFSer interface {
	StatFS() (unix.Statfs_t, error)
}

// Syncer is implemented by open files with data to write back
// (fsync(2), fdatasync(2)).
type Syncer interface {
	Sync(dataOnly bool) error
}

// FSSyncer is implemented by file systems that hold changes of the
// sandbox's that have not reached the host yet (goferfs's write-behind):
// SyncFS sends them and waits until they are made, and reports a change
// that failed. syncfs(2) calls it for the file system of its file, sync(2)
// for every one registered with RegisterFSSyncer.
type FSSyncer interface {
	SyncFS() error
}

// Truncater is implemented by open regular files (ftruncate(2)).
type Truncater interface {
	Truncate(size int64) error
}

// InPlaceReader is implemented by open files whose bytes the sentry can
// sometimes read where they lie (a mapping of the host file), saving the
// copy through a buffer.
type InPlaceReader interface {
	// ReadInPlace passes the file's bytes at off, at most n of them, to
	// out, which copies them where they go and returns how many it
	// took, with an error if it stopped early. handled false says
	// nothing was read and the read must go through ReadAt; out may have
	// been called then, and what it wrote is to be overwritten.
	ReadInPlace(off int64, n int, out func(src []byte) (int, error)) (read int, handled bool, err error)
}

// Allocator is implemented by open regular files that support
// fallocate(2).
type Allocator interface {
	Allocate(mode uint32, off, length int64) error
}

// Invalidator is implemented by inodes that cache attributes: the VFS
// calls Invalidate after an operation that changed them behind the
// inode's back (a link or unlink changes nlink and ctime).
type Invalidator interface {
	Invalidate()
}

// NegativeCacher is implemented by directories of file systems whose tree
// changes only through the sandbox (an exclusive rootfs, tmpfs): the VFS
// then remembers names that do not exist.
type NegativeCacher interface {
	CachesNegative() bool
}

// Revalidator is implemented by directories of file systems that can
// change outside the sandbox (a volume shared with the host): before a
// cached child is used, Revalidate says whether name still refers to
// cached (nil for a cached negative entry).
type Revalidator interface {
	Revalidate(name string, cached Inode) bool
}

// MagicLinker is implemented by symlinks that name a file directly
// (/proc/[pid]/fd/N): following one goes to that file's dentry, even if
// the file was renamed or unlinked. A nil dentry means the link has no
// file to go to and its text is followed instead.
type MagicLinker interface {
	MagicLink() (*Dentry, error)
}

// PermStater is implemented by inodes that can report what a path walk
// needs (file type, permission bits, owner) from a cache that changes in
// the directory's children do not make stale, where Stat would have to
// refresh times and sizes first.
type PermStater interface {
	PermStat() (unix.Stat_t, error)
}

// PermStat returns i's type, permission bits and owner, from a cache
// where the file system keeps one (PermStater).
func PermStat(i Inode) (unix.Stat_t, error) { return permStat(i) }

// permStat returns the attributes a walk checks.
func permStat(i Inode) (unix.Stat_t, error) {
	if p, ok := i.(PermStater); ok {
		return p.PermStat()
	}
	return i.Stat()
}

// ReadOnlyFS is implemented by the inodes of file systems that may be
// read-only as a whole, whatever the mounts that show them say (Linux's
// SB_RDONLY): a gofer tree the gofer serves read-only, a tmpfs remounted
// read-only without MS_BIND.
type ReadOnlyFS interface {
	ReadOnlyFS() bool
}

// ReadOnlySetter is implemented by the inodes of file systems that a
// remount without MS_BIND can make read-only or writable as a whole.
type ReadOnlySetter interface {
	SetReadOnlyFS(readOnly bool)
}

// Forgetter is implemented by inodes that hold host resources (donated
// descriptors, gofer FIDs) which keep a removed file's blocks allocated on
// the host. The VFS calls Forget once a dentry of the inode has lost its
// name (unlink, rmdir, a rename over it, a name found stale, an unnamed
// O_TMPFILE file) and no open file refers to that dentry any more, so the
// resources go back then rather than when the garbage collector finds the
// inode. An inode that other dentries share (a copied mount namespace)
// may still be used: Forget releases what nothing uses and leaves the
// rest, and operations that race with it may fail with ENOENT.
type Forgetter interface {
	Forget()
}

// TmpfileCreator is implemented by directories of file systems that can
// make unnamed regular files (open(2)'s O_TMPFILE). flags may hold O_EXCL:
// the file can never get a name then.
type TmpfileCreator interface {
	CreateTmpfile(flags int, mode uint32, owner Owner) (Inode, FileImpl, error)
}
