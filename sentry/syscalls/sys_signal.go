package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

const sigsetSize = 8

func copyInSigSet(t *kernel.Task, addr uint64) (kernel.SigSet, error) {
	var b [8]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return kernel.SigSet(binary.LittleEndian.Uint64(b[:])), nil
}

func copyOutSigSet(t *kernel.Task, addr uint64, set kernel.SigSet) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(set))
	if _, err := t.CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return nil
}

// RtSigaction implements Linux syscall rt_sigaction(2).
func RtSigaction(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	sig := unix.Signal(args[0])
	if args[3] != sigsetSize || sig < 1 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	var act *kernel.SigAction
	if args[1] != 0 {
		var b [kernel.SigActionSize]byte
		if _, err := t.CopyIn(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		a := kernel.DecodeSigAction(b[:])
		act = &a
	}
	old, err := t.SigAction(sig, act)
	if err != nil {
		return 0, err
	}
	if args[2] != 0 {
		var b [kernel.SigActionSize]byte
		old.Encode(b[:])
		if _, err := t.CopyOut(args[2], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// RtSigprocmask implements Linux syscall rt_sigprocmask(2).
func RtSigprocmask(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	how := int(args[0])
	if args[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	old := t.SigMask()
	if args[1] != 0 {
		set, err := copyInSigSet(t, args[1])
		if err != nil {
			return 0, err
		}
		switch how {
		case unix.SIG_BLOCK:
			t.SetSigMask(old | set)
		case unix.SIG_UNBLOCK:
			t.SetSigMask(old &^ set)
		case unix.SIG_SETMASK:
			t.SetSigMask(set)
		default:
			return 0, unix.EINVAL
		}
	}
	if args[2] != 0 {
		if err := copyOutSigSet(t, args[2], old); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Sigaltstack implements Linux syscall sigaltstack(2).
func Sigaltstack(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const minSigStackSize = 2048
	alt := t.AltStack()
	old := *alt
	onStack := t.OnAltStack()
	if args[0] != 0 {
		var b [24]byte
		if _, err := t.CopyIn(args[0], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		sp, flags, size := binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint64(b[16:])
		const ssAutoDisarm = 1 << 31
		if onStack {
			return 0, unix.EPERM
		}
		switch flags &^ ssAutoDisarm {
		case kernel.SSDisable:
			*alt = kernel.SignalStack{Flags: kernel.SSDisable}
		case 0, kernel.SSOnStack:
			if size < minSigStackSize {
				return 0, unix.ENOMEM
			}
			*alt = kernel.SignalStack{SP: sp, Size: size}
		default:
			return 0, unix.EINVAL
		}
	}
	if args[1] != 0 {
		var b [24]byte
		flags := uint32(0)
		switch {
		case onStack:
			flags = kernel.SSOnStack
		case old.Size == 0 || old.Flags&kernel.SSDisable != 0:
			flags = kernel.SSDisable
		}
		binary.LittleEndian.PutUint64(b[0:], old.SP)
		binary.LittleEndian.PutUint32(b[8:], flags)
		binary.LittleEndian.PutUint64(b[16:], old.Size)
		if _, err := t.CopyOut(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// RtSigreturn implements Linux syscall rt_sigreturn(2).
func RtSigreturn(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	return t.SigReturn()
}

// userInfo builds the siginfo of a signal sent by a user call; its si_pid
// is the caller's ID as the receiver's PID namespace sees it.
func userInfo(t *kernel.Task, sig unix.Signal, code int32) *kernel.SigInfo {
	info := &kernel.SigInfo{Signo: int32(sig), Code: code}
	info.SetPIDKUID(t.TGID(), t.Credentials().UID)
	info.SetSender(t.ThreadGroup(), false)
	return info
}

// Kill implements Linux syscall kill(2).
func Kill(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, sig := int32(args[0]), unix.Signal(args[1])
	if sig < 0 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	k := t.Kernel()
	var targets []*kernel.ThreadGroup
	switch {
	case pid > 0:
		if tg := t.LookupThreadGroup(pid); tg != nil {
			targets = append(targets, tg)
		}
	case pid == 0:
		// The caller's process group, wherever its members live.
		pgid, _ := k.ProcessGroup(t.ThreadGroup())
		targets = k.ThreadGroupsInPGID(pgid)
	case pid == -1:
		// Every process the caller's PID namespace sees but the caller
		// and the namespace's init (ID 1 there), as Linux's
		// kill_something_info: in pod mode, the caller's container.
		self := t.ThreadGroup()
		ns := t.PIDNamespace()
		for _, tg := range k.AllThreadGroups() {
			if tg != self && ns.IDOfThreadGroup(tg) > 1 {
				targets = append(targets, tg)
			}
		}
	default:
		if pgid, ok := t.RootOf(-pid); ok {
			targets = k.ThreadGroupsInPGID(pgid)
		}
	}
	if len(targets) == 0 {
		return 0, unix.ESRCH
	}
	sent := false
	for _, tg := range targets {
		if !t.MaySignal(tg) {
			continue
		}
		sent = true
		if sig != 0 {
			k.SendGroupSignal(tg, userInfo(t, sig, kernel.SIUser))
		}
	}
	if !sent {
		return 0, unix.EPERM
	}
	return 0, nil
}

func threadKill(t *kernel.Task, tgid, tid int32, sig unix.Signal) (uint64, error) {
	if sig < 0 || sig > kernel.NumSignals || tid <= 0 {
		return 0, unix.EINVAL
	}
	target := t.LookupTask(tid)
	if target == nil || (tgid > 0 && t.IDOfThreadGroup(target.ThreadGroup()) != tgid) {
		return 0, unix.ESRCH
	}
	if !t.MaySignal(target.ThreadGroup()) {
		return 0, unix.EPERM
	}
	if sig == 0 {
		return 0, nil
	}
	t.Kernel().SendSignal(target, userInfo(t, sig, kernel.SITkill))
	return 0, nil
}

// Tkill implements Linux syscall tkill(2).
func Tkill(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return threadKill(t, 0, int32(args[0]), unix.Signal(args[1]))
}

// Tgkill implements Linux syscall tgkill(2).
func Tgkill(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if int32(args[0]) <= 0 {
		return 0, unix.EINVAL
	}
	return threadKill(t, int32(args[0]), int32(args[1]), unix.Signal(args[2]))
}

// queueInfo reads a user siginfo for rt_(tg)sigqueueinfo: a process may not
// forge kernel codes for another process (self: the target is the caller).
// Its si_pid is kept, unless the receiver's PID namespace cannot see the
// caller (then 0).
func queueInfo(t *kernel.Task, addr uint64, sig unix.Signal, self bool) (*kernel.SigInfo, error) {
	var b [128]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return nil, unix.EFAULT
	}
	info := kernel.DecodeSigInfo(b[:])
	if (info.Code >= 0 || info.Code == kernel.SITkill) && !self {
		return nil, unix.EPERM
	}
	info.Signo = int32(sig)
	info.SetSender(t.ThreadGroup(), true)
	info.SetUIDNamespace(t.Credentials().UserNamespace())
	return &info, nil
}

// RtSigqueueinfo implements Linux syscall rt_sigqueueinfo(2).
func RtSigqueueinfo(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, sig := int32(args[0]), unix.Signal(args[1])
	if sig < 1 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	info, err := queueInfo(t, args[2], sig, pid == t.TGID())
	if err != nil {
		return 0, err
	}
	tg := t.LookupThreadGroup(pid)
	if tg == nil {
		return 0, unix.ESRCH
	}
	t.Kernel().SendGroupSignal(tg, info)
	return 0, nil
}

// RtTgsigqueueinfo implements Linux syscall rt_tgsigqueueinfo(2).
func RtTgsigqueueinfo(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	tgid, tid, sig := int32(args[0]), int32(args[1]), unix.Signal(args[2])
	if sig < 1 || sig > kernel.NumSignals || tgid <= 0 || tid <= 0 {
		return 0, unix.EINVAL
	}
	info, err := queueInfo(t, args[3], sig, tgid == t.TGID())
	if err != nil {
		return 0, err
	}
	target := t.LookupTask(tid)
	if target == nil || t.IDOfThreadGroup(target.ThreadGroup()) != tgid {
		return 0, unix.ESRCH
	}
	t.Kernel().SendSignal(target, info)
	return 0, nil
}

// RtSigsuspend implements Linux syscall rt_sigsuspend(2): wait with a
// temporary mask until a handler runs.
func RtSigsuspend(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[1] != sigsetSize {
		return 0, unix.EINVAL
	}
	mask, err := copyInSigSet(t, args[0])
	if err != nil {
		return 0, err
	}
	t.SetSavedSigMask(mask)
	_ = t.Block(nil)
	return 0, kernel.ERESTARTNOHAND
}

// Pause implements Linux syscall pause(2).
func Pause(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	_ = t.Block(nil)
	return 0, kernel.ERESTARTNOHAND
}

// RtSigpending implements Linux syscall rt_sigpending(2).
func RtSigpending(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[1] > sigsetSize {
		return 0, unix.EINVAL
	}
	return 0, copyOutSigSet(t, args[0], t.PendingSignals()&t.SigMask())
}

// RtSigtimedwait implements Linux syscall rt_sigtimedwait(2).
func RtSigtimedwait(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	set, err := copyInSigSet(t, args[0])
	if err != nil {
		return 0, err
	}
	const unblockable = kernel.SigSet(1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1))
	set &^= unblockable
	var deadline time.Time
	if args[2] != 0 {
		ts, err := copyInTimespec(t, args[2])
		if err != nil {
			return 0, err
		}
		deadline = time.Now().Add(time.Duration(ts.Nano()))
	}
	info := t.DequeueSignal(set)
	if info == nil {
		timedOut := t.WaitForSignals(set, deadline)
		info = t.DequeueSignal(set)
		if info == nil {
			if timedOut || (!deadline.IsZero() && time.Now().After(deadline)) {
				return 0, unix.EAGAIN
			}
			return 0, unix.EINTR
		}
	}
	if args[1] != 0 {
		if _, err := t.CopyOut(args[1], info.Bytes()); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uint64(info.Signo), nil
}
