package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

// TestPlatformReport prints, side by side and measured in one run, what a
// system call, a 1-byte pipe write+read and a fork+exec+wait cost natively
// and on each platform this host offers (`cocoon do --platform=...`), with
// the raw platform round trip (a stub looping on `syscall`, served by
// returning at once) as each platform's floor. COCOON_BENCH=1 runs it; it
// reports, it never asserts on time. With $RUNSC naming a gVisor runsc
// binary (`make runsc` builds one from the module proxy into bin/), runsc's
// ptrace and systrap platforms run the same programs (`runsc do`) in the
// same run, for comparison.
func TestPlatformReport(t *testing.T) {
	if os.Getenv("COCOON_BENCH") == "" {
		t.Skip("set COCOON_BENCH=1 (make bench) to print the platform report")
	}
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{}
	for _, src := range []string{"getppid_loop", "rw_loop", "kernel_ops"} {
		bin := filepath.Join(dir, src)
		if out, err := exec.Command("gcc", "-static", "-O2", "-o", bin, src+".c", "-lpthread").CombinedOutput(); err != nil {
			t.Fatalf("gcc %s: %v\n%s", src, err, out)
		}
		bins[src] = bin
	}
	goread := filepath.Join(dir, "goread")
	build := exec.Command("go", "build", "-o", goread, "./testdata/goread")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building goread: %v\n%s", err, out)
	}
	bins["goread"] = goread
	platforms := []string{"ptrace", "systrap"}
	if _, err := os.Stat("/dev/kvm"); err == nil {
		platforms = append(platforms, "kvm")
	}

	type row struct {
		label    string
		argv     []string // program and arguments natively
		nNative  string
		nSandbox string
		unit     float64 // divide ns by this for the printed unit
		unitName string
	}
	// Each sandbox: its name and the command line that runs a program
	// in it.
	type sandbox struct {
		name string
		argv []string
	}
	var sandboxes []sandbox
	for _, p := range platforms {
		sandboxes = append(sandboxes, sandbox{p, []string{cocoon, "do", "--platform=" + p, "--"}})
		if p == "systrap" {
			// Without system-call patching (systrap/fastpath.go), every
			// system call takes the signal path.
			sandboxes = append(sandboxes, sandbox{"systrap-nopatch", []string{"env", "COCOON_SYSTRAP_PATCH=0", cocoon, "do", "--platform=" + p, "--"}})
			// A pod given one CPU (a cpuset, kubelet's static CPU
			// manager): the stub and the sentry thread serving it
			// share it, so no spin can see the other side's answer
			// and every hand-off is a context switch.
			sandboxes = append(sandboxes, sandbox{"systrap-1cpu", []string{"taskset", "-c", "0", cocoon, "do", "--platform=" + p, "--"}})
		}
	}
	if runsc := os.Getenv("RUNSC"); runsc != "" {
		if _, err := os.Stat(runsc); err != nil {
			t.Fatalf("RUNSC: %v", err)
		}
		for _, p := range []string{"ptrace", "systrap"} {
			sandboxes = append(sandboxes, sandbox{"runsc-" + p, []string{runsc, "--platform=" + p, "--network=none", "--ignore-cgroups", "do"}})
		}
	}
	// The sandbox runs are long enough (0.1 s and more on systrap) that
	// the sandbox's start-up, when its own threads compete with the
	// program's for the CPUs, does not weigh in the figure.
	rows := []row{
		{"getppid round trip (libc getppid(): a site systrap patches)", []string{bins["getppid_loop"]}, "2000000", "200000", 1, "ns"},
		{"getppid round trip (syscall(SYS_getppid): glibc's syscall(3), a site systrap patches too)", []string{bins["getppid_loop"], "--generic"}, "2000000", "200000", 1, "ns"},
		{"1-byte pipe write+read", []string{bins["rw_loop"]}, "500000", "50000", 1, "ns"},
		{"1-byte read of /dev/zero from Go (its syscall package's one site)", []string{bins["goread"]}, "500000", "200000", 1, "ns"},
		{"futex ping-pong between two threads", []string{bins["kernel_ops"], "futex"}, "200000", "5000", 1, "ns"},
		// Linux's 50 µs timer slack and a wake-up make it ~0.2 ms
		// natively here.
		{"nanosleep(100 µs)", []string{bins["kernel_ops"], "sleep"}, "2000", "2000", 1000, "us"},
		// As many iterations as natively: the first ones in a sandbox
		// read the program into its page cache and make its spare
		// stub processes, and would weigh more in a shorter run.
		{"fork+exec+wait (static)", []string{bins["kernel_ops"], "forkexec"}, "200", "200", 1000, "us"},
	}
	fmt.Println("Cocoon platform report (one run on this machine; ratio = sandbox / native)")
	fmt.Println()
	for _, r := range rows {
		native := nsPerCall(t, append(r.argv, r.nNative)...)
		fmt.Printf("%s\n  %-13s %10.1f %s\n", r.label, "native", native/r.unit, r.unitName)
		for _, sb := range sandboxes {
			argv := append(append([]string{}, sb.argv...), r.argv...)
			s := nsPerCall(t, append(argv, r.nSandbox)...)
			fmt.Printf("  %-13s %10.1f %s   %6.1fx native\n", sb.name, s/r.unit, r.unitName, s/native)
		}
	}
	fmt.Println("raw platform round trip (the floor: Switch on a stub looping on syscall)")
	for _, p := range platforms {
		fmt.Printf("  %-9s %10.1f ns\n", p, rawRoundTrip(t, p, 20000))
	}
}

// rawRoundTrip measures platform name alone: the start-up measurement's
// loop (probe.Loop, a stub looping on getpid), served by returning at
// once.
func rawRoundTrip(t *testing.T, name string, n int) float64 {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mf, err := memfile.New("bench", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	p, err := probe.Start(name, mf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l, err := probe.NewLoop(p, mf)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	for i := 0; i < 100; i++ {
		if err := l.Syscall(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := l.Syscall(); err != nil {
			t.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}
