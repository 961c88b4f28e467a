// Package ptrace implements the sentry platform with PTRACE_SYSEMU: each
// application address space is a stub host process whose memory is the
// sentry's memory file mapped at the application's addresses, and every
// system call and fault of the application stops the stub so the sentry can
// serve it. The host kernel never executes an application system call.
//
// Threads and tracers. ptrace binds a tracee to one host thread, the tracer.
// Every task goroutine is locked to its OS thread for its life (the kernel
// guarantees it), and each (task thread, address space) pair gets its own
// stub thread traced by that task thread, so no request ever crosses threads.
// New stub processes are forked from a master stub that a dedicated
// goroutine (the factory) traces; the factory hands each new child over by
// detaching it stopped, and the requesting thread attaches it.
package ptrace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/cocoonrt/cocoon/sentry/platform/hostvdso"

	"github.com/cocoonrt/cocoon/sentry/platform/stubproc"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// stubMemFD is the file descriptor number of the memory file inside every
// stub process (stubproc.MemFDs).
const stubMemFD = stubproc.MemFD

// Platform is the ptrace platform.
type Platform struct {
	mf *memfile.File
	// requests carries work for the factory, which traces the master stub
	// and the first thread of every stub process.
	requests chan factoryRequest
	// stopFactory ends the factory goroutine and kills the master stub.
	stopFactory chan struct{}

	// spacesMu protects spaces.
	spacesMu sync.Mutex
	// spaces holds the live address spaces, so an exiting task can end its
	// stub threads in each.
	spaces map[*addressSpace]struct{}
	// confinement is how the stubs are confined; set before New returns.
	confinement stubproc.Confinement
	// hostVDSO is the host's vDSO kept in the stubs (hostvdso.go); set
	// before New returns.
	hostVDSO hostvdso.Kept
	// faultProbe says the stubs have the fault probe's area and handler
	// (faultprobe.go); set before New returns.
	faultProbe bool
}

// factoryRequest asks the factory for a new stub process (process == nil)
// or for a new thread in process. The reply carries the new thread,
// detached and stopped, ready for the requesting thread to attach.
type factoryRequest struct {
	process *thread
	reply   chan factoryResult
}

type factoryResult struct {
	// first is the new process's first thread, which stays traced by the
	// factory (for new processes only).
	first *thread
	// tid is the new stub thread to attach.
	tid int
	err error
}

var _ platform.Platform = (*Platform)(nil)

