package control

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/crilog"
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/fs/host"
	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// maxAttachBuffer bounds what one attached client may lag behind the
// container's output before it is dropped: the container never waits
// for an attached client.
const maxAttachBuffer = 1 << 20

// fdLimit bounds the descriptor numbers set up for a new process.
const fdLimit = 1024

// errStopped is what a blocking copy returns when it was told to stop.
var errStopped = errors.New("stopped")

// processIO is the standard streams of a process being started, and what
// outlives the start: the terminal's master and the stdin feed.
type processIO struct {
	// fds is the process's descriptor table; StartProcess takes it.
	fds *kernel.FDTable
	// replica is the terminal the process gets as its controlling one.
	replica *devpts.File
	// master is the terminal's master (nil without a terminal).
	master *devpts.File
	// stdin feeds the process's standard input (nil: /dev/null or a
	// descriptor of the client's).
	stdin *stdinFeed
	// outputDone is closed when the process's output is complete: the
	// last writer of its streams has gone.
	outputDone chan struct{}
	// held are the server's references to the files in fds, dropped
	// once the process has started (release).
	held []*vfs.File
	// closers run at abort: they end the copies that serve the process.
	closersMu sync.Mutex
	closers   []func()
	aborted   bool
}

// release drops the server's references to the process's files, so that
// the process's own descriptors are the last ones.
func (p *processIO) release() {
	for _, f := range p.held {
		f.DecRef()
	}
	p.held = nil
}

// onAbort registers fn to run at abort.
func (p *processIO) onAbort(fn func()) {
	p.closersMu.Lock()
	defer p.closersMu.Unlock()
	if p.aborted {
		fn()
		return
	}
	p.closers = append(p.closers, fn)
}

// abort ends everything that serves the process once it has gone.
func (p *processIO) abort() {
	p.release()
	p.closersMu.Lock()
	closers := p.closers
	p.closers = nil
	p.aborted = true
	p.closersMu.Unlock()
	for _, fn := range closers {
		fn()
	}
	if p.stdin != nil {
		p.stdin.close()
	}
}

// install sets descriptors 0, 1 and 2 of a new table.
func (p *processIO) install(k *kernel.Kernel, stdin, stdout, stderr *vfs.File) error {
	p.fds = k.NewFDTable()
	for fd, f := range []*vfs.File{stdin, stdout, stderr} {
		if err := p.fds.SetFD(int32(fd), f, false, fdLimit); err != nil {
			return err
		}
	}
	return nil
}

// containerIO sets up a container init's standard streams: its log (and
// attached clients) for output, /dev/null or an attachable pipe for
// input, or a terminal for all three.
func (s *Server) containerIO(c *container) (*processIO, error) {
	p := &c.spec.Process
	pio := &processIO{outputDone: make(chan struct{})}
	if p.TTY {
		master, replica, err := s.openTerminal(c.kc)
		if err != nil {
			return nil, err
		}
		pio.master, pio.replica = master.Impl().(*devpts.File), replica.Impl().(*devpts.File)
		pio.held = append(pio.held, replica)
		if err := pio.install(s.k, replica, replica, replica); err != nil {
			master.DecRef()
			pio.release()
			return nil, err
		}
		if err := bindConsole(c.kc, replica); err != nil {
			master.DecRef()
			pio.release()
			return nil, fmt.Errorf("/dev/console: %w", err)
		}
		out := c.log.NewWriter(crilog.Stdout, c.stdout.write, nil)
		stop := make(chan struct{})
		var stopOnce sync.Once
		pio.onAbort(func() { stopOnce.Do(func() { close(stop) }) })
		go func() {
			// The terminal's output goes to the log as stdout until
			// every replica closed (EIO).
			pumpMaster(pio.master, func(b []byte) error { _, err := out.Write(b); return err }, stop)
			out.Close()
			close(pio.outputDone)
			master.DecRef()
		}()
		if p.Stdin {
			pio.stdin = newStdinFeed(master, false)
		}
		return pio, nil
	}

	var in *vfs.File
	if p.Stdin {
		r, w := pipe.New()
		in = vfs.NewFile(r, nil, unix.O_RDONLY)
		pio.stdin = newStdinFeed(vfs.NewFile(w, nil, unix.O_WRONLY), true)
	} else {
		var err error
		if in, err = devNull(c.kc); err != nil {
			return nil, err
		}
	}
	var open atomic.Int32
	open.Store(2)
	closed := func() {
		if open.Add(-1) == 0 {
			close(pio.outputDone)
		}
	}
	out := vfs.NewFile(c.log.NewWriter(crilog.Stdout, c.stdout.write, closed), nil, unix.O_WRONLY)
	errf := vfs.NewFile(c.log.NewWriter(crilog.Stderr, c.stderr.write, closed), nil, unix.O_WRONLY)
	pio.held = append(pio.held, in, out, errf)
	if err := pio.install(s.k, in, out, errf); err != nil {
		pio.abort()
		return nil, err
	}
	return pio, nil
}

