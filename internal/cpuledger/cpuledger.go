// Package cpuledger bounds the CPU time the sentry charges to the tasks
// whose work a host process does, by that process's CPU clock.
package cpuledger

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Ledger bounds the time charged for the pieces of work one host process
// does for tasks by the host's count of that process's CPU time: the
// Switches of a stub process's threads (their user time,
// platform.UserTimeBounder), or the sentry's own work on platforms whose
// tasks run on any host thread (their system time).
//
// The sentry can read the CPU clock of a whole process but not that of a
// stub thread (a thread's clock is readable only inside its process), nor
// of the host thread a goroutine ran on without reading it at both ends,
// which costs more than a short piece. Charging each piece its wall time
// counts, on a busy host, the time the work waited for a CPU; bounding
// each piece by what the whole process used meanwhile lets every piece
// that waited claim the CPU of the work that ran, so a process with one
// spinning thread and a few that wake now and then was charged more CPU
// than the host gave the whole sandbox.
//
// The ledger keeps, for the whole process, the CPU time the host counted
// that no piece has been charged yet (unclaimed). Each reading of the
// process's clock adds what the process used since the last one, less the
// wall time charged meanwhile to pieces too short to read the clock for; a
// long piece is charged at most its wall time and at most what is
// unclaimed, which it then claims. So the pieces together are charged no
// more than the process used, plus what the short ones waited for a CPU.
// Which piece claims the CPU is decided by who reads first, so one task
// can still be charged time another used (a thread that woke after waiting
// for a CPU may claim CPU the stub's own code used, or that of a thread
// still running).
type Ledger struct {
	pid int
	// short is the wall time charged to short pieces since the last
	// reading.
	short atomic.Int64

	// mu protects everything below; taken for long pieces only.
	mu sync.Mutex
	// read is set while last holds a reading of the process's clock.
	read bool
	// last is the process's CPU time at the last reading.
	last time.Duration
	// unclaimed is the CPU time counted by the host and not yet charged.
	unclaimed time.Duration
}

// BoundAfter is the wall time of a piece past which its charge is checked
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

// New returns the ledger of process pid, starting from a reading of its
// clock now.
func New(pid int) *Ledger {
	l := &Ledger{pid: pid}
	l.last, l.read = processCPU(pid)
	return l
}

// Charge returns the time to charge for a piece of the process's work that
// took wall: wall for a short one; for a long one, at most wall and at
// most what the process used that no piece has claimed. Without a reading
// of the process's clock (the process is gone) it returns wall. It may be
// called by any thread.
func (l *Ledger) Charge(wall time.Duration) time.Duration {
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
	// A short piece's wall time can exceed the CPU it used (it waited for
	// a CPU); that excess is not carried over as a debt, which would take
	// CPU a long piece really used from it.
	l.unclaimed = max(l.unclaimed+now-l.last-time.Duration(l.short.Swap(0)), 0)
	l.last = now
	charge := max(min(wall, l.unclaimed), 0)
	l.unclaimed -= charge
	return charge
}
