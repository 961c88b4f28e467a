package kernel

import (
	"time"

	"golang.org/x/sys/unix"
)

// The sandbox's own OOM killer: Linux's global one (out_of_memory).
//
// Each container with a memory limit has its own killer
// (container_memory.go). The sandbox's memory file, the pod's memory,
// can still run out first: a pod whose containers have no limits, or
// memory no container is charged for. A page fault that finds it full
// then delivered SIGBUS to whichever process faulted; as on Linux, the
// process with the highest badness in the whole sandbox is killed
// instead, the faulting task waits for it to go, and the access is
// retried.

// sandboxOOM is the global OOM killer's state, embedded in Kernel;
// protected by Kernel.mu.
type sandboxOOM struct {
	// oomVictim is the last process it killed, chosen at oomVictimAt.
	oomVictim   *ThreadGroup
	oomVictimAt time.Time
}

// OutOfMemory runs the sandbox's OOM killer for t, whose fault found the
// memory file full: it kills the process with the highest badness
// unless the last victim is still going (and not stuck past
// oomVictimGrace), waits a while for it, and reports whether t should
// retry the access; false when t is dying (chosen, or killed otherwise)
// or nothing can be killed, and the fault's SIGBUS stands.
func (t *Task) OutOfMemory() bool {
	k := t.k
	k.mu.Lock()
	if t.killed || t.tg.exiting {
		k.mu.Unlock()
		return false
	}
	victim := k.oomVictim
	alive := victim != nil && !victim.zombie && len(victim.tasks) > 0
	if !alive || time.Since(k.oomVictimAt) > oomVictimGrace {
		if victim = k.killLargestInSandboxLocked(); victim == nil {
			k.mu.Unlock()
			return false
		}
	}
	return t.awaitOOMVictimLocked(victim)
}

// killLargestInSandboxLocked SIGKILLs the live process with the highest
// badness against the sandbox's memory, logs it as Linux's global OOM
// killer does, and returns it (nil when none may be killed).
//
// Preconditions: k.mu is held.
func (k *Kernel) killLargestInSandboxLocked() *ThreadGroup {
	victim := k.largestLocked(nil, max(k.MemoryLimit/4096, 1))
	if victim == nil {
		return nil
	}
	k.oomVictim, k.oomVictimAt = victim, time.Now()
	k.oomKills++
	if c := victim.container; c != nil {
		// memory.events' oom_kill counts kills by any OOM killer.
		c.oomKills++
	}
	k.printk(klogInfo, "Out of memory: the sandbox's %dkB are in use", k.MemoryLimit>>10)
	k.logKilledLocked("Out of memory", victim)
	victim.killLocked(unix.WaitStatus(unix.SIGKILL))
	return victim
}
