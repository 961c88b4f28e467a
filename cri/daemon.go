package cri

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cocoonrt/cocoon/image"
	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/sandbox"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// NewImageService constructs the image store the daemon serves, from
// the configuration (cfg.Root, cfg.CertsDir). The returned Closer is
// closed when the daemon stops. It is set by the code that links the
// store in; while it is nil the daemon refuses to start with
// ErrNotWired.
var NewImageService func(cfg Config, log *slog.Logger) (image.Service, io.Closer, error)

// NewRuntime constructs the pod runtime the daemon serves, from the
// configuration (cfg.Root, cfg.RunDir, cfg.CgroupDriver) and the image
// service. The returned Closer (usually the Manager itself) is closed
// when the daemon stops: it lets go of the pods without stopping them,
// so that pods outlive the daemon. Set by the code that links the
// runtime in; while it is nil the daemon refuses to start with
// ErrRuntimeNotWired.
var NewRuntime func(cfg Config, images image.Service, log *slog.Logger) (podsandbox.Manager, io.Closer, error)

// ImportImage imports an image archive (a docker save / OCI layout
// tarball) into the store under cfg.Root: `cocoon image import FILE`.
// Set by the code that links the store in; while nil the command fails
// with ErrNotWired.
var ImportImage func(ctx context.Context, cfg Config, log *slog.Logger, file string) ([]*image.Image, error)

// ErrNotWired is the error of the daemon and of `cocoon image` when no
// image store is linked in (NewImageService or ImportImage is nil).
var ErrNotWired = errors.New("image service not wired: this build of cocoon has no image store")

// ErrRuntimeNotWired is the error of the daemon when no pod runtime is
// linked in (NewRuntime is nil).
var ErrRuntimeNotWired = errors.New("pod runtime not wired: this build of cocoon has no pod runtime")

// ShutdownTimeout is how long the daemon waits for RPCs in flight on
// SIGTERM/SIGINT before it cuts them off.
var ShutdownTimeout = 10 * time.Second

// Serve runs the daemon until ctx is done: it creates the state
// directory (0700), the run directory and the socket's directory,
// removes a stale socket (one nobody listens on), measures the sentry
// platforms (MeasurePlatforms) while it constructs the image service
// (NewImageService) and the pod runtime (NewRuntime), starts
// the streaming server on cfg.StreamAddress:cfg.StreamPort, listens on
// cfg.Socket (0660) and serves the CRI ImageService and RuntimeService.
// When ctx is done it stops gracefully (ShutdownTimeout, then hard),
// stops the streaming server, and closes the pod runtime (pods keep
// running) and the image service.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, version string) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if NewImageService == nil {
		return ErrNotWired
	}
	if NewRuntime == nil {
		return ErrRuntimeNotWired
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if fi, err := os.Stat(cfg.Root); err != nil {
		return fmt.Errorf("state directory: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("state directory %s is not a directory", cfg.Root)
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Socket), 0o750); err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	// Check the socket before the store is opened: a second daemon must
	// fail here, not block on the first one's database lock.
	if err := removeStaleSocket(cfg.Socket); err != nil {
		return err
	}
	// The platforms are measured once per daemon start (platforms.go),
	// while the stores open and the pods are recovered: every pod
	// created from now on runs on a platform resolved from this.
	measured := make(chan probe.Report, 1)
	go func() { measured <- MeasurePlatforms() }()

	images, closer, err := NewImageService(cfg, log)
	if err != nil {
		return fmt.Errorf("image service: %w", err)
	}
	if images == nil {
		return errors.New("image service: NewImageService returned no service")
	}
	defer func() {
		if closer != nil {
			if err := closer.Close(); err != nil {
				log.Error("closing the image service", "err", err)
			}
		}
	}()

	pods, podsCloser, err := NewRuntime(cfg, images, log)
	if err != nil {
		return fmt.Errorf("pod runtime: %w", err)
	}
	if pods == nil {
		return errors.New("pod runtime: NewRuntime returned no runtime")
	}
	// Deferred after the image service's close, so it runs before it:
	// the pod runtime may use the store until it is closed. Closing
	// never stops pods (Manager.Close lets go of them).
	defer func() {
		if podsCloser != nil {
			if err := podsCloser.Close(); err != nil {
				log.Error("closing the pod runtime", "err", err)
			}
		}
	}()

	platforms := <-measured
	log.Info("sentry platforms measured", append([]any{"configured", cfg.platform()}, platforms.LogAttrs()...)...)
	sandbox.AllowHostRootSentry(cfg.InsecureSentryHostRoot)
	if c := sandbox.Confinement(); !c.UserNamespaces {
		if c.Usable() {
			log.Warn("INSECURE: sentries run as host root without a user namespace (insecure_sentry_host_root)", "err", c.UserNamespaceError)
		} else {
			log.Error("the host refuses sentries a user namespace: pods will be refused; set insecure_sentry_host_root = true to run them as host root without capabilities", "err", c.UserNamespaceError)
		}
	}
	if err := platforms.Check(cfg.platform()); err != nil {
		log.Error("the configured platform cannot run here: pods of the default runtime handlers will be refused", "platform", cfg.platform(), "err", err)
	}
	srv := NewServer(images, pods, version, log, WithConfig(cfg), WithPlatforms(platforms))
	srv.layers = &layerJournal{dir: filepath.Join(cfg.Root, "cri-layers")}
	if err := srv.removeOrphanLayers(ctx); err != nil {
		// What is left is only disk space; the next start tries again.
		log.Error("removing writable layers of containers that no longer exist", "err", err)
	}
	sl, err := net.Listen("tcp", cfg.streamAddr())
	if err != nil {
		return fmt.Errorf("streaming server: %w", err)
	}
	stopStreaming, err := srv.StartStreaming(sl)
	if err != nil {
		sl.Close()
		return err
	}
	defer func() {
		if err := stopStreaming(); err != nil {
			log.Warn("stopping the streaming server", "err", err)
		}
	}()

	l, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(cfg.Socket, 0o660); err != nil {
		l.Close()
		return fmt.Errorf("socket: %w", err)
	}

	g := srv.NewGRPCServer()
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(l) }()
	log.Info("cocoon daemon serving", "socket", cfg.Socket, "root", cfg.Root, "run_dir", cfg.RunDir, "stream", sl.Addr().String(), "version", version)
	if err := sdNotify("READY=1"); err != nil {
		log.Warn("telling the service manager we are ready", "err", err)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; pods keep running", "reason", context.Cause(ctx))
	if err := sdNotify("STOPPING=1"); err != nil {
		log.Warn("telling the service manager we are stopping", "err", err)
	}
	srv.Shutdown()
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(ShutdownTimeout):
		log.Warn("RPCs still running after the shutdown timeout; stopping them", "timeout", ShutdownTimeout)
		g.Stop()
		<-done
	}
	<-errc
	// The listener unlinks the socket on close; make sure of it.
	if err := os.Remove(cfg.Socket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("removing the socket", "err", err)
	}
	log.Info("stopped")
	return nil
}

