package kernel

import (
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Exit ends the calling task with exit code code (exit(2)).
func (t *Task) Exit(code int) {
	t.k.mu.Lock()
	t.killed = true
	t.exitStatus = code & 0xff
	t.k.mu.Unlock()
}

// ExitGroup ends the task's whole process with exit code code.
func (t *Task) ExitGroup(code int) {
	t.killGroup(unix.WaitStatus((code & 0xff) << 8))
}

// exit releases the task's resources and, for the last task of its
// group, turns the group into a zombie (or reaps it) and tells its parent.
// Called by the task's goroutine when run returns.
func (t *Task) exit() {
	// The robust list and PI futexes first, as Linux's mm_release does:
	// a joiner woken through the child TID below must find the dead
	// thread's robust locks already marked FUTEX_OWNER_DIED.
	t.releaseFutexes(true)
	if t.clearChildTID != 0 && t.mm != nil {
		// CLONE_CHILD_CLEARTID: zero the word and wake one waiter, which
		// is how pthread_join learns a thread has gone.
		var zero [4]byte
		if _, err := t.mm.CopyOut(t.clearChildTID, zero[:]); err == nil {
			_, _ = t.k.futexes.wake(t, t.clearChildTID, false, 1, futexBitsetAny)
		}
	}
	// SEM_UNDO adjustments apply before the parent can see the exit.
	t.exitSem()
	t.exitShm()
	if ipc := t.ipc.Swap(nil); ipc != nil {
		ipc.decUsers()
	}
	t.setNetNS(nil)
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}
	if t.ctx != nil {
		// Before the address space goes: the platform ends the stub
		// threads this task's thread holds.
		t.ctx.Release()
	}
	if t.mm != nil {
		t.foldMaxRSS(t.mm)
		t.mm.DecUsers()
	}
	if t.fds != nil {
		t.fds.DecRef()
	}
	if t.fs != nil {
		t.fs.decRef()
	}

	k := t.k
	k.mu.Lock()
	var hangup *devpts.TTY
	defer func() {
		k.mu.Unlock()
		if hangup != nil {
			// A session leader's exit hangs up its terminal
			// (disassociate_ctty), outside k.mu: the terminal
			// signals process groups through the kernel.
			hangup.Disassociate(true)
		}
	}()
	tg := t.tg
	t.stopThreadCPUTimersLocked()
	delete(k.tasks, t.tid)
	k.releaseIDLocked(t.tid)
	delete(tg.tasks, t)
	if t == tg.leader {
		// Without a group exit, a process's status is its leader's
		// exit code, whichever thread leaves last.
		tg.leaderExitCode = t.exitStatus
	}
	tg.exitedUserNS += t.userNS.Load()
	tg.exitedSysNS += t.sysNS.Load()
	k.exitedTraps += t.traps.Load()
	tg.exitedFaults.add(t.pageFaults())
	if len(tg.tasks) == 0 {
		status := tg.exitStatus
		if !tg.exiting {
			status = unix.WaitStatus(tg.leaderExitCode << 8)
			tg.exiting = true
			tg.exitStatus = status
		}
		hangup = tg.releaseSessionTTYLocked()
		tg.exitLocked()
	}
	close(t.done)
	if len(k.tasks) == 0 {
		select {
		case <-k.initExited:
		default:
			close(k.initExited)
		}
	}
}

// exitLocked runs when the group's last task has exited: children go to a
// reaper, the parent is told, and the group becomes a zombie unless the
// parent does not want one. When init exits, every other process in its
// namespace is killed; the init of a namespace below the root becomes a
// zombie only once they have all been reaped (pidns.go).
//
// Preconditions: k.mu is held; tg has no tasks.
func (tg *ThreadGroup) exitLocked() {
	tg.stopTimersLocked(false)
	tg.sendPDeathSignalsLocked()
	reaper := tg.reaperLocked()
	for child := range tg.children {
		delete(tg.children, child)
		child.parent = reaper
		if reaper == nil {
			if child.zombie {
				child.reapLocked()
			}
			continue
		}
		reaper.children[child] = struct{}{}
		if child.zombie {
			reaper.notifyChildEventLocked()
		}
	}
	if ns := tg.pidns; !ns.isRoot() && ns.init == tg && ns.initExitedLocked(tg) {
		return
	}
	tg.finishExitLocked()
}

// finishExitLocked makes tg a zombie (or reaps it) and tells its parent.
//
// Preconditions: k.mu is held; tg has exited (exitLocked).
func (tg *ThreadGroup) finishExitLocked() {
	k := tg.k
	tg.zombie = true
	close(tg.exited)
	tg.exitQueue.Notify(waiter.EventIn | waiter.EventHUp)
	u, s := tg.cpuTimeLocked()
	k.exitedCPUNS += u + s
	if c := tg.container; c != nil {
		// A container's init kills only its own container.
		c.processExitedLocked(tg)
	} else if tg.isInitLocked() && tg.pidns.isRoot() {
		// The sandbox's init (cocoon do): its namespace is the
		// kernel's.
		k.initStatus = exitCode(tg.exitStatus)
		for _, other := range k.threadGroups {
			if other != tg {
				other.killLocked(unix.WaitStatus(unix.SIGKILL))
			}
		}
	}
	p := tg.parent
	if p == nil {
		tg.reapLocked()
		return
	}
	sigchld := p.handlers.actions[unix.SIGCHLD]
	autoReap := tg.exitSignal == unix.SIGCHLD && (sigchld.Handler == SigIgn || sigchld.Flags&SANoCldWait != 0)
	if tg.exitSignal != 0 {
		info := &SigInfo{Signo: int32(tg.exitSignal)}
		info.SetPIDKUID(tg.id, tg.leader.creds.UID)
		info.sender = tg
		switch ws := tg.exitStatus; {
		case ws.Signaled() && ws.CoreDump():
			info.Code = CLDDumped
			info.SetStatus(int32(ws.Signal()))
		case ws.Signaled():
			info.Code = CLDKilled
			info.SetStatus(int32(ws.Signal()))
		default:
			info.Code = CLDExited
			info.SetStatus(int32(ws.ExitStatus()))
		}
		k.sendLocked(p, nil, info)
	}
	if autoReap {
		tg.reapLocked()
	}
	p.notifyChildEventLocked()
}

// reapLocked removes a zombie for good.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) reapLocked() {
	tg.reaped = true
	if tg.parent != nil {
		delete(tg.parent.children, tg)
		u, s := tg.cpuTimeLocked()
		tg.parent.childUserNS += u + tg.childUserNS
		tg.parent.childSysNS += s + tg.childSysNS
		tg.parent.childMaxRSS = max(tg.parent.childMaxRSS, tg.maxRSS, tg.childMaxRSS)
		tg.parent.childFaults.add(tg.processFaultsLocked())
		tg.parent.childFaults.add(tg.childFaults)
	}
	k := tg.k
	delete(k.threadGroups, tg.id)
	k.releaseIDLocked(tg.id)
	k.releaseIDLocked(tg.pgid)
	k.releaseIDLocked(tg.sid)
	tg.threadGroupReapedLocked()
}

// exitCode converts a wait status to a shell-style exit code.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// WaitInit blocks until init and every other task of the sandbox have
// exited, and returns init's exit code (128+N for signal N).
func (k *Kernel) WaitInit() int {
	<-k.initExited
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.initStatus
}
