package devpts

import (
	"errors"

	"golang.org/x/sys/unix"
)

// ErrJobControlStop is returned when a background process group touched
// its controlling terminal and was sent SIGTTIN or SIGTTOU: the syscall
// layer maps it to ERESTARTSYS, so the call is restarted once the group is
// continued (Linux's -ERESTARTSYS from tty_check_change).
var ErrJobControlStop = errors.New("devpts: background process group stopped by job control")

// JobControl is the calling task as the terminal's job control sees it;
// the sentry kernel implements it for the task making a read, write or
// ioctl and passes it to File.ReadTask, File.WriteTask, File.IoctlTask
// and File.SetControllingTTYOnOpen. Its methods are called without any
// terminal lock held.
type JobControl interface {
	// SessionID returns the caller's session ID.
	SessionID() int32
	// ProcessGroupID returns the caller's process group ID.
	ProcessGroupID() int32
	// IsSessionLeader reports whether the caller leads its session.
	IsSessionLeader() bool
	// ControllingTTY returns the caller's controlling terminal as set by
	// SetControllingTTY (a *TTY here), nil if it has none.
	ControllingTTY() any
	// SetControllingTTY makes tty (a *TTY) the caller's controlling
	// terminal; nil removes it from the caller only.
	SetControllingTTY(tty any)
	// ClearControllingTTY removes tty as the controlling terminal of
	// every process of session sid (Linux's session_clear_tty: a stolen
	// terminal, TIOCNOTTY from a session leader).
	ClearControllingTTY(sid int32, tty any)
	// ProcessGroupSession returns the session of process group pgid, and
	// false when no such group exists.
	ProcessGroupSession(pgid int32) (sid int32, ok bool)
	// SignalProcessGroup sends sig to every process of group pgid
	// (kill_pgrp with no permission checks).
	SignalProcessGroup(pgid int32, sig unix.Signal)
	// SignalIgnoredOrBlocked reports whether the caller blocks or ignores
	// sig (Linux's is_ignored).
	SignalIgnoredOrBlocked(sig unix.Signal) bool
	// ProcessGroupOrphaned reports whether the caller's process group is
	// orphaned (is_current_pgrp_orphaned).
	ProcessGroupOrphaned() bool
	// HasCapSysAdmin reports whether the caller has CAP_SYS_ADMIN.
	HasCapSysAdmin() bool
}

// PIDTranslator is implemented by a JobControl whose caller may live in a
// PID namespace of its own: the process group and session IDs JobControl
// returns and the terminal keeps are the kernel's (its root namespace's),
// and the ioctls that show or take one (TIOCGPGRP, TIOCGSID, TIOCSPGRP)
// translate them through the caller's namespace.
type PIDTranslator interface {
	// PIDToUser returns the caller's number for a kernel ID, 0 if the
	// caller cannot see it.
	PIDToUser(id int32) int32
	// PIDFromUser returns the kernel ID of the caller's number id.
	PIDFromUser(id int32) (int32, bool)
}

// pidToUser translates a kernel ID for jc's caller.
func pidToUser(jc JobControl, id int32) int32 {
	if tr, ok := jc.(PIDTranslator); ok && id > 0 {
		return tr.PIDToUser(id)
	}
	return id
}

// isCTTY reports whether t is jc's controlling terminal.
func (t *TTY) isCTTY(jc JobControl) bool {
	c, ok := jc.ControllingTTY().(*TTY)
	return ok && c == t
}

// checkChange is Linux's tty_check_change (__tty_check_change with sig):
// a process of a background group that uses its controlling terminal gets
// sig sent to its group and ErrJobControlStop, or EIO when it ignores or
// blocks SIGTTIN or its group is orphaned; one that ignores or blocks
// SIGTTOU may go on.
func (t *TTY) checkChange(jc JobControl, sig unix.Signal) error {
	if jc == nil || !t.isCTTY(jc) {
		return nil
	}
	fg := t.ForegroundProcessGroup()
	pg := jc.ProcessGroupID()
	if fg == 0 || pg == fg {
		return nil
	}
	if jc.SignalIgnoredOrBlocked(sig) {
		if sig == unix.SIGTTIN {
			return unix.EIO
		}
		return nil
	}
	if jc.ProcessGroupOrphaned() {
		return unix.EIO
	}
	jc.SignalProcessGroup(pg, sig)
	return ErrJobControlStop
}
