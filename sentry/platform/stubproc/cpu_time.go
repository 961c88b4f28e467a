package stubproc

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// CPULedger bounds the user time charged for the Switches of one stub
// process's threads by the host's count of that process's CPU time
// (platform.UserTimeBounder).
//
// A stub thread's own CPU clock is readable only from inside its process;
// the sentry can read only the clock of the whole process. Charging each
// Switch its wall time counts, on a busy host, the time a thread waited
// for a CPU; bounding each thread's Switch by what the whole process used
// meanwhile lets every thread that waited claim the CPU of the one that
// ran, so a process with one spinning thread and a few that wake now and
// then was charged more CPU than the host gave the whole sandbox.
//
// The ledger keeps, for the whole process, the CPU time the host counted
// that no Switch has been charged yet (unclaimed). Each reading of the
// process's clock adds what the process used since the last one, less the
// wall time charged meanwhile to Switches too short to read the clock for;
// a long Switch is charged at most its wall time and at most what is
// unclaimed, which it then claims. So the Switches of all the process's
// threads together are charged no more than the process used, plus what
// the short ones waited for a CPU. Which thread's Switch claims the CPU is
// decided by who reads first, so one thread's clock can still show time
// another used (a thread that woke after waiting for a CPU may claim CPU
// the stub's own code used, or a thread that is still running).
type CPULedger struct {
	pid int
	// short is the wall time charged to short Switches since the last
	// reading.
	short atomic.Int64

	// mu protects everything below; taken by long Switches only.
	mu sync.Mutex
	// read is set while last holds a reading of the process's clock.
	read bool
	// last is the process's CPU time at the last reading.
	last time.Duration
	// unclaimed is the CPU time counted by the host and not yet charged.
	unclaimed time.Duration
}

// BoundAfter is the wall time of a Switch past which its charge is checked
// against the host's count: long enough that the clock reading it takes
// (about a microsecond) is lost in it, short enough that a thread woken
// behind a busy one, which waits a good part of a scheduler slice for a
// CPU, is caught. Measured with one spinning thread and eight that wake
// every millisecond, for 2 s: at 1 ms the process was charged 2.2-2.3 s of
// user time, more than its one busy thread could use; at 100 µs 1.93-1.97.
const BoundAfter = 100 * time.Microsecond

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

// NewCPULedger returns the ledger of stub process pid, starting from a
// reading of its clock now.
func NewCPULedger(pid int) *CPULedger {
	l := &CPULedger{pid: pid}
	l.last, l.read = processCPU(pid)
	return l
}

// Charge returns the user time to charge for a Switch of one of the
// process's threads that took wall: wall for a short one, at most wall and
// at most what the process used and no Switch has claimed for a long one.
// Without a reading of the process's clock (the process is gone) it
// returns wall. It may be called by any thread.
func (l *CPULedger) Charge(wall time.Duration) time.Duration {
	if wall < BoundAfter {
		l.short.Add(int64(wall))
		return wall
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.read {
		return wall
	}
	now, ok := processCPU(l.pid)
	if !ok {
		l.read = false
		return wall
	}
	// A short Switch's wall time can exceed the CPU it used (it waited
	// for a CPU); that excess is not carried over as a debt, which would
	// take CPU a long Switch really used from it.
	l.unclaimed = max(l.unclaimed+now-l.last-time.Duration(l.short.Swap(0)), 0)
	l.last = now
	charge := max(min(wall, l.unclaimed), 0)
	l.unclaimed -= charge
	return charge
}
