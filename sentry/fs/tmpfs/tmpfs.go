// Package tmpfs is an in-memory file system whose regular-file data lives
// in the sentry's memory file: each regular file keeps its pages in an
// mm.SharedMemory object, so mmap(MAP_SHARED) of a tmpfs file in any
// process maps the very pages that read(2) and write(2) use.
//
// The VFS checks permissions, existence and the type rules before calling,
// and serialises the mutations of one directory; this package still
// returns EEXIST, ENOENT, ENOTEMPTY, ENOSPC... itself so that a bug above
// cannot corrupt its data structures. Lookups, Readdir and Stat run
// concurrently with mutations.
//
// Locking. Each inode has:
//
//   - inode.mu, a leaf lock, protecting its attributes (permission bits,
//     owner, link count, timestamps, extended attributes) and, for regular
//     files, the open count and the released flag;
//   - for directories, Dir.mu (a RWMutex) protecting the entries and the
//     dead flag; lookups and Readdir take it shared;
//   - for regular files, Regular.dataMu (a RWMutex) ordering size changes
//     and writes (exclusive) against reads (shared); the pages themselves
//     are protected by the SharedMemory's own lock.
//
// Lock order: FS.renameMu, then Dir.mu of any number of directories (only
// Rename and Rmdir, which hold renameMu, take more than one), then
// Regular.dataMu, then inode.mu, then the SharedMemory's lock. Memory
// managers call into regular files (Size, ReadAt) with their own lock held;
// tmpfs never calls a memory manager, so that order is safe. There is no
// lock shared by all files on the read/write path: the size limit is an
// atomic counter.
package tmpfs

