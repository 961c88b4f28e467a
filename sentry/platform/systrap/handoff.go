package systrap

import (
	"time"
	"unsafe"
)

// The hand-off (stub_amd64.s, handoffCode) is the code both of a stub
// thread's ways into the sentry share once they have posted their event:
// the signal handler and the syshandler of patched sites call it. It
// wakes the sentry, waits for the thread to be handed back, and prepares
// its return to the application.
//
// Mappings posted at resume. The sentry queues the mmaps it makes while no
// thread of the process runs application code (batch.go) and must have them
// made before one does. Instead of waiting for the syscall thread to make
// them and then handing the thread back (two hand-offs one after the
// other), Switch posts the request and hands the thread back at once,
// naming the request in the thread's WaitSeq; the hand-off waits until the
// syscall thread reports it done before it returns to the application. The
// syscall thread's work and the stub thread's wake-up overlap, and the
// sentry's wait for Done goes away.
//
// This keeps the syscall thread's guarantees (syscall_thread.go):
//
//   - Only the stub's own code decides to wait, from the read-only code
//     page, and WaitSeq is trusted only while no application code of the
//     process can run: a request is posted without waiting only when no
//     thread of the process runs application code (a queued mmap implies
//     it), and every thread resumed while it is outstanding is named to
//     wait for it, so no thread returns to the application before Done
//     says it is complete. Done is written only by the syscall thread's
//     pwrite, into a page the process maps read-only.
//   - munmap stays synchronous (Unmap waits for Done itself), so the
//     sentry never reuses pages the process might still map.
//   - A failed request is reported by the syscall thread (Failed := Seq,
//     by pwrite, before Done); the hand-off then posts an editFailed event
//     instead of returning, and Switch returns the error.
//
// A stub thread that finds Done behind polls it MSG_SPIN times, then sleeps
// on it with a timeout (handoffDoneTimeout, read from the read-only data
// page); the syscall thread wakes every sleeper on Done after a request
// posted this way.
const (
	// stubHandoffOffset is where the hand-off sits in the code page, up to
	// its end.
	stubHandoffOffset = 0xc00
	stubHandoffAddr   = stubStart + stubHandoffOffset

	// editFailedSigno is the Signo of the event the hand-off posts when
	// the request it waited for failed.
	editFailedSigno = 0x20000

	// handoffDoneTimeout bounds a stub thread's sleep on Done: the wake-up
	// cannot be missed, so this is only a backstop.
	handoffDoneTimeout = 10 * time.Millisecond
)

// Addresses stub_amd64.s names as numbers.
var (
	_ [stubHandoffAddr - 0x7f0000000c00]struct{} // HANDOFF_ADDR
	_ [0x7f0000000c00 - stubHandoffAddr]struct{}
	_ [stubDataAddr + dataDoneTimeout - 0x7f0000001080]struct{} // DONE_TIMEOUT
	_ [0x7f0000001080 - (stubDataAddr + dataDoneTimeout)]struct{}
	// The return address the syshandler's call pushes lies below its
	// fast frame, past the end of the sysmsg fields.
	_ [fastFrameOffset - 8 - unsafe.Sizeof(sysmsg{})]struct{}
)

// handoffCode is the hand-off in stub_amd64.s; copied, never called.
func handoffCode()

// handoffCodeStart returns the address of handoffCode.
func handoffCodeStart() unsafe.Pointer

// handoffBytes is the hand-off's code; stubImage fails with handoffErr.
var handoffBytes, handoffErr = loadCode(handoffCodeStart(), "hand-off", stubHandoffOffset, stubCodeEnd-stubStart)
