package pipe

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// splice(2) between a pipe and another file moves only what the other
// side takes: Linux's splice leaves in the pipe the bytes a socket did
// not take, and takes from a socket only what the pipe has room for.
// Drain and Fill do the same through the sentry's buffer, holding the
// pipe's consumers (or producers) out meanwhile, so the bytes looked at
// are the bytes moved.

// ErrFull is Fill's error for a pipe with no room.
var ErrFull = errors.New("pipe full")

// Drain hands the pipe's next bytes (at most len(buf), and no more than
// one packet) to write and consumes as many as write took; impl must be a
// pipe's read end. It returns what write returned, EAGAIN for an empty
// pipe with writers, and 0 for an empty pipe without. write may block;
// other readers of the pipe wait for it.
func Drain(impl vfs.FileImpl, buf []byte, write func([]byte) (int, error)) (int, error) {
	e, err := endOf(impl, true)
	if err != nil {
		return 0, err
	}
	p := e.p
	p.readMu.Lock()
	defer p.readMu.Unlock()
	p.mu.Lock()
	if empty, err := p.emptyLocked(); empty {
		p.mu.Unlock()
		return 0, err
	}
	head, _ := p.headLocked()
	n := p.data.peek(buf[:min(len(buf), head)])
	p.mu.Unlock()

	w, err := write(buf[:n])
	if w <= 0 {
		return w, err
	}
	p.mu.Lock()
	// The last opener's close may have dropped the data meanwhile.
	w = min(w, p.data.n)
	p.data.discard(w)
	p.shiftMarksLocked(w)
	for len(p.packets) > 0 && p.packets[0].end <= 0 {
		p.packets = p.packets[1:]
	}
	p.mu.Unlock()
	p.queue.Notify(waiter.EventOut)
	return w, err
}

// Fill calls read with as much of buf as the pipe has room for and adds
// what it read; impl must be a pipe's write end. It returns what read
// returned, ErrFull when the pipe has no room, and EPIPE without readers.
// read should not block: other writers of the pipe wait for it.
func Fill(impl vfs.FileImpl, buf []byte, read func([]byte) (int, error)) (int, error) {
	e, err := endOf(impl, false)
	if err != nil {
		return 0, err
	}
	p := e.p
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	readers, room := p.readers, p.capacityLocked()-p.data.n
	p.mu.Unlock()
	switch {
	case readers == 0:
		return 0, unix.EPIPE
	case room == 0:
		return 0, ErrFull
	}
	n, err := read(buf[:min(len(buf), room)])
	if n <= 0 {
		return n, err
	}
	p.mu.Lock()
	e.appendLocked(buf[:n])
	p.mu.Unlock()
	p.queue.Notify(waiter.EventIn)
	return n, err
}
