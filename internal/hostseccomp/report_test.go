//go:build amd64

package hostseccomp

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/caps"
)

const reporterChildEnv = "HOSTSECCOMP_REPORTER_CHILD"

// TestMain runs the reporter child: it allows every system call but
// getppid, reports refusals, and makes a getppid from a goroutine.
func TestMain(m *testing.M) {
	if os.Getenv(reporterChildEnv) != "" {
		reporterChild()
		return
	}
	os.Exit(m.Run())
}

func reporterChild() {
	var rules []Rule
	for nr := uint32(0); nr < 512; nr++ {
		if nr != unix.SYS_GETPPID {
			rules = append(rules, Allow(nr))
		}
	}
	f, err := Build(unix.AUDIT_ARCH_X86_64, rules, unix.SECCOMP_RET_TRAP)
	if err != nil {
		panic(err)
	}
	names := map[int]string{unix.SYS_GETPPID: "getppid"}
	if err := InstallReporter("reporter child", func(nr int) string { return names[nr] }); err != nil {
		panic(err)
	}
	if err := caps.AllThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	if err := Install(f); err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() {
		// Any thread of the process: the filter is on all of them.
		syscall.Getppid()
		close(done)
	}()
	<-done
	os.Stdout.WriteString("getppid returned\n")
	os.Exit(0)
}

// A refused call ends the process by SIGSYS after one line on stderr
// naming the call.
func TestReporterNamesTheCallAndKills(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), reporterChildEnv+"=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Fatalf("child ended with %v (want SIGSYS); stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
	want := "reporter child: host system call getppid (110) refused by the seccomp filter; exiting\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("the call returned: %q", stdout.String())
	}
}
