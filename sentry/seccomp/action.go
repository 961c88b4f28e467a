package seccomp

import "fmt"

// Action is the action part of a filter result (ret & SECCOMP_RET_ACTION_FULL).
type Action uint32

// Actions (SECCOMP_RET_*), from the most restrictive to the least. Linux
// orders actions by their value as a signed 32-bit integer: the smaller
// wins.
const (
	ActionKillProcess Action = 0x80000000
	ActionKillThread  Action = 0x00000000
	ActionTrap        Action = 0x00030000
	ActionErrno       Action = 0x00050000
	ActionUserNotif   Action = 0x7fc00000
	ActionTrace       Action = 0x7ff00000
	ActionLog         Action = 0x7ffc0000
	ActionAllow       Action = 0x7fff0000
)

// Masks of a filter result.
const (
	RetActionFull = 0xffff0000 // SECCOMP_RET_ACTION_FULL
	RetAction     = 0x7fff0000 // SECCOMP_RET_ACTION (legacy, without KILL_PROCESS's bit)
	RetData       = 0x0000ffff // SECCOMP_RET_DATA
)

// Full 32-bit results without data, for filters written in Go.
const (
	RetKillProcess = uint32(ActionKillProcess)
	RetKillThread  = uint32(ActionKillThread)
	RetTrap        = uint32(ActionTrap)
	RetErrno       = uint32(ActionErrno)
	RetUserNotif   = uint32(ActionUserNotif)
	RetTrace       = uint32(ActionTrace)
	RetLog         = uint32(ActionLog)
	RetAllow       = uint32(ActionAllow)
)

// MaxErrno is MAX_ERRNO: SECCOMP_RET_ERRNO data above it is capped to it.
const MaxErrno = 4095

// ParseRet splits a filter result into its action and its data.
func ParseRet(ret uint32) (Action, uint16) {
	return Action(ret & RetActionFull), uint16(ret & RetData)
}

// Ret returns the filter result of action a with data.
func (a Action) Ret(data uint16) uint32 { return uint32(a)&RetActionFull | uint32(data) }

// MoreRestrictive reports whether a takes precedence over b when two
// filters disagree (Linux compares the actions as signed integers).
func (a Action) MoreRestrictive(b Action) bool { return int32(a) < int32(b) }

// Known reports whether a is one of the eight actions Linux defines.
func (a Action) Known() bool {
	switch a {
	case ActionKillProcess, ActionKillThread, ActionTrap, ActionErrno,
		ActionUserNotif, ActionTrace, ActionLog, ActionAllow:
		return true
	}
	return false
}

// Effective returns the action Linux takes for a: itself when known, and
// SECCOMP_RET_KILL_PROCESS for an unknown value (__seccomp_filter treats
// those as its default case, a kill with a core dump of the process).
func (a Action) Effective() Action {
	if a.Known() {
		return a
	}
	return ActionKillProcess
}

// String returns the action's name as in
// /proc/sys/kernel/seccomp/actions_avail.
func (a Action) String() string {
	switch a {
	case ActionKillProcess:
		return "kill_process"
	case ActionKillThread:
		return "kill_thread"
	case ActionTrap:
		return "trap"
	case ActionErrno:
		return "errno"
	case ActionUserNotif:
		return "user_notif"
	case ActionTrace:
		return "trace"
	case ActionLog:
		return "log"
	case ActionAllow:
		return "allow"
	}
	return fmt.Sprintf("action(%#x)", uint32(a))
}

// ParseAction returns the action named s (an actions_avail name, or
// "kill", Linux's old name of kill_thread).
func ParseAction(s string) (Action, bool) {
	switch s {
	case "kill_process":
		return ActionKillProcess, true
	case "kill_thread", "kill":
		return ActionKillThread, true
	case "trap":
		return ActionTrap, true
	case "errno":
		return ActionErrno, true
	case "user_notif":
		return ActionUserNotif, true
	case "trace":
		return ActionTrace, true
	case "log":
		return ActionLog, true
	case "allow":
		return ActionAllow, true
	}
	return 0, false
}

// Available reports whether SECCOMP_GET_ACTION_AVAIL reports a as
// supported by the sentry: every Linux action except
// SECCOMP_RET_USER_NOTIF, since the sentry has no notification listeners
// (filters may still return it: the call then fails with ENOSYS, as on
// Linux when no listener is attached).
func (a Action) Available() bool { return a.Known() && a != ActionUserNotif }

// ActionsAvail is the content of /proc/sys/kernel/seccomp/actions_avail
// for the sentry.
const ActionsAvail = "kill_process kill_thread trap errno trace log allow"
