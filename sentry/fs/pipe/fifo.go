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

	// mu protects p, the open counters and changed.
	mu sync.Mutex
	// p is the buffer while some end is open; nil otherwise.
	p *pipe
	// readOpens and writeOpens count opens ever made, so a blocked opener
	// sees a peer that came and went.
	readOpens, writeOpens uint64
	// changed is closed (and replaced) when an end opens.
	changed chan struct{}
}

// NewFIFO returns the FIFO of an inode whose attributes stat reports.
func NewFIFO(stat func() (unix.Stat_t, error)) *FIFO {
	return &FIFO{stat: stat, changed: make(chan struct{})}
}

// Open opens an end of the FIFO. Without O_NONBLOCK, a reader waits for a
// writer and a writer for a reader, through block (which returns an error
// when the wait is interrupted); O_RDWR never waits. A non-blocking writer
// without readers gets ENXIO.
func (f *FIFO) Open(flags int, block func(<-chan struct{}) error) (vfs.FileImpl, error) {
	acc := flags & unix.O_ACCMODE
	reader := acc == unix.O_RDONLY || acc == unix.O_RDWR
	writer := acc == unix.O_WRONLY || acc == unix.O_RDWR
	nonblock := flags&unix.O_NONBLOCK != 0

	f.mu.Lock()
	if writer && !reader && nonblock && (f.p == nil || f.p.readers == 0) {
		f.mu.Unlock()
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
	e := &end{p: p, reader: reader, writer: writer}
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
// last end.
func (f *FIFO) release(e *end) {
	_ = e.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p == e.p {
		e.p.mu.Lock()
		empty := e.p.readers == 0 && e.p.writers == 0
		e.p.mu.Unlock()
		if empty {
			f.p = nil
		}
	}
}
