package kernel

import (
	"time"

	"golang.org/x/sys/unix"
)

// hostThreadCPU bounds the CPU time charged to a task locked to its own
// host thread by that thread's CPU clock: the sentry's work for the task
// (system time) runs there, and on some platforms its application code
// too (platform.AppOnTaskThread: user time).
//
// The run loop charges wall times (a Switch's as user time, the rest of
// an iteration's as system time) because a CPU-clock reading at both ends
// of every iteration is a host system call each, more than a short
// iteration costs. A wall time includes any time the host thread waited
// for a CPU, and on a busy host one preemption charges a task milliseconds
// it never ran. So once a piece of an iteration takes boundByThreadAfter
// or more, the thread's clock is read, and the piece is charged no more
// than the CPU the thread used since the previous reading less what was
// charged since then: every wall time charged is at least the CPU it
// covers, so the difference is at most the CPU of the piece itself, and
// the task's total at each reading is no more than the thread's. CPU the
// thread spends outside the pieces it charges (ptrace's tracer work in a
// Switch, whose application time its stub's clock bounds) only loosens
// the next bound.
//
// Used by the task's goroutine only.
type hostThreadCPU struct {
	// at is the thread's CPU clock at the last reading; valid once
	// marked.
	at     time.Duration
	marked bool
	// charged is the time charged to the task since that reading, plus
	// what was charged before it past the thread's CPU.
	charged time.Duration
}

// boundByThreadAfter is the wall time of a piece past which the thread's
// clock is read: the read (a host system call, ~0.4 us on the PVM guest
// this was measured on) stays under 0.2% of the piece, and a piece
// shorter than this is charged at most this much for a wait.
const boundByThreadAfter = 200 * time.Microsecond

// threadCPU returns the calling host thread's CPU time.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// mark takes the reading the first bound starts from. The caller's
// goroutine must stay locked to its thread from then on.
func (h *hostThreadCPU) mark() {
	h.at, h.marked = threadCPU()
	h.charged = 0
}

// charge returns the time to charge for a piece of the task's run that
// took wall, and counts it.
func (h *hostThreadCPU) charge(wall time.Duration) time.Duration {
	if wall >= boundByThreadAfter && h.marked {
		if now, ok := threadCPU(); ok {
			used := now - h.at - h.charged
			h.at, h.charged = now, 0
			if used < 0 {
				// Earlier pieces were charged more than
				// the thread ran: the excess stays owed.
				h.charged = -used
				return 0
			}
			return min(wall, used)
		}
	}
	h.charged += wall
	return wall
}
