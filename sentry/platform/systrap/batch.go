package systrap

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// Batched address-space edits.
//
// Every mmap or munmap the sentry makes in a stub is a ptrace injection:
// set the registers, resume, wait for the stop, read the result, two
// context switches and four ptrace calls (~100-250 µs on a virtual machine
// with shadow paging). A fault maps a few runs, a fork write-protects every
// private mapping of the parent, an exec maps the program piece by piece:
// a fork+exec+exit made about 55 of them.
//
// While no thread of the stub runs application code, nothing can observe
// its mappings, so MapFile only queues the call. The queue is run as one
// batch, in one injection, before any thread of the stub runs application
// code again (Switch), when it is full, or with the next Unmap (which must
// be synchronous: the memory file pages it drops may be reused at once). The
// batch's entries are in a page of the memory file that the stub maps
// read-only, and the loop that runs them is stub code executed only by
// threads that never run application code (the factory's first thread or a
// task's editor): the application can neither write the entries nor jump
// into the loop with its own registers (its threads' filter allows no mmap
// from the stub's code page), so a batch is as unforgeable as a single
// injected call.
const (
	// stubBatchOffset is where batchCode sits in the code page, after the
	// injection point.
	stubBatchOffset = stubCodeOffset + 8
	stubBatchAddr   = stubStart + stubBatchOffset
	// stubBatchPage is where each stub maps its page of batch entries.
	stubBatchPage = stubEnd
	// batchEntrySize is one entry: the system call number and six
	// arguments, 8 bytes each.
	batchEntrySize = 7 * 8
	// maxBatch is how many calls a batch holds.
	maxBatch = 64
)

var _ [pageSize - maxBatch*batchEntrySize]struct{} // the entries fit a page
var _ [stubHandlerOffset - stubBatchOffset - 52]struct{}

// batchCode runs the r12 system calls whose entries start at rbx, in order,
// and stops with int3 after the last, or after the first that fails (rax
// holds its -errno and r12 the number of calls not completed, the failed
// one included; 0 when all succeeded):
//
//	test %r12,%r12; je done
//	loop: mov (%rbx),%rax; mov 8(%rbx),%rdi; mov 16(%rbx),%rsi;
//	      mov 24(%rbx),%rdx; mov 32(%rbx),%r10; mov 40(%rbx),%r8;
//	      mov 48(%rbx),%r9; syscall
//	      cmp $-4095,%rax; jae done
//	      add $56,%rbx; dec %r12; jne loop
//	done: int3
var batchCode = []byte{
	0x4d, 0x85, 0xe4, 0x74, 0x2e, 0x48, 0x8b, 0x03, 0x48, 0x8b, 0x7b, 0x08,
	0x48, 0x8b, 0x73, 0x10, 0x48, 0x8b, 0x53, 0x18, 0x4c, 0x8b, 0x53, 0x20,
	0x4c, 0x8b, 0x43, 0x28, 0x4c, 0x8b, 0x4b, 0x30, 0x0f, 0x05, 0x48, 0x3d,
	0x01, 0xf0, 0xff, 0xff, 0x73, 0x09, 0x48, 0x83, 0xc3, 0x38, 0x49, 0xff,
	0xcc, 0x75, 0xd2, 0xcc,
}

// editOp is one queued address-space call.
type editOp struct {
	nr   uintptr
	args [6]uintptr
}

// queueMap queues an mmap of the memory file when no stub thread runs
// application code and the caller is a task thread, and runs it now
// otherwise (with whatever is queued before it).
func (as *addressSpace) queueMap(op editOp) error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	if as.running == 0 && as.p.isTaskThread() {
		as.pending = append(as.pending, op)
		if len(as.pending) < maxBatch {
			return nil
		}
		return as.flushLocked()
	}
	if err := as.flushLocked(); err != nil {
		return err
	}
	_, err := as.edit(op.nr, op.args[:]...)
	return err
}

// editNow runs op after whatever is queued, and returns when the stub's
// mappings reflect it.
func (as *addressSpace) editNow(op editOp) error {
	as.pendMu.Lock()
	defer as.pendMu.Unlock()
	if len(as.pending) > 0 {
		as.pending = append(as.pending, op)
		return as.flushLocked()
	}
	_, err := as.edit(op.nr, op.args[:]...)
	return err
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

// flushLocked runs the queued calls: one alone as a plain injection, more
// as a batch.
//
// Preconditions: as.pendMu is held.
func (as *addressSpace) flushLocked() error {
	ops := as.pending
	as.pending = as.pending[:0]
	switch len(ops) {
	case 0:
		return nil
	case 1:
		_, err := as.edit(ops[0].nr, ops[0].args[:]...)
		return err
	}
	if as.batch.Length() == 0 {
		fr, err := as.p.mf.Allocate(pageSize)
		if err != nil {
			return err
		}
		if _, err := as.edit(unix.SYS_MMAP, stubBatchPage, pageSize, unix.PROT_READ,
			unix.MAP_SHARED|unix.MAP_FIXED, stubMemFD, uintptr(fr.Start)); err != nil {
			as.p.mf.Release(fr)
			return fmt.Errorf("systrap: mapping the batch page: %w", err)
		}
		as.batch = fr
	}
	page := as.p.mf.Slice(as.batch)
	le := binary.LittleEndian
	for i, op := range ops {
		e := page[i*batchEntrySize:]
		le.PutUint64(e, uint64(op.nr))
		for j, a := range op.args {
			le.PutUint64(e[8+8*j:], uint64(a))
		}
	}
	return as.editBatch(len(ops))
}

// releaseBatch drops the queue and the batch page of a released process.
func (as *addressSpace) releaseBatch() {
	as.pendMu.Lock()
	as.pending = nil
	fr := as.batch
	as.batch = memfile.Range{}
	as.pendMu.Unlock()
	if fr.Length() != 0 {
		as.p.mf.Release(fr)
	}
}

// runBatch runs the n entries of the batch page in the stopped thread.
func (t *tracee) runBatch(n int) error {
	regs := t.template
	regs.Rip = stubBatchAddr
	regs.Rbx = stubBatchPage
	regs.R12 = uint64(n)
	regs.Orig_rax = ^uint64(0)
	if err := t.runToTrap(&regs); err != nil {
		return fmt.Errorf("systrap: running a batch of %d calls: %w", n, err)
	}
	if regs.R12 != 0 {
		return fmt.Errorf("systrap: call %d of a batch of %d failed: %w", n-int(regs.R12), n, unix.Errno(-int64(regs.Rax)))
	}
	return nil
}
