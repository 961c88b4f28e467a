package cri

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
	"github.com/cocoonrt/cocoon/podsandbox"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Socket != "/run/cocoon/cocoon.sock" || c.Root != "/var/lib/cocoon" || c.CertsDir != "/etc/cocoon/certs.d" || c.LogLevel != "info" {
		t.Errorf("defaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte("root = \"/srv/cocoon\"\nlog_level = \"debug\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != "/srv/cocoon" || c.LogLevel != "debug" || c.Socket != DefaultConfig().Socket || c.CertsDir != DefaultConfig().CertsDir {
		t.Errorf("config = %+v", c)
	}
	if l, _ := c.Level(); l != slog.LevelDebug {
		t.Errorf("level %v", l)
	}

	for _, tt := range []struct{ in, want string }{
		{"root = \"/x\"\nsockett = \"/y\"\n", `unknown key "sockett" (line 2)`},
		{"[image]\nmirrors = 1\n", `unknown key "image`},
		{"log_level = \"loud\"\n", `log_level "loud"`},
		{"root = \"\"\n", "root must not be empty"},
		{"root = \n", "line 1"},
		{"root = 3\n", "line 1 column 8"},
	} {
		_, err := ParseConfig([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("an explicit config file that is missing is not an error")
	}
	p := filepath.Join(dir, "config.toml")
	os.WriteFile(p, []byte("socket = \"/tmp/x.sock\"\n"), 0o644)
	c, err := LoadConfig(p)
	if err != nil || c.Socket != "/tmp/x.sock" {
		t.Errorf("LoadConfig = %+v, %v", c, err)
	}
	os.WriteFile(p, []byte("bogus = 1\n"), 0o644)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("LoadConfig with an unknown key = %v", err)
	}
	if _, err := os.Stat(DefaultConfigPath); errors.Is(err, os.ErrNotExist) {
		c, err := LoadConfig("")
		if err != nil || !reflect.DeepEqual(c, DefaultConfig()) {
			t.Errorf("LoadConfig(\"\") without %s = %+v, %v", DefaultConfigPath, c, err)
		}
	}
}

func TestLoadFlags(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	os.WriteFile(p, []byte("root = \"/from/file\"\nsocket = \"/from/file.sock\"\n"), 0o644)
	fset := flag.NewFlagSet("t", flag.ContinueOnError)
	c, err := loadFlags(fset, []string{"--config", p, "--socket", "/flag.sock", "-log-level=warn"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != "/from/file" || c.Socket != "/flag.sock" || c.LogLevel != "warn" {
		t.Errorf("config = %+v", c)
	}
	fset = flag.NewFlagSet("t", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	if _, err := loadFlags(fset, []string{"--config", p, "--socket", "/x"}, false); err == nil {
		t.Error("cocoon image accepted --socket")
	}
}

type closeCounter struct{ n atomic.Int32 }

func (c *closeCounter) Close() error { c.n.Add(1); return nil }

// withImageService sets NewImageService for one test.
func withImageService(t *testing.T, f func(Config, *slog.Logger) (image.Service, io.Closer, error)) {
	old := NewImageService
	NewImageService = f
	t.Cleanup(func() { NewImageService = old })
}

// withRuntime sets NewRuntime for one test.
func withRuntime(t *testing.T, f func(Config, image.Service, *slog.Logger) (podsandbox.Manager, io.Closer, error)) {
	old := NewRuntime
	NewRuntime = f
	t.Cleanup(func() { NewRuntime = old })
}

// testConfig is a configuration under a temp dir, with NewRuntime set
// to a fake pod runtime for the test (the last one is in lastPods).
func testConfig(t *testing.T) Config {
	dir := t.TempDir()
	c := DefaultConfig()
	c.Root = filepath.Join(dir, "state", "root")
	c.RunDir = filepath.Join(dir, "rundir")
	c.Socket = filepath.Join(dir, "run", "cocoon.sock")
	c.CertsDir = filepath.Join(dir, "certs.d")
	withRuntime(t, func(Config, image.Service, *slog.Logger) (podsandbox.Manager, io.Closer, error) {
		p := newFakePods()
		lastPods.Store(p)
		return p, p, nil
	})
	return c
}

var lastPods atomic.Pointer[fakePods]

func TestServeNotWired(t *testing.T) {
	withImageService(t, nil)
	err := Serve(context.Background(), testConfig(t), nil, "v")
	if !errors.Is(err, ErrNotWired) || !strings.Contains(err.Error(), "image service not wired") {
		t.Errorf("Serve without an image service = %v", err)
	}
}

func TestServeFactoryError(t *testing.T) {
	withImageService(t, func(Config, *slog.Logger) (image.Service, io.Closer, error) {
		return nil, nil, errors.New("database locked")
	})
	cfg := testConfig(t)
	err := Serve(context.Background(), cfg, nil, "v")
	if err == nil || !strings.Contains(err.Error(), "database locked") {
		t.Errorf("Serve = %v", err)
	}
	if _, err := os.Lstat(cfg.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind after a failed start: %v", err)
	}
}

// startServe runs Serve in the background and waits for its socket.
func startServe(t *testing.T, cfg Config) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "v-serve") }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("unix", cfg.Socket); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("Serve exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the daemon did not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var stopped bool
	var serr error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			serr = <-errc
		}
		return serr
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestServe(t *testing.T) {
	f := newFake()
	bb, _ := testImages()
	f.images[bb.ID] = bb
	closer := &closeCounter{}
	gotCfg := make(chan Config, 1)
	withImageService(t, func(c Config, _ *slog.Logger) (image.Service, io.Closer, error) {
		gotCfg <- c
		return f, closer, nil
	})
	cfg := testConfig(t)
	// A stale socket: bound, then nobody listens.
	os.MkdirAll(filepath.Dir(cfg.Socket), 0o755)
	l, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()

	stop := startServe(t, cfg)
	if got := <-gotCfg; !reflect.DeepEqual(got, cfg) {
		t.Errorf("NewImageService got %+v, want %+v", got, cfg)
	}
	fi, err := os.Stat(cfg.Root)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(cfg.Socket)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket: %v %v", fi.Mode(), err)
	}

	conn := dial(t, cfg.Socket)
	ctx := ctxT(t)
	v, err := runtimeapi.NewRuntimeServiceClient(conn).Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || v.RuntimeVersion != "v-serve" {
		t.Errorf("Version = %v, %v", v, err)
	}
	list, err := runtimeapi.NewImageServiceClient(conn).ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil || len(list.Images) != 1 {
		t.Errorf("ListImages = %v, %v", list, err)
	}

	// A second daemon on the same socket refuses to start, and leaves
	// the first one's socket alone.
	err = Serve(context.Background(), cfg, nil, "v")
	if err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("second Serve = %v", err)
	}
	if _, err := runtimeapi.NewRuntimeServiceClient(conn).Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Errorf("first daemon after the second one's try: %v", err)
	}

	if err := stop(); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if closer.n.Load() != 1 {
		t.Errorf("image service closed %d times", closer.n.Load())
	}
	// The pod runtime is closed, and no pod is stopped: pods outlive
	// the daemon.
	if p := lastPods.Load(); p == nil || p.closed != 1 || p.stopPodCalls != 0 {
		t.Errorf("pod runtime after shutdown: %+v", p)
	}
	if fi, err := os.Stat(cfg.RunDir); err != nil || !fi.IsDir() {
		t.Errorf("run dir: %v", err)
	}
	if _, err := os.Lstat(cfg.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}
}

