package kernel

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// SendSignal sends info to one task (tkill/tgkill).
func (k *Kernel) SendSignal(target *Task, info *SigInfo) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sendLocked(target.tg, target, info)
}

// SendGroupSignal sends info to a process (kill).
func (k *Kernel) SendGroupSignal(tg *ThreadGroup, info *SigInfo) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sendLocked(tg, nil, info)
}

// ignoredLocked reports whether sig sent to tg would be discarded at once:
// its action is to ignore it, and (for a thread-directed signal) target
// does not block it. Init ignores every signal it has no handler for, as
// Linux's SIGNAL_UNKILLABLE makes it, except SIGKILL and SIGSTOP from an
// ancestor PID namespace (force).
func (tg *ThreadGroup) ignoredLocked(sig unix.Signal, target *Task, force bool) bool {
	act := tg.handlers.actions[sig]
	if target == nil {
		if l := tg.leader; l != nil {
			if _, live := tg.tasks[l]; live {
				target = l
			}
		}
	}
	if target != nil && (target.sigmask|target.realBlocked)&sigBit(sig) != 0 {
		return false
	}
	if act.Handler == SigIgn {
		return true
	}
	if act.Handler == SigDfl {
		if tg.isInitLocked() {
			return !(force && (sig == unix.SIGKILL || sig == unix.SIGSTOP))
		}
		return defaultActionOf(sig) == actIgnore
	}
	return false
}

// sendLocked queues info for tg (target nil: process-directed) and wakes a
// task to handle it, applying the actions Linux applies at send time:
// SIGKILL kills at once, SIGCONT resumes a stopped group, stop signals and
// SIGCONT cancel each other.
//
// Preconditions: k.mu is held.
func (k *Kernel) sendLocked(tg *ThreadGroup, target *Task, info *SigInfo) (queued bool) {
	sig := unix.Signal(info.Signo)
	if sig == 0 || tg.exiting {
		return false
	}
	if s := info.sender; s != nil {
		// si_pid as the receiver's namespace sees the sender; one it
		// cannot see is in an ancestor namespace (Linux's
		// send_signal_locked).
		id := tg.pidns.idLocked(s.id)
		if id == 0 {
			info.force = true
		}
		if !info.keepPID || id == 0 {
			info.put32(0, uint32(id))
		}
		info.sender = nil
	}
	if from := info.uidNS; from != nil {
		to := tg.leader.creds.UserNamespace()
		if target != nil {
			to = target.creds.UserNamespace()
		}
		if to != from {
			kuid, ok := from.KUID(info.UID())
			if !ok {
				kuid = OverflowID
			}
			info.put32(4, to.MungedUID(kuid))
		}
		info.uidNS = nil
	}
	switch {
	case sig == unix.SIGKILL && (!tg.isInitLocked() || info.force):
		tg.killLocked(unix.WaitStatus(unix.SIGKILL))
		return false
	case sig == unix.SIGCONT:
		tg.pending.discard(stopSignals)
		for task := range tg.tasks {
			task.pending.discard(stopSignals)
		}
		tg.continueLocked()
	case stopSignals&sigBit(sig) != 0:
		tg.pending.discard(sigBit(unix.SIGCONT))
		for task := range tg.tasks {
			task.pending.discard(sigBit(unix.SIGCONT))
		}
	}
	if tg.ignoredLocked(sig, target, info.force) {
		return false
	}
	if target != nil {
		if !target.pending.enqueue(info) {
			return false
		}
		tg.signalfdQueue.Notify(waiter.EventIn)
		target.kick()
		return true
	}
	if !tg.pending.enqueue(info) {
		return false
	}
	tg.signalfdQueue.Notify(waiter.EventIn)
	// Wake a task that can take it: the leader if it does not block it,
	// else any other.
	if l := tg.leader; l != nil && tg.tasks[l] == struct{}{} && l.sigmask&sigBit(sig) == 0 {
		l.kick()
		return true
	}
	for task := range tg.tasks {
		if task.sigmask&sigBit(sig) == 0 {
			task.kick()
			return true
		}
	}
	return true
}

