package podsandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// streamPair returns the two ends of a unix stream socket: the test's
// and the one PortForward copies to (a halfCloser).
func streamPair(t *testing.T) (mine, theirs *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// forwardOnce runs PortForward on a fresh stream pair in the background
// and returns the test's end and PortForward's result.
func forwardOnce(ctx context.Context, t *testing.T, r *Runtime, podID string, port int32) (*net.UnixConn, <-chan error) {
	t.Helper()
	mine, theirs := streamPair(t)
	done := make(chan error, 1)
	go func() {
		err := r.PortForward(ctx, podID, port, theirs)
		theirs.Close()
		done <- err
	}()
	return mine, done
}

func waitErr(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: PortForward did not return", what)
		return nil
	}
}

func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// eventually polls cond for up to 10 seconds.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// A forward reaches a TCP server inside the pod's network (busybox nc
// echoing through cat, on the sandbox's own stack), carries data both
// ways with half-close semantics, reports a closed port clearly, and
// leaves no descriptor or goroutine behind.
func TestPortForward(t *testing.T) {
	e := newEnv(t)
	r := e.runtime()
	lower := busyboxLower(t)
	for _, l := range []string{"nc"} {
		if err := os.Symlink("busybox", filepath.Join(lower, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	pod := mustRunPod(t, r, podConfig("portfwd"))
	// -ll: serve connection after connection, each by a new cat.
	startContainer(t, r, e.ctrConfig(pod, lower, "echo", "nc", "-ll", "-p", "8080", "-e", "cat"))
	// A server that neither reads nor writes nor closes.
	startContainer(t, r, e.ctrConfig(pod, lower, "silent", "nc", "-ll", "-p", "8081", "-e", "sleep", "1000"))
	ctx := context.Background()
	podID := pod.Config.ID

	// Wait until the servers listen: a forward is made (and then
	// abandoned) rather than refused.
	for _, port := range []int32{8080, 8081} {
		var lastErr error
		if !eventually(func() bool {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			c, done := forwardOnce(pctx, t, r, podID, port)
			defer c.Close()
			lastErr = waitErr(t, done, "probe")
			return !errors.Is(lastErr, ErrNotFound)
		}) {
			t.Fatalf("port %d never answered: %v", port, lastErr)
		}
	}
	sentryFDs := fdCount(t, pod.SentryPID)
	goroutines := runtime.NumGoroutine()

	// A small round trip: the client's end of file reaches cat, whose
	// exit closes the connection, which ends the forward.
	c, done := forwardOnce(ctx, t, r, podID, 8080)
	if _, err := c.Write([]byte("hello through the stack\n")); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "hello through the stack\n" {
		t.Errorf("echo: %q, %v", got, err)
	}
	if err := waitErr(t, done, "echo"); err != nil {
		t.Errorf("PortForward: %v", err)
	}

	// A megabyte both ways at once.
	big := make([]byte, 1<<20)
	rand.Read(big)
	c, done = forwardOnce(ctx, t, r, podID, 8080)
	go func() {
		c.Write(big)
		c.CloseWrite()
	}()
	got, err = io.ReadAll(c)
	c.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("1 MiB echo: got %d bytes (equal %v), %v", len(got), bytes.Equal(got, big), err)
	}
	if err := waitErr(t, done, "1 MiB echo"); err != nil {
		t.Errorf("PortForward: %v", err)
	}

	// Several forwards at once.
	var conns []*net.UnixConn
	var dones []<-chan error
	for range 5 {
		c, done := forwardOnce(ctx, t, r, podID, 8080)
		conns, dones = append(conns, c), append(dones, done)
	}
	for i, c := range conns {
		msg := []byte(strings.Repeat(string(rune('a'+i)), 1000))
		c.Write(msg)
		c.CloseWrite()
		got, _ := io.ReadAll(c)
		c.Close()
		if !bytes.Equal(got, msg) {
			t.Errorf("concurrent forward %d: %d bytes back", i, len(got))
		}
		if err := waitErr(t, dones[i], "concurrent"); err != nil {
			t.Errorf("concurrent forward %d: %v", i, err)
		}
	}

	// The caller giving up (ctx) ends a forward to a server that never
	// answers; the sentry sees the daemon hang up and drops its side.
	cctx, cancel := context.WithCancel(ctx)
	c, done = forwardOnce(cctx, t, r, podID, 8081)
	c.Write([]byte("anyone?"))
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := waitErr(t, done, "cancelled"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled forward: %v", err)
	}
	c.Close()

	// A server that ignores the client's end of file: the forward ends
	// halfCloseLinger after it, without error.
	defer func(d time.Duration) { halfCloseLinger = d }(halfCloseLinger)
	halfCloseLinger = 300 * time.Millisecond
	c, done = forwardOnce(ctx, t, r, podID, 8081)
	c.Write([]byte("anyone?"))
	c.CloseWrite()
	if err := waitErr(t, done, "lingering"); err != nil {
		t.Errorf("lingering forward: %v", err)
	}
	c.Close()

	// Nothing listens on 8082: a clear error, ErrNotFound.
	c, done = forwardOnce(ctx, t, r, podID, 8082)
	err = waitErr(t, done, "closed port")
	c.Close()
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nothing listens on port 8082") {
		t.Errorf("closed port: %v", err)
	}
	for _, port := range []int32{0, -1, 65536} {
		c, done = forwardOnce(ctx, t, r, podID, port)
		if err := waitErr(t, done, "bad port"); !errors.Is(err, ErrInvalid) {
			t.Errorf("port %d: %v, want ErrInvalid", port, err)
		}
		c.Close()
	}
	c, done = forwardOnce(ctx, t, r, randID(), 8080)
	if err := waitErr(t, done, "no pod"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing pod: %v", err)
	}
	c.Close()

	// No leaks: the sentry's descriptors and the daemon's goroutines
	// come back to what they were.
	if !eventually(func() bool { return fdCount(t, pod.SentryPID) <= sentryFDs }) {
		t.Errorf("the sentry has %d descriptors, %d before the forwards", fdCount(t, pod.SentryPID), sentryFDs)
	}
	if !eventually(func() bool { return runtime.NumGoroutine() <= goroutines }) {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, %d before the forwards:\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
	}

	// A stopped pod is ErrState.
	if err := r.StopPod(ctx, podID); err != nil {
		t.Fatal(err)
	}
	c, done = forwardOnce(ctx, t, r, podID, 8080)
	if err := waitErr(t, done, "stopped pod"); !errors.Is(err, ErrState) {
		t.Errorf("stopped pod: %v, want ErrState", err)
	}
	c.Close()
}
