package systrap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/monotime"
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

const (
	// segvMapErr is SEGV_MAPERR: the page was not mapped.
	segvMapErr = 1
	// eflagsFixed is always set (bit 1 and IF).
	eflagsFixed = 0x202
	// eflagsKernelOnly are flags the application may not set: IOPL, NT, RF,
	// VM, VIF, VIP.
	eflagsKernelOnly = 0x3000 | 0x4000 | 0x10000 | 0x20000 | 0x80000 | 0x100000
	// enosys is -ENOSYS, what the return register holds at a system-call
	// trap (as under ptrace).
	enosys = ^uint64(unix.ENOSYS - 1)
	// noCall is stubThread.call while it waits for no system call's
	// answer.
	noCall = ^uint64(0)
)

// Spinning before sleeping on the hand-off futex. Both sides poll the
// state word for a while before they sleep: when the sentry serves a call in
// a few microseconds, or the application makes its next call soon, the other
// side, running on another CPU, sees the hand-off without a futex wake-up,
// which on a virtual machine costs an interrupt and a VM exit each way (the
// getppid round trip drops from ~15-25 µs to ~4.5 µs on the development VM).
// The stub polls stubSpin times with PAUSE, a count calibrated to last
// stubSpinBudget (spin.go); the sentry polls for sentrySpin. They are
// variables so benchmarks can compare settings.
var (
	stubSpin   = 500
	sentrySpin = 20 * time.Microsecond
)

// waitTimeout is how long the sentry sleeps on a stub thread before it
// checks that the thread still exists.
var waitTimeout = unix.Timespec{Nsec: 200 * 1000 * 1000}

// errBadFrame is returned when a stub thread posts a signal frame outside
// its region: the application scribbled over the stub's state.
var errBadFrame = errors.New("systrap: stub thread posted an invalid signal frame")

// stubThread is one application thread of a stub process, driven through
// its sysmsg page. Between Switch calls it sits in its signal handler
// holding the frame of its last event, which holds the task's live
// registers and FP state.
type stubThread struct {
	as  *addressSpace
	r   *region
	tid int
	msg *sysmsg
	// fsBase is the FS base the thread runs with.
	fsBase uint64
	// cs and ss are the host's user selectors, from the first frame.
	cs, ss uint16
	// pinned is set once the thread runs on the CPU of the sentry thread
	// that drives it.
	pinned bool
	// stubSpin and sentrySpin adapt each side's spinning (see spinner);
	// sentrySpinWoken is the sentry's for the rounds where it had to wake
	// the stub.
	stubSpin, sentrySpin, sentrySpinWoken spinner
	// stubAwake is set when the stub was spinning, not asleep, as the
	// sentry last handed it back; sentryAwake when the sentry was
	// spinning, not asleep, as the stub posted its last event. A spin
	// that ran out while the other side was asleep says nothing about
	// the other side's work (see spinner).
	stubAwake, sentryAwake bool
	// eventAt is when the sentry saw the thread's last event: resume
	// tells from it whether the stub's spin could have found the answer.
	eventAt time.Duration // monotime
	// spinCut is set when Blocking cleared the stub's spin for the
	// current answer; used by the task's goroutine only.
	spinCut bool
	// call is the number of the system call the thread waits for the
	// answer to, noCall while it waits for anything else (a fault's);
	// guessedSlow is set when the sentry cut the stub's spin for it at
	// once (slowcalls.go). Used by the task's goroutine only.
	call        uint64
	guessedSlow bool
	// fast is set while the thread waits in the syshandler (a patched
	// system-call site, fastpath.go) instead of its signal handler: it
	// has no signal frame, and its floating-point state is live.
	fast bool
	// waitSeq is the syscall-thread request the thread was handed back
	// to wait for (msg.WaitSeq), 0 for none; used under as.pendMu.
	waitSeq uint32
}

// start waits for the new thread's first event (the int3 at the thread
// entry) and records its selectors.
func (t *stubThread) start() error {
	if err := t.wait(); err != nil {
		return err
	}
	if t.msg.Signo != uint32(unix.SIGTRAP) {
		return fmt.Errorf("systrap: new stub thread reported signal %d, want SIGTRAP", t.msg.Signo)
	}
	uc, err := t.frame()
	if err != nil {
		return err
	}
	t.cs, t.ss = uc.Mcontext.Cs, uc.Mcontext.Ss
	return nil
}

