package timerfd

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	c    *fakeClock
	when time.Duration
	f    func()
}

func newFakeClock(now time.Duration) *fakeClock {
	return &fakeClock{now: now, timers: make(map[*fakeTimer]struct{})}
}

func (c *fakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, when: c.now + d, f: f}
	c.timers[t] = struct{}{}
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	delete(t.c.timers, t)
	return ok
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// set moves the clock to now (possibly backwards, as a stepped realtime
// clock) and runs the callbacks that became due, synchronously.
func (c *fakeClock) set(now time.Duration) {
	c.mu.Lock()
	c.now = now
	var due []*fakeTimer
	for t := range c.timers {
		if t.when <= now {
			due = append(due, t)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

func (c *fakeClock) advance(d time.Duration) { c.set(c.Now() + d) }

func newTimer(t *testing.T, c Clock) *File {
	t.Helper()
	f, err := New(unix.CLOCK_MONOTONIC, 0, c, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// read returns the count, or 0 and the error.
func read(t *testing.T, f *File) (uint64, error) {
	t.Helper()
	var b [8]byte
	n, err := f.ReadAt(b[:], 0)
	if err != nil {
		return 0, err
	}
	if n != 8 {
		t.Fatalf("read %d bytes", n)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func wantCount(t *testing.T, f *File, want uint64) {
	t.Helper()
	got, err := read(t, f)
	if want == 0 {
		if err != unix.EAGAIN {
			t.Fatalf("read = %d, %v; want EAGAIN", got, err)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("read = %d, %v; want %d", got, err, want)
	}
}

func TestNew(t *testing.T) {
	c := newFakeClock(0)
	for _, tc := range []struct {
		clock int32
		flags int
		cap   bool
		err   error
	}{
		{unix.CLOCK_REALTIME, 0, false, nil},
		{unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK | unix.TFD_CLOEXEC, false, nil},
		{unix.CLOCK_BOOTTIME, 0, false, nil},
		{unix.CLOCK_REALTIME_ALARM, 0, false, unix.EPERM},
		{unix.CLOCK_BOOTTIME_ALARM, 0, false, unix.EPERM},
		{unix.CLOCK_REALTIME_ALARM, 0, true, nil},
		{unix.CLOCK_BOOTTIME_ALARM, 0, true, nil},
		{unix.CLOCK_PROCESS_CPUTIME_ID, 0, true, unix.EINVAL},
		{unix.CLOCK_MONOTONIC_RAW, 0, true, unix.EINVAL},
		{unix.CLOCK_TAI, 0, true, unix.EINVAL},
		{-1, 0, true, unix.EINVAL},
		{unix.CLOCK_MONOTONIC, unix.O_RDWR, false, unix.EINVAL},
		{unix.CLOCK_MONOTONIC, 1, false, unix.EINVAL},
		// Flags are checked before the capability.
		{unix.CLOCK_REALTIME_ALARM, 1, false, unix.EINVAL},
	} {
		f, err := New(tc.clock, tc.flags, c, tc.cap)
		if err != tc.err {
			t.Errorf("New(%d, %#x, cap=%v) = %v, want %v", tc.clock, tc.flags, tc.cap, err, tc.err)
		}
		if f != nil {
			f.Close()
		}
	}
}

func TestStatAndWrite(t *testing.T) {
	f := newTimer(t, newFakeClock(0))
	st, err := f.Stat()
	if err != nil || st.Mode != 0o600 || st.Ino == 0 || st.Nlink != 1 {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if _, err := f.WriteAt(make([]byte, 8), 0); err != unix.EINVAL {
		t.Fatalf("write = %v, want EINVAL", err)
	}
	if !f.IsStream() {
		t.Fatal("not a stream")
	}
	var _ vfs.FileImpl = f
	var _ vfs.Streamer = f
	var _ vfs.Ioctler = f
	var _ waiter.Waitable = f
}

func TestOneShot(t *testing.T) {
	c := newFakeClock(100 * time.Second)
	f := newTimer(t, c)
	wantCount(t, f, 0)
	if got := f.GetTime(); got != (Spec{}) {
		t.Fatalf("disarmed GetTime = %+v", got)
	}
	old, err := f.SetTime(0, Spec{Value: 5 * time.Second})
	if err != nil || old != (Spec{}) {
		t.Fatalf("SetTime = %+v, %v", old, err)
	}
	if got := f.GetTime(); got != (Spec{Value: 5 * time.Second}) {
		t.Fatalf("GetTime = %+v", got)
	}
	c.advance(2 * time.Second)
	if got := f.GetTime(); got != (Spec{Value: 3 * time.Second}) {
		t.Fatalf("GetTime = %+v", got)
	}
	wantCount(t, f, 0)
	if f.Readiness(waiter.EventIn|waiter.EventOut) != 0 {
		t.Fatal("ready before expiry")
	}
	c.advance(3*time.Second - 1)
	wantCount(t, f, 0)
	c.advance(1)
	if r := f.Readiness(waiter.EventIn | waiter.EventOut); r != waiter.EventIn {
		t.Fatalf("Readiness = %#x", r)
	}
	c.advance(time.Hour)
	wantCount(t, f, 1)
	wantCount(t, f, 0)
	if got := f.GetTime(); got != (Spec{}) {
		t.Fatalf("expired GetTime = %+v", got)
	}
	if c.pending() != 0 {
		t.Fatalf("%d wake-ups pending after a one-shot expired", c.pending())
	}
}

func TestPeriodicExactCounts(t *testing.T) {
	c := newFakeClock(0)
	f := newTimer(t, c)
	if _, err := f.SetTime(0, Spec{Value: time.Second, Interval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Second)
	wantCount(t, f, 1)
	// 10.5 periods later: 10 more expirations, with no wake-up per period.
	c.set(2*time.Second + 50*time.Millisecond)
	wantCount(t, f, 10)
	if got := f.GetTime(); got != (Spec{Value: 50 * time.Millisecond, Interval: 100 * time.Millisecond}) {
		t.Fatalf("GetTime = %+v", got)
	}
	c.advance(49 * time.Millisecond)
	wantCount(t, f, 0)
	c.advance(time.Millisecond)
	wantCount(t, f, 1)
	// A long stretch unread.
	c.advance(time.Hour)
	wantCount(t, f, 36000)
	c.advance(99 * time.Millisecond)
	wantCount(t, f, 0)
	c.advance(time.Millisecond)
	wantCount(t, f, 1)
}

func TestAbsTime(t *testing.T) {
	c := newFakeClock(1000 * time.Second)
	f := newTimer(t, c)
	// In the future.
	if _, err := f.SetTime(unix.TFD_TIMER_ABSTIME, Spec{Value: 1010 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if got := f.GetTime(); got != (Spec{Value: 10 * time.Second}) {
		t.Fatalf("GetTime = %+v", got)
	}
	c.advance(10 * time.Second)
	wantCount(t, f, 1)

	// In the past, one-shot: expires at once.
	if _, err := f.SetTime(unix.TFD_TIMER_ABSTIME, Spec{Value: time.Second}); err != nil {
		t.Fatal(err)
	}
	if f.Readiness(waiter.EventIn) == 0 {
		t.Fatal("past absolute timer not ready")
	}
	wantCount(t, f, 1)

	// In the past, periodic: every period since counts (Linux's
	// hrtimer_forward): now-value = 1009.5s at 1s periods = 1010.
	if _, err := f.SetTime(unix.TFD_TIMER_ABSTIME, Spec{Value: 500 * time.Millisecond, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	wantCount(t, f, 1010)
	if got := f.GetTime(); got != (Spec{Value: 500 * time.Millisecond, Interval: time.Second}) {
		t.Fatalf("GetTime = %+v", got)
	}
}

func TestSetTimeOldValueAndReset(t *testing.T) {
	c := newFakeClock(0)
	f := newTimer(t, c)
	if _, err := f.SetTime(0, Spec{Value: time.Second, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	c.advance(3500 * time.Millisecond)
	// Three expirations pending; settime drops them and reports the old
	// setting.
	old, err := f.SetTime(0, Spec{Value: 10 * time.Second})
	if err != nil || old != (Spec{Value: 500 * time.Millisecond, Interval: time.Second}) {
		t.Fatalf("SetTime = %+v, %v", old, err)
	}
	wantCount(t, f, 0)
	// Disarm: value zero; the interval is still reported, as Linux does.
	old, err = f.SetTime(0, Spec{Interval: 7 * time.Second})
	if err != nil || old != (Spec{Value: 10 * time.Second}) {
		t.Fatalf("SetTime = %+v, %v", old, err)
	}
	if got := f.GetTime(); got != (Spec{Interval: 7 * time.Second}) {
		t.Fatalf("GetTime = %+v", got)
	}
	c.advance(time.Hour)
	wantCount(t, f, 0)
	if c.pending() != 0 {
		t.Fatalf("%d wake-ups pending on a disarmed timer", c.pending())
	}
}

func TestSetTimeInvalid(t *testing.T) {
	f := newTimer(t, newFakeClock(0))
	for _, tc := range []struct {
		flags int
		s     Spec
	}{
		{4, Spec{Value: time.Second}},
		{0, Spec{Value: -1}},
		{0, Spec{Value: 1, Interval: -1}},
	} {
		if _, err := f.SetTime(tc.flags, tc.s); err != unix.EINVAL {
			t.Errorf("SetTime(%#x, %+v) = %v, want EINVAL", tc.flags, tc.s, err)
		}
	}
	// CANCEL_ON_SET is accepted with or without ABSTIME.
	if _, err := f.SetTime(unix.TFD_TIMER_CANCEL_ON_SET, Spec{Value: time.Second}); err != nil {
		t.Fatal(err)
	}
}

func TestSpecConversion(t *testing.T) {
	for _, tc := range []struct {
		its  unix.ItimerSpec
		want Spec
		err  error
	}{
		{unix.ItimerSpec{Value: unix.Timespec{Sec: 1, Nsec: 5}, Interval: unix.Timespec{Nsec: 999999999}}, Spec{Value: time.Second + 5, Interval: 999999999}, nil},
		{unix.ItimerSpec{Value: unix.Timespec{Sec: -1}}, Spec{}, unix.EINVAL},
		{unix.ItimerSpec{Value: unix.Timespec{Nsec: 1e9}}, Spec{}, unix.EINVAL},
		{unix.ItimerSpec{Interval: unix.Timespec{Nsec: -1}}, Spec{}, unix.EINVAL},
		{unix.ItimerSpec{Value: unix.Timespec{Sec: 1 << 62}}, Spec{Value: 1<<63 - 1}, nil},
	} {
		got, err := SpecFromItimerSpec(tc.its)
		if got != tc.want || err != tc.err {
			t.Errorf("SpecFromItimerSpec(%+v) = %+v, %v; want %+v, %v", tc.its, got, err, tc.want, tc.err)
		}
	}
	its := Spec{Value: 3*time.Second + 7, Interval: 250 * time.Millisecond}.ItimerSpec()
	if its.Value != (unix.Timespec{Sec: 3, Nsec: 7}) || its.Interval != (unix.Timespec{Nsec: 250e6}) {
		t.Fatalf("ItimerSpec = %+v", its)
	}
}

func TestReadShortBuffer(t *testing.T) {
	c := newFakeClock(0)
	f := newTimer(t, c)
	if _, err := f.SetTime(0, Spec{Value: 1}); err != nil {
		t.Fatal(err)
	}
	c.advance(1)
	if _, err := f.ReadAt(make([]byte, 7), 0); err != unix.EINVAL {
		t.Fatalf("short read = %v, want EINVAL", err)
	}
	// A bigger buffer still gets 8 bytes.
	b := make([]byte, 16)
	if n, err := f.ReadAt(b, 0); n != 8 || err != nil || binary.LittleEndian.Uint64(b) != 1 {
		t.Fatalf("read = %d, %v, %x", n, err, b)
	}
}

type fakeIO struct {
	mem map[uint64][]byte
}

func (io fakeIO) CopyIn(addr uint64, dst []byte) (int, error) {
	src, ok := io.mem[addr]
	if !ok {
		return 0, unix.EFAULT
	}
	return copy(dst, src), nil
}

func (io fakeIO) CopyOut(addr uint64, src []byte) (int, error) {
	if _, ok := io.mem[addr]; !ok {
		return 0, unix.EFAULT
	}
	io.mem[addr] = append([]byte(nil), src...)
	return len(src), nil
}

func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func TestSetTicks(t *testing.T) {
	c := newFakeClock(0)
	f := newTimer(t, c)
	io := fakeIO{mem: map[uint64][]byte{0x1000: u64(42), 0x2000: u64(0), 0x3000: {1, 2, 3}}}
	ch := waiter.NewChannel()
	f.EventRegister(ch, waiter.EventIn)
	defer f.EventUnregister(ch)
	if _, err := f.Ioctl(io, IocSetTicks, 0x1000); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("no wake-up after SET_TICKS")
	}
	if f.Readiness(waiter.EventIn) == 0 {
		t.Fatal("not ready after SET_TICKS")
	}
	wantCount(t, f, 42)
	if _, err := f.Ioctl(io, IocSetTicks, 0x2000); err != unix.EINVAL {
		t.Fatalf("SET_TICKS 0 = %v, want EINVAL", err)
	}
	if _, err := f.Ioctl(io, IocSetTicks, 0x3000); err != unix.EFAULT {
		t.Fatalf("short SET_TICKS = %v, want EFAULT", err)
	}
	if _, err := f.Ioctl(io, IocSetTicks, 0x4000); err != unix.EFAULT {
		t.Fatalf("unmapped SET_TICKS = %v, want EFAULT", err)
	}
	if _, err := f.Ioctl(io, unix.TIOCINQ, 0x1000); err != unix.ENOTTY {
		t.Fatalf("FIONREAD = %v, want ENOTTY", err)
	}
	// SET_TICKS replaces pending expirations.
	if _, err := f.SetTime(0, Spec{Value: time.Second, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	c.advance(5 * time.Second)
	if _, err := f.Ioctl(io, IocSetTicks, 0x1000); err != nil {
		t.Fatal(err)
	}
	wantCount(t, f, 42)
	c.advance(time.Second)
	wantCount(t, f, 1)
}

func TestWakeups(t *testing.T) {
	c := newFakeClock(0)
	f := newTimer(t, c)
	ch := waiter.NewChannel()
	f.EventRegister(ch, waiter.EventIn)
	defer f.EventUnregister(ch)
	woken := func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	if _, err := f.SetTime(0, Spec{Value: time.Second, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	c.advance(999 * time.Millisecond)
	if woken() {
		t.Fatal("woken early")
	}
	c.advance(time.Millisecond)
	if !woken() {
		t.Fatal("not woken at expiry")
	}
	// Unread: no wake-up is armed, however many periods pass.
	if c.pending() != 0 {
		t.Fatalf("%d wake-ups pending while readable", c.pending())
	}
	c.advance(10 * time.Second)
	if woken() {
		t.Fatal("woken while already readable")
	}
	wantCount(t, f, 11)
	if c.pending() != 1 {
		t.Fatalf("%d wake-ups pending after read, want 1", c.pending())
	}
	c.advance(time.Second)
	if !woken() {
		t.Fatal("not woken for the next period")
	}
	wantCount(t, f, 1)
	f.Close()
	if c.pending() != 0 {
		t.Fatalf("%d wake-ups pending after close", c.pending())
	}
}

// A clock stepped backwards: the wake-up finds the timer not due and
// re-arms.
func TestWakeupEarly(t *testing.T) {
	c := newFakeClock(100 * time.Second)
	f, err := New(unix.CLOCK_REALTIME, 0, c, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ch := waiter.NewChannel()
	f.EventRegister(ch, waiter.EventIn)
	defer f.EventUnregister(ch)
	if _, err := f.SetTime(unix.TFD_TIMER_ABSTIME, Spec{Value: 110 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// Fire the wake-up by hand while the clock reads earlier.
	c.mu.Lock()
	var pending *fakeTimer
	for tm := range c.timers {
		pending = tm
	}
	delete(c.timers, pending)
	c.now = 50 * time.Second
	c.mu.Unlock()
	pending.f()
	select {
	case <-ch:
		t.Fatal("woken before due")
	default:
	}
	if c.pending() != 1 {
		t.Fatalf("%d wake-ups pending, want a re-arm", c.pending())
	}
	wantCount(t, f, 0)
	c.set(110 * time.Second)
	wantCount(t, f, 1)
}

func TestCancelOnSet(t *testing.T) {
	c := newFakeClock(100 * time.Second)
	f, err := New(unix.CLOCK_REALTIME, 0, c, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Without ABSTIME the flag is ignored.
	if _, err := f.SetTime(unix.TFD_TIMER_CANCEL_ON_SET, Spec{Value: time.Hour}); err != nil {
		t.Fatal(err)
	}
	f.ClockWasSet()
	wantCount(t, f, 0)
	if _, err := f.SetTime(unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET, Spec{Value: time.Hour}); err != nil {
		t.Fatal(err)
	}
	f.ClockWasSet()
	if f.Readiness(waiter.EventIn) == 0 {
		t.Fatal("not readable after clock set")
	}
	if _, err := f.Ioctl(fakeIO{mem: map[uint64][]byte{8: u64(1)}}, IocSetTicks, 8); err != unix.ECANCELED {
		t.Fatalf("SET_TICKS = %v, want ECANCELED", err)
	}
	if _, err := read(t, f); err != unix.ECANCELED {
		t.Fatalf("read = %v, want ECANCELED", err)
	}
	// Reported once; the timer stays armed.
	wantCount(t, f, 0)
	c.set(time.Hour)
	wantCount(t, f, 1)

	// Monotonic timers are never cancelled.
	m := newTimer(t, c)
	if _, err := m.SetTime(unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET, Spec{Value: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	m.ClockWasSet()
	wantCount(t, m, 0)
}

// The real host clock and Go timers, end to end.
func TestHostClock(t *testing.T) {
	f, err := New(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ch := waiter.NewChannel()
	f.EventRegister(ch, waiter.EventIn)
	defer f.EventUnregister(ch)
	start := time.Now()
	if _, err := f.SetTime(0, Spec{Value: 20 * time.Millisecond, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up from the host clock")
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatalf("woken after %v, before the expiry", time.Since(start))
	}
	time.Sleep(55 * time.Millisecond)
	n, err := read(t, f)
	if err != nil || n < 5 {
		t.Fatalf("read = %d, %v; want >= 5 expirations", n, err)
	}
	if f.GetTime().Value > 10*time.Millisecond {
		t.Fatalf("GetTime = %+v", f.GetTime())
	}

	// An absolute realtime timer against the host's wall clock.
	r, err := New(unix.CLOCK_REALTIME, 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.SetTime(unix.TFD_TIMER_ABSTIME, Spec{Value: time.Duration(time.Now().UnixNano()) - time.Second}); err != nil {
		t.Fatal(err)
	}
	if n, err := read(t, r); n != 1 || err != nil {
		t.Fatalf("read = %d, %v", n, err)
	}
}

// Concurrent readers, pollers, setters and wake-ups under -race.
func TestConcurrent(t *testing.T) {
	f, err := New(unix.CLOCK_MONOTONIC, 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.SetTime(0, Spec{Value: time.Millisecond, Interval: 100 * time.Microsecond}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total uint64
	deadline := time.Now().Add(100 * time.Millisecond)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b [8]byte
			for time.Now().Before(deadline) {
				if n, err := f.ReadAt(b[:], 0); err == nil && n == 8 {
					mu.Lock()
					total += binary.LittleEndian.Uint64(b[:])
					mu.Unlock()
				}
				f.Readiness(waiter.EventIn)
				f.GetTime()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			f.SetTime(0, Spec{Value: time.Millisecond, Interval: 100 * time.Microsecond})
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	if total == 0 {
		t.Fatal("no expirations read")
	}
}