// removeStaleSocket removes path if it is a socket nobody listens on.
// A live socket or something that is not a socket is an error.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("socket %s exists and is not a socket; not removing it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("socket %s: another daemon is serving on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("socket %s exists and cannot be checked: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	return nil
}

// loadFlags parses the flags `cocoon daemon` and `cocoon image` share
// and returns the configuration they select: the file (--config or
// DefaultConfigPath), then the flags that override it.
func loadFlags(fset *flag.FlagSet, args []string, withSocket bool) (Config, error) {
	configPath := fset.String("config", "", "configuration file (default "+DefaultConfigPath+" when it exists)")
	root := fset.String("root", "", "state directory (default from the configuration, /var/lib/cocoon)")
	logLevel := fset.String("log-level", "", "log level: debug, info, warn, error")
	var socket *string
	if withSocket {
		socket = fset.String("socket", "", "CRI socket (default from the configuration, /run/cocoon/cocoon.sock)")
	}
	if err := fset.Parse(args); err != nil {
		return Config{}, err
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		return Config{}, err
	}
	if *root != "" {
		cfg.Root = *root
	}
	if socket != nil && *socket != "" {
		cfg.Socket = *socket
	}
	if *logLevel != "" {
		cfg.LogLevel = *logLevel
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	level, _ := cfg.Level()
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// DaemonMain is `cocoon daemon [--config FILE] [--socket PATH] [--root
// DIR] [--log-level LEVEL]`: it serves until SIGTERM or SIGINT and
// returns the exit code.
func DaemonMain(args []string, version string) int {
	fset := flag.NewFlagSet("cocoon daemon", flag.ContinueOnError)
	fset.Usage = func() {
		fmt.Fprintf(fset.Output(), "usage: cocoon daemon [--config FILE] [--socket PATH] [--root DIR] [--log-level LEVEL]\n\nServes the CRI (kubelet, crictl) on a unix socket.\n\n")
		fset.PrintDefaults()
	}
	cfg, err := loadFlags(fset, args, true)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocoon daemon: %v\n", err)
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "cocoon daemon: unexpected arguments %q\n", fset.Args())
		return 2
	}
	log := newLogger(cfg, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Serve(ctx, cfg, log, version); err != nil {
		fmt.Fprintf(os.Stderr, "cocoon daemon: %v\n", err)
		return 1
	}
	return 0
}

// ImageMain is `cocoon image import [--config FILE] [--root DIR] FILE`.
func ImageMain(args []string) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: cocoon image import [--config FILE] [--root DIR] ARCHIVE\n\nImports an image archive (docker save or OCI layout tarball) into the store.\n")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] != "import" {
		fmt.Fprintf(os.Stderr, "cocoon image: unknown command %q\n", args[0])
		usage(os.Stderr)
		return 2
	}
	fset := flag.NewFlagSet("cocoon image import", flag.ContinueOnError)
	fset.Usage = func() { usage(fset.Output()); fset.PrintDefaults() }
	cfg, err := loadFlags(fset, args[1:], false)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocoon image import: %v\n", err)
		return 2
	}
	if fset.NArg() != 1 {
		fmt.Fprintf(os.Stderr, "cocoon image import: want one archive, got %d arguments\n", fset.NArg())
		return 2
	}
	if ImportImage == nil {
		fmt.Fprintf(os.Stderr, "cocoon image import: %v\n", ErrNotWired)
		return 1
	}
	log := newLogger(cfg, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	imgs, err := ImportImage(ctx, cfg, log, fset.Arg(0))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocoon image import: %v\n", err)
		return 1
	}
	for _, img := range imgs {
		fmt.Println(img.ID, strings.Join(img.RepoTags, " "))
	}
	return 0
}
