package systrap

import (
	"fmt"

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
// at once). Switch does not wait for the request: the thread it hands back
// does, before it returns to the application (handoff.go).

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
	if !as.holding {
		if as.maps.claim(op) {
			return nil
		}
		as.maps.apply(op)
	}
	as.pending = append(as.pending, op)
	if as.holding || as.running == 0 && len(as.pending) < maxBatch {
		return nil
	}
	return as.flushLocked(false)
}

// editNow runs op after whatever is queued, and returns when the stub's
// mappings reflect it. During a reload it is only queued: no thread runs,
// and the pages an munmap frees were never mapped (the held mappings of
// them come before it).
func (as *addressSpace) editNow(op editOp) error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	as.pending = append(as.pending, op)
	if as.holding {
		return nil
	}
	as.maps.apply(op)
	return as.flushLocked(false)
}

// beginRun has the queued calls made before t runs application code, and
// counts t as running until endRun. When no thread of the process runs
// application code, the last request is only posted, and t waits for it
// itself (handoff.go).
func (as *addressSpace) beginRun(t *stubThread) error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	if as.releasing {
		return errStubDied
	}
	if as.holding {
		return errReloading
	}
	// The mappings a recycled process kept that this address space did
	// not ask for go before any of its code runs (hostmaps.go).
	as.pending = append(as.pending, as.maps.purgeKept()...)
	if len(as.pending) > 0 {
		if err := as.flushLocked(as.running == 0); err != nil {
			return err
		}
	}
	// Every thread handed back while a posted request is outstanding
	// waits for it: none may run application code before it is made.
	t.waitSeq = 0
	if as.sys != nil {
		seq, err := as.pollPostedLocked()
		if err != nil {
			return err
		}
		t.waitSeq = seq
	}
	t.msg.WaitSeq = t.waitSeq
	as.running++
	return nil
}

// endRun says a stub thread stopped running application code.
func (as *addressSpace) endRun() {
	as.pendMu.Lock()
	as.running--
	as.pendMu.Unlock()
}

// editFailure returns the error of the request t waited for, which the
// hand-off reported failed (an editFailedSigno event).
func (as *addressSpace) editFailure(t *stubThread) error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	if as.sys == nil {
		return errStubDied
	}
	if err := as.settlePostedLocked(); err != nil {
		return err
	}
	if s := as.sys; t.waitSeq != 0 && s.failedSeq == t.waitSeq {
		return s.failedErr
	}
	return fmt.Errorf("systrap: stub thread reported a failed mapping request %d it was not waiting for", t.waitSeq)
}

// flushLocked runs the queued calls, maxBatch at a time; with post set, it
// only posts the last request (postAsync). The queue is emptied even when
// a call fails: the error says which, and the calls after it in its
// request are not made.
//
// Preconditions: as.pendMu is held.
func (as *addressSpace) flushLocked(post bool) error {
	err := as.flushQueueLocked(post)
	if err != nil {
		as.maps.lost = true
	}
	return err
}

// flushQueueLocked is flushLocked but for recording a failure.
func (as *addressSpace) flushQueueLocked(post bool) error {
	ops := as.pending
	as.pending = as.pending[:0]
	for len(ops) > 0 {
		// Once the process is reaped its thread IDs may be another's,
		// and a request could wait for a thread that only seems alive.
		if as.sys == nil || as.sys.tid == 0 || as.isReaped() {
			return errStubDied
		}
		n := min(len(ops), maxBatch)
		// The entries of a request still outstanding are in use.
		if err := as.settlePostedLocked(); err != nil {
			return err
		}
		for i, op := range ops[:n] {
			as.sys.putEntry(i, op)
		}
		ops = ops[n:]
		if post && len(ops) == 0 {
			as.postAsync(n)
			return nil
		}
		if err := as.runSys(n); err != nil {
			return err
		}
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
