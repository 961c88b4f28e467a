// Package timerfd implements timerfd_create(2), timerfd_settime(2) and
// timerfd_gettime(2): a file whose reads return how many times a timer
// expired since the last read or settime.
//
// Expirations are computed from the clock, not counted from wake-ups: the
// timer keeps its next expiration time and, whenever it is looked at (a
// read, a poll, gettime, a wake-up), adds one expiration plus one per whole
// interval that has passed since. A time.AfterFunc-style wake-up (from the
// Clock) only tells waiters that the count may have become non-zero, and
// is armed only while the count is zero, so an unread periodic timer costs
// nothing however short its interval.
//
// Like eventfd, reads never block: they return EAGAIN when the count is
// zero and the syscall layer waits on the file's queue (EventIn) unless the
// file is O_NONBLOCK.
package timerfd

import (
	"encoding/binary"
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// IocSetTicks is TFD_IOC_SET_TICKS, _IOW('T', 0, __u64): set the
// expiration count to the u64 at arg.
const IocSetTicks = 0x40085400

// Clock is a time source: a clock's current value as a duration since its
// epoch, and a way to be called back later.
type Clock interface {
	// Now returns the clock's current reading.
	Now() time.Duration
	// AfterFunc calls f in its own goroutine once about d has passed,
	// as time.AfterFunc does.
	AfterFunc(d time.Duration, f func()) Stopper
}

// Stopper is a pending AfterFunc call; *time.Timer is one.
type Stopper interface {
	Stop() bool
}

// hostClock reads a host clock; its wake-ups use Go's timers.
type hostClock int32

func (c hostClock) Now() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(c), &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func (hostClock) AfterFunc(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }

// HostClock returns a Clock reading the host clock id (an _ALARM clock
// reads its base clock). Wake-ups are Go timers, which run on the
// monotonic clock; a wake-up recomputes from the clock and re-arms when
// the timer is not due yet, so a realtime clock stepped backwards delays
// expiration correctly, while one stepped forwards is noticed at the next
// wake-up or read rather than at once.
func HostClock(id int32) Clock {
	switch id {
	case unix.CLOCK_REALTIME_ALARM:
		id = unix.CLOCK_REALTIME
	case unix.CLOCK_BOOTTIME_ALARM:
		id = unix.CLOCK_BOOTTIME
	}
	return hostClock(id)
}

// Spec is an itimerspec: the time to the first expiration (or, with
// TFD_TIMER_ABSTIME, the clock reading of it; zero disarms) and the period
// (zero: one-shot).
type Spec struct {
	Value    time.Duration
	Interval time.Duration
}

// SpecFromItimerSpec converts an itimerspec from the application: EINVAL
// for a negative or unnormalised timespec, as timerfd_settime checks.
// Values beyond the range of a time.Duration saturate, as Linux's ktime_t
// does.
func SpecFromItimerSpec(its unix.ItimerSpec) (Spec, error) {
	v, err := durationFromTimespec(its.Value)
	if err != nil {
		return Spec{}, err
	}
	i, err := durationFromTimespec(its.Interval)
	if err != nil {
		return Spec{}, err
	}
	return Spec{Value: v, Interval: i}, nil
}

func durationFromTimespec(ts unix.Timespec) (time.Duration, error) {
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
		return 0, unix.EINVAL
	}
	if ts.Sec >= math.MaxInt64/int64(time.Second) {
		return math.MaxInt64, nil
	}
	return time.Duration(ts.Sec*1e9 + ts.Nsec), nil
}

// ItimerSpec converts s for the application.
func (s Spec) ItimerSpec() unix.ItimerSpec {
	return unix.ItimerSpec{Value: unix.NsecToTimespec(int64(s.Value)), Interval: unix.NsecToTimespec(int64(s.Interval))}
}

// File is a timerfd.
type File struct {
	attr  unix.Stat_t
	clock Clock
	// realtime is whether the clock is CLOCK_REALTIME(_ALARM), whose
	// absolute timers may be cancelled when the clock is set.
	realtime bool
	queue    waiter.Queue

	// mu protects the fields below.
	mu sync.Mutex
	// armed is whether an expiration is pending at next.
	armed    bool
	next     time.Duration
	interval time.Duration
	// ticks is the number of expirations not yet read.
	ticks uint64
	// mightCancel is whether the timer was set with
	// TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET on a realtime clock;
	// canceled whether the clock was set since (ClockWasSet).
	mightCancel bool
	canceled    bool
	// wake is the pending wake-up, gen tells a stale one from it.
	wake   Stopper
	gen    uint64
	closed bool
}

