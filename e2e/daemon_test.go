package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cocoonBin is `cocoon`, built from ./cmd/cocoon by TestMain.
var cocoonBin string

// notWired is what the daemon says when no image store is linked in
// (cri.ErrNotWired); the tests skip then.
const notWired = "image service not wired"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cocoon-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cocoonBin = filepath.Join(dir, "cocoon")
	if err := buildCocoon(cocoonBin); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building cocoon: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildCocoon(out string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gobin, "build", "-o", out, "./cmd/cocoon")
	cmd.Dir = ".." // the repository root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for a writer and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is a running `cocoon daemon` with CRI clients connected to it.
type daemon struct {
	t          *testing.T
	root, sock string
	runDir     string
	config     string
	cmd        *exec.Cmd
	stderr     *syncBuffer
	exited     chan struct{}
	waitErr    error

	img runtimeapi.ImageServiceClient
	rt  runtimeapi.RuntimeServiceClient
}

// newDaemonDirs returns a state dir and a socket path in temp dirs.
func newDaemonDirs(t *testing.T) (root, sock string) {
	dir := t.TempDir()
	return filepath.Join(dir, "root"), filepath.Join(dir, "run", "cocoon.sock")
}

// startDaemon starts `cocoon daemon` on root and sock, with a config
// file of its own (so nothing under /etc is read), and waits until it
// serves. It skips the test when the daemon has no image service.
func startDaemon(t *testing.T, root, sock string) *daemon {
	t.Helper()
	return startDaemonWith(t, root, sock, "")
}

// startDaemonWith is startDaemon with extra TOML (sections such as
// [cni]) appended to the daemon's configuration.
func startDaemonWith(t *testing.T, root, sock, extraConfig string) *daemon {
	t.Helper()
	cfgDir := t.TempDir()
	d := &daemon{t: t, root: root, sock: sock, config: filepath.Join(cfgDir, "config.toml"), stderr: &syncBuffer{}, exited: make(chan struct{})}
	// The runtime directory (pod sockets, rootfs mounts) is named after
	// the root, so a restarted daemon on the same root finds it.
	runDir := shortRunDir(t, root)
	d.runDir = runDir
	cfg := fmt.Sprintf("root = %q\nsocket = %q\ncerts_dir = %q\nrun_dir = %q\nlog_level = \"debug\"\n", root, sock, filepath.Join(cfgDir, "certs.d"), runDir)
	// COCOON_E2E_CONFIG is top-level TOML every daemon of the run gets,
	// to measure a setting (make bench, cpu_placement = "kernel").
	cfg += os.Getenv("COCOON_E2E_CONFIG") + "\n"
	if extraConfig != "" {
		cfg += "\n" + extraConfig
	}
	if err := os.WriteFile(d.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(cocoonBin, "daemon", "--config", d.config, "--root", root, "--socket", sock)
	d.cmd.Stdout = d.stderr
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.waitErr = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("cocoon daemon output:\n%s", d.stderr.String())
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-d.exited:
			out := d.stderr.String()
			if strings.Contains(out, notWired) {
				t.Skipf("cocoon daemon has no image store yet: %s", lastLine(out))
			}
			t.Fatalf("cocoon daemon exited (%v):\n%s", d.waitErr, out)
		default:
		}
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cocoon daemon did not listen on %s within a minute:\n%s", sock, d.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.img = runtimeapi.NewImageServiceClient(conn)
	d.rt = runtimeapi.NewRuntimeServiceClient(conn)
	v, err := d.rt.Version(ctx(t), &runtimeapi.VersionRequest{})
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if v.RuntimeName != "cocoon" || v.RuntimeApiVersion != "v1" {
		t.Fatalf("Version = %v", v)
	}
	return d
}

// stop sends SIGTERM and waits for the daemon to exit; it must exit 0
// and remove its socket.
func (d *daemon) stop() {
	d.t.Helper()
	select {
	case <-d.exited:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		d.t.Errorf("cocoon daemon did not stop within 30s of SIGTERM")
		return
	}
	if d.waitErr != nil {
		d.t.Errorf("cocoon daemon exited with %v after SIGTERM", d.waitErr)
	}
	if _, err := os.Lstat(d.sock); !errors.Is(err, os.ErrNotExist) {
		d.t.Errorf("socket %s left after shutdown (%v)", d.sock, err)
	}
}

// shortRunDir returns /tmp/cocoon-run-<hash of root>, removed when the
// test ends.
func shortRunDir(t *testing.T, root string) string {
	dir := fmt.Sprintf("/tmp/cocoon-run-%08x", crc32.ChecksumIEEE([]byte(root)))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}
