package synth

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// SetAttr applies an attribute change to the attributes of an inode kept
// in memory with no file system behind it (an anonymous pipe's, a
// socket's), as Linux's simple_setattr does: the mode's permission bits,
// the owner, the times, and ctime set to now. Such inodes have no size to
// change (EINVAL). The caller has checked permissions and holds what
// protects attr.
func SetAttr(attr *unix.Stat_t, opts vfs.SetStatOpts) error {
	if opts.Mask&vfs.SetSize != 0 {
		return unix.EINVAL
	}
	now := unix.NsecToTimespec(time.Now().UnixNano())
	timeOf := func(ts unix.Timespec) unix.Timespec {
		if ts.Nsec == unix.UTIME_NOW {
			return now
		}
		return ts
	}
	if opts.Mask&vfs.SetMode != 0 {
		attr.Mode = attr.Mode&unix.S_IFMT | opts.Mode&0o7777
	}
	if opts.Mask&vfs.SetUID != 0 {
		attr.Uid = opts.UID
	}
	if opts.Mask&vfs.SetGID != 0 {
		attr.Gid = opts.GID
	}
	if opts.Mask&vfs.SetAtime != 0 {
		attr.Atim = timeOf(opts.Atime)
	}
	if opts.Mask&vfs.SetMtime != 0 {
		attr.Mtim = timeOf(opts.Mtime)
	}
	attr.Ctim = now
	return nil
}