// Adaptive spinning: a side whose spin ran out spinMissLimit times in a row
// (the other side was busy for long, or had no CPU to run on) stops
// spinning for a few round trips, then tries again. On a machine
// whose CPUs are all busy, spinning only steals time from the side that
// would answer.
//
// A side that was asleep answers only after its wake-up, which on a
// virtual machine takes longer than a spin lasts however little work it
// has. If the misses that causes counted like the others, one side's sleep
// (a preemption, its own spin switched off) would make the other side's
// spin run out and switch it off too, and each side's sleeping would keep
// the other's spinning off: both would then sleep on every hand-off of a
// loop that the sentry serves in a few microseconds, each round paying two
// futex wake-ups (measured: a stat(2) of a missing file in a loop slept on
// most hand-offs). So:
//
//   - the sentry keeps two spinners per thread: one for the rounds where
//     the stub was spinning when the sentry handed it back, one for those
//     where it had to wake it; a loop where one kind of round always
//     misses (a futex ping-pong, whose woken threads answer slowly) stops
//     spinning for that kind only;
//   - the stub's spin, set by the sentry at resume, counts a miss only when
//     the sentry was spinning as the stub posted; a miss while the sentry
//     slept is weak evidence, and spinNeutralLimit of them in a row count
//     as one, so a sentry that is slow anyway still stops the stub's
//     spinning;
//   - a stub spin that ran out while the sentry served the call for longer
//     than the spin lasts (a gofer round trip, a host write, a blocking
//     call) says nothing either: the call was long, not the CPU busy. If
//     it counted, a program that mixes such calls with cheap ones (an
//     archive extractor: create, write, then three attribute calls served
//     from the inode) would lose the stub's spin for the cheap ones too,
//     and pay a futex wake-up on each (measured: ~20 µs instead of ~2 µs
//     for fchmod in such a loop).
const (
	spinMissLimit = 2
	// A side stops spinning for spinMinOffRounds round trips the first
	// time, twice as many each time its spin runs out again right after,
	// up to spinOffRounds: a preemption costs a few rounds of sleeping, a
	// loop whose other side is always slow converges to spinning one
	// round in spinOffRounds.
	spinMinOffRounds = 4
	spinOffRounds    = 64
	spinNeutralLimit = 8
)

// spinner tracks one side's spinning for a stub thread.
type spinner struct {
	miss, off int
	// neutral counts the misses in a row while the other side slept.
	neutral int
	// backoff is how many rounds the next switch-off lasts; 0 means
	// spinMinOffRounds.
	backoff int
}

// enabled reports whether to spin this round.
func (s *spinner) enabled() bool {
	if s.off > 0 {
		s.off--
		return false
	}
	return true
}

// record notes whether a spin found the other side's answer.
func (s *spinner) record(hit bool) {
	s.neutral = 0
	if hit {
		s.miss, s.backoff = 0, 0
		return
	}
	if s.miss++; s.miss >= spinMissLimit {
		s.off = max(s.backoff, spinMinOffRounds)
		s.miss, s.backoff = spinMissLimit-1, min(2*s.off, spinOffRounds)
	}
}

// recordAsleep notes a spin that ran out while the other side was asleep.
func (s *spinner) recordAsleep() {
	if s.neutral++; s.neutral >= spinNeutralLimit {
		s.record(false)
	}
}

// resume hands the thread back to the application.
func (t *stubThread) resume() {
	// A spin cut short, by the task's blocking or by a guess that the
	// call is slow, is set again before the thread can post again, or
	// the stub would find it still cleared and sleep at once.
	cut, guessed := t.spinCut, t.guessedSlow
	t.spinCut, t.guessedSlow = false, false
	if (cut || guessed) && t.stubSpin.off == 0 {
		atomic.StoreUint32(&t.msg.Spin, uint32(stubSpin))
	}
	swapState(&t.msg.State, stateRunning)
	slept := atomic.LoadUint32(&t.msg.StubSleeping) != 0
	if slept {
		futexWake(&t.msg.State)
	}
	t.stubAwake = !slept
	switch {
	case cut:
		// A call that blocked says nothing of how the stub should
		// wait, nor of what the next such call costs.
	case guessed:
		// The stub slept from the start: only the clock tells whether
		// the guess holds.
		t.as.p.slow.note(t.call, monotime.Now()-t.eventAt >= stubSpinBudget)
	case t.msg.Spin != 0:
		// The stub spun for this answer, and slept if the spin ran
		// out. How long the sentry took matters only to a stub that
		// slept: a call answered while the stub spun costs no clock
		// read.
		var served time.Duration
		if slept {
			served = monotime.Now() - t.eventAt
		}
		t.recordStubSpin(slept, served)
		t.as.p.slow.note(t.call, served >= stubSpinBudget)
	}
	// Decide how the stub waits for the next answer.
	if t.stubSpin.enabled() {
		t.msg.Spin = uint32(stubSpin)
	} else {
		t.msg.Spin = 0
	}
}

