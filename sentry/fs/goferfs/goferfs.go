// Package goferfs is the file system the sentry sees through the gofer: each
// inode holds a gofer FID, and opened regular files are host FDs the gofer
// donated, read and written with pread/pwrite directly.
//
// Attributes are cached in the inode. An exclusive tree (the container's
// rootfs, which only the sandbox changes) keeps them until an operation of
// the sandbox invalidates them, and remembers missing names; a shared tree
// (a volume the host may change too) asks the gofer again on every stat
// and revalidates every cached name before it is used. While a regular
// file is open, its attributes come from fstat of the host descriptor,
// which is always current and costs no round trip.
package goferfs

import (
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Options configure a tree.
type Options struct {
	// Exclusive says only the sandbox changes the tree.
	Exclusive bool
	// MemFile, when set, holds the page cache that MAP_SHARED mappings
	// of the tree's files share; without it each shared mapping gets
	// its own copy.
	MemFile *memfile.File
	// IDsFromGofer says this process's user namespace does not map the
	// owners of the tree's files (a confined sentry, root of a namespace
	// that maps only itself): their owners come from the gofer's
	// answers, never from fstat of a donated descriptor, which would
	// show the overflow ID, and changes of owner or mode go to the
	// gofer, since this process may not make them.
	IDsFromGofer bool
	// ReadOnly says the gofer serves the tree read-only: it refuses every
	// change, so the VFS refuses them first with EROFS, whatever a
	// remount inside the sandbox made of the mount's flags.
	ReadOnly bool
	// WriteBehind lets the sandbox's new regular files be created
	// without waiting for the gofer (behind.go). It needs Exclusive and
	// IDsFromGofer, and is for the container's root: a volume's files
	// are there for other processes to see.
	WriteBehind bool
	// Log receives what the program cannot be told: a file written
	// behind that the gofer failed to make (behind.go). Nil: the
	// default logger.
	Log *slog.Logger
}

// FS is one tree served by a gofer connection.
type FS struct {
	client *gofer.Client
	opts   Options
	fids   *fidReaper
	// linkGen counts link, unlink and rename operations: a cached link
	// count above one may be stale once it moves (another name of the
	// file may have gone).
	linkGen atomic.Uint64
	// hostChanges counts operations that may have changed a file's
	// attributes on the host (hoststat.go).
	hostChanges atomic.Uint64
	// shrinks is odd while an operation that may shorten a file runs,
	// and counts them; copyUps counts operations that may copy a file
	// of a host overlay up; maps counts the descriptors mapped for
	// reading (readmap.go).
	shrinks atomic.Uint64
	copyUps atomic.Uint64
	maps    atomic.Int32

	// behindMu protects behindLeft and behindSyncLeft, how many more
	// files may be written behind before the free space is read again
	// and how many must not be before it is, and behindInodes, the
	// inodes written behind (behind.go).
	behindMu       sync.Mutex
	behindLeft     int
	behindSyncLeft int
	behindInodes   map[*inode]struct{}
	// syncReg keeps the tree registered for sync(2) while it is
	// written behind.
	syncReg *vfs.FSSyncRegistration
	// behindErr is the error of a write-behind request that failed and
	// that no fsync reported yet.
	behindErr atomic.Pointer[error]
}

func (fs *FS) log() *slog.Logger {
	if fs.opts.Log != nil {
		return fs.opts.Log
	}
	return slog.Default()
}

// New returns the root inode of the tree the gofer serves first.
func New(client *gofer.Client, opts Options) (vfs.Inode, error) {
	fid, st, err := client.Root()
	if err != nil {
		return nil, err
	}
	return newFS(client, opts).newInode(fid, st), nil
}

// newFS returns the state of a tree served by client.
func newFS(client *gofer.Client, opts Options) *FS {
	fs := &FS{client: client, opts: opts, fids: reaperFor(client), behindInodes: map[*inode]struct{}{}}
	if opts.WriteBehind {
		fs.syncReg = vfs.RegisterFSSyncer(fs)
	}
	return fs
}

// Attach returns the root inode of the gofer's tree called name.
func Attach(client *gofer.Client, name string, opts Options) (vfs.Inode, error) {
	fid, st, err := client.Attach(name)
	if err != nil {
		return nil, err
	}
	return newFS(client, opts).newInode(fid, st), nil
}

type inode struct {
	fs  *FS
	fid gofer.FID
	// fidRef releases fid once, when the file is forgotten or the inode
	// becomes unreachable.
	fidRef *fidRef

	// attrMu serialises deferring attribute changes with sending them
	// and with the last close of the file (deferred.go); it is taken
	// before mu and may be held across a gofer round trip.
	attrMu sync.Mutex
	// pendingSet says pending holds changes; it is only set and cleared
	// under mu, and read without it by the I/O paths.
	pendingSet atomic.Bool

	// mu protects stat, statValid, statGen, fstat, target, open, cache,
	// hostFDs, borrowed, forgotten, names, namesGen, misses,
	// namesTooMany, pending, pendingGen, posted, postedGen and made.
	mu        sync.Mutex
	stat      unix.Stat_t
	statValid bool
	// statGen is fs.linkGen when stat was fetched.
	statGen uint64
	// fstat says whether stat is an fstat result of a donated
	// descriptor, and what had been counted when it was read
	// (hoststat.go).
	fstat fstatStamp
	// target caches a symlink's target.
	target *string
	// open holds the regular files open on this inode.
	open map[*regularFile]struct{}
	// hostFDs are host descriptors of a regular file, read-only and
	// read-write, opened through the gofer once and shared by every open
	// file of the inode (they use pread and pwrite, so no offset is
	// shared). -1 until needed. They answer Stat with fstat, always
	// current and without a gofer round trip; they close when the inode
	// is forgotten and no file uses them, or when it becomes unreachable.
	hostFDs [2]*hostFD
	// borrowed counts uses of hostFDs outside mu that no open file
	// covers (setStatOnHostFD).
	borrowed int
	// forgotten is set once the VFS said the file lost its name and no
	// open file of the VFS refers to it (vfs.Forgetter).
	forgotten bool
	// cache is the page cache of MAP_SHARED mappings, made on first use.
	cache *mm.SharedMemory
	// names, when not nil, holds every name in the directory, so that
	// any other name is missing without a lookup (names.go). namesGen
	// counts the changes of the directory's names noted; misses the
	// names the gofer said were missing, until learnAfterMisses;
	// namesTooMany is set once the directory proved too large to learn.
	names        map[string]struct{}
	namesGen     uint64
	misses       int
	namesTooMany bool
	// pending are attribute changes the gofer has not confirmed yet
	// (deferred.go); stat already shows them. pendingGen counts the
	// changes merged into pending.
	pending    pendingAttrs
	pendingGen uint64
	// posted is the SetAttr of pending that the last close posted
	// without waiting, while its reply is unread; postedGen is
	// pendingGen when it was sent.
	posted    *gofer.Posted
	postedGen uint64
	// made says the sandbox created the file through this inode, so
	// the gofer made it and gave it its owner (deferred.go).
	made bool

	// behindMu protects behind; it is taken after attrMu, before mu,
	// and may be held across a gofer round trip. behind is
	// the state of a file created with write-behind while it is written
	// behind (behind.go), nil otherwise; behindOpen says it is not nil,
	// for the paths that check without the lock.
	behindMu   sync.Mutex
	behind     *behindState
	behindOpen atomic.Bool
	// created is the CreateHeld of a file created with write-behind
	// until its reply's identity is recorded in stat (learnIdentity);
	// atomic, since every Stat looks at it. Cleared under mu, with the
	// identity set.
	created atomic.Pointer[gofer.Posted]
	// behindErr is the error of a failed write-behind request of the
	// file.
	behindErr atomic.Pointer[error]
}

// fidRef is an inode's FID in the gofer, given back exactly once.
type fidRef struct {
	fids *fidReaper
	fid  gofer.FID
	once sync.Once
}

func (r *fidRef) release() { r.once.Do(func() { r.fids.release(r.fid) }) }

// hostFD is a donated host descriptor, closed exactly once, with the
// mapping that serves its reads once it has one (readmap.go).
type hostFD struct {
	fs   *FS
	fd   int
	once sync.Once
	// writable says fd is open for writing; copyUps is fs.copyUps
	// before a read-only fd was opened.
	writable bool
	copyUps  uint64
	// reads counts reads until the descriptor is mapped.
	reads atomic.Int32
	// rmap is the mapping once made; refused says reads never use a
	// mapping of this descriptor (again). mapMu serialises making it.
	rmap    atomic.Pointer[readMap]
	refused atomic.Bool
	mapMu   sync.Mutex
}

func (h *hostFD) close() {
	h.once.Do(func() {
		h.unmap(h.fs)
		unix.Close(h.fd)
	})
}

// fdOf returns h's descriptor, or -1 for none.
func fdOf(h *hostFD) int {
	if h == nil {
		return -1
	}
	return h.fd
}

func (fs *FS) newInode(fid gofer.FID, st gofer.Stat) *inode {
	ref := &fidRef{fids: fs.fids, fid: fid}
	i := &inode{fs: fs, fid: fid, fidRef: ref, stat: toLinuxStat(st), statValid: true}
	// The VFS forgets dentries it has not used lately; once nothing
	// refers to the inode any more, its FID (a descriptor in the gofer)
	// goes back. A removed file's FID goes back earlier, when the VFS
	// says so (Forget), since it keeps the file's blocks on the host.
	runtime.AddCleanup(i, (*fidRef).release, ref)
	fs.fids.track()
	return i
}

// Forget implements vfs.Forgetter: a removed regular file or symlink
// gives back its host descriptors and its FID as soon as no open file
// uses them, so that the host frees its blocks. Directories keep theirs:
// a task's working directory may be a removed one, and it holds no
// descriptor in this process.
func (i *inode) Forget() {
	i.mu.Lock()
	if i.stat.Mode&unix.S_IFMT == unix.S_IFDIR {
		i.mu.Unlock()
		return
	}
	i.forgotten = true
	release := i.idleForgottenLocked()
	i.mu.Unlock()
	release()
}

// idleForgottenLocked returns what releases a forgotten inode's resources
// once nothing uses them (a function doing nothing otherwise); i.mu is
// held, and the caller runs the function after releasing it.
func (i *inode) idleForgottenLocked() func() {
	if !i.forgotten || len(i.open) != 0 || i.borrowed != 0 {
		return func() {}
	}
	fds := i.hostFDs
	i.hostFDs = [2]*hostFD{}
	return func() {
		for _, h := range fds {
			if h != nil {
				h.close()
			}
		}
		i.fidRef.release()
	}
}

// goneErr turns the error of a request on a released FID into what Linux
// says of a file that lost its name.
func (i *inode) goneErr(err error) error {
	if err != unix.EBADF {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.forgotten {
		return unix.ENOENT
	}
	return err
}

// pageCache returns the inode's page cache, creating it on first use;
// nil when the tree has no memory file.
func (i *inode) pageCache() *mm.SharedMemory {
	if i.fs.opts.MemFile == nil {
		return nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cache == nil {
		i.cache = mm.NewPageCache()
		c, mf := i.cache, i.fs.opts.MemFile
		runtime.AddCleanup(i, func(*int) { c.DecRef(mf) }, nil)
	}
	return i.cache
}

// cached returns the page cache if one exists.
func (i *inode) cached() *mm.SharedMemory {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.cache
}

func toLinuxStat(s gofer.Stat) unix.Stat_t {
	return unix.Stat_t{
		Dev:     s.Dev,
		Ino:     s.Ino,
		Nlink:   uint64(s.Nlink),
		Mode:    s.Mode,
		Uid:     s.UID,
		Gid:     s.GID,
		Rdev:    s.Rdev,
		Size:    s.Size,
		Blksize: s.Blksize,
		Blocks:  s.Blocks,
		Atim:    s.Atime,
		Mtim:    s.Mtime,
		Ctim:    s.Ctime,
	}
}

func (i *inode) fileType() uint32 {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.stat.Mode & unix.S_IFMT
}

// Stat implements vfs.Inode.Stat.
func (i *inode) Stat() (unix.Stat_t, error) {
	if i.behindOpen.Load() {
		if st, ok, err := i.behindStat(); ok {
			return st, err
		}
	}
	if err := i.failedBehind(); err != nil {
		return unix.Stat_t{}, err
	}
	if err := i.learnIdentity(); err != nil {
		return unix.Stat_t{}, err
	}
	i.mu.Lock()
	if i.currentFstatLocked() {
		st := i.stat
		i.mu.Unlock()
		return st, nil
	}
	if st, ok := i.statFromHostFDLocked(); ok {
		i.mu.Unlock()
		return st, nil
	}
	fresh := i.stat.Nlink <= 1 || i.stat.Mode&unix.S_IFMT == unix.S_IFDIR || i.statGen == i.fs.linkGen.Load()
	if i.statValid && fresh && (i.fs.opts.Exclusive || i.stat.Mode&unix.S_IFMT == unix.S_IFLNK) {
		st := i.stat
		i.mu.Unlock()
		return st, nil
	}
	i.mu.Unlock()
	gst, err := i.fs.client.Stat(i.fid)
	if err != nil {
		return unix.Stat_t{}, i.goneErr(err)
	}
	i.mu.Lock()
	i.setStatLocked(gst)
	st := i.stat
	i.mu.Unlock()
	return st, nil
}

// PermStat implements vfs.PermStater: on an exclusive tree, type, mode
// and owner change only through the sandbox, which updates the cache, so a
// walk needs no round trip even when times and sizes are stale.
func (i *inode) PermStat() (unix.Stat_t, error) {
	if !i.fs.opts.Exclusive {
		return i.Stat()
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.stat, nil
}

// setStat records attributes a gofer reply carried.
func (i *inode) setStat(gst gofer.Stat) {
	i.mu.Lock()
	i.setStatLocked(gst)
	i.mu.Unlock()
}

// setStatLocked records attributes a gofer reply carried, with the
// changes still pending on top; i.mu is held.
func (i *inode) setStatLocked(gst gofer.Stat) {
	i.stat, i.statValid, i.statGen = toLinuxStat(gst), true, i.fs.linkGen.Load()
	i.pending.apply(&i.stat)
	i.fstat = fstatStamp{}
}

// Invalidate implements vfs.Invalidator.
func (i *inode) Invalidate() {
	i.mu.Lock()
	i.statValid = false
	i.fstat = fstatStamp{}
	i.mu.Unlock()
	i.fs.hostChanged()
}

// ReadOnlyFS implements vfs.ReadOnlyFS.
func (i *inode) ReadOnlyFS() bool { return i.fs.opts.ReadOnly }

// CachesNegative implements vfs.NegativeCacher.
func (i *inode) CachesNegative() bool { return i.fs.opts.Exclusive }

// Lookup implements vfs.Inode.Lookup.
func (i *inode) Lookup(name string) (vfs.Inode, error) {
	if i.fileType() != unix.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	if i.knownMissing(name) {
		return nil, unix.ENOENT
	}
	fids, stats, err := i.fs.client.Walk(i.fid, []string{name})
	if len(fids) == 1 {
		return i.fs.newInode(fids[0], stats[0]), nil
	}
	if err == nil {
		err = unix.ENOENT
	}
	if err == unix.ENOENT {
		i.noteMiss()
	}
	return nil, err
}

// Revalidate implements vfs.Revalidator for shared trees: a cached name is
// good while it still names the same host file.
func (i *inode) Revalidate(name string, cached vfs.Inode) bool {
	if i.fs.opts.Exclusive {
		return true
	}
	fids, stats, err := i.fs.client.Walk(i.fid, []string{name})
	if len(fids) == 1 {
		_ = i.fs.client.Close(fids[0])
	}
	c, ok := cached.(*inode)
	switch {
	case err != nil || len(fids) != 1:
		return cached == nil && (err == nil || err == unix.ENOENT)
	case !ok:
		return false
	}
	c.mu.Lock()
	same := c.stat.Dev == stats[0].Dev && c.stat.Ino == stats[0].Ino
	c.mu.Unlock()
	return same
}

// Readlink implements vfs.Inode.Readlink.
func (i *inode) Readlink() (string, error) {
	if i.fileType() != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.target != nil {
		return *i.target, nil
	}
	t, err := i.fs.client.Readlink(i.fid)
	if err != nil {
		return "", err
	}
	i.target = &t
	return t, nil
}

// Open implements vfs.Inode.Open. O_TRUNC is applied by the VFS.
func (i *inode) Open(flags int) (vfs.FileImpl, error) {
	switch i.fileType() {
	case unix.S_IFDIR:
		return &dirFile{inode: i}, nil
	case unix.S_IFREG:
		return i.openRegular(flags & unix.O_ACCMODE)
	default:
		// FIFOs, sockets and device nodes of the served tree are never
		// opened through the gofer.
		return nil, unix.EACCES
	}
}

// openRegular returns an open file of the inode for access mode acc on
// the inode's shared host descriptor, asking the gofer for the descriptor
// the first time (writers share one read-write descriptor).
func (i *inode) openRegular(acc int) (*regularFile, error) {
	slot, mode := 0, unix.O_RDONLY
	if acc != unix.O_RDONLY {
		slot, mode = 1, unix.O_RDWR
	}
	if i.behindOpen.Load() {
		// Its other open files read and write the host file.
		if _, err := i.materialize(); err != nil {
			return nil, err
		}
	}
	if err := i.failedBehind(); err != nil {
		return nil, err
	}
	i.mu.Lock()
	h := i.hostFDs[slot]
	if h == nil && slot == 0 {
		// A read-write descriptor serves readers too (the VFS keeps
		// them from writing), and it is the only way back to a file
		// whose name is gone.
		h = i.hostFDs[1]
	}
	if h != nil {
		// Registered under mu, so that Forget cannot close it first.
		f := i.newRegularFileLocked(h)
		i.mu.Unlock()
		return f, nil
	}
	i.mu.Unlock()
	if slot == 1 {
		// Opening a lower file of a host overlay for writing copies
		// it up.
		i.fs.noteCopyUp()
	}
	copyUps := i.fs.copyUps.Load()
	fd, err := i.fs.client.Open(i.fid, mode)
	if err != nil {
		return nil, i.goneErr(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if cur := i.hostFDs[slot]; cur != nil {
		// Lost a race with another opener.
		unix.Close(fd)
		return i.newRegularFileLocked(cur), nil
	}
	return i.newRegularFileLocked(i.setHostFDLocked(slot, fd, copyUps)), nil
}

// setHostFDLocked records fd, opened when fs.copyUps was copyUps, as the
// inode's descriptor in slot, closed when the inode is forgotten or
// unreachable, and returns it; i.mu is held.
func (i *inode) setHostFDLocked(slot, fd int, copyUps uint64) *hostFD {
	h := &hostFD{fs: i.fs, fd: fd, writable: slot == 1, copyUps: copyUps}
	i.hostFDs[slot] = h
	runtime.AddCleanup(i, (*hostFD).close, h)
	return h
}

// adoptHostFD records fd, opened read-write by Create or CreateTmpfile,
// as the inode's shared read-write descriptor and returns the open file
// on it.
func (i *inode) adoptHostFD(fd int) *regularFile {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.made = true
	return i.newRegularFileLocked(i.setHostFDLocked(1, fd, 0))
}

// newRegularFileLocked returns an open file on h; i.mu is held.
func (i *inode) newRegularFileLocked(h *hostFD) *regularFile {
	f := &regularFile{inode: i}
	f.h.Store(h)
	if i.open == nil {
		i.open = make(map[*regularFile]struct{})
	}
	i.open[f] = struct{}{}
	return f
}

// regularFile reads a donated host FD.
type regularFile struct {
	inode *inode
	// h is the inode's host descriptor the file uses; nil while the
	// file is written behind (behind.go).
	h atomic.Pointer[hostFD]
}

// host returns the file's host descriptor, materializing a file written
// behind.
func (f *regularFile) host() (*hostFD, error) {
	if h := f.h.Load(); h != nil {
		return h, nil
	}
	return f.inode.materialize()
}

// ReadAt implements vfs.FileImpl.ReadAt: the file's contents, with the
// pages shared mappings hold on top.
func (f *regularFile) ReadAt(dst []byte, off int64) (int, error) {
	n, err := f.ReadAtUncached(dst, off)
	if c := f.inode.cached(); c != nil && n > 0 {
		c.OverlayResident(f.inode.fs.opts.MemFile, dst[:n], off)
	}
	return n, err
}

// ReadInPlace implements vfs.InPlaceReader for a file read through a
// mapping (readmap.go) whose pages no shared mapping of the sandbox holds
// copies of.
func (f *regularFile) ReadInPlace(off int64, n int, out func([]byte) (int, error)) (int, bool, error) {
	h := f.h.Load()
	if h == nil {
		return 0, false, nil
	}
	m := h.current(f.inode.fs)
	if m == nil || f.inode.cached() != nil {
		return 0, false, nil
	}
	f.inode.settle()
	src, shrinks, ok := m.span(f.inode.fs, h.fd, off, n)
	if !ok {
		return 0, false, nil
	}
	// A read may move atime.
	defer f.inode.fs.hostChanged()
	if len(src) == 0 {
		return 0, true, nil
	}
	read, err, faulted := passFaulting(out, src)
	if faulted || f.inode.fs.shrinks.Load() != shrinks {
		return 0, false, nil
	}
	return read, true, err
}

// ReadAtUncached implements mm.CacheFiller: the host file only.
func (f *regularFile) ReadAtUncached(dst []byte, off int64) (int, error) {
	h, err := f.host()
	if err != nil {
		return 0, err
	}
	f.inode.settle()
	// A read may move atime.
	defer f.inode.fs.hostChanged()
	if m := h.mapping(f.inode.fs); m != nil {
		if n, ok := m.read(f.inode.fs, h.fd, dst, off); ok {
			return n, nil
		}
	}
	total := 0
	for total < len(dst) {
		n, err := unix.Pread(h.fd, dst[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
		total += n
	}
	return total, nil
}

// WriteAt implements vfs.FileImpl.WriteAt.
func (f *regularFile) WriteAt(src []byte, off int64) (int, error) {
	if f.h.Load() == nil {
		if n, ok := f.inode.writeBehind(src, off); ok {
			return n, nil
		}
	}
	h, err := f.host()
	if err != nil {
		return 0, err
	}
	f.inode.settleBeforeWrite()
	defer f.inode.fs.hostChanged()
	kept := f.inode.privsBeforeWrite()
	defer f.inode.restorePrivs(h.fd, kept)
	total := 0
	for total < len(src) {
		n, err := unix.Pwrite(h.fd, src[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		total += n
	}
	if c := f.inode.cached(); c != nil && total > 0 {
		c.UpdateResident(f.inode.fs.opts.MemFile, src[:total], off)
	}
	return total, nil
}

// Stat implements vfs.FileImpl.Stat.
func (f *regularFile) Stat() (unix.Stat_t, error) { return f.inode.Stat() }

// SharedMemory implements mm.SharedMappable: every shared mapping of the
// file maps the inode's page cache.
func (f *regularFile) SharedMemory() *mm.SharedMemory {
	// The cache fills from, and writes back to, the host file. A file
	// that fails to materialize fails those.
	_, _ = f.host()
	return f.inode.pageCache()
}

// WriteBack implements mm.WriteBacker: the cached pages of [off,
// off+length) go to the file, never past its end.
func (f *regularFile) WriteBack(obj *mm.SharedMemory, off, length uint64) {
	h, err := f.host()
	if err != nil {
		return
	}
	f.inode.settleBeforeWrite()
	defer f.inode.fs.hostChanged()
	var st unix.Stat_t
	if unix.Fstat(h.fd, &st) != nil {
		return
	}
	size := uint64(st.Size)
	kept := f.inode.privsBeforeWrite()
	defer f.inode.restorePrivs(h.fd, kept)
	obj.EachPage(f.inode.fs.opts.MemFile, off, length, func(o uint64, data []byte) {
		if o >= size {
			return
		}
		n := min(uint64(len(data)), size-o)
		for done := uint64(0); done < n; {
			w, err := unix.Pwrite(h.fd, data[done:n], int64(o+done))
			if err == unix.EINTR {
				continue
			}
			if err != nil || w == 0 {
				return
			}
			done += uint64(w)
		}
	})
}

// Truncate implements vfs.Truncater.
// The page cache follows: its pages past the new end go (and are
// unmapped wherever they are mapped), and the tail of the last page reads
// zeroes, as the host file now does.
func (f *regularFile) Truncate(size int64) error {
	h, err := f.host()
	if err != nil {
		return err
	}
	f.inode.settle()
	defer f.inode.fs.hostChanged()
	defer f.inode.fs.beginShrink()()
	kept := f.inode.privsBeforeWrite()
	defer f.inode.restorePrivs(h.fd, kept)
	if err := ignoringEINTR(func() error { return unix.Ftruncate(h.fd, size) }); err != nil {
		return err
	}
	if c := f.inode.cached(); c != nil {
		c.Truncate(f.inode.fs.opts.MemFile, size)
	}
	return nil
}

// Allocate implements vfs.Allocator. Modes that change the file's data
// (punching a hole, zeroing a range, collapsing or inserting a range)
// drop the page cache's copy of what changed, so mappings and reads see
// the file's new contents.
func (f *regularFile) Allocate(mode uint32, off, length int64) error {
	h, err := f.host()
	if err != nil {
		return err
	}
	f.inode.settle()
	defer f.inode.fs.hostChanged()
	if mode&unix.FALLOC_FL_COLLAPSE_RANGE != 0 {
		defer f.inode.fs.beginShrink()()
	}
	kept := f.inode.privsBeforeWrite()
	defer f.inode.restorePrivs(h.fd, kept)
	if err := ignoringEINTR(func() error { return unix.Fallocate(h.fd, mode, off, length) }); err != nil {
		return err
	}
	c := f.inode.cached()
	switch {
	case c == nil:
	case mode&(unix.FALLOC_FL_COLLAPSE_RANGE|unix.FALLOC_FL_INSERT_RANGE) != 0:
		// Everything from off on moved.
		c.Punch(f.inode.fs.opts.MemFile, off, math.MaxInt64-off)
	case mode&(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_ZERO_RANGE) != 0:
		c.Punch(f.inode.fs.opts.MemFile, off, length)
	}
	return nil
}

// Sync implements vfs.Syncer.
func (f *regularFile) Sync(dataOnly bool) error {
	h, err := f.host()
	if err != nil {
		return err
	}
	f.inode.settle()
	sync := unix.Fsync
	if dataOnly {
		sync = unix.Fdatasync
	}
	if err := ignoringEINTR(func() error { return sync(h.fd) }); err != nil {
		return err
	}
	// A file written behind that the gofer failed to make is reported
	// once, as Linux reports a failed write-back.
	return f.inode.fs.takeBehindErr()
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

// Size implements mm.Mappable.Size.
func (f *regularFile) Size() (int64, error) {
	st, err := f.Stat()
	return st.Size, err
}

// Close implements vfs.FileImpl.Close.
func (f *regularFile) Close() error {
	i := f.inode
	if i.fs.opts.IDsFromGofer {
		// Held from the flush to the removal of f, so that no change
		// is deferred in between that no close would send.
		i.attrMu.Lock()
		defer i.attrMu.Unlock()
		i.mu.Lock()
		_, isOpen := i.open[f]
		last := isOpen && len(i.open) == 1
		i.mu.Unlock()
		switch {
		case last && f.h.Load() == nil:
			i.finishBehindLocked()
		case last:
			i.postPendingLocked()
		}
	}
	i.mu.Lock()
	delete(i.open, f)
	release := i.idleForgottenLocked()
	i.mu.Unlock()
	// The descriptor is the inode's, shared with other open files; it
	// closes here only if the file lost its name and this was its last
	// user.
	release()
	return nil
}

// dirFile lists a directory through the gofer.
type dirFile struct {
	inode *inode
}

// ReadAt implements vfs.FileImpl.ReadAt.
func (*dirFile) ReadAt([]byte, int64) (int, error) { return 0, unix.EISDIR }

// WriteAt implements vfs.FileImpl.WriteAt.
func (*dirFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }

// Stat implements vfs.FileImpl.Stat.
func (d *dirFile) Stat() (unix.Stat_t, error) { return d.inode.Stat() }

// Close implements vfs.FileImpl.Close.
func (*dirFile) Close() error { return nil }

// Sync implements vfs.Syncer: fsync(2) of a directory makes the creations
// posted in the tree (files written behind) before it returns, and
// reports one that failed.
func (d *dirFile) Sync(dataOnly bool) error {
	fs := d.inode.fs
	if !fs.opts.WriteBehind {
		return nil
	}
	if err := fs.client.Settle(); err != nil {
		return err
	}
	return fs.takeBehindErr()
}

// Readdir implements vfs.DirReader.Readdir.
func (d *dirFile) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	if maxBytes > gofer.MaxGetdentsBytes {
		maxBytes = gofer.MaxGetdentsBytes
	}
	ents, err := d.inode.fs.client.Getdents(d.inode.fid, off, maxBytes)
	if err != nil {
		return nil, err
	}
	out := make([]vfs.Dirent, len(ents))
	for i, e := range ents {
		out[i] = vfs.Dirent{Ino: e.Ino, Off: e.Off, Type: e.Type, Name: e.Name}
	}
	return out, nil
}
