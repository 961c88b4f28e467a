// Package robustness throws hostile input at the sandbox and requires the
// sentry to survive it: a program may die, the sandbox may not.
package robustness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

func TestSyscallStorm(t *testing.T) {
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	storm := filepath.Join(dir, "syscall_storm")
	if out, err := exec.Command("gcc", "-static", "-O1", "-o", storm, "syscall_storm.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	for seed := 1; seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, cocoon, "do", "--", storm, fmt.Sprint(seed*7919), "3000")
			cmd.Dir = "/"
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("the sandbox hung: %s", stderr.String())
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			// 125 is cocoon's own failure; a Go panic prints goroutines.
			if code == 125 || strings.Contains(stderr.String(), "goroutine ") || strings.Contains(stderr.String(), "panic:") {
				t.Fatalf("the sentry failed (exit %d):\n%s", code, stderr.String())
			}
		})
	}
}

// TestStubKilledByFilter has children jump to the systrap stub's own
// syscall instruction while their other threads make system calls, edit
// their address space and create threads: the stub's filter kills the
// stub process, and the sentry must end every task of the child without
// waiting forever on the dead stub (it once deadlocked: the stub maker
// waited for a leader whose other threads' tracer was itself waiting).
func TestStubKilledByFilter(t *testing.T) {
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "stub_kill")
	if out, err := exec.Command("gcc", "-static", "-O1", "-pthread", "-o", prog, "stub_kill.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	canary := filepath.Join(dir, "canary")
	if err := os.Mkdir(canary, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cocoon, "do", "--platform=systrap", "--", prog, canary, "8")
	cmd.Dir = "/"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Cancel = func() error {
		// Have the sentry print where it is stuck before it goes.
		quitSentries(cmd.Process.Pid)
		time.Sleep(2 * time.Second)
		return cmd.Process.Kill()
	}
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the sandbox hung:\n%s", stderr.String())
	}
	if err != nil || strings.TrimSpace(stdout.String()) != "ok" {
		t.Fatalf("stub_kill: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if ents, err := os.ReadDir(canary); err != nil || len(ents) != 0 {
		t.Fatalf("the stub's syscall instruction reached the host: %v %v", ents, err)
	}
}

// quitSentries sends SIGQUIT to the sentry processes below pid.
func quitSentries(pid int) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(b)) {
			n, err := strconv.Atoi(c)
			if err != nil {
				continue
			}
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n)); bytes.Contains(cmdline, []byte("sentry")) {
				_ = syscall.Kill(n, syscall.SIGQUIT)
			}
			quitSentries(n)
		}
	}
}
