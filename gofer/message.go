package gofer

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// op identifies a request type. The values are wire format: never renumber,
// only append.
type op uint16

const (
	// opInvalid is never sent, so a zeroed packet is refused.
	opInvalid op = iota
	opRoot
	opWalk
	opStat
	opOpen
	opGetdents
	opReadlink
	opStatFS
	opClose
	opAttach
	opCreate
	opMkdir
	opMknod
	opSymlink
	opLink
	opUnlink
	opRename
	opSetAttr
	opGetxattr
	opSetxattr
	opListxattr
	opRemovexattr
	opCreateTmpfile
	opConnect
	opCreateHeld
	opFinishHeld

	// numOps bounds the handler table; it must stay last.
	numOps
)

var opNames = [numOps]string{
	opInvalid:  "invalid",
	opRoot:     "Root",
	opWalk:     "Walk",
	opStat:     "Stat",
	opOpen:     "Open",
	opGetdents: "Getdents",
	opReadlink: "Readlink",
	opStatFS:   "StatFS",
	opClose:    "Close",

	opAttach:        "Attach",
	opCreate:        "Create",
	opMkdir:         "Mkdir",
	opMknod:         "Mknod",
	opSymlink:       "Symlink",
	opLink:          "Link",
	opUnlink:        "Unlink",
	opRename:        "Rename",
	opSetAttr:       "SetAttr",
	opGetxattr:      "Getxattr",
	opSetxattr:      "Setxattr",
	opListxattr:     "Listxattr",
	opRemovexattr:   "Removexattr",
	opCreateTmpfile: "CreateTmpfile",
	opConnect:       "Connect",
	opCreateHeld:    "CreateHeld",
	opFinishHeld:    "FinishHeld",
}

func (o op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "unknown"
}

// Fixed sizes of the wire format (see the package documentation).
const (
	requestHeaderSize  = 8
	responseHeaderSize = 12

	// maxMessageSize bounds every packet in both directions. It must hold
	// the largest Walk request (MaxWalkNames names of MaxNameLen bytes,
	// about 66 KiB), the largest Setxattr request and Getxattr and
	// Listxattr replies (a 64 KiB value or list plus a few hundred bytes),
	// and stay well under the default unix socket send buffer
	// (net.core.wmem_default, 208 KiB), since a SOCK_SEQPACKET message must
	// fit the sender's buffer whole.
	maxMessageSize = 128 << 10

	statWireSize     = 112
	statFSWireSize   = 10 * 8
	direntHeaderSize = 8 + 8 + 1 + 2 // ino, off, type, name length

	// maxCloseFIDs is the most FIDs that fit one Close request.
	maxCloseFIDs = (maxMessageSize - requestHeaderSize - 4) / 8

	// maxLinkTarget is the longest symlink target Linux can create
	// (PATH_MAX including the terminating NUL).
	maxLinkTarget = MaxSymlinkLen

	// setAttrWireSize is the size of SetAttr's arguments after the FID:
	// mask, mode, uid, gid, size, atime, mtime.
	setAttrWireSize = 4*4 + 8 + 2*16

	// maxDirentBytes bounds the dirent64 bytes read for one Getdents reply so
	// that the reply fits one packet: each wire entry is no larger than the
	// host's dirent64 record for it (19 bytes + name vs 19 bytes + name + NUL,
	// rounded up to 8).
	maxDirentBytes = maxMessageSize - responseHeaderSize - 4
)

// encoder appends little-endian values to a message buffer.
type encoder struct {
	buf []byte
}

func (e *encoder) u8(v uint8)   { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16) { e.buf = binary.LittleEndian.AppendUint16(e.buf, v) }
func (e *encoder) u32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }
func (e *encoder) i64(v int64)  { e.u64(uint64(v)) }

// str appends a length-prefixed string. Callers bound len(s) to 0xffff.
func (e *encoder) str(s string) {
	e.u16(uint16(len(s)))
	e.buf = append(e.buf, s...)
}

// bytes32 appends a byte string with a uint32 length, for xattr values and
// lists, which may be longer than a uint16 can count. Callers bound len(b).
func (e *encoder) bytes32(b []byte) {
	e.u32(uint32(len(b)))
	e.buf = append(e.buf, b...)
}

