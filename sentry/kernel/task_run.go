package kernel

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/monotime"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// threadFree reports whether task goroutines run unlocked from host
// threads (platform.ThreadFree).
func (k *Kernel) threadFree() bool {
	tf, ok := k.Platform.(platform.ThreadFree)
	return ok && tf.ContextsThreadFree()
}

// goroutine is the body of a task's goroutine. start runs first, on the
// task's thread (the first exec, or a clone child's set-up).
func (t *Task) goroutine(start func() error, started chan<- error) {
	// A platform whose contexts are bound to a host thread gets the task
	// its own, which ends with the task, after the platform released what
	// it bound to it.
	if !t.k.threadFree() {
		runtime.LockOSThread()
	}
	t.bindGoroutine()
	defer t.unbindGoroutine()
	// The task counts toward the load average until it has exited.
	t.k.load.taskActive()
	defer t.k.load.taskInactive()
	ctx, err := t.k.Platform.NewContext()
	if err == nil {
		t.ctx = ctx
		t.runningCtx.Store(&ctx)
		if start != nil {
			err = start()
		}
	}
	if started != nil {
		started <- err
	}
	if err != nil {
		t.exitStatus = 127
		t.exit()
		return
	}
	t.run()
	t.exit()
	t.releaseKeptScratch()
}

// appOnTaskThread reports whether the platform runs tasks' application
// code on the host threads that switch to them (platform.AppOnTaskThread).
func (k *Kernel) appOnTaskThread() bool {
	a, ok := k.Platform.(platform.AppOnTaskThread)
	return ok && a.AppRunsOnTaskThread()
}

// run runs the task until it exits.
func (t *Task) run() {
	// A task locked to its host thread does its sentry work there, and,
	// on some platforms, its application's: what that thread's clock
	// covers is charged by it (hostThreadCPU).
	if !t.k.threadFree() {
		t.hostCPU.mark()
	}
	appOnThread := t.hostCPU.marked && t.k.appOnTaskThread()
	// The task's context is set once, before run.
	bounder, _ := t.ctx.(platform.UserTimeBounder)
	yielder, _ := t.ctx.(platform.LocalYielder)
	for {
		if !t.prepareToRun() {
			return
		}
		if yielder != nil {
			yielder.SetLocalYield(t.k.Strace == nil && !t.seccomp.Enabled())
		}
		start := monotime.Now()
		trap, err := t.ctx.Switch(t.mm.AddressSpace(), &t.st)
		mid := monotime.Now()
		user := mid - start
		if appOnThread {
			user = t.hostCPU.charge(user)
		} else if bounder != nil {
			user = bounder.BoundUserTime(user)
		}
		t.userNS.Add(int64(user))
		t.traps.Store(t.traps.Load() + 1)
		t.blockedNS = 0
		if err != nil {
			t.k.Log.Error("platform failed to run the task", "tid", t.tid, "err", err)
			t.killGroup(unix.WaitStatus(unix.SIGKILL))
			return
		}
		switch trap.Kind {
		case platform.TrapSyscall:
			t.faults.Reset()
			if trap.Patchable {
				t.mm.PatchSyscall(t.st.Regs.Rip, t.st.Regs.Orig_rax)
			}
			t.syscall()
		case platform.TrapFault:
			if trap.Signo == int(unix.SIGSEGV) && trap.Code == segvPKUErr {
				// The task's own protection-key register (WRPKRU
				// needs no privilege) refused an access its pages
				// allow: nothing to map, the signal is the task's.
				t.forceFaultSignal(unix.SIGSEGV, trap.Code, trap.Addr, pageFaultErrorCode(trap, mm.FaultResult{}, t.st.Regs.Rip)|pfProtection|pfPK)
				break
			}
			res := t.mm.HandleTaskFault(trap.Addr, trap.Access, trap.NotPresent, &t.faults)
			if res.OutOfMemory && t.OutOfMemory() {
				// The OOM killer made room: run the access again.
				break
			}
			if res.Signo == 0 {
				t.countFault(res.Major)
			}
			if res.Signo != 0 {
				if trap.Access == 0 {
					// The platform did not say; the signal
					// frame needs it (pageFaultErrorCode).
					if p, ok := t.ctx.(platform.FaultAccessProber); ok {
						trap.Access = p.FaultAccess()
					}
				}
				t.k.Log.Debug("fault", "tid", t.tid, "addr", fmt.Sprintf("%#x", trap.Addr), "rip", fmt.Sprintf("%#x", t.st.Regs.Rip), "signal", unix.Signal(res.Signo))
				errCode := pageFaultErrorCode(trap, res, t.st.Regs.Rip)
				unhandled := t.forceFaultSignal(unix.Signal(res.Signo), res.Code, trap.Addr, errCode)
				if unhandled && res.Signo == int(unix.SIGSEGV) {
					t.logUnhandledFault(trap.Addr, errCode)
				}
			}
		case platform.TrapException:
			if trap.Signo == int(unix.SIGILL) {
				if syscall, handled := t.mm.PatchedSiteFault(&t.st.Regs); handled {
					if syscall {
						t.syscall()
					}
					break
				}
			}
			if t.forceFaultSignal(unix.Signal(trap.Signo), trap.Code, trap.Addr, 0) {
				t.logUnhandledTrap(unix.Signal(trap.Signo), trap.Code)
			}
		case platform.TrapInterrupted:
		}
		t.SettleMemoryCharge()
		sys := max(monotime.Now()-mid-time.Duration(t.blockedNS), 0)
		if t.hostCPU.marked {
			sys = t.hostCPU.charge(sys)
		} else if t.k.sysCPU != nil {
			sys = t.k.sysCPU.Charge(sys)
		}
		t.sysNS.Add(int64(sys))
		if t.cpuTimersArmed() {
			t.chargeCPUTimers(user + sys)
		}
		if t.userNS.Load()+t.sysNS.Load() >= t.nextCPUCheck {
			t.checkCPULimit()
		}
	}
}

