// Package gofer is Cocoon's file proxy: the trusted per-pod process that
// opens host files on behalf of the untrusted sentry, its wire protocol, and
// the client the sentry uses to talk to it.
//
// # Threat model
//
// The sentry is where untrusted application input lands, so it never opens a
// host path itself. It asks the gofer, and the gofer must make sure that no
// request, however crafted, reaches a host file outside the served trees:
//
//   - The protocol is FID-based, like gVisor's lisafs. A FID names a file the
//     server already holds an O_PATH descriptor for; every operation starts
//     from a FID, never from a path, so there is no path to re-walk and no
//     window in which a concurrent rename or symlink swap redirects a request.
//   - The sentry walks paths itself, one component at a time. The server
//     opens each component with openat2(parentFD, name,
//     RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_SYMLINKS) and O_NOFOLLOW
//     and refuses names that contain "/" or equal "." or "..". The sentry
//     resolves ".." inside its own mount tree.
//   - The server never follows a symlink. Walk returns a symlink as a node of
//     its own; the sentry reads its target with Readlink and resolves it in
//     its own view of the file system. Open of a symlink FID fails with ELOOP.
//   - The server opens only regular files and directories (directories
//     read-only). Device nodes and FIFOs are refused with EACCES and sockets
//     with ENXIO; they are held as O_PATH descriptors, good for Stat only.
//   - Every modifying operation names its target by a directory FID and one
//     checked component, and is an *at system call on the directory's
//     descriptor that does not follow a trailing symlink (O_CREAT|O_EXCL,
//     mkdirat, mknodat, symlinkat, linkat, unlinkat, renameat2), or acts on
//     a FID's own descriptor (fchownat, fchmodat2 and utimensat with
//     AT_EMPTY_PATH, linkat of the FID's inode). A name that is a symlink to
//     the outside is thus replaced, removed or reported as existing, never
//     followed; Link only links files the client already holds in the same
//     tree; Rename stays within one tree (EXDEV otherwise).
//   - The server never creates a device node: Mknod makes regular files,
//     FIFOs and sockets only (EPERM otherwise), and RENAME_WHITEOUT, which
//     makes a whiteout device, is refused with EINVAL. Ownership and
//     permissions inside a tree are the sentry's to enforce; the gofer sets
//     the owner and mode it is asked for.
//   - A tree may be served read-only; every modifying operation on it fails
//     with EROFS, and StatFS reports ST_RDONLY.
//   - Every count and size in a request is bounded (see the Max constants),
//     and a malformed request gets an errno reply, never a crash.
//
// Opening a regular file re-resolves its name under the parent's descriptor
// (an O_PATH descriptor cannot be reopened without /proc) and then checks that
// the opened inode is the FID's inode, failing with ESTALE otherwise. If a
// host process swaps the name for a device node in between, the server may
// open (never read) that device before noticing; the daemon closes that gap by
// mounting served trees nodev. The open is non-blocking, so a FIFO swapped in
// cannot stall the server, and O_TRUNC is applied (as ftruncate) only after
// the check. SetAttr of a size and the extended attribute operations reopen
// the same way, since none of the f*xattr or *xattrat calls accept an O_PATH
// descriptor and the /proc/self/fd path form is unavailable to a confined
// gofer.
//
// # Transport
//
// One connected AF_UNIX SOCK_SEQPACKET socket per client. The socket keeps
// message boundaries, so one packet is exactly one message and needs no
// length prefix. All integers are little-endian. A packet is at most
// 128 KiB (maxMessageSize); a larger one is truncated by the kernel and refused.
// A zero-length packet is indistinguishable from the peer hanging up and ends
// the session. Opened host descriptors travel from server to client as
// SCM_RIGHTS ancillary data. Clients never send descriptors: the server
// supplies no control buffer, so the kernel closes any that arrive, and the
// request they came with is refused.
//
// # Messages
//
// A request is an 8-byte header followed by the op's arguments:
//
//	tag      uint32  chosen by the client, echoed in the reply
//	op       uint16  one of the op constants in message.go
//	reserved uint16  must be zero
//
// A reply is a 12-byte header followed by the op's results:
//
//	tag      uint32  the request's tag
//	op       uint16  the request's op
//	reserved uint16  zero
//	errno    uint32  0 on success, else a Linux errno
//
// A reply with a non-zero errno carries no results, except Walk's (below).
// A request too short to hold a header is answered with tag 0 and op 0.
// Strings are a uint16 byte length followed by the bytes, without a NUL;
// "bytes" (extended attribute values and lists) are the same with a uint32
// length. A Timespec is sec i64 + nsec i64.
// A Stat is 112 bytes: dev u64, ino u64, mode u32, nlink u32, uid u32,
// gid u32, rdev u64, size i64, blksize i64, blocks i64, then atime, mtime and
// ctime as sec i64 + nsec i64 each.
//
//	Root      ()                                 -> fid u64, Stat
//	Walk      dir u64, n u16, n × name            -> k u16, k × (fid u64, Stat)
//	Stat      fid u64                             -> Stat
//	Open      fid u64, flags u32                  -> () + one SCM_RIGHTS fd
//	Getdents  dir u64, offset u64, maxBytes u32   -> k u32, k × dirent
//	Readlink  fid u64                             -> target string
//	StatFS    fid u64                             -> 10 × u64
//	Close     n u32, n × fid u64                  -> ()
//	Attach    name string                         -> fid u64, Stat
//	Create    dir u64, name string, flags u32, mode u32, uid u32, gid u32
//	                                              -> fid u64, Stat + one SCM_RIGHTS fd
//	Mkdir     dir u64, name string, mode u32, uid u32, gid u32
//	                                              -> fid u64, Stat
//	Mknod     dir u64, name string, mode u32, uid u32, gid u32
//	                                              -> fid u64, Stat
//	Symlink   dir u64, name string, target string, uid u32, gid u32
//	                                              -> fid u64, Stat
//	Link      dir u64, name string, target u64   -> Stat
//	Unlink    dir u64, name string, flags u32     -> ()
//	Rename    oldDir u64, oldName string, newDir u64, newName string, flags u32
//	                                              -> ()
//	SetAttr   fid u64, mask u32, mode u32, uid u32, gid u32, size u64,
//	          atime Timespec, mtime Timespec      -> Stat
//	Getxattr  fid u64, name string, size u32      -> n u32 [+ n bytes]
//	Setxattr  fid u64, name string, value bytes, flags u32
//	                                              -> ()
//	Listxattr fid u64, size u32                   -> n u32 [+ n bytes]
//	Removexattr fid u64, name string              -> ()
//	Connect   ()                                  -> () + one SCM_RIGHTS fd
//
// Connect returns one more connection of the same session (connect.go):
// a SOCK_SEQPACKET socket whose requests share the session's trees and
// FIDs, so that a client's threads need not queue on one socket. A
// session has at most MaxClientConns connections (EMFILE past that) and
// ends, all of them with it, when its first connection does.
//
// A server serves one or more named trees (ServeTrees), each read-only or
// read-write. Root attaches to the tree named "" (or, without one, the
// first tree) and returns a new FID for its root; Attach does the same for
// the tree it names, failing with ENOENT for an unknown name.
//
// Walk resolves names in order from dir (at most MaxWalkNames). It returns a
// new FID for each component it walked and stops early in two cases: at the
// first component that fails, whose errno (ENOENT, ENOTDIR, EINVAL for a bad
// name, ...) is the reply's errno while the results hold the components
// before it; or right after a symlink, which is returned (errno 0) for the
// sentry to resolve. So k < n with errno 0 means "the last result is a
// symlink". The client owns every returned FID, including partial results.
//
// Open reopens the FID's file. It accepts an access mode with O_DIRECTORY,
// O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC and O_LARGEFILE, and O_APPEND and O_TRUNC
// (the latter with write access only, else EINVAL). On a read-only tree any
// write access, O_APPEND, O_TRUNC, O_CREAT or O_TMPFILE fails with EROFS; on
// a read-write tree O_CREAT and O_TMPFILE fail with EINVAL (Create makes
// files), and a directory opened for writing with EISDIR. The reply carries
// a fresh host descriptor; the sentry reads and writes it with pread and
// pwrite directly (and fsyncs it), so file data never crosses the socket.
//
// Getdents returns directory entries starting at offset (0 is the start),
// encoding each as ino u64, off u64, type u8, name string, where off is the
// cookie to pass as offset to continue after that entry (the host
// file system's d_off). The results fit in maxBytes bytes both in this
// encoding and as Linux dirent64 records; at most MaxGetdentsBytes may be
// asked for, and the server may return fewer entries than fit (replies are
// also bounded by the packet size). An empty result means end of directory.
// "." and ".." are included as the host returns them.
//
// Readlink returns a symlink's target (EINVAL for other files). StatFS returns
// type, bsize, blocks, bfree, bavail, files, ffree, namelen, frsize, flags.
// Close releases FIDs; unknown FIDs make it fail with EBADF after the known
// ones are released.
//
// Create makes a regular file with O_CREAT|O_EXCL (EEXIST if the name exists
// in any form, a dangling symlink included) and returns a FID for it and a
// descriptor opened with the access mode, O_APPEND and O_NONBLOCK of flags
// (O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_CLOEXEC and O_LARGEFILE are
// accepted and change nothing; any other flag is EINVAL). Create, Mkdir,
// Mknod and Symlink give the new file the owner uid:gid and exactly the
// permission bits (07777) of mode, no umask applied; mode may also hold the
// S_IFMT bits of the type being made. Mknod makes S_IFREG (also for no type
// bits), S_IFIFO and S_IFSOCK only; devices and S_IFDIR are EPERM, other
// types EINVAL. A Symlink target is at most MaxSymlinkLen bytes, non-empty
// (ENOENT) and without NUL bytes; it is stored, never resolved. If setting
// the owner or mode fails, the new file is removed again.
//
// Link adds name in dir as a hard link to the target FID's own inode
// (linkat with AT_EMPTY_PATH), which must be in the same tree (EXDEV) and
// not a directory (EPERM); it returns the target's new Stat. Unlink is
// unlinkat with flags 0 or AT_REMOVEDIR. Rename is renameat2 within one tree
// with flags 0, RENAME_NOREPLACE or RENAME_EXCHANGE. FIDs of a file renamed
// through the connection follow it, so Open keeps working; FIDs of a file
// unlinked or overwritten still Stat but fail to Open (ENOENT, ESTALE).
//
// SetAttr changes the attributes its mask names, a set of STATX_UID,
// STATX_GID (chown, -1 for the one not named), STATX_MODE (permission bits,
// optionally with the file's own type bits; EOPNOTSUPP for a symlink),
// STATX_SIZE (regular files only; EISDIR for a directory, EINVAL otherwise),
// STATX_ATIME and STATX_MTIME (times may be UTIME_NOW or UTIME_OMIT), in
// that order, and returns the new Stat. Nothing is changed when the request
// is refused up front; a host failure part way leaves the earlier changes.
//
// Getxattr, Setxattr, Listxattr and Removexattr serve the "user." namespace
// of regular files and directories. Names are 1 to MaxXattrNameLen bytes
// (ERANGE), values at most MaxXattrValueLen (E2BIG), and size at most
// MaxXattrValueLen or MaxXattrListLen (EINVAL). As for an unprivileged
// process on Linux, "trusted." attributes read as ENODATA and cannot be set
// or removed (EPERM); "security.", "system." and unknown namespaces are
// EOPNOTSUPP; user attributes of other file types read as ENODATA and
// cannot be set or removed (EPERM). A size of 0 asks only for the length of
// the value or list, which replies then carry without bytes; a non-zero
// size smaller than the result fails with ERANGE. Listxattr lists only
// "user." names, each NUL-terminated. Setxattr flags are 0, XATTR_CREATE or
// XATTR_REPLACE. Reading attributes works on read-only trees.
//
// CreateHeld is Create under a FID the client chose (ClientFIDBit set;
// EINVAL otherwise, EEXIST if in use), with O_RDWR, and returns only the
// Stat: the server keeps the read-write descriptor instead of passing it,
// so that a client can send CreateHeld and the requests that use its FID
// without waiting for the reply. FinishHeld writes data (at most
// MaxHeldData bytes) at offset 0 of that kept descriptor, closes it, then
// makes the attribute changes of mask as SetAttr does (STATX_SIZE is
// EINVAL), and returns the new Stat; a FID with no kept descriptor is
// EBADF. Closing the FID closes a descriptor still kept.
//
// # Errors
//
// Every request gets exactly one reply. A request that cannot be decoded
// (short, trailing bytes, counts over their bound, unknown op, non-zero
// reserved field) fails with EINVAL; an unknown FID with EBADF; a connection
// over MaxFIDs with EMFILE. Everything else is the host's errno from the
// corresponding system call. The client returns server errnos as bare
// unix.Errno values; any other error means the connection is unusable.
package gofer

