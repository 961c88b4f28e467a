package goferfs

import "golang.org/x/sys/unix"

// Attributes of an open regular file, kept between fstat calls.
//
// While a regular file has a donated host descriptor, Stat reads its
// attributes with fstat, which is always current. On an exclusive tree
// only the sandbox changes files, and every change it makes goes through
// this tree: I/O through a donated descriptor (a write moves size and
// times, a read may move atime), an attribute or xattr change, a link,
// unlink or rename (nlink and ctime). Each of them counts itself in
// FS.hostChanges once it is done, and the VFS invalidates what it changed
// behind an inode's back (Invalidate counts too), so an fstat result is
// still the host's while neither that count nor FS.linkGen has moved
// since it was read. Stat then answers from it without a system call:
// open+fstat+close of an unchanged file costs no host call at all.
//
// The count is the tree's, not the inode's: a file may have other inodes
// (another name made by link, a name given to an O_TMPFILE file), whose
// descriptors change the same host file, and any change anywhere in the
// tree makes every inode read its file again. A shared tree never keeps
// the result: the host may change its files at any time.

// fstatStamp records what had been counted when an inode's attributes
// were last read with fstat.
type fstatStamp struct {
	valid   bool
	changes uint64
	links   uint64
}

// hostChanged counts an operation that may have changed the attributes
// of a file of the tree on the host; callers make it after the operation
// is done, so that an fstat racing with it is never kept.
func (fs *FS) hostChanged() { fs.hostChanges.Add(1) }

// stampNow returns the counts an fstat about to be made is valid for.
func (fs *FS) stampNow() fstatStamp {
	return fstatStamp{valid: true, changes: fs.hostChanges.Load(), links: fs.linkGen.Load()}
}

// currentFstatLocked reports whether i.stat holds an fstat result that is
// still the host's; i.mu is held.
func (i *inode) currentFstatLocked() bool {
	return i.fs.opts.Exclusive && i.fstat.valid &&
		i.fstat.changes == i.fs.hostChanges.Load() && i.fstat.links == i.fs.linkGen.Load()
}

// statFromHostFDLocked reads the attributes through a donated descriptor
// and records them, with the identity the sandbox saw at lookup and the
// pending changes on top; ok is false when the inode has no descriptor or
// fstat failed. i.mu is held.
func (i *inode) statFromHostFDLocked() (st unix.Stat_t, ok bool) {
	fd := fdOf(i.hostFDs[0])
	if fd < 0 {
		fd = fdOf(i.hostFDs[1])
	}
	if fd < 0 {
		return st, false
	}
	stamp := i.fs.stampNow()
	if unix.Fstat(fd, &st) != nil {
		return st, false
	}
	st.Dev, st.Ino = i.stat.Dev, i.stat.Ino
	if i.fs.opts.IDsFromGofer {
		st.Uid, st.Gid = i.stat.Uid, i.stat.Gid
	}
	i.pending.apply(&st)
	i.stat, i.fstat = st, stamp
	return st, true
}
