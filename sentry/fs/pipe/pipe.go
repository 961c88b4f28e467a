// Package pipe implements pipe(2): an in-sandbox byte channel with Linux's
// capacity, atomicity and end-of-file rules. Operations never block: when
// a pipe is empty (or full) they return EAGAIN and the caller waits on the
// pipe's queue, interruptibly (see sentry/syscalls).
package pipe

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

const (
	// defaultCapacity is Linux's default pipe size.
	defaultCapacity = 65536
	// maxCapacity is /proc/sys/fs/pipe-max-size's default.
	maxCapacity = 1 << 20
	// atomicSize is PIPE_BUF: writes up to this size are never split.
	atomicSize = 4096
)

// pipe is the shared buffer of both ends.
type pipe struct {
	// stat, when set, supplies the attributes instead of attr (a FIFO
	// reports its file system inode's).
	stat  func() (unix.Stat_t, error)
	queue waiter.Queue

	// attrMu protects attr, which fchmod, fchown and futimens of an
	// anonymous pipe change (attr.go).
	attrMu sync.Mutex
	attr   unix.Stat_t

	// readMu serializes the pipe's consumers, writeMu its producers, so
	// that a splice (splice.go) takes exactly the bytes it looked at, or
	// adds as many as it found room for. Lock order: readMu or writeMu,
	// then mu; a splice holds one pipe's readMu while it writes to
	// another pipe (its writeMu), never its own.
	readMu, writeMu sync.Mutex

	// mu protects data, readers and writers.
	mu      sync.Mutex
	data    ring
	readers int
	writers int
	// hadWriter is set once the pipe had a writer: a FIFO opened for
	// reading before any writer does not report POLLHUP.
	hadWriter bool
	// capacity is the size F_SETPIPE_SZ set; 0 means the default.
	capacity int
	// packets mark where packets end in data (offsets from its head, in
	// order); bytes outside any packet are stream data.
	packets []packetMark
}

// packetMark is the end of a packet in the buffer; start is the previous
// mark's end, or where the packet's write began.
type packetMark struct{ start, end int }

// takeLocked copies the pipe's next data into dst and consumes it: up to
// len(dst) stream bytes, or one packet (its excess beyond len(dst) is
// discarded, as Linux does).
func (p *pipe) takeLocked(dst []byte) int {
	limit, packet := p.headLocked()
	if packet {
		n := p.data.read(dst[:min(len(dst), limit)])
		p.data.discard(limit - n)
		p.shiftMarksLocked(limit)
		p.packets = p.packets[1:]
		return n
	}
	n := p.data.read(dst[:min(len(dst), limit)])
	p.shiftMarksLocked(n)
	return n
}

// headLocked returns the length of what one read may take from the head:
// the packet there (packet set), or the stream bytes before the next
// packet, or all the data.
func (p *pipe) headLocked() (n int, packet bool) {
	if len(p.packets) == 0 {
		return p.data.n, false
	}
	first := p.packets[0]
	if first.start == 0 {
		return first.end, true
	}
	return first.start, false
}

// emptyLocked reports an empty pipe and what a read of it gives: EAGAIN
// while it has writers, end of file (nil) without.
func (p *pipe) emptyLocked() (bool, error) {
	switch {
	case p.data.n > 0:
		return false, nil
	case p.writers == 0:
		return true, nil
	}
	return true, unix.EAGAIN
}

// shiftMarksLocked moves the packet marks after n bytes left the head.
func (p *pipe) shiftMarksLocked(n int) {
	for i := range p.packets {
		p.packets[i].start = max(p.packets[i].start-n, 0)
		p.packets[i].end -= n
	}
}

func (p *pipe) capacityLocked() int {
	if p.capacity == 0 {
		return defaultCapacity
	}
	return p.capacity
}

// Capacity returns a pipe's size (F_GETPIPE_SZ); ok is false for files
// that are not pipes.
func Capacity(impl vfs.FileImpl) (n int, ok bool) {
	e, ok := impl.(*end)
	if !ok {
		return 0, false
	}
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	return e.p.capacityLocked(), true
}

// SetCapacity implements F_SETPIPE_SZ: the size rounds up to a power of
// two pages; above pipe-max-size needs privilege (EPERM); less than the
// pipe holds is EBUSY.
func SetCapacity(impl vfs.FileImpl, size int64, privileged bool) (int, error) {
	e, ok := impl.(*end)
	if !ok {
		return 0, unix.EBADF
	}
	if size < 0 || size > 1<<31 {
		return 0, unix.EINVAL
	}
	n := atomicSize
	for int64(n) < size {
		n <<= 1
	}
	if n > maxCapacity && !privileged {
		return 0, unix.EPERM
	}
	p := e.p
	// A Fill in progress relies on the room it found.
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.data.n > n {
		return 0, unix.EBUSY
	}
	p.capacity = n
	if p.data.slots != nil {
		p.data.fit(n)
	}
	return n, nil
}

// New returns the read and write ends of a new pipe owned by root.
func New() (r, w vfs.FileImpl) { return NewOwned(0, 0) }

// NewOwned returns the read and write ends of a new pipe whose inode
// belongs to uid and gid, as Linux gives a pipe its creator's fsuid and
// fsgid.
func NewOwned(uid, gid uint32) (r, w vfs.FileImpl) {
	p := &pipe{attr: synth.Attr(synth.NewIno(), unix.S_IFIFO|0o600, 0), readers: 1, writers: 1, hadWriter: true}
	p.attr.Blksize = atomicSize
	p.attr.Uid, p.attr.Gid = uid, gid
	return &end{p: p, reader: true}, &end{p: p, writer: true}
}