import "golang.org/x/sys/unix"

// FID names a file the server holds open for one connection. FIDs are never
// reused within a connection; zero is never a valid FID.
type FID uint64

// ClientFIDBit marks the FIDs a client chooses itself (CreateHeld); the
// server never gives one out.
const ClientFIDBit FID = 1 << 63

// Limits enforced by the server on every request (and by the client before
// sending, where it can).
const (
	// MaxNameLen is the longest path component, Linux's NAME_MAX.
	MaxNameLen = 255
	// MaxWalkNames is the most components one Walk may carry.
	MaxWalkNames = 256
	// MaxGetdentsBytes is the largest maxBytes a Getdents may ask for.
	MaxGetdentsBytes = 1 << 20
	// MaxFIDs is the most FIDs one connection may hold at once.
	MaxFIDs = 1 << 20
	// MaxSymlinkLen is the longest symlink target, Linux's PATH_MAX less
	// the terminating NUL.
	MaxSymlinkLen = unix.PathMax - 1
	// MaxXattrNameLen is the longest extended attribute name, namespace
	// prefix included (Linux's XATTR_NAME_MAX).
	MaxXattrNameLen = 255
	// MaxXattrValueLen is the largest extended attribute value Setxattr
	// sends and Getxattr asks for (Linux's XATTR_SIZE_MAX). A reply holding
	// one fits a packet.
	MaxXattrValueLen = 64 << 10
	// MaxXattrListLen is the largest list size Listxattr asks for (Linux's
	// XATTR_LIST_MAX).
	MaxXattrListLen = 64 << 10
	// MaxHeldData is the most data one FinishHeld writes.
	MaxHeldData = 64 << 10
)

// Stat is a file's metadata, as fstatat(2) reports it.
type Stat struct {
	Dev     uint64
	Ino     uint64
	Mode    uint32
	Nlink   uint32
	UID     uint32
	GID     uint32
	Rdev    uint64
	Size    int64
	Blksize int64
	Blocks  int64
	Atime   unix.Timespec
	Mtime   unix.Timespec
	Ctime   unix.Timespec
}

// FileType returns the S_IFMT bits of s.Mode.
func (s *Stat) FileType() uint32 { return s.Mode & unix.S_IFMT }

// Dirent is one directory entry returned by Getdents.
type Dirent struct {
	Ino uint64
	// Off is the cookie to pass to Getdents to continue after this entry.
	Off uint64
	// Type is the entry's DT_* type; it may be DT_UNKNOWN on file systems
	// that do not report it, in which case the caller walks and stats.
	Type uint8
	Name string
}

// StatFS is a file system's statistics, as fstatfs(2) reports them.
type StatFS struct {
	Type, Bsize, Blocks, Bfree, Bavail, Files, Ffree, Namelen, Frsize, Flags uint64
}
