package seccomp

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// seccomp(2) operations.
const (
	OpSetModeStrict  = 0 // SECCOMP_SET_MODE_STRICT
	OpSetModeFilter  = 1 // SECCOMP_SET_MODE_FILTER
	OpGetActionAvail = 2 // SECCOMP_GET_ACTION_AVAIL
	OpGetNotifSizes  = 3 // SECCOMP_GET_NOTIF_SIZES
)

// SECCOMP_SET_MODE_FILTER flags.
const (
	FlagTsync            = 1 << 0 // SECCOMP_FILTER_FLAG_TSYNC
	FlagLog              = 1 << 1 // SECCOMP_FILTER_FLAG_LOG
	FlagSpecAllow        = 1 << 2 // SECCOMP_FILTER_FLAG_SPEC_ALLOW
	FlagNewListener      = 1 << 3 // SECCOMP_FILTER_FLAG_NEW_LISTENER
	FlagTsyncEsrch       = 1 << 4 // SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	FlagWaitKillableRecv = 1 << 5 // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

	// SupportedFlags are the flags the sentry accepts. NEW_LISTENER and
	// WAIT_KILLABLE_RECV (which needs it) fail with EINVAL, as on a kernel
	// that predates them: that is what libseccomp's feature probe
	// (seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) expecting EFAULT)
	// understands.
	SupportedFlags = FlagTsync | FlagLog | FlagSpecAllow | FlagTsyncEsrch
)

// Sizes SECCOMP_GET_NOTIF_SIZES reports: struct seccomp_notif, struct
// seccomp_notif_resp and struct seccomp_data.
const (
	SizeofNotif     = 80
	SizeofNotifResp = 24
)

// Caller is what seccomp(2) and prctl(PR_SET_SECCOMP) need from the
// calling task. kernel.Task provides CopyIn and CopyOut.
type Caller interface {
	Memory
	CopyOut(addr uint64, src []byte) (int, error)
	// NoNewPrivs reports the task's no_new_privs bit.
	NoNewPrivs() bool
	// NoNewPrivsLocked is NoNewPrivs for fn of LockThreadGroup, with the
	// lock held (a TSYNC of another thread may set the bit).
	NoNewPrivsLocked() bool
	// HasCapSysAdmin reports whether the task has CAP_SYS_ADMIN in its
	// effective set (in its user namespace).
	HasCapSysAdmin() bool
	// SeccompState returns the task's state.
	SeccompState() *State
	// LockThreadGroup calls fn with a lock held that serialises every
	// seccomp state change of the caller's thread group (and of tasks
	// being cloned from it: see State.InheritFrom) and keeps the group
	// from gaining or losing threads and from exec'ing. In Cocoon that
	// is Kernel.mu. others are the group's other threads, without the
	// caller and without threads that are exiting. fn does not block and
	// only calls Thread methods, which must not take the lock again.
	LockThreadGroup(fn func(others []Thread))
}

// Thread is another thread of the caller's group, for
// SECCOMP_FILTER_FLAG_TSYNC.
type Thread interface {
	// TID returns the thread's ID in the caller's PID namespace.
	TID() int32
	SeccompState() *State
	// SetNoNewPrivs sets the thread's no_new_privs bit.
	SetNoNewPrivs()
}

