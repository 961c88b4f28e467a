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

// A gofer ends with status 0 when its sentry hangs up; the watcher may see
// it first, but the pod died of its sentry.
func TestDeathCauseIsTheSentryItsGoferOutlivedBriefly(t *testing.T) {
	r := &Runtime{}
	gofer := startProc(t, "gofer", "true")
	sentry := startProc(t, "sentry", "sleep", "60")
	ps := &podState{procs: []*proc{sentry, gofer}}
	if !gofer.waitExit(killTimeout) {
		t.Fatal("the gofer did not exit")
	}
	if err := syscall.Kill(sentry.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p, status := r.deathCause(ps, gofer)
	if p != sentry || status != "killed by signal 9 (SIGKILL)" {
		t.Errorf("cause %s: %q, want the sentry killed by SIGKILL", p.name, status)
	}
}

func TestDeathCauseIsAGoferThatFailed(t *testing.T) {
	r := &Runtime{}
	gofer := startProc(t, "gofer", "false")
	sentry := startProc(t, "sentry", "sleep", "60")
	ps := &podState{procs: []*proc{sentry, gofer}}
	if !gofer.waitExit(killTimeout) {
		t.Fatal("the gofer did not exit")
	}
	p, status := r.deathCause(ps, gofer)
	if p != gofer || status != "exit status 1" {
		t.Errorf("cause %s: %q, want the gofer's exit status 1", p.name, status)
	}
}

// A gofer that ends cleanly while its sentry keeps running is the cause.
func TestDeathCauseIsAGoferWhoseSentryLives(t *testing.T) {
	r := &Runtime{}
	gofer := startProc(t, "gofer", "true")
	sentry := startProc(t, "sentry", "sleep", "60")
	ps := &podState{procs: []*proc{sentry, gofer}}
	if !gofer.waitExit(killTimeout) {
		t.Fatal("the gofer did not exit")
	}
	p, status := r.deathCause(ps, gofer)
	if p != gofer || status != "exit status 0" {
		t.Errorf("cause %s: %q, want the gofer's exit status 0", p.name, status)
	}
}
