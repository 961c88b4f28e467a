package tmpfs

import (
	"math"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// pageSize is the memory file's page size.
const pageSize = 4096

// Regular is a regular file. Its data lives in an mm.SharedMemory that
// every MAP_SHARED mapping of the file maps directly; the file holds one
// reference on it from creation until the file has neither a name nor an
// open file (mappings hold open files, and their own references on the
// object).
type Regular struct {
	inode

	// data holds the file's pages; immutable. Each page is charged to
	// the memory account of the task whose write(2), fallocate(2) or
	// shared-mapping fault allocated it, until the page is freed.
	data *mm.SharedMemory

	// dataMu orders changes of the size and the data: writes,
	// truncation, fallocate and release take it exclusively, reads take
	// it shared. It also protects charged.
	dataMu sync.RWMutex
	// size is the file size; written with dataMu held exclusively, read
	// anywhere (mm's Size calls come without tmpfs locks).
	size atomic.Int64
	// charged is what this file added to fs.used: its resident bytes as
	// of the last reconcileLocked, plus reservations for writes in
	// flight.
	charged int64
	// seals are the file's F_SEAL_* bits (seals.go); dataMu protects
	// them.
	seals uint32
}

func (fs *FS) newRegular(mode uint32, owner vfs.Owner) *Regular {
	// Only memfds may be sealed (NewMemfd clears this).
	data := mm.NewSharedMemory()
	if fs.mf.OnDisk() {
		data = mm.NewSharedMemoryOnDisk(fs.mf)
	}
	r := &Regular{data: data, seals: SealSeal}
	r.init(fs, unix.S_IFREG, mode, owner, 1)
	fs.filesMu.Lock()
	fs.files[r] = struct{}{}
	fs.filesMu.Unlock()
	return r
}

// release frees the data of a file without names or open files.
func (r *Regular) release() {
	fs := r.fs
	fs.filesMu.Lock()
	delete(fs.files, r)
	fs.filesMu.Unlock()
	r.dataMu.Lock()
	fs.used.Add(-r.charged)
	r.charged = 0
	r.data.DecRef(fs.mf)
	r.dataMu.Unlock()
	fs.inodes.Add(-1)
}

// reconcileLocked charges fs.used for the pages the file actually holds,
// including those shared-mapping faults allocated and those truncation
// freed. dataMu is held exclusively.
func (r *Regular) reconcileLocked() {
	res := int64(r.data.Resident())
	r.fs.used.Add(res - r.charged)
	r.charged = res
}

// Stat implements vfs.Inode.Stat.
func (r *Regular) Stat() (unix.Stat_t, error) {
	st := r.stat()
	st.Size = r.size.Load()
	st.Blocks = int64(r.data.Resident() / 512)
	return st, nil
}

// Lookup implements vfs.Inode.Lookup.
func (r *Regular) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }

// Readlink implements vfs.Inode.Readlink.
func (r *Regular) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements vfs.Inode.Open. O_TRUNC is the caller's business (it
// truncates through vfs.Truncater).
func (r *Regular) Open(flags int) (vfs.FileImpl, error) {
	r.inode.mu.Lock()
	defer r.inode.mu.Unlock()
	if r.released {
		// The last name and the last open file went between the
		// caller's lookup and now.
		return nil, unix.ENOENT
	}
	r.opens++
	return &regularFile{r: r}, nil
}

// SetStat implements vfs.SetStatter, with truncation for SetSize.
func (r *Regular) SetStat(opts vfs.SetStatOpts) error {
	if opts.Mask&vfs.SetSize != 0 {
		if err := r.truncate(opts.Size); err != nil {
			return err
		}
		opts.Mask &^= vfs.SetSize
		if opts.Mask == 0 {
			return nil
		}
	}
	return r.setStat(opts, nil)
}

