package gofer

import (
	"bytes"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// resolveBeneath are the openat2 resolve flags of every open the server
// makes: stay under the directory descriptor, and follow no symlink of any
// kind. The names passed are single components, so in practice these refuse
// a trailing symlink (unless O_PATH|O_NOFOLLOW asks for the link itself) and
// any magic link; they are the second line of defence behind name checks.
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS

// openat2Missing is set once openat2 returns ENOSYS (kernels before 5.6, or a
// seccomp profile that hides it), after which openBeneath uses plain openat.
var openat2Missing atomic.Bool

// maxOpenRetries bounds retries of openat2's EAGAIN, which RESOLVE_BENEATH
// returns when a concurrent rename or mount might have moved the lookup.
const maxOpenRetries = 16

// openBeneath opens name, a single validated component (or "."), relative to
// the directory dirFD, without following symlinks. flags must include
// O_NOFOLLOW and O_CLOEXEC.
func openBeneath(dirFD int, name string, flags int) (int, unix.Errno) {
	return openBeneathMode(dirFD, name, flags, 0)
}

// openBeneathMode is openBeneath with the mode of a file O_CREAT creates.
func openBeneathMode(dirFD int, name string, flags int, mode uint32) (int, unix.Errno) {
	if !openat2Missing.Load() {
		fd, err := openat2Retrying(dirFD, name, flags, mode)
		if err != unix.ENOSYS {
			if err != nil {
				return -1, toErrno(err)
			}
			return fd, 0
		}
		openat2Missing.Store(true)
	}
	// Equivalent for a single component: with no "/" and no "..", the
	// lookup cannot leave dirFD, and O_NOFOLLOW refuses (or, with O_PATH,
	// returns without following) a trailing symlink or magic link.
	for {
		fd, err := unix.Openat(dirFD, name, flags|unix.O_NOFOLLOW, mode)
		if err != unix.EINTR {
			if err != nil {
				return -1, toErrno(err)
			}
			return fd, 0
		}
	}
}

// openat2Retrying is openat2 with resolveBeneath, retried on EINTR and on
// the EAGAIN of a lookup that raced with a rename.
func openat2Retrying(dirFD int, name string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode), Resolve: resolveBeneath}
	for range maxOpenRetries {
		fd, err := unix.Openat2(dirFD, name, &how)
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// checkName validates one path component sent by the client. The sentry
// resolves "." and ".." itself, so they never reach the server legitimately.
func checkName(name []byte) unix.Errno {
	switch {
	case len(name) > MaxNameLen:
		return unix.ENAMETOOLONG
	case len(name) == 0,
		bytes.IndexByte(name, '/') >= 0,
		bytes.IndexByte(name, 0) >= 0,
		string(name) == ".",
		string(name) == "..":
		return unix.EINVAL
	}
	return 0
}

// fstat stats the file fd refers to, without following a symlink that an
// O_PATH descriptor may name.
func fstat(fd int) (Stat, unix.Errno) {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Stat{}, toErrno(err)
	}
	return statFromHost(&st), 0
}

func statFromHost(st *unix.Stat_t) Stat {
	return Stat{
		// The conversions are no-ops on amd64; they keep the field types of
		// other architectures' Stat_t compiling.
		Dev:     uint64(st.Dev),
		Ino:     uint64(st.Ino),
		Mode:    uint32(st.Mode),
		Nlink:   uint32(st.Nlink), // nlink_t is 32 bits inside Linux
		UID:     st.Uid,
		GID:     st.Gid,
		Rdev:    uint64(st.Rdev),
		Size:    int64(st.Size),
		Blksize: int64(st.Blksize),
		Blocks:  int64(st.Blocks),
		Atime:   st.Atim,
		Mtime:   st.Mtim,
		Ctime:   st.Ctim,
	}
}

func statFSFromHost(st *unix.Statfs_t) StatFS {
	return StatFS{
		Type:    uint64(st.Type),
		Bsize:   uint64(st.Bsize),
		Blocks:  st.Blocks,
		Bfree:   st.Bfree,
		Bavail:  st.Bavail,
		Files:   st.Files,
		Ffree:   st.Ffree,
		Namelen: uint64(st.Namelen),
		Frsize:  uint64(st.Frsize),
		Flags:   uint64(st.Flags),
	}
}

// toErrno converts a host error to the errno sent on the wire. Host system
// calls made through x/sys always fail with a unix.Errno; anything else is
// reported as EIO rather than lost.
func toErrno(err error) unix.Errno {
	if errno, ok := err.(unix.Errno); ok && errno != 0 {
		return errno
	}
	return unix.EIO
}

// Open flags the server accepts. O_LARGEFILE is 0 in x/sys on amd64 but the
// sentry may pass through the value Linux uses (0x8000); it changes nothing
// on a 64-bit host. O_CLOEXEC is meaningless across SCM_RIGHTS (the receiver
// chooses) and accepted for convenience.
const (
	linuxOLargefile  = 0x8000
	allowedOpenFlags = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NONBLOCK |
		unix.O_CLOEXEC | linuxOLargefile
	// writeOpenFlags are the flags that could modify the file system; on a
	// read-only tree all of them are refused with EROFS. __O_TMPFILE is part
	// of O_TMPFILE.
	writeOpenFlags = unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC |
		unix.O_APPEND | (unix.O_TMPFILE &^ unix.O_DIRECTORY)
	// allowedWriteOpenFlags are the flags of writeOpenFlags that Open
	// accepts on a read-write tree; files are created with Create.
	allowedWriteOpenFlags = unix.O_WRONLY | unix.O_RDWR | unix.O_TRUNC | unix.O_APPEND
)

// checkOpenFlags validates the flags of an Open request on a tree.
func checkOpenFlags(flags uint32, readOnly bool) unix.Errno {
	f := int(flags)
	switch {
	case f&unix.O_ACCMODE == unix.O_ACCMODE:
		return unix.EINVAL
	case readOnly && f&writeOpenFlags != 0:
		return unix.EROFS
	case f&^(allowedOpenFlags|allowedWriteOpenFlags) != 0:
		return unix.EINVAL
	case f&unix.O_TRUNC != 0 && f&unix.O_ACCMODE == unix.O_RDONLY:
		return unix.EINVAL
	}
	return 0
}