// recordStubSpin notes how the stub's spin for an answer the sentry took
// served to give went: it slept when the spin ran out.
func (t *stubThread) recordStubSpin(slept bool, served time.Duration) {
	switch {
	case !slept:
		t.stubSpin.record(true)
	case served >= stubSpinBudget:
		// No spin could have found this answer.
	case t.sentryAwake:
		t.stubSpin.record(false)
	default:
		t.stubSpin.recordAsleep()
	}
}

// wait waits until the thread posts its next event.
func (t *stubThread) wait() error {
	msg := t.msg
	// Waiting for a stub that had to be woken is a different bet from
	// waiting for one that was spinning: its answer comes only after its
	// wake-up.
	spin := &t.sentrySpin
	if !t.stubAwake {
		spin = &t.sentrySpinWoken
	}
	if sentrySpin > 0 && spin.enabled() {
		// A spin sees the stub's event only if the stub runs on
		// another CPU (cpuhint.go). A stub just woken may have been
		// queued on this one: give it the CPU once first. A stub that
		// was spinning, and last waited on this CPU, is queued behind
		// this thread: sleep at once, which lets it run.
		shared := sentryWaitsOn(msg)
		if !t.stubAwake {
			// Unless the stub took the CPU at its wake-up and has
			// posted its next event already: on one CPU that is
			// the usual case, and the yield would find nobody to
			// give the CPU to.
			if loadState(&msg.State) != stateEvent {
				unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			}
		} else if shared {
			goto sleep
		}
		// The deadline is set at the first look at the clock, not
		// before the loop: most events come sooner, and then the spin
		// costs no clock read.
		var deadline time.Duration
		hit := false
		for i := 1; ; i++ {
			if loadState(&msg.State) == stateEvent {
				hit = true
				break
			}
			if i%128 == 0 {
				now := monotime.Now()
				if deadline == 0 {
					deadline = now + sentrySpin
				} else if now > deadline {
					break
				}
			}
		}
		spin.record(hit)
		t.sentryAwake = hit
		if hit {
			t.eventAt = monotime.Now()
			return nil
		}
	}
sleep:
	t.sentryAwake = false
	for {
		swapState(&msg.SentrySleeping, 1)
		s := loadState(&msg.State)
		if s == stateEvent {
			atomic.StoreUint32(&msg.SentrySleeping, 0)
			t.eventAt = monotime.Now()
			return nil
		}
		errno := futexWait(&msg.State, s, &waitTimeout)
		atomic.StoreUint32(&msg.SentrySleeping, 0)
		if loadState(&msg.State) == stateEvent {
			t.eventAt = monotime.Now()
			return nil
		}
		if errno == unix.ETIMEDOUT && t.as.stubExited(t.tid) {
			return errStubDied
		}
	}
}

// inRegion returns the offset of [addr, addr+size) in the thread's region
// when it lies within the signal stack, aligned to align.
func (t *stubThread) inRegion(addr, size, align uint64) (uint64, bool) {
	lo, hi := t.r.addr+pageSize, t.r.addr+regionSize
	if addr < lo || addr > hi || size > hi-addr || addr%align != 0 {
		return 0, false
	}
	return addr - t.r.addr, true
}

// frame returns the ucontext of the thread's last event.
func (t *stubThread) frame() (*ucontext, error) {
	off, ok := t.inRegion(t.msg.Ucontext, uint64(unsafe.Sizeof(ucontext{})), 8)
	if !ok {
		return nil, errBadFrame
	}
	return (*ucontext)(unsafe.Pointer(&t.r.mem[off])), nil
}

