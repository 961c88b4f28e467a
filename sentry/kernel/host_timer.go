package kernel

import (
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Short waits of tasks (from hostTimerMin to hostTimerLimit) end on a
// host timer, not a Go timer. When every goroutine of the sentry is
// blocked, Go's scheduler waits for its next timer in epoll_wait(2),
// whose timeout is in whole milliseconds: a Go timer due in 100 µs
// fires a millisecond or more later. A program's nanosleep(100 µs) took
// 1.2 ms (natively 0.2 ms on the development VM), and every poll, futex
// or epoll timeout under a millisecond with it. A timerfd read through
// Go's network poller wakes that epoll_wait at the time the host kernel
// keeps, as precisely as a native sleep.
//
// Waits of hostTimerLimit and longer use Go's timers: a millisecond late
// is then a fifth of the wait at most (and nothing while the sentry is
// busy, its scheduler checking timers all the time), and a Go timer costs
// no host system call, where a host timer costs one or two.
const hostTimerLimit = 5 * time.Millisecond

// Waits shorter than hostTimerMin use Go's timers too. They are a
// program's spin-backoffs (Go's own runtime sleeps 3 and 20 µs between
// looks at its scheduler), which no sandbox can honour, a system call's
// round trip being longer: on host timers such a loop runs at its native
// rate, every turn a round trip, and its CPU goes to the sandbox's
// hand-offs (measured: a Go UDP echo server's round trip took 80 µs more
// with its sysmon's 20 µs sleeps on host timers).
//
// The bound sits below the shortest sleep C programs commonly ask for,
// usleep(50), by more than what elapses between a system call's entry and
// its wait: compared with what is left of it, a 50 µs sleep fell just
// short of a 50 µs bound and took 0.8 ms (1.1 ms with the sentry idle),
// against 0.15 ms natively.
const hostTimerMin = 40 * time.Microsecond

// timerSlack is how late a host timer may expire, as Linux lets a normal
// task's sleeps and timeouts expire up to its timer slack (50 µs unless
// PR_SET_TIMERSLACK changed it) after their time, to wake the CPU once
// for several timers. A native nanosleep(20 µs) takes ~110 µs on the
// development VM.
const timerSlack = 50 * time.Microsecond

// maxHostTimers bounds the timerfds the sentry keeps; a task that finds
// them all in use waits on a Go timer.
const maxHostTimers = 256

// hostTimer is a non-blocking timerfd on Go's network poller.
type hostTimer struct {
	f  *os.File
	rc syscall.RawConn
}

// hostTimers is the pool of idle host timers.
var hostTimers struct {
	mu sync.Mutex
	// free holds the idle timers; made counts every timer made, idle or
	// in use. Both are protected by mu.
	free []*hostTimer
	made int
}

// getHostTimer returns an idle, disarmed host timer, or nil when the pool
// is exhausted or the host refuses one.
func getHostTimer() *hostTimer {
	hostTimers.mu.Lock()
	if n := len(hostTimers.free); n > 0 {
		h := hostTimers.free[n-1]
		hostTimers.free = hostTimers.free[:n-1]
		hostTimers.mu.Unlock()
		return h
	}
	if hostTimers.made >= maxHostTimers {
		hostTimers.mu.Unlock()
		return nil
	}
	hostTimers.made++
	hostTimers.mu.Unlock()

	h, err := newHostTimer()
	if err != nil {
		freeHostTimerSlot()
		return nil
	}
	return h
}

// freeHostTimerSlot gives back the place in the pool of a timer that is
// gone.
func freeHostTimerSlot() {
	hostTimers.mu.Lock()
	hostTimers.made--
	hostTimers.mu.Unlock()
}

func newHostTimer() (*hostTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// A non-blocking descriptor given to os.NewFile goes on the poller.
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &hostTimer{f: f, rc: rc}, nil
}

// put returns a disarmed timer whose waiter has finished to the pool.
func (h *hostTimer) put() {
	hostTimers.mu.Lock()
	hostTimers.free = append(hostTimers.free, h)
	hostTimers.mu.Unlock()
}

// discard closes a timer the host failed to arm and frees its place in
// the pool.
func (h *hostTimer) discard() {
	h.f.Close()
	freeHostTimerSlot()
}

// set arms the timer to expire after d, or disarms it when d is 0. Arming
// or disarming clears an expiration not yet read.
func (h *hostTimer) set(d time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	var err error
	ctlErr := h.rc.Control(func(fd uintptr) {
		err = unix.TimerfdSettime(int(fd), 0, &spec, nil)
	})
	if ctlErr != nil {
		return ctlErr
	}
	return err
}

// startHostTimer starts a host timer for a wait of d and returns it with
// the channel its expiry closes; nil when d is not short or no host timer
// is to be had. The caller stops it.
func startHostTimer(d time.Duration) (*hostTimer, <-chan struct{}) {
	if d < hostTimerMin || d >= hostTimerLimit {
		return nil, nil
	}
	h := getHostTimer()
	if h == nil {
		return nil, nil
	}
	fired, err := h.start(d + timerSlack)
	if err != nil {
		h.discard()
		return nil, nil
	}
	return h, fired
}

// start arms the timer for d and returns a channel closed once it
// expires, or once stop cuts the wait short.
func (h *hostTimer) start(d time.Duration) (<-chan struct{}, error) {
	if err := h.set(d); err != nil {
		return nil, err
	}
	fired := make(chan struct{})
	go func() {
		defer close(fired)
		var buf [8]byte
		_ = h.rc.Read(func(fd uintptr) bool {
			_, err := unix.Read(int(fd), buf[:])
			return err != unix.EAGAIN
		})
	}()
	return fired, nil
}

// stop ends a wait start began, whether or not the timer expired, and
// returns the timer to the pool.
func (h *hostTimer) stop(fired <-chan struct{}) {
	select {
	case <-fired:
	default:
		// A read deadline in the past wakes the waiter at once.
		_ = h.set(0)
		_ = h.f.SetReadDeadline(time.Unix(1, 0))
		<-fired
		_ = h.f.SetReadDeadline(time.Time{})
	}
	h.put()
}