// Shutdown waits for a pull in flight, up to ShutdownTimeout, then
// cuts it off.
func TestServeShutdownTimeout(t *testing.T) {
	f := newFake()
	f.block = true
	withImageService(t, func(Config, *slog.Logger) (image.Service, io.Closer, error) { return f, nil, nil })
	old := ShutdownTimeout
	ShutdownTimeout = 300 * time.Millisecond
	t.Cleanup(func() { ShutdownTimeout = old })
	cfg := testConfig(t)
	stop := startServe(t, cfg)
	conn := dial(t, cfg.Socket)
	errc := make(chan error, 1)
	go func() {
		_, err := runtimeapi.NewImageServiceClient(conn).PullImage(ctxT(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "slow"}})
		errc <- err
	}()
	<-f.blocked
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Error("the pull in flight succeeded")
	}
}

func TestServeSocketIsNotASocket(t *testing.T) {
	withImageService(t, func(Config, *slog.Logger) (image.Service, io.Closer, error) { return newFake(), nil, nil })
	cfg := testConfig(t)
	os.MkdirAll(filepath.Dir(cfg.Socket), 0o755)
	os.WriteFile(cfg.Socket, []byte("precious"), 0o644)
	err := Serve(context.Background(), cfg, nil, "v")
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Serve = %v", err)
	}
	if b, _ := os.ReadFile(cfg.Socket); string(b) != "precious" {
		t.Error("a file in the socket's place was removed")
	}
}