// fpFrame returns the FP state area of uc: the XSAVE image (legacy area,
// header and components) when the kernel wrote one, else the legacy area.
// The frame is in memory the application can write, so its sizes are
// checked against the region and the host's, and read once.
func (t *stubThread) fpFrame(uc *ucontext) ([]byte, error) {
	addr := uc.Mcontext.Fpstate
	off, ok := t.inRegion(addr, arch.FPStateSize, 64)
	if !ok {
		return nil, errBadFrame
	}
	sw := t.r.mem[off+fpSwReserved : off+arch.FPStateSize]
	if binary.LittleEndian.Uint32(sw[0:]) != fpXstateMagic {
		return t.r.mem[off : off+arch.FPStateSize], nil
	}
	size := uint64(binary.LittleEndian.Uint32(sw[16:])) // xstate_size
	if size < arch.XSaveHeaderEnd || size > uint64(arch.HostXState().Size) {
		return nil, errBadFrame
	}
	if off, ok = t.inRegion(addr, size, 64); !ok {
		return nil, errBadFrame
	}
	return t.r.mem[off : off+size], nil
}

// getFP returns the thread's live FP state (an FXSAVE area or XSAVE image,
// arch.State.FP's layouts), in dst when it is large enough.
func (t *stubThread) getFP(dst []byte) ([]byte, error) {
	if err := t.materialize(); err != nil {
		return nil, err
	}
	uc, err := t.frame()
	if err != nil {
		return nil, err
	}
	fp, err := t.fpFrame(uc)
	if err != nil {
		return nil, err
	}
	if cap(dst) >= len(fp) {
		dst = dst[:len(fp)]
	} else {
		dst = make([]byte, len(fp))
	}
	copy(dst, fp)
	// The software-reserved bytes are the host kernel's, not the task's.
	clear(dst[fpSwReserved:arch.FPStateSize])
	return dst, nil
}

// setFP makes buf (an FXSAVE area or XSAVE image) the thread's live FP
// state. Components buf does not hold are reset, as XRSTOR does for those
// its header leaves out: a legacy image is what a signal handler or a new
// program starts with.
func (t *stubThread) setFP(buf []byte) error {
	if err := t.materialize(); err != nil {
		return err
	}
	uc, err := t.frame()
	if err != nil {
		return err
	}
	fp, err := t.fpFrame(uc)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	mask := le.Uint32(fp[fpMxcsrMask:])
	if mask == 0 {
		mask = 0xffbf
	}
	copy(fp[:fpSwReserved], buf)
	le.PutUint32(fp[fpMxcsrMask:], mask)
	le.PutUint32(fp[fpMxcsr:], le.Uint32(fp[fpMxcsr:])&mask)
	if len(fp) < arch.XSaveHeaderEnd {
		return nil
	}
	// x87 and SSE come from the legacy area whatever the kernel saved.
	bv := uint64(arch.XFeatureX87 | arch.XFeatureSSE)
	if len(buf) >= arch.XSaveHeaderEnd {
		n := min(len(buf), len(fp))
		copy(fp[arch.XSaveHeaderEnd:n], buf[arch.XSaveHeaderEnd:n])
		features := le.Uint64(fp[fpSwReserved+8:]) // the frame's xfeatures
		bv |= arch.HostXState().Fit(le.Uint64(buf[arch.XSaveHeaderOffset:])&features, n)
	}
	clear(fp[arch.XSaveHeaderOffset:arch.XSaveHeaderEnd])
	le.PutUint64(fp[arch.XSaveHeaderOffset:], bv)
	return nil
}

// context runs one task. It is used only by the task's own thread, except
// for Interrupt.
type context struct {
	p *Platform
	// running is the stub thread in use by Switch, for Interrupt; nil
	// outside Switch.
	running atomic.Pointer[stubThread]
	// pendingInterrupt records an Interrupt that arrived outside Switch so
	// the next Switch returns at once.
	pendingInterrupt atomic.Bool
	// fpThread is the stub thread whose frame holds the task's live FP
	// state; when nil (or its process is gone), st.FP holds it.
	fpThread *stubThread
	// last is the stub thread of the last Switch; used only by the
	// task's goroutine.
	last *stubThread
	// localYield is whether the task's sched_yield may skip the sentry
	// (localyield.go); used only by the task's goroutine.
	localYield bool
}

// Blocking implements platform.BlockNotifier: the stub thread waiting for
// the answer to the call the task now blocks in stops spinning and
// sleeps, leaving its CPU to whatever the task waits for (the other end
// of a pipe, a futex's waker, a child), instead of polling for as long as
// its spin lasts.
func (c *context) Blocking() {
	t := c.last
	if t == nil {
		return
	}
	as := t.as
	as.mu.Lock()
	if !as.released && as.threads[c] == t {
		atomic.StoreUint32(&t.msg.Spin, 0)
		t.spinCut = true
	}
	as.mu.Unlock()
}

var _ platform.Context = (*context)(nil)

// NewContext implements platform.Platform.NewContext.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{p: p}, nil
}

