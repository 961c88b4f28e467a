package systrap

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
)

// sysmsg is the first page of a thread region, shared by the stub thread's
// signal handler and the sentry. Offsets are fixed by stub_amd64.s.
//
// The application can write this page (it is mapped in its process), so the
// sentry trusts nothing in it: it only reads registers through offsets it
// bounds-checks to the region, and a confused stub can only confuse the
// application's own registers.
type sysmsg struct {
	// State is the futex word of the hand-off: stateEvent while the
	// sentry owns the thread (the handler posted a signal frame),
	// stateRunning after the sentry handed it back.
	State          uint32
	StubSleeping   uint32
	SentrySleeping uint32
	Signo          uint32
	Ucontext       uint64
	Siginfo        uint64
	// Cmd is cmdExit to make the thread exit instead of returning.
	Cmd uint32
	// SetFS asks the handler to set the FS base to FSBase first.
	SetFS  uint32
	FSBase uint64
	// Spin is how many times the handler polls State before it sleeps.
	Spin uint32
	// SetGS asks the handler to point the GS base at the sysmsg.
	SetGS uint32
	// AppStack and RetAddr are the application's stack pointer and
	// return address at a patched system-call site (fastpath.go), and
	// the ones the sentry hands back.
	AppStack uint64
	RetAddr  uint64
	// SysStack and Syshandler are what a trampoline loads into RSP and
	// jumps to.
	SysStack   uint64
	Syshandler uint64
	// TrapTable is the address space's trap table (0: none), and
	// SysPosted and SysEnd bound the syshandler's code after it posted
	// its event: the handler's kick filter reads them.
	TrapTable uint64
	SysPosted uint64
	SysEnd    uint64
	// WaitSeq, when not 0, is the syscall-thread request the thread
	// waits for before it returns to the application (handoff.go).
	WaitSeq uint32
	// StubCPU and SentryCPU are the CPUs each side last started to wait
	// for the other on (cpuhint.go); SentryCPU is noCPU when the host
	// gives no such hint.
	StubCPU   uint32
	SentryCPU uint32
	_         uint32
	// Yield is what the trampoline of a sched_yield site jumps to: the
	// stub's own yield (localyield.go) while the task lets it, the
	// syshandler otherwise.
	Yield uint64
}

const (
	stateRunning = 1
	stateEvent   = 2
	cmdExit      = 1
	// cmdMaterialize makes a thread waiting in the syshandler trap into
	// its signal handler (fastpath.go).
	cmdMaterialize = 2

	// sysmsgAltStack is where in the sysmsg page the factory writes the
	// thread's stack_t for sigaltstack.
	sysmsgAltStack = 0x800
)

var _ [48 - unsafe.Offsetof(sysmsg{}.Spin)]struct{} // Spin is at 48, as stub_amd64.s expects
var _ [unsafe.Offsetof(sysmsg{}.Spin) - 48]struct{}
var _ [104 - unsafe.Offsetof(sysmsg{}.SysEnd)]struct{} // SysEnd is at 104
var _ [unsafe.Offsetof(sysmsg{}.SysEnd) - 104]struct{}
var _ [112 - unsafe.Offsetof(sysmsg{}.WaitSeq)]struct{} // WaitSeq is at 112
var _ [unsafe.Offsetof(sysmsg{}.WaitSeq) - 112]struct{}
var _ [116 - unsafe.Offsetof(sysmsg{}.StubCPU)]struct{} // StubCPU is at 116
var _ [unsafe.Offsetof(sysmsg{}.StubCPU) - 116]struct{}
var _ [120 - unsafe.Offsetof(sysmsg{}.SentryCPU)]struct{} // SentryCPU is at 120
var _ [unsafe.Offsetof(sysmsg{}.SentryCPU) - 120]struct{}
var _ [128 - unsafe.Offsetof(sysmsg{}.Yield)]struct{} // Yield is at 128
var _ [unsafe.Offsetof(sysmsg{}.Yield) - 128]struct{}
var _ [56 - unsafe.Offsetof(sysmsg{}.AppStack)]struct{} // AppStack is at 56
var _ [unsafe.Offsetof(sysmsg{}.AppStack) - 56]struct{}

