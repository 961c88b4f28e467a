// Package systrap implements the sentry platform with seccomp traps: each
// application address space is a stub host process whose memory is the
// sentry's memory file mapped at the application's addresses, as with the
// ptrace platform, but application threads run untraced. A seccomp filter
// (SECCOMP_RET_TRAP) turns every system call the application makes into a
// SIGSYS; the stub's handler, running on a signal stack in memory shared with
// the sentry, publishes the signal frame, wakes the sentry with a futex and
// waits; the sentry reads and writes the registers in the frame directly and
// hands the thread back; rt_sigreturn resumes the application. Faults
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) take the same path. The host
// kernel never executes an application system call.
//
// ptrace is used only off the hot path. One goroutine (the factory) traces
// the master stub and the first thread of each stub process: it forks stub
// processes (one ahead of use), and clones application threads and each
// process's syscall thread. A released process that is idle is emptied and
// kept as a spare instead of killed (recycle.go). Address-space edits (mmap, munmap of the memory
// file) are made by the syscall thread, untraced, on requests any sentry
// thread posts in a page the stub maps read-only, and reported done in a way
// the application cannot fake (syscall_thread.go). Mappings made while no
// thread of the process runs application code are queued and run as one
// request before one does (batch.go), so a fault, a fork or an exec costs
// one hand-off instead of one per mapping.
//
// Hand-off. Both sides poll the shared state word for a few tens of
// microseconds before sleeping on it (FUTEX_WAIT), and a side wakes the
// other (FUTEX_WAKE) only when it announced that it sleeps. On an idle
// 2-CPU VM the getppid round trip is ~4.8 µs against ~20-24 µs for the
// ptrace platform; when every CPU is busy the spinning finds nobody on the
// other side and both platforms cost about the same.
//
// Confinement. Every stub thread runs under the master seccomp filter
// (system calls from outside the stub's code page trap; from inside, only
// the native ABI), and every application thread also under the thread
// filter (from the stub's code page, only the hand-off path: futex
// wait/wake, rt_sigreturn, exit, arch_prctl(ARCH_SET_FS); anything else
// kills the stub process). See filter.go. The stubs have no core dumps and
// no file descriptor but the memory file; they run with the sentry's
// credentials and namespaces.
//
// Threads. Each (task context, address space) pair gets its own stub
// thread; any sentry thread may drive it, since nothing binds it to a tracer.
// An exited task's thread serves the process's next task (parked in
// address_space.go), and task goroutines are not locked to host threads
// (platform.ThreadFree).
package systrap

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocoonrt/cocoon/sentry/platform/hostvdso"

	"github.com/cocoonrt/cocoon/sentry/platform/stubproc"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// stubMemFD is the file descriptor number of the memory file inside every
// stub process (stubproc.MemFDs).
const stubMemFD = stubproc.MemFD

// kickSignal is the host signal Interrupt sends to a running stub thread;
// the stub's handler reports it like any other signal.
const kickSignal = unix.SIGUSR2

// handledSignals are the host signals whose handler is the stub's.
var handledSignals = []unix.Signal{unix.SIGSYS, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, kickSignal}

// Platform is the systrap platform.
type Platform struct {
	mf *memfile.File
	// requests carries work for the factory, which traces the master stub
	// and the first thread of every stub process.
	requests chan func(master *tracee)
	// stopFactory ends the factory goroutine and kills the master stub.
	stopFactory chan struct{}
	// factoryDone is closed when the factory has killed its stubs.
	factoryDone chan struct{}
	closeOnce   sync.Once
	// reapers counts the goroutines reaping released stub processes
	// (addressSpace.release).
	reapers sync.WaitGroup

	// spacesMu protects spaces.
	spacesMu sync.Mutex
	// spaces holds the live address spaces, so a released context can end
	// its stub thread in each.
	spaces map[*addressSpace]struct{}
	// slow guesses which system calls the sentry answers too slowly for
	// the stubs' spin (slowcalls.go).
	slow slowCalls
	// spares are address spaces made ahead of use or recycled, at most
	// maxSpares; only the factory's thread uses them.
	spares []*addressSpace
	// lastTaken is when NewAddressSpace last took an address space;
	// only the factory's thread uses it.
	lastTaken time.Time
	// recycling counts the released address spaces being recycled, which
	// will join spares (or be killed) on the factory's thread; only the
	// factory's thread decrements it.
	recycling atomic.Int32
	// confinement is how the stubs are confined; set before New returns.
	confinement stubproc.Confinement
	// hostVDSO is the host's vDSO kept in the stubs (hostvdso.go); set
	// before New returns.
	hostVDSO hostvdso.Kept
}

var _ platform.Platform = (*Platform)(nil)

