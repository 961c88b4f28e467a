package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// A container's memory is accounted like a memory cgroup's: its address
// spaces charge the pages they populate to the container's
// mm.MemCgroup, and a charge past the container's limit wakes its OOM
// killer, which SIGKILLs the container's process holding the most memory,
// as Linux's memcg OOM killer picks the task with the highest badness.

// MemCgroup returns the container's memory account.
func (c *Container) MemCgroup() *mm.MemCgroup { return c.memcg }

// SetMemoryLimit sets the container's memory limit in bytes (0: none).
// Lowering it below the usage kills, as writing memory.limit_in_bytes
// does when reclaim cannot make room.
func (c *Container) SetMemoryLimit(bytes uint64) { c.memcg.SetLimit(bytes) }

// OOMKills returns how many processes of the container the OOM killer
// has killed.
func (c *Container) OOMKills() uint64 {
	c.k.mu.Lock()
	defer c.k.mu.Unlock()
	return c.oomKills
}

// OOMKills returns how many processes the OOM killers have killed since
// the kernel started.
func (k *Kernel) OOMKills() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.oomKills
}

// watchMemory runs the container's OOM killer until the container is
// done.
func (c *Container) watchMemory() {
	for {
		select {
		case <-c.memcg.OverLimit():
			c.k.oomKill(c)
		case <-c.done:
			return
		}
	}
}

// SettleMemoryCharge runs the OOM path of t's container while its memory
// account is past its limit, if t's own faults or copies populated pages
// of its address space since it last looked (mm.TakeChargedOver), as
// Linux's try_charge runs the memcg OOM killer in the charging task
// before the allocation completes: that task waits for the victim to go
// (or is the victim) before it runs on, while the container's tasks that
// allocated nothing are not held up. The container's watcher would kill
// too, but asynchronously: a program that touches its memory and exits at
// once could finish first. It is called where t holds no lock: after
// each system call or fault, and between the chunks of a long copy into
// application memory. It returns false when t is dying.
func (t *Task) SettleMemoryCharge() bool {
	c := t.container
	if c == nil || c.memcg == nil || !t.mm.TakeChargedOver() || !c.memcg.Over() {
		return true
	}
	var w oomWait
	for c.memcg.Over() {
		if !t.k.oomForCharge(c, t, &w) {
			return false
		}
	}
	return true
}

// oomKill kills the live process of c with the most resident pages while
// c is over its limit and no earlier victim is still dying (its pages
// come back when it has gone; killing a second process meanwhile would
// kill for memory that is about to be freed).
func (k *Kernel) oomKill(c *Container) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !c.memcg.Over() || c.oomVictimAliveLocked() {
		return
	}
	k.killLargestLocked(c)
}

// oomVictimAliveLocked reports whether the last process the OOM killer
// chose has not gone yet.
//
// Preconditions: k.mu is held.
func (c *Container) oomVictimAliveLocked() bool {
	v := c.oomVictim
	return v != nil && !v.zombie && len(v.tasks) > 0
}

// killLargestLocked SIGKILLs the live process of c with the highest
// badness, its resident pages weighed by its oom_score_adj against c's
// limit, as Linux's memcg OOM killer picks its victim, and returns it
// (nil when c has none it may kill).
//
// Preconditions: k.mu is held.
func (k *Kernel) killLargestLocked(c *Container) *ThreadGroup {
	victim := k.largestLocked(c, c.memcg.Limit()/4096)
	if victim == nil {
		return nil
	}
	c.oomKills++
	k.oomKills++
	c.oomVictim = victim
	var resident uint64
	if l := victim.leader; l != nil && l.mm != nil {
		resident = l.mm.ResidentPages()
	}
	k.Log.Info("memory limit reached: killing the container's largest process", "container", c.ID,
		"pid", victim.id, "residentBytes", resident*4096, "oomScoreAdj", victim.oomScoreAdj, "limitBytes", c.memcg.Limit())
	k.logOOMKillLocked(c, victim)
	victim.killLocked(unix.WaitStatus(unix.SIGKILL))
	return victim
}

