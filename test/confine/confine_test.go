// Package confine checks, through `cocoon do`, that a sentry confines
// itself (sentry/boot/confine.go) and that its seccomp filter ends it,
// with a line naming the call, when it makes a host system call the
// filter refuses. The pod daemon's sentries are checked from the host in
// e2e (TestSentryConfinement).
package confine

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

func cocoon(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a confined sentry needs root (host IDs of its own)")
	}
	bin, err := cocoonbin.Path(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) (stdout, stderr string, ws syscall.WaitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(cocoonbin.Do(), args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	_ = cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("cocoon %v did not run", args)
	}
	return o.String(), e.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// The debug hook makes the confined sentry call openat, which its filter
// refuses: the sentry must die of SIGSYS (cocoon do exits 128+31) after
// saying which call it was.
func TestRefusedHostCallKillsTheSentryAndNamesIt(t *testing.T) {
	bin := cocoon(t)
	_, stderr, ws := run(t, bin, "--debug-seccomp-probe", "--", "/bin/true")
	if ws.ExitStatus() != 128+int(syscall.SIGSYS) {
		t.Errorf("cocoon do exited %d, want %d (the sentry killed by SIGSYS); stderr:\n%s", ws.ExitStatus(), 128+int(syscall.SIGSYS), stderr)
	}
	if !strings.Contains(stderr, "cocoon sentry: host system call openat (257) refused by the seccomp filter; exiting\n") {
		t.Errorf("no line naming the refused call; stderr:\n%s", stderr)
	}
}

// A confined sentry still runs programs that use threads, processes,
// pipes, files and the clock: the filter allows what serving them takes.
func TestConfinedSentryRunsPrograms(t *testing.T) {
	bin := cocoon(t)
	stdout, stderr, ws := run(t, bin, "--debug", "--", "/bin/sh", "-c",
		`echo a > /tmp/f && cat /tmp/f | tr a b && (sleep 0.1 & wait) && ls / >/dev/null && date +%Y >/dev/null && echo done`)
	if ws.ExitStatus() != 0 || stdout != "b\ndone\n" {
		t.Errorf("exit %d, stdout %q; stderr:\n%s", ws.ExitStatus(), stdout, stderr)
	}
	if !strings.Contains(stderr, `msg="sentry confined"`) {
		t.Errorf("the sentry did not say it confined itself; stderr:\n%s", stderr)
	}
}

// --unconfined (a debugging aid) skips it.
func TestUnconfinedFlag(t *testing.T) {
	bin := cocoon(t)
	_, stderr, ws := run(t, bin, "--unconfined", "--debug", "--", "/bin/true")
	if ws.ExitStatus() != 0 || strings.Contains(stderr, `msg="sentry confined"`) {
		t.Errorf("exit %d; stderr:\n%s", ws.ExitStatus(), stderr)
	}
}
