package tmpfs

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// File seals (fcntl(2) F_ADD_SEALS), as Linux's memfd.
const (
	SealSeal        = unix.F_SEAL_SEAL
	SealShrink      = unix.F_SEAL_SHRINK
	SealGrow        = unix.F_SEAL_GROW
	SealWrite       = unix.F_SEAL_WRITE
	SealFutureWrite = unix.F_SEAL_FUTURE_WRITE
	SealExec        = unix.F_SEAL_EXEC
	allSeals        = SealSeal | SealShrink | SealGrow | SealWrite | SealFutureWrite | SealExec
)

// Sealer is implemented by open files whose inode can carry seals.
type Sealer interface {
	Seals() uint32
	AddSeals(seals uint32) error
}

// NewMemfd returns an open, nameless regular file of fs for memfd_create:
// with allowSealing its seals start empty, otherwise sealed with
// F_SEAL_SEAL as every other tmpfs file is.
func (fs *FS) NewMemfd(mode uint32, owner vfs.Owner, allowSealing bool) (vfs.Inode, vfs.FileImpl) {
	r := fs.newRegular(mode&0o7777, owner)
	r.inode.mu.Lock()
	r.nlink = 0
	r.opens = 1
	r.inode.mu.Unlock()
	r.seals = 0
	if !allowSealing {
		r.seals = SealSeal
	}
	return r, &regularFile{r: r}
}

// Seals implements Sealer.
func (f *regularFile) Seals() uint32 {
	f.r.dataMu.RLock()
	defer f.r.dataMu.RUnlock()
	return f.r.seals
}

// AddSeals implements Sealer with Linux's memfd_add_seals rules: nothing
// can be added once F_SEAL_SEAL is set, and F_SEAL_WRITE needs the file to
// have no shared mappings (Linux checks for writable ones; any shared
// mapping holds the data object here, so this is stricter).
func (f *regularFile) AddSeals(seals uint32) error {
	if seals&^allSeals != 0 {
		return unix.EINVAL
	}
	r := f.r
	r.dataMu.Lock()
	defer r.dataMu.Unlock()
	if r.seals&SealSeal != 0 {
		return unix.EPERM
	}
	if seals&SealWrite != 0 && r.seals&SealWrite == 0 && r.data.Refs() > 1 {
		return unix.EBUSY
	}
	r.seals |= seals
	return nil
}

// checkWriteSealsLocked refuses a write of [off, end) that the seals
// forbid; dataMu is held.
func (r *Regular) checkWriteSealsLocked(end int64) error {
	if r.seals&(SealWrite|SealFutureWrite) != 0 {
		return unix.EPERM
	}
	if r.seals&SealGrow != 0 && end > r.size.Load() {
		return unix.EPERM
	}
	return nil
}

// MapSealed reports whether a writable shared mapping of the file is
// forbidden by its seals (mmap returns EPERM then).
func (f *regularFile) MapSealed() bool {
	return f.Seals()&(SealWrite|SealFutureWrite) != 0
}

var _ mm.SharedMappable = (*regularFile)(nil)

// CreateTmpfile implements vfs.TmpfileCreator: an unnamed file of d's file
// system that Link can name (open(2)'s O_TMPFILE).
func (d *Dir) CreateTmpfile(flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	in, f := d.fs.NewMemfd(mode, owner, false)
	return in, f, nil
}
