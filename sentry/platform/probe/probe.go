// Package probe chooses the platform a sentry runs on. It starts each
// platform the host may offer (KVM, systrap, ptrace), runs a tiny
// application on it (Loop: a few hundred getpid round trips and a few page
// faults) and measures the median syscall round trip, in rounds that take
// turns between the platforms, keeping each one's best; "auto" means the
// fastest platform that worked.
//
// Which platform is fastest depends on the host, not on the pod: on a
// bare-metal node KVM's exits cost about a microsecond, on a VM whose
// /dev/kvm is a paravirtual PVM a user-mode exit costs ~58 µs and systrap
// wins by an order of magnitude (../../../../shared/DESIGN.md §3), and
// nodes without /dev/kvm have only systrap and ptrace. So the measurement
// runs once per process that chooses: the daemon at start-up (it hands each
// pod's sentry an explicit name), `cocoon version`, and a sentry started
// with "auto" (`cocoon do`), which measures where it will run. It costs a
// few tens of milliseconds, most of it starting the platforms.
//
// Start is also the one place that turns a platform name into a running
// platform, so the sentry and the measurement start them the same way.
package probe

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/kvm"
	"github.com/cocoonrt/cocoon/sentry/platform/ptrace"
	"github.com/cocoonrt/cocoon/sentry/platform/systrap"
)

// Platform names, as `--platform`, the daemon's `platform` key and the
// sentry's spec spell them.
const (
	KVM     = "kvm"
	Systrap = "systrap"
	Ptrace  = "ptrace"
	// Auto is not a platform: it asks for the fastest one that works.
	Auto = "auto"
)

// Names are the platforms in the order Measure tries them. A tie in the
// measurement goes to the earlier one.
var Names = []string{KVM, Systrap, Ptrace}

// Valid reports whether name is a platform name or Auto.
func Valid(name string) bool {
	return name == Auto || slices.Contains(Names, name)
}

