package stubproc

import (
	"time"

	"golang.org/x/sys/unix"
)

// CPUMark bounds the user time charged for the Switches of one stub
// thread by the host's count (platform.UserTimeBounder).
//
// A stub thread's own CPU clock is readable only from its own process, but
// the clock of its whole process is readable from the sentry. A CPUMark
// keeps a reading of it, taken at the thread's first Switch (Mark) and
// again at every Bound: the process's CPU time since that reading covers
// all the CPU the thread used in the Switch just ended (and more: other
// threads of the process, the stub's own code, earlier Switches), so the
// bound never charges less than the thread used, and a task that slept
// through an overloaded host is not charged the time its thread waited
// for a CPU.
//
// Used by the task's goroutine only.
type CPUMark struct {
	at     time.Duration
	marked bool
}

// processCPUClock returns the clock ID of the CPU time of process pid
// (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)).
func processCPUClock(pid int) int32 {
	const cpuClockSched = 2
	return int32(^uint32(pid)<<3 | cpuClockSched)
}

// processCPU returns the CPU time process pid has used, or false when the
// host does not say (the process is gone).
func processCPU(pid int) (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(processCPUClock(pid), &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// Marked reports whether m holds a reading.
func (m *CPUMark) Marked() bool { return m.marked }

// Mark takes the reading the first Bound starts from, of process pid.
func (m *CPUMark) Mark(pid int) {
	m.at, m.marked = processCPU(pid)
}

// Bound returns at most wall, and no less than the CPU time process pid
// used since the last reading, which it replaces. Without a reading it
// returns wall.
func (m *CPUMark) Bound(pid int, wall time.Duration) time.Duration {
	if !m.marked {
		return wall
	}
	now, ok := processCPU(pid)
	if !ok {
		m.marked = false
		return wall
	}
	used := now - m.at
	m.at = now
	return max(min(wall, used), 0)
}
