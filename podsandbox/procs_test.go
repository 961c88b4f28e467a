package podsandbox

import (
	"os/exec"
	"syscall"
	"testing"
)

// startProc starts a host command as a pod process called name.
func startProc(t *testing.T, name string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, err := openProc(name, cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stopAndClose(killTimeout) })
	return p
}

// deathCause names the process the pod died of. A gofer ends with status 0
// when its sentry hangs up, and the watcher may see it first: the pod
// died of its sentry then. A gofer that failed, or ended while its sentry
// lives, is the cause itself.
func TestDeathCause(t *testing.T) {
	for _, tc := range []struct {
		name       string
		gofer      string // the gofer's command
		killSentry bool
		want       string // the cause's name
		status     string
	}{
		{"sentry killed", "true", true, "sentry", "killed by signal 9 (SIGKILL)"},
		{"gofer failed", "false", false, "gofer", "exit status 1"},
		{"sentry lives", "true", false, "gofer", "exit status 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runtime{}
			gofer := startProc(t, "gofer", tc.gofer)
			sentry := startProc(t, "sentry", "sleep", "60")
			ps := &podState{procs: []*proc{sentry, gofer}}
			if !gofer.waitExit(killTimeout) {
				t.Fatal("the gofer did not exit")
			}
			if tc.killSentry {
				if err := syscall.Kill(sentry.pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			p, status := r.deathCause(ps, gofer)
			if p.name != tc.want || status != tc.status {
				t.Errorf("cause %s: %q, want %s: %q", p.name, status, tc.want, tc.status)
			}
		})
	}
}
