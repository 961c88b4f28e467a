package gofer

import (
	"math"

	"golang.org/x/sys/unix"
)

// Client methods of the operations that modify a tree. They check sizes the
// wire format bounds before sending; everything else is checked by the
// server, which answers EROFS on a read-only tree.

// SetAttrArgs says which attributes Client.SetAttr changes, and to what.
type SetAttrArgs struct {
	// Mask is a set of unix.STATX_MODE, STATX_UID, STATX_GID, STATX_SIZE,
	// STATX_ATIME and STATX_MTIME bits naming the fields below to apply.
	Mask uint32
	// Mode holds permission bits (07777), optionally with the file's own
	// S_IFMT type bits.
	Mode     uint32
	UID, GID uint32
	// Size truncates or extends a regular file.
	Size uint64
	// Atime and Mtime may have Nsec set to unix.UTIME_NOW or UTIME_OMIT.
	Atime, Mtime unix.Timespec
}

// checkFlags32 refuses flags that do not fit the wire's uint32.
func checkFlags32(flags int) unix.Errno {
	if flags < 0 || int64(flags) > math.MaxUint32 {
		return unix.EINVAL
	}
	return 0
}

// checkClientName bounds a component so the request stays well-formed; the
// server checks the rest.
func checkClientName(name string) unix.Errno {
	if len(name) > MaxNameLen {
		return unix.ENAMETOOLONG
	}
	return 0
}

// Create creates and opens a regular file called name in the directory dir,
// failing with EEXIST if the name exists (even as a dangling symlink). flags
// is an access mode optionally with O_APPEND and O_NONBLOCK (O_CREAT,
// O_EXCL and O_TRUNC are implied or meaningless and accepted). The file gets
// exactly mode's permission bits, no umask applied, and owner uid and gid.
// It returns a FID for the new file, its Stat, and a host descriptor open as
// flags ask, close-on-exec, which the caller owns.
func (c *Client) Create(dir FID, name string, flags int, mode, uid, gid uint32) (FID, Stat, int, error) {
	if errno := checkClientName(name); errno != 0 {
		return 0, Stat{}, -1, errno
	}
	if errno := checkFlags32(flags); errno != 0 {
		return 0, Stat{}, -1, errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opCreate)
	e.u64(uint64(dir))
	e.str(name)
	e.u32(uint32(flags))
	e.u32(mode)
	e.u32(uid)
	e.u32(gid)
	return x.fidStatFDReply(opCreate)
}

// fidStatFDReply sends the request begun for o and decodes a reply of a
// FID, a Stat and a donated descriptor (Create, CreateTmpfile). x is this caller's.
func (x *clientConn) fidStatFDReply(o op) (FID, Stat, int, error) {
	rep, err := x.roundTrip(o, true)
	if err != nil {
		return 0, Stat{}, -1, err
	}
	if rep.errno != 0 {
		return 0, Stat{}, -1, rep.errno
	}
	fid := FID(rep.results.u64())
	st := rep.results.stat()
	fd, err := x.takeReplyFD(o, &rep)
	if err != nil {
		return 0, Stat{}, -1, err
	}
	return fid, st, fd, nil
}

// Mkdir creates a directory called name in dir with exactly mode's
// permission bits and owner uid and gid, and returns a FID for it.
func (c *Client) Mkdir(dir FID, name string, mode, uid, gid uint32) (FID, Stat, error) {
	return c.makeNode(opMkdir, dir, name, mode, uid, gid)
}

// Mknod creates a regular file (S_IFREG or no type bits), FIFO (S_IFIFO) or
// socket (S_IFSOCK) called name in dir with exactly mode's permission bits
// and owner uid and gid, and returns a FID for it. Device nodes are refused
// with EPERM.
func (c *Client) Mknod(dir FID, name string, mode, uid, gid uint32) (FID, Stat, error) {
	return c.makeNode(opMknod, dir, name, mode, uid, gid)
}

