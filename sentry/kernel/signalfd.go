package kernel

import (
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// SignalFile is a signalfd(2) descriptor: reads take pending signals of
// the set from the reading task, as rt_sigtimedwait does, and it is
// readable while one is pending for the task that created it.
type SignalFile struct {
	attr unix.Stat_t
	// owner is the task that created the file; readiness reflects its
	// pending signals (and its process's).
	owner *Task
	mask  atomic.Uint64
}

// NewSignalFile returns a signalfd for t watching mask.
func NewSignalFile(t *Task, mask SigSet) *SignalFile {
	f := &SignalFile{attr: synth.Attr(synth.NewIno(), 0o600, 0), owner: t}
	f.SetMask(mask)
	return f
}

// SetMask replaces the watched set; SIGKILL and SIGSTOP are never in it.
func (f *SignalFile) SetMask(mask SigSet) {
	mask &^= sigBit(unix.SIGKILL) | sigBit(unix.SIGSTOP)
	f.mask.Store(uint64(mask))
	f.owner.tg.signalfdQueue.Notify(waiter.EventIn)
}

// ReadTask dequeues as many signals as fit in dst (128 bytes each) from t;
// EAGAIN when none is pending.
func (f *SignalFile) ReadTask(t *Task, dst []byte) (int, error) {
	if len(dst) < signalfdInfoSize {
		return 0, unix.EINVAL
	}
	set := SigSet(f.mask.Load())
	n := 0
	for len(dst)-n >= signalfdInfoSize {
		info := t.DequeueSignal(set)
		if info == nil {
			break
		}
		info.encodeSignalfd(dst[n : n+signalfdInfoSize])
		n += signalfdInfoSize
	}
	if n == 0 {
		return 0, unix.EAGAIN
	}
	return n, nil
}

// ReadAt implements vfs.FileImpl.ReadAt for callers without a task (the
// syscall layer reads through ReadTask).
func (f *SignalFile) ReadAt(dst []byte, _ int64) (int, error) { return f.ReadTask(f.owner, dst) }

// WriteAt implements vfs.FileImpl.WriteAt.
func (f *SignalFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }

// Stat implements vfs.FileImpl.Stat.
func (f *SignalFile) Stat() (unix.Stat_t, error) { return f.attr, nil }

// Close implements vfs.FileImpl.Close.
func (f *SignalFile) Close() error { return nil }

// IsStream implements vfs.Streamer.
func (f *SignalFile) IsStream() bool { return true }

// Readiness implements waiter.Waitable.
func (f *SignalFile) Readiness(mask uint32) uint32 {
	if f.owner.PendingSignals()&SigSet(f.mask.Load()) != 0 {
		return waiter.EventIn & mask
	}
	return 0
}

// EventRegister implements waiter.Waitable.
func (f *SignalFile) EventRegister(ch chan struct{}, mask uint32) {
	f.owner.tg.signalfdQueue.EventRegister(ch, mask)
}

// EventUnregister implements waiter.Waitable.
func (f *SignalFile) EventUnregister(ch chan struct{}) {
	f.owner.tg.signalfdQueue.EventUnregister(ch)
}

// signalfdInfoSize is sizeof(struct signalfd_siginfo).
const signalfdInfoSize = 128

// encodeSignalfd writes s as struct signalfd_siginfo, picking the fields
// of the siginfo union its signal and code use.
func (s *SigInfo) encodeSignalfd(b []byte) {
	clear(b)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(s.Signo))
	le.PutUint32(b[4:], uint32(s.Errno))
	le.PutUint32(b[8:], uint32(s.Code))
	u := s.fields[:]
	sig := unix.Signal(s.Signo)
	switch {
	case s.Code > 0 && (sig == unix.SIGSEGV || sig == unix.SIGBUS || sig == unix.SIGILL || sig == unix.SIGFPE || sig == unix.SIGTRAP):
		copy(b[72:80], u[0:8]) // ssi_addr
	case s.Code == SITimer:
		copy(b[24:28], u[0:4])  // ssi_tid
		copy(b[32:36], u[4:8])  // ssi_overrun
		copy(b[44:48], u[8:12]) // ssi_int
		copy(b[48:56], u[8:16]) // ssi_ptr
	case sig == unix.SIGCHLD && s.Code > 0:
		copy(b[12:16], u[0:4])   // ssi_pid
		copy(b[16:20], u[4:8])   // ssi_uid
		copy(b[40:44], u[8:12])  // ssi_status
		copy(b[56:64], u[16:24]) // ssi_utime
		copy(b[64:72], u[24:32]) // ssi_stime
	default:
		copy(b[12:16], u[0:4])  // ssi_pid
		copy(b[16:20], u[4:8])  // ssi_uid
		copy(b[44:48], u[8:12]) // ssi_int
		copy(b[48:56], u[8:16]) // ssi_ptr
	}
}
