package pipe_test

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

const (
	capacity = 65536 // Linux's default pipe size
	pipeBuf  = 4096  // PIPE_BUF
)

// newPipe returns both ends as open file descriptions, as pipe2 makes them.
func newPipe(t *testing.T) (r, w *vfs.File) {
	t.Helper()
	ri, wi := pipe.New()
	r = vfs.NewFile(ri, nil, unix.O_RDONLY)
	w = vfs.NewFile(wi, nil, unix.O_WRONLY)
	return r, w
}

// retry runs op until it stops failing with EAGAIN, waiting on the pipe's
// queue in between as the syscall layer does for a blocking descriptor.
func retry(f *vfs.File, events uint32, op func() (int, error)) (int, error) {
	w := f.Impl().(waiter.Waitable)
	ch := waiter.NewChannel()
	w.EventRegister(ch, events|waiter.EventHUp|waiter.EventErr)
	defer w.EventUnregister(ch)
	for {
		n, err := op()
		if err != unix.EAGAIN {
			return n, err
		}
		<-ch
	}
}

// blockingWrite writes all of b, waiting for room, as write(2) without
// O_NONBLOCK does; it stops at the first error.
func blockingWrite(w *vfs.File, b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := retry(w, waiter.EventOut, func() (int, error) { return w.Write(b[done:]) })
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// blockingRead reads once, waiting for data or EOF.
func blockingRead(r *vfs.File, b []byte) (int, error) {
	return retry(r, waiter.EventIn, func() (int, error) { return r.Read(b) })
}

func mustWrite(t *testing.T, w *vfs.File, b []byte) {
	t.Helper()
	if n, err := w.Write(b); n != len(b) || err != nil {
		t.Fatalf("Write(%d bytes) = %d, %v", len(b), n, err)
	}
}

// readN reads exactly n bytes, waiting for them.
func readN(t *testing.T, r *vfs.File, n int) []byte {
	t.Helper()
	out := make([]byte, 0, n)
	buf := make([]byte, 8192)
	for len(out) < n {
		k, err := blockingRead(r, buf[:min(len(buf), n-len(out))])
		if err != nil || k == 0 {
			t.Fatalf("Read after %d of %d bytes = %d, %v", len(out), n, k, err)
		}
		out = append(out, buf[:k]...)
	}
	return out
}

// fakeIO is a vfs.IoctlIO over a small buffer at address 0x1000.
type fakeIO struct{ mem [8]byte }

func (f *fakeIO) CopyIn(addr uint64, dst []byte) (int, error) {
	if addr != 0x1000 || len(dst) > len(f.mem) {
		return 0, unix.EFAULT
	}
	return copy(dst, f.mem[:]), nil
}

func (f *fakeIO) CopyOut(addr uint64, src []byte) (int, error) {
	if addr != 0x1000 || len(src) > len(f.mem) {
		return 0, unix.EFAULT
	}
	return copy(f.mem[:], src), nil
}

// inq returns FIONREAD of the pipe end.
func inq(t *testing.T, f *vfs.File) int {
	t.Helper()
	io := &fakeIO{}
	if _, err := f.Impl().(vfs.Ioctler).Ioctl(io, unix.TIOCINQ, 0x1000); err != nil {
		t.Fatalf("TIOCINQ: %v", err)
	}
	return int(binary.LittleEndian.Uint32(io.mem[:4]))
}

func TestOrderAndPartialReads(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, []byte("abc"))
	mustWrite(t, w, []byte("def"))
	buf := make([]byte, 4)
	if n, err := r.Read(buf); n != 4 || err != nil || string(buf) != "abcd" {
		t.Fatalf("Read = %d, %v, %q", n, err, buf[:n])
	}
	// A read returns what is there, not waiting to fill the buffer.
	if n, err := r.Read(make([]byte, 100)); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v; want the 2 bytes left", n, err)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("zero-length Read = %d, %v", n, err)
	}
}

