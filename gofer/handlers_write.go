package gofer

import (
	"math"

	"golang.org/x/sys/unix"
)

// Handlers of the operations that modify a tree. Each one names what it
// changes by a directory FID and a single checked component, and reaches it
// with an *at system call on the directory's descriptor that does not follow
// a trailing symlink, so no request can touch a file outside the tree. A
// read-only tree refuses them all with EROFS.

// createOpenFlags are the Create flags accepted besides the access mode.
// O_CREAT and O_EXCL are implied; O_TRUNC means nothing for a new file.
const createOpenFlags = unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC | unix.O_APPEND |
	unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | linuxOLargefile

// acquireDirForWrite returns the node named by fid, with a reference the
// caller must drop with release, after checking that it is a directory of a
// read-write tree and that name is a valid component to create or remove in
// it.
func (s *server) acquireDirForWrite(fid FID, name []byte) (*node, unix.Errno) {
	dir, errno := s.acquire(fid)
	if errno != 0 {
		return nil, errno
	}
	if errno := checkDirForWrite(dir, name); errno != 0 {
		s.release(dir)
		return nil, errno
	}
	return dir, 0
}

func checkDirForWrite(dir *node, name []byte) unix.Errno {
	if !dir.isDir() {
		return unix.ENOTDIR
	}
	if errno := checkName(name); errno != 0 {
		return errno
	}
	if dir.tree.readOnly {
		return unix.EROFS
	}
	return 0
}

