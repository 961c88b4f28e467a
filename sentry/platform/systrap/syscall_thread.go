package systrap

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// The syscall thread.
//
// Every stub process has one thread that only ever makes the sentry's
// address-space edits (mmap and munmap of the memory file). The factory
// makes it with the process, ahead of use, and lets it go untraced; from
// then on any sentry thread hands it work through shared memory and a
// futex, with no ptrace: an edit costs two futex hand-offs instead of a
// ptrace injection (set the registers, resume, wait for the stop, read the
// registers), and a process needs no "editor" thread per task thread that
// edits it.
//
// The application runs in the same host process and can write every
// writable page there and jump to any instruction of the stub's code, so
// the thread is built so that the application can neither make it run a
// call of its choosing nor fake the completion of one:
//
//   - Requests are entries in the syscall page, a page of the memory file
//     the process maps read-only at sysPageAddr; only the sentry, through
//     its own mapping, writes it.
//   - The thread's code (stub_amd64.s, sysThreadCode) is in the stub's code
//     page; it uses no stack (RSP is 0) and runs with every signal blocked,
//     so nothing in application-writable memory ever steers it: its
//     control flow depends only on its registers, which the application
//     cannot reach, and on the syscall page.
//   - The application's threads reaching that code with registers of their
//     own get no further than its first `syscall`: their filter
//     (threadFilter) allows only the hand-off path's futex, rt_sigreturn,
//     exit and arch_prctl from the code page, and kills the process on
//     mmap, munmap or pwrite. The only threads without that filter are the
//     process's first thread (stopped under the factory's ptrace between
//     injections), a new thread until its start code installs it, and the
//     syscall thread; none of them ever runs application code.
//   - Completion: the thread writes no memory. It reports by pwrite(2) on
//     the memory file (its descriptor 0) into the syscall page, copying the
//     request's sequence number into Done, and on a failure first the
//     count of calls not completed and the errno, each one byte copied from
//     the page's identity table, and the sequence number into Failed. A
//     pwrite is a system call the application's threads are refused, and
//     the page is not writable through any mapping of the process, so
//     Done == Seq can only mean that the syscall thread ran the request to
//     its end: an munmap the sentry asked for has happened (it is
//     synchronous for the whole process) before the sentry reuses the
//     pages. Done is a level, not an event, so the sentry and stub threads
//     may spin on it and sleep on it as on the sysmsg state; the futex wake
//     only shortens a sleep, and a spurious one (the application may wake
//     any futex through the hand-off path) is rechecked against Done.
//   - Who waits for Done: the sentry, for an munmap and for any request
//     made while a thread of the process may run application code; the
//     stub thread being handed back, for the mmaps queued while none could
//     (handoff.go says why that is as safe). Only the stub's code reads
//     Done on the process's side, and it reads it through the read-only
//     mapping.
//
// Layout of the syscall page.
const (
	// sysPageAddr is where every stub process maps its syscall page.
	sysPageAddr = stubEnd
	// The entries: system call number and six arguments, 8 bytes each.
	batchEntrySize = 7 * 8
	// maxBatch is how many calls a request holds.
	maxBatch = 64
	// spSeq is the sequence number of the latest request (sentry); the
	// thread sleeps on it.
	spSeq = 0xe00
	// spCount is how many entries the request holds (sentry).
	spCount = 0xe04
	// spDone is the sequence number of the latest request completed
	// (thread, by pwrite).
	spDone = 0xe08
	// spWakeDone is set when someone may sleep on spDone: the sentry, or
	// stub threads waiting for a request posted at resume (sentry; reset
	// with each request).
	spWakeDone = 0xe0c
	// spRem is the count of calls the failed request did not complete,
	// noFailure when none failed, and spErrno the errno of the failed
	// call (thread, by pwrite; reset by the sentry before each request).
	spRem   = 0xe10
	spErrno = 0xe11
	// spFailed is the sequence number of the latest request that failed
	// (thread, by pwrite).
	spFailed = 0xe14
	// spFileOff is the page's offset in the memory file, where the
	// thread's pwrites go (sentry, once).
	spFileOff = 0xe18
	// spTable is the identity table: byte i holds i.
	spTable = 0xf00

	noFailure = 0xff
)