func TestServeRuntimeNotWired(t *testing.T) {
	withImageService(t, func(Config, *slog.Logger) (image.Service, io.Closer, error) { return newFake(), nil, nil })
	cfg := testConfig(t)
	withRuntime(t, nil)
	err := Serve(context.Background(), cfg, nil, "v")
	if !errors.Is(err, ErrRuntimeNotWired) {
		t.Errorf("Serve without a pod runtime = %v", err)
	}
}

func TestServeRuntimeError(t *testing.T) {
	closer := &closeCounter{}
	withImageService(t, func(Config, *slog.Logger) (image.Service, io.Closer, error) { return newFake(), closer, nil })
	cfg := testConfig(t)
	var gotImages image.Service
	withRuntime(t, func(_ Config, imgs image.Service, _ *slog.Logger) (podsandbox.Manager, io.Closer, error) {
		gotImages = imgs
		return nil, nil, errors.New("state database locked")
	})
	err := Serve(context.Background(), cfg, nil, "v")
	if err == nil || !strings.Contains(err.Error(), "pod runtime: state database locked") {
		t.Errorf("Serve = %v", err)
	}
	if gotImages == nil || closer.n.Load() != 1 {
		t.Errorf("the runtime got images %v; image service closed %d times", gotImages, closer.n.Load())
	}
}

// The daemon serves pods and the streaming server; an events stream in
// progress does not hold up the shutdown.
func TestServeRuntime(t *testing.T) {
	withImageService(t, func(Config, *slog.Logger) (image.Service, io.Closer, error) { return newFake(), nil, nil })
	cfg := testConfig(t)
	old := ShutdownTimeout
	ShutdownTimeout = time.Minute
	t.Cleanup(func() { ShutdownTimeout = old })
	stop := startServe(t, cfg)
	conn := dial(t, cfg.Socket)
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	ctx := ctxT(t)
	pod, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("served")})
	if err != nil {
		t.Fatal(err)
	}
	p := lastPods.Load()
	p.with(func() {
		p.ctrs["c1"] = &podsandbox.Container{Config: podsandbox.ContainerConfig{ID: "c1", PodID: pod.PodSandboxId}, State: podsandbox.ContainerRunning}
	})
	ex, err := rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: "c1", Cmd: []string{"sh"}, Stdout: true})
	if err != nil || !strings.HasPrefix(ex.Url, "http://127.0.0.1:") || strings.HasPrefix(ex.Url, "http://127.0.0.1:0/") {
		t.Errorf("Exec = %v, %v", ex, err)
	}
	events, err := rt.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for p.subscribers() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if _, err := events.Recv(); err == nil {
		t.Error("the events stream outlived the daemon")
	}
	if p.closed != 1 || p.stopPodCalls != 0 {
		t.Errorf("closed %d, StopPod called %d times", p.closed, p.stopPodCalls)
	}
}

func TestParseConfigRuntimeKeys(t *testing.T) {
	d := DefaultConfig()
	if d.RunDir != "/run/cocoon" || d.CgroupDriver != "cgroupfs" || d.StreamAddress != "127.0.0.1" || d.StreamPort != "0" || d.DefaultMemoryBytes != 0 || d.CPUPlacement != "consolidate" {
		t.Errorf("defaults %+v", d)
	}
	c, err := ParseConfig([]byte("run_dir = \"/run/x\"\ncgroup_driver = \"systemd\"\nstream_address = \"0.0.0.0\"\nstream_port = \"10010\"\ndefault_memory_bytes = 1073741824\ncpu_placement = \"kernel\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.RunDir != "/run/x" || c.CgroupDriver != "systemd" || c.streamAddr() != "0.0.0.0:10010" || c.DefaultMemoryBytes != 1<<30 || c.CPUPlacement != "kernel" {
		t.Errorf("config %+v", c)
	}
	for in, want := range map[string]string{
		"cgroup_driver = \"cgroupv2\"\n": `cgroup_driver "cgroupv2"`,
		"stream_port = \"http\"\n":       `stream_port "http"`,
		"stream_port = \"70000\"\n":      `stream_port "70000"`,
		"run_dir = \"\"\n":               "run_dir must not be empty",
		"default_memory_bytes = -1\n":    "default_memory_bytes",
		"cpu_placement = \"pin\"\n":      `cpu_placement "pin"`,
	} {
		if _, err := ParseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%q) = %v, want %q", in, err, want)
		}
	}
}
