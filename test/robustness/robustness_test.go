// Package robustness throws hostile input at the sandbox and requires the
// sentry to survive it: a program may die, the sandbox may not.
package robustness

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
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
