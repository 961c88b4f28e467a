package kernel

import (
	"golang.org/x/sys/unix"
)

// Nice values (getpriority(2), setpriority(2)). Each task has its own,
// which clone copies; /proc shows it. The sentry's tasks run on host
// threads the host schedules, so a nice value does not change how much CPU
// a task gets; programs still see what Linux would show them.

// Nice value bounds.
const (
	minNice = -20
	maxNice = 19
)

// priorityTargetsLocked returns the tasks setpriority and getpriority
// apply to: a thread (PRIO_PROCESS), every thread of a process group's
// processes (PRIO_PGRP) or of a real user ID's (PRIO_USER), who 0 meaning
// the caller's own; IDs are the caller's namespace's.
//
// Preconditions: k.mu is held.
func (t *Task) priorityTargetsLocked(which int, who int32) ([]*Task, error) {
	switch which {
	case unix.PRIO_PROCESS:
		if target := t.taskOrSelfLocked(who); target != nil {
			return []*Task{target}, nil
		}
		return nil, nil
	case unix.PRIO_PGRP:
		pgid := t.tg.pgid
		if who != 0 {
			root, ok := t.pidns.rootLocked(who)
			if !ok {
				return nil, nil
			}
			pgid = root
		}
		return t.visibleTasksLocked(func(other *Task) bool { return other.tg.pgid == pgid }), nil
	case unix.PRIO_USER:
		uid := t.creds.UID
		if who != 0 {
			kuid, ok := t.creds.UserNamespace().KUID(uint32(who))
			if !ok {
				return nil, nil
			}
			uid = kuid
		}
		return t.visibleTasksLocked(func(other *Task) bool { return other.creds.UID == uid }), nil
	}
	return nil, unix.EINVAL
}

// taskOrSelfLocked returns the task with thread ID id in t's namespace, t
// itself for 0, or nil, as the system calls that take "0 for the caller"
// look their target up.
//
// Preconditions: k.mu is held.
func (t *Task) taskOrSelfLocked(id int32) *Task {
	if id == 0 {
		return t
	}
	return t.pidns.lookupTaskLocked(id)
}

// visibleTasksLocked returns the tasks of t's PID namespace (and those
// below it) that match.
//
// Preconditions: k.mu is held.
func (t *Task) visibleTasksLocked(match func(*Task) bool) []*Task {
	var out []*Task
	for _, other := range t.k.tasks {
		if match(other) && t.pidns.canSeeLocked(other.tid) {
			out = append(out, other)
		}
	}
	return out
}

// Priority implements getpriority(2): the lowest nice value among the
// targets.
func (t *Task) Priority(which int, who int32) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	targets, err := t.priorityTargetsLocked(which, who)
	if err != nil {
		return 0, err
	}
	if len(targets) == 0 {
		return 0, unix.ESRCH
	}
	nice := int32(maxNice)
	for _, target := range targets {
		nice = min(nice, target.nice)
	}
	return nice, nil
}

// SetPriority implements setpriority(2), as Linux's set_one_prio: a target
// another user owns needs CAP_SYS_NICE (EPERM), and lowering a nice value
// past what RLIMIT_NICE allows needs it too (EACCES).
func (t *Task) SetPriority(which int, who int32, nice int32) error {
	nice = max(minNice, min(maxNice, nice))
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	targets, err := t.priorityTargetsLocked(which, who)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return unix.ESRCH
	}
	c := &t.creds
	// RLIMIT_NICE's ceiling is 20 - nice.
	rlimitAllows := uint64(20-nice) <= t.tg.limits[unix.RLIMIT_NICE].Cur
	for _, target := range targets {
		tc := &target.creds
		if c.EUID != tc.UID && c.EUID != tc.EUID && !c.HasCapIn(tc.UserNamespace(), CapSysNice) {
			err = unix.EPERM
			continue
		}
		if nice < target.nice && !rlimitAllows && !c.HasCap(CapSysNice) {
			err = unix.EACCES
			continue
		}
		target.nice = nice
	}
	return err
}
