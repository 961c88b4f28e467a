// Package vfs is the sentry's virtual file system: a tree of dentries over
// inodes supplied by file system implementations (sentry/fs/...), mount
// points, path resolution with Linux's rules, and open file descriptions.
//
// Path resolution happens here, in the sentry, one component at a time:
// file systems answer single-name lookups and never resolve a path or a
// symlink themselves, so "..", symlinks and mount crossings obey the
// sandbox's view of the tree, not the host's.
//
// Lock order: Dentry.mu is taken alone; File.mu is taken alone.
package vfs

import (
	"golang.org/x/sys/unix"
)

// Limits from Linux.
const (
	// MaxSymlinkTraversals is Linux's MAXSYMLINKS.
	MaxSymlinkTraversals = 40
	// PathMax is PATH_MAX, including the terminating NUL.
	PathMax = 4096
	// NameMax is NAME_MAX.
	NameMax = 255
)

// Inode is a file as its file system sees it.
type Inode interface {
	// Stat returns the file's attributes in Linux's struct stat layout.
	Stat() (unix.Stat_t, error)
	// Lookup returns the child called name of a directory. name is never
	// "", "." or "..", and never contains '/'.
	Lookup(name string) (Inode, error)
	// Readlink returns a symlink's target; EINVAL for other files.
	Readlink() (string, error)
	// Open opens the file. flags are the open(2) flags after the VFS
	// checked them against the file type.
	Open(flags int) (FileImpl, error)
}

// Dirent is one directory entry as getdents64 returns it.
type Dirent struct {
	Ino  uint64
	Off  uint64 // the offset of the next entry
	Type uint8
	Name string
}

// FileImpl is the file-system-specific half of an open file description.
// Offsets are handled by File, so implementations see explicit offsets.
type FileImpl interface {
	// ReadAt reads at off; stream files ignore off.
	ReadAt(dst []byte, off int64) (int, error)
	// WriteAt writes at off; stream files ignore off.
	WriteAt(src []byte, off int64) (int, error)
	// Stat returns the attributes of the open file.
	Stat() (unix.Stat_t, error)
	// Close releases the implementation's resources.
	Close() error
}

// Streamer is implemented by files without a position (pipes, terminals,
// character devices): lseek fails with ESPIPE and reads ignore offsets.
type Streamer interface {
	IsStream() bool
}

// DirReader is implemented by directories.
type DirReader interface {
	// Readdir returns entries starting at cookie off (0 = the start),
	// at most about maxBytes of them when encoded; an empty result is the
	// end of the directory.
	Readdir(off uint64, maxBytes int) ([]Dirent, error)
}

// Ioctler is implemented by files that support ioctl(2) requests; request
// arguments are passed through the copy functions the kernel provides.
type Ioctler interface {
	Ioctl(io IoctlIO, request uint64, arg uint64) (uint64, error)
}

// IoctlIO gives an ioctl implementation access to the caller's memory.
type IoctlIO interface {
	CopyIn(addr uint64, dst []byte) (int, error)
	CopyOut(addr uint64, src []byte) (int, error)
}

// PacketFile is implemented by files whose every read and write is one
// whole packet (a TUN device): readv scatters one packet over its
// iovecs, writev gathers its iovecs into one, and an empty write reaches
// the file, which may refuse it.
type PacketFile interface {
	// MaxPacket is the most bytes a read returns or a write passes on;
	// the rest of a longer write is dropped, as the file would drop
	// such a packet whole.
	MaxPacket() int
}

// Nonblocker is implemented by files whose blocking operations honour
// O_NONBLOCK (pipes).
type Nonblocker interface {
	SetNonblocking(bool)
}

// Seeker is implemented by files with their own lseek semantics (memory
// devices, whose position never moves).
type Seeker interface {
	Seek(off int64, whence int) (int64, error)
}