// truncate sets the size: pages past it go, the tail of its last page
// reads as zeroes, and growing exposes zeroes.
func (r *Regular) truncate(size int64) error {
	if size < 0 {
		return unix.EINVAL
	}
	r.dataMu.Lock()
	old := r.size.Load()
	if (size < old && r.seals&SealShrink != 0) || (size > old && r.seals&SealGrow != 0) {
		r.dataMu.Unlock()
		return unix.EPERM
	}
	switch {
	case size < old:
		r.data.Truncate(r.fs.mf, size)
	case size > old && old%pageSize != 0:
		// A shared mapping may have written past the old end of file
		// in its last page; that must not show through now.
		r.data.Punch(r.fs.mf, old, pageSize-old%pageSize)
	}
	r.size.Store(size)
	r.reconcileLocked()
	r.dataMu.Unlock()
	// Linux's do_truncate sets mtime and ctime even when the size does
	// not change.
	r.touchModified()
	return nil
}

// read implements reads at off, clipped to the size.
func (r *Regular) read(dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	r.dataMu.RLock()
	size := r.size.Load()
	n := 0
	if off < size {
		n = int(min(int64(len(dst)), size-off))
		n, _ = r.data.ReadAt(r.fs.mf, dst[:n], off)
	}
	r.dataMu.RUnlock()
	r.touchAtime()
	return n, nil
}

// write writes src at off; with the size limit reached it writes what fits
// and returns ENOSPC with the count.
func (r *Regular) write(src []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if len(src) == 0 {
		return 0, nil
	}
	if off > math.MaxInt64-int64(len(src)) {
		if off == math.MaxInt64 {
			return 0, unix.EFBIG
		}
		src = src[:math.MaxInt64-off]
	}
	fs := r.fs
	acct := memAccount{onDisk: fs.mf.OnDisk()}
	for {
		r.dataMu.Lock()
		if err := r.checkWriteSealsLocked(off + int64(len(src))); err != nil {
			r.dataMu.Unlock()
			return 0, err
		}
		r.reconcileLocked()
		n := len(src)
		need := r.data.Missing(off, int64(n))
		var err error
		// The size limit first, as Linux's shmem accounts the blocks
		// before it charges the memory cgroup: a full file system
		// fails with ENOSPC, not with the OOM killer.
		if !fs.reserve(need) {
			n, need = r.fitLocked(off, n)
			err = unix.ENOSPC
		}
		ch, ok := acct.tryPrecharge(need)
		if !ok {
			fs.used.Add(-need)
			r.dataMu.Unlock()
			if !acct.reclaim(need) {
				return 0, unix.ENOMEM
			}
			continue
		}
		r.charged += need
		w := 0
		if n > 0 {
			var werr error
			w, werr = r.data.WriteAtCharged(fs.mf, src[:n], off, ch)
			if werr != nil {
				err = werr
			}
		}
		ch.Release()
		if end := off + int64(w); end > r.size.Load() {
			r.size.Store(end)
		}
		r.reconcileLocked()
		r.dataMu.Unlock()
		if w > 0 {
			r.touchModified()
		}
		return w, err
	}
}

// memAccount is the memory account of the task writing or allocating a
// file's pages, looked up once per call and only when pages are missing
// (an overwrite of present pages charges nothing).
//
// A file system whose pages are the memory file's store (the container
// root's writable layer) charges no memory: its pages are disk blocks.
type memAccount struct {
	onDisk bool
	acct   mm.Account
	looked bool
}

// tryPrecharge charges the pages of need bytes (a multiple of the page
// size) to the caller's account if they fit under its limit.
func (a *memAccount) tryPrecharge(need int64) (*mm.Precharge, bool) {
	if need <= 0 || a.onDisk {
		return nil, true
	}
	if !a.looked {
		a.acct, a.looked = mm.CallerAccount(), true
	}
	return a.acct.TryPrecharge(need / pageSize)
}

// reclaim runs the account's OOM path for a charge of need bytes that did
// not fit; called without the file's locks, since it may wait for a
// victim that needs them to exit. It reports whether to try again.
func (a *memAccount) reclaim(need int64) bool { return a.acct.Reclaim(need / pageSize) }

// fitLocked returns the longest prefix of the n bytes at off whose missing
// pages fit under the size limit, and reserves them.
func (r *Regular) fitLocked(off int64, n int) (int, int64) {
	for try := 0; try < 4; try++ {
		avail := r.fs.available()
		var cost int64
		end := off
		for p := off &^ (pageSize - 1); p < off+int64(n); p += pageSize {
			c := r.data.Missing(p, pageSize)
			if cost+c > avail {
				break
			}
			cost += c
			end = min(p+pageSize, off+int64(n))
		}
		if end == off {
			return 0, 0
		}
		if r.fs.reserve(cost) {
			return int(end - off), cost
		}
	}
	return 0, 0
}

