// Package gofer is Cocoon's file proxy: the trusted per-pod process that
// opens host files on behalf of the untrusted sentry, its wire protocol, and
// the client the sentry uses to talk to it.
//
// # Threat model
//
// The sentry is where untrusted application input lands, so it never opens a
// host path itself. It asks the gofer, and the gofer must make sure that no
// request, however crafted, reaches a host file outside the served tree:
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
//   - The server opens only regular files and directories, read-only. Device
//     nodes and FIFOs are refused with EACCES and sockets with ENXIO; they are
//     held as O_PATH descriptors, good for Stat only. Write flags are refused
//     with EROFS (this version of the protocol is read-only).
//   - Every count and size in a request is bounded (see the Max constants),
//     and a malformed request gets an errno reply, never a crash.
//
// Opening a regular file re-resolves its name under the parent's descriptor
// (an O_PATH descriptor cannot be reopened without /proc) and then checks that
// the opened inode is the FID's inode, failing with ESTALE otherwise. If a
// host process swaps the name for a device node in between, the server may
// open (never read) that device before noticing; the daemon closes that gap by
// mounting served trees nodev. The open is non-blocking, so a FIFO swapped in
// cannot stall the server.
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
// Strings are a uint16 byte length followed by the bytes, without a NUL.
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
//
// Root attaches to the served tree and returns a new FID for its root.
//
// Walk resolves names in order from dir (at most MaxWalkNames). It returns a
// new FID for each component it walked and stops early in two cases: at the
// first component that fails, whose errno (ENOENT, ENOTDIR, EINVAL for a bad
// name, ...) is the reply's errno while the results hold the components
// before it; or right after a symlink, which is returned (errno 0) for the
// sentry to resolve. So k < n with errno 0 means "the last result is a
// symlink". The client owns every returned FID, including partial results.
//
// Open reopens the FID's file read-only. Only O_RDONLY with O_DIRECTORY,
// O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC and O_LARGEFILE is accepted. The reply
// carries a fresh host descriptor; the sentry reads it with pread directly,
// so file data never crosses the socket.
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
