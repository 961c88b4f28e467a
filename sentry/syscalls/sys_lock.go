package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/vfs/lock"
)

// fcntl commands x/sys does not name for amd64's 64-bit struct flock.
const (
	fOFDGetlk  = 36
	fOFDSetlk  = 37
	fOFDSetlkw = 38
)

// flockArg is struct flock as amd64 lays it out (32 bytes).
type flockArg struct {
	typ, whence int16
	start, len  int64
	pid         int32
}

func (a *flockArg) decode(b []byte) {
	le := binary.LittleEndian
	a.typ = int16(le.Uint16(b[0:]))
	a.whence = int16(le.Uint16(b[2:]))
	a.start = int64(le.Uint64(b[8:]))
	a.len = int64(le.Uint64(b[16:]))
	a.pid = int32(le.Uint32(b[24:]))
}

func (a *flockArg) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(a.typ))
	le.PutUint16(b[2:], uint16(a.whence))
	le.PutUint64(b[8:], uint64(a.start))
	le.PutUint64(b[16:], uint64(a.len))
	le.PutUint32(b[24:], uint32(a.pid))
}

// lockBase resolves l_whence to the offset l_start counts from.
func lockBase(f *vfs.File, whence int16) (int64, error) {
	switch whence {
	case unix.SEEK_SET:
		return 0, nil
	case unix.SEEK_CUR:
		return f.Seek(0, unix.SEEK_CUR)
	case unix.SEEK_END:
		st, err := f.Impl().Stat()
		if err != nil {
			return 0, err
		}
		return st.Size, nil
	}
	return 0, unix.EINVAL
}

// fcntlLock implements F_GETLK, F_SETLK, F_SETLKW and their OFD forms.
func fcntlLock(t *kernel.Task, f *vfs.File, cmd int, addr uint64) (uint64, error) {
	var b [32]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	var a flockArg
	a.decode(b[:])
	ofd := cmd == fOFDGetlk || cmd == fOFDSetlk || cmd == fOFDSetlkw
	if ofd && a.pid != 0 {
		return 0, unix.EINVAL
	}
	if f.IsPath() {
		return 0, unix.EBADF
	}
	getlk := cmd == unix.F_GETLK || cmd == fOFDGetlk
	typ := lock.Type(a.typ)
	if getlk && typ != lock.ReadLock && typ != lock.WriteLock {
		return 0, unix.EINVAL
	}
	base, err := lockBase(f, a.whence)
	if err != nil {
		return 0, err
	}
	r, err := lock.RangeFromFlock(base, a.start, a.len)
	if err != nil {
		return 0, err
	}
	locks, err := t.Kernel().FileLocks(f)
	if err != nil {
		return 0, err
	}
	owner := t.FDs()
	if getlk {
		var c lock.Conflict
		if ofd {
			c, err = locks.TestRangeOFD(f, typ, r)
		} else {
			c, err = locks.TestRange(owner, typ, r)
		}
		if err != nil {
			return 0, err
		}
		if c.Type == lock.Unlock {
			a.typ = unix.F_UNLCK
		} else {
			a.typ, a.whence = int16(c.Type), unix.SEEK_SET
			a.start, a.len = c.Range.ToFlock()
			a.pid = c.PID
			if a.pid > 0 {
				// Owners are kept as root IDs; the caller sees
				// its namespace's (0 if not visible there).
				a.pid = t.IDOfRoot(a.pid)
			}
		}
		a.encode(b[:])
		if _, err := t.CopyOut(addr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	}
	switch typ {
	case lock.ReadLock:
		if !f.Readable() {
			return 0, unix.EBADF
		}
	case lock.WriteLock:
		if !f.Writable() {
			return 0, unix.EBADF
		}
	}
	var wait lock.Waiter
	if cmd == unix.F_SETLKW || cmd == fOFDSetlkw {
		wait = t.Block
	}
	if ofd {
		err = locks.LockRangeOFD(f, typ, r, wait)
	} else {
		err = locks.LockRange(owner, t.ThreadGroup().ID(), typ, r, wait)
	}
	return 0, err
}

// Flock implements Linux syscall flock(2).
func Flock(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	typ, block, ignore, err := lock.ParseFlockOp(int32(args[1]))
	if ignore {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, unix.EBADF
	}
	locks, err := t.Kernel().FileLocks(f)
	if err != nil {
		return 0, err
	}
	var wait lock.Waiter
	if block {
		wait = t.Block
	}
	return 0, locks.Flock(f, typ, wait)
}
