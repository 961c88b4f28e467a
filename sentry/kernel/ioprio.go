package kernel

import (
	"golang.org/x/sys/unix"
)

// I/O priorities (ioprio_set(2), ioprio_get(2)).
//
// A task's I/O priority lives in its I/O context, which clone copies, or
// shares with CLONE_IO. The sandbox's file I/O goes through the host
// without priorities, as Linux's does under an I/O scheduler that ignores
// them (none, mq-deadline): the value is checked, kept and shown as Linux
// would, so that programs (ionice, backup scripts) run as they do there.

// I/O priority classes and targets (include/uapi/linux/ioprio.h).
const (
	ioprioClassShift = 13
	ioprioClassNone  = 0
	ioprioClassRT    = 1
	ioprioClassBE    = 2
	ioprioClassIdle  = 3

	ioprioWhoProcess = 1
	ioprioWhoPgrp    = 2
	ioprioWhoUser    = 3
)

// ioContext is a task's I/O context; Task.io points to it once the task
// or one it was cloned from set a priority. Its fields are protected by
// Kernel.mu.
type ioContext struct {
	// prio is the priority as set: class, hints and level, in the 16
	// bits Linux keeps.
	prio uint16
}

// ioprioClass returns the class of an I/O priority, as Linux reads it from
// the int it is given (IOPRIO_PRIO_CLASS).
func ioprioClass(prio int32) int32 { return (prio >> ioprioClassShift) & 7 }

// checkIOPriority validates a priority as Linux's ioprio_check_cap: a
// known class (the real-time one needs CAP_SYS_ADMIN or CAP_SYS_NICE),
// and no level with the class "none"; hint bits are kept.
func (t *Task) checkIOPriority(prio int32) error {
	switch ioprioClass(prio) {
	case ioprioClassRT:
		if !t.creds.HasCap(CapSysAdmin) && !t.creds.HasCap(CapSysNice) {
			return unix.EPERM
		}
	case ioprioClassBE, ioprioClassIdle:
	case ioprioClassNone:
		if prio&7 != 0 {
			return unix.EINVAL
		}
	default:
		return unix.EINVAL
	}
	return nil
}

// ioPriorityTargetsLocked returns the tasks ioprio_set and ioprio_get
// apply to: a thread, the threads of a process group, or those of a user.
// Unlike getpriority's, IOPRIO_WHO_USER's who 0 is user 0, not the
// caller's (Linux's ioprio_get and ioprio_set take who as the user ID).
//
// Preconditions: k.mu is held.
func (t *Task) ioPriorityTargetsLocked(which int, who int32) ([]*Task, error) {
	switch which {
	case ioprioWhoProcess:
		return t.priorityTargetsLocked(unix.PRIO_PROCESS, who)
	case ioprioWhoPgrp:
		return t.priorityTargetsLocked(unix.PRIO_PGRP, who)
	case ioprioWhoUser:
		uid, ok := t.creds.UserNamespace().KUID(uint32(who))
		if !ok {
			return nil, nil
		}
		return t.visibleTasksLocked(func(other *Task) bool { return other.creds.UID == uid }), nil
	}
	return nil, unix.EINVAL
}

// rawIOPriorityLocked is the priority the task's context holds (0, class
// "none", without one).
//
// Preconditions: k.mu is held.
func (t *Task) rawIOPriorityLocked() int32 {
	if t.io == nil {
		return 0
	}
	return int32(t.io.prio)
}

// effectiveIOPriorityLocked is the priority the task's I/O gets: the one
// set, or without a class one derived from its scheduling policy (idle
// for SCHED_IDLE, else best effort; the sandbox has no real-time tasks)
// and nice value (task_nice_ioclass, task_nice_ioprio).
//
// Preconditions: k.mu is held.
func (t *Task) effectiveIOPriorityLocked() int32 {
	prio := t.rawIOPriorityLocked()
	if ioprioClass(prio) == ioprioClassNone {
		class := int32(ioprioClassBE)
		if t.schedPolicy == SchedIdle {
			class = ioprioClassIdle
		}
		prio = class<<ioprioClassShift | (t.nice+20)/5
	}
	return prio
}

// SetIOPriority implements ioprio_set(2). Setting another user's task
// needs CAP_SYS_NICE (EPERM), which stops a process group or user at that
// task, as Linux's does.
func (t *Task) SetIOPriority(which int, who int32, prio int32) error {
	if err := t.checkIOPriority(prio); err != nil {
		return err
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	targets, err := t.ioPriorityTargetsLocked(which, who)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return unix.ESRCH
	}
	c := &t.creds
	for _, target := range targets {
		tc := &target.creds
		if tc.UID != c.EUID && tc.UID != c.UID && !c.HasCap(CapSysNice) {
			return unix.EPERM
		}
		if target.io == nil {
			target.io = &ioContext{}
		}
		target.io.prio = uint16(prio)
	}
	return nil
}

// IOPriority implements ioprio_get(2): a thread's priority as set, or the
// highest (lowest value) of the effective priorities of a process group's
// or a user's threads.
func (t *Task) IOPriority(which int, who int32) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	targets, err := t.ioPriorityTargetsLocked(which, who)
	if err != nil {
		return 0, err
	}
	if len(targets) == 0 {
		return 0, unix.ESRCH
	}
	if which == ioprioWhoProcess {
		return targets[0].rawIOPriorityLocked(), nil
	}
	best := targets[0].effectiveIOPriorityLocked()
	for _, target := range targets[1:] {
		best = min(best, target.effectiveIOPriorityLocked())
	}
	return best, nil
}

// inheritIOContextLocked gives t, a new task, its I/O context, as Linux's
// copy_io: its parent's own with CLONE_IO, or a copy of it when it holds
// a priority with a class.
//
// Preconditions: k.mu is held.
func (t *Task) inheritIOContextLocked(parent *Task, flags uint64) {
	switch {
	case parent.io == nil:
	case flags&unix.CLONE_IO != 0:
		t.io = parent.io
	case ioprioClass(int32(parent.io.prio)) != ioprioClassNone:
		t.io = &ioContext{prio: parent.io.prio}
	}
}
