// Package bench prints Cocoon's costs next to native ones measured in the
// same run. It reports, it never asserts on time: `make bench` runs
// TestReport with COCOON_BENCH=1; elsewhere the report is skipped.
package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/kvm"
	"github.com/cocoonrt/cocoon/sentry/platform/ptrace"
	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

func TestReport(t *testing.T) {
	if os.Getenv("COCOON_BENCH") == "" {
		t.Skip("set COCOON_BENCH=1 (make bench) to print the benchmark report")
	}
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "getppid_loop")
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", loop, "getppid_loop.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	ops := filepath.Join(dir, "kernel_ops")
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", ops, "kernel_ops.c", "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}

	fmt.Println("Cocoon benchmark report (platform: auto; one run on this machine; the getppid lines run on ptrace")
	fmt.Println("to compare it with its raw floor, TestPlatformReport compares the platforms)")
	fmt.Println()

	native := nsPerCall(t, loop, "2000000")
	sandbox := nsPerCall(t, cocoon, "do", "--platform=ptrace", "--", loop, "20000")
	floor := rawPlatformRoundTrip(t, 20000)
	fmt.Println("getppid round trip")
	fmt.Printf("  native                       %10.1f ns\n", native)
	fmt.Printf("  raw PTRACE_SYSEMU round trip %10.1f ns   (a stub that only makes syscalls; the platform's floor)\n", floor)
	fmt.Printf("  in the sandbox               %10.1f ns   %.2fx the floor, %.0fx native\n", sandbox, sandbox/floor, sandbox/native)
	if exit, err := rawKVMExit(20000); err != nil {
		fmt.Printf("  raw KVM exit round trip          n/a   (%v)\n", err)
	} else {
		user := rawRoundTrip(t, "kvm", 2000)
		onKVM := nsPerCall(t, cocoon, "do", "--platform=kvm", "--", loop, "20000")
		fmt.Printf("  raw KVM exit round trip      %10.1f ns   (a ring-0 guest that only exits: KVM's floor)\n", exit)
		fmt.Printf("  raw kvm platform round trip  %10.1f ns   (a user-mode stub looping on syscall, served at once)\n", user)
		fmt.Printf("  in the sandbox on kvm        %10.1f ns   %.2fx the platform floor, %.2fx the raw exit, %.0fx native\n", onKVM, onKVM/user, onKVM/exit, onKVM/native)
	}
	fmt.Println()

	fmt.Println("kernel operations (per operation; ratio = sandbox / native)")
	for _, op := range []struct {
		name, label       string
		native, sandboxed string
	}{
		{"forkexec", "fork+exec+wait of a static program", "200", "40"},
		{"forkwrite", "fork, child writes 1 MiB, exit, wait", "200", "40"},
		{"forkreserve", "fork+exit+wait, 1 GiB reserved", "200", "40"},
		{"forkparent", "fork+exit+wait, parent writes 8 MiB", "100", "30"},
		{"thread", "thread create+join", "500", "100"},
		{"futex", "futex ping-pong round, two threads", "2000", "500"},
		{"signal", "signal to a handler and back", "20000", "500"},
		// On systrap the stub answers it without the sentry.
		{"yield", "sched_yield, nothing else to run", "200000", "100000"},
		{"pipe", "pipe write of 8 KiB, a reader drains", "100000", "20000"},
		{"unix", "unix stream write of 8 KiB, drained", "100000", "20000"},
		// Target: within 2x of native; it must not leave the guest.
		{"clock", "clock_gettime(CLOCK_MONOTONIC), vDSO", "5000000", "5000000"},
	} {
		n := nsPerCall(t, ops, op.name, op.native)
		s := nsPerCall(t, cocoon, "do", "--", ops, op.name, op.sandboxed)
		unit, div := "us", 1000.0
		if n < 1000 {
			unit, div = "ns", 1
		}
		fmt.Printf("  %-36s native %10.1f %s   sandbox %10.1f %s   %6.2fx\n", op.label, n/div, unit, s/div, unit, s/n)
	}
	fmt.Println()

	const runs = 21
	nativeTrue := medianWall(t, runs, "/bin/true")
	doTrue := medianWall(t, runs, cocoon, "do", "--", "/bin/true")
	doStatic := medianWall(t, runs, cocoon, "do", "--", "busybox", "true")
	fmt.Printf("start-to-exit, median of %d\n", runs)
	fmt.Printf("  /bin/true natively           %10.2f ms\n", ms(nativeTrue))
	fmt.Printf("  cocoon do /bin/true          %10.2f ms   (dynamic: ld.so and libc mapped in the sandbox)\n", ms(doTrue))
	fmt.Printf("  cocoon do busybox true       %10.2f ms   (static)\n", ms(doStatic))
	fmt.Println()

	sentryKiB, goferKiB := peakRSS(t, cocoon, "/bin/true")
	fmt.Println("peak RSS for a trivial program (cocoon do /bin/true)")
	fmt.Printf("  sentry                       %10.1f MiB\n", float64(sentryKiB)/1024)
	fmt.Printf("  gofer                        %10.1f MiB\n", float64(goferKiB)/1024)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// nsPerCall runs a getppid_loop and returns its figure.
func nsPerCall(t *testing.T, argv ...string) float64 {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("%v printed %q", argv, out)
	}
	return v
}

// medianWall runs argv n times and returns the median wall time.
func medianWall(t *testing.T, n int, argv ...string) time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[n/2]
}

var rssLine = regexp.MustCompile(`sentry max RSS (\d+) KiB, gofer max RSS (\d+) KiB`)

func peakRSS(t *testing.T, cocoon string, argv ...string) (sentry, gofer int64) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(cocoon, append([]string{"do", "--stats", "--"}, argv...)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.String())
	}
	m := rssLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no RSS figures in %q", stderr.String())
	}
	sentry, _ = strconv.ParseInt(m[1], 10, 64)
	gofer, _ = strconv.ParseInt(m[2], 10, 64)
	return sentry, gofer
}

// rawPlatformRoundTrip measures the platform alone: a stub whose code is
// `syscall` in a loop, served by returning at once.
func rawPlatformRoundTrip(t *testing.T, n int) float64 {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mf, err := memfile.New("bench", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	p, err := ptrace.New(mf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	ctx, err := p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	fr, err := mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	// mov $110,%eax; syscall; jmp back
	copy(mf.Slice(fr), []byte{0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7})
	if err := as.MapFile(0x400000, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip = 0x400000
	for i := 0; i < 100; i++ {
		ctx.Switch(as, st)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := ctx.Switch(as, st); err != nil {
			t.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// rawKVMExit returns the raw KVM exit round trip (kvm.RawExitRoundTrip) in
// ns, or why this host has none.
func rawKVMExit(n int) (float64, error) {
	mf, err := memfile.New("bench", 1<<30)
	if err != nil {
		return 0, err
	}
	defer mf.Close()
	p, err := kvm.New(mf)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	d, err := p.RawExitRoundTrip(n)
	return float64(d.Nanoseconds()), err
}