// openTerminal opens a new pseudo-terminal of the pod's devpts: the
// master (kept by the server) and the replica, with its /dev/pts/N
// dentry in the container so that ttyname works.
func (s *Server) openTerminal(kc *kernel.Container) (master, replica *vfs.File, err error) {
	mimpl, err := s.pod.PTYs.OpenMaster(unix.O_RDWR)
	if err != nil {
		return nil, nil, err
	}
	m := mimpl.(*devpts.File)
	master = vfs.NewFile(m, nil, unix.O_RDWR)
	// Unlock the replica (unlockpt).
	if _, err := m.Ioctl(&ioctlBuf{b: make([]byte, 4)}, unix.TIOCSPTLCK, 1); err != nil {
		master.DecRef()
		return nil, nil, err
	}
	rimpl, err := m.OpenPeer(unix.O_RDWR)
	if err != nil {
		master.DecRef()
		return nil, nil, err
	}
	d, _ := vfs.Resolve(kc.Root(), kc.Root(), "/dev/pts/"+strconv.Itoa(m.TTY().Index()), vfs.ResolveOpts{})
	return master, vfs.NewFile(rimpl, d, unix.O_RDWR), nil
}

// bindConsole bind-mounts the container's terminal over its /dev/console,
// as runc does for a container with a terminal: programs that write to
// the console (init systems, getty, logger fallbacks) reach the terminal.
// A container without one has no /dev/console (boot.ContainerRoot.Console).
func bindConsole(kc *kernel.Container, replica *vfs.File) error {
	ns := kc.MountNamespace()
	console, err := vfs.Resolve(ns.Root(), ns.Root(), "/dev/console", vfs.ResolveOpts{})
	if err != nil {
		return err
	}
	if replica.Dentry() == nil {
		return unix.ENODEV
	}
	_, err = ns.Bind(replica.Dentry(), console, false)
	return err
}

// ioctlBuf is the memory of an ioctl the server makes itself: every
// copy reads or writes b, whatever the address.
type ioctlBuf struct{ b []byte }

func (m *ioctlBuf) CopyIn(_ uint64, dst []byte) (int, error)  { return copy(dst, m.b), nil }
func (m *ioctlBuf) CopyOut(_ uint64, src []byte) (int, error) { return copy(m.b, src), nil }

// setWindowSize is TIOCSWINSZ on the master: the terminal signals
// SIGWINCH to its foreground process group when the size changes.
func setWindowSize(master *devpts.File, rows, cols uint16) error {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint16(b[0:], rows)
	binary.LittleEndian.PutUint16(b[2:], cols)
	_, err := master.Ioctl(&ioctlBuf{b: b}, unix.TIOCSWINSZ, 1)
	return err
}

// waitReady blocks until impl reports one of mask or stop is closed.
// ch must be registered with impl for mask.
func waitReady(impl vfs.FileImpl, ch chan struct{}, mask uint32, stop <-chan struct{}) error {
	w, ok := impl.(waiter.Waitable)
	if !ok {
		return unix.EAGAIN
	}
	if w.Readiness(mask|waiter.EventHUp|waiter.EventErr) != 0 {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-stop:
		return errStopped
	}
}

// readSome reads from a sandbox stream, waiting while it has nothing.
func readSome(impl vfs.FileImpl, buf []byte, stop <-chan struct{}) (int, error) {
	ch := waiter.NewChannel()
	if w, ok := impl.(waiter.Waitable); ok {
		w.EventRegister(ch, waiter.EventIn|waiter.EventHUp|waiter.EventErr)
		defer w.EventUnregister(ch)
	}
	for {
		n, err := impl.ReadAt(buf, -1)
		if err != unix.EAGAIN {
			return n, err
		}
		if err := waitReady(impl, ch, waiter.EventIn, stop); err != nil {
			return 0, err
		}
	}
}

// writeFull writes all of b to a sandbox stream, waiting while it is
// full.
func writeFull(impl vfs.FileImpl, b []byte, stop <-chan struct{}) error {
	ch := waiter.NewChannel()
	if w, ok := impl.(waiter.Waitable); ok {
		w.EventRegister(ch, waiter.EventOut|waiter.EventHUp|waiter.EventErr)
		defer w.EventUnregister(ch)
	}
	for len(b) > 0 {
		n, err := impl.WriteAt(b, -1)
		b = b[n:]
		switch {
		case err == unix.EAGAIN || (err == nil && len(b) > 0 && n == 0):
			if err := waitReady(impl, ch, waiter.EventOut, stop); err != nil {
				return err
			}
		case err != nil:
			return err
		}
	}
	return nil
}