// New starts the systrap platform: it creates the master stub from an image
// held in a memfd. It is the only time the platform executes a program.
func New(mf *memfile.File) (*Platform, error) {
	calibrateStubSpin()
	checkCPUHints()
	p := &Platform{
		mf:          mf,
		requests:    make(chan func(*tracee)),
		stopFactory: make(chan struct{}),
		factoryDone: make(chan struct{}),
		spaces:      make(map[*addressSpace]struct{}),
	}
	ready := make(chan error, 1)
	go p.factory(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return p, nil
}

// Name implements platform.Platform.Name.
func (*Platform) Name() string { return "systrap" }

// MaxUserAddress implements platform.Platform.MaxUserAddress.
func (*Platform) MaxUserAddress() uint64 { return stubStart }

// Close implements platform.Platform.Close.
func (p *Platform) Close() error {
	p.closeOnce.Do(func() { close(p.stopFactory) })
	<-p.factoryDone
	p.reapers.Wait()
	return nil
}

// StubConfinement says how the stub processes are confined.
func (p *Platform) StubConfinement() stubproc.Confinement { return p.confinement }

// factory runs on its own locked thread, traces the master stub and runs
// the requests that need ptrace.
func (p *Platform) factory(ready chan<- error) {
	// The thread is never unlocked: when the goroutine returns, the thread
	// exits and PTRACE_O_EXITKILL kills the master and the first threads.
	runtime.LockOSThread()
	defer close(p.factoryDone)
	master, err := p.startMaster()
	ready <- err
	if err != nil {
		return
	}
	spareFailed := false
	for {
		if work, after := p.spareWork(master); work != nil && !spareFailed {
			// Idle: make the next address space, or a recycled one's
			// thread, ahead of use, unless a request comes first.
			wait := now
			var timer *time.Timer
			if after > 0 {
				timer = time.NewTimer(after)
				wait = timer.C
			}
			select {
			case req := <-p.requests:
				if timer != nil {
					timer.Stop()
				}
				req(master)
				continue
			case <-p.stopFactory:
				p.shutdown(master)
				return
			case <-wait:
			}
			spareFailed = work() != nil
			continue
		}
		select {
		case req := <-p.requests:
			spareFailed = false
			req(master)
		case <-p.stopFactory:
			p.shutdown(master)
			return
		}
	}
}

// spareWork returns what the factory does next while idle, and after how
// long without a request, or nil: make a spare address space when there
// is none and none is being recycled (after newSpaceDelay), else a thread
// for a recycled spare that has none left (at once), else let a spare
// beyond idleSpares go once no address space was taken for spareIdleTime.
//
// Why the delay: an execve takes the last spare and releases its old
// address space only once the new program is loaded, a millisecond or two
// later; making a new space meanwhile (a host fork and two clones:
// milliseconds of CPU on a small VM, taken from the exec) only to kill one
// when the recycled one comes back measured slower (fork+exec+wait: an
// address space made and one killed in one iteration of eight).
//
// Preconditions: runs on the factory's thread.
func (p *Platform) spareWork(master *tracee) (func() error, time.Duration) {
	if len(p.spares)+int(p.recycling.Load()) < spareSpaces {
		return func() error {
			as, err := p.newSpace(master, true)
			if err == nil {
				p.spares = append(p.spares, as)
			}
			return err
		}, newSpaceDelay
	}
	for i, as := range p.spares {
		if len(as.idle) > 0 {
			continue
		}
		return func() error {
			t, err := as.newThreadLocked(func(fn func() error) error { return fn() })
			if err != nil {
				p.spares = append(p.spares[:i], p.spares[i+1:]...)
				as.release(false)
				return err
			}
			as.idle = append(as.idle, t)
			return nil
		}, 0
	}
	if len(p.spares) > idleSpares {
		return func() error {
			n := len(p.spares) - 1
			as := p.spares[n]
			p.spares = p.spares[:n]
			as.release(false)
			return nil
		}, max(spareIdleTime-time.Since(p.lastTaken), 0)
	}
	return nil, 0
}

// now is a channel that is always ready.
var now = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// newSpaceDelay is how long the factory waits, idle, before it makes a
// spare address space (see spareWork).
const newSpaceDelay = 3 * time.Millisecond

// shutdown kills the spare address spaces, then the master. In that order:
// the master is the init of the stubs' PID namespace, and dying it waits
// for every stub to be reaped, which the factory, their tracer, must do
// first.
func (p *Platform) shutdown(master *tracee) {
	for _, as := range p.spares {
		as.release(false)
	}
	p.spares = nil
	master.kill()
}

// spareSpaces is how many address spaces, each with a stub thread, the
// factory makes ahead. A fork+exec takes two (the child's copy, then its
// new program's), but a second spare made from scratch measured no
// faster: making it competes for the CPUs with the fork+exec it would
// serve. Recycled address spaces (recycle.go), up to maxSpares, are kept
// too.
const spareSpaces = 1

// do runs fn on the factory's thread and waits for it.
func (p *Platform) do(fn func(master *tracee) error) error {
	done := make(chan error, 1)
	select {
	case p.requests <- func(m *tracee) { done <- fn(m) }:
	case <-p.stopFactory:
		return os.ErrClosed
	}
	return <-done
}

// startMaster executes the stub image and prepares the master stub.
func (p *Platform) startMaster() (*tracee, error) {
	img, err := stubImage()
	if err != nil {
		return nil, err
	}
	pid, conf, err := stubproc.Start(img, "cocoon-stub", stubproc.MemFDs(p.mf))
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("%w: ptrace refused: %v", platform.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("systrap: starting stub: %w", err)
	}
	p.confinement = conf
	t := &tracee{tgid: pid, tid: pid}
	ws, err := t.waitStop()
	if err != nil {
		return nil, fmt.Errorf("systrap: waiting for stub exec: %w", err)
	}
	if ws.StopSignal() != unix.SIGTRAP {
		t.kill()
		return nil, fmt.Errorf("systrap: stub stopped with %v after exec, want SIGTRAP", ws.StopSignal())
	}
	if err := t.setOptions(unix.PTRACE_O_TRACEFORK); err != nil {
		t.kill()
		return nil, err
	}
	if err := t.captureTemplate(); err != nil {
		t.kill()
		return nil, err
	}
	// Before prepareMaster clears everything else (hostvdso.go).
	p.hostVDSO = hostvdso.Keep(t.tgid, t.syscall, hostVDSOAddr, hostVDSOLimit)
	if err := prepareMaster(t, len(stubproc.MemFDs(p.mf))); err != nil {
		t.kill()
		return nil, err
	}
	return t, nil
}

// prepareMaster clears the master's address space down to the stub, installs
// the handler for the signals the application's events arrive as, and the
// master seccomp filter, and makes the data page read-only: the threadFilter
// program every application thread installs is read from there, and the
// application must not be able to change it.
func prepareMaster(t *tracee, memFDs int) error {
	if err := stubproc.KeepOnlyMemFDs(t.tgid, t.syscall, memFDs); err != nil {
		return err
	}
	if _, err := t.syscall(unix.SYS_MUNMAP, 0, stubStart); err != nil {
		return fmt.Errorf("systrap: clearing stub below itself: %w", err)
	}
	// Above the stub, all but the host vDSO's window (hostvdso.go).
	if _, err := t.syscall(unix.SYS_MUNMAP, stubEnd, hostVDSOAddr-stubEnd); err != nil {
		return fmt.Errorf("systrap: clearing stub above itself: %w", err)
	}
	if _, err := t.syscall(unix.SYS_MUNMAP, hostVDSOLimit, hostUserEnd-hostVDSOLimit); err != nil {
		return fmt.Errorf("systrap: clearing stub above the host vDSO: %w", err)
	}
	data := make([]byte, stubDataSize)
	le := func(off int, v uint64) {
		for i := 0; i < 8; i++ {
			data[off+i] = byte(v >> (8 * i))
		}
	}
	// struct sigaction { handler, flags, restorer, mask }: every signal
	// blocked while the handler runs, on the thread's signal stack.
	le(dataHandlerAction, stubHandlerAddr)
	le(dataHandlerAction+8, saSiginfo|saOnstack|saRestorer)
	le(dataHandlerAction+16, stubRestorerAddr)
	le(dataHandlerAction+24, ^uint64(0))
	le(dataIgnoreAction, 1) // SIG_IGN
	le(dataDoneTimeout+8, uint64(handoffDoneTimeout.Nanoseconds()))
	mf, tf := masterFilter(), threadFilter()
	if dataFilterMaster+len(mf) > dataFilterThread || dataFilterThread+len(tf) > stubDataSize {
		return fmt.Errorf("systrap: seccomp programs too large")
	}
	copy(data[dataProgMaster:], sockFprog(len(mf)/8, stubDataAddr+dataFilterMaster))
	copy(data[dataProgThread:], sockFprog(len(tf)/8, stubDataAddr+dataFilterThread))
	copy(data[dataFilterMaster:], mf)
	copy(data[dataFilterThread:], tf)
	if err := t.pokeData(stubDataAddr, data[:dataFilterThread+len(tf)]); err != nil {
		return err
	}
	if _, err := t.syscall(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), stubDataAddr+dataIgnoreAction, 0, 8); err != nil {
		return fmt.Errorf("systrap: ignoring SIGCHLD in stub: %w", err)
	}
	for _, sig := range handledSignals {
		if _, err := t.syscall(unix.SYS_RT_SIGACTION, uintptr(sig), stubDataAddr+dataHandlerAction, 0, 8); err != nil {
			return fmt.Errorf("systrap: installing the stub's %v handler: %w", sig, err)
		}
	}
	// No core dumps: a stub killed by its filter must not write a file on
	// the host.
	if _, err := t.syscall(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_CORE, stubDataAddr+dataZeroRlimit, 0); err != nil {
		return fmt.Errorf("systrap: disabling core dumps in stub: %w", err)
	}
	if _, err := t.syscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("systrap: PR_SET_NO_NEW_PRIVS in stub: %w", err)
	}
	if _, err := t.syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, stubDataAddr+dataProgMaster); err != nil {
		return fmt.Errorf("systrap: installing the stub's seccomp filter: %w", err)
	}
	if _, err := t.syscall(unix.SYS_MPROTECT, stubDataAddr, stubDataSize, unix.PROT_READ); err != nil {
		return fmt.Errorf("systrap: sealing the stub's data page: %w", err)
	}
	return nil
}