// makeNode is Mkdir and Mknod, which share a wire format.
func (c *Client) makeNode(o op, dir FID, name string, mode, uid, gid uint32) (FID, Stat, error) {
	if errno := checkClientName(name); errno != 0 {
		return 0, Stat{}, errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(o)
	e.u64(uint64(dir))
	e.str(name)
	e.u32(mode)
	e.u32(uid)
	e.u32(gid)
	return x.fidStatReply(o)
}

// Symlink creates a symlink called name in dir, pointing at target (which
// the server stores as given and never resolves), owned by uid and gid, and
// returns a FID for the link.
func (c *Client) Symlink(dir FID, name, target string, uid, gid uint32) (FID, Stat, error) {
	if errno := checkClientName(name); errno != 0 {
		return 0, Stat{}, errno
	}
	if len(target) > MaxSymlinkLen {
		return 0, Stat{}, unix.ENAMETOOLONG
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opSymlink)
	e.u64(uint64(dir))
	e.str(name)
	e.str(target)
	e.u32(uid)
	e.u32(gid)
	return x.fidStatReply(opSymlink)
}

// Link makes name in dir a new hard link to target's file, which must be in
// the same tree and not a directory, and returns target's updated Stat.
func (c *Client) Link(dir FID, name string, target FID) (Stat, error) {
	if errno := checkClientName(name); errno != 0 {
		return Stat{}, errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opLink)
	e.u64(uint64(dir))
	e.str(name)
	e.u64(uint64(target))
	return x.statReply(opLink)
}

// Unlink removes name from dir: a directory (which must be empty) when flags
// is unix.AT_REMOVEDIR, anything else when it is 0.
func (c *Client) Unlink(dir FID, name string, flags int) error {
	if errno := checkClientName(name); errno != 0 {
		return errno
	}
	if errno := checkFlags32(flags); errno != 0 {
		return errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opUnlink)
	e.u64(uint64(dir))
	e.str(name)
	e.u32(uint32(flags))
	return x.emptyReply(opUnlink)
}

// Rename renames oldName in oldDir to newName in newDir, both in the same
// tree, as renameat2(2) with flags 0, unix.RENAME_NOREPLACE or
// unix.RENAME_EXCHANGE. FIDs of the renamed file keep working for Open.
func (c *Client) Rename(oldDir FID, oldName string, newDir FID, newName string, flags int) error {
	if errno := checkClientName(oldName); errno != 0 {
		return errno
	}
	if errno := checkClientName(newName); errno != 0 {
		return errno
	}
	if errno := checkFlags32(flags); errno != 0 {
		return errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opRename)
	e.u64(uint64(oldDir))
	e.str(oldName)
	e.u64(uint64(newDir))
	e.str(newName)
	e.u32(uint32(flags))
	return x.emptyReply(opRename)
}

// SetAttr changes the attributes of f's file that a.Mask names, in the order
// owner, mode, size, times, and returns its new Stat. Changing a symlink's
// mode fails with EOPNOTSUPP, as on Linux.
func (c *Client) SetAttr(f FID, a SetAttrArgs) (Stat, error) {
	x := c.get()
	defer c.put(x)
	x.beginSetAttr(f, a)
	return x.statReply(opSetAttr)
}

// beginSetAttr starts a SetAttr request in x.out.
func (x *clientConn) beginSetAttr(f FID, a SetAttrArgs) {
	e := x.begin(opSetAttr)
	e.u64(uint64(f))
	e.setAttrArgs(a, true)
}

// setAttrArgs encodes a as decoder.setAttrArgs decodes it.
func (e *encoder) setAttrArgs(a SetAttrArgs, withSize bool) {
	e.u32(a.Mask)
	e.u32(a.Mode)
	e.u32(a.UID)
	e.u32(a.GID)
	if withSize {
		e.u64(a.Size)
	}
	e.timespec(a.Atime)
	e.timespec(a.Mtime)
}

// statReply sends the request in x.out and decodes a reply of a Stat.
//
// Preconditions: x is this caller's; begin was called.
func (x *clientConn) statReply(o op) (Stat, error) {
	rep, err := x.roundTrip(o, false)
	if err != nil {
		return Stat{}, err
	}
	if rep.errno != 0 {
		return Stat{}, rep.errno
	}
	st := rep.results.stat()
	if !rep.results.ok() {
		return Stat{}, x.malformed(o)
	}
	return st, nil
}

// emptyReply sends the request in x.out and checks that its reply has no
// results.
//
// Preconditions: x is this caller's; begin was called.
func (x *clientConn) emptyReply(o op) error {
	rep, err := x.roundTrip(o, false)
	if err != nil {
		return err
	}
	if rep.errno != 0 {
		return rep.errno
	}
	if !rep.results.ok() {
		return x.malformed(o)
	}
	return nil
}

// CreateTmpfile creates an unnamed regular file in dir (open(2)'s
// O_TMPFILE) with exactly mode's permission bits and owner uid and gid;
// flags may hold O_EXCL (the file can never get a name). It returns a FID
// that Link can name, the file's Stat, and a read-write host descriptor
// the caller owns.
func (c *Client) CreateTmpfile(dir FID, flags int, mode, uid, gid uint32) (FID, Stat, int, error) {
	if errno := checkFlags32(flags); errno != 0 {
		return 0, Stat{}, -1, errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opCreateTmpfile)
	e.u64(uint64(dir))
	e.u32(uint32(flags))
	e.u32(mode)
	e.u32(uid)
	e.u32(gid)
	return x.fidStatFDReply(opCreateTmpfile)
}