// continueLocked ends a group stop (SIGCONT).
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) continueLocked() {
	if !tg.stopped {
		return
	}
	tg.stopped = false
	close(tg.resume)
	tg.continued = true
	tg.continuedReported = false
	tg.notifyParentLocked(CLDContinued, int32(unix.SIGCONT))
}

// stopLocked starts a group stop for sig.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) stopLocked(sig unix.Signal) {
	if tg.stopped || tg.exiting {
		return
	}
	tg.stopped = true
	tg.stopSignal = sig
	tg.stopReported = false
	tg.continued = false
	tg.resume = make(chan struct{})
	for task := range tg.tasks {
		task.kick()
	}
	tg.notifyParentLocked(CLDStopped, int32(sig))
}

// notifyParentLocked tells tg's parent about a stop or continue: SIGCHLD
// unless the parent asked not to (SA_NOCLDSTOP), and a wake-up of its
// waiters.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) notifyParentLocked(code int32, status int32) {
	p := tg.parent
	if p == nil {
		return
	}
	p.notifyChildEventLocked()
	if p.handlers.actions[unix.SIGCHLD].Flags&SANoCldStop != 0 {
		return
	}
	info := &SigInfo{Signo: int32(unix.SIGCHLD), Code: code}
	info.SetPIDKUID(tg.id, tg.leader.creds.UID)
	info.sender = tg
	info.SetStatus(status)
	tg.k.sendLocked(p, nil, info)
}

// dequeueSignalLocked takes the next signal to deliver, thread-directed
// ones first, and returns it with its action.
//
// Preconditions: k.mu is held.
func (t *Task) dequeueSignalLocked() (*SigInfo, SigAction) {
	info := t.pending.dequeue(t.sigmask)
	if info == nil {
		info = t.tg.pending.dequeue(t.sigmask)
	}
	if info == nil {
		return nil, SigAction{}
	}
	return info, t.tg.handlers.actions[info.Signo]
}

// handleSignalLocked acts on a dequeued signal. delivered reports that a
// handler frame was set up (the task runs it next); otherwise again says
// whether the task should look for more work (false: it must exit).
//
// Preconditions: k.mu is held.
func (t *Task) handleSignalLocked(info *SigInfo, act SigAction) (delivered, again bool) {
	sig := unix.Signal(info.Signo)
	switch act.Handler {
	case SigIgn:
		return false, true
	case SigDfl:
		if t.tg.isInitLocked() && !isFaultSignal(sig, info) && !(info.force && sig == unix.SIGSTOP) {
			// Init's unhandled signals are ignored, except the
			// faults of its own instructions and SIGSTOP from an
			// ancestor namespace.
			return false, true
		}
		switch defaultActionOf(sig) {
		case actIgnore, actContinue:
			return false, true
		case actStop:
			t.tg.stopLocked(sig)
			return false, true
		case actCore:
			// The sandbox writes no core files, and Linux sets the
			// core flag only when a core was dumped.
			t.tg.killLocked(unix.WaitStatus(sig))
			return false, false
		default:
			t.tg.killLocked(unix.WaitStatus(sig))
			return false, false
		}
	}
	// A handler: build its frame. The lock is dropped for memory access:
	// only this task's goroutine touches its registers and memory here.
	t.k.mu.Unlock()
	err := t.deliverToHandler(info, act)
	t.k.mu.Lock()
	if err != nil {
		// The frame could not be written: Linux kills with SIGSEGV.
		t.k.Log.Debug("signal frame setup failed", "tid", t.tid, "signal", sig, "err", err)
		t.tg.killLocked(unix.WaitStatus(unix.SIGSEGV))
		return false, false
	}
	mask := act.Mask
	if act.Flags&SANoDefer == 0 {
		mask |= sigBit(sig)
	}
	if t.haveSavedMask {
		t.haveSavedMask = false
	}
	t.sigmask |= mask &^ unblockable
	if act.Flags&SAResetHand != 0 {
		t.tg.handlers.actions[sig] = SigAction{}
	}
	return true, true
}

