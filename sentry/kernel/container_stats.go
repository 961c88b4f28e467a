package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// ContainerStats is a container's resource use in the detail the
// daemon's metrics (cAdvisor's container_* set) need. Everything here is
// counted by the kernel itself; nothing is estimated.
type ContainerStats struct {
	// UserCPU and SystemCPU are the CPU time of the container's
	// processes, live and exited, in user mode and in the kernel (the
	// sentry serving their system calls and faults).
	UserCPU, SystemCPU time.Duration
	// Processes and Threads count the live processes and their tasks.
	Processes, Threads int
	// FileDescriptors counts the open descriptors of the container's
	// processes (a table shared with CLONE_FILES counted once), and
	// Sockets those of them that are sockets, as cAdvisor counts the
	// "socket:[...]" links under /proc/[pid]/fd.
	FileDescriptors, Sockets int
	// NoFileSoft is the soft RLIMIT_NOFILE of the container's init
	// (Infinity when unlimited); HasInit is false before init started or
	// after it exited, when there is no such process.
	NoFileSoft uint64
	HasInit    bool
	// MMs are the distinct address spaces of the live tasks.
	MMs []*mm.MemoryManager
	// MemoryUsage is what the container's memory account holds (the
	// pages its address spaces populated and still reference, as a
	// memory cgroup charges them); MemoryPeak its maximum; MemoryFailcnt
	// how many charges went past the limit; MemoryLimit the limit (0:
	// none).
	MemoryUsage, MemoryPeak, MemoryFailcnt, MemoryLimit uint64
	// OOMKills counts the processes the sandbox's OOM killer killed in
	// the container.
	OOMKills uint64
	// PageFaults counts the page faults served for the container's
	// processes, live and exited, and MajorFaults the major ones among
	// them (page_faults.go).
	PageFaults, MajorFaults uint64
	// HasLayer says the sandbox keeps the root's writable layer, whose
	// file data and inodes are LayerBytes and LayerInodes.
	HasLayer                bool
	LayerBytes, LayerInodes uint64
}

// Stats returns c's resource use. The descriptor tables are read after
// k.mu is released (they have a lock of their own; a table released
// meanwhile reads as empty), as the /proc snapshots do.
func (c *Container) Stats() ContainerStats {
	k := c.k
	var st ContainerStats
	var tables []*FDTable
	k.mu.Lock()
	cpu, sys := c.exitedCPUNS, c.exitedSysNS
	faults := c.exitedFaults
	st.Processes = c.live
	st.OOMKills = c.oomKills
	seenMM := make(map[*mm.MemoryManager]bool)
	seenFDs := make(map[*FDTable]bool)
	for _, tg := range k.threadGroups {
		if tg.container != c || tg.zombie {
			continue
		}
		us, sy := tg.cpuTimeLocked()
		cpu += us + sy
		sys += sy
		faults.add(tg.processFaultsLocked())
		st.Threads += len(tg.tasks)
		for t := range tg.tasks {
			if t.mm != nil && !seenMM[t.mm] {
				seenMM[t.mm] = true
				st.MMs = append(st.MMs, t.mm)
			}
			if t.fds != nil && !seenFDs[t.fds] {
				seenFDs[t.fds] = true
				tables = append(tables, t.fds)
			}
		}
	}
	if init := c.init; init != nil && !c.initExited && !init.zombie {
		st.HasInit = true
		st.NoFileSoft = init.limits[unix.RLIMIT_NOFILE].Cur
	}
	k.mu.Unlock()
	st.UserCPU, st.SystemCPU = time.Duration(cpu-sys), time.Duration(sys)
	st.PageFaults, st.MajorFaults = faults.minor+faults.major, faults.major
	for _, t := range tables {
		entries, _ := t.Snapshot()
		for _, e := range entries {
			st.FileDescriptors++
			if isSocket(e) {
				st.Sockets++
			}
			e.File.DecRef()
		}
	}
	if c.layer != nil {
		st.HasLayer = true
		st.LayerBytes, st.LayerInodes = c.layer.DiskUsage()
	}
	if mc := c.memcg; mc != nil {
		st.MemoryUsage, st.MemoryPeak = mc.Usage(), mc.Peak()
		st.MemoryFailcnt, st.MemoryLimit = mc.Failcnt(), mc.Limit()
	}
	return st
}

// isSocket reports whether a descriptor is a socket. Files reached by a
// path (a dentry) never are: open(2) of a socket inode fails, and an
// O_PATH descriptor of one reads as its path in /proc, not "socket:";
// only the others are asked for their type.
func isSocket(e FDEntry) bool {
	if e.File.Dentry() != nil {
		return false
	}
	st, err := e.File.Impl().Stat()
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK
}