// largestLocked returns the live process of c (of the whole sandbox when
// c is nil) with the highest badness against totalPages, as Linux's
// select_bad_process chooses; nil when none may be killed.
//
// Preconditions: k.mu is held.
func (k *Kernel) largestLocked(c *Container, totalPages uint64) *ThreadGroup {
	var victim *ThreadGroup
	var most int64
	for _, tg := range k.threadGroups {
		if (c != nil && tg.container != c) || tg.zombie || tg.exiting {
			continue
		}
		points, ok := tg.oomBadnessLocked(totalPages)
		if ok && (victim == nil || points > most) {
			victim, most = tg, points
		}
	}
	return victim
}

// Pages a task allocates outside a page fault (tmpfs data written with
// write(2) or fallocate(2)) are charged to its container's account
// before they exist, and a charge that does not fit takes the OOM path
// below instead of going past the limit (mm/memcg_charge.go): the write
// waits while the container's OOM killer frees memory, and fails with
// ENOMEM when the writer itself is dying, so that a container cannot
// fill a tmpfs past its memory limit.

func init() { mm.SetCallerAccount(callerAccount) }

// callerAccount returns the memory account of the task whose system call
// the calling goroutine runs (introspect.go): its container's, with the
// container's OOM path; nothing for other goroutines and for tasks
// outside pod mode.
func callerAccount() mm.Account {
	t := callerTask()
	if t == nil {
		return mm.Account{}
	}
	return t.memAccount()
}

// memAccount returns the memory account t's allocations outside a page
// fault charge (tmpfs pages, message queue messages): its container's,
// with the container's OOM path; nothing outside pod mode.
func (t *Task) memAccount() mm.Account {
	c := t.container
	if c == nil || c.memcg == nil {
		return mm.Account{}
	}
	var w oomWait
	return mm.Account{Memcg: c.memcg, OOM: func(int64) bool { return t.k.oomForCharge(c, t, &w) }}
}

// oomWait is what one charge knows of the victim it waits for.
type oomWait struct {
	victim *ThreadGroup
	since  time.Time
}

// oomVictimGrace is how long a charge waits for one victim before it has
// another process killed: a victim may be unable to exit until the
// charging task lets go of something (a file description's offset lock
// both use), as Linux's OOM reaper gives up on a victim after about a
// second and lets the OOM killer choose again.
const oomVictimGrace = time.Second

// oomPoll bounds each wait of a charge for an OOM victim to go: a killed
// namespace init stays unreaped while its namespace empties, so its
// exit is watched through its task count as well as its exited channel.
const oomPoll = 5 * time.Millisecond

// oomForCharge is the OOM path of a charge by t to c's account that did
// not fit, as Linux's try_charge calls the memcg OOM killer and retries
// while it makes progress. It kills c's largest process unless an
// earlier victim is still dying, waits a while for the victim to go, and
// reports whether the charge should be tried again: false when t itself
// is dying (it was chosen, or was killed otherwise), which fails the
// charge as Linux's task_is_dying does, or when c has nothing to kill.
// w carries the charge's wait from one call to the next.
func (k *Kernel) oomForCharge(c *Container, t *Task, w *oomWait) bool {
	k.mu.Lock()
	if t.killed || t.tg.exiting {
		k.mu.Unlock()
		return false
	}
	victim := c.oomVictim
	stuck := victim == w.victim && time.Since(w.since) > oomVictimGrace
	if !c.oomVictimAliveLocked() || stuck {
		// A stuck victim is exiting, so it is not chosen again.
		if victim = k.killLargestLocked(c); victim == nil {
			k.mu.Unlock()
			return false
		}
	}
	if victim != w.victim {
		w.victim, w.since = victim, time.Now()
	}
	return t.awaitOOMVictimLocked(victim)
}

// awaitOOMVictimLocked releases k.mu and waits up to oomPoll for the
// victim an OOM killer chose to exit, reporting whether t should retry;
// false, without waiting, when the victim is t's own process. A signal
// does not end the wait: a fatal one ends the caller's retries on its
// next round, and Linux's OOM paths sleep killably only.
//
// Preconditions: k.mu is held.
func (t *Task) awaitOOMVictimLocked(victim *ThreadGroup) bool {
	if victim == t.tg {
		t.k.mu.Unlock()
		return false
	}
	exited := victim.exited
	t.k.mu.Unlock()
	if _, err := t.BlockUntil(exited, time.Now().Add(oomPoll)); err == nil {
		return true
	}
	timer := time.NewTimer(oomPoll)
	defer timer.Stop()
	select {
	case <-exited:
	case <-timer.C:
	}
	return true
}
