package systrap

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/cpuledger"
)

// Recycling stub processes.
//
// A new stub process costs a host fork and two clones (the syscall thread
// and a first application thread): about 2 ms on the development VM, whose
// shadow paging makes process and thread creation expensive, and a
// fork+exec needs two address spaces. So a released address space whose
// process is idle is emptied and kept as a spare instead of killed: the
// next NewAddressSpace gets its process, its syscall thread and its thread
// regions, and only the application threads are new.
//
// Why an emptied process is as good as a fresh one. The application could
// change only what its threads can reach: its threads' registers and
// per-thread host state (through rt_sigreturn frames and arch_prctl), the
// memory mapped below stubStart, and the thread regions; it can make no
// other host system call (filter.go), so it cannot map, unmap, clone,
// install handlers or filters, or change limits. Recycling removes all of
// it before the process serves anyone else:
//
//   - Release unmaps everything below stubStart through the syscall thread
//     before it returns, so the memory-file pages the sentry frees next are
//     out of the process at once, whatever its threads do (munmap is
//     synchronous for every thread of a process).
//   - Every application thread is told to exit, and the process is kept
//     only once the host says each is gone (tgkill(tgid, tid, 0) fails with
//     ESRCH: the factory made every thread of the process, and nothing
//     else can add one). A thread that does not exit in time, because the
//     application faked its hand-off and keeps it busy, gets the whole
//     process killed instead. Threads made ahead that never ran
//     application code stay.
//   - The regions of the exited threads are reused as within a process
//     (regionLocked): each new thread's sysmsg page is cleared, and the
//     sentry trusts nothing on a signal stack anyway.
//   - The syscall thread and the first thread never run application code,
//     and the syscall page is read-only in the process.

// recycleExitTimeout bounds how long recycling waits for the application
// threads to exit; a thread exits within tens of microseconds once woken.
const recycleExitTimeout = 100 * time.Millisecond

// maxSpares is how many address spaces the factory keeps, recycled ones
// included. A process that forks children that live a while (a web
// server forking per connection, make -j, a shell pipeline) has several
// address spaces released at once; with fewer spares than that, each
// next fork found none and waited for a new stub process (a host fork
// and two clones) while recycled ones had just been killed. Under eight
// concurrent connections to a forking web server, 2 spares cost the pod
// 2.02-2.11 ms of CPU per request, 8 spares 1.87-2.02 ms, and the
// factory's share of the sentry's time fell from 13% to 9%.
const maxSpares = 8

// Spares beyond idleSpares are let go once the platform made no address
// space for spareIdleTime: an idle pod does not keep, charged to it, the
// stub processes a burst of forks left (each holds a few host threads,
// their stacks and page tables).
const idleSpares = 2

// spareIdleTime is a variable so tests can shorten it.
var spareIdleTime = 10 * time.Second

// emptyLocked unmaps everything below stubStart, dropping the mappings
// still queued, and reports whether the process is empty. The caller kills
// the process if not.
//
// Preconditions: as.pendMu is held; no thread of the process runs
// application code, and none may start (as.releasing is set).
func (as *addressSpace) emptyLocked() bool {
	as.pending = append(as.pending[:0], munmapOp(0, stubStart))
	as.maps.clear()
	return as.flushLocked(false) == nil
}

// keepableLocked reports whether the released process can keep its
// mappings for its next address space (hostmaps.go): they are all
// known, and every edit made.
//
// Preconditions: as.pendMu is held; as.releasing is set.
func (as *addressSpace) keepableLocked() bool {
	if as.maps.lost || as.holding || len(as.pending) > 0 || as.sys == nil {
		return false
	}
	return as.settlePostedLocked() == nil && as.sys.failedSeq == 0 && !as.maps.lost
}

// endThreads tells the application threads of the released process to
// exit and waits until the host says each is gone; false when one
// outlived the wait.
func (as *addressSpace) endThreads(appThreads []*stubThread) bool {
	for _, t := range appThreads {
		t.msg.Cmd = cmdExit
		t.resume()
	}
	deadline := time.Now().Add(recycleExitTimeout)
	for _, t := range appThreads {
		for unix.Tgkill(as.first.tgid, t.tid, 0) != unix.ESRCH {
			if time.Now().After(deadline) {
				return false
			}
			_ = unix.Nanosleep(&unix.Timespec{Nsec: 20000}, nil)
		}
	}
	return true
}

// recycle waits for the application threads of the emptied, released
// process to exit and returns an address space that owns the process, its
// syscall thread, its mappings, its regions and the threads in idle, or
// nil when a thread outlived the wait.
func (as *addressSpace) recycle(appThreads, idle []*stubThread, regions []*region) *addressSpace {
	if !as.endThreads(appThreads) {
		return nil
	}
	// The process's CPU time so far was its last owner's: the new one's
	// Switches start from a fresh ledger.
	fresh := &addressSpace{p: as.p, first: as.first, threads: make(map[*context]*stubThread), regions: regions, idle: idle, cpu: cpuledger.New(as.first.tgid)}
	held := make(map[*region]bool, len(idle))
	for _, t := range idle {
		t.as = fresh
		held[t.r] = true
	}
	for _, r := range regions {
		if !held[r] {
			fresh.free = append(fresh.free, r)
		}
	}
	// The old address space gives up the process: its kill, and its
	// release of the regions and the syscall page, must not reach it.
	as.pendMu.Lock()
	sys := as.sys
	as.sys = nil
	fresh.maps = as.maps
	as.maps = newHostMaps()
	as.pendMu.Unlock()
	as.reapMu.Lock()
	as.reaped = true
	as.reapMu.Unlock()
	sys.posted, sys.postedCount, sys.failedSeq, sys.failedErr = 0, 0, 0, nil
	fresh.sys = sys
	return fresh
}

// keepSpare hands a recycled address space to the factory, and reports
// whether it kept it (it keeps at most maxSpares). It ends the recycling
// Release counted.
func (p *Platform) keepSpare(as *addressSpace) bool {
	kept := false
	err := p.do(func(*tracee) error {
		p.recycling.Add(-1)
		if len(p.spares) < maxSpares {
			p.spares = append(p.spares, as)
			kept = true
		}
		return nil
	})
	return err == nil && kept
}

// recycled ends the recycling Release counted, of an address space that
// could not be recycled, on the factory's thread, whose next look at its
// spares may then make one.
func (p *Platform) recycled() {
	_ = p.do(func(*tracee) error {
		p.recycling.Add(-1)
		return nil
	})
}
