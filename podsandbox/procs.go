package podsandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// proc is one of a pod's host processes (sentry or gofer) held by a
// pidfd. Pods outlive the daemon, so a PID from the database may by now
// name another process: a proc is only ever made for a PID whose start
// time matches the one recorded when the pod started, checked after the
// pidfd is open (see openProc).
type proc struct {
	name  string // "sentry" or "gofer", for messages
	pid   int
	start uint64
	fd    int // pidfd; -1 once closed
}

// startTime reads a process's start time (field 22 of /proc/PID/stat,
// in clock ticks since boot).
func startTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// or parentheses itself: the fields that follow start after the last
	// ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return strconv.ParseUint(string(fields[19]), 10, 64)
}

// openProc opens a pidfd on pid and checks that it is the process that
// started at start (0 skips the check, for a process we just spawned and
// have not reaped, whose PID cannot have been reused). It returns an
// error wrapping os.ErrProcessDone when the process is gone.
func openProc(name string, pid int, start uint64) (*proc, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("%s: no PID: %w", name, os.ErrProcessDone)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("%s (pid %d): %w", name, pid, os.ErrProcessDone)
		}
		return nil, fmt.Errorf("%s (pid %d): pidfd_open: %w", name, pid, err)
	}
	unix.CloseOnExec(fd)
	p := &proc{name: name, pid: pid, fd: fd}
	st, err := startTime(pid)
	if err != nil {
		// No /proc entry after the pidfd opened: the process is gone.
		p.close()
		return nil, fmt.Errorf("%s (pid %d): %w", name, pid, os.ErrProcessDone)
	}
	if start != 0 && st != start {
		// The pidfd is on a process that reused the PID: not ours.
		p.close()
		return nil, fmt.Errorf("%s (pid %d) was replaced by another process: %w", name, pid, os.ErrProcessDone)
	}
	p.start = st
	return p, nil
}

// exited reports whether the process has ended (without blocking).
func (p *proc) exited() bool {
	return p.waitExit(0)
}

// waitExit waits up to timeout for the process to end and reports
// whether it did. A pidfd polls readable once its process has exited.
func (p *proc) waitExit(timeout time.Duration) bool {
	if p.fd < 0 {
		return true
	}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms < 0 {
			ms = 0
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		return n > 0
	}
}

// kill sends SIGKILL through the pidfd, which cannot hit a process that
// reused the PID.
func (p *proc) kill() {
	if p.fd >= 0 {
		_ = unix.PidfdSendSignal(p.fd, unix.SIGKILL, nil, 0)
	}
}

// reap collects the exit status when the process is the daemon's child
// (it is until the daemon restarts), so no zombie is left; for a process
// that is not our child it does nothing.
func (p *proc) reap() {
	if p.fd < 0 {
		return
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PIDFD, p.fd, &info, unix.WEXITED|unix.WNOHANG, nil)
		if err != unix.EINTR {
			return
		}
	}
}

func (p *proc) close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

// stopAndClose kills the process, waits up to timeout for it to end,
// reaps it and closes the pidfd. It reports whether the process ended.
func (p *proc) stopAndClose(timeout time.Duration) bool {
	p.kill()
	ok := p.waitExit(timeout)
	p.reap()
	p.close()
	return ok
}

// watcher waits for any of a pod's processes to end. It owns nothing:
// the procs stay the pod's, and are closed only after the watcher is
// done.
type watcher struct {
	stopFD int // eventfd; written to stop the watcher
	done   chan struct{}
}

// watch starts a goroutine that calls died(p) when the first of procs
// ends (after closing w.done, so that died may stop the watcher), or
// returns when stopped.
func watch(procs []*proc, died func(p *proc)) (*watcher, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	w := &watcher{stopFD: efd, done: make(chan struct{})}
	go func() {
		fds := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
		for _, p := range procs {
			fds = append(fds, unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN})
		}
		for {
			_, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			if err != nil || fds[0].Revents != 0 {
				close(w.done)
				return
			}
			for i, p := range procs {
				if fds[i+1].Revents != 0 {
					close(w.done)
					died(p)
					return
				}
			}
		}
	}()
	return w, nil
}

// stop ends the watcher and waits for its goroutine (unless called from
// died, for which done is already closed).
func (w *watcher) stop() {
	if w == nil {
		return
	}
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(w.stopFD, one[:])
	<-w.done
	unix.Close(w.stopFD)
	w.stopFD = -1
}

// setOOMScoreAdj lowers the OOM score of pid to want, the pod's
// processes being what the node must keep (as kubelet does for
// containerd). Lowering it needs CAP_SYS_RESOURCE; without it the kernel
// lets a process go down only to its own lowest value so far, so on
// EPERM the current value is kept. It returns the value in effect and
// whether want was applied.
func setOOMScoreAdj(pid, want int) (int, bool, error) {
	path := fmt.Sprintf("/proc/%d/oom_score_adj", pid)
	err := os.WriteFile(path, []byte(strconv.Itoa(want)), 0)
	if err == nil {
		return want, true, nil
	}
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return 0, false, err
	}
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		return 0, false, rerr
	}
	cur, perr := strconv.Atoi(string(bytes.TrimSpace(data)))
	if perr != nil {
		return 0, false, perr
	}
	return cur, false, nil
}

// siginfoStatus is si_status of a SIGCHLD siginfo_t: x/sys/unix leaves
// the union unnamed, and on 64-bit Linux the field sits at byte 24
// (after si_signo, si_errno, si_code, padding, si_pid and si_uid).
func siginfoStatus(info *unix.Siginfo) int32 {
	raw := (*[unsafe.Sizeof(unix.Siginfo{})]byte)(unsafe.Pointer(info))
	return *(*int32)(unsafe.Pointer(&raw[24]))
}
