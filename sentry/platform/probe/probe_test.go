package probe

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// TestMeasureHost measures the platforms this host has. systrap and ptrace
// must work wherever the tests run; KVM is reported unavailable, with the
// reason, where /dev/kvm is missing.
func TestMeasureHost(t *testing.T) {
	r := Measure(Options{})
	t.Logf("measured in %v: choice %q", r.Took, r.Choice)
	for _, p := range r.Platforms {
		t.Logf("  %-8s available=%v syscall=%v unpatched=%v fault=%v start=%v %s%s", p.Name, p.Available, p.Syscall, p.Unpatched, p.Fault, p.Start, p.Detail, p.Reason)
	}
	// systrap patches system-call sites unless told not to: its figure
	// is a patched site's, next to the unpatched one.
	if p, _ := r.Result(Systrap); p.Available && os.Getenv("COCOON_SYSTRAP_PATCH") != "0" && p.Unpatched <= 0 {
		t.Errorf("systrap: no unpatched figure next to the patched one: %+v", p)
	}
	if p, _ := r.Result(Ptrace); p.Unpatched != 0 {
		t.Errorf("ptrace patches no sites, yet has an unpatched figure: %+v", p)
	}
	if len(r.Platforms) != len(Names) {
		t.Fatalf("%d results, want one per platform (%v)", len(r.Platforms), Names)
	}
	for i, p := range r.Platforms {
		if p.Name != Names[i] {
			t.Errorf("result %d is %q, want %q", i, p.Name, Names[i])
		}
		if p.Available {
			if p.Syscall <= 0 || p.Fault <= 0 || p.Start <= 0 || p.Reason != "" {
				t.Errorf("%s available with figures %+v: want positive figures and no reason", p.Name, p)
			}
		} else if p.Reason == "" || p.Syscall != 0 {
			t.Errorf("%s unavailable with %+v: want a reason and no figures", p.Name, p)
		}
	}
	for _, name := range []string{Systrap, Ptrace} {
		if p, _ := r.Result(name); !p.Available {
			t.Errorf("%s unavailable here: %s", name, p.Reason)
		}
	}
	if _, err := os.Stat("/dev/kvm"); errors.Is(err, os.ErrNotExist) {
		p, _ := r.Result(KVM)
		if p.Available || !strings.Contains(p.Reason, "/dev/kvm") {
			t.Errorf("kvm without /dev/kvm: %+v, want unavailable naming /dev/kvm", p)
		}
		err := r.Check(KVM)
		if !errors.Is(err, platform.ErrUnavailable) || !strings.Contains(err.Error(), "kvm: opening /dev/kvm") {
			t.Errorf("Check(kvm) = %v", err)
		}
	}
	// The choice is the available platform with the smallest median, or
	// an earlier one within the tie margin of it.
	chosen, _ := r.Result(r.Choice)
	if !chosen.Available {
		t.Fatalf("choice %q is not available", r.Choice)
	}
	for _, p := range r.Platforms {
		if p.Available && float64(p.Syscall) < float64(chosen.Syscall)*(1-tieMargin) {
			t.Errorf("chose %s (%v) over %s (%v)", chosen.Name, chosen.Syscall, p.Name, p.Syscall)
		}
	}
	if want := choose(r.Platforms); r.Choice != want {
		t.Errorf("choice %q, choose says %q", r.Choice, want)
	}
	if got, err := r.Resolve(Auto); got != r.Choice || err != nil {
		t.Errorf("Resolve(auto) = %q, %v", got, err)
	}
	if r.Took <= 0 || r.Syscalls != defaultSyscalls || r.Faults != defaultFaults {
		t.Errorf("report %+v", r)
	}
}

