package gofer

import (
	"golang.org/x/sys/unix"
)

// handleCreateTmpfile implements CreateTmpfile: dir, flags, mode, uid, gid
// -> fid, Stat, and a donated read-write descriptor. The file has no name
// (open(2)'s O_TMPFILE); Link gives it one unless flags has O_EXCL. Its
// node holds the O_TMPFILE descriptor itself, which linkat can name with
// AT_EMPTY_PATH; it has no parent, so it is never reopened by name.
func (s *server) handleCreateTmpfile(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	flags := int(r.args.u32())
	mode := r.args.u32()
	uid := r.args.u32()
	gid := r.args.u32()
	if !r.args.ok() || flags&^unix.O_EXCL != 0 || mode&^0o7777 != 0 {
		return unix.EINVAL
	}
	dir, errno := s.acquire(dirFID)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)
	switch {
	case !dir.isDir():
		return unix.ENOTDIR
	case dir.tree.readOnly:
		return unix.EROFS
	case s.fidsFull():
		return unix.EMFILE
	}
	fd, err := unix.Openat(dir.fd, ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC|flags, mode)
	if err != nil {
		return toErrno(err)
	}
	st, errno := fstat(fd)
	if errno == 0 && !hasOwnerAndMode(&st, unix.S_IFREG, mode, uid, gid) {
		errno = setOwnerAndMode(fd, &st, unix.S_IFREG, mode, uid, gid)
		if errno == 0 {
			st, errno = fstat(fd)
		}
	}
	if errno != 0 {
		_ = unix.Close(fd)
		return errno
	}
	donated, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		_ = unix.Close(fd)
		return toErrno(err)
	}
	n := &node{fd: fd, tree: dir.tree, dev: st.Dev, ino: st.Ino, fileType: unix.S_IFREG, refs: 1, dirFD: -1}
	defer s.release(n)
	fid, errno := s.newFID(n)
	if errno != 0 {
		_ = unix.Close(donated)
		return errno
	}
	r.reply.u64(uint64(fid))
	r.reply.stat(&st)
	r.donatedFD = donated
	return 0
}
