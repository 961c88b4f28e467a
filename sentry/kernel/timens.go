package kernel

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vdso"
)

// Time namespaces.
//
// A time namespace offsets CLOCK_MONOTONIC (and its raw and coarse
// variants) and CLOCK_BOOTTIME (and its alarm variant) as the processes in
// it read them; the other clocks are the same everywhere.
// unshare(CLONE_NEWTIME) makes a namespace for the caller's later
// children only (/proc/[pid]/ns/time_for_children), whose offsets
// /proc/[pid]/timens_offsets sets until a process joins it: the first
// child the caller forks, a clone3(CLONE_NEWTIME) child, or a setns(2)
// caller. From then on the offsets are frozen (EACCES), as Linux freezes
// them when it first maps the namespace's vvar page.
//
// Where offsets apply. The sentry's clock system calls add them when they
// read a clock and take them off an absolute deadline
// (Task.ClockOffset). The vDSO forwards clock_gettime to the host's
// vDSO, which knows nothing of the sandbox's namespaces, so a process in
// a namespace with offsets maps the vDSO variant whose clock_gettime makes
// the system call (vdso.VDSO.ForTimeNamespace): a child switches its
// [vvar] page when it joins at fork, a setns caller its own, and execve
// maps the variant (Task.VDSOForExec). A namespace whose offsets are zero
// keeps the forwarding vDSO.

// InitialTimeNamespaceID is the inode number of Linux's initial time
// namespace (PROC_TIME_INIT_INO), the sandbox's initial one.
const InitialTimeNamespaceID = 0xEFFFFFFA

// capSysTime is CAP_SYS_TIME, which setting a namespace's offsets asks
// for.
const capSysTime = 25

// ktimeSecMax is Linux's KTIME_SEC_MAX, the bound on an offset and on the
// clock an offset makes.
const ktimeSecMax = (1<<63 - 1) / int64(time.Second)

// TimeNamespace is a time namespace. It lives as long as anything points
// at it.
type TimeNamespace struct {
	// ino is the namespace's inode number; immutable.
	ino uint64
	// monotonic and boottime are the offsets in nanoseconds; written
	// only before frozen is set (under mu), read by the clock system
	// calls of the namespace's processes without a lock.
	monotonic, boottime atomic.Int64
	// mu protects frozen and orders the offsets' writes with it.
	mu sync.Mutex
	// frozen is set once a process joined the namespace.
	frozen bool
}

// initialTimeNS is the namespace every task starts in; it has no offsets
// and is frozen from the start, as Linux's init_time_ns is.
var initialTimeNS = &TimeNamespace{ino: InitialTimeNamespaceID, frozen: true}

// clone returns a namespace with n's offsets that no process is in yet
// (clone_time_ns).
func (n *TimeNamespace) clone() *TimeNamespace {
	c := &TimeNamespace{ino: newNSID()}
	c.monotonic.Store(n.monotonic.Load())
	c.boottime.Store(n.boottime.Load())
	return c
}

// freeze records that a process joined the namespace.
func (n *TimeNamespace) freeze() {
	n.mu.Lock()
	n.frozen = true
	n.mu.Unlock()
}

// hasOffsets reports whether a clock reads differently in the namespace.
func (n *TimeNamespace) hasOffsets() bool {
	return n.monotonic.Load() != 0 || n.boottime.Load() != 0
}

// Ino returns the namespace's inode number.
func (n *TimeNamespace) Ino() uint64 { return n.ino }

// TimeNamespace returns the namespace the task's clocks are read in.
func (t *Task) TimeNamespace() *TimeNamespace { return t.nsSet().time }

// ClockOffset returns what the task's time namespace adds to clock: the
// monotonic offset for CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW and
// CLOCK_MONOTONIC_COARSE, the boot-time one for CLOCK_BOOTTIME and
// CLOCK_BOOTTIME_ALARM, 0 for every other clock. A clock value read from
// the host gets it added; an absolute deadline the task gives on such a
// clock gets it taken off before it is compared with the host's clock
// (Linux's timens_add_monotonic, timens_ktime_to_host).
func (t *Task) ClockOffset(clock int32) time.Duration {
	if !anyTaskNamespaces.Load() {
		return 0
	}
	n := t.nsSet().time
	switch clock {
	case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_MONOTONIC_COARSE:
		return time.Duration(n.monotonic.Load())
	case unix.CLOCK_BOOTTIME, unix.CLOCK_BOOTTIME_ALARM:
		return time.Duration(n.boottime.Load())
	}
	return 0
}