// segvPKUErr is SEGV_PKUERR: a protection key refused the access.
const segvPKUErr = 4

// x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h).
const (
	pfProtection = 1 << 0 // the page was present: a protection fault
	pfWrite      = 1 << 1
	pfUser       = 1 << 2
	pfInstr      = 1 << 4
	pfPK         = 1 << 5
)

// pageFaultErrorCode returns the error code a page fault of the task's
// shows in its signal frame (sigcontext.err), as the hardware reported it
// to Linux: a user-mode fault, a write or an instruction fetch as the
// platform saw the access, or as the memory manager could infer it
// (res.Access) when the platform could not tell (ptrace: a fault the
// host reports without its error code); a fault at the instruction
// pointer is a fetch. A fault on a page that had a mapping is a
// protection fault. Where nothing tells a read from a write (ptrace, an
// address with no mapping), the code says read, as Linux never would for
// a write.
func pageFaultErrorCode(trap platform.Trap, res mm.FaultResult, rip uint64) uint64 {
	access := trap.Access
	if access == 0 {
		access = res.Access
	}
	if access == 0 && trap.Addr == rip {
		access = platform.Execute
	}
	code := uint64(pfUser)
	switch {
	case access&platform.Execute != 0:
		code |= pfInstr
	case access&platform.Write != 0:
		code |= pfWrite
	}
	if !trap.NotPresent && res.Code != mm.SegvMapErr {
		code |= pfProtection
	}
	return code
}

// cpuCheckInterval is how much CPU time a task uses between checks of its
// process's RLIMIT_CPU.
const cpuCheckInterval = int64(10 * time.Millisecond)

// checkCPULimit sends SIGXCPU each second past RLIMIT_CPU's soft limit and
// SIGKILL past the hard one, as Linux does.
func (t *Task) checkCPULimit() {
	t.nextCPUCheck = t.userNS.Load() + t.sysNS.Load() + cpuCheckInterval
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	lim := t.tg.limits[unix.RLIMIT_CPU]
	if lim.Cur == Infinity {
		return
	}
	u, s := t.tg.cpuTimeLocked()
	secs := uint64((u + s) / int64(time.Second))
	switch {
	case lim.Max != Infinity && secs >= lim.Max:
		t.tg.killLocked(unix.WaitStatus(unix.SIGKILL))
	case secs >= lim.Cur && secs >= t.tg.nextXCPU:
		t.tg.nextXCPU = secs + 1
		info := &SigInfo{Signo: int32(unix.SIGXCPU), Code: SIKernel}
		k.sendLocked(t.tg, nil, info)
	}
}

// prepareToRun does what Linux does on the way back to user mode: exits a
// killed task, waits out a group stop, and delivers one signal. It returns
// false when the task must exit.
func (t *Task) prepareToRun() bool {
	for {
		t.k.mu.Lock()
		if t.killed || t.tg.exiting {
			t.k.mu.Unlock()
			return false
		}
		if t.tg.stopped {
			resume := t.tg.resume
			t.k.mu.Unlock()
			t.k.load.taskInactive()
			select {
			case <-resume:
			case <-t.interrupt:
			}
			t.k.load.taskActive()
			continue
		}
		info, act := t.dequeueSignalLocked()
		if info == nil {
			t.k.mu.Unlock()
			t.finishSyscallRestart(false, 0)
			// A mask installed for the call (rt_sigsuspend) ends
			// with it when no handler ran.
			t.RestoreSavedSigMask()
			return true
		}
		delivered, again := t.handleSignalLocked(info, act)
		t.k.mu.Unlock()
		if delivered {
			return true
		}
		if !again {
			return false
		}
	}
}

