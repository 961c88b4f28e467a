package pipe

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// FIFO is the pipe behind a named FIFO (mkfifo(3)): every open of the
// FIFO's inode joins the same buffer, with Linux's open rules (fifo(7)).
type FIFO struct {
	stat func() (unix.Stat_t, error)
	// idle, when set, is called when the last user went (put).
	idle func()

	// mu protects p, the open counters, changed and users.
	mu sync.Mutex
	// users counts the opens under way and the open ends: while there
	// are none the FIFO holds nothing (no buffer, no waiter), and its
	// owner may forget it, as Linux frees an inode's pipe with its last
	// opener.
	users int
	// p is the buffer while some end is open; nil otherwise.
	p *pipe
	// readOpens and writeOpens count opens ever made, so a blocked opener
	// sees a peer that came and went.
	readOpens, writeOpens uint64
	// changed is closed (and replaced) when an end opens.
	changed chan struct{}
}

// NewFIFO returns the FIFO of an inode whose attributes stat reports.
func NewFIFO(stat func() (unix.Stat_t, error), idle func()) *FIFO {
	return &FIFO{stat: stat, idle: idle, changed: make(chan struct{})}
}

// Hold takes a user for an Open to come, which the Open then owns.
func (f *FIFO) Hold() {
	f.mu.Lock()
	f.users++
	f.mu.Unlock()
}

// put drops a user; the last one tells the owner the FIFO is idle.
func (f *FIFO) put() {
	f.mu.Lock()
	f.users--
	idle := f.users == 0
	f.mu.Unlock()
	if idle && f.idle != nil {
		f.idle()
	}
}

// Idle reports whether the FIFO has no user.
func (f *FIFO) Idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users == 0
}

// Open opens an end of the FIFO with the user the caller took (Hold),
// which the end keeps until it closes and a failed open gives back.
// Without O_NONBLOCK, a reader waits for a writer and a writer for a
// reader, through block (which returns an error when the wait is
// interrupted); O_RDWR never waits. A non-blocking writer without readers
// gets ENXIO.
func (f *FIFO) Open(flags int, block func(<-chan struct{}) error) (vfs.FileImpl, error) {
	acc := flags & unix.O_ACCMODE
	reader := acc == unix.O_RDONLY || acc == unix.O_RDWR
	writer := acc == unix.O_WRONLY || acc == unix.O_RDWR
	nonblock := flags&unix.O_NONBLOCK != 0

	f.mu.Lock()
	if writer && !reader && nonblock && (f.p == nil || f.p.readers == 0) {
		f.mu.Unlock()
		f.put()
		return nil, unix.ENXIO
	}
	if f.p == nil {
		f.p = &pipe{stat: f.stat}
	}
	p := f.p
	p.mu.Lock()
	if reader {
		p.readers++
		f.readOpens++
	}
	if writer {
		p.writers++
		p.hadWriter = true
		f.writeOpens++
	}
	p.mu.Unlock()
	close(f.changed)
	f.changed = make(chan struct{})
	e := &end{p: p, reader: reader, writer: writer, fifo: f}
	startReads, startWrites := f.readOpens, f.writeOpens
	f.mu.Unlock()
	p.queue.Notify(^uint32(0))

	if nonblock || (reader && writer) {
		return e, nil
	}
	for {
		f.mu.Lock()
		var ready bool
		p.mu.Lock()
		if reader {
			ready = p.writers > 0 || f.writeOpens != startWrites
		} else {
			ready = p.readers > 0 || f.readOpens != startReads
		}
		p.mu.Unlock()
		ch := f.changed
		f.mu.Unlock()
		if ready {
			return e, nil
		}
		if err := block(ch); err != nil {
			f.release(e)
			return nil, err
		}
	}
}

// release closes an end whose open failed, dropping the buffer with the
// last end, and gives back the open's user.
func (f *FIFO) release(e *end) {
	e.fifo = nil // put below, once the buffer is dropped
	_ = e.Close()
	f.mu.Lock()
	if f.p == e.p {
		e.p.mu.Lock()
		empty := e.p.readers == 0 && e.p.writers == 0
		e.p.mu.Unlock()
		if empty {
			f.p = nil
		}
	}
	f.mu.Unlock()
	f.put()
}
