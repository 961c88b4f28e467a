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
	// settle tracks the start-up of a process the daemon started (nil
	// for others); set at creation, immutable after.
	settle *processSettle
	// pidns is the PID namespace the process lives in; immutable.
	pidns *PIDNamespace

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
	// maxRSS and childMaxRSS are the peak resident set sizes, in pages,
	// of the address spaces the group left and of its reaped children
	// (Linux's signal->maxrss and cmaxrss; maxrss.go).
	maxRSS, childMaxRSS uint64
	// exitedFaults are the page faults of the group's exited tasks,
	// childFaults those of its reaped children and their descendants
	// (page_faults.go).
	exitedFaults, childFaults faultCounts

	cpuTimersState
	oomState

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

// newThreadGroup returns a process with ID id (a root ID allocated in ns)
// and counts it in ns; the first process of a namespace is its init.
//
// Preconditions: k.mu is held.
func (k *Kernel) newThreadGroup(id int32, ns *PIDNamespace, parent *ThreadGroup, handlers *SignalHandlers, limits Limits) *ThreadGroup {
	tg := &ThreadGroup{
		k:          k,
		id:         id,
		pidns:      ns,
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
	tg.startCPUTickLocked()
	k.threadGroups[id] = tg
	tg.threadGroupAddedLocked()
	if !ns.isRoot() && ns.init == nil && ns.idLocked(id) == 1 {
		ns.init = tg
	}
	return tg
}

// ID returns the thread group ID in the root PID namespace (the daemon's
// view; see Task.IDOfThreadGroup for a task's).
func (tg *ThreadGroup) ID() int32 { return tg.id }

// notifyChildEventLocked wakes the group's waiters in wait4.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) notifyChildEventLocked() {
	close(tg.childEvent)
	tg.childEvent = make(chan struct{})
}

// isInitLocked reports whether tg is its PID namespace's init: the
// sandbox's PID 1, a pod container's init, or the first process of a
// namespace made by clone or unshare.
func (tg *ThreadGroup) isInitLocked() bool {
	return tg.pidns.init == tg
}

// IsInit reports whether tg is the init of its PID namespace.
func (k *Kernel) IsInit(tg *ThreadGroup) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.isInitLocked()
}

// reaperLocked returns the group orphans of tg are reparented to: the
// nearest subreaper ancestor in tg's PID namespace, else the namespace's
// init; nil when init itself exits (its orphans are reaped as they exit).
func (tg *ThreadGroup) reaperLocked() *ThreadGroup {
	for p := tg.parent; p != nil && p.pidns == tg.pidns; p = p.parent {
		if p.subreaper && !p.exiting {
			return p
		}
	}
	init := tg.pidns.init
	if init != nil && init != tg && !init.exiting {
		return init
	}
	return nil
}

// ProcessGroup returns tg's process group and session IDs in the root PID
// namespace.
func (k *Kernel) ProcessGroup(tg *ThreadGroup) (pgid, sid int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.pgid, tg.sid
}

// SetSID makes tg the leader of a new session and process group
// (setsid(2)) and returns its root ID; EPERM if it already leads a
// process group.
func (k *Kernel) SetSID(tg *ThreadGroup) (int32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, other := range k.threadGroups {
		if other.pgid == tg.id {
			return 0, unix.EPERM
		}
	}
	oldPGID, oldSID := tg.pgid, tg.sid
	tg.pgid, tg.sid = tg.id, tg.id
	k.releaseIDLocked(oldPGID)
	k.releaseIDLocked(oldSID)
	return tg.id, nil
}

// SetPGID implements setpgid(2) from t for process pid (0: the caller)
// into group pgid (0: its own ID), both IDs of t's PID namespace, with
// Linux's checks.
func (t *Task) SetPGID(pid, pgid int32) error {
	if pid < 0 || pgid < 0 {
		return unix.EINVAL
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	caller := t.tg
	ns := t.pidns
	target := caller
	if pid != 0 && pid != ns.idLocked(caller.id) {
		target = ns.lookupThreadGroupLocked(pid)
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
	root := target.id
	if pgid != 0 {
		var ok bool
		if root, ok = ns.rootLocked(pgid); !ok {
			// No group of that ID in the caller's namespace.
			return unix.EPERM
		}
	}
	if target.sid == target.id {
		// A session leader cannot move.
		return unix.EPERM
	}
	if root != target.id {
		found := false
		for _, other := range k.threadGroups {
			if other.pgid == root && other.sid == caller.sid {
				found = true
				break
			}
		}
		if !found {
			return unix.EPERM
		}
	}
	old := target.pgid
	target.pgid = root
	k.releaseIDLocked(old)
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
