package kernel

import (
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

// oomKill kills the live process of c with the most resident pages while
// c is over its limit and no earlier victim is still dying (its pages
// come back when it has gone; killing a second process meanwhile would
// kill for memory that is about to be freed).
func (k *Kernel) oomKill(c *Container) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !c.memcg.Over() {
		return
	}
	if v := c.oomVictim; v != nil && !v.zombie && len(v.tasks) > 0 {
		return
	}
	var victim *ThreadGroup
	var most uint64
	for _, tg := range k.threadGroups {
		if tg.container != c || tg.zombie || tg.exiting {
			continue
		}
		var pages uint64
		if l := tg.leader; l != nil && l.mm != nil {
			pages = l.mm.ResidentPages()
		}
		if victim == nil || pages > most {
			victim, most = tg, pages
		}
	}
	if victim == nil {
		return
	}
	c.oomKills++
	c.oomVictim = victim
	k.Log.Info("memory limit reached: killing the container's largest process", "container", c.ID,
		"pid", victim.id, "residentBytes", most*4096, "limitBytes", c.memcg.Limit())
	victim.killLocked(unix.WaitStatus(unix.SIGKILL))
}
