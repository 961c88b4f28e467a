package gofer

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// handler serves one request: it decodes r.args, checks r.args.ok() before
// acting, appends its results to r.reply and returns 0, or returns an errno.
type handler func(s *server, r *request) unix.Errno

// handlers maps each op to its handler; adding an op means adding a line.
var handlers = [numOps]handler{
	opInvalid:  nil, // refused by handle before dispatch
	opRoot:     (*server).handleRoot,
	opWalk:     (*server).handleWalk,
	opStat:     (*server).handleStat,
	opOpen:     (*server).handleOpen,
	opGetdents: (*server).handleGetdents,
	opReadlink: (*server).handleReadlink,
	opStatFS:   (*server).handleStatFS,
	opClose:    (*server).handleClose,

	opAttach:        (*server).handleAttach,
	opCreate:        (*server).handleCreate,
	opMkdir:         (*server).handleMkdir,
	opMknod:         (*server).handleMknod,
	opSymlink:       (*server).handleSymlink,
	opLink:          (*server).handleLink,
	opUnlink:        (*server).handleUnlink,
	opRename:        (*server).handleRename,
	opSetAttr:       (*server).handleSetAttr,
	opGetxattr:      (*server).handleGetxattr,
	opSetxattr:      (*server).handleSetxattr,
	opListxattr:     (*server).handleListxattr,
	opRemovexattr:   (*server).handleRemovexattr,
	opCreateTmpfile: (*server).handleCreateTmpfile,
	opConnect:       (*server).handleConnect,
	opCreateHeld:    (*server).handleCreateHeld,
	opFinishHeld:    (*server).handleFinishHeld,
}

// handleRoot implements Root: () -> fid, Stat.
func (s *server) handleRoot(r *request) unix.Errno {
	if !r.args.ok() {
		return unix.EINVAL
	}
	root := s.acquireTree(nil, true)
	if root == nil {
		return unix.ENOENT // a gofer started without trees, none added yet
	}
	return s.attach(r, root)
}

// handleAttach implements Attach: name -> fid, Stat.
func (s *server) handleAttach(r *request) unix.Errno {
	name := r.args.strBytes()
	if !r.args.ok() {
		return unix.EINVAL
	}
	if len(name) > MaxNameLen {
		return unix.ENAMETOOLONG
	}
	root := s.acquireTree(name, false)
	if root == nil {
		return unix.ENOENT
	}
	return s.attach(r, root)
}

// attach replies with a new FID for root, a tree's root, and its Stat. It
// drops the caller's reference on root.
func (s *server) attach(r *request, root *node) unix.Errno {
	defer s.release(root)
	st, errno := fstat(root.fd)
	if errno != 0 {
		return errno
	}
	fid, errno := s.newFID(root)
	if errno != 0 {
		return errno
	}
	r.reply.u64(uint64(fid))
	r.reply.stat(&st)
	return 0
}

// handleWalk implements Walk: dir, names -> (fid, Stat) per walked component.
// Unlike other handlers it replies with its partial results on failure.
func (s *server) handleWalk(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	count := int(r.args.u16())
	if count > MaxWalkNames {
		return unix.EINVAL
	}
	r.names = r.names[:0]
	for range count {
		r.names = append(r.names, r.args.strBytes())
	}
	if !r.args.ok() {
		return unix.EINVAL
	}
	dir, errno := s.acquire(dirFID)
	if errno != 0 {
		return errno
	}
	defer s.release(dir)

	countOffset := len(r.reply.buf)
	r.reply.u16(0)
	walked := r.walked[:0]
	cur := dir
	for _, name := range r.names {
		if errno = checkName(name); errno != 0 {
			break
		}
		if !cur.isDir() {
			errno = unix.ENOTDIR
			break
		}
		child, st, childErrno := s.newChild(cur, name)
		if childErrno != 0 {
			errno = childErrno
			break
		}
		walked = append(walked, walkedNode{node: child, stat: st})
		if child.fileType == unix.S_IFLNK {
			// The sentry resolves the link in its own view of the tree.
			break
		}
		cur = child
	}

	installed := s.installFIDs(walked)
	for i := installed; i < len(walked); i++ {
		s.release(walked[i].node)
		errno = unix.EMFILE
	}
	for i := range walked[:installed] {
		r.reply.u64(uint64(walked[i].fid))
		r.reply.stat(&walked[i].stat)
	}
	r.reply.patchU16(countOffset, uint16(installed))
	clear(walked) // the scratch slice must not keep nodes alive
	r.walked = walked[:0]
	return errno
}