// Interrupt implements platform.Context.Interrupt.
func (c *context) Interrupt() {
	c.pendingInterrupt.Store(true)
	if t := c.running.Load(); t != nil {
		t.sendYieldsToSentry()
		_ = unix.Tgkill(t.as.first.tgid, t.tid, kickSignal)
	}
}

// Release implements platform.Context.Release: the task is exiting, and
// its stub threads end with it.
func (c *context) Release() {
	c.p.spacesMu.Lock()
	spaces := make([]*addressSpace, 0, len(c.p.spaces))
	for as := range c.p.spaces {
		spaces = append(spaces, as)
	}
	c.p.spacesMu.Unlock()
	for _, as := range spaces {
		as.releaseThread(c)
	}
	c.fpThread = nil
}

// Switch implements platform.Context.Switch.
func (c *context) Switch(pas platform.AddressSpace, st *arch.State) (platform.Trap, error) {
	as := pas.(*addressSpace)
	t, err := as.threadFor(c)
	if err != nil {
		return platform.Trap{}, err
	}
	if c.fpThread != t {
		if err := c.moveFP(t, st); err != nil {
			return platform.Trap{}, err
		}
	}
	if !t.pinned {
		t.bindToCallerCPU()
	}
	c.last = t
	// Before running is set: an Interrupt that finds the thread running
	// stores after this.
	atomic.StoreUint64(&t.msg.Yield, c.yieldTarget())
	c.running.Store(t)
	defer c.running.Store(nil)
	if c.pendingInterrupt.Swap(false) {
		return platform.Trap{Kind: platform.TrapInterrupted}, nil
	}

	if t.fast {
		t.setFastRegs(&st.Regs)
	} else {
		uc, err := t.frame()
		if err != nil {
			return platform.Trap{}, err
		}
		regsToSigcontext(&st.Regs, &uc.Mcontext)
		// The application cannot pick its code and stack segments, nor
		// the flags only the kernel may set.
		uc.Mcontext.Cs, uc.Mcontext.Ss = t.cs, t.ss
		uc.Mcontext.Eflags = (st.Regs.Eflags &^ eflagsKernelOnly) | eflagsFixed
		// Host signals stay unblocked in the application.
		uc.Sigmask = 0
	}
	t.msg.TrapTable = as.trapTable.Load()
	if st.Regs.Fs_base != t.fsBase {
		t.msg.FSBase = st.Regs.Fs_base
		t.msg.SetFS = 1
		t.fsBase = st.Regs.Fs_base
	}
	if err := as.beginRun(t); err != nil {
		return platform.Trap{}, err
	}
	t.resume()
	err = t.wait()
	// Only Switch hands the thread back to the application.
	t.msg.WaitSeq = 0
	as.endRun()
	if err != nil {
		return platform.Trap{}, err
	}
	trap, err := c.trap(t, st)
	t.call = noCall
	if err == nil && trap.Kind == platform.TrapSyscall {
		t.call = st.Regs.Orig_rax
		t.guessSlow()
	}
	return trap, err
}

// guessSlow cuts the stub's spin for the answer to its system call at once
// when the sentry usually takes longer than the spin lasts to give it
// (slowcalls.go).
func (t *stubThread) guessSlow() {
	if t.as.p.slow.slow(t.call) && atomic.LoadUint32(&t.msg.Spin) != 0 {
		atomic.StoreUint32(&t.msg.Spin, 0)
		t.guessedSlow = true
	}
}