// replyNewNode opens the file just created as name in dir, checks that it
// has the given type, sets its owner and mode, and replies with a new FID
// and its Stat. It fails with ESTALE if something else took the name in the
// meantime. When want is non-nil, the new file must be want's inode.
//
// Preconditions: the caller holds a reference on dir.
func (s *server) replyNewNode(r *request, dir *node, name string, fileType uint32, want *Stat, mode, uid, gid uint32) unix.Errno {
	n, st, errno := s.newNode(dir, name, fileType, want, mode, uid, gid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	fid, errno := s.newFID(n)
	if errno != 0 {
		return errno
	}
	r.reply.u64(uint64(fid))
	r.reply.stat(&st)
	return 0
}

// newNode is replyNewNode but for the reply: it returns the new file's
// node, with a reference the caller must drop with release, and its Stat.
func (s *server) newNode(dir *node, name string, fileType uint32, want *Stat, mode, uid, gid uint32) (*node, Stat, unix.Errno) {
	fd, errno := openBeneath(dir.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if errno != 0 {
		return nil, Stat{}, errno
	}
	st, errno := fstat(fd)
	if errno == 0 && (st.FileType() != fileType || want != nil && (st.Dev != want.Dev || st.Ino != want.Ino)) {
		errno = unix.ESTALE
	}
	if errno == 0 && !hasOwnerAndMode(&st, fileType, mode, uid, gid) {
		errno = setOwnerAndMode(fd, &st, fileType, mode, uid, gid)
		if errno == 0 {
			st, errno = fstat(fd)
		}
	}
	if errno != 0 {
		_ = unix.Close(fd)
		return nil, Stat{}, errno
	}
	return s.adopt(dir, name, fd, &st), st, 0
}

// hasOwnerAndMode reports whether a new file, whose attributes are st,
// already has the owner and mode asked for: most files a sandbox makes
// belong to the gofer's own user and group, and their mode passed the
// gofer's umask unchanged, so the calls that would set them again are
// saved (a third of the system calls of a Create).
func hasOwnerAndMode(st *Stat, fileType, mode, uid, gid uint32) bool {
	return st.UID == uid && st.GID == gid &&
		(fileType == unix.S_IFLNK || st.Mode&0o7777 == mode&0o7777)
}

// setOwnerAndMode gives a new file, whose attributes are st, its owner,
// then its mode (in that order, since chown clears set-user-ID and
// set-group-ID bits; the mode is set again whenever the owner changes).
// The gofer creates files with its own umask applied, so the mode may
// differ from the one asked for; symlinks have none.
func setOwnerAndMode(fd int, st *Stat, fileType, mode, uid, gid uint32) unix.Errno {
	chowned := false
	if st.UID != uid || st.GID != gid {
		if err := unix.Fchownat(fd, "", int(uid), int(gid), unix.AT_EMPTY_PATH); err != nil {
			return toErrno(err)
		}
		chowned = true
	}
	if fileType == unix.S_IFLNK || !chowned && st.Mode&0o7777 == mode&0o7777 {
		return 0
	}
	return chmodPath(fd, mode&0o7777)
}

// chmodPath changes the mode of the file the O_PATH descriptor fd refers to.
// It is fchmodat2(fd, "", mode, AT_EMPTY_PATH), which fails with EOPNOTSUPP
// for a symlink as lchmod does on Linux.
func chmodPath(fd int, mode uint32) unix.Errno {
	// Fchmodat with flags is fchmodat2 (Linux 6.6); on older kernels x/sys
	// reports its absence as EOPNOTSUPP, which this server then returns.
	if err := unix.Fchmodat(fd, "", mode, unix.AT_EMPTY_PATH); err != nil {
		return toErrno(err)
	}
	return 0
}

// handleCreate implements Create: dir, name, flags, mode, uid, gid ->
// fid, Stat and a donated descriptor open as flags ask.
func (s *server) handleCreate(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	name := r.args.strBytes()
	flags := int(r.args.u32())
	mode := r.args.u32()
	uid := r.args.u32()
	gid := r.args.u32()
	if !r.args.ok() {
		return unix.EINVAL
	}
	if flags&unix.O_ACCMODE == unix.O_ACCMODE || flags&^(unix.O_ACCMODE|createOpenFlags) != 0 {
		return unix.EINVAL
	}
	return s.createFile(dirFID, name, flags, mode, uid, gid, func(n *node, fd int, st *Stat) unix.Errno {
		defer s.release(n)
		fid, errno := s.newFID(n)
		if errno != 0 {
			return errno
		}
		r.reply.u64(uint64(fid))
		r.reply.stat(st)
		r.donatedFD = fd
		return 0
	})
}

// createFile creates name in the directory dirFID names as a regular file
// with exactly mode's permission bits and owner uid and gid, opened with
// the access mode, O_APPEND and O_NONBLOCK of flags, and hands its node
// (with a reference), the descriptor and its Stat to install. If install
// fails, it must have dropped the reference and left the descriptor, and
// the file is removed again.
func (s *server) createFile(dirFID FID, name []byte, flags int, mode, uid, gid uint32, install func(n *node, fd int, st *Stat) unix.Errno) unix.Errno {
	if t := mode & unix.S_IFMT; (t != 0 && t != unix.S_IFREG) || mode&^(unix.S_IFMT|0o7777) != 0 {
		return unix.EINVAL
	}
	dir, errno := s.acquireDirForWrite(dirFID, name)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)
	if s.fidsFull() {
		return unix.EMFILE
	}
	// O_EXCL: a symlink (or anything else) already there is never followed
	// or opened, only reported as EEXIST.
	hostFlags := flags&(unix.O_ACCMODE|unix.O_APPEND|unix.O_NONBLOCK) |
		unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_NOCTTY | unix.O_CLOEXEC
	fd, errno := openBeneathMode(dir.fd, string(name), hostFlags, mode&0o7777)
	if errno != 0 {
		return errno
	}
	st, errno := fstat(fd)
	var n *node
	if errno == 0 {
		n, st, errno = s.newNode(dir, string(name), unix.S_IFREG, &st, mode, uid, gid)
	}
	if errno == 0 {
		errno = install(n, fd, &st)
	}
	if errno != 0 {
		_ = unix.Close(fd)
		// Undo the creation, unless the name already names something else.
		if errno != unix.ESTALE {
			_ = unix.Unlinkat(dir.fd, string(name), 0)
		}
		return errno
	}
	return 0
}

// handleMkdir implements Mkdir: dir, name, mode, uid, gid -> fid, Stat.
func (s *server) handleMkdir(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	name := r.args.strBytes()
	mode := r.args.u32()
	uid := r.args.u32()
	gid := r.args.u32()
	if !r.args.ok() {
		return unix.EINVAL
	}
	if t := mode & unix.S_IFMT; (t != 0 && t != unix.S_IFDIR) || mode&^(unix.S_IFMT|0o7777) != 0 {
		return unix.EINVAL
	}
	dir, errno := s.acquireDirForWrite(dirFID, name)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)
	if s.fidsFull() {
		return unix.EMFILE
	}
	if err := unix.Mkdirat(dir.fd, string(name), mode&0o7777); err != nil {
		return toErrno(err)
	}
	errno = s.replyNewNode(r, dir, string(name), unix.S_IFDIR, nil, mode, uid, gid)
	if errno != 0 && errno != unix.ESTALE {
		_ = unix.Unlinkat(dir.fd, string(name), unix.AT_REMOVEDIR)
	}
	return errno
}