func TestEOFAfterWriterCloses(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, []byte("last"))
	w.DecRef()
	if got := readN(t, r, 4); string(got) != "last" {
		t.Fatalf("read %q", got)
	}
	for range 2 {
		if n, err := r.Read(make([]byte, 10)); n != 0 || err != nil {
			t.Errorf("Read after the writer closed = %d, %v; want EOF (0, nil)", n, err)
		}
	}
}

// The writer must close through every reference (dup) before EOF.
func TestEOFWaitsForLastWriterReference(t *testing.T) {
	r, w := newPipe(t)
	w.IncRef()
	w.DecRef()
	if _, err := r.Read(make([]byte, 1)); err != unix.EAGAIN {
		t.Errorf("Read with a writer left: %v, want EAGAIN", err)
	}
}

func TestEPIPEAfterReaderCloses(t *testing.T) {
	r, w := newPipe(t)
	r.DecRef()
	if n, err := w.Write([]byte("x")); n != 0 || err != unix.EPIPE {
		t.Errorf("Write without readers = %d, %v; want EPIPE", n, err)
	}
	if n, err := w.Write(make([]byte, 100000)); n != 0 || err != unix.EPIPE {
		t.Errorf("big Write without readers = %d, %v; want EPIPE", n, err)
	}
}

// The pipe itself never blocks: an empty pipe reads and a full one writes
// EAGAIN (the syscall layer waits on the queue unless O_NONBLOCK).
func TestEAGAINBothWays(t *testing.T) {
	r, w := newPipe(t)
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != unix.EAGAIN {
		t.Errorf("Read of an empty pipe = %d, %v; want EAGAIN", n, err)
	}
	mustWrite(t, w, make([]byte, capacity))
	if n, err := w.Write([]byte{1}); n != 0 || err != unix.EAGAIN {
		t.Errorf("Write to a full pipe = %d, %v; want EAGAIN", n, err)
	}
	if n, err := w.Write(make([]byte, 2*pipeBuf)); n != 0 || err != unix.EAGAIN {
		t.Errorf("large Write to a full pipe = %d, %v; want EAGAIN", n, err)
	}
	if got := inq(t, r); got != capacity {
		t.Errorf("FIONREAD = %d, want %d", got, capacity)
	}
}

// A write larger than the room left writes what fits (it is not atomic).
func TestLargeWriteIsPartial(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, make([]byte, capacity-pipeBuf-10))
	if n, err := w.Write(make([]byte, 3*pipeBuf)); n != pipeBuf+10 || err != nil {
		t.Errorf("Write of 3 pages with a page and 10 bytes of room = %d, %v", n, err)
	}
	if got := inq(t, r); got != capacity {
		t.Errorf("FIONREAD = %d, want %d", got, capacity)
	}
}

// A write of at most PIPE_BUF bytes is atomic: with less room than that it
// fails with EAGAIN instead of writing part of it.
func TestAtomicWrite(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, make([]byte, capacity-100))
	if n, err := w.Write(bytes.Repeat([]byte{7}, pipeBuf)); n != 0 || err != unix.EAGAIN {
		t.Errorf("PIPE_BUF write with 100 bytes of room = %d, %v; want EAGAIN", n, err)
	}
	if n, err := w.Write(make([]byte, 101)); n != 0 || err != unix.EAGAIN {
		t.Errorf("101-byte write with 100 bytes of room = %d, %v; want EAGAIN", n, err)
	}
	if got := inq(t, r); got != capacity-100 {
		t.Errorf("FIONREAD = %d after refused writes, want %d", got, capacity-100)
	}
	// What fits goes in whole.
	mustWrite(t, w, make([]byte, 100))
	if got := inq(t, r); got != capacity {
		t.Errorf("FIONREAD = %d, want %d", got, capacity)
	}
}