// New starts the ptrace platform: it creates the master stub from an image
// held in a memfd. It is the only time the platform executes a program.
func New(mf *memfile.File) (*Platform, error) {
	p := &Platform{
		mf:          mf,
		requests:    make(chan factoryRequest),
		stopFactory: make(chan struct{}),
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
func (*Platform) Name() string { return "ptrace" }

// MaxUserAddress implements platform.Platform.MaxUserAddress.
func (*Platform) MaxUserAddress() uint64 { return stubStart }

// Close implements platform.Platform.Close.
func (p *Platform) Close() error {
	close(p.stopFactory)
	return nil
}

// StubConfinement says how the stub processes are confined.
func (p *Platform) StubConfinement() stubproc.Confinement { return p.confinement }

// factory runs on its own locked thread, traces the master stub and forks it
// on request.
func (p *Platform) factory(ready chan<- error) {
	// The thread is never unlocked: when the goroutine returns, the thread
	// exits and PTRACE_O_EXITKILL kills the master.
	runtime.LockOSThread()
	master, err := p.startMaster()
	ready <- err
	if err != nil {
		return
	}
	for {
		select {
		case req := <-p.requests:
			if req.process == nil {
				req.reply <- newProcess(master)
			} else {
				tid, err := cloneThread(req.process)
				req.reply <- factoryResult{tid: tid, err: err}
			}
		case <-p.stopFactory:
			master.kill()
			return
		}
	}
}

// startMaster executes the stub image and prepares the master stub: nothing
// mapped but the stub itself, and children reaped automatically.
func (p *Platform) startMaster() (*thread, error) {
	pid, conf, err := stubproc.Start(stubImage(), "cocoon-stub", stubproc.MemFDs(p.mf))
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("%w: ptrace refused: %v", platform.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("ptrace: starting stub: %w", err)
	}
	p.confinement = conf
	t := &thread{tgid: pid, tid: pid, owner: unix.Gettid()}
	ws, err := t.waitStop()
	if err != nil {
		return nil, fmt.Errorf("ptrace: waiting for stub exec: %w", err)
	}
	if ws.StopSignal() != unix.SIGTRAP {
		t.kill()
		return nil, fmt.Errorf("ptrace: stub stopped with %v after exec, want SIGTRAP", ws.StopSignal())
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
	// Without the probe, faults that become signals report no access
	// where the host's signal does not tell it.
	p.faultProbe = setUpFaultProbe(t) == nil
	return t, nil
}

// prepareMaster clears the master's address space down to the stub and
// makes it ignore SIGCHLD so exited stubs are reaped by the host kernel.
func prepareMaster(t *thread, memFDs int) error {
	if err := stubproc.KeepOnlyMemFDs(t.tgid, t.syscall, memFDs); err != nil {
		return err
	}
	if _, err := t.syscall(unix.SYS_MUNMAP, 0, stubStart); err != nil {
		return fmt.Errorf("ptrace: clearing stub below itself: %w", err)
	}
	// Above the stub, all but the host vDSO's window (hostvdso.go).
	if _, err := t.syscall(unix.SYS_MUNMAP, stubEnd, hostVDSOAddr-stubEnd); err != nil {
		return fmt.Errorf("ptrace: clearing stub above itself: %w", err)
	}
	if _, err := t.syscall(unix.SYS_MUNMAP, hostVDSOLimit, hostUserEnd-hostVDSOLimit); err != nil {
		return fmt.Errorf("ptrace: clearing stub above the host vDSO: %w", err)
	}
	// struct sigaction { handler = SIG_IGN, flags = 0, restorer = 0, mask = 0 }
	// in the stub's zeroed data page.
	if _, err := unix.PtracePokeData(t.tid, stubDataAddr, []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		return fmt.Errorf("ptrace: writing stub sigaction: %w", err)
	}
	if _, err := t.syscall(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), stubDataAddr, 0, 8); err != nil {
		return fmt.Errorf("ptrace: ignoring SIGCHLD in stub: %w", err)
	}
	return nil
}

// injectEvent injects a fork or clone into t and returns the new task's
// ID from the ptrace event it causes. The new task starts traced by the
// factory and stopped with SIGSTOP.
func injectEvent(t *thread, nr uintptr, flags uintptr, event int) (int, error) {
	regs := t.template
	regs.Rip = stubSyscallAddr
	regs.Rax = uint64(nr)
	regs.Rdi = uint64(flags)
	regs.Rsi, regs.Rdx, regs.R10, regs.R8 = 0, 0, 0, 0
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(t.tid, &regs); err != nil {
		return 0, fmt.Errorf("ptrace: injecting syscall %d: %w", nr, err)
	}
	if err := unix.PtraceCont(t.tid, 0); err != nil {
		return 0, fmt.Errorf("ptrace: resuming stub for syscall %d: %w", nr, err)
	}
	var ws unix.WaitStatus
	var err error
	for {
		if ws, err = t.waitStop(); err != nil {
			return 0, err
		}
		if ws.StopSignal() != unix.SIGSTOP {
			break
		}
		// A group stop caused by a hand-over in the same process.
		if err := unix.PtraceCont(t.tid, 0); err != nil {
			return 0, err
		}
	}
	if ws.StopSignal() != unix.SIGTRAP || ws.TrapCause() != event {
		return 0, fmt.Errorf("ptrace: stub stopped with %v (event %d) during syscall %d", ws.StopSignal(), ws.TrapCause(), nr)
	}
	msg, err := unix.PtraceGetEventMsg(t.tid)
	if err != nil {
		return 0, fmt.Errorf("ptrace: reading new stub task id: %w", err)
	}
	// Let t finish the call and stop on the int3.
	if err := unix.PtraceCont(t.tid, 0); err != nil {
		return 0, fmt.Errorf("ptrace: resuming stub after syscall %d: %w", nr, err)
	}
	for {
		ws, err := t.waitStop()
		if err != nil {
			return 0, err
		}
		if ws.StopSignal() == unix.SIGTRAP {
			break
		}
		if err := unix.PtraceCont(t.tid, 0); err != nil {
			return 0, err
		}
	}
	return int(msg), nil
}

// handOver waits for a new task's initial SIGSTOP and detaches it, stopped,
// so another thread can attach it.
func handOver(tid int) error {
	child := &thread{tgid: tid, tid: tid}
	if ws, err := child.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		return fmt.Errorf("ptrace: new stub task did not stop (%v): %v", ws.StopSignal(), err)
	}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(tid), 0, uintptr(unix.SIGSTOP), 0, 0); errno != 0 {
		return fmt.Errorf("ptrace: handing over new stub task: %w", errno)
	}
	return nil
}

