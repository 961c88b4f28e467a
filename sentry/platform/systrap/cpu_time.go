package systrap

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Bounding a Switch's user time by the host's count (platform.UserTimeBounder).
//
// A stub thread's own CPU clock is readable only from its own process, but
// the clock of its whole process is readable from the sentry. Each stub
// thread keeps a reading of it, taken at its first Switch and again at
// every bound: the process's CPU time since that reading covers all the
// CPU the thread used in the Switch just ended (and more: other threads of
// the process, the stub's own hand-offs, earlier Switches), so the bound
// never charges less than the thread used, and a task that slept through
// an overloaded host is no longer charged the time its thread waited for
// a CPU.

// processCPUClock returns the clock ID of the CPU time of process pid
// (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)).
func processCPUClock(pid int) int32 {
	const cpuClockSched = 2
	return int32(^uint32(pid)<<3 | cpuClockSched)
}

// processCPU returns the CPU time the stub process has used, or false
// when the host does not say (the process is gone).
func (t *stubThread) processCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(processCPUClock(t.as.first.tgid), &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// markCPU takes the reading the thread's first bound starts from.
func (t *stubThread) markCPU() {
	t.cpuMark, t.cpuMarked = t.processCPU()
}

// BoundUserTime implements platform.UserTimeBounder.
func (c *context) BoundUserTime(wall time.Duration) time.Duration {
	t := c.last
	if t == nil || !t.cpuMarked {
		return wall
	}
	now, ok := t.processCPU()
	if !ok {
		t.cpuMarked = false
		return wall
	}
	used := now - t.cpuMark
	t.cpuMark = now
	return max(min(wall, used), 0)
}

var _ platform.UserTimeBounder = (*context)(nil)