// isFaultSignal reports whether info was produced by the task's own fault.
func isFaultSignal(sig unix.Signal, info *SigInfo) bool {
	switch sig {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP, unix.SIGSYS:
		return info.Code > 0 && info.Code < SIKernel
	}
	return false
}

// Layout of the amd64 signal frame (arch/x86/include/asm/sigframe.h).
const (
	ucontextSize   = 8 + 8 + 24 + sigcontextSize + 8
	sigcontextSize = 256
	rtSigframeSize = 8 + ucontextSize + 128
	redZone        = 128
	// ucFlags: the FP state is an XSAVE image; the frame carries ss and
	// restores it strictly.
	ucFPXState          = 0x1
	ucSigcontextSS      = 0x2
	ucStrictRestoreSS   = 0x4
	fpstateAlign        = 64
	userCS, userSS      = 0x33, 0x2b
	eflagsFixMask       = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000 // AC OF DF TF SF ZF AF PF CF RF
	eflagsHandlerClears = 0x400 | 0x100 | 0x10000                                                    // DF TF RF
)

// deliverToHandler writes an rt_sigframe for info and points the task at
// the handler, as Linux's setup_rt_frame does.
//
// Preconditions: k.mu is not held; called by the task's goroutine.
func (t *Task) deliverToHandler(info *SigInfo, act SigAction) error {
	t.finishSyscallRestart(true, act.Flags)
	if act.Flags&SARestorer == 0 {
		// x86-64 has no kernel-provided return trampoline.
		return unix.EFAULT
	}
	regs := &t.st.Regs
	sp := regs.Rsp - redZone
	onStack := t.altStack.onStack(regs.Rsp)
	if act.Flags&SAOnStack != 0 && t.altStack.Size != 0 && t.altStack.Flags&SSDisable == 0 && !onStack {
		sp = t.altStack.SP + t.altStack.Size
	}
	if err := t.ctx.PullFPState(&t.st); err != nil {
		return err
	}
	fp := sigframeFP(t.st.FP)
	fpAddr := (sp - uint64(len(fp))) &^ (fpstateAlign - 1)
	frame := ((fpAddr-rtSigframeSize+8)&^15 - 8)
	if _, err := t.CopyOut(fpAddr, fp); err != nil {
		return err
	}

	t.k.mu.Lock()
	oldMask := t.sigmask
	if t.haveSavedMask {
		oldMask = t.savedMask
	}
	t.k.mu.Unlock()

	b := make([]byte, rtSigframeSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], act.Restorer)
	uc := b[8:]
	ucFlags := uint64(ucSigcontextSS | ucStrictRestoreSS)
	if len(fp) > arch.FPStateSize {
		ucFlags |= ucFPXState
	}
	le.PutUint64(uc[0:], ucFlags)
	le.PutUint64(uc[8:], 0) // uc_link
	ssFlags := uint32(0)
	switch {
	case t.altStack.Size == 0 || t.altStack.Flags&SSDisable != 0:
		ssFlags = SSDisable
	case onStack:
		ssFlags = SSOnStack
	}
	le.PutUint64(uc[16:], t.altStack.SP)
	le.PutUint32(uc[24:], ssFlags)
	le.PutUint64(uc[32:], t.altStack.Size)
	sc := uc[40:]
	for i, v := range []uint64{regs.R8, regs.R9, regs.R10, regs.R11, regs.R12, regs.R13, regs.R14, regs.R15,
		regs.Rdi, regs.Rsi, regs.Rbp, regs.Rbx, regs.Rdx, regs.Rax, regs.Rcx, regs.Rsp, regs.Rip, regs.Eflags} {
		le.PutUint64(sc[8*i:], v)
	}
	le.PutUint16(sc[144:], userCS)
	le.PutUint16(sc[146:], 0) // gs
	le.PutUint16(sc[148:], 0) // fs
	le.PutUint16(sc[150:], userSS)
	if isFaultSignal(unix.Signal(info.Signo), info) {
		le.PutUint64(sc[152:], t.faultErr)                           // err
		le.PutUint64(sc[160:], faultTrapNo(unix.Signal(info.Signo))) // trapno
		le.PutUint64(sc[176:], t.faultAddr)                          // cr2
	}
	le.PutUint64(sc[168:], uint64(oldMask)) // oldmask
	le.PutUint64(sc[184:], fpAddr)          // fpstate
	le.PutUint64(uc[40+sigcontextSize:], uint64(oldMask))
	copy(b[8+ucontextSize:], info.Bytes())
	if _, err := t.CopyOut(frame, b); err != nil {
		return err
	}

	regs.Rip = act.Handler
	regs.Rsp = frame
	regs.Rdi = uint64(info.Signo)
	regs.Rsi = frame + 8 + ucontextSize
	regs.Rdx = frame + 8
	regs.Rax = 0
	regs.Eflags &^= eflagsHandlerClears
	// The handler starts with a clean FPU, as on Linux.
	t.st.FP = arch.InitialFPState()
	return t.ctx.PushFPState(&t.st)
}

