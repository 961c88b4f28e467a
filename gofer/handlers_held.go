package gofer

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/fdio"
)

// Write-behind creation: CreateHeld and FinishHeld.
//
// Create is a round trip the sandbox waits for, and an archive extractor
// waits for one per file. CreateHeld lets the client send it without
// waiting (Client.PostCreateHeld): the client names the new file's FID
// itself, so that later requests can use it before the reply is read, and
// the gofer keeps the file's read-write descriptor instead of passing it.
// The sandbox keeps what is written meanwhile, and FinishHeld, also sent
// without waiting, writes those bytes through the kept descriptor, sets
// the attributes the sandbox changed, and closes the descriptor, so that
// the file is held open for writing here only while the sandbox has it
// open.

// handleCreateHeld implements CreateHeld: dir, name, mode, uid, gid, fid ->
// Stat. It is Create with O_RDWR, under the FID the client chose.
func (s *server) handleCreateHeld(r *request) unix.Errno {
	dirFID := FID(r.args.u64())
	name := r.args.strBytes()
	mode := r.args.u32()
	uid := r.args.u32()
	gid := r.args.u32()
	fid := FID(r.args.u64())
	if !r.args.ok() || fid&ClientFIDBit == 0 {
		return unix.EINVAL
	}
	return s.createFile(dirFID, name, unix.O_RDWR, mode, uid, gid, func(n *node, fd int, st *Stat) unix.Errno {
		if errno := s.installFID(fid, n, fd); errno != 0 {
			s.release(n)
			return errno
		}
		r.reply.stat(st)
		return 0
	})
}

// handleFinishHeld implements FinishHeld: fid, data, mask, mode, uid, gid,
// atime, mtime -> Stat. It writes data at offset 0 of the descriptor
// CreateHeld kept for fid's file, closes it, then makes the attribute
// changes as SetAttr does (a size is not one of them: the data is).
func (s *server) handleFinishHeld(r *request) unix.Errno {
	fid := FID(r.args.u64())
	data := r.args.bytes32()
	a := r.args.setAttrArgs(false)
	if !r.args.ok() || a.Mask&^(setAttrMask&^unix.STATX_SIZE) != 0 || len(data) > MaxHeldData {
		return unix.EINVAL
	}
	n, errno := s.acquire(fid)
	if errno != 0 {
		return errno
	}
	defer s.release(n)
	fd, ok := s.takeHeld(n)
	if !ok {
		return unix.EBADF
	}
	err := fdio.PwriteAll(fd, data, 0)
	_ = unix.Close(fd)
	if err != nil {
		return toErrno(err)
	}
	st, errno := s.setAttr(n, &a)
	if errno != 0 {
		return errno
	}
	r.reply.stat(&st)
	return 0
}
