package systrap

import "github.com/cocoonrt/cocoon/sentry/platform"

// Reloading a process for execve (platform.Reloadable).
//
// A fork+exec used to take two address spaces: the child's copy, then,
// at execve, a spare for the new program, while the copy was emptied and
// recycled, its application thread ended and a new one made for it (a
// clone injected through ptrace: the largest part of what the factory
// spends per fork+exec). When the old program had the process alone and
// the new one gets no privilege (the kernel checks both), the new program
// is loaded into the same process instead: the mappings the loader makes
// are held while it works, since the old program must survive a failed
// execve; the commit removes every old mapping and makes the held ones in
// one request. The task keeps its stub thread. Nothing of the old program
// can reach the new one through the process that it could not have done
// itself: the two run with the same credentials.
//
// The commit keeps the old program's mappings that the new one asks for
// again (hostmaps.go): a shell's child that execs the shell's own binary
// (busybox's applets) maps the same text pages at the same addresses.

var _ platform.Reloadable = (*addressSpace)(nil)

// BeginReload implements platform.Reloadable.BeginReload.
func (as *addressSpace) BeginReload() {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	as.holding = true
	if len(as.pending) > 0 {
		// The old program's queued mappings are dropped, never
		// made: the recorded set no longer says what is mapped.
		as.maps.lost = true
	}
	as.pending = as.pending[:0]
	as.heldTrapTable = as.trapTable.Swap(0)
}

// CommitReload implements platform.Reloadable.CommitReload.
func (as *addressSpace) CommitReload() error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	as.holding = false
	held := as.pending
	as.pending = nil
	if as.maps.lost {
		as.maps.clear()
		as.pending = append(as.pending, munmapOp(0, stubStart))
	} else {
		as.maps.keepAll()
	}
	for _, op := range held {
		if as.maps.claim(op) {
			continue
		}
		as.maps.apply(op)
		as.pending = append(as.pending, op)
	}
	// What the old program mapped and the new one did not ask for.
	as.pending = append(as.pending, as.maps.purgeKept()...)
	return as.flushLocked(false)
}

// AbortReload implements platform.Reloadable.AbortReload. The removal is
// queued: it is made before any thread runs application code again.
func (as *addressSpace) AbortReload() {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	as.holding = false
	as.pending = append(as.pending[:0], munmapOp(0, stubStart))
	as.maps.clear()
	as.trapTable.Store(as.heldTrapTable)
}
