package syscalls_test

import (
	"strings"
	"testing"
)

// TestSystemTimeOfContendedTasks runs cpu_time_contended's system-call
// form natively and on every platform: system time, the sentry's work for
// a task, is bounded by the host's count (the task's thread's CPU clock
// where tasks are locked to host threads, kvm and ptrace; the sentry's
// own clock, shared by all tasks, on systrap, where a task's sentry work
// runs on any host thread), so processes that wait for a CPU inside their
// system calls are not charged the wait.
func TestSystemTimeOfContendedTasks(t *testing.T) {
	p := findProgram(t, "cpu_time_contended")
	if msg := checkNative(p, run(p.bin, fixtureDir, "sys")); msg != "" {
		t.Fatalf("native: %s", msg)
	}
	<-cocoonDone
	if cocoonErr != nil {
		t.Fatalf("no cocoon binary (set COCOON_BIN to use a prebuilt one): %v", cocoonErr)
	}
	for _, platform := range []string{"kvm", "ptrace", "systrap"} {
		t.Run(platform, func(t *testing.T) {
			r := run(cocoonBin, "do", "--platform="+platform, "--", p.bin, fixtureDir, "sys")
			if strings.Contains(r.out, "platform unavailable") {
				t.Skipf("no %s platform here%s", platform, r.out)
			}
			if msg := checkSandbox(p, r); msg != "" {
				t.Errorf("%s%s", msg, r.out)
			}
		})
	}
}

// findProgram returns the compiled test program name.
func findProgram(t *testing.T, name string) *program {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	for _, p := range programs {
		if p.name == name {
			if p.buildErr != nil {
				t.Fatalf("build failed: %v", p.buildErr)
			}
			return p
		}
	}
	t.Fatalf("no test program %s", name)
	return nil
}
