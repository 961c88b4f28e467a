//go:build linux && amd64

// Package sysfuzz runs a seeded random system call generator (./gen) in a
// sandbox and requires the sentry to survive it: no crash, no hang, and
// nothing left behind once the generator's processes are gone.
//
//	go test ./test/sysfuzz/ -run TestSentrySurvivesSyscallFuzz -v -count=1
//
// sets COCOON_PLATFORM=systrap (or another platform) to choose the
// platform. By default one sandbox runs seed 1 for at most 12,000 calls or
// 60 s, whichever ends first. COCOON_SOAK=1 runs a longer soak (20 minutes;
// COCOON_SOAK=45m names the length) with a seed from the clock, printed;
// COCOON_SYSFUZZ_SEED=N chooses the seed of either run. A failing batch is
// replayed outside the test with the line the log prints, as
//
//	cocoon do -- gen -seed S -start I -count N -batch N -v
package sysfuzz

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
	"github.com/cocoonrt/cocoon/test/internal/sentrystats"
)

// The leak thresholds compare the sentry's figures after every process of
// the sandbox has exited with those before the first started.
const (
	// goroutineSlack: services the kernel starts on first use and keeps
	// for its life (the TCP/IP stack's processors, two on this machine)
	// are the only goroutines that may outlive the processes. A task
	// leaked per batch shows as one per child, far above this.
	goroutineSlack = 8
	// hostFDsPerChild: the VFS caches up to 8000 dentries, and a cached
	// regular file keeps its host descriptor; each batch creates a
	// handful of names in its own directory (the generator's path
	// list), so the cache may grow by that much per child, plus the
	// fixed names every batch shares.
	hostFDsPerChild = 8
	hostFDsShared   = 64
	// heapPerChild and heapSlack bound the heap in use after a
	// collection: the same dentry cache, measured at ~60 KiB per batch,
	// and one-time structures (the TCP/IP stack once a socket exists).
	heapPerChild = 128 << 10
	heapSlack    = 16 << 20
	// memFileSlack bounds application memory left allocated: System V
	// segments and /dev/shm files outlive their processes by design.
	memFileSlack = 256 << 20
)

type fuzzRun struct {
	seed     uint64
	count    uint64
	duration time.Duration
}

// plan is this run's seed, count and length, from the environment.
func plan(t *testing.T) fuzzRun {
	r := fuzzRun{seed: 1, count: 12000, duration: 60 * time.Second}
	if soak := os.Getenv("COCOON_SOAK"); soak != "" {
		r.duration = 20 * time.Minute
		if d, err := time.ParseDuration(soak); err == nil {
			r.duration = d
		}
		r.count = 1 << 40
		r.seed = uint64(time.Now().UnixNano())
	}
	if s := os.Getenv("COCOON_SYSFUZZ_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COCOON_SYSFUZZ_SEED: %v", err)
		}
		r.seed = n
	}
	return r
}