// newProcess forks the master. The child's first thread stays traced by
// the factory: it only ever edits the address space and clones the threads
// that run application code.
//
// Preconditions: runs on the factory's thread.
func newProcess(master *tracee) (*tracee, error) {
	pid, err := master.injectEvent(unix.SYS_FORK, 0, unix.PTRACE_EVENT_FORK)
	if err != nil {
		return nil, err
	}
	first := &tracee{tgid: pid, tid: pid}
	if ws, err := first.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		first.kill()
		return nil, fmt.Errorf("systrap: new stub did not stop (%v): %v", ws.StopSignal(), err)
	}
	if err := first.setOptions(unix.PTRACE_O_TRACECLONE); err != nil {
		first.kill()
		return nil, err
	}
	if err := first.captureTemplate(); err != nil {
		first.kill()
		return nil, err
	}
	return first, nil
}

// cloneThreadFlags make a new thread of the stub process: same memory,
// same everything, as pthread_create would.
const cloneThreadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM

// newThread clones an application thread in first's process and lets it
// go at the thread start code, which sets its signal stack to the region
// at regionAddr (already mapped, with its stack_t written at
// sysmsgAltStack), stacks threadFilter on the master filter, and goes to
// the thread entry, where its int3 posts its first event. It returns the
// new thread's ID.
//
// Preconditions: runs on the factory's thread.
func newThread(first *tracee, regionAddr uint64) (int, error) {
	// The thread sets up its signal stack and filter itself
	// (threadStartCode): two injections fewer.
	return cloneThread(first, "stub thread", func(regs *arch.Registers) {
		regs.Rip = stubThreadStartAddr
		regs.Rdi = regionAddr + sysmsgAltStack
		regs.Rsp = regionAddr + regionSize
	})
}