func faultTrapNo(sig unix.Signal) uint64 {
	switch sig {
	case unix.SIGSEGV, unix.SIGBUS:
		return 14 // #PF
	case unix.SIGFPE:
		return 0 // #DE
	case unix.SIGILL:
		return 6 // #UD
	case unix.SIGTRAP:
		return 3 // #BP
	}
	return 0
}

// SigReturn implements rt_sigreturn(2): it restores the registers, mask,
// alternate stack and FP state saved in the frame at rsp-8, and returns the
// restored rax (so the syscall return does not clobber it).
func (t *Task) SigReturn() (uint64, error) {
	regs := &t.st.Regs
	frame := regs.Rsp - 8
	b := make([]byte, rtSigframeSize)
	if _, err := t.CopyIn(frame, b); err != nil {
		return 0, t.sigreturnFailed()
	}
	le := binary.LittleEndian
	uc := b[8:]
	sc := uc[40:]
	var g [18]uint64
	for i := range g {
		g[i] = le.Uint64(sc[8*i:])
	}
	nr := *regs
	nr.R8, nr.R9, nr.R10, nr.R11, nr.R12, nr.R13, nr.R14, nr.R15 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
	nr.Rdi, nr.Rsi, nr.Rbp, nr.Rbx, nr.Rdx, nr.Rax, nr.Rcx, nr.Rsp, nr.Rip = g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16]
	nr.Eflags = (regs.Eflags &^ eflagsFixMask) | (g[17] & eflagsFixMask)
	nr.Orig_rax = ^uint64(0)
	mask := SigSet(le.Uint64(uc[40+sigcontextSize:]))
	t.k.mu.Lock()
	t.sigmask = mask &^ unblockable
	t.k.mu.Unlock()
	// uc_stack is restored like a sigaltstack call; a bad one is ignored
	// as Linux's restore_altstack does.
	if !t.OnAltStack() {
		ss := SignalStack{SP: le.Uint64(uc[16:]), Flags: le.Uint32(uc[24:]), Size: le.Uint64(uc[32:])}
		if ss.Flags&SSDisable != 0 {
			t.altStack = SignalStack{Flags: SSDisable}
		} else if ss.Size >= minSigStackSize {
			t.altStack = SignalStack{SP: ss.SP, Size: ss.Size}
		}
	}
	fp := arch.InitialFPState()
	if fpAddr := le.Uint64(sc[184:]); fpAddr != 0 {
		var err error
		if fp, err = t.sigreturnFP(fpAddr); err != nil {
			return 0, t.sigreturnFailed()
		}
	}
	t.st.FP = fp
	if err := t.ctx.PushFPState(&t.st); err != nil {
		return 0, t.sigreturnFailed()
	}
	*regs = nr
	t.restartErrno = 0
	return nr.Rax, nil
}