func TestSentrySurvivesSyscallFuzz(t *testing.T) {
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "sysfuzz")
	build := exec.Command("go", "build", "-o", gen, "./gen")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the generator: %v\n%s", err, out)
	}
	r := plan(t)
	t.Logf("seed %d, at most %d calls or %s", r.seed, r.count, r.duration)

	// The generator stops starting batches after r.duration; the rest is
	// for the last batch, its kill, and the sentry's exit report.
	ctx, cancel := context.WithTimeout(context.Background(), r.duration+2*time.Minute)
	defer cancel()
	args := append(cocoonbin.Do(), "--", gen, "-seed", fmt.Sprint(r.seed), "-count", fmt.Sprint(r.count),
		"-duration", r.duration.String(), "-batch", "200")
	cmd := exec.CommandContext(ctx, cocoon, args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), sentrystats.Env+"=1")
	logPath := filepath.Join(dir, "sysfuzz.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = logFile, &stderr
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	log, _ := os.ReadFile(logPath)
	report := func() string {
		return fmt.Sprintf("generator log (last lines):\n%s\nsentry stderr (its crash reason, if any):\n%s\nsentry stderr (last lines):\n%s",
			tail(string(log), 40), crashReason(stderr.String()), tail(stderr.String(), 150))
	}
	if ctx.Err() != nil {
		t.Fatalf("the sandbox hung: no exit within %s\n%s", r.duration+2*time.Minute, report())
	}
	checkSentryExit(t, runErr, stderr.String(), report)

	summary := regexp.MustCompile(`(?m)^sysfuzz: done .*$`).FindString(string(log))
	if summary == "" {
		t.Fatalf("the generator printed no summary\n%s", report())
	}
	t.Log(summary)
	calls, children := summaryField(summary, "calls"), summaryField(summary, "children")
	if calls == 0 || children == 0 {
		t.Fatalf("the generator made no calls\n%s", report())
	}

	start, end, ok := sentrystats.Parse(stderr.String())
	if !ok {
		// boot.run must call startDebugStats (sentry/boot/debugstats.go).
		t.Fatalf("the sentry did not report its figures although COCOON_SENTRY_STATS is set\n%s", report())
	}
	t.Logf("sentry at start: %v", start)
	t.Logf("sentry at exit:  %v", end)
	for _, name := range []string{"processes", "threads", "unreaped"} {
		if end[name] != 0 {
			t.Errorf("%d %s left in the kernel after the program exited", end[name], name)
		}
	}
	if end["goroutines"] > start["goroutines"]+goroutineSlack {
		t.Errorf("goroutines leaked: %d at start, %d at exit (allowed %d more)", start["goroutines"], end["goroutines"], goroutineSlack)
	}
	if limit := start["host_fds"] + hostFDsPerChild*children + hostFDsShared; end["host_fds"] > limit {
		t.Errorf("host descriptors leaked: %d at start, %d at exit after %d batches (allowed %d)", start["host_fds"], end["host_fds"], children, limit)
	}
	if limit := start["heap_inuse_bytes"] + heapPerChild*children + heapSlack; end["heap_inuse_bytes"] > limit {
		t.Errorf("sentry heap grew: %d bytes at start, %d at exit after %d batches (allowed %d)", start["heap_inuse_bytes"], end["heap_inuse_bytes"], children, limit)
	}
	if end["memfile_bytes"] > start["memfile_bytes"]+memFileSlack {
		t.Errorf("application memory left allocated: %d bytes at start, %d at exit", start["memfile_bytes"], end["memfile_bytes"])
	}
	if t.Failed() {
		t.Log(report())
	}
}

// checkSentryExit fails the test unless the sentry, and the generator in
// it, ended normally: the generator exits 0 (3 when a child of it
// survived SIGKILL, a hung kernel); `cocoon do` says when the sentry died
// of a signal; a Go crash prints its goroutines.
func checkSentryExit(t *testing.T, runErr error, stderr string, report func() string) {
	t.Helper()
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^panic: `),
		regexp.MustCompile(`(?m)^fatal error: `),
		regexp.MustCompile(`(?m)^goroutine \d+ \[`),
		regexp.MustCompile(`sentry killed by`),
		regexp.MustCompile(`refused by the seccomp filter`),
	} {
		if m := bad.FindString(stderr); m != "" {
			t.Fatalf("the sentry crashed (%q in its stderr)\n%s", m, report())
		}
	}
	if runErr != nil {
		t.Fatalf("cocoon do: %v (the generator exits 0 unless a child hung in the kernel)\n%s", runErr, report())
	}
}

func summaryField(summary, name string) int {
	m := regexp.MustCompile(`\b` + name + `=(\d+)`).FindStringSubmatch(summary)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// crashReason returns the lines of a Go crash report that say why (the
// first lines of a panic or fatal error, and of a fatal signal), which a
// tail of the goroutine dump would cut off.
func crashReason(stderr string) string {
	lines := strings.Split(stderr, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "SIG") ||
			strings.HasPrefix(l, "runtime: ") || strings.Contains(l, "refused by the seccomp filter") {
			end := min(i+12, len(lines))
			return strings.Join(lines[i:end], "\n")
		}
	}
	return "(none found)"
}
