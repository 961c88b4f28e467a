// Package crilog writes a container's standard output and error in the
// CRI log format kubelet reads: one record per line,
//
//	<RFC 3339 time with nanoseconds> <stdout|stderr> <F|P> <content>\n
//
// where F ends a line and P is a piece of a line longer than MaxLine. The
// container's streams are sandbox files (Writer is a vfs.FileImpl) whose
// bytes are cut into lines here and appended to the host log file the
// daemon handed to the sentry.
package crilog

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// MaxLine is the longest content one record carries; a longer line is
// split into P records (containerd's limit, 16 KiB).
const MaxLine = 16 << 10

// Stream names.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Log is one container's log file. Its mutex serialises the records of
// both streams, so records never interleave mid-record.
type Log struct {
	// mu protects fd and serialises writes to it.
	mu sync.Mutex
	// fd is the host log file, -1 when output is discarded.
	fd int
	// now returns the time a record is stamped with.
	now func() time.Time
	// dropped counts records lost to a host write error.
	dropped atomic.Uint64
}

// New returns a Log writing to f, which it owns; nil discards records.
func New(f *os.File) *Log {
	return &Log{fd: takeFD(f), now: time.Now}
}

// takeFD takes f's descriptor from f (so f's finalizer does not close
// it), or returns -1 for nil.
func takeFD(f *os.File) int {
	if f == nil {
		return -1
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	f.Close()
	if err != nil {
		return -1
	}
	return fd
}

// Reopen replaces the host log file with f (nil: discard from now on) and
// closes the old one; records in progress finish in the old file.
func (l *Log) Reopen(f *os.File) {
	fd := takeFD(f)
	l.mu.Lock()
	old := l.fd
	l.fd = fd
	l.mu.Unlock()
	if old >= 0 {
		unix.Close(old)
	}
}

// Close closes the host log file; later records are discarded.
func (l *Log) Close() { l.Reopen(nil) }

// Dropped returns how many records a host write error lost.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// record appends one record to the log.
func (l *Log) record(stream string, partial bool, content []byte, scratch *[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return
	}
	b := (*scratch)[:0]
	b = l.now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	if partial {
		b = append(b, " P "...)
	} else {
		b = append(b, " F "...)
	}
	b = append(b, content...)
	b = append(b, '\n')
	*scratch = b
	if err := writeAll(l.fd, b); err != nil {
		l.dropped.Add(1)
	}
}

// writeAll writes all of b to fd, through short writes, EINTR, and EAGAIN
// on a non-blocking descriptor (it waits for the descriptor then).
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(pfd, -1); err != nil && err != unix.EINTR {
				return err
			}
			continue
		case err != nil:
			return err
		}
		b = b[n:]
	}
	return nil
}

// Writer is one stream of a container: a write-only sandbox file that
// cuts what it is given into lines and logs them. It implements
// vfs.FileImpl; the vfs closes it when its last descriptor closes, which
// flushes an unterminated last line.
type Writer struct {
	log    *Log
	stream string
	// tee, when set, gets a copy of every write (attached clients).
	tee func([]byte)
	// onClose, when set, runs once after the final flush.
	onClose func()

	// mu protects buf, scratch and closed, and keeps this stream's
	// records in the order of its writes.
	mu sync.Mutex
	// buf holds the start of a line whose newline has not come yet.
	buf []byte
	// scratch is reused to format records.
	scratch []byte
	closed  bool
}

// NewWriter returns stream's writer ("stdout" or "stderr"). tee, when not
// nil, sees every byte written, before it is logged; onClose runs after
// the last flush.
func (l *Log) NewWriter(stream string, tee func([]byte), onClose func()) *Writer {
	return &Writer{log: l, stream: stream, tee: tee, onClose: onClose}
}

// Write logs the complete lines of p and keeps the rest for the next
// write. It always takes all of p: a failing log file must not fail the
// container's writes.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if w.tee != nil {
		w.tee(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, unix.EBADF
	}
	rest := p
	for len(rest) > 0 {
		i := indexNewline(rest)
		if i < 0 {
			w.buf = append(w.buf, rest...)
			break
		}
		line := rest[:i]
		rest = rest[i+1:]
		if len(w.buf) > 0 {
			w.buf = append(w.buf, line...)
			line = w.buf
		}
		w.emitLocked(line, true)
		w.buf = w.buf[:0]
	}
	// A line that outgrew MaxLine is logged in P pieces as it comes.
	for len(w.buf) >= MaxLine {
		w.log.record(w.stream, true, w.buf[:MaxLine], &w.scratch)
		w.buf = append(w.buf[:0], w.buf[MaxLine:]...)
	}
	if cap(w.buf) > 4*MaxLine && len(w.buf) < MaxLine {
		w.buf = append([]byte(nil), w.buf...)
	}
	return len(p), nil
}

// emitLocked logs line: P pieces of MaxLine while it is longer, then the
// rest as an F record when complete (the line ended with a newline) or as
// a last P when not.
func (w *Writer) emitLocked(line []byte, complete bool) {
	for len(line) > MaxLine {
		w.log.record(w.stream, true, line[:MaxLine], &w.scratch)
		line = line[MaxLine:]
	}
	w.log.record(w.stream, !complete, line, &w.scratch)
}

func indexNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// Flush logs a buffered unterminated line as a complete (F) record.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *Writer) flushLocked() {
	if len(w.buf) > 0 {
		w.emitLocked(w.buf, true)
		w.buf = w.buf[:0]
	}
}

// ReadAt implements vfs.FileImpl.ReadAt: the stream is write-only.
func (w *Writer) ReadAt([]byte, int64) (int, error) { return 0, unix.EBADF }

// WriteAt implements vfs.FileImpl.WriteAt.
func (w *Writer) WriteAt(p []byte, _ int64) (int, error) { return w.Write(p) }

// Stat implements vfs.FileImpl.Stat: the stream looks like the pipe a
// runc container's standard output is.
func (w *Writer) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: unix.S_IFIFO | 0o600, Blksize: 4096, Nlink: 1, Ino: 1}, nil
}

// Close implements vfs.FileImpl.Close: the last writer has gone, so an
// unterminated line is logged as complete.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.flushLocked()
	w.closed = true
	w.mu.Unlock()
	if w.onClose != nil {
		w.onClose()
	}
	return nil
}

// IsStream implements vfs.Streamer.
func (*Writer) IsStream() bool { return true }

// Readiness implements waiter.Waitable: a write never waits.
func (*Writer) Readiness(mask uint32) uint32 { return mask & waiter.EventOut }

// EventRegister implements waiter.Waitable; the stream is always
// writable, so there is nothing to wait for.
func (*Writer) EventRegister(chan struct{}, uint32) {}

// EventUnregister implements waiter.Waitable.
func (*Writer) EventUnregister(chan struct{}) {}
