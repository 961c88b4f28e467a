package systrap

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// Batched address-space edits.
//
// Every mmap or munmap the sentry makes in a stub is a request to its
// syscall thread (syscall_thread.go): two hand-offs between threads, which
// on a virtual machine with shadow paging cost tens of microseconds each.
// A fault maps a few runs, a fork write-protects every private mapping of
// the parent, an exec maps the program piece by piece.
//
// While no thread of the stub runs application code, nothing can observe
// its mappings, so MapFile only queues the call. The queue is run as one
// request, of up to maxBatch calls, before any thread of the stub runs
// application code again (Switch), when it is full, or with the next Unmap
// (which must be synchronous: the memory file pages it drops may be reused
// at once).

// editOp is one queued address-space call.
type editOp struct {
	nr   uintptr
	args [6]uintptr
}

// queueMap queues an mmap of the memory file when no stub thread runs
// application code, and runs it now otherwise (with whatever is queued
// before it).
func (as *addressSpace) queueMap(op editOp) error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	as.pending = append(as.pending, op)
	if as.running == 0 && len(as.pending) < maxBatch {
		return nil
	}
	return as.flushLocked()
}

// editNow runs op after whatever is queued, and returns when the stub's
// mappings reflect it.
func (as *addressSpace) editNow(op editOp) error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	as.pending = append(as.pending, op)
	return as.flushLocked()
}

// beginRun runs the queued calls before a stub thread of the process runs
// application code, and counts it as running until endRun.
func (as *addressSpace) beginRun() error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	if err := as.flushLocked(); err != nil {
		return err
	}
	as.running++
	return nil
}

// endRun says a stub thread stopped running application code.
func (as *addressSpace) endRun() {
	as.pendMu.Lock()
	as.running--
	as.pendMu.Unlock()
}

// flushLocked runs the queued calls, maxBatch at a time. The queue is
// emptied even when a call fails: the error says which, and the calls
// after it in its request are not made.
//
// Preconditions: as.pendMu is held.
func (as *addressSpace) flushLocked() error {
	ops := as.pending
	as.pending = as.pending[:0]
	for len(ops) > 0 {
		// Once the process is reaped its thread IDs may be another's,
		// and a request could wait for a thread that only seems alive.
		if as.sys == nil || as.sys.tid == 0 || as.isReaped() {
			return errStubDied
		}
		n := min(len(ops), maxBatch)
		for i, op := range ops[:n] {
			as.sys.putEntry(i, op)
		}
		if err := as.runSys(n); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

// releaseBatch drops the queue and the syscall page of a released process.
func (as *addressSpace) releaseBatch() {
	as.pendMu.Lock()
	as.pending = nil
	var fr memfile.Range
	if as.sys != nil {
		fr = as.sys.fr
	}
	as.sys = nil
	as.pendMu.Unlock()
	if fr.Length() != 0 {
		as.p.mf.Release(fr)
	}
}

// munmapOp is the edit Unmap makes.
func munmapOp(addr, length uint64) editOp {
	return editOp{nr: unix.SYS_MUNMAP, args: [6]uintptr{uintptr(addr), uintptr(length)}}
}