// A blocking PIPE_BUF-sized write into a pipe with less room waits until
// it fits whole: a reader never sees part of it.
func TestAtomicWriteWaits(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, make([]byte, capacity-100))
	msg := bytes.Repeat([]byte{7}, pipeBuf)
	done := make(chan error)
	go func() {
		n, err := blockingWrite(w, msg)
		if err == nil && n != len(msg) {
			err = unix.EIO
		}
		done <- err
	}()
	// However often the writer runs, the pipe never holds part of the
	// message, and the write does not finish.
	for range 200 {
		runtime.Gosched()
		if got := inq(t, r); got != capacity-100 {
			t.Fatalf("FIONREAD = %d: part of a PIPE_BUF write went in", got)
		}
		select {
		case err := <-done:
			t.Fatalf("the write finished (%v) without room for it", err)
		default:
		}
	}
	// Make room for it; it then goes in whole after the old data.
	readN(t, r, pipeBuf)
	if err := <-done; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := inq(t, r); got != capacity-100 {
		t.Errorf("FIONREAD = %d, want %d", got, capacity-100)
	}
	data := readN(t, r, capacity-100)
	if !bytes.Equal(data[len(data)-pipeBuf:], msg) || !bytes.Equal(data[:len(data)-pipeBuf], make([]byte, capacity-100-pipeBuf)) {
		t.Errorf("the message did not arrive whole after the old data")
	}
}

func TestBlockedWriterUnblockedByReader(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, make([]byte, capacity))
	done := make(chan error)
	go func() {
		_, err := blockingWrite(w, []byte("tail"))
		done <- err
	}()
	got := readN(t, r, capacity+4)
	if string(got[capacity:]) != "tail" {
		t.Errorf("the blocked write arrived as %q", got[capacity:])
	}
	if err := <-done; err != nil {
		t.Errorf("blocked Write: %v", err)
	}
}