// CallerClockOffset returns what the calling task's time namespace adds
// to clock (Task.ClockOffset), for files that show clock readings to the
// task that reads them (/proc/uptime); 0 when the caller is not a task of
// k.
func (k *Kernel) CallerClockOffset(clock int32) time.Duration {
	if !anyTaskNamespaces.Load() {
		return 0
	}
	k.mu.Lock()
	t := k.callerLocked()
	k.mu.Unlock()
	if t == nil {
		return 0
	}
	return t.ClockOffset(clock)
}

// VDSOForExec returns the vDSO execve maps for the task: the kernel's, or
// its variant whose clock_gettime makes the system call when the task's
// time namespace has offsets. nil when the kernel has none.
func (t *Task) VDSOForExec() *vdso.VDSO {
	v := t.k.VDSO()
	if v != nil && t.nsSet().time.hasOffsets() {
		return v.ForTimeNamespace()
	}
	return v
}

// useTimeNamespaceVDSO switches the task's mapped vDSO to the variant that
// reads clocks through the system call. It runs on the task's own
// goroutine (a platform address space is changed only from the thread
// that runs it), with no other task running in its address space.
func (t *Task) useTimeNamespaceVDSO() {
	v := t.k.VDSO()
	if v == nil {
		return
	}
	if err := v.ForTimeNamespace().SwitchData(t.mm); err != nil {
		// The page stays the forwarding one: the task's vDSO reads
		// clocks without the namespace's offsets, its system calls
		// with them.
		t.k.Log.Warn("time namespace vDSO", "err", err)
	}
}

// TimensOffset is one line of /proc/[pid]/timens_offsets: a clock
// (CLOCK_MONOTONIC or CLOCK_BOOTTIME) and its offset.
type TimensOffset struct {
	Clock     int32
	Sec, Nsec int64
}

// offsetOf splits an offset into seconds and nanoseconds in [0, 1e9).
func offsetOf(clock int32, ns int64) TimensOffset {
	sec, nsec := ns/int64(time.Second), ns%int64(time.Second)
	if nsec < 0 {
		sec, nsec = sec-1, nsec+int64(time.Second)
	}
	return TimensOffset{Clock: clock, Sec: sec, Nsec: nsec}
}

// TimensOffsets returns the offsets of the time namespace for children of
// process pid of ns (what its timens_offsets file shows); ok is false
// once it exited.
func (k *Kernel) TimensOffsets(ns *PIDNamespace, pid int32) ([]TimensOffset, bool) {
	rep := k.liveTaskOf(ns, pid)
	if rep == nil {
		return nil, false
	}
	n := rep.nsSet().timeForChildren
	return []TimensOffset{
		offsetOf(unix.CLOCK_MONOTONIC, n.monotonic.Load()),
		offsetOf(unix.CLOCK_BOOTTIME, n.boottime.Load()),
	}, true
}

// SetTimensOffsets sets offsets of the time namespace for children of
// process pid of ns on behalf of the calling task (a write to its
// timens_offsets file), as Linux's proc_timens_set_offset does: ESRCH
// once the process exited, EPERM without CAP_SYS_TIME, EINVAL for
// another clock, ERANGE for an offset that takes the clock below zero or
// past KTIME_SEC_MAX/2, EACCES once a process joined the namespace.
func (k *Kernel) SetTimensOffsets(ns *PIDNamespace, pid int32, offs []TimensOffset) error {
	rep := k.liveTaskOf(ns, pid)
	if rep == nil {
		return unix.ESRCH
	}
	n := rep.nsSet().timeForChildren
	k.mu.Lock()
	caller := k.callerLocked()
	allowed := caller != nil && caller.creds.HasCap(capSysTime)
	k.mu.Unlock()
	if !allowed {
		return unix.EPERM
	}
	for _, o := range offs {
		var now unix.Timespec
		switch o.Clock {
		case unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME:
			if err := unix.ClockGettime(o.Clock, &now); err != nil {
				return err
			}
		default:
			return unix.EINVAL
		}
		if o.Sec > ktimeSecMax || o.Sec < -ktimeSecMax {
			return unix.ERANGE
		}
		sec := now.Sec + o.Sec
		if now.Nsec+o.Nsec >= int64(time.Second) {
			sec++
		}
		if sec < 0 || sec > ktimeSecMax/2 {
			return unix.ERANGE
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.frozen {
		return unix.EACCES
	}
	for _, o := range offs {
		v := o.Sec*int64(time.Second) + o.Nsec
		if o.Clock == unix.CLOCK_MONOTONIC {
			n.monotonic.Store(v)
		} else {
			n.boottime.Store(v)
		}
	}
	return nil
}
