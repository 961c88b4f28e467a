package goferfs

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
)

// A write or truncation through a donated descriptor by a process without
// CAP_FSETID over the file makes the host kernel clear its set-user-ID
// bit and its set-group-ID bit when group-executable (file_remove_privs).
// A confined sentry (Options.IDsFromGofer) has that capability over no
// host file, but whether a sandbox write kills the bits is for the
// sandbox's VFS to decide, by the writing task's capabilities, and it has
// decided before the write reaches here: so what the host cleared is put
// back through the gofer, which may.

// privBits returns the bits of mode a host write may clear.
func privBits(mode uint32) uint32 { return mode & (unix.S_ISUID | unix.S_ISGID) }

// privsBeforeWrite returns the set-ID bits a write through a donated
// descriptor must keep: none unless the host would clear them for this
// process.
func (i *inode) privsBeforeWrite() uint32 {
	if !i.fs.opts.IDsFromGofer {
		return 0
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return privBits(i.stat.Mode)
}

// restorePrivs puts back the set-ID bits kept (from privsBeforeWrite)
// that the host cleared from the file behind fd.
func (i *inode) restorePrivs(fd int, kept uint32) {
	if kept == 0 {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&kept == kept {
		return
	}
	gst, err := i.fs.client.SetAttr(i.fid, gofer.SetAttrArgs{Mask: unix.STATX_MODE, Mode: (st.Mode | kept) & 0o7777})
	if err == nil {
		i.setStat(gst)
	}
}