// sigcontext is Linux's struct sigcontext (x86-64), the uc_mcontext of a
// signal frame.
type sigcontext struct {
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	Rdi, Rsi, Rbp, Rbx, Rdx, Rax, Rcx    uint64
	Rsp, Rip, Eflags                     uint64
	Cs, Gs, Fs, Ss                       uint16
	Err, Trapno, Oldmask, Cr2            uint64
	Fpstate                              uint64
	_                                    [8]uint64
}

// ucontext is Linux's struct ucontext (x86-64) as rt_sigreturn reads it.
type ucontext struct {
	Flags    uint64
	Link     uint64
	SsSp     uint64
	SsFlags  int32
	_        int32
	SsSize   uint64
	Mcontext sigcontext
	Sigmask  uint64
}

var _ [296 - unsafe.Offsetof(ucontext{}.Sigmask)]struct{}
var _ [unsafe.Offsetof(ucontext{}.Sigmask) - 296]struct{}

// siginfo is the prefix of siginfo_t the sentry reads.
type siginfo struct {
	Signo int32
	Errno int32
	Code  int32
	_     int32
	Addr  uint64
}

// Page-fault error code bits (ucontext err for SIGSEGV from #PF).
const (
	pfWrite = 1 << 1
	pfFetch = 1 << 4
)

// FP frame layout: the legacy FXSAVE area, whose bytes 464..511 the kernel
// uses for its software-reserved header when the frame is in XSAVE format,
// followed by the XSAVE header (XSTATE_BV first).
const (
	fpSwReserved  = 464
	fpXstateMagic = 0x46505853 // FP_XSTATE_MAGIC1
	fpMxcsr       = 24
	fpMxcsrMask   = 28
)

func loadState(p *uint32) uint32    { return atomic.LoadUint32(p) }
func swapState(p *uint32, v uint32) { atomic.SwapUint32(p, v) }

// futexWake wakes one waiter on addr (a shared, not private, futex).
func futexWake(addr *uint32) {
	unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake_, 1, 0, 0, 0)
}

// futexWait sleeps while *addr == val, at most timeout.
func futexWait(addr *uint32, val uint32, timeout *unix.Timespec) unix.Errno {
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait_, uintptr(val), uintptr(unsafe.Pointer(timeout)), 0, 0)
	return errno
}

// regsToSigcontext stores the task registers in a signal frame.
func regsToSigcontext(r *arch.Registers, sc *sigcontext) {
	sc.R8, sc.R9, sc.R10, sc.R11 = r.R8, r.R9, r.R10, r.R11
	sc.R12, sc.R13, sc.R14, sc.R15 = r.R12, r.R13, r.R14, r.R15
	sc.Rdi, sc.Rsi, sc.Rbp, sc.Rbx = r.Rdi, r.Rsi, r.Rbp, r.Rbx
	sc.Rdx, sc.Rax, sc.Rcx, sc.Rsp = r.Rdx, r.Rax, r.Rcx, r.Rsp
	sc.Rip = r.Rip
	sc.Eflags = r.Eflags
}

// sigcontextToRegs loads the task registers from a signal frame.
func sigcontextToRegs(sc *sigcontext, r *arch.Registers) {
	r.R8, r.R9, r.R10, r.R11 = sc.R8, sc.R9, sc.R10, sc.R11
	r.R12, r.R13, r.R14, r.R15 = sc.R12, sc.R13, sc.R14, sc.R15
	r.Rdi, r.Rsi, r.Rbp, r.Rbx = sc.Rdi, sc.Rsi, sc.Rbp, sc.Rbx
	r.Rdx, r.Rax, r.Rcx, r.Rsp = sc.Rdx, sc.Rax, sc.Rcx, sc.Rsp
	r.Rip = sc.Rip
	r.Eflags = sc.Eflags
	r.Cs, r.Ss = uint64(sc.Cs), uint64(sc.Ss)
}
