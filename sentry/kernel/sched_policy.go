package kernel

import (
	"golang.org/x/sys/unix"
)

// Scheduling policies (sched(7)). A task keeps the normal policy it was
// given (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) and SCHED_RESET_ON_FORK,
// which clone applies; programs, /proc and the I/O priority derived from
// the policy see them as on Linux. As with nice values, the host
// schedules the sandbox's threads without them. The real-time policies
// would need the host's CAP_SYS_NICE for the sentry, which a pod does not
// give it: EPERM.

// Policies and flags of sched_setscheduler(2).
const (
	SchedOther       = 0
	SchedFIFO        = 1
	SchedRR          = 2
	SchedBatch       = 3
	SchedIdle        = 5
	SchedResetOnFork = 0x40000000
)

// SchedPolicy implements sched_getscheduler(2): the task's policy, with
// SCHED_RESET_ON_FORK.
func (t *Task) SchedPolicy(pid int32) (int32, error) {
	if pid < 0 {
		return 0, unix.EINVAL
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	target := t.taskOrSelfLocked(pid)
	if target == nil {
		return 0, unix.ESRCH
	}
	policy := target.schedPolicy
	if target.schedResetOnFork {
		policy |= SchedResetOnFork
	}
	return policy, nil
}

// SetSchedPolicy implements sched_setscheduler(2) (policy >= 0) and
// sched_setparam(2) (policy -1: the task's own), with the checks of
// Linux's __sched_setscheduler: a known policy, priority 0 for the normal
// ones (1 to 99 for the real-time ones), and, without CAP_SYS_NICE, a
// task of the caller's user, no leaving SCHED_IDLE past RLIMIT_NICE, and
// no clearing of SCHED_RESET_ON_FORK.
func (t *Task) SetSchedPolicy(pid int32, policy int32, prio int32) error {
	if pid < 0 {
		return unix.EINVAL
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	target := t.taskOrSelfLocked(pid)
	if target == nil {
		return unix.ESRCH
	}
	resetOnFork := target.schedResetOnFork
	if policy < 0 {
		policy = target.schedPolicy
	} else {
		resetOnFork = policy&SchedResetOnFork != 0
		policy &^= SchedResetOnFork
	}
	realTime := false
	switch policy {
	case SchedOther, SchedBatch, SchedIdle:
		if prio != 0 {
			return unix.EINVAL
		}
	case SchedFIFO, SchedRR:
		if prio < 1 || prio > 99 {
			return unix.EINVAL
		}
		realTime = true
	default:
		return unix.EINVAL
	}
	c := &t.creds
	if !c.HasCap(CapSysNice) {
		tc := &target.creds
		// SCHED_IDLE counts as nice 20: leaving it lowers the nice
		// value to the task's own.
		leavesIdle := target.schedPolicy == SchedIdle && policy != SchedIdle &&
			uint64(20-target.nice) > target.tg.limits[unix.RLIMIT_NICE].Cur
		if realTime || leavesIdle || (c.EUID != tc.EUID && c.EUID != tc.UID) ||
			(target.schedResetOnFork && !resetOnFork) {
			return unix.EPERM
		}
	}
	if realTime {
		return unix.EPERM
	}
	target.schedPolicy, target.schedResetOnFork = policy, resetOnFork
	return nil
}

// inheritSchedPolicyLocked gives t, a new task, its parent's policy, as
// Linux's sched_fork: with SCHED_RESET_ON_FORK the child starts without
// the flag, and with nice 0 if its parent's was negative.
//
// Preconditions: k.mu is held.
func (t *Task) inheritSchedPolicyLocked(parent *Task) {
	t.schedPolicy = parent.schedPolicy
	if parent.schedResetOnFork && t.nice < 0 {
		t.nice = 0
	}
}
