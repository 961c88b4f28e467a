package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs/lock"
)

// File is an open file description: shared by every descriptor dup'd from
// it, with one offset and one set of status flags.
type File struct {
	impl   FileImpl
	dentry *Dentry
	// accessMode is O_RDONLY, O_WRONLY or O_RDWR; fixed at open.
	accessMode int
	// statusFlags holds O_APPEND and O_NONBLOCK (F_SETFL can change them).
	statusFlags atomic.Int32
	refs        atomic.Int64

	// mu protects off and serialises offset-using reads and writes, as
	// Linux's f_pos_lock does. ReadInPlace holds it while the memory
	// manager's lock is taken to copy into application memory, so it
	// comes before that lock.
	mu  sync.Mutex
	off int64

	// hooksMu protects releaseHooks.
	hooksMu sync.Mutex
	// releaseHooks run when the last reference goes (epoll drops its
	// interests in the file then, as Linux does).
	releaseHooks map[any]func()

	// locks is the lock state of the file's inode, set by the first lock
	// operation through this description.
	locks atomic.Pointer[lock.Locks]
}

// Locks returns the inode's lock state if a lock operation was made
// through this description, or nil.
func (f *File) Locks() *lock.Locks { return f.locks.Load() }

// UseLocks records the inode's lock state l, so that closing descriptors
// and releasing the description drop the locks held through it.
func (f *File) UseLocks(l *lock.Locks) {
	f.locks.CompareAndSwap(nil, l)
}

// OnRelease registers fn, under key, to run when the description is
// released; a second registration with the same key replaces the first.
func (f *File) OnRelease(key any, fn func()) {
	f.hooksMu.Lock()
	defer f.hooksMu.Unlock()
	if f.releaseHooks == nil {
		f.releaseHooks = make(map[any]func())
	}
	f.releaseHooks[key] = fn
}

// CancelOnRelease removes the hook registered under key.
func (f *File) CancelOnRelease(key any) {
	f.hooksMu.Lock()
	defer f.hooksMu.Unlock()
	delete(f.releaseHooks, key)
}

// NewFile returns a description with one reference.
func NewFile(impl FileImpl, d *Dentry, flags int) *File {
	f := &File{impl: impl, dentry: d, accessMode: flags & unix.O_ACCMODE}
	if d != nil {
		d.Pin()
	}
	f.statusFlags.Store(int32(flags & settableFlags))
	f.refs.Store(1)
	if f.Writable() {
		f.holdWriteAccess()
	}
	if nb, ok := impl.(Nonblocker); ok {
		nb.SetNonblocking(flags&unix.O_NONBLOCK != 0)
	}
	if pm, ok := impl.(PacketModer); ok && flags&unix.O_DIRECT != 0 {
		pm.SetPacketMode(true)
	}
	return f
}

// settableFlags are the status flags F_SETFL changes (Linux's SETFL_MASK
// less O_ASYNC and O_NOATIME, which the sandbox does not keep).
const settableFlags = unix.O_APPEND | unix.O_NONBLOCK | unix.O_DIRECT

// PacketModer is implemented by files with a packet mode switched by
// O_DIRECT (pipes).
type PacketModer interface {
	SetPacketMode(on bool)
}

// Impl returns the file system's half of the description.
func (f *File) Impl() FileImpl { return f.impl }

// Dentry returns the dentry the file was opened at (nil for pipes and host
// files).
func (f *File) Dentry() *Dentry { return f.dentry }

// IncRef takes a reference.
func (f *File) IncRef() { f.refs.Add(1) }

// DecRef drops a reference and closes the file on the last one.
func (f *File) DecRef() {
	if f.refs.Add(-1) == 0 {
		f.hooksMu.Lock()
		hooks := f.releaseHooks
		f.releaseHooks = nil
		f.hooksMu.Unlock()
		for _, fn := range hooks {
			fn()
		}
		if l := f.locks.Load(); l != nil {
			l.ReleaseFile(f)
		}
		_ = f.impl.Close()
		if f.dentry != nil {
			f.dentry.Unpin()
		}
	}
}

// StatusFlags returns the flags F_GETFL reports.
func (f *File) StatusFlags() int {
	if f.IsPath() {
		return unix.O_PATH
	}
	return f.accessMode | int(f.statusFlags.Load())
}

// SetStatusFlags implements F_SETFL: only O_APPEND and O_NONBLOCK change.
func (f *File) SetStatusFlags(flags int) {
	flags &= settableFlags
	f.statusFlags.Store(int32(flags))
	if nb, ok := f.impl.(Nonblocker); ok {
		nb.SetNonblocking(flags&unix.O_NONBLOCK != 0)
	}
	if pm, ok := f.impl.(PacketModer); ok {
		pm.SetPacketMode(flags&unix.O_DIRECT != 0)
	}
}

