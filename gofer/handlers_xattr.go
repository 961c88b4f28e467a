package gofer

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// Extended attributes. Only the "user." namespace is served. The others
// answer as Linux answers an unprivileged process: "trusted." attributes do
// not exist (ENODATA on get, EPERM on set and remove), and "security.",
// "system." and unknown namespaces are not supported (EOPNOTSUPP); Listxattr
// lists user attributes only. User attributes exist only on regular files
// and directories: on other files get fails with ENODATA and set and remove
// with EPERM, as on Linux, without asking the host.
//
// The f*xattr calls and the *xattrat calls of Linux 6.13 with AT_EMPTY_PATH
// refuse O_PATH descriptors (EBADF), and the /proc/self/fd path form is
// unavailable to a confined gofer, so the file is reopened read-only the way
// Open reopens it, with the same identity check, for the duration of the
// call.

// xattrNamespace classifies an attribute name.
type xattrNamespace int

const (
	xattrUser xattrNamespace = iota
	xattrTrusted
	xattrUnsupported
)

var userXattrPrefix = []byte("user.")

func classifyXattr(name []byte) xattrNamespace {
	switch {
	case bytes.HasPrefix(name, userXattrPrefix):
		return xattrUser
	case bytes.HasPrefix(name, []byte("trusted.")):
		return xattrTrusted
	}
	return xattrUnsupported
}

// checkXattrName validates an attribute name sent by the client.
func checkXattrName(name []byte) unix.Errno {
	switch {
	case len(name) == 0, len(name) > MaxXattrNameLen:
		return unix.ERANGE // as getxattr(2)
	case indexNUL(name) >= 0:
		return unix.EINVAL
	}
	return 0
}

// hasUserXattrs reports whether n's file type can carry user attributes.
func (n *node) hasUserXattrs() bool {
	return n.fileType == unix.S_IFREG || n.fileType == unix.S_IFDIR
}

// decodeXattrNode decodes a FID and attribute name and returns the node with
// a reference the caller must drop with release, and the name's namespace.
// more decodes the op's remaining arguments before they are checked.
func (s *server) decodeXattrNode(r *request, more func()) (*node, []byte, xattrNamespace, unix.Errno) {
	fid := FID(r.args.u64())
	name := r.args.strBytes()
	if more != nil {
		more()
	}
	if !r.args.ok() {
		return nil, nil, 0, unix.EINVAL
	}
	if errno := checkXattrName(name); errno != 0 {
		return nil, nil, 0, errno
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return n, name, classifyXattr(name), 0
}

// handleGetxattr implements Getxattr: fid, name, size -> n u32 and, when size
// is not zero, n bytes of value. Size zero asks for the value's length.
func (s *server) handleGetxattr(r *request) unix.Errno {
	var size uint32
	n, name, ns, errno := s.decodeXattrNode(r, func() { size = r.args.u32() })
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	if size > MaxXattrValueLen {
		return unix.EINVAL
	}
	switch {
	case ns == xattrTrusted:
		return unix.ENODATA
	case ns != xattrUser:
		return unix.EOPNOTSUPP
	case !n.hasUserXattrs():
		return unix.ENODATA
	}
	fd, errno := s.reopen(n, unix.O_RDONLY|unix.O_NONBLOCK)
	if errno != 0 {
		return errno
	}
	defer unix.Close(fd)
	var buf []byte
	if size > 0 {
		buf = r.xattrBuf[:size]
	}
	got, err := unix.Fgetxattr(fd, string(name), buf)
	if err != nil {
		return toErrno(err)
	}
	if got < 0 || got > MaxXattrValueLen || (size > 0 && got > int(size)) {
		return unix.EIO
	}
	if size == 0 {
		r.reply.u32(uint32(got))
		return 0
	}
	r.reply.bytes32(buf[:got])
	return 0
}

// handleSetxattr implements Setxattr: fid, name, value (u32 length), flags
// -> ().
func (s *server) handleSetxattr(r *request) unix.Errno {
	var value []byte
	var flags uint32
	n, name, ns, errno := s.decodeXattrNode(r, func() {
		value = r.args.bytes32()
		flags = r.args.u32()
	})
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	switch {
	case len(value) > MaxXattrValueLen:
		return unix.E2BIG
	case flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0:
		return unix.EINVAL
	case n.tree.readOnly:
		return unix.EROFS
	case ns == xattrTrusted:
		return unix.EPERM
	case ns != xattrUser:
		return unix.EOPNOTSUPP
	case !n.hasUserXattrs():
		return unix.EPERM
	}
	fd, errno := s.reopen(n, unix.O_RDONLY|unix.O_NONBLOCK)
	if errno != 0 {
		return errno
	}
	defer unix.Close(fd)
	if err := unix.Fsetxattr(fd, string(name), value, int(flags)); err != nil {
		return toErrno(err)
	}
	return 0
}

// handleRemovexattr implements Removexattr: fid, name -> ().
func (s *server) handleRemovexattr(r *request) unix.Errno {
	n, name, ns, errno := s.decodeXattrNode(r, nil)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	switch {
	case n.tree.readOnly:
		return unix.EROFS
	case ns == xattrTrusted:
		return unix.EPERM
	case ns != xattrUser:
		return unix.EOPNOTSUPP
	case !n.hasUserXattrs():
		return unix.EPERM
	}
	fd, errno := s.reopen(n, unix.O_RDONLY|unix.O_NONBLOCK)
	if errno != 0 {
		return errno
	}
	defer unix.Close(fd)
	if err := unix.Fremovexattr(fd, string(name)); err != nil {
		return toErrno(err)
	}
	return 0
}

// handleListxattr implements Listxattr: fid, size -> n u32 and, when size is
// not zero, n bytes: the NUL-terminated names of the file's user
// attributes. Size zero asks for the list's length.
func (s *server) handleListxattr(r *request) unix.Errno {
	fid := FID(r.args.u64())
	size := r.args.u32()
	if !r.args.ok() || size > MaxXattrListLen {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	var list []byte
	if n.hasUserXattrs() {
		fd, errno := s.reopen(n, unix.O_RDONLY|unix.O_NONBLOCK)
		if errno != 0 {
			return errno
		}
		got, err := unix.Flistxattr(fd, r.xattrBuf)
		_ = unix.Close(fd)
		if err != nil {
			return toErrno(err)
		}
		if got < 0 || got > len(r.xattrBuf) {
			return unix.EIO
		}
		list = filterUserXattrs(r.xattrBuf[:got])
	}
	if size == 0 {
		r.reply.u32(uint32(len(list)))
		return 0
	}
	if len(list) > int(size) {
		return unix.ERANGE
	}
	r.reply.bytes32(list)
	return 0
}

// filterUserXattrs keeps the "user." names of a NUL-terminated name list, in
// place, and returns the shortened list. A final name without its NUL (which
// Linux never returns) is dropped.
func filterUserXattrs(list []byte) []byte {
	out := list[:0]
	for len(list) > 0 {
		end := indexNUL(list)
		if end < 0 {
			break
		}
		name := list[:end+1]
		list = list[end+1:]
		if bytes.HasPrefix(name, userXattrPrefix) {
			// out never overtakes name, so copying forward is safe.
			out = append(out, name...)
		}
	}
	return out
}
