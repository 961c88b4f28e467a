package podsandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// The tests run real pods: the cocoon binary (built once per test
// binary), a busybox root file system, and, as root, overlay mounts and
// cgroups.

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// needRoot skips a test that needs root and returns the cocoon binary.
func needRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (overlay mounts, cgroups, pod sandboxes)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (Debian busybox-static)")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "cocoon-podsandbox-bin-")
		if binErr == nil {
			// The sentry execs it from a user namespace in which the
			// directory's owner is nobody: 0700 would refuse it.
			binErr = os.Chmod(binDir, 0o755)
		}
		if binErr == nil {
			binPath, binErr = buildCocoon(binDir)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// testEnv is one runtime's directories, reusable by a second runtime
// (restart tests).
type testEnv struct {
	t        *testing.T
	exe      string
	state    string
	run      string
	logs     string
	cgParent string
	driver   string
	// network, when set, is the runtimes' pod network (network_test.go);
	// leases then lists the IPs it has handed out.
	network Network
	leases  func() []string
	// hostLayer is the runtimes' Options.HostLayer.
	hostLayer bool
}

func newEnv(t *testing.T) *testEnv {
	exe := needRoot(t)
	// A deep run dir on purpose: a pod's socket paths
	// (<run>/pods/<64 hex>/control.sock) then exceed sun_path's 108
	// bytes, which the runtime must handle (internal/sockpath).
	top, err := os.MkdirTemp("/tmp", "cr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	run := filepath.Join(top, "a-run-directory-deep-enough-to-push-socket-paths-past-sun-path")
	e := &testEnv{t: t, exe: exe, state: t.TempDir(), run: run, logs: t.TempDir(), driver: cgroupDriverForTests()}
	if e.driver != "none" {
		e.cgParent = "/cocoon-test-" + randID()[:8]
		t.Cleanup(func() {
			for _, d := range e.cgroupParents() {
				os.Remove(d)
			}
		})
	}
	return e
}

// cgroupParents are the test's parent cgroup directories, one per
// hierarchy (v1) or the one (v2), that exist.
func (e *testEnv) cgroupParents() []string {
	if e.cgParent == "" {
		return nil
	}
	var out []string
	cands, _ := filepath.Glob("/sys/fs/cgroup/*")
	cands = append(cands, "/sys/fs/cgroup")
	for _, h := range cands {
		d := filepath.Join(h, e.cgParent)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// cgroupDriverForTests is "cgroupfs" when the cgroup package works here.
func cgroupDriverForTests() string {
	if os.Getenv("COCOON_TEST_NO_CGROUP") != "" {
		return "none"
	}
	return "cgroupfs"
}

func (e *testEnv) open() *Runtime {
	e.t.Helper()
	r, err := New(Options{
		StateDir:     e.state,
		RunDir:       e.run,
		Exe:          e.exe,
		CgroupDriver: e.driver,
		CgroupParent: e.cgParent,
		HostLayer:    e.hostLayer,
		Platform:     os.Getenv("COCOON_TEST_PLATFORM"),
		Log:          slog.New(slog.NewTextHandler(testLogWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Network:      e.network,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// runtime opens a runtime that removes its pods when the test ends.
func (e *testEnv) runtime() *Runtime {
	r := e.open()
	e.t.Cleanup(func() {
		ctx := context.Background()
		pods, _ := r.Pods(ctx)
		for _, p := range pods {
			if err := r.RemovePod(ctx, p.Config.ID); err != nil {
				e.t.Errorf("cleanup: %v", err)
			}
		}
		r.Close()
	})
	return r
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func randID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func podConfig(name string) PodConfig {
	return PodConfig{
		ID:        randID(),
		Name:      name,
		Hostname:  name,
		Namespace: "default",
		UID:       "uid-" + name,
		DNS:       &DNS{Servers: []string{"10.0.0.10"}, Searches: []string{"default.svc.cluster.local"}, Options: []string{"ndots:5"}},
	}
}

// busyboxLower makes a root file system holding busybox and a few
// links to it.
func busyboxLower(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"bin", "etc", "tmp", "proc", "dev", "sys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "echo", "cat", "sleep", "ls", "true", "hostname", "mount", "wc"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rootfs is a lower dir with a fresh upper and work dir.
func rootfs(t *testing.T, lower string) Rootfs {
	t.Helper()
	d := t.TempDir()
	up, wk := filepath.Join(d, "upper"), filepath.Join(d, "work")
	for _, p := range []string{up, wk} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Rootfs{LowerDirs: []string{lower}, Upper: up, Work: wk}
}

func (e *testEnv) ctrConfig(pod *Pod, lower, name string, args ...string) ContainerConfig {
	return ContainerConfig{
		ID:      randID(),
		PodID:   pod.Config.ID,
		Name:    name,
		LogPath: filepath.Join(e.logs, pod.Config.ID[:8], name+".log"),
		Rootfs:  rootfs(e.t, lower),
		Process: control.Process{Args: args, Env: []string{"PATH=/bin"}},
	}
}

func mustRunPod(t *testing.T, r *Runtime, cfg PodConfig) *Pod {
	t.Helper()
	p, err := r.RunPod(context.Background(), cfg)
	if err != nil {
		t.Fatalf("RunPod: %v", err)
	}
	if p.State != PodReady {
		t.Fatalf("pod state %s, want ready", p.State)
	}
	return p
}

// startContainer creates and starts a container.
func startContainer(t *testing.T, r *Runtime, cfg ContainerConfig) *Container {
	t.Helper()
	ctx := context.Background()
	c, err := r.CreateContainer(ctx, cfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := r.StartContainer(ctx, c.Config.ID); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return c
}

// waitExited polls until the container exits.
func waitExited(t *testing.T, r *Runtime, id string, timeout time.Duration) *Container {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := r.Container(context.Background(), id)
		if err != nil {
			t.Fatalf("Container: %v", err)
		}
		if c.State == ContainerExited {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still %s after %v", id, c.State, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPod polls until the pod reaches state.
func waitPod(t *testing.T, r *Runtime, id string, state PodState, timeout time.Duration) *Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p, err := r.Pod(context.Background(), id)
		if err != nil {
			t.Fatalf("Pod: %v", err)
		}
		if p.State == state {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s still %s after %v", id, p.State, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exec runs a command and returns its output and exit code.
func execIn(t *testing.T, r *Runtime, id string, stdin string, args ...string) (string, string, int32) {
	t.Helper()
	var out, errb bytes.Buffer
	cfg := ExecConfig{ContainerID: id, Process: control.Process{Args: args, Env: []string{"PATH=/bin"}}, Stdout: &out, Stderr: &errb}
	if stdin != "" {
		cfg.Process.Stdin = true
		cfg.Stdin = strings.NewReader(stdin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := r.Exec(ctx, cfg)
	if err != nil {
		t.Fatalf("Exec %q: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// logLines reads a CRI log file as (stream, tag, text) triples,
// checking each line's timestamp.
func logLines(t *testing.T, path string) [][3]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][3]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) != 4 {
			t.Fatalf("log line %q: want TIMESTAMP STREAM TAG TEXT", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, parts[0]); err != nil {
			t.Fatalf("log line %q: timestamp: %v", sc.Text(), err)
		}
		out = append(out, [3]string{parts[1], parts[2], parts[3]})
	}
	return out
}

// leftovers describes what of the runtime's pods exists on the host:
// cocoon processes, mounts under the run dir (network namespaces among
// them), cgroup directories, files under the run and state dirs (the
// database aside), and the pod network's IP leases.
func (e *testEnv) leftovers() []string {
	var out []string
	if e.leases != nil {
		for _, ip := range e.leases() {
			out = append(out, "ip lease "+ip)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if target, err := os.Readlink(p); err == nil && (target == e.exe || target == e.exe+" (deleted)") {
			// Other packages' tests run the same binary at the same
			// time (go test ./... runs packages in parallel): with a
			// cgroup driver, count only processes in this test's
			// cgroup parent.
			if e.driver != "none" {
				cg, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cgroup"))
				if !strings.Contains(string(cg), e.cgParent+"/") {
					continue
				}
			}
			cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
			out = append(out, fmt.Sprintf("process %s: %q", filepath.Base(filepath.Dir(p)), bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		}
	}
	mps, _ := mountsUnder(e.run)
	for _, m := range mps {
		out = append(out, "mount "+m)
	}
	for _, d := range e.cgroupParents() {
		ents, _ := os.ReadDir(d)
		for _, ent := range ents {
			if ent.IsDir() {
				out = append(out, "cgroup "+filepath.Join(d, ent.Name()))
			}
		}
	}
	for _, root := range []string{e.run, e.state} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Base(p) == "pods.db" {
				return nil
			}
			out = append(out, "file "+p)
			return nil
		})
	}
	return out
}

// readAll reads a file or fails.
func readAll(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

var _ = io.Discard

// buildCocoon returns the binary $COCOON_BIN names, or builds one into
// dir (as test/internal/cocoonbin does, which this package may not
// import).
func buildCocoon(dir string) (string, error) {
	if p := os.Getenv("COCOON_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	bin := filepath.Join(dir, "cocoon")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cocoon")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cocoon: %v\n%s", err, out)
	}
	return bin, nil
}
