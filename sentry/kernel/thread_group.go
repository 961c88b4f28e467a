package kernel

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// ThreadGroup is a process: the tasks sharing a PID, their signal handlers
// and process-directed signals, their place in the process tree, and their
// job-control state. All fields are protected by Kernel.mu unless noted.
type ThreadGroup struct {
	k *Kernel
	// id is the thread group ID (the leader's TID); immutable.
	id int32
	// container is the pod container the process belongs to (nil
	// outside pod mode); set at creation, immutable after.
	container *Container

	leader *Task
	// tasks are the live tasks of the group.
	tasks map[*Task]struct{}

	parent   *ThreadGroup
	children map[*ThreadGroup]struct{}
	// exitSignal is sent to the parent when the group exits (SIGCHLD for
	// fork, the low byte of clone's flags otherwise).
	exitSignal unix.Signal

	pgid, sid int32

	handlers *SignalHandlers
	pending  pendingSignals
	// signalfdQueue wakes signalfd readers and pollers when a signal is
	// queued for the group or one of its tasks.
	signalfdQueue waiter.Queue

	// exiting is set once the group is going away (exit_group, a fatal
	// signal, execve from another thread); exitStatus is its status.
	exiting    bool
	exitStatus unix.WaitStatus
	// zombie is set when every task has exited and the group waits to be
	// reaped by its parent.
	zombie bool
	// reaped is set once the parent collected it (or it was auto-reaped).
	reaped bool

	// stopped is set during a job-control group stop; stopSignal is the
	// signal that caused it.
	stopped    bool
	stopSignal unix.Signal
	// resume is closed when a group stop ends.
	resume chan struct{}
	// stopReported and continuedReported say whether wait has collected
	// the last stop or continue event (WUNTRACED, WCONTINUED).
	stopReported      bool
	continued         bool
	continuedReported bool

	// subreaper is PR_SET_CHILD_SUBREAPER.
	subreaper bool
	// leaderExitCode is the code the leader passed to exit(2).
	leaderExitCode int
	// nextXCPU is the CPU second at which the next SIGXCPU is due.
	nextXCPU uint64
	// didExec is set once the process called execve (setpgid on it from
	// its parent then fails with EACCES).
	didExec bool
	// limits are the process's resource limits.
	limits Limits

	// exitedUserNS and exitedSysNS hold the CPU time of the group's
	// exited tasks; childUserNS and childSysNS that of its reaped
	// children (RUSAGE_CHILDREN).
	exitedUserNS, exitedSysNS int64
	childUserNS, childSysNS   int64

	cpuTimersState

	// itimerReal is ITIMER_REAL; timers are the POSIX timers by ID.
	itimerReal *IntervalTimer
	timers     map[int32]*IntervalTimer

	// childEvent is closed and replaced whenever a child changes state,
	// waking the group's tasks blocked in wait4/waitid.
	childEvent chan struct{}
	// exited is closed when the group has exited (zombie or reaped);
	// exitQueue wakes pidfd pollers then.
	exited    chan struct{}
	exitQueue waiter.Queue
}

func (k *Kernel) newThreadGroup(id int32, parent *ThreadGroup, handlers *SignalHandlers, limits Limits) *ThreadGroup {
	tg := &ThreadGroup{
		k:          k,
		id:         id,
		tasks:      make(map[*Task]struct{}),
		parent:     parent,
		children:   make(map[*ThreadGroup]struct{}),
		exitSignal: unix.SIGCHLD,
		handlers:   handlers,
		limits:     limits,
		childEvent: make(chan struct{}),
		exited:     make(chan struct{}),
	}
	if parent != nil {
		parent.children[tg] = struct{}{}
		tg.pgid, tg.sid = parent.pgid, parent.sid
	} else {
		tg.pgid, tg.sid = id, id
	}
	k.threadGroups[id] = tg
	return tg
}

// ID returns the thread group ID.
func (tg *ThreadGroup) ID() int32 { return tg.id }