// A write larger than the pipe goes through in pieces while a reader
// drains it.
func TestLargeWriteWithReader(t *testing.T) {
	r, w := newPipe(t)
	msg := make([]byte, 5*capacity+123)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	done := make(chan error)
	go func() {
		n, err := blockingWrite(w, msg)
		if err == nil && n != len(msg) {
			err = unix.EIO
		}
		done <- err
	}()
	if got := readN(t, r, len(msg)); !bytes.Equal(got, msg) {
		t.Errorf("data corrupted in transit")
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestBlockedReaderUnblockedByWriter(t *testing.T) {
	r, w := newPipe(t)
	done := make(chan string)
	go func() {
		buf := make([]byte, 10)
		n, _ := blockingRead(r, buf)
		done <- string(buf[:n])
	}()
	mustWrite(t, w, []byte("wake"))
	if got := <-done; got != "wake" {
		t.Errorf("blocked Read returned %q", got)
	}
}

func TestBlockedReaderSeesEOF(t *testing.T) {
	r, w := newPipe(t)
	done := make(chan int)
	go func() {
		n, _ := blockingRead(r, make([]byte, 10))
		done <- n
	}()
	w.DecRef()
	if n := <-done; n != 0 {
		t.Errorf("blocked Read returned %d, want 0 at EOF", n)
	}
}

func TestBlockedWriterSeesEPIPE(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, make([]byte, capacity))
	done := make(chan error)
	go func() {
		n, err := blockingWrite(w, []byte("x"))
		if n != 0 {
			err = unix.EIO
		}
		done <- err
	}()
	r.DecRef()
	if err := <-done; err != unix.EPIPE {
		t.Errorf("blocked Write after the reader closed: %v, want EPIPE", err)
	}
}

// Readiness follows pipe_poll: the reader is readable with data and hung
// up without writers; the writer is writable with room for PIPE_BUF and
// in error without readers.
func TestReadiness(t *testing.T) {
	const all = waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp
	r, w := newPipe(t)
	rw := r.Impl().(waiter.Waitable)
	ww := w.Impl().(waiter.Waitable)
	check := func(what string, got, want uint32) {
		t.Helper()
		if got != want {
			t.Errorf("%s: readiness %#x, want %#x", what, got, want)
		}
	}
	check("empty reader", rw.Readiness(all), 0)
	check("empty writer", ww.Readiness(all), waiter.EventOut)
	mustWrite(t, w, []byte("x"))
	check("reader with data", rw.Readiness(all), waiter.EventIn)
	check("reader with data, masked", rw.Readiness(waiter.EventOut), 0)
	mustWrite(t, w, make([]byte, capacity-1))
	check("full writer", ww.Readiness(all), 0)
	readN(t, r, pipeBuf-1)
	check("writer with less than PIPE_BUF of room", ww.Readiness(all), 0)
	readN(t, r, 1)
	check("writer with PIPE_BUF of room", ww.Readiness(all), waiter.EventOut)
	w.DecRef()
	check("reader without writers", rw.Readiness(all), waiter.EventIn|waiter.EventHUp)

	r2, w2 := newPipe(t)
	r2.DecRef()
	// Linux's pipe_poll reports room and the missing reader together.
	check("writer without readers", w2.Impl().(waiter.Waitable).Readiness(all), waiter.EventOut|waiter.EventErr)
}

func TestPipeEnds(t *testing.T) {
	ri, wi := pipe.New()
	if _, err := wi.ReadAt(make([]byte, 1), 0); err != unix.EBADF {
		t.Errorf("reading the write end: %v, want EBADF", err)
	}
	if _, err := ri.WriteAt([]byte{1}, 0); err != unix.EBADF {
		t.Errorf("writing the read end: %v, want EBADF", err)
	}
	rs, _ := ri.Stat()
	ws, _ := wi.Stat()
	if rs.Mode&unix.S_IFMT != unix.S_IFIFO || rs.Ino != ws.Ino || rs.Ino == 0 {
		t.Errorf("stat: mode %#o ino %d / %d; want a FIFO with one inode", rs.Mode, rs.Ino, ws.Ino)
	}
	if rs.Blksize != pipeBuf {
		t.Errorf("st_blksize = %d, want %d", rs.Blksize, pipeBuf)
	}
	ri2, _ := pipe.New()
	if rs2, _ := ri2.Stat(); rs2.Ino == rs.Ino {
		t.Errorf("two pipes share inode %d", rs.Ino)
	}
	r := vfs.NewFile(ri, nil, unix.O_RDONLY)
	if !r.IsStream() {
		t.Errorf("a pipe is not a stream")
	}
	if _, err := r.Seek(0, unix.SEEK_CUR); err != unix.ESPIPE {
		t.Errorf("lseek on a pipe: %v, want ESPIPE", err)
	}
}

func TestIoctl(t *testing.T) {
	r, w := newPipe(t)
	mustWrite(t, w, []byte("hello"))
	if got := inq(t, r); got != 5 {
		t.Errorf("FIONREAD on the read end = %d, want 5", got)
	}
	// Linux answers FIONREAD on the write end too.
	if got := inq(t, w); got != 5 {
		t.Errorf("FIONREAD on the write end = %d, want 5", got)
	}
	ioc := r.Impl().(vfs.Ioctler)
	if _, err := ioc.Ioctl(&fakeIO{}, unix.TIOCINQ, 0x2000); err != unix.EFAULT {
		t.Errorf("FIONREAD to a bad address: %v, want EFAULT", err)
	}
	if _, err := ioc.Ioctl(&fakeIO{}, unix.TCGETS, 0x1000); err != unix.ENOTTY {
		t.Errorf("TCGETS on a pipe: %v, want ENOTTY", err)
	}
	readN(t, r, 5)
	if got := inq(t, r); got != 0 {
		t.Errorf("FIONREAD of an empty pipe = %d", got)
	}
}