// newProcess forks the master. The child's first thread stays traced by the
// factory (it only ever clones the threads that run application code); a
// second thread is handed over for the requester.
func newProcess(master *thread) factoryResult {
	pid, err := injectEvent(master, unix.SYS_FORK, 0, unix.PTRACE_EVENT_FORK)
	if err != nil {
		return factoryResult{err: err}
	}
	first := &thread{tgid: pid, tid: pid, owner: master.owner}
	if ws, err := first.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		first.kill()
		return factoryResult{err: fmt.Errorf("ptrace: new stub did not stop (%v): %v", ws.StopSignal(), err)}
	}
	if err := first.setOptions(unix.PTRACE_O_TRACECLONE); err != nil {
		first.kill()
		return factoryResult{err: err}
	}
	if err := first.captureTemplate(); err != nil {
		first.kill()
		return factoryResult{err: err}
	}
	tid, err := cloneThread(first)
	if err != nil {
		first.kill()
		return factoryResult{err: err}
	}
	return factoryResult{first: first, tid: tid}
}

// cloneThreadFlags make a new thread of the stub process: same memory,
// same everything, as pthread_create would.
const cloneThreadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM

// cloneThread adds a thread to the process whose first thread is first and
// hands it over.
func cloneThread(first *thread) (int, error) {
	tid, err := injectEvent(first, unix.SYS_CLONE, cloneThreadFlags, unix.PTRACE_EVENT_CLONE)
	if err != nil {
		return 0, err
	}
	if err := handOver(tid); err != nil {
		_ = unix.Tgkill(first.tgid, tid, unix.SIGKILL)
		return 0, err
	}
	return tid, nil
}

// request sends req to the factory and waits for the answer.
func (p *Platform) request(process *thread) factoryResult {
	reply := make(chan factoryResult, 1)
	select {
	case p.requests <- factoryRequest{process: process, reply: reply}:
	case <-p.stopFactory:
		return factoryResult{err: os.ErrClosed}
	}
	return <-reply
}

// attach makes the calling thread the tracer of stub thread tid of process
// tgid, which the factory handed over.
//
// Preconditions: the caller is locked to its OS thread.
func attach(tgid, tid int) (*thread, error) {
	t := &thread{tgid: tgid, tid: tid, owner: unix.Gettid()}
	if err := unix.PtraceAttach(tid); err != nil {
		return nil, fmt.Errorf("ptrace: attaching stub thread %d: %w", tid, err)
	}
	// The SIGSTOP of PTRACE_ATTACH wakes the stopped thread and is reported
	// as a signal-delivery stop, which resuming with signal 0 swallows.
	if ws, err := t.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		return nil, fmt.Errorf("ptrace: attached stub thread did not stop (%v): %v", ws.StopSignal(), err)
	}
	if err := t.setOptions(0); err != nil {
		return nil, err
	}
	if err := t.captureTemplate(); err != nil {
		return nil, err
	}
	return t, nil
}
