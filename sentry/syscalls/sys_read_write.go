package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// rwfAppend is RWF_APPEND.
const rwfAppend = 0x10

const (
	// ioChunk bounds one copy between a file and application memory.
	ioChunk = 1 << 20
	// maxRW is MAX_RW_COUNT: Linux caps one read or write at this.
	maxRW = 0x7ffff000
	// uioMaxIov is UIO_MAXIOV.
	uioMaxIov = 1024
)

// waitFor blocks the task until f may be ready for events, for a file
// whose operation returned EAGAIN without O_NONBLOCK. It returns false
// (with the error to return) when the file cannot be waited for or the
// task was interrupted.
func waitFor(t *kernel.Task, f *vfs.File, events uint32, try func() bool) error {
	w, ok := f.Impl().(waiter.Waitable)
	if !ok || f.StatusFlags()&unix.O_NONBLOCK != 0 {
		return unix.EAGAIN
	}
	ch := waiter.NewChannel()
	w.EventRegister(ch, events|waiter.EventHUp|waiter.EventErr)
	defer w.EventUnregister(ch)
	for {
		if try() {
			return nil
		}
		if err := t.Block(ch); err != nil {
			return err
		}
	}
}

// readInto reads up to count bytes from f into application memory at addr,
// using pread when off >= 0. Regular files are read until count or EOF;
// streams return after the first read that transfers data.
func readInto(t *kernel.Task, f *vfs.File, addr, count uint64, off int64) (uint64, error) {
	if f.Dentry() != nil {
		defer notifyFile(t, f.Dentry(), unix.IN_ACCESS)
	}
	n, err := readOnce(t, f, addr, count, off)
	if err != unix.EAGAIN {
		return n, err
	}
	err = waitFor(t, f, waiter.EventIn, func() bool {
		n, err = readOnce(t, f, addr, count, off)
		return err != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// readInPlace is one chunk of readOnce, from a file that hands its bytes
// where they lie (vfs.InPlaceReader) to the copy into application memory
// at addr, at most want bytes; off is the read's offset (negative: the
// file's own), done what readOnce has read so far. Apart, so that its out
// function is built only for such files.
func readInPlace(t *kernel.Task, f *vfs.File, addr, want uint64, off int64, done uint64) (uint64, bool, error) {
	at := off
	if off >= 0 {
		at += int64(done)
	}
	n, handled, err := f.ReadInPlace(at, int(want), func(src []byte) (int, error) {
		return t.CopyOut(addr, src)
	})
	return uint64(n), handled, err
}

func readOnce(t *kernel.Task, f *vfs.File, addr, count uint64, off int64) (uint64, error) {
	count = min(count, maxRW)
	var done uint64
	for done < count {
		if !t.SettleMemoryCharge() {
			// A copy (this read's, or readv's into an earlier
			// iovec) took the container past its memory limit
			// and the OOM killer chose this task, which will not
			// see the count.
			return done, nil
		}
		if f.MayReadInPlace() {
			// A file mapped in the sentry copies straight into
			// application memory.
			want := min(count-done, ioChunk)
			n, handled, err := readInPlace(t, f, addr+done, want, off, done)
			if handled {
				done += n
				if err != nil {
					if done > 0 {
						return done, nil
					}
					return 0, unix.EFAULT
				}
				if n < want {
					return done, nil
				}
				continue
			}
		}
		buf := t.Buffer(int(min(count-done, ioChunk)))
		var n int
		var err error
		switch {
		case off >= 0:
			n, err = f.PRead(buf, off+int64(done))
		case isTTYFile(f):
			n, err = ttyRead(t, f, f.Impl().(*devpts.File), buf)
		case isSignalFile(f):
			// A signalfd reads the calling task's signals.
			if !f.Readable() {
				return 0, unix.EBADF
			}
			n, err = f.Impl().(*kernel.SignalFile).ReadTask(t, buf)
		default:
			n, err = f.Read(buf)
		}
		if n > 0 {
			if c, cerr := t.CopyOut(addr+done, buf[:n]); cerr != nil {
				done += uint64(c)
				if done > 0 {
					return done, nil
				}
				return 0, unix.EFAULT
			}
			done += uint64(n)
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n < len(buf) || f.IsStream() {
			break
		}
	}
	return done, nil
}

// writeFrom writes count bytes of application memory at addr to f. A
// blocking write to a stream waits until everything is written (or a
// signal interrupts it, which returns the count so far). Writing to a pipe
// with no reader also raises SIGPIPE, as Linux does.
func writeFrom(t *kernel.Task, f *vfs.File, addr, count uint64, off int64) (uint64, error) {
	killPrivs(t, f)
	n, err := writeAll(t, f, addr, count, off)
	if err == unix.EPIPE {
		t.SendSignalToSelf(unix.SIGPIPE)
	}
	if n > 0 && f.Dentry() != nil {
		notifyFile(t, f.Dentry(), unix.IN_MODIFY)
	}
	return n, err
}

func writeAll(t *kernel.Task, f *vfs.File, addr, count uint64, off int64) (uint64, error) {
	count = min(count, maxRW)
	var done uint64
	for {
		n, err := writeOnce(t, f, addr+done, count-done, off)
		done += n
		if off >= 0 {
			off += int64(n)
		}
		if err != unix.EAGAIN && (err != nil || done == count || !f.IsStream() || n == 0) {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if done == count {
			return done, nil
		}
		if done > 0 && t.Interrupted() {
			// A signal ends a partly done write with its count, as
			// Linux's pipe_write does.
			return done, nil
		}
		// waitFor returns EAGAIN at once for files that cannot be
		// waited for, so the assertion below always holds.
		if werr := waitFor(t, f, waiter.EventOut, func() bool {
			return f.Impl().(waiter.Waitable).Readiness(waiter.EventOut|waiter.EventErr) != 0
		}); werr != nil {
			if done > 0 {
				return done, nil
			}
			return 0, werr
		}
	}
}

func writeOnce(t *kernel.Task, f *vfs.File, addr, count uint64, off int64) (uint64, error) {
	var done uint64
	for done < count {
		buf := t.Buffer(int(min(count-done, ioChunk)))
		c, cerr := t.CopyIn(addr+done, buf)
		if c == 0 && cerr != nil {
			if done > 0 {
				return done, nil
			}
			return 0, unix.EFAULT
		}
		var n int
		var err error
		switch {
		case off >= 0:
			n, err = f.PWrite(buf[:c], off+int64(done))
		case isTTYFile(f):
			n, err = ttyWrite(t, f, f.Impl().(*devpts.File), buf[:c])
		default:
			n, err = f.Write(buf[:c])
		}
		done += uint64(n)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n < c || cerr != nil {
			break
		}
	}
	return done, nil
}

// Read implements Linux syscall read(2).
func Read(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if int64(args[2]) < 0 {
		return 0, unix.EINVAL
	}
	if isSocketFile(f) {
		return sockRW(t, f, []iovec{{args[1], args[2]}}, false)
	}
	return readInto(t, f, args[1], args[2], -1)
}

// Write implements Linux syscall write(2).
func Write(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if int64(args[2]) < 0 {
		return 0, unix.EINVAL
	}
	if isSocketFile(f) {
		return sockRW(t, f, []iovec{{args[1], args[2]}}, true)
	}
	if pf, ok := f.Impl().(vfs.PacketFile); ok && f.Writable() {
		return packetIO(t, f, pf, []iovec{{args[1], args[2]}}, true)
	}
	return writeFrom(t, f, args[1], args[2], -1)
}

// Pread64 implements Linux syscall pread64(2).
func Pread64(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off := int64(args[3])
	if off < 0 || int64(args[2]) < 0 {
		return 0, unix.EINVAL
	}
	if f.IsStream() {
		return 0, unix.ESPIPE
	}
	return readInto(t, f, args[1], args[2], off)
}

// Pwrite64 implements Linux syscall pwrite64(2).
func Pwrite64(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off := int64(args[3])
	if off < 0 || int64(args[2]) < 0 {
		return 0, unix.EINVAL
	}
	if f.IsStream() {
		return 0, unix.ESPIPE
	}
	return writeFrom(t, f, args[1], args[2], off)
}

// iovec is one struct iovec.
type iovec struct{ base, len uint64 }

// copyInIovecs reads an iovec array, checking Linux's limits.
func copyInIovecs(t *kernel.Task, addr uint64, count uint64) ([]iovec, error) {
	if count > uioMaxIov {
		return nil, unix.EINVAL
	}
	raw := make([]byte, 16*count)
	if _, err := t.CopyIn(addr, raw); err != nil {
		return nil, unix.EFAULT
	}
	iovs := make([]iovec, count)
	var total uint64
	for i := range iovs {
		iovs[i] = iovec{binary.LittleEndian.Uint64(raw[16*i:]), binary.LittleEndian.Uint64(raw[16*i+8:])}
		if int64(iovs[i].len) < 0 {
			return nil, unix.EINVAL
		}
		total += iovs[i].len
		if int64(total) < 0 {
			return nil, unix.EINVAL
		}
	}
	return iovs, nil
}

// vectorIO runs one read or write per iovec, stopping at a short transfer.
func vectorIO(t *kernel.Task, f *vfs.File, iovs []iovec, off int64, write bool) (uint64, error) {
	var done uint64
	for _, iov := range iovs {
		if iov.len == 0 {
			continue
		}
		o := off
		if off >= 0 {
			o = off + int64(done)
		}
		var n uint64
		var err error
		if write {
			n, err = writeFrom(t, f, iov.base, iov.len, o)
		} else {
			n, err = readInto(t, f, iov.base, iov.len, o)
		}
		done += n
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n < iov.len {
			break
		}
	}
	return done, nil
}

func vectorCall(t *kernel.Task, args arch.SyscallArgs, positional, write bool) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if write && !f.Writable() || !write && !f.Readable() {
		return 0, unix.EBADF
	}
	off := int64(-1)
	if positional {
		off = int64(args[3])
		if off < 0 {
			return 0, unix.EINVAL
		}
		if f.IsStream() {
			return 0, unix.ESPIPE
		}
	}
	iovs, err := copyInIovecs(t, args[1], args[2])
	if err != nil {
		return 0, err
	}
	if isSocketFile(f) && !positional {
		// One socket message per call, not one per iovec.
		return sockRW(t, f, iovs, write)
	}
	if pf, ok := f.Impl().(vfs.PacketFile); ok && !positional {
		return packetIO(t, f, pf, iovs, write)
	}
	if write {
		killPrivs(t, f)
	}
	return vectorIO(t, f, iovs, off, write)
}

// Readv implements Linux syscall readv(2).
func Readv(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return vectorCall(t, args, false, false)
}

// Writev implements Linux syscall writev(2).
func Writev(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return vectorCall(t, args, false, true)
}

// Preadv implements Linux syscall preadv(2).
func Preadv(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return vectorCall(t, args, true, false)
}

// Pwritev implements Linux syscall pwritev(2).
func Pwritev(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return vectorCall(t, args, true, true)
}

// Preadv2 implements Linux syscall preadv2(2); offset -1 means the file
// position. Flags (RWF_*) are hints here except unknown bits.
func Preadv2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[5]&^0x1f != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if int64(args[3]) == -1 {
		return vectorCall(t, args, false, false)
	}
	return vectorCall(t, args, true, false)
}

// Pwritev2 implements Linux syscall pwritev2(2).
func Pwritev2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[5]&^0x1f != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if args[5]&rwfAppend != 0 {
		// This write appends, whatever the offset and O_APPEND.
		f, err := getFile(t, int32(args[0]))
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if !f.IsStream() {
			st, err := f.Impl().Stat()
			if err != nil {
				return 0, err
			}
			args[3] = uint64(st.Size)
			return vectorCall(t, args, true, true)
		}
	}
	if int64(args[3]) == -1 {
		return vectorCall(t, args, false, true)
	}
	return vectorCall(t, args, true, true)
}

// Lseek implements Linux syscall lseek(2).
func Lseek(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := f.Seek(int64(args[1]), int(args[2]))
	return uint64(n), err
}

func isTTYFile(f *vfs.File) bool {
	_, ok := f.Impl().(*devpts.File)
	return ok
}

// killPrivs clears a regular file's set-user-ID bit, and its set-group-ID
// bit when group execution is allowed, before a write by a task without
// CAP_FSETID (Linux's file_remove_privs).
func killPrivs(t *kernel.Task, f *vfs.File) {
	d := f.Dentry()
	if d == nil {
		return
	}
	// The cached mode says whether there is anything to clear; most
	// writes stop here without a stat.
	if st, err := vfs.PermStat(d.Inode()); err != nil || privsToKill(t, &st) == 0 {
		return
	}
	st, err := f.Impl().Stat()
	if err != nil {
		return
	}
	if kill := privsToKill(t, &st); kill != 0 {
		_ = setStat(d, vfs.SetStatOpts{Mask: vfs.SetMode, Mode: st.Mode & 0o7777 &^ kill})
	}
}

// privsToKill returns the set-ID bits a change of a regular file's data by
// t must clear.
func privsToKill(t *kernel.Task, st *unix.Stat_t) uint32 {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0
	}
	kill := st.Mode & unix.S_ISUID
	if st.Mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
		kill |= unix.S_ISGID
	}
	if kill == 0 || t.FSCreds().HasCap(vfs.CapFsetid) {
		return 0
	}
	return kill
}
