package kernel

import "time"

// CPUTime returns the task's user and system time.
func (t *Task) CPUTime() (user, sys time.Duration) {
	return time.Duration(t.userNS.Load()), time.Duration(t.sysNS.Load())
}

// cpuTimeLocked returns the group's user and system time in nanoseconds:
// its live tasks' and its exited tasks'.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) cpuTimeLocked() (user, sys int64) {
	user, sys = tg.exitedUserNS, tg.exitedSysNS
	for t := range tg.tasks {
		user += t.userNS.Load()
		sys += t.sysNS.Load()
	}
	return user, sys
}

// ProcessCPUTime returns the user and system time of the task's process.
func (t *Task) ProcessCPUTime() (user, sys time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	u, s := t.tg.cpuTimeLocked()
	return time.Duration(u), time.Duration(s)
}

// ChildrenCPUTime returns the user and system time of the process's
// reaped children and their descendants.
func (t *Task) ChildrenCPUTime() (user, sys time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return time.Duration(t.tg.childUserNS), time.Duration(t.tg.childSysNS)
}