// handleMknod implements Mknod: dir, name, mode, uid, gid -> fid, Stat. Only
// regular files, FIFOs and sockets are made; device nodes are refused with
// EPERM, so the sentry can never create one on the host.
func (s *server) handleMknod(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	name := r.args.strBytes()
	mode := r.args.u32()
	uid := r.args.u32()
	gid := r.args.u32()
	if !r.args.ok() || mode&^(unix.S_IFMT|0o7777) != 0 {
		return unix.EINVAL
	}
	fileType := mode & unix.S_IFMT
	switch fileType {
	case 0:
		fileType = unix.S_IFREG // as mknod(2)
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	dir, errno := s.acquireDirForWrite(dirFID, name)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)
	if s.fidsFull() {
		return unix.EMFILE
	}
	if err := unix.Mknodat(dir.fd, string(name), fileType|mode&0o7777, 0); err != nil {
		return toErrno(err)
	}
	errno = s.replyNewNode(r, dir, string(name), fileType, nil, mode, uid, gid)
	if errno != 0 && errno != unix.ESTALE {
		_ = unix.Unlinkat(dir.fd, string(name), 0)
	}
	return errno
}

// handleSymlink implements Symlink: dir, name, target, uid, gid -> fid, Stat.
// The target is stored as given; the server never resolves it.
func (s *server) handleSymlink(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	name := r.args.strBytes()
	target := r.args.strBytes()
	uid := r.args.u32()
	gid := r.args.u32()
	if !r.args.ok() {
		return unix.EINVAL
	}
	switch {
	case len(target) == 0:
		return unix.ENOENT // as symlink(2)
	case len(target) > MaxSymlinkLen:
		return unix.ENAMETOOLONG
	case indexNUL(target) >= 0:
		return unix.EINVAL
	}
	dir, errno := s.acquireDirForWrite(dirFID, name)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)
	if s.fidsFull() {
		return unix.EMFILE
	}
	if err := unix.Symlinkat(string(target), dir.fd, string(name)); err != nil {
		return toErrno(err)
	}
	errno = s.replyNewNode(r, dir, string(name), unix.S_IFLNK, nil, 0, uid, gid)
	if errno != 0 && errno != unix.ESTALE {
		_ = unix.Unlinkat(dir.fd, string(name), 0)
	}
	return errno
}

// handleLink implements Link: dir, name, target fid -> the target's Stat.
// The new name links the target's inode itself, through its descriptor, so
// only files the client already holds in the same tree can be linked.
func (s *server) handleLink(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	name := r.args.strBytes()
	targetFID := FID(r.args.u64())
	if !r.args.ok() {
		return unix.EINVAL
	}
	dir, errno := s.acquireDirForWrite(dirFID, name)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)
	target, errno := s.acquire(targetFID)
	if errno != 0 {
		return errno
	}
	defer s.release(target)
	switch {
	case target.tree != dir.tree:
		return unix.EXDEV
	case target.isDir():
		return unix.EPERM // as link(2)
	}
	if err := unix.Linkat(target.fd, "", dir.fd, string(name), unix.AT_EMPTY_PATH); err != nil {
		return toErrno(err)
	}
	st, errno := fstat(target.fd)
	if errno != 0 {
		return errno
	}
	r.reply.stat(&st)
	return 0
}

// handleUnlink implements Unlink: dir, name, flags -> ().
func (s *server) handleUnlink(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	name := r.args.strBytes()
	flags := r.args.u32()
	if !r.args.ok() || flags&^unix.AT_REMOVEDIR != 0 {
		return unix.EINVAL
	}
	dir, errno := s.acquireDirForWrite(dirFID, name)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)
	if err := unix.Unlinkat(dir.fd, string(name), int(flags)); err != nil {
		return toErrno(err)
	}
	s.removed(dir, string(name))
	return 0
}

// handleRename implements Rename: oldDir, oldName, newDir, newName, flags
// -> ().
func (s *server) handleRename(r *request) unix.Errno {
	oldDirFID := FID(r.args.u64())
	oldName := r.args.strBytes()
	newDirFID := FID(r.args.u64())
	newName := r.args.strBytes()
	flags := r.args.u32()
	if !r.args.ok() || flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 {
		return unix.EINVAL // RENAME_WHITEOUT included: it makes a device node
	}
	oldDir, errno := s.acquireDirForWrite(oldDirFID, oldName)
	if errno != 0 {
		return errno
	}
	defer s.release(oldDir)
	newDir, errno := s.acquireDirForWrite(newDirFID, newName)
	if errno != 0 {
		return errno
	}
	defer s.release(newDir)
	if oldDir.tree != newDir.tree {
		return unix.EXDEV
	}
	if err := unix.Renameat2(oldDir.fd, string(oldName), newDir.fd, string(newName), uint(flags)); err != nil {
		return toErrno(err)
	}
	s.renamed(oldDir, string(oldName), newDir, string(newName), flags&unix.RENAME_EXCHANGE != 0)
	return 0
}