// New implements timerfd_create(clockID, flags): EINVAL for flags other
// than TFD_CLOEXEC and TFD_NONBLOCK or an unsupported clock, EPERM for the
// _ALARM clocks without CAP_WAKE_ALARM (canWakeAlarm). clock is the time
// source for clockID; nil means HostClock(clockID). The caller applies
// TFD_NONBLOCK (O_NONBLOCK) to the open file description, which is O_RDWR,
// and TFD_CLOEXEC to the descriptor.
func New(clockID int32, flags int, clock Clock, canWakeAlarm bool) (*File, error) {
	if flags&^(unix.TFD_CLOEXEC|unix.TFD_NONBLOCK) != 0 {
		return nil, unix.EINVAL
	}
	switch clockID {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME:
	case unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM:
		if !canWakeAlarm {
			return nil, unix.EPERM
		}
	default:
		return nil, unix.EINVAL
	}
	if clock == nil {
		clock = HostClock(clockID)
	}
	return &File{
		attr:     synth.Attr(synth.NewIno(), 0o600, 0),
		clock:    clock,
		realtime: clockID == unix.CLOCK_REALTIME || clockID == unix.CLOCK_REALTIME_ALARM,
	}, nil
}

// IsStream implements vfs.Streamer.
func (*File) IsStream() bool { return true }

// Stat implements vfs.FileImpl: an anonymous inode, mode 0600.
func (f *File) Stat() (unix.Stat_t, error) { return f.attr, nil }

// Close implements vfs.FileImpl: the timer stops.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.armed = false
	f.stopWakeLocked()
	return nil
}

// WriteAt implements vfs.FileImpl: a timerfd has no write, so EINVAL.
func (*File) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }

// updateLocked counts the expirations that happened up to now.
func (f *File) updateLocked(now time.Duration) {
	if !f.armed || now < f.next {
		return
	}
	if f.interval <= 0 {
		f.ticks++
		f.armed = false
		return
	}
	late := now - f.next
	f.ticks += uint64(late/f.interval) + 1
	// The next expiration is the first period boundary after now.
	f.next = addSat(now-late%f.interval, f.interval)
}

// addSat returns a+b for b >= 0, saturated at the largest duration.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func (f *File) stopWakeLocked() {
	if f.wake != nil {
		f.wake.Stop()
		f.wake = nil
	}
	f.gen++
}

// armWakeLocked schedules a wake-up for the next expiration if one is
// needed: the timer is armed and nothing is readable yet.
func (f *File) armWakeLocked(now time.Duration) {
	f.stopWakeLocked()
	if f.closed || !f.armed || f.ticks > 0 || f.canceled {
		return
	}
	d := f.next - now
	if d < 0 {
		d = 0
	}
	gen := f.gen
	f.wake = f.clock.AfterFunc(d, func() { f.fire(gen) })
}

// fire is a wake-up: it counts expirations and tells waiters, or re-arms
// when the clock says the timer is not due yet.
func (f *File) fire(gen uint64) {
	f.mu.Lock()
	if gen != f.gen {
		f.mu.Unlock()
		return
	}
	f.wake = nil
	now := f.clock.Now()
	f.updateLocked(now)
	ready := f.ticks > 0
	if !ready {
		f.armWakeLocked(now)
	}
	f.mu.Unlock()
	if ready {
		f.queue.Notify(waiter.EventIn)
	}
}

// ReadAt implements vfs.FileImpl: the 8-byte expiration count, which it
// resets; EINVAL for a buffer under 8 bytes, EAGAIN when the count is zero
// (the syscall layer waits for EventIn unless O_NONBLOCK), ECANCELED once
// after the realtime clock was set under a TFD_TIMER_CANCEL_ON_SET timer.
func (f *File) ReadAt(dst []byte, _ int64) (int, error) {
	if len(dst) < 8 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.canceled {
		f.canceled = false
		f.ticks = 0
		f.armWakeLocked(f.clock.Now())
		return 0, unix.ECANCELED
	}
	now := f.clock.Now()
	f.updateLocked(now)
	if f.ticks == 0 {
		return 0, unix.EAGAIN
	}
	binary.LittleEndian.PutUint64(dst, f.ticks)
	f.ticks = 0
	f.armWakeLocked(now)
	return 8, nil
}

