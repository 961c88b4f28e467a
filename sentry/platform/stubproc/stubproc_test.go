package stubproc

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStartConfines starts a program the way the platforms start their
// stubs and checks, while it is stopped at its first instruction, what the
// host says about it: not root, no capabilities in any set, and (where the
// host allows user namespaces) none of the sentry's namespaces.
func TestStartConfines(t *testing.T) {
	img, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true to run:", err)
	}
	mem, err := unix.MemfdCreate("stubproc-test-mem", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mem)
	// The tracer is this thread: it must stay the same one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, conf, err := Start(img, "stubproc-test", []int{mem})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WALL, nil)
	}()
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		t.Fatalf("stub did not stop at exec: %v %v", ws, err)
	}
	t.Logf("confinement: %v", conf)

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
		if fields[k] != "0000000000000000" {
			t.Errorf("%s = %s, want no capabilities", k, fields[k])
		}
	}
	if uid := strings.Fields(fields["Uid"]); os.Geteuid() == 0 && (len(uid) == 0 || uid[0] == "0" || uid[1] == "0") {
		t.Errorf("stub runs as uid %v: want an unprivileged user", uid)
	}
	if !conf.Namespaces {
		t.Logf("no namespaces on this host: %s", conf.Reason)
		return
	}
	for _, ns := range []string{"user", "mnt", "pid", "net", "ipc", "uts"} {
		own, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		its, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err != nil {
			t.Fatal(err)
		}
		if own == its {
			t.Errorf("stub shares the caller's %s namespace (%s)", ns, its)
		}
	}
}

// TestKeepOnlyMemFDsFallsBackToClose: without close_range, every descriptor
// the stub has but 0 is closed one at a time.
func TestKeepOnlyMemFDsFallsBackToClose(t *testing.T) {
	var closed []uintptr
	inject := func(nr uintptr, args ...uintptr) (uintptr, error) {
		switch nr {
		case unix.SYS_CLOSE_RANGE:
			return 0, unix.ENOSYS
		case unix.SYS_CLOSE:
			closed = append(closed, args[0])
			return 0, nil
		}
		return 0, unix.EINVAL
	}
	// This process stands for the stub: its descriptors are listed, and
	// the fake injector only records the closes.
	if err := KeepOnlyMemFDs(os.Getpid(), inject, 1); err != nil {
		t.Fatal(err)
	}
	for _, fd := range closed {
		if fd == 0 {
			t.Fatal("closed descriptor 0, the memory file")
		}
	}
	for _, fd := range []uintptr{1, 2} {
		if !slices.Contains(closed, fd) {
			t.Errorf("descriptor %d not closed; closed %v", fd, closed)
		}
	}
}