// sigframeFP returns the FP area of a signal frame for a task whose state
// is fp: as Linux writes it, the XSAVE image of every component the host
// enables, with struct _fpx_sw_bytes in the legacy area's software bytes
// and FP_XSTATE_MAGIC2 after it; the legacy FXSAVE area alone on a host
// without XSAVE.
func sigframeFP(fp []byte) []byte {
	x := arch.HostXState()
	if !x.HasXSAVE() {
		out := make([]byte, arch.FPStateSize)
		copy(out, fp)
		return out
	}
	out := make([]byte, x.Size+arch.FPXStateMagic2Size)
	copy(out[:x.Size], fp)
	le := binary.LittleEndian
	if len(fp) < arch.XSaveHeaderEnd {
		// A legacy image: every other component is in its initial
		// state.
		le.PutUint64(out[arch.XSaveHeaderOffset:], arch.XFeatureX87|arch.XFeatureSSE)
	}
	sw := out[arch.FPSwBytesOffset:arch.FPStateSize]
	clear(sw)
	le.PutUint32(sw[0:], arch.FPXStateMagic1)
	le.PutUint32(sw[4:], uint32(x.Size+arch.FPXStateMagic2Size)) // extended_size
	le.PutUint64(sw[8:], x.Features)                             // xfeatures
	le.PutUint32(sw[16:], uint32(x.Size))                        // xstate_size
	le.PutUint32(out[x.Size:], arch.FPXStateMagic2)
	return out
}

// sigreturnFP reads the FP state of the signal frame at addr as Linux's
// fpu__restore_sig does: the XSAVE image when the software bytes and the
// trailing magic vouch for one (only the components both it and the host
// name), else the legacy area alone, the other components reset.
func (t *Task) sigreturnFP(addr uint64) ([]byte, error) {
	fp := make([]byte, arch.FPStateSize)
	if _, err := t.CopyIn(addr, fp); err != nil {
		return nil, err
	}
	x := arch.HostXState()
	le := binary.LittleEndian
	sw := fp[arch.FPSwBytesOffset:]
	features := uint64(arch.XFeatureX87 | arch.XFeatureSSE)
	if size := int(le.Uint32(sw[16:])); x.HasXSAVE() && le.Uint32(sw[0:]) == arch.FPXStateMagic1 &&
		size >= arch.XSaveHeaderEnd && size <= x.Size && size+arch.FPXStateMagic2Size <= int(le.Uint32(sw[4:])) {
		img := make([]byte, size+arch.FPXStateMagic2Size)
		if _, err := t.CopyIn(addr, img); err != nil {
			return nil, err
		}
		if le.Uint32(img[size:]) == arch.FPXStateMagic2 {
			fp, features = img[:size], le.Uint64(sw[8:])
		}
	}
	clear(fp[arch.FPSwBytesOffset:arch.FPStateSize])
	x.SanitizeFP(fp, features)
	return fp, nil
}

// minSigStackSize is MINSIGSTKSZ.
const minSigStackSize = 2048

// sigreturnFailed kills the task with SIGSEGV, as a bad frame does on Linux.
func (t *Task) sigreturnFailed() error {
	t.forceFaultSignal(unix.SIGSEGV, 1 /* SEGV_MAPERR */, 0, 0)
	return nil
}

// SigMask returns the blocked set.
func (t *Task) SigMask() SigSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.sigmask
}

// SetSigMask replaces the blocked set (SIGKILL and SIGSTOP stay
// unblocked) and returns the old one.
func (t *Task) SetSigMask(mask SigSet) SigSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	old := t.sigmask
	t.sigmask = mask &^ unblockable
	return old
}

