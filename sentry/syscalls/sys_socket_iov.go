package syscalls

import (
	"errors"
	"io"

	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// Stream data between a task's iovecs and a netstack socket without a
// buffer of the sentry's own in between: netstack reads a send's bytes
// straight out of the task's memory into its segments (iovReader), and a
// receive writes its segments straight into the task's memory
// (iovWriter). A bulk transfer then copies each byte once in the sentry,
// as Linux's tcp_sendmsg and tcp_recvmsg do, instead of twice.

// errIovFault is what iovReader and iovWriter fail with where the task's
// memory is not mapped (or not writable); netstack turns it into
// ErrBadBuffer, which the socket reports as EFAULT.
var errIovFault = errors.New("bad address in an iovec")

// iovCursor is a position in the task memory an iovec array describes.
// It only moves forward.
type iovCursor struct {
	t    *kernel.Task
	iovs []iovec
	// i indexes the iovec the position is in, in is the offset in it.
	i  int
	in uint64
	// left is how many bytes are left from the position on.
	left uint64
}

// newIovCursor returns a cursor over n bytes of the iovecs from byte off
// on; the iovecs hold at least off+n bytes.
func newIovCursor(t *kernel.Task, iovs []iovec, off, n uint64) iovCursor {
	c := iovCursor{t: t, iovs: iovs, left: n}
	for c.i < len(iovs) && off >= iovs[c.i].len {
		off -= iovs[c.i].len
		c.i++
	}
	c.in = off
	return c
}

// xfer copies between b and the iovecs' memory from the cursor on with
// copy (the task's CopyIn or CopyOut), as much as both hold, and moves
// the cursor past what it copied. A fault stops it: the count is then
// of the bytes before the fault, and the error errIovFault.
func (c *iovCursor) xfer(b []byte, copy func(addr uint64, b []byte) (int, error)) (int, error) {
	done := 0
	for len(b) > done && c.left > 0 {
		v := c.iovs[c.i]
		if c.in == v.len {
			c.i, c.in = c.i+1, 0
			continue
		}
		n := int(min(v.len-c.in, c.left, uint64(len(b)-done)))
		got, err := copy(v.base+c.in, b[done:done+n])
		done += got
		c.in += uint64(got)
		c.left -= uint64(got)
		if err != nil {
			return done, errIovFault
		}
	}
	return done, nil
}

// iovReader is a tcpip.Payloader over n bytes of a task's iovecs from
// off on: netstack reads from it what the send buffer takes, and fails
// the whole send when a read faults.
type iovReader struct {
	iovCursor
}

func newIovReader(t *kernel.Task, iovs []iovec, off, n uint64) *iovReader {
	return &iovReader{newIovCursor(t, iovs, off, n)}
}

// Read implements io.Reader.
func (r *iovReader) Read(b []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	return r.xfer(b, r.t.CopyIn)
}

// Len implements tcpip.Payloader: the bytes not read yet.
func (r *iovReader) Len() int { return int(r.left) }

// iovWriter is an io.Writer into n bytes of a task's iovecs from off on:
// netstack writes a receive's data into it, a view of a segment at a
// time. A write past the end is short (io.ErrShortWrite), which ends
// the receive with the rest still queued. A write that faults takes
// nothing, as Linux's skb_copy_datagram_iter counts no part of a chunk
// that faulted: that view's bytes stay queued.
type iovWriter struct {
	iovCursor
}

func newIovWriter(t *kernel.Task, iovs []iovec, off, n uint64) *iovWriter {
	return &iovWriter{newIovCursor(t, iovs, off, n)}
}

// Write implements io.Writer.
func (w *iovWriter) Write(b []byte) (int, error) {
	start := w.iovCursor
	n, err := w.xfer(b, w.t.CopyOut)
	if err != nil {
		w.iovCursor = start
		return 0, err
	}
	if n < len(b) {
		return n, io.ErrShortWrite
	}
	return n, nil
}