// TestStartFastest keeps the chosen platform running on the caller's
// memory file, and it runs programs.
func TestStartFastest(t *testing.T) {
	mf, err := memfile.New("test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	p, r, err := StartFastest(mf, Options{Platforms: []string{Ptrace, Systrap}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != r.Choice {
		t.Fatalf("started %s, report chose %s", p.Name(), r.Choice)
	}
	// The platform still works after the measuring thread is gone.
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		l, err := NewLoop(p, mf)
		if err != nil {
			done <- err
			return
		}
		defer l.Release()
		for i := 0; i < 10; i++ {
			if err := l.Syscall(); err != nil {
				done <- err
				return
			}
		}
		_, err = l.Fault()
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// fakePlatform fails the loop in a chosen way (it never starts one).
type fakePlatform struct {
	platform.Platform
	name   string
	closed *int
}

func (f fakePlatform) Name() string { return f.name }
func (f fakePlatform) NewAddressSpace() (platform.AddressSpace, error) {
	return nil, errors.New("no address spaces today")
}
func (f fakePlatform) Close() error { *f.closed++; return nil }

func TestChoiceAndReasons(t *testing.T) {
	closed := 0
	var mu sync.Mutex // protects started: the platforms start concurrently
	var started []string
	r, p, err := measure(Options{
		Platforms: Names,
		start: func(name string, mf *memfile.File) (platform.Platform, error) {
			mu.Lock()
			started = append(started, name)
			mu.Unlock()
			switch name {
			case KVM:
				return nil, fmt.Errorf("%w: kvm: opening /dev/kvm: no such file or directory", platform.ErrUnavailable)
			case Systrap:
				return fakePlatform{name: name, closed: &closed}, nil
			}
			return Start(name, mf)
		},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	slices.Sort(started)
	if fmt.Sprint(started) != "[kvm ptrace systrap]" {
		t.Errorf("started %v, want %v", started, Names)
	}
	if closed != 1 {
		t.Errorf("the broken platform was closed %d times, want once", closed)
	}
	kvm, _ := r.Result(KVM)
	if kvm.Available || kvm.Reason != "opening /dev/kvm: no such file or directory" {
		t.Errorf("kvm = %+v", kvm)
	}
	st, _ := r.Result(Systrap)
	if st.Available || !strings.Contains(st.Reason, "start-up measurement: new address space: no address spaces today") {
		t.Errorf("systrap = %+v", st)
	}
	if r.Choice != Ptrace || p.Name() != Ptrace {
		t.Errorf("choice %q (kept %s), want ptrace", r.Choice, p.Name())
	}
	if err := r.Check(Systrap); err == nil || !strings.Contains(err.Error(), "systrap: start-up measurement") {
		t.Errorf("Check(systrap) = %v", err)
	}
	if got, err := r.Resolve(""); got != Ptrace || err != nil {
		t.Errorf("Resolve(\"\") = %q, %v", got, err)
	}
	attrs := fmt.Sprint(r.LogAttrs())
	for _, want := range []string{"choice ptrace", "kvm unavailable: opening /dev/kvm", "ptrace syscall "} {
		if !strings.Contains(attrs, want) {
			t.Errorf("log attributes %s lack %q", attrs, want)
		}
	}
}

func TestNothingWorks(t *testing.T) {
	r := Measure(Options{start: func(name string, _ *memfile.File) (platform.Platform, error) {
		return nil, fmt.Errorf("%w: %s refused", platform.ErrUnavailable, name)
	}})
	if r.Choice != "" {
		t.Fatalf("choice %q with nothing available", r.Choice)
	}
	err := r.Check(Auto)
	if !errors.Is(err, platform.ErrUnavailable) || !strings.Contains(err.Error(), "kvm: kvm refused; systrap: systrap refused; ptrace: ptrace refused") {
		t.Errorf("Check(auto) = %v", err)
	}
	if _, err := r.Resolve(Auto); err == nil {
		t.Error("Resolve(auto) succeeded with nothing available")
	}
}

func TestChoose(t *testing.T) {
	us := time.Microsecond
	for _, tc := range []struct {
		name    string
		results []Result
		want    string
	}{
		{"none", []Result{{Name: KVM}, {Name: Systrap}}, ""},
		{"only one", []Result{{Name: KVM}, {Name: Ptrace, Available: true, Syscall: 20 * us}}, Ptrace},
		{"fastest", []Result{
			{Name: KVM, Available: true, Syscall: 80 * us},
			{Name: Systrap, Available: true, Syscall: 5 * us},
			{Name: Ptrace, Available: true, Syscall: 20 * us},
		}, Systrap},
		{"bare metal", []Result{
			{Name: KVM, Available: true, Syscall: 1 * us},
			{Name: Systrap, Available: true, Syscall: 5 * us},
		}, KVM},
		{"tie goes to the earlier", []Result{
			{Name: Systrap, Available: true, Syscall: 20 * us},
			{Name: Ptrace, Available: true, Syscall: 19 * us},
		}, Systrap},
		{"within the figures' spread", []Result{
			{Name: Systrap, Available: true, Syscall: 24 * us},
			{Name: Ptrace, Available: true, Syscall: 19 * us},
		}, Systrap},
		{"clearly faster later one", []Result{
			{Name: Systrap, Available: true, Syscall: 20 * us},
			{Name: Ptrace, Available: true, Syscall: 13 * us},
		}, Ptrace},
		{"unavailable is never chosen", []Result{
			{Name: KVM, Syscall: 1 * us},
			{Name: Systrap, Available: true, Syscall: 5 * us},
		}, Systrap},
	} {
		if got := choose(tc.results); got != tc.want {
			t.Errorf("%s: choose = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	ds := []time.Duration{5, 1, 9, 3, 7}
	if m := median(ds); m != 5 {
		t.Errorf("median = %v", m)
	}
	if m := median(nil); m != 0 {
		t.Errorf("median(nil) = %v", m)
	}
}

func TestStartUnknown(t *testing.T) {
	if _, err := Start(Auto, nil); err == nil || !strings.Contains(err.Error(), "unknown platform") {
		t.Errorf("Start(auto) = %v", err)
	}
	for _, n := range append([]string{Auto}, Names...) {
		if !Valid(n) {
			t.Errorf("Valid(%q) = false", n)
		}
	}
	if Valid("") || Valid("vmx") {
		t.Error("Valid accepts a non-platform")
	}
}

// A platform is judged by its best round: load that makes some of its
// rounds slow (here a sleep before every round trip of them) does not
// make it look slow, as long as one round went undisturbed; load through
// every round does.
func TestBestRoundCounts(t *testing.T) {
	const busy = 2 * time.Millisecond
	r := Measure(Options{Platforms: []string{Systrap, Ptrace}, busy: func(name string, round int) time.Duration {
		// Each platform busy in a different half of the rounds.
		if (name == Systrap) == (round < measureRounds/2) {
			return busy
		}
		return 0
	}})
	if r.Rounds != measureRounds || r.Syscalls != defaultSyscalls {
		t.Errorf("report of %d rounds, %d round trips; want %d, %d", r.Rounds, r.Syscalls, measureRounds, defaultSyscalls)
	}
	for _, p := range r.Platforms {
		if !p.Available {
			t.Fatalf("%s unavailable: %s", p.Name, p.Reason)
		}
		if p.Syscall >= busy {
			t.Errorf("%s: %v, a busy round's figure; want its best round's, under %v", p.Name, p.Syscall, busy)
		}
	}

	r = Measure(Options{Platforms: []string{Ptrace}, busy: func(string, int) time.Duration { return busy }})
	if p, _ := r.Result(Ptrace); !p.Available || p.Syscall < busy {
		t.Errorf("ptrace busy in every round: %+v, want a figure of at least %v", p, busy)
	}
}