// WaitForSignals sleeps, as rt_sigtimedwait does, until a signal of set
// or another unblocked one is pending, or until deadline (zero: none); it
// reports whether the deadline passed. The awaited signals are unblocked
// while it sleeps, so that they wake the task, but still count as blocked
// for ignoring: a blocked signal whose action is to be ignored (SIGCHLD
// by default) is queued for the caller to take, not discarded.
func (t *Task) WaitForSignals(set SigSet, deadline time.Time) (timedOut bool) {
	t.k.mu.Lock()
	old := t.sigmask
	t.realBlocked = old
	t.sigmask = old &^ set &^ unblockable
	t.k.mu.Unlock()
	timedOut, _ = t.BlockUntil(nil, deadline)
	t.k.mu.Lock()
	t.sigmask, t.realBlocked = old, 0
	t.k.mu.Unlock()
	return timedOut
}

// SetSavedSigMask installs mask until the next signal delivery, after
// which the current mask comes back (rt_sigsuspend).
func (t *Task) SetSavedSigMask(mask SigSet) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.savedMask = t.sigmask
	t.haveSavedMask = true
	t.sigmask = mask &^ unblockable
}

// RestoreSavedSigMask undoes SetSavedSigMask when no signal was delivered.
func (t *Task) RestoreSavedSigMask() {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if t.haveSavedMask {
		t.sigmask = t.savedMask
		t.haveSavedMask = false
	}
}

// PendingSignals returns the signals pending for the task (its own and its
// process's).
func (t *Task) PendingSignals() SigSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pending.set | t.tg.pending.set
}

// SigAction returns the action for sig and, when act is not nil, replaces
// it. SIGKILL and SIGSTOP cannot be changed.
func (t *Task) SigAction(sig unix.Signal, act *SigAction) (SigAction, error) {
	if sig < 1 || sig > NumSignals {
		return SigAction{}, unix.EINVAL
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	old := t.tg.handlers.actions[sig]
	if act == nil {
		return old, nil
	}
	if sig == unix.SIGKILL || sig == unix.SIGSTOP {
		return old, unix.EINVAL
	}
	t.tg.handlers.actions[sig] = *act
	// Setting SIG_IGN (or SIG_DFL for an ignored-by-default signal)
	// discards pending instances, blocked or not, as POSIX requires.
	if act.Handler == SigIgn || act.Handler == SigDfl && defaultActionOf(sig) == actIgnore {
		t.tg.pending.discard(sigBit(sig))
		for task := range t.tg.tasks {
			task.pending.discard(sigBit(sig))
		}
	}
	return old, nil
}

// DequeueSignal removes a pending signal in set (rt_sigtimedwait).
func (t *Task) DequeueSignal(set SigSet) *SigInfo {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if info := t.pending.dequeue(^set); info != nil {
		return info
	}
	return t.tg.pending.dequeue(^set)
}

// SendSignalToSelf sends sig to the calling task as the kernel's
// send_sig does (SIGPIPE on a broken pipe, SIGXFSZ).
func (t *Task) SendSignalToSelf(sig unix.Signal) {
	info := &SigInfo{Signo: int32(sig), Code: SIUser}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	info.SetPIDKUID(t.tg.id, t.creds.UID)
	info.sender = t.tg
	t.k.sendLocked(t.tg, t, info)
}

// MaySignal reports whether t may send a signal to tg (kill_ok_by_cred):
// CAP_KILL in the target's user namespace, or a real or effective user ID
// matching the target's real or saved one.
func (t *Task) MaySignal(tg *ThreadGroup) bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	target := tg.leader
	if _, live := tg.tasks[target]; !live {
		for task := range tg.tasks {
			target = task
			break
		}
	}
	if target == nil {
		return true
	}
	c, tc := &t.creds, &target.creds
	if c.HasCapIn(tc.UserNamespace(), CapKill) {
		return true
	}
	return c.EUID == tc.SUID || c.EUID == tc.UID || c.UID == tc.SUID || c.UID == tc.UID
}