// remainingLocked is the setting as timerfd_gettime reports it.
func (f *File) remainingLocked(now time.Duration) Spec {
	s := Spec{Interval: f.interval}
	if f.armed {
		s.Value = f.next - now
		if s.Value <= 0 {
			// Due but not yet counted cannot happen after update;
			// report the minimum rather than "disarmed".
			s.Value = 1
		}
	}
	return s
}

// GetTime implements timerfd_gettime: the time to the next expiration
// (zero when disarmed or a one-shot timer expired) and the interval.
func (f *File) GetTime() Spec {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	f.updateLocked(now)
	return f.remainingLocked(now)
}

// SetTime implements timerfd_settime: it returns the old setting (as
// GetTime would have) and arms the timer with s, resetting the expiration
// count. flags are TFD_TIMER_ABSTIME (s.Value is a clock reading; a past
// one expires at once, counting every interval since) and
// TFD_TIMER_CANCEL_ON_SET (honoured only with TFD_TIMER_ABSTIME on a
// realtime clock, as Linux does: see ClockWasSet); others are EINVAL.
// Negative durations are EINVAL (SpecFromItimerSpec checks timespecs).
func (f *File) SetTime(flags int, s Spec) (Spec, error) {
	if flags&^(unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET) != 0 || s.Value < 0 || s.Interval < 0 {
		return Spec{}, unix.EINVAL
	}
	f.mu.Lock()
	now := f.clock.Now()
	f.updateLocked(now)
	old := f.remainingLocked(now)
	f.ticks = 0
	f.canceled = false
	f.mightCancel = f.realtime && flags&unix.TFD_TIMER_ABSTIME != 0 && flags&unix.TFD_TIMER_CANCEL_ON_SET != 0
	f.interval = s.Interval
	f.armed = s.Value != 0 && !f.closed
	if f.armed {
		if flags&unix.TFD_TIMER_ABSTIME != 0 {
			f.next = s.Value
		} else {
			f.next = addSat(now, s.Value)
		}
		// An absolute time already past expires now.
		f.updateLocked(now)
	}
	f.armWakeLocked(now)
	ready := f.ticks > 0
	f.mu.Unlock()
	if ready {
		f.queue.Notify(waiter.EventIn)
	}
	return old, nil
}

// ClockWasSet tells the timer that its clock was set discontinuously
// (clock_settime, settimeofday). A timer armed with
// TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET on a realtime clock becomes
// readable, and its next read fails with ECANCELED. The sentry does not let
// applications set the clock, and host clock steps are not observed, so
// nothing calls this yet: cancel-on-set is accepted but never fires.
func (f *File) ClockWasSet() {
	f.mu.Lock()
	if !f.mightCancel || f.canceled {
		f.mu.Unlock()
		return
	}
	f.canceled = true
	f.stopWakeLocked()
	f.mu.Unlock()
	f.queue.Notify(waiter.EventIn)
}

// Ioctl implements vfs.Ioctler: TFD_IOC_SET_TICKS replaces the expiration
// count with the u64 at arg (EINVAL for zero, EFAULT, ECANCELED while a
// clock change is pending); anything else is ENOTTY.
func (f *File) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	if request != IocSetTicks {
		return 0, unix.ENOTTY
	}
	var b [8]byte
	if n, err := io.CopyIn(arg, b[:]); err != nil || n != len(b) {
		return 0, unix.EFAULT
	}
	ticks := binary.LittleEndian.Uint64(b[:])
	if ticks == 0 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	if f.canceled {
		f.mu.Unlock()
		return 0, unix.ECANCELED
	}
	now := f.clock.Now()
	f.updateLocked(now)
	f.ticks = ticks
	f.armWakeLocked(now)
	f.mu.Unlock()
	f.queue.Notify(waiter.EventIn)
	return 0, nil
}

// Readiness implements waiter.Waitable: EventIn while the count is
// non-zero (or a clock change is to be reported).
func (f *File) Readiness(mask uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateLocked(f.clock.Now())
	if f.ticks > 0 || f.canceled {
		return waiter.EventIn & mask
	}
	return 0
}

// EventRegister implements waiter.Waitable.
func (f *File) EventRegister(ch chan struct{}, mask uint32) { f.queue.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (f *File) EventUnregister(ch chan struct{}) { f.queue.EventUnregister(ch) }