// end is one end of a pipe, or both (a FIFO opened O_RDWR).
type end struct {
	p              *pipe
	reader, writer bool
	// fifo is the named FIFO the end was opened on, nil for pipe(2)'s:
	// the end is one of its users.
	fifo *FIFO
	// packet is set while the end's description has O_DIRECT: its
	// writes are packets (pipe(2)); p.mu protects it.
	packet bool
}

// SetPacketMode implements vfs.PacketModer (O_DIRECT on a pipe).
func (e *end) SetPacketMode(on bool) {
	e.p.mu.Lock()
	e.packet = on
	e.p.mu.Unlock()
}

func (*end) IsStream() bool { return true }

func (e *end) Stat() (unix.Stat_t, error) {
	if e.p.stat != nil {
		return e.p.stat()
	}
	e.p.attrMu.Lock()
	defer e.p.attrMu.Unlock()
	return e.p.attr, nil
}

// ReadAt implements vfs.FileImpl.ReadAt: EAGAIN when empty with writers.
func (e *end) ReadAt(dst []byte, _ int64) (int, error) {
	if !e.reader {
		return 0, unix.EBADF
	}
	if len(dst) == 0 {
		return 0, nil
	}
	p := e.p
	p.readMu.Lock()
	defer p.readMu.Unlock()
	p.mu.Lock()
	if empty, err := p.emptyLocked(); empty {
		p.mu.Unlock()
		return 0, err
	}
	n := p.takeLocked(dst)
	p.mu.Unlock()
	p.queue.Notify(waiter.EventOut)
	return n, nil
}

// WriteAt implements vfs.FileImpl.WriteAt: it writes what fits (all of a
// write of at most PIPE_BUF bytes, or nothing), EAGAIN when nothing does,
// EPIPE without readers.
func (e *end) WriteAt(src []byte, _ int64) (int, error) {
	if !e.writer {
		return 0, unix.EBADF
	}
	p := e.p
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	if p.readers == 0 {
		p.mu.Unlock()
		return 0, unix.EPIPE
	}
	room := p.capacityLocked() - p.data.n
	if room == 0 || (len(src) <= atomicSize && room < len(src)) {
		p.mu.Unlock()
		return 0, unix.EAGAIN
	}
	n := min(room, len(src))
	e.appendLocked(src[:n])
	p.mu.Unlock()
	p.queue.Notify(waiter.EventIn)
	return n, nil
}

// appendLocked adds src, which fits, to the pipe's data: as packets when
// the end writes them.
//
// Preconditions: e.p.mu is held.
func (e *end) appendLocked(src []byte) {
	p := e.p
	if p.data.slots == nil {
		p.data.fit(p.capacityLocked())
	}
	p.data.write(src)
	if e.packet {
		// PIPE_BUF-sized packets, as Linux's packet pipes make.
		n := len(src)
		for done := 0; done < n; done += atomicSize {
			base := p.data.n - n
			p.packets = append(p.packets, packetMark{start: base + done, end: base + min(done+atomicSize, n)})
		}
	}
}

// Close implements vfs.FileImpl.Close.
func (e *end) Close() error {
	p := e.p
	p.mu.Lock()
	if e.reader {
		p.readers--
	}
	if e.writer {
		p.writers--
	}
	if p.readers == 0 && p.writers == 0 {
		// A FIFO's contents go with its last opener.
		p.data.reset()
		p.packets = nil
		p.hadWriter = false
	}
	p.mu.Unlock()
	p.queue.Notify(waiter.EventIn | waiter.EventOut | waiter.EventHUp | waiter.EventErr)
	if e.fifo != nil {
		e.fifo.put()
	}
	return nil
}

// Readiness implements waiter.Waitable.
func (e *end) Readiness(mask uint32) uint32 {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var ready uint32
	if e.reader {
		if p.data.n > 0 {
			ready |= waiter.EventIn
		}
		if p.writers == 0 && p.hadWriter {
			ready |= waiter.EventHUp
		}
	}
	if e.writer {
		if p.readers == 0 {
			ready |= waiter.EventErr
		}
		if p.capacityLocked()-p.data.n >= atomicSize {
			ready |= waiter.EventOut
		}
	}
	return ready & mask
}

// EventRegister implements waiter.Waitable.
func (e *end) EventRegister(ch chan struct{}, mask uint32) { e.p.queue.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (e *end) EventUnregister(ch chan struct{}) { e.p.queue.EventUnregister(ch) }

// Ioctl implements vfs.Ioctler: FIONREAD.
func (e *end) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	if request != unix.TIOCINQ {
		return 0, unix.ENOTTY
	}
	e.p.mu.Lock()
	n := e.p.data.n
	e.p.mu.Unlock()
	if _, err := io.CopyOut(arg, []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Peek copies the start of a pipe's contents into dst without consuming
// them (tee(2)); impl must be a pipe's read end. EAGAIN means empty with
// writers; 0 means empty without.
func Peek(impl vfs.FileImpl, dst []byte) (int, error) {
	e, err := endOf(impl, true)
	if err != nil {
		return 0, err
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if empty, err := p.emptyLocked(); empty {
		return 0, err
	}
	return p.data.peek(dst), nil
}

// endOf returns impl as a pipe's read end (reader) or write end, or
// EINVAL when it is not one.
func endOf(impl vfs.FileImpl, reader bool) (*end, error) {
	e, ok := impl.(*end)
	if !ok || (reader && !e.reader) || (!reader && !e.writer) {
		return nil, unix.EINVAL
	}
	return e, nil
}

// SamePipe reports whether a and b are ends of one pipe.
func SamePipe(a, b vfs.FileImpl) bool {
	ea, ok1 := a.(*end)
	eb, ok2 := b.(*end)
	return ok1 && ok2 && ea.p == eb.p
}