import (
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const (
	// Magic is TMPFS_MAGIC, statfs(2)'s f_type.
	Magic = 0x01021994
	// blockSize is st_blksize and f_bsize.
	blockSize = 4096
	// InodeCharge is what each inode adds to Usage, for the structures
	// that hold it.
	InodeCharge = 1024
	// direntSize is Linux's BOGO_DIRENT_SIZE: a directory's st_size is
	// this much per entry, "." and ".." included.
	direntSize = 20
	// xattrNameMax is XATTR_NAME_MAX.
	xattrNameMax = 255
	// maxXattrValue is XATTR_SIZE_MAX.
	maxXattrValue = 64 << 10
	// maxXattrBytes bounds the extended attributes of one inode (names
	// and values), so an application cannot grow the sentry's heap
	// without bound through them.
	maxXattrBytes = 1 << 20
	// maxLinks bounds a file's link count.
	maxLinks = math.MaxUint32 - 1
)

// Options configure a file system.
type Options struct {
	// SizeLimit bounds the bytes of file data (the size= mount option);
	// 0 is unlimited (only the memory file bounds it).
	SizeLimit int64
	// Mode is the root directory's permission bits; 0 means 01777.
	Mode uint32
	// UID and GID own the root directory.
	UID, GID uint32
	// Dev is the device number stat(2) reports.
	Dev uint64
	// DiskDirSizes makes directories report the size a disk file system
	// gives them (dir.go's diskDirSize) instead of tmpfs's count of
	// entries: a container root's writable layer, whose directories
	// programs compare with the image's (tar, rsync), as they would on a
	// host overlayfs over ext4.
	DiskDirSizes bool
}

// FS is one tmpfs instance.
type FS struct {
	mf   *memfile.File
	opts Options
	root *Dir

	nextIno atomic.Uint64
	// used is the bytes of data pages charged to regular files. Writes
	// reserve what they allocate against SizeLimit here; pages that
	// faults of shared mappings allocate are charged at the file's next
	// write, truncation or fallocate (Regular.reconcileLocked).
	used atomic.Int64
	// inodes counts the live inodes.
	inodes atomic.Int64
	// readOnly is set while the file system is mounted read-only as a
	// whole (a remount without MS_BIND).
	readOnly atomic.Bool

	// renameMu serialises the operations that lock two directories
	// (Rename, Rmdir), which makes any order among directory locks safe.
	renameMu sync.Mutex

	// filesMu protects files, the live regular files (for Usage and
	// StatFS; taken only when a file comes or goes, never on its data
	// path).
	filesMu sync.Mutex
	files   map[*Regular]struct{}
}

// New returns an empty file system whose file data lives in mf.
func New(mf *memfile.File, opts Options) *FS {
	if opts.Mode == 0 {
		opts.Mode = 0o1777
	}
	fs := &FS{mf: mf, opts: opts, files: make(map[*Regular]struct{})}
	fs.root = fs.newDir(nil, opts.Mode, vfs.Owner{UID: opts.UID, GID: opts.GID})
	return fs
}

// Root returns the root directory.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Usage returns the memory the file system holds: the resident bytes of
// every live file (open-but-unlinked ones included) plus InodeCharge per
// inode.
func (fs *FS) Usage() int64 {
	return fs.dataBytes() + fs.inodes.Load()*InodeCharge
}

// DiskUsage returns the bytes of file data the file system holds and its
// live inodes: its use of the memory file's store, when it lives there.
func (fs *FS) DiskUsage() (bytes, inodes uint64) {
	return uint64(max(fs.dataBytes(), 0)), uint64(max(fs.inodes.Load(), 0))
}

// dataBytes returns the resident bytes of all live regular files.
func (fs *FS) dataBytes() int64 {
	fs.filesMu.Lock()
	defer fs.filesMu.Unlock()
	var n int64
	for r := range fs.files {
		n += int64(r.data.Resident())
	}
	return n
}

// reserve charges n bytes of new pages, failing when that would pass the
// size limit.
func (fs *FS) reserve(n int64) bool {
	if n <= 0 {
		return true
	}
	if fs.opts.SizeLimit <= 0 {
		fs.used.Add(n)
		return true
	}
	for {
		u := fs.used.Load()
		if u+n > fs.opts.SizeLimit {
			return false
		}
		if fs.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// available returns the bytes left under the size limit.
func (fs *FS) available() int64 {
	if fs.opts.SizeLimit <= 0 {
		return math.MaxInt64
	}
	return max(fs.opts.SizeLimit-fs.used.Load(), 0)
}

func now() unix.Timespec {
	return unix.NsecToTimespec(time.Now().UnixNano())
}

func tsLE(a, b unix.Timespec) bool {
	return a.Sec < b.Sec || a.Sec == b.Sec && a.Nsec <= b.Nsec
}

// node is what every tmpfs inode is.
type node interface {
	vfs.Inode
	base() *inode
	// release frees the inode once it has no name and is not open.
	release()
}

// inode holds what all file types share.
type inode struct {
	fs  *FS
	ino uint64
	// typ is the S_IFMT bits; immutable.
	typ uint32

	// mu protects the fields below.
	mu                  sync.Mutex
	perm                uint32 // permission, set-ID and sticky bits
	uid, gid            uint32
	nlink               uint32
	atime, mtime, ctime unix.Timespec
	xattrs              map[string][]byte
	xattrBytes          int
	// opens counts the open files of a regular file.
	opens int
	// released is set once release ran (or was decided).
	released bool
}

func (in *inode) init(fs *FS, typ, perm uint32, owner vfs.Owner, nlink uint32) {
	t := now()
	in.fs = fs
	in.ino = fs.nextIno.Add(1)
	in.typ = typ
	in.perm = perm & 0o7777
	in.uid, in.gid = owner.UID, owner.GID
	in.nlink = nlink
	in.atime, in.mtime, in.ctime = t, t, t
	fs.inodes.Add(1)
}

func (in *inode) base() *inode { return in }

// ReadOnlyFS implements vfs.ReadOnlyFS.
func (in *inode) ReadOnlyFS() bool { return in.fs.readOnly.Load() }

// SetReadOnlyFS implements vfs.ReadOnlySetter.
func (in *inode) SetReadOnlyFS(readOnly bool) { in.fs.readOnly.Store(readOnly) }

// release for inodes without data: just stop counting it.
func (in *inode) release() { in.fs.inodes.Add(-1) }

// statLocked fills the attributes every type shares.
func (in *inode) statLocked() unix.Stat_t {
	return unix.Stat_t{
		Dev:     in.fs.opts.Dev,
		Ino:     in.ino,
		Nlink:   uint64(in.nlink),
		Mode:    in.typ | in.perm,
		Uid:     in.uid,
		Gid:     in.gid,
		Blksize: blockSize,
		Atim:    in.atime,
		Mtim:    in.mtime,
		Ctim:    in.ctime,
	}
}

// stat returns the shared attributes.
func (in *inode) stat() unix.Stat_t {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.statLocked()
}

// touchAtime updates atime after an access, relatime-style: when it is not
// newer than mtime or ctime, or is a day old.
func (in *inode) touchAtime() {
	t := now()
	in.mu.Lock()
	if tsLE(in.atime, in.mtime) || tsLE(in.atime, in.ctime) || t.Sec-in.atime.Sec >= 24*60*60 {
		in.atime = t
	}
	in.mu.Unlock()
}

// touchModified sets mtime and ctime to now (a change of contents).
func (in *inode) touchModified() {
	t := now()
	in.mu.Lock()
	in.mtime, in.ctime = t, t
	in.mu.Unlock()
}

// touchChanged sets ctime to now (a change of attributes).
func (in *inode) touchChanged() {
	t := now()
	in.mu.Lock()
	in.ctime = t
	in.mu.Unlock()
}

// addLinks changes the link count by delta (with ctime, for files that
// gained or lost a name).
func (in *inode) addLinks(delta int, ctime bool) {
	in.mu.Lock()
	in.nlink = uint32(int64(in.nlink) + int64(delta))
	if ctime {
		in.ctime = now()
	}
	in.mu.Unlock()
}

// dropLink removes one name of n and releases n when it was the last name
// and n is not open.
func dropLink(n node) {
	in := n.base()
	in.mu.Lock()
	if in.nlink > 0 {
		in.nlink--
	}
	in.ctime = now()
	rel := in.nlink == 0 && in.opens == 0 && !in.released
	if rel {
		in.released = true
	}
	in.mu.Unlock()
	if rel {
		n.release()
	}
}

// setStatLocked applies the attribute changes other than the size.
func (in *inode) setStatLocked(opts vfs.SetStatOpts, t unix.Timespec) {
	if opts.Mask&vfs.SetMode != 0 {
		in.perm = opts.Mode & 0o7777
	}
	if opts.Mask&vfs.SetUID != 0 {
		in.uid = opts.UID
	}
	if opts.Mask&vfs.SetGID != 0 {
		in.gid = opts.GID
	}
	if opts.Mask&vfs.SetAtime != 0 {
		in.atime = timeOrNow(opts.Atime, t)
	}
	if opts.Mask&vfs.SetMtime != 0 {
		in.mtime = timeOrNow(opts.Mtime, t)
	}
	if opts.Mask != 0 {
		in.ctime = t
	}
}

func timeOrNow(ts, t unix.Timespec) unix.Timespec {
	if ts.Nsec == unix.UTIME_NOW {
		return t
	}
	return ts
}

// setStat implements SetStat for types without a size to change.
func (in *inode) setStat(opts vfs.SetStatOpts, sizeErr error) error {
	if opts.Mask&vfs.SetSize != 0 {
		return sizeErr
	}
	t := now()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.setStatLocked(opts, t)
	return nil
}

// Extended attributes.

// xattrNamespaceOK reports whether name is in a namespace tmpfs stores.
func xattrNamespaceOK(name string) bool {
	for _, p := range []string{"user.", "trusted.", "security."} {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// GetXattr implements vfs.Xattrs.GetXattr. A size of 0 returns the value,
// whose length the caller reports.
func (in *inode) GetXattr(name string, size int) ([]byte, error) {
	if !xattrNamespaceOK(name) {
		return nil, unix.EOPNOTSUPP
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	v, ok := in.xattrs[name]
	if !ok {
		return nil, unix.ENODATA
	}
	if size != 0 && size < len(v) {
		return nil, unix.ERANGE
	}
	return append([]byte(nil), v...), nil
}

// SetXattr implements vfs.Xattrs.SetXattr with XATTR_CREATE and
// XATTR_REPLACE.
func (in *inode) SetXattr(name string, value []byte, flags int) error {
	if !xattrNamespaceOK(name) {
		return unix.EOPNOTSUPP
	}
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return unix.EINVAL
	}
	if len(name) > xattrNameMax {
		return unix.ERANGE
	}
	if len(value) > maxXattrValue {
		return unix.E2BIG
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	old, ok := in.xattrs[name]
	if ok && flags&unix.XATTR_CREATE != 0 {
		return unix.EEXIST
	}
	if !ok && flags&unix.XATTR_REPLACE != 0 {
		return unix.ENODATA
	}
	grow := len(value) - len(old)
	if !ok {
		grow += len(name)
	}
	if in.xattrBytes+grow > maxXattrBytes {
		return unix.ENOSPC
	}
	if in.xattrs == nil {
		in.xattrs = make(map[string][]byte)
	}
	in.xattrs[name] = append([]byte(nil), value...)
	in.xattrBytes += grow
	in.ctime = now()
	return nil
}

// ListXattr implements vfs.Xattrs.ListXattr: ERANGE when the names (each
// with its NUL) do not fit a non-zero size.
func (in *inode) ListXattr(size int) ([]string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	names := make([]string, 0, len(in.xattrs))
	total := 0
	for name := range in.xattrs {
		names = append(names, name)
		total += len(name) + 1
	}
	if size != 0 && size < total {
		return nil, unix.ERANGE
	}
	sort.Strings(names)
	return names, nil
}

// RemoveXattr implements vfs.Xattrs.RemoveXattr.
func (in *inode) RemoveXattr(name string) error {
	if !xattrNamespaceOK(name) {
		return unix.EOPNOTSUPP
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	v, ok := in.xattrs[name]
	if !ok {
		return unix.ENODATA
	}
	delete(in.xattrs, name)
	in.xattrBytes -= len(name) + len(v)
	in.ctime = now()
	return nil
}

// StatFS implements vfs.StatFSer.
func (in *inode) StatFS() (unix.Statfs_t, error) {
	fs := in.fs
	total := uint64(fs.opts.SizeLimit)
	if fs.opts.SizeLimit <= 0 {
		total = fs.mf.Size()
	}
	blocks := total / blockSize
	used := uint64(fs.dataBytes()+blockSize-1) / blockSize
	free := uint64(0)
	if used < blocks {
		free = blocks - used
	}
	// As many inodes as there are blocks, which an inode's charge never
	// lets the sandbox reach.
	files := blocks
	inodes := uint64(max(fs.inodes.Load(), 0))
	ffree := uint64(0)
	if inodes < files {
		ffree = files - inodes
	}
	st := unix.Statfs_t{
		Type:    Magic,
		Bsize:   blockSize,
		Blocks:  blocks,
		Bfree:   free,
		Bavail:  free,
		Files:   files,
		Ffree:   ffree,
		Namelen: vfs.NameMax,
		Frsize:  blockSize,
	}
	st.Fsid.Val[0] = int32(uint32(fs.opts.Dev))
	st.Fsid.Val[1] = int32(uint32(fs.opts.Dev >> 32))
	return st, nil
}

// Interfaces each type implements.
var (
	_ vfs.Inode      = (*Dir)(nil)
	_ vfs.DirOps     = (*Dir)(nil)
	_ vfs.SetStatter = (*Dir)(nil)
	_ vfs.Xattrs     = (*Dir)(nil)
	_ vfs.StatFSer   = (*Dir)(nil)
	_ vfs.FileImpl   = (*dirFile)(nil)
	_ vfs.DirReader  = (*dirFile)(nil)

	_ vfs.Inode      = (*Regular)(nil)
	_ vfs.SetStatter = (*Regular)(nil)
	_ vfs.Xattrs     = (*Regular)(nil)
	_ vfs.StatFSer   = (*Regular)(nil)

	_ vfs.FileImpl      = (*regularFile)(nil)
	_ vfs.Truncater     = (*regularFile)(nil)
	_ vfs.Allocator     = (*regularFile)(nil)
	_ vfs.Syncer        = (*regularFile)(nil)
	_ mm.Mappable       = (*regularFile)(nil)
	_ mm.SharedMappable = (*regularFile)(nil)

	_ vfs.Inode      = (*Symlink)(nil)
	_ vfs.SetStatter = (*Symlink)(nil)
	_ vfs.Xattrs     = (*Symlink)(nil)
	_ vfs.Inode      = (*Special)(nil)
	_ vfs.SetStatter = (*Special)(nil)
	_ vfs.Xattrs     = (*Special)(nil)
)