// notifyChildEventLocked wakes the group's waiters in wait4.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) notifyChildEventLocked() {
	close(tg.childEvent)
	tg.childEvent = make(chan struct{})
}

// isInitLocked reports whether tg is the PID namespace's init: PID 1,
// or in pod mode its container's init (containers share one PID space,
// but each init keeps init's protections and duties for its container).
func (tg *ThreadGroup) isInitLocked() bool {
	if c := tg.container; c != nil {
		return c.init == tg
	}
	return tg.id == 1
}

// IsInit reports whether tg is an init: the sandbox's PID 1, or a pod
// container's init.
func (k *Kernel) IsInit(tg *ThreadGroup) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.isInitLocked()
}

// reaperLocked returns the group orphans of tg are reparented to: the
// nearest subreaper ancestor, else init (its container's in pod mode).
func (tg *ThreadGroup) reaperLocked() *ThreadGroup {
	for p := tg.parent; p != nil; p = p.parent {
		if p.subreaper && !p.exiting {
			return p
		}
	}
	init := tg.k.threadGroups[1]
	if c := tg.container; c != nil {
		init = c.init
	}
	if init != nil && init != tg && !init.exiting {
		return init
	}
	return nil
}

// ParentID returns the ID of tg's parent, 0 for init or an orphan of the
// namespace.
func (k *Kernel) ParentID(tg *ThreadGroup) int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if tg.parent == nil {
		return 0
	}
	return tg.parent.id
}

// ProcessGroup returns tg's process group and session IDs.
func (k *Kernel) ProcessGroup(tg *ThreadGroup) (pgid, sid int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.pgid, tg.sid
}

// SetSID makes tg the leader of a new session and process group
// (setsid(2)); EPERM if it already leads a process group.
func (k *Kernel) SetSID(tg *ThreadGroup) (int32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, other := range k.threadGroups {
		if other.pgid == tg.id {
			return 0, unix.EPERM
		}
	}
	tg.pgid, tg.sid = tg.id, tg.id
	return tg.id, nil
}

// SetPGID implements setpgid(2) from caller for process pid (0: caller)
// into group pgid (0: its own ID), with Linux's checks.
func (k *Kernel) SetPGID(caller *ThreadGroup, pid, pgid int32) error {
	if pid < 0 || pgid < 0 {
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	target := caller
	if pid != 0 && pid != caller.id {
		target = k.threadGroups[pid]
		if target == nil || target.zombie {
			return unix.ESRCH
		}
		if target.parent != caller {
			return unix.ESRCH
		}
		if target.sid != caller.sid {
			return unix.EPERM
		}
		if target.didExec {
			return unix.EACCES
		}
	}
	if pgid == 0 {
		pgid = target.id
	}
	if target.sid == target.id {
		// A session leader cannot move.
		return unix.EPERM
	}
	if pgid != target.id {
		found := false
		for _, other := range k.threadGroups {
			if other.pgid == pgid && other.sid == caller.sid {
				found = true
				break
			}
		}
		if !found {
			return unix.EPERM
		}
	}
	target.pgid = pgid
	return nil
}

// ThreadGroupsInPGID returns the live processes of process group pgid.
func (k *Kernel) ThreadGroupsInPGID(pgid int32) []*ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []*ThreadGroup
	for _, tg := range k.threadGroups {
		if tg.pgid == pgid && !tg.zombie {
			out = append(out, tg)
		}
	}
	return out
}

// AllThreadGroups returns every live process.
func (k *Kernel) AllThreadGroups() []*ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []*ThreadGroup
	for _, tg := range k.threadGroups {
		if !tg.zombie {
			out = append(out, tg)
		}
	}
	return out
}

// SetSubreaper sets or clears PR_SET_CHILD_SUBREAPER.
func (k *Kernel) SetSubreaper(tg *ThreadGroup, on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tg.subreaper = on
}

// Subreaper reports PR_GET_CHILD_SUBREAPER.
func (k *Kernel) Subreaper(tg *ThreadGroup) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.subreaper
}
