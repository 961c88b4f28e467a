// Package syscalls implements Linux system calls for the sentry, one file
// per family (sys_read_write.go, sys_mmap.go, ...), each handler with the
// same shape: decode the arguments, resolve descriptors, validate, call into
// vfs/mm/kernel, and return a unix.Errno on failure.
//
// The amd64 table in table.go is the single list of what is implemented and
// how completely; numbers missing from it return ENOSYS, are counted, and
// are logged once per number by the kernel.
package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// atFDCWD is AT_FDCWD.
const atFDCWD = -100

// getFile returns the file at fd with a reference, or EBADF.
func getFile(t *kernel.Task, fd int32) (*vfs.File, error) {
	f, ok := t.FDs().Get(fd)
	if !ok {
		return nil, unix.EBADF
	}
	return f, nil
}

// copyInPath reads a path argument.
func copyInPath(t *kernel.Task, addr uint64) (string, error) {
	p, err := t.CopyInString(addr, vfs.PathMax)
	if err != nil {
		return "", err
	}
	return p, nil
}

// startDir returns where a *at call resolves a relative path from.
func startDir(t *kernel.Task, dirfd int32, path string) (*vfs.Dentry, error) {
	if path != "" && path[0] == '/' {
		return t.Root(), nil
	}
	if dirfd == atFDCWD {
		return t.Cwd(), nil
	}
	f, err := getFile(t, dirfd)
	if err != nil {
		return nil, err
	}
	defer f.DecRef()
	d := f.Dentry()
	if d == nil {
		return nil, unix.ENOTDIR
	}
	if path == "" {
		return d, nil
	}
	// Only the type matters, which never changes: the walk's cache of it
	// spares a gofer round trip on a directory whose times each new
	// child makes stale.
	st, err := vfs.PermStat(d.Inode())
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	return d, nil
}

// resolveAt resolves path relative to dirfd as the *at calls do. With
// emptyPath (AT_EMPTY_PATH) an empty path names dirfd itself.
func resolveAt(t *kernel.Task, dirfd int32, path string, follow, emptyPath bool) (*vfs.Dentry, error) {
	if path == "" {
		if !emptyPath {
			return nil, unix.ENOENT
		}
		if dirfd == atFDCWD {
			return t.Cwd(), nil
		}
		f, err := getFile(t, dirfd)
		if err != nil {
			return nil, err
		}
		defer f.DecRef()
		if f.Dentry() == nil {
			return nil, unix.EBADF
		}
		return f.Dentry(), nil
	}
	start, err := startDir(t, dirfd, path)
	if err != nil {
		return nil, err
	}
	return vfs.Resolve(t.Root(), start, path, vfs.ResolveOpts{FollowFinal: follow, Creds: t.FSCreds()})
}
