package systrap

import "golang.org/x/sys/unix"

// A stub process the host kills (its seccomp filter does, when code jumps
// to the stub's own syscall instruction with a number it refuses) leaves
// its threads zombies until the sentry, their tracer, reaps them, and a
// zombie thread still answers tgkill(tgid, tid, 0). A pidfd of the
// process becomes readable once all of it has exited, zombies or not, so
// a thread waiting for an event that will never come learns the stub is
// gone. The pidfd is opened only when a wait times out, so that address
// spaces hold no descriptor; the PID cannot be reused meanwhile, since
// the sentry has not reaped the process.

// stubExited reports whether the stub process of thread tid has exited.
func (as *addressSpace) stubExited(tid int) bool {
	if unix.Tgkill(as.first.tgid, tid, 0) == unix.ESRCH {
		return true
	}
	fd, err := unix.PidfdOpen(as.first.tgid, 0)
	if err == unix.ESRCH {
		return true
	}
	if err != nil {
		return false // no pidfds (Linux before 5.3): tgkill alone
	}
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
	return err == nil && n > 0
}