// cloneThread clones a thread in first's process and lets it go, untraced,
// with first's template registers as start sets them. It returns the new
// thread's ID, which the host reports to the factory, its tracer: the
// application can neither fake nor reach it. what names the thread in
// errors.
//
// Preconditions: runs on the factory's thread.
func cloneThread(first *tracee, what string, start func(*arch.Registers)) (newTID int, retErr error) {
	tid, err := first.startEvent(unix.SYS_CLONE, cloneThreadFlags, unix.PTRACE_EVENT_CLONE)
	if err != nil {
		return 0, err
	}
	// first finishes the clone while the new thread is set going: on
	// this VM each wait for a stop is a sleep and a wake-up of the
	// factory, and overlapping the two took ~15% off a new thread.
	defer func() {
		if err := first.finishEvent(unix.SYS_CLONE); err != nil && retErr == nil {
			_ = unix.Tgkill(first.tgid, tid, unix.SIGKILL)
			newTID, retErr = 0, err
		}
	}()
	t := &tracee{tgid: first.tgid, tid: tid}
	fail := func(err error) (int, error) {
		_ = unix.Tgkill(first.tgid, tid, unix.SIGKILL)
		return 0, err
	}
	if ws, err := t.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		return fail(fmt.Errorf("systrap: new %s did not stop (%v): %v", what, ws.StopSignal(), err))
	}
	regs := first.template
	start(&regs)
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(tid, &regs); err != nil {
		return fail(fmt.Errorf("systrap: starting the %s: %w", what, err))
	}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(tid), 0, 0, 0, 0); errno != 0 {
		return fail(fmt.Errorf("systrap: letting the %s go: %w", what, errno))
	}
	return tid, nil
}

// sigaction flags.
const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
)
