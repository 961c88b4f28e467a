// Package host wraps host file descriptors that were donated to the sentry
// (the standard streams of `cocoon do`) as sandbox files. Only a fixed set of
// terminal ioctls is passed through; anything else is ENOTTY, so a program
// in the sandbox cannot drive the host terminal or device beyond reading
// and writing it.
package host

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// File is a donated host FD. Reads and writes go straight to it and use the
// host description's own offset, as the FD is shared with the caller of
// `cocoon do`.
//
// A read that would block returns EAGAIN instead, so the task waits in the
// sentry, where a signal can interrupt it: the description's blocking mode
// belongs to the caller of `cocoon do` and is never changed.
type File struct {
	fd int

	// mu protects pollers.
	mu sync.Mutex
	// pollers stops the goroutine watching the host FD for each waiter.
	pollers map[chan struct{}]chan struct{}
}

// New wraps fd; the File owns it.
func New(fd int) *File { return &File{fd: fd, pollers: make(map[chan struct{}]chan struct{})} }

// hostPoll asks the host which of events are ready on the FD, waiting up
// to timeout milliseconds.
func (f *File) hostPoll(events int16, timeout int) uint32 {
	fds := []unix.PollFd{{Fd: int32(f.fd), Events: events}}
	for {
		n, err := unix.Poll(fds, timeout)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return 0
		}
		return uint32(fds[0].Revents)
	}
}

// Readiness implements waiter.Waitable.
func (f *File) Readiness(mask uint32) uint32 {
	return f.hostPoll(int16(mask), 0) & (mask | waiter.EventErr | waiter.EventHUp)
}

// EventRegister implements waiter.Waitable: a goroutine polls the host FD
// and notifies ch when it becomes ready.
func (f *File) EventRegister(ch chan struct{}, mask uint32) {
	stop := make(chan struct{})
	f.mu.Lock()
	f.pollers[ch] = stop
	f.mu.Unlock()
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			// A bounded wait, so an unregistered poller ends soon.
			if f.hostPoll(int16(mask), 100) != 0 {
				select {
				case ch <- struct{}{}:
				default:
				}
				return
			}
		}
	}()
}

// EventUnregister implements waiter.Waitable.
func (f *File) EventUnregister(ch chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if stop, ok := f.pollers[ch]; ok {
		close(stop)
		delete(f.pollers, ch)
	}
}

// IsStream implements vfs.Streamer.
func (*File) IsStream() bool { return true }

// ReadAt implements vfs.FileImpl.ReadAt.
func (f *File) ReadAt(dst []byte, _ int64) (int, error) {
	if len(dst) > 0 && f.hostPoll(unix.POLLIN, 0) == 0 {
		return 0, unix.EAGAIN
	}
	for {
		n, err := unix.Read(f.fd, dst)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// WriteAt implements vfs.FileImpl.WriteAt: one write of what the host
// takes now, or EAGAIN when it takes nothing; the syscall layer waits and
// writes the rest interruptibly.
func (f *File) WriteAt(src []byte, _ int64) (int, error) {
	if len(src) > 0 && f.hostPoll(unix.POLLOUT, 0) == 0 {
		return 0, unix.EAGAIN
	}
	for {
		n, err := unix.Write(f.fd, src)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// Stat implements vfs.FileImpl.Stat.
func (f *File) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(f.fd, &st)
	return st, err
}

// Close implements vfs.FileImpl.Close.
func (f *File) Close() error { return unix.Close(f.fd) }

// Ioctl implements vfs.Ioctler for the terminal requests programs make on
// their standard streams.
func (f *File) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	switch request {
	case unix.TCGETS:
		t, err := unix.IoctlGetTermios(f.fd, unix.TCGETS)
		if err != nil {
			return 0, err
		}
		return 0, copyOutStruct(io, arg, termiosBytes(t))
	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF:
		var t unix.Termios
		buf := termiosBytes(&t)
		if _, err := io.CopyIn(arg, buf); err != nil {
			return 0, unix.EFAULT
		}
		return 0, unix.IoctlSetTermios(f.fd, uint(request), &t)
	case unix.TIOCGWINSZ:
		ws, err := unix.IoctlGetWinsize(f.fd, unix.TIOCGWINSZ)
		if err != nil {
			return 0, err
		}
		return 0, copyOutStruct(io, arg, winsizeBytes(ws))
	case unix.TIOCSWINSZ:
		var ws unix.Winsize
		if _, err := io.CopyIn(arg, winsizeBytes(&ws)); err != nil {
			return 0, unix.EFAULT
		}
		return 0, unix.IoctlSetWinsize(f.fd, unix.TIOCSWINSZ, &ws)
	case unix.TIOCINQ:
		n, err := unix.IoctlGetInt(f.fd, unix.TIOCINQ)
		if err != nil {
			return 0, err
		}
		b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
		return 0, copyOutStruct(io, arg, b)
	}
	return 0, unix.ENOTTY
}

func copyOutStruct(io vfs.IoctlIO, addr uint64, b []byte) error {
	if _, err := io.CopyOut(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}