// allocate implements fallocate(2).
func (r *Regular) allocate(mode uint32, off, length int64) error {
	const (
		keepSize  = unix.FALLOC_FL_KEEP_SIZE
		punchHole = unix.FALLOC_FL_PUNCH_HOLE
	)
	switch mode {
	case 0, keepSize, punchHole | keepSize:
	default:
		return unix.EOPNOTSUPP
	}
	if off < 0 || length <= 0 {
		return unix.EINVAL
	}
	if off > math.MaxInt64-length {
		return unix.EFBIG
	}
	fs := r.fs
	acct := memAccount{onDisk: fs.mf.OnDisk()}
again:
	r.dataMu.Lock()
	if (mode == punchHole|keepSize && r.seals&(SealWrite|SealFutureWrite) != 0) ||
		(r.seals&SealGrow != 0 && off+length > r.size.Load()) {
		r.dataMu.Unlock()
		return unix.EPERM
	}
	var err error
	if mode == punchHole|keepSize {
		r.data.Punch(fs.mf, off, length)
	} else {
		r.reconcileLocked()
		need := r.data.Missing(off, length)
		if !fs.reserve(need) {
			r.dataMu.Unlock()
			return unix.ENOSPC
		}
		ch, ok := acct.tryPrecharge(need)
		if !ok {
			fs.used.Add(-need)
			r.dataMu.Unlock()
			if !acct.reclaim(need) {
				return unix.ENOMEM
			}
			goto again
		}
		r.charged += need
		err = r.data.AllocateCharged(fs.mf, off, length, ch)
		ch.Release()
		if err == nil && mode == 0 && off+length > r.size.Load() {
			r.size.Store(off + length)
		}
	}
	r.reconcileLocked()
	r.dataMu.Unlock()
	if err == nil {
		r.touchModified()
	}
	return err
}

// close drops an open file's count, releasing the file when it was the
// last one and the file has no name.
func (r *Regular) close() {
	r.inode.mu.Lock()
	r.opens--
	rel := r.opens == 0 && r.nlink == 0 && !r.released
	if rel {
		r.released = true
	}
	r.inode.mu.Unlock()
	if rel {
		r.release()
	}
}

// regularFile is an open regular file. It is an mm.SharedMappable: shared
// mappings of it map the file's own pages.
type regularFile struct {
	r      *Regular
	closed atomic.Bool
}

// ReadAt implements vfs.FileImpl.ReadAt (and mm.Mappable.ReadAt): reads
// at or past the end return 0 bytes and no error.
func (f *regularFile) ReadAt(dst []byte, off int64) (int, error) { return f.r.read(dst, off) }

// WriteAt implements vfs.FileImpl.WriteAt.
func (f *regularFile) WriteAt(src []byte, off int64) (int, error) { return f.r.write(src, off) }

// Stat implements vfs.FileImpl.Stat.
func (f *regularFile) Stat() (unix.Stat_t, error) { return f.r.Stat() }

// Close implements vfs.FileImpl.Close.
func (f *regularFile) Close() error {
	if f.closed.Swap(true) {
		return nil
	}
	f.r.close()
	return nil
}

// Truncate implements vfs.Truncater.
func (f *regularFile) Truncate(size int64) error { return f.r.truncate(size) }

// Allocate implements vfs.Allocator: mode 0, FALLOC_FL_KEEP_SIZE and
// FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE; EOPNOTSUPP for the rest.
func (f *regularFile) Allocate(mode uint32, off, length int64) error {
	return f.r.allocate(mode, off, length)
}

// Sync implements vfs.Syncer: memory is all there is.
func (f *regularFile) Sync(bool) error { return nil }

// Size implements mm.Mappable.Size.
func (f *regularFile) Size() (int64, error) { return f.r.size.Load(), nil }

// SharedMemory implements mm.SharedMappable.
func (f *regularFile) SharedMemory() *mm.SharedMemory { return f.r.data }