// syscall serves the system call the task stopped for.
func (t *Task) syscall() {
	nr := t.st.SyscallNo()
	args := t.st.Args()
	if t.k.Strace != nil {
		t.k.Strace(t, nr, false, 0)
	}
	t.restartErrno = 0
	var ret uint64
	if skip, r := t.checkSeccompIfEnabled(nr); skip {
		ret = r
	} else {
		ret = t.dispatch(nr, args)
	}
	t.releaseScratch()
	if e := unix.Errno(-int64(ret)); int64(ret) < 0 && isRestartErrno(e) {
		t.restartErrno = e
		t.restartNr = nr
	}
	t.st.SetReturn(ret)
	if t.k.Strace != nil {
		t.k.Strace(t, nr, true, ret)
	}
}

// checkSeccompIfEnabled runs the seccomp check only for tasks that
// installed filters, keeping the common path to one load.
func (t *Task) checkSeccompIfEnabled(nr uint64) (bool, uint64) {
	if !t.seccomp.Enabled() {
		return false, 0
	}
	return t.checkSeccomp(nr)
}

// finishSyscallRestart applies Linux's restart rules to a system call that
// returned one of the ERESTART errors, once we know whether a handler runs
// (handled) and with which flags.
func (t *Task) finishSyscallRestart(handled bool, flags uint64) {
	e := t.restartErrno
	if e == 0 {
		return
	}
	t.restartErrno = 0
	restart := false
	switch e {
	case ERESTARTNOINTR:
		restart = true
	case ERESTARTSYS:
		restart = !handled || flags&SARestart != 0
	case ERESTARTNOHAND, ERESTARTRESTARTBLOCK:
		restart = !handled
	}
	if restart {
		// Re-execute the syscall instruction with the original number,
		// or restart_syscall(2) to continue where the call left off.
		t.st.Regs.Rax = t.restartNr
		if e == ERESTARTRESTARTBLOCK {
			t.st.Regs.Rax = nrRestartSyscall
		}
		t.st.Regs.Rip -= syscallInsnLen
	} else {
		t.st.Regs.Rax = errnoRet(unix.EINTR)
	}
}

// nrRestartSyscall is restart_syscall(2)'s number on amd64.
const nrRestartSyscall = 219

// SetRestartBlock records how restart_syscall(2) continues the current
// system call, which returns ERESTARTRESTARTBLOCK.
func (t *Task) SetRestartBlock(fn func(t *Task) (uint64, error)) { t.restartBlock = fn }

// RestartSyscall runs and clears the recorded continuation; EINTR when
// there is none (restart_syscall called out of turn).
func (t *Task) RestartSyscall() (uint64, error) {
	fn := t.restartBlock
	t.restartBlock = nil
	if fn == nil {
		return 0, unix.EINTR
	}
	return fn(t)
}

// syscallInsnLen is the length of `syscall` (0f 05).
const syscallInsnLen = 2

// forceFaultSignal delivers a synchronous signal caused by the task's own
// instruction: it cannot be blocked or ignored (a blocked or ignored one
// is reset to its default action and kills), as Linux's force_sig does.
// It reports whether the signal was unhandled (forceSignal), for the
// kernel log.
func (t *Task) forceFaultSignal(sig unix.Signal, code int, addr, errCode uint64) bool {
	info := &SigInfo{Signo: int32(sig), Code: int32(code)}
	info.SetAddr(addr)
	t.faultAddr, t.faultErr = addr, errCode
	return t.forceSignal(info)
}

// forceSignal queues info for the task so that it is delivered even if
// blocked or ignored (which then kills), as force_sig_info does. It
// reports whether the signal was unhandled, as unhandled_signal tells
// before the force: no handler (a blocked handler counts as one, though
// the force resets it), or the task is the sandbox's init, whose faults
// are always worth a log line.
func (t *Task) forceSignal(info *SigInfo) (unhandled bool) {
	sig := unix.Signal(info.Signo)
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	act := &t.tg.handlers.actions[sig]
	unhandled = act.Handler == SigDfl || act.Handler == SigIgn || t.tg.id == 1
	if act.Handler == SigIgn || t.sigmask&sigBit(sig) != 0 {
		act.Handler = SigDfl
		t.sigmask &^= sigBit(sig)
	}
	t.pending.enqueue(info)
	return unhandled
}

// killGroup is used by exit_group and fatal signals: it records the
// group's status and kills every task of the group.
func (t *Task) killGroup(status unix.WaitStatus) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.killLocked(status)
}

// killLocked starts the group's exit with status and kicks all its tasks.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) killLocked(status unix.WaitStatus) {
	if tg.exiting {
		return
	}
	tg.exiting = true
	tg.exitStatus = status
	tg.stopped = false
	for task := range tg.tasks {
		task.killed = true
		task.kick()
	}
}