// strBytes is str for a byte slice, avoiding a conversion.
func (e *encoder) strBytes(b []byte) {
	e.u16(uint16(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) timespec(ts unix.Timespec) {
	e.i64(ts.Sec)
	e.i64(ts.Nsec)
}

func (e *encoder) stat(s *Stat) {
	e.u64(s.Dev)
	e.u64(s.Ino)
	e.u32(s.Mode)
	e.u32(s.Nlink)
	e.u32(s.UID)
	e.u32(s.GID)
	e.u64(s.Rdev)
	e.i64(s.Size)
	e.i64(s.Blksize)
	e.i64(s.Blocks)
	e.timespec(s.Atime)
	e.timespec(s.Mtime)
	e.timespec(s.Ctime)
}

func (e *encoder) statFS(s *StatFS) {
	for _, v := range [...]uint64{s.Type, s.Bsize, s.Blocks, s.Bfree, s.Bavail,
		s.Files, s.Ffree, s.Namelen, s.Frsize, s.Flags} {
		e.u64(v)
	}
}

// patchU16 overwrites a uint16 written earlier at offset off, for counts
// that are only known after the entries are encoded.
func (e *encoder) patchU16(off int, v uint16) {
	binary.LittleEndian.PutUint16(e.buf[off:], v)
}

func (e *encoder) patchU32(off int, v uint32) {
	binary.LittleEndian.PutUint32(e.buf[off:], v)
}

// decoder reads little-endian values from a received message. It never
// panics on short input: a read past the end returns zero and marks the
// decoder failed, so handlers decode everything first and check ok once.
type decoder struct {
	buf    []byte
	failed bool
}

// take returns the next n bytes, or nil and marks d failed when fewer remain.
func (d *decoder) take(n int) []byte {
	if d.failed || n < 0 || n > len(d.buf) {
		d.failed = true
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) i64() int64 { return int64(d.u64()) }

// strBytes returns a length-prefixed string as a slice of the message; it is
// only valid until the message buffer is reused.
func (d *decoder) strBytes() []byte {
	n := d.u16()
	return d.take(int(n))
}

// bytes32 returns a byte string with a uint32 length as a slice of the
// message, like strBytes.
func (d *decoder) bytes32() []byte {
	n := d.u32()
	if d.failed || int64(n) > int64(len(d.buf)) {
		d.failed = true
		return nil
	}
	return d.take(int(n))
}

func (d *decoder) timespec() unix.Timespec {
	return unix.Timespec{Sec: d.i64(), Nsec: d.i64()}
}

func (d *decoder) stat() Stat {
	var s Stat
	s.Dev = d.u64()
	s.Ino = d.u64()
	s.Mode = d.u32()
	s.Nlink = d.u32()
	s.UID = d.u32()
	s.GID = d.u32()
	s.Rdev = d.u64()
	s.Size = d.i64()
	s.Blksize = d.i64()
	s.Blocks = d.i64()
	s.Atime = d.timespec()
	s.Mtime = d.timespec()
	s.Ctime = d.timespec()
	return s
}

func (d *decoder) statFS() StatFS {
	return StatFS{
		Type: d.u64(), Bsize: d.u64(), Blocks: d.u64(), Bfree: d.u64(),
		Bavail: d.u64(), Files: d.u64(), Ffree: d.u64(), Namelen: d.u64(),
		Frsize: d.u64(), Flags: d.u64(),
	}
}

// remaining returns how many undecoded bytes are left.
func (d *decoder) remaining() int { return len(d.buf) }

// ok reports whether the whole message decoded with nothing left over.
func (d *decoder) ok() bool { return !d.failed && len(d.buf) == 0 }

func (e *encoder) requestHeader(tag uint32, o op) {
	e.u32(tag)
	e.u16(uint16(o))
	e.u16(0)
}

func (e *encoder) responseHeader(tag uint32, o op, errno unix.Errno) {
	e.u32(tag)
	e.u16(uint16(o))
	e.u16(0)
	e.u32(uint32(errno))
}

// responseErrnoOffset is where the errno sits in a reply, so the server can
// set it after the handler ran.
const responseErrnoOffset = 8
