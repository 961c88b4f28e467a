package kernel

import "golang.org/x/sys/unix"

// Infinity is RLIM_INFINITY.
const Infinity = ^uint64(0)

// Limit is one soft/hard pair.
type Limit struct{ Cur, Max uint64 }

// Limits are a task's resource limits, indexed by RLIMIT_*.
type Limits [unix.RLIMIT_RTTIME + 1]Limit

// DefaultLimits returns the limits a container's first process starts with,
// matching what runc gives by default.
func DefaultLimits() Limits {
	var l Limits
	for i := range l {
		l[i] = Limit{Infinity, Infinity}
	}
	l[unix.RLIMIT_STACK] = Limit{8 << 20, Infinity}
	l[unix.RLIMIT_CORE] = Limit{0, Infinity}
	l[unix.RLIMIT_NOFILE] = Limit{1 << 20, 1 << 20}
	l[unix.RLIMIT_NPROC] = Limit{1 << 20, 1 << 20}
	l[unix.RLIMIT_MEMLOCK] = Limit{8 << 20, 8 << 20}
	l[unix.RLIMIT_SIGPENDING] = Limit{1 << 16, 1 << 16}
	l[unix.RLIMIT_MSGQUEUE] = Limit{819200, 819200}
	l[unix.RLIMIT_NICE] = Limit{0, 0}
	l[unix.RLIMIT_RTPRIO] = Limit{0, 0}
	return l
}
