//go:build linux && amd64

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// killGrace is how long a child may take to die after SIGKILL before the
// kernel counts as hung: SIGKILL cannot be blocked or caught, so a child
// that outlives it is stuck inside the kernel.
const killGrace = 20 * time.Second

// parent runs the batches, one child each, and keeps the tally.
type parent struct {
	seed, start, count, batch uint64
	duration, childTimeout    time.Duration
	verbose                   bool

	exe     string
	workdir string
	// progress is the page shared with the running child (progressWords).
	progress     []uint64
	progressFile *os.File
	// pidns is whether children start in PID namespaces of their own.
	pidns bool

	calls, children, ok, timeouts uint64
	deaths                        map[string]uint64
}

// The words of the progress page, written by the child and read by the
// parent once the child is gone.
const (
	progBegun = iota // calls the child has begun
	progNR           // system call number of the last call begun
	progDone         // 1 once the child finished its batch
	progressWords
)

func (p *parent) run() int {
	t0 := time.Now()
	var err error
	if p.exe, err = os.Executable(); err != nil {
		fmt.Printf("sysfuzz: %v\n", err)
		return 2
	}
	if p.workdir, err = os.MkdirTemp("", "sysfuzz-"); err != nil {
		fmt.Printf("sysfuzz: %v\n", err)
		return 2
	}
	defer os.RemoveAll(p.workdir)
	if err := p.mapProgress(); err != nil {
		fmt.Printf("sysfuzz: progress page: %v\n", err)
		return 2
	}
	p.deaths = map[string]uint64{}
	p.pidns = true
	end := p.start + p.count
	fmt.Printf("sysfuzz: seed=%d start=%d count=%d batch=%d duration=%s child-timeout=%s\n",
		p.seed, p.start, p.count, p.batch, p.duration, p.childTimeout)
	code := 0
	for idx := p.start; idx < end && time.Since(t0) < p.duration; {
		n := min(p.batch, end-idx)
		if err := p.runChild(idx, n); err != nil {
			fmt.Printf("sysfuzz: batch [%d,%d): %v\n", idx, idx+n, err)
			code = 3
			break
		}
		idx += n
	}
	fmt.Printf("sysfuzz: done seed=%d start=%d calls=%d children=%d ok=%d timeouts=%d pidns=%v elapsed=%s deaths=%s\n",
		p.seed, p.start, p.calls, p.children, p.ok, p.timeouts, p.pidns,
		time.Since(t0).Round(time.Millisecond), p.deathSummary())
	return code
}

// mapProgress makes the page the children report their progress in: a
// memfd each child maps shared, so that the parent knows which call a
// child was in when it died without the child making a system call per
// call to say so.
func (p *parent) mapProgress() error {
	fd, err := unix.MemfdCreate("sysfuzz-progress", 0)
	if err != nil {
		return err
	}
	if err := unix.Ftruncate(fd, 4096); err != nil {
		unix.Close(fd)
		return err
	}
	mem, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return err
	}
	p.progress = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), progressWords)
	p.progressFile = os.NewFile(uintptr(fd), "progress")
	return nil
}

// runChild runs calls [idx, idx+n) in a child and records how it ended.
// It fails only when the child cannot be started or does not die.
func (p *parent) runChild(idx, n uint64) error {
	for i := range p.progress {
		atomic.StoreUint64(&p.progress[i], 0)
	}
	cmd, err := p.startChild(idx, n)
	if err != nil {
		return err
	}
	p.children++
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timedOut := false
	timer := time.NewTimer(p.childTimeout)
	select {
	case <-done:
		timer.Stop()
	case <-timer.C:
		timedOut = true
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(killGrace):
			return fmt.Errorf("HANG: child %d survived SIGKILL for %s in call %d (%s)",
				cmd.Process.Pid, killGrace, idx+atomic.LoadUint64(&p.progress[progBegun])-1,
				callName(atomic.LoadUint64(&p.progress[progNR])))
		}
	}
	// Children of the child that outlived it (when it has no PID
	// namespace of its own) are this process's to reap now.
	for {
		pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			break
		}
	}
	begun := atomic.LoadUint64(&p.progress[progBegun])
	p.calls += begun
	finished := atomic.LoadUint64(&p.progress[progDone]) == 1
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	var how string
	switch {
	case timedOut:
		p.timeouts++
		how = "timed out"
	case ws.Signaled():
		how = "killed by " + unix.SignalName(ws.Signal())
		p.deaths[unix.SignalName(ws.Signal())]++
	case ws.ExitStatus() != 0 || !finished:
		how = fmt.Sprintf("exited with status %d", ws.ExitStatus())
		p.deaths[fmt.Sprintf("exit%d", ws.ExitStatus())]++
	default:
		p.ok++
		if p.verbose {
			fmt.Printf("sysfuzz: batch [%d,%d) finished\n", idx, idx+n)
		}
		return nil
	}
	in := ""
	if begun > 0 {
		in = fmt.Sprintf(" in call %d (%s)", idx+begun-1, callName(atomic.LoadUint64(&p.progress[progNR])))
	}
	fmt.Printf("sysfuzz: batch [%d,%d) %s%s; replay: -seed %d -start %d -count %d -batch %d\n",
		idx, idx+n, how, in, p.seed, idx, n, n)
	return nil
}

func (p *parent) startChild(idx, n uint64) (*exec.Cmd, error) {
	for {
		cmd := exec.Command(p.exe, childArgs(p.seed, idx, n, p.workdir, p.verbose)...)
		cmd.Args[0] = "sysfuzz-child"
		if p.verbose {
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		}
		cmd.ExtraFiles = []*os.File{p.progressFile} // fd 3
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
		if p.pidns {
			// In a PID namespace of its own a child cannot name this
			// process (kill(-1), kill(1), ptrace, process_vm_writev),
			// and its own children die with it.
			cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID
		}
		err := cmd.Start()
		if err == nil {
			return cmd, nil
		}
		if p.pidns && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS)) {
			fmt.Printf("sysfuzz: no PID namespace for children (%v); children share this one\n", err)
			p.pidns = false
			continue
		}
		return nil, fmt.Errorf("starting child: %w", err)
	}
}

func (p *parent) deathSummary() string {
	if len(p.deaths) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(p.deaths))
	for k := range p.deaths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", k, p.deaths[k])
	}
	return b.String()
}