// Seccomp implements seccomp(2): op and flags are unsigned ints (only
// their low 32 bits count), uargs a pointer. It returns the value of the
// call (0, or with TSYNC the TID of a thread that could not be
// synchronised) or a unix.Errno.
func Seccomp(c Caller, op, flags, uargs uint64) (uint64, error) {
	fl := uint32(flags)
	switch uint32(op) {
	case OpSetModeStrict:
		if fl != 0 || uargs != 0 {
			return 0, unix.EINVAL
		}
		return 0, SetModeStrict(c)
	case OpSetModeFilter:
		return SetModeFilter(c, fl, uargs)
	case OpGetActionAvail:
		if fl != 0 {
			return 0, unix.EINVAL
		}
		var b [4]byte
		if err := copyIn(c, uargs, b[:]); err != nil {
			return 0, err
		}
		if !Action(binary.LittleEndian.Uint32(b[:])).Available() {
			return 0, unix.EOPNOTSUPP
		}
		return 0, nil
	case OpGetNotifSizes:
		if fl != 0 {
			return 0, unix.EINVAL
		}
		var b [6]byte
		binary.LittleEndian.PutUint16(b[0:], SizeofNotif)
		binary.LittleEndian.PutUint16(b[2:], SizeofNotifResp)
		binary.LittleEndian.PutUint16(b[4:], SizeofSeccompData)
		if n, err := c.CopyOut(uargs, b[:]); err != nil || n != len(b) {
			return 0, unix.EFAULT
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}

// SetModeStrict enters SECCOMP_MODE_STRICT (EINVAL in filter mode). It
// needs neither no_new_privs nor a capability.
//
// Linux also makes rdtsc fault (SIGSEGV) in strict mode where the CPU
// allows it (TIF_NOTSC); the sentry does not.
func SetModeStrict(c Caller) error {
	err := error(unix.EINVAL)
	c.LockThreadGroup(func([]Thread) {
		s := c.SeccompState()
		if m := s.Mode(); m != ModeDisabled && m != ModeStrict {
			return
		}
		s.p.Store(&snapshot{mode: ModeStrict})
		err = nil
	})
	return err
}

// SetModeFilter implements SECCOMP_SET_MODE_FILTER: it reads the struct
// sock_fprog at uargs, compiles the filter and installs it on the caller,
// and with FlagTsync on every other thread of its group. Errors, in
// Linux's order: EINVAL (unknown or unsupported flags, or TSYNC with
// NEW_LISTENER without TSYNC_ESRCH), EFAULT (sock_fprog), EINVAL (len 0 or
// over 4096), EACCES (neither no_new_privs nor CAP_SYS_ADMIN), EINVAL
// (NULL filter), EFAULT (instructions), EINVAL (invalid program), EINVAL
// (strict mode), ENOMEM (MaxPathInstructions), then with TSYNC the TID of
// the first thread whose filters are not an ancestor of the caller's, or
// in strict mode, as the call's value (ESRCH with TSYNC_ESRCH).
//
// On success: the caller's mode becomes ModeFilter (it stays so: filters
// can only be added), and with TSYNC every other live thread gets the
// caller's filters and ModeFilter, and no_new_privs if the caller has it.
// FlagLog marks the filter for logging; FlagSpecAllow is accepted and
// ignored (the sentry does not control speculation mitigations).
func SetModeFilter(c Caller, flags uint32, uargs uint64) (uint64, error) {
	if flags&^SupportedFlags != 0 {
		return 0, unix.EINVAL
	}
	fp, err := ReadFprog(c, uargs)
	if err != nil {
		return 0, err
	}
	if err := fp.CheckLen(); err != nil {
		return 0, err
	}
	if !c.NoNewPrivs() && !c.HasCapSysAdmin() {
		return 0, unix.EACCES
	}
	insns, err := fp.ReadInstructions(c)
	if err != nil {
		return 0, err
	}
	prog, err := Compile(insns)
	if err != nil {
		return 0, unix.EINVAL
	}
	// The constant-action cache of the program is computed before taking
	// the lock (at most CacheSyscalls emulations of MaxInstructions steps).
	node := prepare(prog, flags&FlagLog != 0)
	var ret uint64
	c.LockThreadGroup(func(others []Thread) {
		s := c.SeccompState()
		cur := s.load()
		if cur.mode != ModeDisabled && cur.mode != ModeFilter {
			err = unix.EINVAL
			return
		}
		var filters Filters
		filters, err = cur.filters.attach(node)
		if err != nil {
			return
		}
		if flags&FlagTsync != 0 {
			for _, t := range others {
				m, f := t.SeccompState().Snapshot()
				if m == ModeDisabled || (m == ModeFilter && cur.filters.Extends(f)) {
					continue
				}
				if flags&FlagTsyncEsrch != 0 {
					err = unix.ESRCH
				} else {
					ret = uint64(t.TID())
				}
				return
			}
		}
		next := &snapshot{mode: ModeFilter, filters: filters}
		s.p.Store(next)
		if flags&FlagTsync != 0 {
			nnp := c.NoNewPrivsLocked()
			for _, t := range others {
				t.SeccompState().p.Store(next)
				if nnp {
					t.SetNoNewPrivs()
				}
			}
		}
	})
	return ret, err
}

// PrctlSetSeccomp implements prctl(PR_SET_SECCOMP, mode, filter):
// SECCOMP_MODE_STRICT is seccomp(SECCOMP_SET_MODE_STRICT, 0, NULL) (filter
// ignored), SECCOMP_MODE_FILTER is seccomp(SECCOMP_SET_MODE_FILTER, 0,
// filter), anything else EINVAL.
func PrctlSetSeccomp(c Caller, mode, filter uint64) (uint64, error) {
	switch mode {
	case uint64(ModeStrict):
		return Seccomp(c, OpSetModeStrict, 0, 0)
	case uint64(ModeFilter):
		return Seccomp(c, OpSetModeFilter, 0, filter)
	}
	return 0, unix.EINVAL
}

// PrctlGetSeccomp implements prctl(PR_GET_SECCOMP): the caller's mode (in
// strict mode the call never gets there: prctl is not allowed).
func PrctlGetSeccomp(s *State) (uint64, error) { return uint64(s.Mode()), nil }
