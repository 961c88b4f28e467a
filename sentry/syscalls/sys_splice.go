package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// The calls that move data between two files without the application's
// memory (sendfile, splice, tee, copy_file_range) copy through a sentry
// buffer: every file here is already sentry memory or a host descriptor
// the sentry reads, so a buffer is all "zero-copy" could save.

// spliceChunk bounds one transfer step (a pipe's default capacity).
const spliceChunk = 64 << 10

// readKernel reads into buf from f at off (-1: the file position),
// waiting for a stream unless nonblock.
func readKernel(t *kernel.Task, f *vfs.File, buf []byte, off int64, nonblock bool) (int, error) {
	read := func() (int, error) {
		if off >= 0 {
			return f.PRead(buf, off)
		}
		return f.Read(buf)
	}
	n, err := read()
	if err != unix.EAGAIN || nonblock {
		return n, err
	}
	werr := waitFor(t, f, waiter.EventIn, func() bool {
		n, err = read()
		return err != unix.EAGAIN
	})
	if werr != nil {
		return 0, werr
	}
	return n, err
}

// writeKernel writes all of buf to f at off (-1: the file position),
// waiting for a stream unless nonblock; it returns the count written when
// stopped early. A pipe without readers raises SIGPIPE.
func writeKernel(t *kernel.Task, f *vfs.File, buf []byte, off int64, nonblock bool) (int, error) {
	done := 0
	write := func() (int, error) {
		if off >= 0 {
			return f.PWrite(buf[done:], off+int64(done))
		}
		return f.Write(buf[done:])
	}
	for done < len(buf) {
		n, err := write()
		if err == unix.EAGAIN && !nonblock {
			// The wait retries the write itself and blocks, killably,
			// while it makes no progress: a file that reports itself
			// writable yet refuses the write must not make this loop
			// spin unkillably (the syscall fuzzer's sendfile hang).
			done += n
			if werr := waitFor(t, f, waiter.EventOut, func() bool {
				n, err = write()
				return err != unix.EAGAIN || n > 0
			}); werr != nil {
				n, err = 0, werr
			}
			if err == unix.EAGAIN {
				err = nil // progress made; write the rest
			}
		}
		done += n
		if err != nil {
			if err == unix.EPIPE {
				t.SendSignalToSelf(unix.SIGPIPE)
			}
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
	}
	return done, nil
}

// transfer moves up to count bytes from in (at *inOff, or its position
// when inOff is nil) to out (likewise). It stops at end of input, when
// out takes less than offered, or — once something moved — when input
// would block. Nothing read is lost when out takes less: a pipe keeps
// what out did not take (pipe.Drain), a stream is read only for what a
// pipe has room for (pipe.Fill), and a file's position goes back.
func transfer(t *kernel.Task, in *vfs.File, inOff *int64, out *vfs.File, outOff *int64, count uint64, nonblock bool) (uint64, error) {
	count = min(count, maxRW)
	inPipe, outPipe := isPipe(in), isPipe(out)
	var done uint64
	for done < count {
		buf := t.Buffer(int(min(count-done, spliceChunk)))
		off := int64(-1)
		if inOff != nil {
			off = *inOff
		}
		woff := int64(-1)
		if outOff != nil {
			woff = *outOff
		}
		if inPipe || (outPipe && in.IsStream()) {
			var w int
			var err error
			if inPipe {
				w, err = drainPipe(t, in, out, buf, woff, done == 0 && !nonblock, nonblock)
			} else {
				w, err = fillPipe(t, in, off, out, buf, done == 0 && !nonblock, !nonblock)
			}
			if outOff != nil {
				*outOff += int64(w)
			}
			done += uint64(w)
			if err != nil || w == 0 {
				if done > 0 {
					return done, nil
				}
				return 0, err
			}
			continue
		}
		n, err := readKernel(t, in, buf, off, nonblock || done > 0)
		if err != nil {
			if done > 0 && (err == unix.EAGAIN || kernelIsRestart(err)) {
				break
			}
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
		w, err := writeKernel(t, out, buf[:n], woff, nonblock)
		if inOff != nil {
			*inOff += int64(w)
		} else if w < n && !in.IsStream() {
			// Give back what out did not take.
			_, _ = in.Seek(int64(w-n), unix.SEEK_CUR)
		}
		if outOff != nil {
			*outOff += int64(w)
		}
		done += uint64(w)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if w < n {
			break
		}
	}
	return done, nil
}

// drainPipe moves the next bytes of the pipe in to out (at woff, or its
// position when woff is -1), leaving in the pipe what out does not take;
// it waits for the pipe to have data when waitIn, and for out to take
// them unless nonblock.
func drainPipe(t *kernel.Task, in, out *vfs.File, buf []byte, woff int64, waitIn, nonblock bool) (int, error) {
	for {
		w, err := pipe.Drain(in.Impl(), buf, func(b []byte) (int, error) {
			return writeKernel(t, out, b, woff, nonblock)
		})
		// With a blocking out, EAGAIN can only be the empty pipe's.
		if err != unix.EAGAIN || !waitIn {
			return w, err
		}
		if werr := waitReady(t, in, waiter.EventIn); werr != nil {
			return 0, werr
		}
	}
}

// fillPipe reads from the stream in (at off, or its position when off is
// -1) into the pipe out, only as much as the pipe has room for; it waits
// for in to have data when waitIn, and for room in the pipe when waitOut.
func fillPipe(t *kernel.Task, in *vfs.File, off int64, out *vfs.File, buf []byte, waitIn, waitOut bool) (int, error) {
	for {
		n, err := pipe.Fill(out.Impl(), buf, func(b []byte) (int, error) {
			if off >= 0 {
				return in.PRead(b, off)
			}
			return in.Read(b)
		})
		var werr error
		switch {
		case err == pipe.ErrFull && waitOut:
			werr = waitReady(t, out, waiter.EventOut)
		case err == pipe.ErrFull:
			return 0, unix.EAGAIN
		case err == unix.EAGAIN && waitIn:
			werr = waitReady(t, in, waiter.EventIn)
		default:
			if err == unix.EPIPE {
				t.SendSignalToSelf(unix.SIGPIPE)
			}
			return n, err
		}
		if werr != nil {
			return 0, werr
		}
	}
}

// waitReady blocks until f is ready for events (or hung up, or in
// error); EAGAIN for a non-blocking file.
func waitReady(t *kernel.Task, f *vfs.File, events uint32) error {
	w, ok := f.Impl().(waiter.Waitable)
	if !ok {
		return unix.EAGAIN
	}
	return waitFor(t, f, events, func() bool {
		return w.Readiness(events|waiter.EventHUp|waiter.EventErr) != 0
	})
}

// kernelIsRestart reports whether err asks for a syscall restart (an
// interrupted wait).
func kernelIsRestart(err error) bool {
	e, ok := err.(unix.Errno)
	return ok && (e == unix.EINTR || e == 512 || e == 513 || e == 514 || e == 516)
}

// filePair returns the descriptions of a transfer's input and output, each
// with a reference the returned release drops; EBADF unless in is readable
// and out writable.
func filePair(t *kernel.Task, inFD, outFD int32) (in, out *vfs.File, release func(), err error) {
	if in, err = getFile(t, inFD); err != nil {
		return nil, nil, nil, err
	}
	if out, err = getFile(t, outFD); err != nil {
		in.DecRef()
		return nil, nil, nil, err
	}
	release = func() { in.DecRef(); out.DecRef() }
	if !in.Readable() || !out.Writable() {
		release()
		return nil, nil, nil, unix.EBADF
	}
	return in, out, release, nil
}

func copyInOffset(t *kernel.Task, addr uint64) (int64, error) {
	var b [8]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return int64(binary.LittleEndian.Uint64(b[:])), nil
}

func copyOutOffset(t *kernel.Task, addr uint64, v int64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	if _, err := t.CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return nil
}

// Sendfile implements Linux syscall sendfile(2).
func Sendfile(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	in, out, release, err := filePair(t, int32(args[1]), int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer release()
	offAddr, count := args[2], args[3]
	if out.StatusFlags()&unix.O_APPEND != 0 || isPipe(in) {
		// A pipe has no splice_read for do_splice_direct: splice(2)
		// moves data out of pipes.
		return 0, unix.EINVAL
	}
	var inOff *int64
	if offAddr != 0 {
		if in.IsStream() {
			return 0, unix.ESPIPE
		}
		off, err := copyInOffset(t, offAddr)
		if err != nil {
			return 0, err
		}
		if off < 0 {
			return 0, unix.EINVAL
		}
		inOff = &off
	}
	n, err := transfer(t, in, inOff, out, nil, count, out.StatusFlags()&unix.O_NONBLOCK != 0)
	if inOff != nil {
		if cerr := copyOutOffset(t, offAddr, *inOff); cerr != nil {
			return 0, cerr
		}
	}
	return n, err
}

// isPipe reports whether f is a pipe or FIFO.
func isPipe(f *vfs.File) bool {
	st, err := f.Impl().Stat()
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// Splice implements Linux syscall splice(2).
func Splice(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	inFD, inOffAddr, outFD, outOffAddr, count, flags := int32(args[0]), args[1], int32(args[2]), args[3], args[4], uint32(args[5])
	if flags&^0xf != 0 {
		return 0, unix.EINVAL
	}
	in, out, release, err := filePair(t, inFD, outFD)
	if err != nil {
		return 0, err
	}
	defer release()
	inPipe, outPipe := isPipe(in), isPipe(out)
	if !inPipe && !outPipe {
		return 0, unix.EINVAL
	}
	if inPipe && outPipe && pipe.SamePipe(in.Impl(), out.Impl()) {
		return 0, unix.EINVAL
	}
	if out.StatusFlags()&unix.O_APPEND != 0 && !outPipe {
		return 0, unix.EINVAL
	}
	var inOff, outOff *int64
	if inOffAddr != 0 {
		if inPipe || in.IsStream() {
			return 0, unix.ESPIPE
		}
		off, err := copyInOffset(t, inOffAddr)
		if err != nil {
			return 0, err
		}
		if off < 0 {
			return 0, unix.EINVAL
		}
		inOff = &off
	}
	if outOffAddr != 0 {
		if outPipe || out.IsStream() {
			return 0, unix.ESPIPE
		}
		off, err := copyInOffset(t, outOffAddr)
		if err != nil {
			return 0, err
		}
		if off < 0 {
			return 0, unix.EINVAL
		}
		outOff = &off
	}
	if count == 0 {
		return 0, nil
	}
	nonblock := flags&unix.SPLICE_F_NONBLOCK != 0
	// Like Linux, move at most what one pipe holds per call.
	n, err := transfer(t, in, inOff, out, outOff, min(count, spliceChunk), nonblock)
	if inOff != nil {
		if cerr := copyOutOffset(t, inOffAddr, *inOff); cerr != nil {
			return 0, cerr
		}
	}
	if outOff != nil {
		if cerr := copyOutOffset(t, outOffAddr, *outOff); cerr != nil {
			return 0, cerr
		}
	}
	return n, err
}

// Tee implements Linux syscall tee(2): it copies from one pipe to another
// without consuming the input.
func Tee(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	inFD, outFD, count, flags := int32(args[0]), int32(args[1]), args[2], uint32(args[3])
	if flags&^0xf != 0 {
		return 0, unix.EINVAL
	}
	in, out, release, err := filePair(t, inFD, outFD)
	if err != nil {
		return 0, err
	}
	defer release()
	if !isPipe(in) || !isPipe(out) || pipe.SamePipe(in.Impl(), out.Impl()) {
		return 0, unix.EINVAL
	}
	if count == 0 {
		return 0, nil
	}
	nonblock := flags&unix.SPLICE_F_NONBLOCK != 0
	buf := t.Buffer(int(min(count, spliceChunk)))
	peek := func() (int, error) { return pipe.Peek(in.Impl(), buf) }
	n, err := peek()
	if err == unix.EAGAIN && !nonblock {
		werr := waitFor(t, in, waiter.EventIn, func() bool {
			n, err = peek()
			return err != unix.EAGAIN
		})
		if werr != nil {
			return 0, werr
		}
	}
	if err != nil || n == 0 {
		return 0, err
	}
	w, err := writeKernel(t, out, buf[:n], -1, nonblock)
	return uint64(w), err
}

// CopyFileRange implements Linux syscall copy_file_range(2).
func CopyFileRange(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	inFD, inOffAddr, outFD, outOffAddr, count, flags := int32(args[0]), args[1], int32(args[2]), args[3], args[4], args[5]
	if flags != 0 {
		return 0, unix.EINVAL
	}
	in, out, release, err := filePair(t, inFD, outFD)
	if err != nil {
		return 0, err
	}
	defer release()
	if out.StatusFlags()&unix.O_APPEND != 0 {
		return 0, unix.EBADF
	}
	inSt, err := in.Impl().Stat()
	if err != nil {
		return 0, err
	}
	outSt, err := out.Impl().Stat()
	if err != nil {
		return 0, err
	}
	if inSt.Mode&unix.S_IFMT == unix.S_IFDIR || outSt.Mode&unix.S_IFMT == unix.S_IFDIR {
		return 0, unix.EISDIR
	}
	if inSt.Mode&unix.S_IFMT != unix.S_IFREG || outSt.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, unix.EINVAL
	}
	if in.IsStream() || out.IsStream() {
		// A host file passed in as a standard stream has no position
		// the sentry tracks; EXDEV sends callers to read and write.
		return 0, unix.EXDEV
	}
	inOff, outOff := int64(-1), int64(-1)
	if inOffAddr != 0 {
		if inOff, err = copyInOffset(t, inOffAddr); err != nil {
			return 0, err
		}
	} else if inOff, err = in.Seek(0, unix.SEEK_CUR); err != nil {
		return 0, err
	}
	if outOffAddr != 0 {
		if outOff, err = copyInOffset(t, outOffAddr); err != nil {
			return 0, err
		}
	} else if outOff, err = out.Seek(0, unix.SEEK_CUR); err != nil {
		return 0, err
	}
	if inOff < 0 || outOff < 0 {
		return 0, unix.EINVAL
	}
	count = min(count, maxRW)
	sameFile := inSt.Dev == outSt.Dev && inSt.Ino == outSt.Ino
	if sameFile && inOff < outOff+int64(count) && outOff < inOff+int64(count) {
		return 0, unix.EINVAL
	}
	if inOff >= inSt.Size {
		return 0, nil
	}
	if err := checkFileSize(t, outOff+int64(min(count, uint64(inSt.Size-inOff)))); err != nil {
		return 0, err
	}
	startIn, startOut := inOff, outOff
	n, err := transfer(t, in, &inOff, out, &outOff, count, false)
	if inOffAddr != 0 {
		if cerr := copyOutOffset(t, inOffAddr, inOff); cerr != nil {
			return 0, cerr
		}
	} else {
		_, _ = in.Seek(startIn+int64(n), unix.SEEK_SET)
	}
	if outOffAddr != 0 {
		if cerr := copyOutOffset(t, outOffAddr, outOff); cerr != nil {
			return 0, cerr
		}
	} else {
		_, _ = out.Seek(startOut+int64(n), unix.SEEK_SET)
	}
	return n, err
}

// Readahead implements Linux syscall readahead(2): a hint.
func Readahead(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Readable() {
		return 0, unix.EBADF
	}
	st, err := f.Impl().Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int64(args[1]) < 0 {
		return 0, unix.EINVAL
	}
	return 0, nil
}

// Fadvise64 implements Linux syscall fadvise64(2): advice is accepted and
// has no effect beyond the checks.
func Fadvise64(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if isPipe(f) {
		return 0, unix.ESPIPE
	}
	if int64(args[2]) < 0 || args[3] > unix.FADV_NOREUSE {
		return 0, unix.EINVAL
	}
	return 0, nil
}

// NameToHandleAt implements Linux syscall name_to_handle_at(2): the
// sandbox's file systems do not export handles.
func NameToHandleAt(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	path, err := copyInPath(t, args[1])
	if err != nil {
		return 0, err
	}
	if _, err := resolveAt(t, int32(args[0]), path, args[4]&unix.AT_SYMLINK_FOLLOW != 0, args[4]&unix.AT_EMPTY_PATH != 0); err != nil {
		return 0, err
	}
	return 0, unix.EOPNOTSUPP
}
