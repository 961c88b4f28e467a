package kernel

import (
	"golang.org/x/sys/unix"
)

// Dumpable returns PR_GET_DUMPABLE.
func (t *Task) Dumpable() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.dumpable
}

// SetDumpable sets PR_SET_DUMPABLE.
func (t *Task) SetDumpable(v bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.dumpable = v
}

// PDeathSig returns PR_GET_PDEATHSIG.
func (t *Task) PDeathSig() unix.Signal {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pdeathsig
}

// SetPDeathSig sets the signal the task gets when its parent exits.
func (t *Task) SetPDeathSig(sig unix.Signal) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.pdeathsig = sig
}

// NoNewPrivs returns PR_GET_NO_NEW_PRIVS.
func (t *Task) NoNewPrivs() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.noNewPrivs
}

// SetNoNewPrivs sets PR_SET_NO_NEW_PRIVS (it can never be cleared).
func (t *Task) SetNoNewPrivs() {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.noNewPrivs = true
}

// Personality returns the personality word and, when set is true,
// replaces it.
func (t *Task) Personality(v uint32, set bool) uint32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	old := t.personality
	if set {
		t.personality = v
	}
	return old
}

// KeepCaps returns PR_GET_KEEPCAPS.
func (t *Task) KeepCaps() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.keepCaps
}

// SetKeepCaps sets PR_SET_KEEPCAPS.
func (t *Task) SetKeepCaps(v bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.keepCaps = v
}

// sendPDeathSignalsLocked sends each child of tg its parent-death signal:
// the parent thread that created it is gone (the sandbox tracks it per
// process).
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) sendPDeathSignalsLocked() {
	for child := range tg.children {
		for task := range child.tasks {
			if task.pdeathsig != 0 {
				info := &SigInfo{Signo: int32(task.pdeathsig), Code: SIUser}
				info.SetPIDKUID(tg.id, tg.leader.creds.UID)
				info.sender = tg
				tg.k.sendLocked(child, task, info)
			}
		}
	}
}