// Addresses stub_amd64.s names as numbers.
var (
	_ [sysPageAddr - 0x7f0000002000]struct{} // SP_ADDR
	_ [0x7f0000002000 - sysPageAddr]struct{}
	_ [stubDataAddr + dataHandlerAction + 24 - 0x7f0000001018]struct{} // ALL_SIGNALS
	_ [0x7f0000001018 - (stubDataAddr + dataHandlerAction + 24)]struct{}
	_ [stubDataAddr + dataProgThread - 0x7f0000001050]struct{} // PROG_THREAD
	_ [0x7f0000001050 - (stubDataAddr + dataProgThread)]struct{}
	_ [stubThreadEntryAddr - 0x7f0000000108]struct{} // THREAD_ENTRY
	_ [0x7f0000000108 - stubThreadEntryAddr]struct{}
)

var _ [spSeq - maxBatch*batchEntrySize]struct{} // the entries fit below Seq
var _ [pageSize - spTable - 256]struct{}        // the table fits the page
var _ [noFailure - maxBatch - 1]struct{}        // noFailure is no count

// sysThreadSpin is how long the sentry polls Done before it sleeps: the
// thread answers an mmap or munmap within a few microseconds once it runs.
var sysThreadSpin = 20 * time.Microsecond

// stubSysThreadOffset is where the syscall thread's code sits in the code
// page, between the handler and the syshandler.
const (
	stubSysThreadOffset = 0x600
	stubSysThreadAddr   = stubStart + stubSysThreadOffset
)

// sysThreadCode is the syscall thread's code in stub_amd64.s; copied,
// never called.
func sysThreadCode()

// sysThreadCodeStart returns the address of sysThreadCode.
func sysThreadCodeStart() unsafe.Pointer

// sysThreadBytes is the syscall thread's code; stubImage fails with
// sysThreadErr.
var sysThreadBytes, sysThreadErr = loadCode(sysThreadCodeStart(), "syscall thread", stubSysThreadOffset, stubSyshandlerOffset)

// sysThread is the sentry's side of a stub process's syscall thread. Its
// fields and the syscall page are used under the address space's pendMu.
type sysThread struct {
	tid int
	// fr is the syscall page in the memory file, page the sentry's
	// mapping of it.
	fr   memfile.Range
	page []byte
	// seq is the sequence number of the latest request.
	seq uint32
	// posted is the request postAsync made that no sentry thread has
	// seen complete yet, 0 when none, and postedCount its count of calls;
	// its outcome is then recorded in failedSeq and failedErr (the latest
	// such request that failed).
	posted      uint32
	postedCount int
	failedSeq   uint32
	failedErr   error
	// spin adapts the sentry's polling of Done: the thread usually sleeps
	// when a request comes, and when the wake-up takes longer than the
	// poll, polling only takes a CPU the thread could run on.
	spin spinner
}

func (s *sysThread) word(off int) *uint32 {
	return (*uint32)(unsafe.Pointer(&s.page[off]))
}

// startSysThread maps the syscall page in the new process and starts its
// syscall thread.
//
// Preconditions: runs on the factory's thread; as is not shared yet.
func (as *addressSpace) startSysThread() error {
	fr, err := as.p.mf.Allocate(pageSize)
	if err != nil {
		return err
	}
	s := &sysThread{fr: fr, page: as.p.mf.Slice(fr)}
	// Released with the process from here on (releaseBatch).
	as.sys = s
	for i := 0; i < 256; i++ {
		s.page[spTable+i] = byte(i)
	}
	binary.LittleEndian.PutUint64(s.page[spFileOff:], fr.Start)
	if _, err := as.first.syscall(unix.SYS_MMAP, sysPageAddr, pageSize, unix.PROT_READ,
		unix.MAP_SHARED|unix.MAP_FIXED, stubMemFD, uintptr(fr.Start)); err != nil {
		return fmt.Errorf("systrap: mapping the syscall page: %w", err)
	}
	tid, err := cloneThread(as.first, "syscall thread", func(regs *arch.Registers) {
		regs.Rip = stubSysThreadAddr
		regs.Rsp = 0
	})
	if err != nil {
		return err
	}
	s.tid = tid
	return nil
}

// putEntry writes request entry i.
func (s *sysThread) putEntry(i int, op editOp) {
	e := s.page[i*batchEntrySize:]
	le := binary.LittleEndian
	le.PutUint64(e, uint64(op.nr))
	for j, a := range op.args {
		le.PutUint64(e[8+8*j:], uint64(a))
	}
}

