// Package pipe implements pipe(2): an in-sandbox byte channel with Linux's
// capacity, atomicity and end-of-file rules.
package pipe

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const (
	// capacity is Linux's default pipe size.
	capacity = 65536
	// atomicSize is PIPE_BUF: writes up to this size are never split.
	atomicSize = 4096
)

// pipe is the shared buffer of both ends.
type pipe struct {
	attr unix.Stat_t

	// mu protects everything below; cond signals changes to them.
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	readers int
	writers int
}

// New returns the read and write ends of a new pipe.
func New() (r, w vfs.FileImpl) {
	p := &pipe{attr: synth.Attr(synth.NewIno(), unix.S_IFIFO|0o600, 0), readers: 1, writers: 1}
	p.attr.Blksize = atomicSize
	p.cond = sync.NewCond(&p.mu)
	return &end{p: p, reader: true}, &end{p: p}
}

// end is one end of a pipe.
type end struct {
	p        *pipe
	reader   bool
	nonblock bool
}

func (*end) IsStream() bool               { return true }
func (e *end) SetNonblocking(nb bool)     { e.nonblock = nb }
func (e *end) Stat() (unix.Stat_t, error) { return e.p.attr, nil }

// ReadAt implements vfs.FileImpl.ReadAt.
func (e *end) ReadAt(dst []byte, _ int64) (int, error) {
	if !e.reader {
		return 0, unix.EBADF
	}
	if len(dst) == 0 {
		return 0, nil
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 {
		if p.writers == 0 {
			return 0, nil
		}
		if e.nonblock {
			return 0, unix.EAGAIN
		}
		p.cond.Wait()
	}
	n := copy(dst, p.buf)
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.cond.Broadcast()
	return n, nil
}

// WriteAt implements vfs.FileImpl.WriteAt.
func (e *end) WriteAt(src []byte, _ int64) (int, error) {
	if e.reader {
		return 0, unix.EBADF
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	done := 0
	for done < len(src) {
		if p.readers == 0 {
			if done > 0 {
				return done, nil
			}
			return 0, unix.EPIPE
		}
		room := capacity - len(p.buf)
		rest := len(src) - done
		// A write of at most PIPE_BUF bytes goes in whole or waits.
		if room == 0 || (rest <= atomicSize && room < rest) {
			if e.nonblock {
				if done > 0 {
					return done, nil
				}
				return 0, unix.EAGAIN
			}
			p.cond.Wait()
			continue
		}
		n := min(room, rest)
		p.buf = append(p.buf, src[done:done+n]...)
		done += n
		p.cond.Broadcast()
	}
	return done, nil
}

// Close implements vfs.FileImpl.Close.
func (e *end) Close() error {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.reader {
		p.readers--
	} else {
		p.writers--
	}
	p.cond.Broadcast()
	return nil
}

// Ioctl implements vfs.Ioctler: FIONREAD.
func (e *end) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	if request != unix.TIOCINQ {
		return 0, unix.ENOTTY
	}
	e.p.mu.Lock()
	n := len(e.p.buf)
	e.p.mu.Unlock()
	if _, err := io.CopyOut(arg, []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}
