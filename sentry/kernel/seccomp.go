package kernel

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/seccomp"
)

// The application's own seccomp filters (seccomp(2), PR_SET_SECCOMP) are
// evaluated by the sentry at every system call entry; see
// sentry/seccomp for the semantics.

// SeccompState returns the task's seccomp state.
func (t *Task) SeccompState() *seccomp.State { return &t.seccomp }

// SeccompCaller returns the task as the seccomp package's Caller.
func (t *Task) SeccompCaller() seccomp.Caller { return seccompCaller{t} }

type seccompCaller struct{ t *Task }

func (c seccompCaller) CopyIn(addr uint64, dst []byte) (int, error)  { return c.t.CopyIn(addr, dst) }
func (c seccompCaller) CopyOut(addr uint64, src []byte) (int, error) { return c.t.CopyOut(addr, src) }
func (c seccompCaller) NoNewPrivs() bool                             { return c.t.NoNewPrivs() }
func (c seccompCaller) NoNewPrivsLocked() bool                       { return c.t.noNewPrivs }
func (c seccompCaller) HasCapSysAdmin() bool                         { return c.t.creds.HasOwnCap(CapSysAdmin) }
func (c seccompCaller) SeccompState() *seccomp.State                 { return &c.t.seccomp }

// LockThreadGroup implements seccomp.Caller: Kernel.mu serialises seccomp
// changes with clone and exec.
func (c seccompCaller) LockThreadGroup(fn func(others []seccomp.Thread)) {
	t := c.t
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	var others []seccomp.Thread
	var unfiltered []*Task
	for o := range t.tg.tasks {
		if o != t && !o.killed {
			others = append(others, seccompThread{o})
			if !o.seccomp.Enabled() {
				unfiltered = append(unfiltered, o)
			}
		}
	}
	fn(others)
	// A thread that got its first filters here (TSYNC) sees them from its
	// next system call on, which its platform may answer without the
	// sentry while the thread runs (platform.LocalYielder): bring it in.
	for _, o := range unfiltered {
		if ctx := o.runningCtx.Load(); ctx != nil && o.seccomp.Enabled() {
			(*ctx).Interrupt()
		}
	}
}

// seccompThread is another thread of the caller's group, used with
// Kernel.mu held.
type seccompThread struct{ t *Task }

func (s seccompThread) TID() int32                   { return s.t.pidns.idLocked(s.t.tid) }
func (s seccompThread) SeccompState() *seccomp.State { return &s.t.seccomp }
func (s seccompThread) SetNoNewPrivs()               { s.t.noNewPrivs = true }

// checkSeccomp applies the task's filters to the system call it is about
// to make. It returns true with the value for rax when the call must not
// run.
func (t *Task) checkSeccomp(nr uint64) (skip bool, ret uint64) {
	args := t.st.Args()
	d := seccomp.NewData(nr, t.st.Regs.Rip, args)
	v := t.seccomp.Check(d)
	if v.Log {
		t.k.Log.Info("seccomp", "pid", t.TGID(), "tid", t.TID(), "nr", d.Nr, "ip", d.InstructionPointer, "action", v.Action.String())
	}
	switch v.Kind {
	case seccomp.VerdictRun:
		return false, 0
	case seccomp.VerdictReturn:
		return true, v.Return
	case seccomp.VerdictTrap:
		b := v.SigInfo(d)
		info := DecodeSigInfo(b[:])
		t.forceSignal(&info)
		// Linux leaves the registers as they were: rax holds the
		// system call number.
		return true, nr
	case seccomp.VerdictKillThread, seccomp.VerdictStrictKill:
		sig := unix.SIGSYS
		if v.Kind == seccomp.VerdictStrictKill {
			sig = unix.SIGKILL
		}
		t.k.mu.Lock()
		if len(t.tg.tasks) > 1 {
			t.killed = true
			t.k.mu.Unlock()
			return true, 0
		}
		t.tg.killLocked(unix.WaitStatus(sig))
		t.k.mu.Unlock()
		return true, 0
	default: // VerdictKillProcess
		t.killGroup(unix.WaitStatus(unix.SIGSYS))
		return true, 0
	}
}
