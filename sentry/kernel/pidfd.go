package kernel

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// PIDFD is the file behind a pidfd: it names a process and becomes
// readable when the process exits.
type PIDFD struct {
	tg   *ThreadGroup
	attr unix.Stat_t
}

// NewPIDFD returns a pidfd file for the process with ID pid in namespace
// ns, which must be a thread-group leader.
func (k *Kernel) NewPIDFD(ns *PIDNamespace, pid int32, flags int) (*vfs.File, error) {
	k.mu.Lock()
	tg := ns.lookupThreadGroupLocked(pid)
	if tg == nil || tg.zombie {
		thread := ns.lookupTaskLocked(pid) != nil
		k.mu.Unlock()
		if thread {
			return nil, unix.ENOENT // a thread, not a process
		}
		return nil, unix.ESRCH
	}
	k.mu.Unlock()
	p := &PIDFD{tg: tg, attr: synth.Attr(synth.NewIno(), 0o600, 0)}
	return vfs.NewFile(p, nil, unix.O_RDWR|flags&unix.O_NONBLOCK), nil
}

// ThreadGroup returns the process the pidfd names.
func (p *PIDFD) ThreadGroup() *ThreadGroup { return p.tg }

func (*PIDFD) IsStream() bool                             { return true }
func (*PIDFD) ReadAt([]byte, int64) (int, error)          { return 0, unix.EINVAL }
func (*PIDFD) WriteAt([]byte, int64) (int, error)         { return 0, unix.EINVAL }
func (p *PIDFD) Stat() (unix.Stat_t, error)               { return p.attr, nil }
func (*PIDFD) Close() error                               { return nil }
func (p *PIDFD) EventRegister(ch chan struct{}, m uint32) { p.tg.exitQueue.EventRegister(ch, m) }
func (p *PIDFD) EventUnregister(ch chan struct{})         { p.tg.exitQueue.EventUnregister(ch) }

// Readiness implements waiter.Waitable: readable once the process exited.
func (p *PIDFD) Readiness(mask uint32) uint32 {
	select {
	case <-p.tg.exited:
		return (waiter.EventIn | waiter.EventHUp) & mask
	default:
		return 0
	}
}

// GetFD implements pidfd_getfd: a new reference to the process's file at
// fd, if the caller may access the process.
func (t *Task) GetFD(p *PIDFD, fd int32) (*vfs.File, error) {
	k := t.k
	k.mu.Lock()
	var target *Task
	if l := p.tg.leader; l != nil {
		if _, live := p.tg.tasks[l]; live {
			target = l
		}
	}
	if target == nil {
		for task := range p.tg.tasks {
			target = task
			break
		}
	}
	k.mu.Unlock()
	if target == nil {
		return nil, unix.ESRCH
	}
	if !t.creds.HasCap(19 /* CAP_SYS_PTRACE */) && t.creds.UID != target.creds.UID {
		return nil, unix.EPERM
	}
	f, ok := target.fds.Get(fd)
	if !ok {
		return nil, unix.EBADF
	}
	return f, nil
}