// Start starts the platform called name on mf. An unknown name (Auto
// included: resolve it with Measure first) is an error.
func Start(name string, mf *memfile.File) (platform.Platform, error) {
	// Each constructor's result is checked before it becomes an interface
	// value, so a failed start never yields a non-nil platform.
	switch name {
	case KVM:
		p, err := kvm.New(mf)
		if err != nil {
			return nil, err
		}
		return p, nil
	case Systrap:
		p, err := systrap.New(mf)
		if err != nil {
			return nil, err
		}
		return p, nil
	case Ptrace:
		p, err := ptrace.New(mf)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown platform %q (want %s)", name, strings.Join(Names, ", "))
}

// Result is what the measurement found for one platform.
type Result struct {
	Name string `json:"name"`
	// Available says the platform started and ran the loop correctly;
	// Reason says why not otherwise.
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	// Syscall is the median getpid round trip of the platform's best
	// round (measureRounds): from the sentry resuming the application
	// to its next syscall being back in the sentry. On a
	// platform that patches system-call sites it is a patched site's,
	// the cost of the calls a program makes over and over, and
	// Unpatched is a `syscall` instruction's.
	Syscall   time.Duration `json:"syscallNs,omitempty"`
	Unpatched time.Duration `json:"unpatchedNs,omitempty"`
	// Fault is the median page fault: the application's store to an
	// unmapped page reaching the sentry, plus the mapping that resolves it.
	Fault time.Duration `json:"faultNs,omitempty"`
	// Start is how long the platform took to start.
	Start time.Duration `json:"startNs,omitempty"`
	// Detail says more about a platform that has something to say (how
	// syscalls reach KVM's sentry on this host).
	Detail string `json:"detail,omitempty"`
}

// Report is the outcome of one measurement.
type Report struct {
	// Choice is the platform "auto" runs: the available one with the
	// smallest Syscall (see choose for ties); empty when none is
	// available.
	Choice string `json:"choice"`
	// Platforms holds one result per platform measured, in Names order.
	Platforms []Result `json:"platforms"`
	// Syscalls and Faults are the round trips timed on each platform;
	// the syscall round trips in Rounds rounds of equal size.
	Syscalls int `json:"syscalls"`
	Faults   int `json:"faults"`
	Rounds   int `json:"rounds,omitempty"`
	// Took is how long the whole measurement took.
	Took time.Duration `json:"tookNs"`
}

// Result returns the result for the platform called name.
func (r Report) Result(name string) (Result, bool) {
	for _, p := range r.Platforms {
		if p.Name == name {
			return p, true
		}
	}
	return Result{}, false
}

// Check returns nil when the platform called name (a platform or Auto)
// can run here, and otherwise an error wrapping platform.ErrUnavailable
// that says why.
func (r Report) Check(name string) error {
	if name == Auto || name == "" {
		if r.Choice != "" {
			return nil
		}
		var why []string
		for _, p := range r.Platforms {
			why = append(why, p.Name+": "+p.Reason)
		}
		return fmt.Errorf("%w: no platform works here (%s)", platform.ErrUnavailable, strings.Join(why, "; "))
	}
	p, ok := r.Result(name)
	switch {
	case !ok:
		return fmt.Errorf("%w: %s was not measured", platform.ErrUnavailable, name)
	case !p.Available:
		return fmt.Errorf("%w: %s: %s", platform.ErrUnavailable, name, p.Reason)
	}
	return nil
}

// Resolve returns the platform that name selects here: Auto (or "")
// becomes the choice; a platform name is returned as it is once Check
// accepts it.
func (r Report) Resolve(name string) (string, error) {
	if err := r.Check(name); err != nil {
		return "", err
	}
	if name == Auto || name == "" {
		return r.Choice, nil
	}
	return name, nil
}

// LogAttrs are the report as slog attributes, for the one line that
// announces the choice: the choice, the time the measurement took, and
// per platform its median round trip or why it is unavailable.
func (r Report) LogAttrs() []any {
	attrs := []any{"choice", r.Choice, "took", r.Took.Round(time.Microsecond)}
	for _, p := range r.Platforms {
		if p.Available && p.Unpatched != 0 {
			attrs = append(attrs, p.Name, fmt.Sprintf("syscall %v (patched site; unpatched %v), fault %v", p.Syscall, p.Unpatched, p.Fault))
		} else if p.Available {
			attrs = append(attrs, p.Name, fmt.Sprintf("syscall %v, fault %v", p.Syscall, p.Fault))
		} else {
			attrs = append(attrs, p.Name, "unavailable: "+p.Reason)
		}
	}
	return attrs
}

// Options tune a measurement. The zero value measures every platform
// with the default counts, on a memory file of its own.
type Options struct {
	// Platforms are the names to measure; nil means Names.
	Platforms []string
	// Syscalls and Faults are the round trips timed on each platform
	// (after a few untimed ones); 0 means the defaults.
	Syscalls int
	Faults   int
	// MemFile is where the loop's pages come from; nil makes a sparse
	// one for the measurement.
	MemFile *memfile.File
	// start replaces Start in tests.
	start func(name string, mf *memfile.File) (platform.Platform, error)
	// busy, in tests, is extra time each round trip of a platform's
	// round takes, as a busy machine adds it.
	busy func(name string, round int) time.Duration
}

// Default counts: a few hundred round trips give a stable median at a
// cost of a few milliseconds even on ptrace (~20 µs a trip).
const (
	defaultSyscalls = 200
	defaultFaults   = 5
	// warmUp round trips are run before the timed ones: the first trips
	// fault in the stub's and the sentry's own pages.
	warmUp = 10
	// probeMemory is the size of the memory file the measurement makes
	// when it is given none; it is sparse, the loop touches two pages.
	probeMemory = 1 << 30
)

// Measure starts each platform, runs the loop on it, closes it again and
// chooses. It never fails: a platform that cannot start or misbehaves is
// reported unavailable with the reason.
func Measure(opts Options) Report {
	r, p, _ := measure(opts, false)
	if p != nil {
		p.Close()
	}
	return r
}

// StartFastest measures like Measure, on mf, and keeps the chosen platform
// running for the caller, which saves starting it a second time. It fails,
// with every platform's reason, when none works.
func StartFastest(mf *memfile.File, opts Options) (platform.Platform, Report, error) {
	opts.MemFile = mf
	r, p, err := measure(opts, true)
	if err != nil {
		return nil, r, err
	}
	return p, r, nil
}

func measure(opts Options, keep bool) (Report, platform.Platform, error) {
	began := time.Now()
	if opts.Platforms == nil {
		opts.Platforms = Names
	}
	if opts.Syscalls <= 0 {
		opts.Syscalls = defaultSyscalls
	}
	if opts.Faults <= 0 {
		opts.Faults = defaultFaults
	}
	if opts.start == nil {
		opts.start = Start
	}
	r := Report{Syscalls: opts.Syscalls, Faults: opts.Faults}
	mf := opts.MemFile
	if mf == nil {
		var err error
		if mf, err = memfile.New("cocoon-platform-probe", probeMemory); err != nil {
			for _, name := range opts.Platforms {
				r.Platforms = append(r.Platforms, Result{Name: name, Reason: fmt.Sprintf("memory file: %v", err)})
			}
			r.Took = time.Since(began)
			return r, nil, r.Check(Auto)
		}
		defer mf.Close()
	}
	// The platforms start together: starting is mostly waiting for a
	// stub program to exec or a VM to be set up. The loops then run one
	// platform at a time, so that none is timed while another works.
	type started struct {
		p     platform.Platform
		err   error
		took  time.Duration
		ready chan struct{}
	}
	starts := make([]*started, len(opts.Platforms))
	for i, name := range opts.Platforms {
		st := &started{ready: make(chan struct{})}
		starts[i] = st
		go func() {
			defer close(st.ready)
			t0 := time.Now()
			st.p, st.err = opts.start(name, mf)
			st.took = time.Since(t0)
		}()
	}
	running := make([]platform.Platform, len(opts.Platforms))
	loops := make([]*probeLoop, len(opts.Platforms))
	for i, name := range opts.Platforms {
		st := starts[i]
		<-st.ready
		res := Result{Name: name, Start: st.took}
		if k, ok := st.p.(interface{ SyscallEntry() string }); ok && st.err == nil {
			res.Detail = "syscalls arrive by " + k.SyscallEntry()
		}
		r.Platforms = append(r.Platforms, res)
		if st.err != nil {
			r.Platforms[i].Start, r.Platforms[i].Reason = 0, reason(name, st.err)
			continue
		}
		running[i] = st.p
	}
	// The rounds take turns between the platforms: load on the machine
	// that comes and goes then weighs on each of them, and each keeps
	// its best round.
	fail := func(i int, err error) {
		loops[i].stop()
		loops[i] = nil
		running[i].Close()
		running[i] = nil
		res := &r.Platforms[i]
		res.Syscall, res.Unpatched, res.Fault = 0, 0, 0
		res.Reason = "start-up measurement: " + err.Error()
	}
	for i, p := range running {
		if p == nil {
			continue
		}
		var err error
		if loops[i], err = startProbeLoop(p, mf); err != nil {
			loops[i] = nil
			p.Close()
			running[i] = nil
			r.Platforms[i].Reason = "start-up measurement: " + err.Error()
		}
	}
	perRound := max(opts.Syscalls/measureRounds, 1)
	r.Syscalls, r.Rounds = perRound*measureRounds, measureRounds
	for round := range measureRounds {
		for i, l := range loops {
			if l == nil {
				continue
			}
			var busy time.Duration
			if opts.busy != nil {
				busy = opts.busy(opts.Platforms[i], round)
			}
			if err := l.round(perRound, busy, &r.Platforms[i]); err != nil {
				fail(i, err)
			}
		}
	}
	for i, l := range loops {
		if l == nil {
			continue
		}
		if err := l.faults(opts.Faults, &r.Platforms[i]); err != nil {
			fail(i, err)
			continue
		}
		l.stop()
		r.Platforms[i].Available = true
	}
	r.Choice = choose(r.Platforms)
	var kept platform.Platform
	for i, p := range running {
		if p == nil {
			continue
		}
		if keep && opts.Platforms[i] == r.Choice {
			kept = p
			continue
		}
		p.Close()
	}
	r.Took = time.Since(began)
	return r, kept, r.Check(Auto)
}

// tieMargin is how much faster than an earlier platform in Names a later
// one must measure to be chosen over it, and the earlier platform is the
// better one at equal speed (KVM's isolation does not rest on the host's
// seccomp and ptrace; systrap's stubs are confined more tightly than
// ptrace's). The margin is wider than the figures' spread: on the
// development VM, idle, ptrace's median ranged over 19-25 µs from one
// start to the next, and systrap's was either ~0.3 µs (its two sides
// polling on different CPUs) or 19-26 µs (sleeping on each hand-off, the
// same two futex wake-ups ptrace's round trip costs); with a 10% margin
// auto picked ptrace for about a third of the starts, although systrap
// is as fast at worst and far faster on most programs.
const tieMargin = 0.30

// choose returns the platform "auto" runs: the available one with the
// smallest median syscall round trip, a tie (within tieMargin) going to
// the earlier one; "" when none is available.
func choose(results []Result) string {
	var best *Result
	for i := range results {
		r := &results[i]
		if !r.Available {
			continue
		}
		if best == nil || float64(r.Syscall) < float64(best.Syscall)*(1-tieMargin) {
			best = r
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

// measureRounds is how many rounds the syscall round trips are timed in,
// taking turns between the platforms; each platform's figure is the
// median of its best round. On the development VM a platform measured
// while the machine was briefly busy could come out twice as slow as it
// is, and the daemon, which measures once at start-up, then ran every pod
// on a slower platform until it restarted.
const measureRounds = 4

// probeLoop runs the loop of one platform on a thread of its own, which
// exits with it: the thread becomes the tracer or vCPU thread of what the
// loop creates, and must not go back to the Go scheduler's pool. Work is
// handed to the thread a round at a time.
type probeLoop struct {
	l    *Loop
	work chan func()
	done chan struct{}
}

// startProbeLoop starts p's loop on a thread of its own.
func startProbeLoop(p platform.Platform, mf *memfile.File) (*probeLoop, error) {
	pl := &probeLoop{work: make(chan func()), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread exits when this goroutine returns.
		defer close(pl.done)
		for f := range pl.work {
			f()
		}
	}()
	var err error
	pl.run(func() { pl.l, err = NewLoop(p, mf) })
	if err != nil {
		pl.stop()
		return nil, err
	}
	return pl, nil
}

// run runs f on the loop's thread and waits for it.
func (pl *probeLoop) run(f func()) {
	ran := make(chan struct{})
	pl.work <- func() { f(); close(ran) }
	<-ran
}

// stop releases the loop and ends its thread.
func (pl *probeLoop) stop() {
	if pl.l != nil {
		pl.run(pl.l.Release)
		pl.l = nil
	}
	close(pl.work)
	<-pl.done
}

// round times n round trips (and n from a patched site, where the
// platform patches them), each made longer by busy (tests), and keeps in
// res the lower medians of this round's and the earlier ones'.
func (pl *probeLoop) round(n int, busy time.Duration, res *Result) error {
	var err error
	pl.run(func() {
		slowed := func(trip func() error) func() error {
			if busy == 0 {
				return trip
			}
			return func() error {
				time.Sleep(busy)
				return trip()
			}
		}
		var trips, patched []time.Duration
		if trips, err = timeTrips(slowed(pl.l.Syscall), n); err != nil {
			return
		}
		if pl.l.Patched() {
			if patched, err = timeTrips(slowed(pl.l.PatchedSyscall), n); err != nil {
				err = fmt.Errorf("patched site: %w", err)
				return
			}
			res.Unpatched = lower(res.Unpatched, median(trips))
			trips = patched
		}
		res.Syscall = lower(res.Syscall, median(trips))
	})
	return err
}

// faults times n page faults into res.
func (pl *probeLoop) faults(n int, res *Result) error {
	var err error
	pl.run(func() {
		faults := make([]time.Duration, n)
		for i := range faults {
			if faults[i], err = pl.l.Fault(); err != nil {
				return
			}
		}
		res.Fault = median(faults)
	})
	return err
}

// lower returns the smaller of a and b, a figure not taken yet (0) not
// counting.
func lower(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

// timeTrips times n round trips of trip, after a few untimed ones.
func timeTrips(trip func() error, n int) ([]time.Duration, error) {
	for i := 0; i < warmUp; i++ {
		if err := trip(); err != nil {
			return nil, err
		}
	}
	trips := make([]time.Duration, n)
	for i := range trips {
		start := time.Now()
		if err := trip(); err != nil {
			return nil, err
		}
		trips[i] = time.Since(start)
	}
	return trips, nil
}

// median returns the middle of ds (sorting it).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// reason is err as a Result's Reason: without the "platform unavailable
// on this host" and platform-name prefixes, which Check adds back.
func reason(name string, err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, platform.ErrUnavailable.Error()+": ")
	return strings.TrimPrefix(s, name+": ")
}
