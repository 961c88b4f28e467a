package systrap

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// onCPU0 runs f on a thread bound to CPU 0, so that the CPU the hints read
// cannot change under the test.
func onCPU0(t *testing.T, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatal(err)
	}
	one.Set(0)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Skipf("cannot bind to CPU 0: %v", err)
	}
	defer unix.SchedSetaffinity(0, &old)
	f()
}

func TestCPUHintIsTheCPU(t *testing.T) {
	checkCPUHints()
	if !cpuHints {
		t.Skip("this host keeps no CPU number in the per-CPU segment")
	}
	onCPU0(t, func() {
		if got, ok := segmentCPU(); !ok || got&cpuNumberMask != 0 {
			t.Fatalf("the segment's CPU on CPU 0 = %d, %v", got&cpuNumberMask, ok)
		}
	})
}

func TestSentryWaitsOn(t *testing.T) {
	checkCPUHints()
	if !cpuHints {
		t.Skip("this host keeps no CPU number in the per-CPU segment")
	}
	onCPU0(t, func() {
		msg := &sysmsg{StubCPU: noCPU, SentryCPU: noCPU}
		if sentryWaitsOn(msg) {
			t.Error("a stub that never waited shares the CPU")
		}
		if msg.SentryCPU != 0 {
			t.Errorf("SentryCPU = %d, want 0", msg.SentryCPU)
		}
		msg.StubCPU = 0
		if !sentryWaitsOn(msg) {
			t.Error("a stub that last waited on this CPU does not share it")
		}
		msg.StubCPU = 1
		if sentryWaitsOn(msg) {
			t.Error("a stub that last waited on CPU 1 shares CPU 0")
		}
	})
}

// withoutCPUHints turns the CPU hints off for a test of the spin itself:
// with them, a stub that finds the sentry thread last waiting on its own
// CPU (a loaded machine puts both on one) sleeps at once by design.
// Threads made afterwards keep SentryCPU at noCPU.
func withoutCPUHints(t *testing.T) {
	checkCPUHints()
	saved := cpuHints
	cpuHints = false
	t.Cleanup(func() { cpuHints = saved })
}
