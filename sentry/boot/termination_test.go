package boot

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTerminationSignalsAfterTheEndAreIgnored runs endOnTermination in a
// child process (a real signal's default action would end the test
// binary): once the relay is stopped, a termination signal, as cocoon do
// passes one on after the sentry got its own, must not end the process.
func TestTerminationSignalsAfterTheEndAreIgnored(t *testing.T) {
	if os.Getenv("BOOT_TERMINATION_HELPER") == "1" {
		_, stop := endOnTermination(nil)
		stop()
		for _, sig := range terminationSignals {
			if err := unix.Kill(os.Getpid(), sig.(unix.Signal)); err != nil {
				os.Exit(3)
			}
		}
		time.Sleep(100 * time.Millisecond) // delivery is asynchronous
		os.Exit(0)
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^TestTerminationSignalsAfterTheEndAreIgnored$")
	cmd.Env = append(os.Environ(), "BOOT_TERMINATION_HELPER=1")
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("the process ended on a termination signal after the relay stopped: %v", cmd.ProcessState)
	}
	if err != nil {
		t.Fatal(err)
	}
}