// trap decodes the event t posted into st and a Trap.
func (c *context) trap(t *stubThread, st *arch.State) (platform.Trap, error) {
	if t.msg.Signo == editFailedSigno {
		// The thread waits where it was, its registers untouched.
		return platform.Trap{}, t.as.editFailure(t)
	}
	if t.msg.Signo == fastSyscallSigno {
		t.fast = true
		t.fastRegs(&st.Regs)
		st.Regs.Fs_base = t.fsBase
		return platform.Trap{Kind: platform.TrapSyscall}, nil
	}
	t.fast = false
	uc, err := t.frame()
	if err != nil {
		return platform.Trap{}, err
	}
	signo := unix.Signal(t.msg.Signo)
	if signo == kickSignal && t.inSyshandlerTail(uc.Mcontext.Rip) {
		// The kick landed after the sentry answered a patched call, on
		// the way back: st holds the registers it handed back.
		c.pendingInterrupt.Store(false)
		return platform.Trap{Kind: platform.TrapInterrupted}, nil
	}
	sigcontextToRegs(&uc.Mcontext, &st.Regs)
	st.Regs.Fs_base = t.fsBase
	st.Regs.Orig_rax = ^uint64(0)
	switch signo {
	case unix.SIGSYS:
		// The kernel rolled RAX back to the system call number.
		st.Regs.Orig_rax = st.Regs.Rax
		st.Regs.Rax = enosys
		return platform.Trap{Kind: platform.TrapSyscall, Patchable: patchingEnabled && st.Regs.Rip < stubStart}, nil
	case kickSignal:
		c.pendingInterrupt.Store(false)
		return platform.Trap{Kind: platform.TrapInterrupted}, nil
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP:
		off, ok := t.inRegion(t.msg.Siginfo, uint64(unsafe.Sizeof(siginfo{})), 8)
		if !ok {
			return platform.Trap{}, errBadFrame
		}
		info := (*siginfo)(unsafe.Pointer(&t.r.mem[off]))
		trap := platform.Trap{Kind: platform.TrapException, Signo: int(signo), Code: int(info.Code), Addr: info.Addr}
		if signo == unix.SIGSEGV || signo == unix.SIGBUS {
			trap.Kind = platform.TrapFault
			trap.NotPresent = signo == unix.SIGSEGV && info.Code == segvMapErr
			switch {
			case uc.Mcontext.Err&pfFetch != 0:
				trap.Access = platform.Execute
			case uc.Mcontext.Err&pfWrite != 0:
				trap.Access = platform.Write
			default:
				trap.Access = platform.Read
			}
		}
		return trap, nil
	}
	return platform.Trap{}, fmt.Errorf("systrap: stub thread reported unexpected signal %d", signo)
}

// moveFP makes t hold the task's FP state: the state comes from the frame of
// the thread that held it, when its process still exists, else from st.FP.
func (c *context) moveFP(t *stubThread, st *arch.State) error {
	if old := c.fpThread; old != nil {
		old.as.mu.Lock()
		if !old.as.released {
			// A scribbled frame leaves st.FP as it was.
			if fp, err := old.getFP(st.FP); err == nil {
				st.FP = fp
			}
		}
		old.as.mu.Unlock()
	}
	if len(st.FP) >= arch.FPStateSize {
		if err := t.setFP(st.FP); err != nil {
			return err
		}
	}
	c.fpThread = t
	return nil
}

// liveFP returns the thread holding the task's FP state with its address
// space locked, or nil.
func (c *context) liveFP() *stubThread {
	t := c.fpThread
	if t == nil {
		return nil
	}
	t.as.mu.Lock()
	if t.as.released {
		t.as.mu.Unlock()
		c.fpThread = nil
		return nil
	}
	return t
}

// PullFPState implements platform.Context.PullFPState.
func (c *context) PullFPState(st *arch.State) error {
	if len(st.FP) < arch.FPStateSize {
		st.FP = arch.InitialFPState()
	}
	t := c.liveFP()
	if t == nil {
		return nil
	}
	defer t.as.mu.Unlock()
	fp, err := t.getFP(st.FP)
	if err != nil {
		return err
	}
	st.FP = fp
	return nil
}

// PushFPState implements platform.Context.PushFPState.
func (c *context) PushFPState(st *arch.State) error {
	if len(st.FP) < arch.FPStateSize {
		return nil
	}
	t := c.liveFP()
	if t == nil {
		return nil
	}
	defer t.as.mu.Unlock()
	return t.setFP(st.FP)
}

// bindToCallerCPU pins the stub thread to the CPU the calling sentry thread
// runs on, and the caller with it, once per stub thread: with the futex
// hand-off, a switch on one CPU is a plain context switch, across CPUs it
// is a wake-up interrupt, which on a virtual machine is an expensive exit.
func (t *stubThread) bindToCallerCPU() {
	t.pinned = true
	if !pinThreads {
		return
	}
	cpu, ok := getcpu()
	if !ok {
		return
	}
	var set unix.CPUSet
	set.Set(int(cpu))
	if unix.SchedSetaffinity(0, &set) == nil {
		_ = unix.SchedSetaffinity(t.tid, &set)
	}
}

// pinThreads enables bindToCallerCPU. Off by default: spinning needs the
// two sides on different CPUs.
var pinThreads = false

// ContextsThreadFree implements platform.ThreadFree: any sentry thread
// may drive a stub thread through its sysmsg page, unless bindToCallerCPU
// pins the pair to one CPU.
func (*Platform) ContextsThreadFree() bool { return !pinThreads }
