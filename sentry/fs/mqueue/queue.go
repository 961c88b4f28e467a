package mqueue

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Queue is a queue's inode.
type Queue struct {
	fs *FS
	q  *kernel.MQueue
}

var _ vfs.SetStatter = (*Queue)(nil)

// Stat implements vfs.Inode.Stat.
func (i *Queue) Stat() (unix.Stat_t, error) { return queueStat(i.q), nil }

func queueStat(q *kernel.MQueue) unix.Stat_t {
	st := q.Stat()
	st.Dev = dev
	return st
}

// Lookup implements vfs.Inode.Lookup.
func (*Queue) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }

// Readlink implements vfs.Inode.Readlink.
func (*Queue) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements vfs.Inode.Open: open(2) of a queue's file gives a
// descriptor of the queue.
func (i *Queue) Open(flags int) (vfs.FileImpl, error) {
	if err := i.q.Open(); err != nil {
		return nil, err
	}
	return &File{fs: i.fs, q: i.q}, nil
}

// SetStat implements vfs.SetStatter.
func (i *Queue) SetStat(opts vfs.SetStatOpts) error { return i.q.SetStat(opts) }

// File is an open queue: what mq_open(2) returns, and what open(2) of a
// queue's file gives.
type File struct {
	fs *FS
	q  *kernel.MQueue
}

var (
	_ waiter.Waitable    = (*File)(nil)
	_ kernel.FileFlusher = (*File)(nil)
)

// Queue returns the file's queue.
func (f *File) Queue() *kernel.MQueue { return f.q }

// ReadAt implements vfs.FileImpl.ReadAt: the status line.
func (f *File) ReadAt(dst []byte, off int64) (int, error) {
	return f.q.ReadStatus(dst, off), nil
}

// WriteAt implements vfs.FileImpl.WriteAt: queue files have no write
// (EINVAL, as for any file without one).
func (*File) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }

// Stat implements vfs.FileImpl.Stat.
func (f *File) Stat() (unix.Stat_t, error) { return queueStat(f.q), nil }

// Close implements vfs.FileImpl.Close: the queue loses an open, and goes
// if it was the last one of an unlinked queue.
func (f *File) Close() error {
	f.q.Release()
	return nil
}

// Flush implements kernel.FileFlusher.
func (f *File) Flush(closer *kernel.Task) { f.q.Flush(closer) }

// Readiness implements waiter.Waitable.
func (f *File) Readiness(mask uint32) uint32 { return f.q.Readiness(mask) }

// EventRegister implements waiter.Waitable.
func (f *File) EventRegister(ch chan struct{}, mask uint32) { f.q.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (f *File) EventUnregister(ch chan struct{}) { f.q.EventUnregister(ch) }
