// Package platform is the boundary between the sentry's kernel and the
// mechanism that runs application code: an address space the kernel fills
// with mappings of the memory file, and a context that runs a task's
// registers in it until the task traps back into the sentry.
//
// mm and kernel use only this package; kvm/ and ptrace/ implement it.
package platform

import (
	"errors"
	"time"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// AccessType is a set of page permissions, or the kind of access that
// faulted.
type AccessType uint8

// Permission bits.
const (
	Read AccessType = 1 << iota
	Write
	Execute
)

// String renders the permissions as "rwx".
func (a AccessType) String() string {
	b := []byte("---")
	if a&Read != 0 {
		b[0] = 'r'
	}
	if a&Write != 0 {
		b[1] = 'w'
	}
	if a&Execute != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Platform creates address spaces and execution contexts.
type Platform interface {
	// Name is the platform's name as users select it ("kvm", "ptrace").
	Name() string
	// MaxUserAddress is the end of the range applications may map.
	MaxUserAddress() uint64
	// NewAddressSpace returns an empty address space.
	NewAddressSpace() (AddressSpace, error)
	// NewContext returns a context for one task.
	//
	// Preconditions: every call on the context comes from the calling
	// goroutine, which is locked to its OS thread and stays locked unless
	// the platform is ThreadFree.
	NewContext() (Context, error)
	// Close releases everything the platform holds.
	Close() error
}

// AddressSpace is one application address space.
//
// Its methods are called by mm with mm's own lock held; the platform
// guarantees that after MapFile, Unmap or Protect return, no context running
// in the address space can still use the old translation.
type AddressSpace interface {
	// MapFile maps fr of the memory file at addr with perms.
	MapFile(addr uint64, fr memfile.Range, perms AccessType) error
	// Unmap removes the mappings in [addr, addr+length).
	Unmap(addr, length uint64)
	// Release frees the address space. Once it returns, no application
	// code can reach the memory file pages it mapped: the caller frees
	// them after it.
	Release()
}

// Protector is implemented by address spaces that can change the
// permissions of mapped pages without mapping them again, for any range
// of them, whatever memory-file pages back it: one call for what MapFile
// would need one call per piece of the memory file for.
type Protector interface {
	// Protect gives the pages of [addr, addr+length), every one of them
	// mapped, the permissions perms.
	Protect(addr, length uint64, perms AccessType) error
}

// TrapKind says why a task came back to the sentry.
type TrapKind int

// Trap kinds.
const (
	// TrapSyscall: the task executed `syscall`; its number and arguments are in
	// the registers.
	TrapSyscall TrapKind = iota + 1
	// TrapFault: a memory access at Addr failed (#PF).
	TrapFault
	// TrapException: any other synchronous exception, reported as the Linux
	// signal it maps to (#UD → SIGILL, #DE → SIGFPE, #BP → SIGTRAP, #GP → SIGSEGV).
	TrapException
	// TrapInterrupted: Interrupt was called.
	TrapInterrupted
)

// Trap describes what stopped the task.
type Trap struct {
	Kind TrapKind
	// Addr is the faulting address for TrapFault.
	Addr uint64
	// Access is the kind of access that faulted, for TrapFault.
	Access AccessType
	// NotPresent is set for a TrapFault on a page that had no mapping at
	// the time of the fault (as opposed to a permission fault). Another
	// task may have mapped it since.
	NotPresent bool
	// Signo and Code are the Linux signal and si_code for TrapException (and
	// for TrapFault, SIGSEGV or SIGBUS).
	Signo int
	Code  int
	// Patchable marks a TrapSyscall that came the slow way from a
	// `syscall` instruction of the application, on an address space that
	// implements SyscallPatcher: the site is worth trying to patch.
	Patchable bool
}

// SyscallPatcher is implemented by address spaces that can run patched
// system-call sites (see mm/syscall_patch.go): a site's `mov $nr,%eax;
// syscall` becomes a jump into a trampoline that enters the platform
// without a host trap.
type SyscallPatcher interface {
	// SyscallTrampoline returns the code to place at addr in the trap
	// table for a site that makes system call sysno and returns to ret,
	// or nil when the platform does not patch.
	SyscallTrampoline(addr, ret uint64, sysno uint32) []byte
	// SyscallTrampolineRAX returns the code to place at addr for a site
	// whose system call number is in RAX when it reaches `syscall`: the
	// code runs replaced (the site's instructions the patch overwrote)
	// and then enters as SyscallTrampoline's does, with the application's
	// RAX as the number. nil when the platform does not patch.
	SyscallTrampolineRAX(addr, ret uint64, replaced []byte) []byte
	// SetTrapTable tells the address space where its trap table is
	// mapped (0: it has none).
	SetTrapTable(addr uint64)
}

// Reloadable is implemented by address spaces that an execve may load
// its new program into, when the old program had the address space alone
// and the new one runs with the same privileges (kernel/exec.go): the
// process and the stub thread of the task stay, where a new address space
// would cost a host process or a recycled one and a thread made for it.
//
// While a reload is in progress no context runs in the address space.
type Reloadable interface {
	// BeginReload holds every mapping change made from now on, and drops
	// those still queued: the old program's memory manager must have let
	// the address space go (its mappings stay until the end).
	BeginReload()
	// CommitReload removes every mapping made before BeginReload, then
	// makes the held changes; it returns once no context can use an old
	// translation.
	CommitReload() error
	// AbortReload drops the held changes and removes every mapping, so
	// the old program, given the address space back with nothing
	// mapped, faults its pages in again.
	AbortReload()
}

// Context runs one task's registers.
type Context interface {
	// Switch runs st in as until the task traps, and updates st.
	Switch(as AddressSpace, st *arch.State) (Trap, error)
	// Interrupt makes a current or the next Switch return TrapInterrupted
	// soon. It may be called from any goroutine.
	Interrupt()
	// PullFPState copies the task's live floating-point state into st.FP
	// (for a signal frame or a new thread).
	PullFPState(st *arch.State) error
	// PushFPState makes st.FP the task's live floating-point state (after
	// rt_sigreturn, or before a signal handler runs).
	PushFPState(st *arch.State) error
	// Release frees the context.
	Release()
}

// FaultAccessProber is implemented by contexts whose TrapFault may leave
// Access unset because the host reported the fault without its error code
// (ptrace), but that can still find the access out, at a cost too high for
// every fault. The kernel asks only about a fault that becomes a signal,
// whose frame shows the access (uc_mcontext.err).
type FaultAccessProber interface {
	// FaultAccess returns the access of the TrapFault the last Switch
	// returned, or 0 when it cannot tell: the fault was no page fault,
	// or the context's thread ran again (an address space operation on
	// the calling thread) since. It is called at most once per trap,
	// before the next Switch, from the context's thread.
	FaultAccess() AccessType
}

// HostVDSO locates host kernel vDSO functions in application address
// spaces. A platform whose application code runs natively in host
// processes (ptrace, systrap) can keep the host kernel's vDSO, with its
// data pages, mapped at one address above MaxUserAddress in every address
// space it creates; the sentry's vDSO (sentry/vdso) then forwards clock
// reads to it, so they never leave the application. A zero address means
// the function is not available.
type HostVDSO struct {
	ClockGettime, Gettimeofday, Time, ClockGetres uint64
}

// HostVDSOProvider is implemented by platforms that can offer the host's
// vDSO functions.
type HostVDSOProvider interface {
	// HostVDSO returns the functions, valid in every address space of
	// the platform, and false when the platform has none (the host's
	// vDSO could not be kept).
	HostVDSO() (HostVDSO, bool)
}

// ErrUnavailable is returned by a platform constructor when the host cannot
// provide it (no /dev/kvm, ptrace forbidden).
var ErrUnavailable = errors.New("platform unavailable on this host")

// BlockNotifier is implemented by contexts that can use knowing when their
// task blocks in the sentry (a wait, a sleep, a pipe with nothing to
// read): its application code will not run before the next Switch, so
// whatever waits for the task's answer on the host side can stop waiting
// actively.
type BlockNotifier interface {
	// Blocking is called by the task's goroutine as the task blocks.
	Blocking()
}

// UserTimeBounder is implemented by contexts whose application code runs
// in a host process whose CPU clock the sentry can read. A task would be
// charged the wall time of each Switch as user time (reading a CPU clock at
// both ends of every Switch costs more than a short one); on an overloaded
// host that wall time includes the time the application waited for a CPU,
// and a process that mostly sleeps would show CPU time it never used.
type UserTimeBounder interface {
	// BoundUserTime is called by the task's goroutine after every Switch,
	// with the wall time it took, and returns the user time to charge:
	// at most wall, and, over all the Switches of the host process's
	// threads, no more than the host counted for that process (plus the
	// wall time of Switches too short to check). It must be cheap for
	// short Switches.
	BoundUserTime(wall time.Duration) time.Duration
}

// LocalYielder is implemented by contexts that can answer sched_yield in
// the application's own process, with a host sched_yield and no hand-off
// to the sentry: the call has no effect a sandbox can see but the CPU it
// gives up, and a Go program's scheduler makes it by the thousand while
// its threads look for work.
type LocalYielder interface {
	// SetLocalYield is called by the task's goroutine before every Switch:
	// false when the sentry must see each of the task's system calls
	// (seccomp filters, strace).
	SetLocalYield(on bool)
}

// AppOnTaskThread is implemented by platforms that run a task's
// application code on the host thread its goroutine is locked to (KVM: the
// thread's KVM_RUN runs the vCPU). That thread's CPU clock then counts all
// the CPU the task uses, its application's and the sentry's on its behalf,
// and nothing else, so the kernel can bound the time it charges a task by
// it: a thread preempted on the host, inside a Switch or while the sentry
// serves it, is not charged the wait, as Linux never charges a task for
// time it waited for a CPU.
type AppOnTaskThread interface {
	// AppRunsOnTaskThread reports whether every context runs its
	// application code on the host thread that switches to it.
	AppRunsOnTaskThread() bool
}

// ThreadFree is implemented by platforms whose contexts bind nothing to
// the host thread that runs them (ptrace's are the tracers of their stub
// threads, KVM's run vCPUs, which must stay on one thread). A task's
// goroutine is then not locked to a host thread:
//   - a task that blocks in the sentry (a wait, a futex, an empty pipe)
//     parks its goroutine, and its waker readies it on any thread; a
//     locked goroutine's thread has to sleep and be woken instead, two
//     host wake-ups more per block, which on a virtual machine cost more
//     than the rest of a futex ping-pong;
//   - a task's exit leaves no host thread to end, and a new task needs
//     none made: a host thread's creation and exit are much of what a
//     thread or process creation costs in the sandbox.
type ThreadFree interface {
	// ContextsThreadFree reports whether a context may be switched from
	// any host thread.
	ContextsThreadFree() bool
}