// pumpMaster copies a terminal's output to out until every replica has
// closed, out fails, or stop is closed.
func pumpMaster(master *devpts.File, out func([]byte) error, stop <-chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := readSome(master, buf, stop)
		if n > 0 {
			if out(buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// stdinFeed is a process's standard input as attached clients write it:
// the write end of a pipe, or a terminal's master.
type stdinFeed struct {
	f *vfs.File
	// pipe says closing the feed closes f (the pipe's write end: the
	// process reads EOF); a terminal's master stays open.
	pipe bool
	// stop is closed by close, ending a blocked write.
	stop      chan struct{}
	closeOnce sync.Once
	// mu serialises writers and the final release of f.
	mu       sync.Mutex
	released bool
}

func newStdinFeed(f *vfs.File, isPipe bool) *stdinFeed {
	if !isPipe {
		f.IncRef()
	}
	return &stdinFeed{f: f, pipe: isPipe, stop: make(chan struct{})}
}

// write writes all of b, or fails once the feed is closed.
func (s *stdinFeed) write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return unix.EPIPE
	}
	return writeFull(s.f.Impl(), b, s.stop)
}

// close ends the feed: a blocked write returns, and the pipe's write end
// is dropped so that the process reads end of file.
func (s *stdinFeed) close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.released = true
		s.f.DecRef()
	})
}

// fanout copies a container stream to its attached clients.
type fanout struct {
	// mu protects sinks.
	mu    sync.Mutex
	sinks map[*sink]struct{}
}

// write gives b to every sink, dropping those that overflowed. It never
// blocks on a client.
func (f *fanout) write(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.sinks {
		if !s.push(b) {
			delete(f.sinks, s)
		}
	}
}

func (f *fanout) add(s *sink) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sinks == nil {
		f.sinks = make(map[*sink]struct{})
	}
	f.sinks[s] = struct{}{}
}

func (f *fanout) remove(s *sink) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sinks, s)
}

// sink is one client descriptor that output is copied to, through a
// bounded buffer drained by its own goroutine.
type sink struct {
	f *os.File
	// done is closed when the goroutine has finished and closed f.
	done chan struct{}

	// mu protects buf, ended and dropped; cond signals changes.
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	// ended says no more data comes: drain buf, then close.
	ended bool
	// dropped says the client lagged too far (or failed): close now.
	dropped bool
}

// pollable returns a descriptor of f's file in non-blocking mode, owned
// by the Go runtime's poller so that Close interrupts a blocked Read or
// Write; f is closed.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func newSink(f *os.File) (*sink, error) {
	pf, err := pollable(f)
	if err != nil {
		return nil, err
	}
	s := &sink{f: pf, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s, nil
}

// push queues b; false when the sink is gone (or just overflowed).
func (s *sink) push(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.dropped {
		return false
	}
	if len(s.buf)+len(b) > maxAttachBuffer {
		s.dropped = true
		s.cond.Signal()
		return false
	}
	s.buf = append(s.buf, b...)
	s.cond.Signal()
	return true
}

// finish lets the sink drain what it has, then close.
func (s *sink) finish() {
	s.mu.Lock()
	s.ended = true
	s.cond.Signal()
	s.mu.Unlock()
}

// drop closes the sink now, discarding what it holds.
func (s *sink) drop() {
	s.mu.Lock()
	s.dropped = true
	s.cond.Signal()
	s.mu.Unlock()
	// Closing wakes a Write blocked on a client that stopped reading.
	s.f.Close()
}

func (s *sink) run() {
	defer close(s.done)
	defer s.f.Close()
	var chunk []byte
	for {
		s.mu.Lock()
		for len(s.buf) == 0 && !s.ended && !s.dropped {
			s.cond.Wait()
		}
		if s.dropped || len(s.buf) == 0 {
			s.mu.Unlock()
			return
		}
		chunk, s.buf = s.buf, chunk[:0]
		s.mu.Unlock()
		if _, err := s.f.Write(chunk); err != nil {
			s.mu.Lock()
			s.dropped = true
			s.mu.Unlock()
			return
		}
	}
}

// copyIn copies a client's descriptor into feed until end of file (true)
// or an error or stop (false).
func copyIn(in *os.File, feed *stdinFeed) bool {
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if feed.write(buf[:n]) != nil {
				return false
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// hostFile wraps a client's descriptor as a sandbox file.
func hostFile(f *os.File, flags int) (*vfs.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return vfs.NewFile(host.New(fd), nil, flags), nil
}