// handleStat implements Stat: fid -> Stat.
func (s *server) handleStat(r *request) unix.Errno {
	fid := FID(r.args.u64())
	if !r.args.ok() {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	st, errno := fstat(n.fd)
	if errno != 0 {
		return errno
	}
	r.reply.stat(&st)
	return 0
}

// handleOpen implements Open: fid, flags -> a donated descriptor.
func (s *server) handleOpen(r *request) unix.Errno {
	fid := FID(r.args.u64())
	flags := r.args.u32()
	if !r.args.ok() {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	if errno := checkOpenFlags(flags, n.tree.readOnly); errno != 0 {
		return errno
	}
	fd, errno := s.reopen(n, int(flags))
	if errno != 0 {
		return errno
	}
	r.donatedFD = fd
	return 0
}

// reopen opens n's file, a regular file or directory, as Open describes:
// with the access mode and the O_APPEND, O_NONBLOCK and O_TRUNC of flags.
//
// Preconditions: the caller holds a reference on n; flags passed
// checkOpenFlags for n's tree.
func (s *server) reopen(n *node, flags int) (int, unix.Errno) {
	accMode := flags & unix.O_ACCMODE
	// Refuse by type first: the type of an inode never changes, so nothing
	// but regular files and directories is ever opened.
	switch n.fileType {
	case unix.S_IFREG:
		if flags&unix.O_DIRECTORY != 0 {
			return -1, unix.ENOTDIR
		}
	case unix.S_IFDIR:
		if accMode != unix.O_RDONLY {
			return -1, unix.EISDIR
		}
	case unix.S_IFLNK:
		// Following it is the sentry's job, inside its own view.
		return -1, unix.ELOOP
	case unix.S_IFSOCK:
		return -1, unix.ENXIO // what open(2) of a socket returns
	default: // devices, FIFOs, and anything unknown
		return -1, unix.EACCES
	}

	hostFlags := accMode | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NOFOLLOW |
		flags&(unix.O_NONBLOCK|unix.O_APPEND)
	var fd int
	var errno unix.Errno
	if n.isDir() {
		// "." under the directory's own descriptor is that directory: no
		// name to race on.
		fd, errno = openBeneath(n.fd, ".", hostFlags|unix.O_DIRECTORY)
	} else {
		// Regular files are never a tree's root, so they have a parent
		// unless they were made with O_TMPFILE. The name may have been
		// replaced since the walk; the identity check
		// below catches that, and O_NONBLOCK keeps a FIFO swapped in from
		// blocking the open until then. O_TRUNC waits for the check too.
		parent, name := s.parentOf(n)
		if parent == nil {
			// A file with no name to reopen it by: an O_TMPFILE file
			// not linked yet.
			return -1, unix.ESTALE
		}
		fd, errno = openBeneath(parent.fd, name, hostFlags|unix.O_NONBLOCK)
		s.release(parent)
	}
	if errno != 0 {
		return -1, errno
	}
	st, errno := fstat(fd)
	if errno != 0 {
		_ = unix.Close(fd)
		return -1, errno
	}
	if st.Dev != n.dev || st.Ino != n.ino || st.FileType() != n.fileType {
		_ = unix.Close(fd)
		return -1, unix.ESTALE
	}
	if n.isDir() {
		return fd, 0
	}
	if flags&unix.O_TRUNC != 0 {
		if err := ftruncate(fd, 0); err != nil {
			_ = unix.Close(fd)
			return -1, toErrno(err)
		}
	}
	if want := flags & (unix.O_APPEND | unix.O_NONBLOCK); want != unix.O_NONBLOCK {
		// Clear the O_NONBLOCK added above. F_SETFL sets all of O_APPEND,
		// O_ASYNC, O_DIRECT, O_NOATIME and O_NONBLOCK, so it is given the
		// ones asked for.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, want); err != nil {
			_ = unix.Close(fd)
			return -1, toErrno(err)
		}
	}
	return fd, 0
}

// ftruncate is ftruncate(2), retried on EINTR.
func ftruncate(fd int, size int64) error {
	for {
		err := unix.Ftruncate(fd, size)
		if err != unix.EINTR {
			return err
		}
	}
}

// handleGetdents implements Getdents: dir, offset, maxBytes -> dirents.
func (s *server) handleGetdents(r *request) unix.Errno {
	fid := FID(r.args.u64())
	offset := r.args.u64()
	maxBytes := r.args.u32()
	if !r.args.ok() || maxBytes == 0 || maxBytes > MaxGetdentsBytes {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	if !n.isDir() {
		return unix.ENOTDIR
	}

	n.dirMu.Lock()
	defer n.dirMu.Unlock()
	if n.dirFD < 0 {
		fd, errno := openBeneath(n.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW)
		if errno != 0 {
			return errno
		}
		n.dirFD = fd
	}
	// Every call seeks, so the offset alone says where to continue and the
	// descriptor's position carries no state between requests. Offsets are
	// the host file system's own cookies, which it accepts back from lseek.
	if _, err := unix.Seek(n.dirFD, int64(offset), unix.SEEK_SET); err != nil {
		return toErrno(err)
	}
	buf := r.direntBuf[:min(int(maxBytes), len(r.direntBuf))]
	nread, err := getdents(n.dirFD, buf)
	if err != nil {
		return toErrno(err)
	}
	if nread == 0 {
		// The listing is done: the descriptor goes, and a later
		// listing opens another. A directory the sandbox has listed
		// (find(1) lists them all) then holds one descriptor here, its
		// O_PATH one, not two, and its FID counts for what it holds.
		_ = unix.Close(n.dirFD)
		n.dirFD = -1
	}
	return encodeDirents(&r.reply, buf[:nread])
}

// getdents is getdents64(2), retried on EINTR.
func getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// encodeDirents appends the linux_dirent64 records in buf as wire dirents.
// The kernel wrote buf, but it is parsed defensively all the same.
func encodeDirents(e *encoder, buf []byte) unix.Errno {
	// linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name.
	const nameOffset = 19
	countOffset := len(e.buf)
	e.u32(0)
	count := uint32(0)
	for len(buf) > 0 {
		if len(buf) < nameOffset {
			return unix.EIO
		}
		reclen := int(binary.LittleEndian.Uint16(buf[16:]))
		if reclen <= nameOffset || reclen > len(buf) {
			return unix.EIO
		}
		name := buf[nameOffset:reclen]
		if end := indexNUL(name); end >= 0 {
			name = name[:end]
		}
		if len(name) > 0xffff {
			return unix.EIO
		}
		e.u64(binary.LittleEndian.Uint64(buf[0:]))
		e.u64(binary.LittleEndian.Uint64(buf[8:]))
		e.u8(buf[18])
		e.strBytes(name)
		count++
		buf = buf[reclen:]
	}
	e.patchU32(countOffset, count)
	return 0
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// handleReadlink implements Readlink: fid -> target.
func (s *server) handleReadlink(r *request) unix.Errno {
	fid := FID(r.args.u64())
	if !r.args.ok() {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	if n.fileType != unix.S_IFLNK {
		return unix.EINVAL // as readlink(2) on a file that is not a link
	}
	// The empty path reads the link the O_PATH descriptor refers to.
	size, err := unix.Readlinkat(n.fd, "", r.linkBuf)
	if err != nil {
		return toErrno(err)
	}
	if size > maxLinkTarget {
		// Linux cannot create such a link; a stranger file system did.
		return unix.ENAMETOOLONG
	}
	r.reply.strBytes(r.linkBuf[:size])
	return 0
}

// handleStatFS implements StatFS: fid -> StatFS.
func (s *server) handleStatFS(r *request) unix.Errno {
	fid := FID(r.args.u64())
	if !r.args.ok() {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	var st unix.Statfs_t
	if err := unix.Fstatfs(n.fd, &st); err != nil {
		return toErrno(err)
	}
	sfs := statFSFromHost(&st)
	if n.tree.readOnly {
		sfs.Flags |= unix.ST_RDONLY
	}
	r.reply.statFS(&sfs)
	return 0
}

// handleClose implements Close: fids -> ().
func (s *server) handleClose(r *request) unix.Errno {
	count := int(r.args.u32())
	// Check the count against what the packet holds before trusting it
	// with an allocation.
	if count > maxCloseFIDs || count*8 != r.args.remaining() {
		return unix.EINVAL
	}
	r.closeFIDs = r.closeFIDs[:0]
	for range count {
		r.closeFIDs = append(r.closeFIDs, FID(r.args.u64()))
	}
	if !r.args.ok() {
		return unix.EINVAL
	}
	var errno unix.Errno
	for _, fid := range r.closeFIDs {
		n, ok := s.removeFID(fid)
		if !ok {
			errno = unix.EBADF
			continue
		}
		s.release(n)
	}
	return errno
}
