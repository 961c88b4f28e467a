package kernel

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
)

// Terminals: the kernel's half of job control. A session has at most one
// controlling terminal, kept here by session ID; devpts asks the calling
// task about its session and process group through the JobControl the
// task provides.

// ErrJobControlStop is what devpts returns when it stopped the caller's
// process group with SIGTTIN or SIGTTOU: the syscall restarts after the
// group is continued.
var errJobControlStop = devpts.ErrJobControlStop

// IsJobControlStop reports whether err is devpts' job-control stop, and
// the errno the syscall should return in its place.
func IsJobControlStop(err error) (unix.Errno, bool) {
	if err == errJobControlStop {
		return ERESTARTSYS, true
	}
	return 0, false
}

// SignalProcessGroup sends sig from the kernel to every process of pgid
// (kill_pgrp with priv set: terminal-generated signals).
func (k *Kernel) SignalProcessGroup(pgid int32, sig unix.Signal) {
	for _, tg := range k.ThreadGroupsInPGID(pgid) {
		info := &SigInfo{Signo: int32(sig), Code: SIKernel}
		k.SendGroupSignal(tg, info)
	}
}

// TerminalHooks returns the hooks a devpts instance needs from the kernel.
func (k *Kernel) TerminalHooks() devpts.Hooks {
	return devpts.Hooks{
		SignalProcessGroup: k.SignalProcessGroup,
		HangUp: func(sid int32, tty *devpts.TTY) {
			k.mu.Lock()
			if k.sessionTTY[sid] == tty {
				delete(k.sessionTTY, sid)
			}
			leader := k.threadGroups[sid]
			k.mu.Unlock()
			if leader != nil {
				k.SendGroupSignal(leader, &SigInfo{Signo: int32(unix.SIGHUP), Code: SIKernel})
				k.SendGroupSignal(leader, &SigInfo{Signo: int32(unix.SIGCONT), Code: SIKernel})
			}
		},
	}
}

// JobControl returns t's view of its session for devpts.
func (t *Task) JobControl() devpts.JobControl { return taskJobControl{t} }

// ControllingTTY returns the controlling terminal of t's session, or nil.
func (t *Task) ControllingTTY() *devpts.TTY {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sessionTTY[t.tg.sid]
}

// releaseSessionTTYLocked forgets the terminal of a session whose leader
// exits and returns it, so the caller can hang it up without k.mu.
func (tg *ThreadGroup) releaseSessionTTYLocked() *devpts.TTY {
	if tg.sid != tg.id {
		return nil
	}
	tty := tg.k.sessionTTY[tg.sid]
	delete(tg.k.sessionTTY, tg.sid)
	return tty
}

// taskJobControl implements devpts.JobControl for a task.
type taskJobControl struct{ t *Task }

func (j taskJobControl) SessionID() int32 {
	_, sid := j.t.k.ProcessGroup(j.t.tg)
	return sid
}

func (j taskJobControl) ProcessGroupID() int32 {
	pgid, _ := j.t.k.ProcessGroup(j.t.tg)
	return pgid
}

func (j taskJobControl) IsSessionLeader() bool {
	_, sid := j.t.k.ProcessGroup(j.t.tg)
	return sid == j.t.tg.id
}

func (j taskJobControl) ControllingTTY() any {
	if tty := j.t.ControllingTTY(); tty != nil {
		return tty
	}
	return nil
}

func (j taskJobControl) SetControllingTTY(tty any) {
	k := j.t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	sid := j.t.tg.sid
	if t, ok := tty.(*devpts.TTY); ok && t != nil {
		if k.sessionTTY == nil {
			k.sessionTTY = make(map[int32]*devpts.TTY)
		}
		k.sessionTTY[sid] = t
		return
	}
	delete(k.sessionTTY, sid)
}

func (j taskJobControl) ClearControllingTTY(sid int32, tty any) {
	k := j.t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := tty.(*devpts.TTY); ok && k.sessionTTY[sid] == t {
		delete(k.sessionTTY, sid)
	}
}

func (j taskJobControl) ProcessGroupSession(pgid int32) (int32, bool) {
	k := j.t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, tg := range k.threadGroups {
		if tg.pgid == pgid && !tg.zombie {
			return tg.sid, true
		}
	}
	return 0, false
}

func (j taskJobControl) SignalProcessGroup(pgid int32, sig unix.Signal) {
	j.t.k.SignalProcessGroup(pgid, sig)
}

func (j taskJobControl) SignalIgnoredOrBlocked(sig unix.Signal) bool {
	t := j.t
	if t.SigMask()&sigBit(sig) != 0 {
		return true
	}
	act, err := t.SigAction(sig, nil)
	return err == nil && act.Handler == SigIgn
}

// ProcessGroupOrphaned implements Linux's is_current_pgrp_orphaned: no
// member has a parent in another process group of the same session.
func (j taskJobControl) ProcessGroupOrphaned() bool {
	k := j.t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	pgid, sid := j.t.tg.pgid, j.t.tg.sid
	for _, tg := range k.threadGroups {
		if tg.pgid != pgid || tg.zombie || tg.exiting {
			continue
		}
		if p := tg.parent; p != nil && p.pgid != pgid && p.sid == sid {
			return false
		}
	}
	return true
}

// PIDToUser implements devpts.PIDTranslator.
func (j taskJobControl) PIDToUser(id int32) int32 { return j.t.IDOfRoot(id) }

// PIDFromUser implements devpts.PIDTranslator.
func (j taskJobControl) PIDFromUser(id int32) (int32, bool) { return j.t.RootOf(id) }

func (j taskJobControl) HasCapSysAdmin() bool { return j.t.creds.HasCap(CapSysAdmin) }