// Readable reports whether the file was opened for reading.
func (f *File) Readable() bool { return f.accessMode != unix.O_WRONLY && f.accessMode != 3 }

// Writable reports whether the file was opened for writing.
func (f *File) Writable() bool { return f.accessMode == unix.O_WRONLY || f.accessMode == unix.O_RDWR }

// IsPath reports whether the description is an O_PATH one, which names a
// file and permits no I/O.
func (f *File) IsPath() bool { return f.accessMode == 3 }

// IsStream reports whether the file has no position.
func (f *File) IsStream() bool {
	s, ok := f.impl.(Streamer)
	return ok && s.IsStream()
}

// Read reads at the file's offset and advances it.
func (f *File) Read(dst []byte) (int, error) {
	if !f.Readable() {
		return 0, unix.EBADF
	}
	if f.IsStream() {
		return f.impl.ReadAt(dst, -1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.impl.ReadAt(dst, f.off)
	f.off += int64(n)
	return n, err
}

// PRead reads at off without moving the offset.
func (f *File) PRead(dst []byte, off int64) (int, error) {
	if !f.Readable() {
		return 0, unix.EBADF
	}
	if f.IsStream() {
		return 0, unix.ESPIPE
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	return f.impl.ReadAt(dst, off)
}

// MayReadInPlace reports whether ReadInPlace may handle reads of f, so
// that callers build its out function only for files that can use it.
func (f *File) MayReadInPlace() bool {
	_, ok := f.impl.(InPlaceReader)
	return ok && f.Readable() && !f.IsStream()
}

// ReadInPlace reads like PRead at off, or like Read at the file's offset
// when off is negative, for files that can hand their bytes to out
// without a buffer (InPlaceReader); handled false says the read must use
// PRead or Read.
func (f *File) ReadInPlace(off int64, n int, out func(src []byte) (int, error)) (int, bool, error) {
	if !f.MayReadInPlace() {
		return 0, false, nil
	}
	r := f.impl.(InPlaceReader)
	if off >= 0 {
		return r.ReadInPlace(off, n, out)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	read, handled, err := r.ReadInPlace(f.off, n, out)
	if handled {
		f.off += int64(read)
	}
	return read, handled, err
}

// Write writes at the file's offset (or its end with O_APPEND) and
// advances it.
func (f *File) Write(src []byte) (int, error) {
	if !f.Writable() {
		return 0, unix.EBADF
	}
	if f.IsStream() {
		return f.impl.WriteAt(src, -1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusFlags.Load()&unix.O_APPEND != 0 {
		st, err := f.impl.Stat()
		if err != nil {
			return 0, err
		}
		f.off = st.Size
	}
	n, err := f.impl.WriteAt(src, f.off)
	f.off += int64(n)
	return n, err
}

// PWrite writes at off without moving the offset.
func (f *File) PWrite(src []byte, off int64) (int, error) {
	if !f.Writable() {
		return 0, unix.EBADF
	}
	if f.IsStream() {
		return 0, unix.ESPIPE
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	if f.statusFlags.Load()&unix.O_APPEND != 0 {
		// Linux appends whatever the offset (pwrite(2), BUGS).
		f.mu.Lock()
		defer f.mu.Unlock()
		st, err := f.impl.Stat()
		if err != nil {
			return 0, err
		}
		off = st.Size
	}
	return f.impl.WriteAt(src, off)
}

// Seek implements lseek(2).
func (f *File) Seek(off int64, whence int) (int64, error) {
	if f.IsStream() {
		return 0, unix.ESPIPE
	}
	if s, ok := f.impl.(Seeker); ok {
		return s.Seek(off, whence)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = f.off
	case unix.SEEK_END:
		st, err := f.impl.Stat()
		if err != nil {
			return 0, err
		}
		base = st.Size
	case unix.SEEK_DATA, unix.SEEK_HOLE:
		st, err := f.impl.Stat()
		if err != nil {
			return 0, err
		}
		// Without hole information the whole file is data.
		if off < 0 || off >= st.Size {
			return 0, unix.ENXIO
		}
		if whence == unix.SEEK_HOLE {
			off = st.Size
		}
	default:
		return 0, unix.EINVAL
	}
	n := base + off
	if (off > 0 && n < base) || n < 0 {
		return 0, unix.EINVAL
	}
	f.off = n
	return n, nil
}

// Readdir reads directory entries from the file's position, which is the
// cookie of the next entry.
func (f *File) Readdir(maxBytes int, emit func(Dirent) bool) error {
	dr, ok := f.impl.(DirReader)
	if !ok {
		return unix.ENOTDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ents, err := dr.Readdir(uint64(f.off), maxBytes)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !emit(e) {
			return nil
		}
		f.off = int64(e.Off)
	}
	return nil
}