// post hands the syscall thread the first n entries as a new request, to
// be made in order up to the first that fails, and returns its sequence
// number; wakeDone says whether the thread must wake Done's sleepers when
// it is done. The previous request must be complete (the entries are
// reused).
func (s *sysThread) post(n int, wakeDone bool) uint32 {
	atomic.StoreUint32(s.word(spCount), uint32(n))
	s.page[spRem], s.page[spErrno] = noFailure, 0
	wake := uint32(0)
	if wakeDone {
		wake = 1
	}
	atomic.StoreUint32(s.word(spWakeDone), wake)
	// 0 is no request: WaitSeq 0 waits for nothing.
	if s.seq++; s.seq == 0 {
		s.seq = 1
	}
	atomic.StoreUint32(s.word(spSeq), s.seq)
	futexWake(s.word(spSeq))
	return s.seq
}

// outcome returns the error of the latest request, which is complete.
func (s *sysThread) outcome(n int) error {
	if rem := s.page[spRem]; rem != noFailure {
		return fmt.Errorf("systrap: call %d of %d failed: %w", n-int(rem), n, unix.Errno(s.page[spErrno]))
	}
	return nil
}

// runSys has the syscall thread make the first n entries' calls, in order,
// stopping at the first that fails, and returns once it has.
//
// Preconditions: as.pendMu is held; no request is outstanding
// (settlePostedLocked).
func (as *addressSpace) runSys(n int) error {
	s := as.sys
	seq := s.post(n, false)
	if err := as.waitSys(seq); err != nil {
		return err
	}
	return s.outcome(n)
}

// postAsync posts the first n entries' calls like runSys, but returns at
// once: the stub thread the caller hands back next waits for the request
// (WaitSeq, handoff.go), and so does every thread handed back until a
// sentry thread sees it complete.
//
// Preconditions: as.pendMu is held; no request is outstanding
// (settlePostedLocked); no thread of the process runs application code.
func (as *addressSpace) postAsync(n int) {
	s := as.sys
	s.posted = s.post(n, true)
	s.postedCount = n
}

// settlePostedLocked waits until the request postAsync made, if any, is
// complete, and records its outcome.
//
// Preconditions: as.pendMu is held.
func (as *addressSpace) settlePostedLocked() error {
	s := as.sys
	if s.posted == 0 {
		return nil
	}
	if err := as.waitSys(s.posted); err != nil {
		return err
	}
	as.recordPostedLocked()
	return nil
}

// pollPostedLocked records the outcome of the request postAsync made when
// it is complete, without waiting, and returns the request still
// outstanding, or 0. A request it finds complete and failed returns its
// error: the thread the caller hands back no longer waits for it, so the
// hand-off would not report the failure.
//
// Preconditions: as.pendMu is held.
func (as *addressSpace) pollPostedLocked() (uint32, error) {
	s := as.sys
	if seq := s.posted; seq != 0 && atomic.LoadUint32(s.word(spDone)) == seq {
		as.recordPostedLocked()
		if s.failedSeq == seq {
			return 0, s.failedErr
		}
	}
	return s.posted, nil
}

// Preconditions: as.pendMu is held; the posted request is complete.
func (as *addressSpace) recordPostedLocked() {
	s := as.sys
	if err := s.outcome(s.postedCount); err != nil {
		s.failedSeq, s.failedErr = s.posted, err
		as.maps.lost = true
	}
	s.posted = 0
}

// waitSys waits until the syscall thread reports request seq done.
func (as *addressSpace) waitSys(seq uint32) error {
	s := as.sys
	done := s.word(spDone)
	if s.spin.enabled() {
		deadline := time.Now().Add(sysThreadSpin)
		hit := false
		for i := 1; ; i++ {
			if atomic.LoadUint32(done) == seq {
				hit = true
				break
			}
			if i%64 == 0 && time.Now().After(deadline) {
				break
			}
		}
		s.spin.record(hit)
		if hit {
			return nil
		}
	}
	// The flag stays set until the next request: stub threads may sleep
	// on Done too (handoff.go), and clearing it could lose their wake-up.
	atomic.StoreUint32(s.word(spWakeDone), 1)
	for {
		d := atomic.LoadUint32(done)
		if d == seq {
			return nil
		}
		errno := futexWait(done, d, &waitTimeout)
		if atomic.LoadUint32(done) == seq {
			return nil
		}
		if errno == unix.ETIMEDOUT && as.stubExited(s.tid) {
			return errStubDied
		}
	}
}