// setAttrMask are the SetAttr mask bits.
const setAttrMask = unix.STATX_MODE | unix.STATX_UID | unix.STATX_GID | unix.STATX_SIZE |
	unix.STATX_ATIME | unix.STATX_MTIME

// handleSetAttr implements SetAttr: fid, mask, mode, uid, gid, size, atime,
// mtime -> the new Stat. It changes the owner, then the mode, then the
// size, then the times, stopping at the first failure.
func (s *server) handleSetAttr(r *request) unix.Errno {
	fid := FID(r.args.u64())
	a := r.args.setAttrArgs(true)
	if !r.args.ok() || a.Mask&^setAttrMask != 0 {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	st, errno := s.setAttr(n, &a)
	if errno != 0 {
		return errno
	}
	r.reply.stat(&st)
	return 0
}

// setAttrArgs decodes SetAttr's arguments after the FID: mask, mode, uid,
// gid, the size if withSize (FinishHeld has none), atime and mtime.
func (d *decoder) setAttrArgs(withSize bool) SetAttrArgs {
	var a SetAttrArgs
	a.Mask = d.u32()
	a.Mode = d.u32()
	a.UID = d.u32()
	a.GID = d.u32()
	if withSize {
		a.Size = d.u64()
	}
	a.Atime = d.timespec()
	a.Mtime = d.timespec()
	return a
}

// setAttr makes the changes a names to n's file, as SetAttr describes, and
// returns its new Stat.
//
// Preconditions: the caller holds a reference on n; a.Mask is within
// setAttrMask.
func (s *server) setAttr(n *node, a *SetAttrArgs) (Stat, unix.Errno) {
	mask, mode, size := a.Mask, a.Mode, a.Size
	// Refuse what cannot be done before changing anything.
	if mask&unix.STATX_MODE != 0 {
		if t := mode & unix.S_IFMT; (t != 0 && t != n.fileType) || mode&^(unix.S_IFMT|0o7777) != 0 {
			return Stat{}, unix.EINVAL
		}
	}
	if mask&unix.STATX_SIZE != 0 {
		switch {
		case size > math.MaxInt64:
			return Stat{}, unix.EINVAL
		case n.isDir():
			return Stat{}, unix.EISDIR
		case n.fileType != unix.S_IFREG:
			return Stat{}, unix.EINVAL
		}
	}
	if mask != 0 && n.tree.readOnly {
		return Stat{}, unix.EROFS
	}
	if mask&unix.STATX_MODE != 0 && n.fileType == unix.S_IFLNK {
		return Stat{}, unix.EOPNOTSUPP // as fchmodat(AT_SYMLINK_NOFOLLOW)
	}

	if mask&(unix.STATX_UID|unix.STATX_GID) != 0 {
		hostUID, hostGID := -1, -1
		if mask&unix.STATX_UID != 0 {
			hostUID = int(a.UID)
		}
		if mask&unix.STATX_GID != 0 {
			hostGID = int(a.GID)
		}
		if err := unix.Fchownat(n.fd, "", hostUID, hostGID, unix.AT_EMPTY_PATH); err != nil {
			return Stat{}, toErrno(err)
		}
	}
	if mask&unix.STATX_MODE != 0 {
		if errno := chmodPath(n.fd, mode&0o7777); errno != 0 {
			return Stat{}, errno
		}
	}
	if mask&unix.STATX_SIZE != 0 {
		fd, errno := s.reopen(n, unix.O_WRONLY)
		if errno != 0 {
			return Stat{}, errno
		}
		err := ftruncate(fd, int64(size))
		_ = unix.Close(fd)
		if err != nil {
			return Stat{}, toErrno(err)
		}
	}
	if mask&(unix.STATX_ATIME|unix.STATX_MTIME) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if mask&unix.STATX_ATIME != 0 {
			ts[0] = a.Atime
		}
		if mask&unix.STATX_MTIME != 0 {
			ts[1] = a.Mtime
		}
		if err := unix.UtimesNanoAt(n.fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			return Stat{}, toErrno(err)
		}
	}
	return fstat(n.fd)
}
