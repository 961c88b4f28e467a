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
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// stubMemFD is the file descriptor number of the memory file inside every
// stub process.
const stubMemFD = 0

// Platform is the ptrace platform.
type Platform struct {
	mf *memfile.File
	// forkRequests carries requests for a new stub process to the factory.
	forkRequests chan chan forkResult
	// stopFactory ends the factory goroutine and kills the master stub.
	stopFactory chan struct{}
}

type forkResult struct {
	pid int
	err error
}

var _ platform.Platform = (*Platform)(nil)

// New starts the ptrace platform: it creates the master stub from an image
// held in a memfd. It is the only time the platform executes a program.
func New(mf *memfile.File) (*Platform, error) {
	p := &Platform{
		mf:           mf,
		forkRequests: make(chan chan forkResult),
		stopFactory:  make(chan struct{}),
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
		case reply := <-p.forkRequests:
			pid, err := forkStub(master)
			reply <- forkResult{pid, err}
		case <-p.stopFactory:
			master.kill()
			return
		}
	}
}

// startMaster executes the stub image and prepares the master stub: nothing
// mapped but the stub itself, and children reaped automatically.
func (p *Platform) startMaster() (*thread, error) {
	img := stubImage()
	fd, err := unix.MemfdCreate("cocoon-stub", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("ptrace: creating stub image: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, img); err != nil {
		return nil, fmt.Errorf("ptrace: writing stub image: %w", err)
	}
	path := fmt.Sprintf("/proc/self/fd/%d", fd)
	pid, err := syscall.ForkExec(path, []string{"cocoon-stub"}, &syscall.ProcAttr{
		Env:   []string{},
		Files: []uintptr{uintptr(p.mf.FD())},
		Sys: &syscall.SysProcAttr{
			Ptrace:    true,
			Setsid:    true,
			Pdeathsig: syscall.SIGKILL,
		},
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("%w: ptrace refused: %v", platform.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("ptrace: starting stub: %w", err)
	}
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
	if err := prepareMaster(t); err != nil {
		t.kill()
		return nil, err
	}
	return t, nil
}

// prepareMaster clears the master's address space down to the stub and
// makes it ignore SIGCHLD so exited stubs are reaped by the host kernel.
func prepareMaster(t *thread) error {
	if _, err := t.syscall(unix.SYS_MUNMAP, 0, stubStart); err != nil {
		return fmt.Errorf("ptrace: clearing stub below itself: %w", err)
	}
	if _, err := t.syscall(unix.SYS_MUNMAP, stubEnd, hostUserEnd-stubEnd); err != nil {
		return fmt.Errorf("ptrace: clearing stub above itself: %w", err)
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

// forkStub forks the master and hands the child over, stopped and detached,
// for another thread to attach.
func forkStub(master *thread) (int, error) {
	regs := master.template
	regs.Rip = stubSyscallAddr
	regs.Rax = unix.SYS_FORK
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(master.tid, &regs); err != nil {
		return 0, fmt.Errorf("ptrace: injecting fork: %w", err)
	}
	if err := unix.PtraceCont(master.tid, 0); err != nil {
		return 0, fmt.Errorf("ptrace: resuming master for fork: %w", err)
	}
	ws, err := master.waitStop()
	if err != nil {
		return 0, err
	}
	if ws.StopSignal() != unix.SIGTRAP || ws.TrapCause() != unix.PTRACE_EVENT_FORK {
		return 0, fmt.Errorf("ptrace: master stopped with %v (event %d) during fork", ws.StopSignal(), ws.TrapCause())
	}
	msg, err := unix.PtraceGetEventMsg(master.tid)
	if err != nil {
		return 0, fmt.Errorf("ptrace: reading forked stub pid: %w", err)
	}
	pid := int(msg)
	// Let the master finish the fork and stop on the int3.
	if err := unix.PtraceCont(master.tid, 0); err != nil {
		return 0, fmt.Errorf("ptrace: resuming master after fork: %w", err)
	}
	if ws, err := master.waitStop(); err != nil || ws.StopSignal() != unix.SIGTRAP {
		return 0, fmt.Errorf("ptrace: master did not return from fork (%v): %v", ws.StopSignal(), err)
	}
	child := &thread{tgid: pid, tid: pid, owner: master.owner}
	// A child of a PTRACE_O_TRACEFORK tracee starts traced and stopped with
	// SIGSTOP.
	if ws, err := child.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		child.kill()
		return 0, fmt.Errorf("ptrace: new stub did not stop (%v): %v", ws.StopSignal(), err)
	}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(unix.SIGSTOP), 0, 0); errno != 0 {
		child.kill()
		return 0, fmt.Errorf("ptrace: handing over new stub: %w", errno)
	}
	return pid, nil
}

// newStubProcess returns a new stub process traced by the calling thread.
//
// Preconditions: the caller is locked to its OS thread.
func (p *Platform) newStubProcess() (*thread, error) {
	reply := make(chan forkResult, 1)
	select {
	case p.forkRequests <- reply:
	case <-p.stopFactory:
		return nil, os.ErrClosed
	}
	res := <-reply
	if res.err != nil {
		return nil, res.err
	}
	t := &thread{tgid: res.pid, tid: res.pid, owner: unix.Gettid()}
	if err := unix.PtraceAttach(t.tid); err != nil {
		_ = unix.Kill(t.tgid, unix.SIGKILL)
		return nil, fmt.Errorf("ptrace: attaching new stub: %w", err)
	}
	// The SIGSTOP of PTRACE_ATTACH wakes the stopped child and is reported
	// as a signal-delivery stop, which resuming with signal 0 swallows.
	if ws, err := t.waitStop(); err != nil || ws.StopSignal() != unix.SIGSTOP {
		t.kill()
		return nil, fmt.Errorf("ptrace: attached stub did not stop (%v): %v", ws.StopSignal(), err)
	}
	if err := t.setOptions(0); err != nil {
		t.kill()
		return nil, err
	}
	if err := t.captureTemplate(); err != nil {
		t.kill()
		return nil, err
	}
	return t, nil
}
