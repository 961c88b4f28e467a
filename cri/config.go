package cri

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// DefaultConfigPath is where the daemon looks for its configuration
// when no --config is given. A missing file there means the defaults.
const DefaultConfigPath = "/etc/cocoon/config.toml"

// Config is the daemon's configuration: /etc/cocoon/config.toml, or the
// embedded defaults (DefaultConfig) when there is none. Keys the file
// sets replace the defaults; an unknown key is an error.
type Config struct {
	// Socket is the unix socket the CRI gRPC services listen on.
	Socket string `toml:"socket"`
	// Root is the state directory: the image store, the state
	// database, snapshots.
	Root string `toml:"root"`
	// CertsDir holds per-registry TLS and mirror configuration
	// (certs.d/HOST[:PORT]/...), as containerd lays it out.
	CertsDir string `toml:"certs_dir"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `toml:"log_level"`
	// RunDir holds the pods' runtime files (control sockets, pod
	// directories); it does not survive a reboot, as pods do not.
	RunDir string `toml:"run_dir"`
	// CgroupDriver is how kubelet names cgroups: "cgroupfs" (paths) or
	// "systemd" (slices). RuntimeConfig reports it to kubelet.
	CgroupDriver string `toml:"cgroup_driver"`
	// WritableLayer is where a container root's writes go: "store" (the
	// sandbox keeps the layer's files, their data in a file of the pod's
	// state directory) or "host" (the upper directory of the host
	// overlayfs the gofer serves).
	WritableLayer string `toml:"writable_layer"`
	// StreamAddress and StreamPort are where the streaming server
	// (exec, attach, port-forward) listens; port "0" picks any free
	// port. Keep the address on loopback unless kubelet's API server
	// connection needs otherwise: the URLs carry one-time tokens only.
	StreamAddress string `toml:"stream_address"`
	StreamPort    string `toml:"stream_port"`
	// DefaultMemoryBytes is the memory limit of a pod that asks for
	// none (it also sizes the sentry's memory); 0 leaves the choice to
	// the pod runtime.
	DefaultMemoryBytes int64 `toml:"default_memory_bytes"`
	// Platform is the sentry platform of pods created with the default
	// runtime handlers ("" and "cocoon"): "auto" (the fastest that
	// works here, measured at start-up), "kvm", "systrap" or "ptrace".
	// The handlers "cocoon-kvm", "cocoon-systrap" and "cocoon-ptrace"
	// force one whatever this says (platforms.go).
	Platform string `toml:"platform"`
	// InsecureSentryHostRoot lets pods start on a host that refuses
	// the sentry a user namespace: their sentries then run as host
	// root, without capabilities but otherwise confined. Without it
	// such a host runs no pods (Status says why).
	InsecureSentryHostRoot bool `toml:"insecure_sentry_host_root"`
	// CPUPlacement is where pods' threads run: "consolidate" (each
	// pod's threads share one CPU of those its cpuset allows, and are
	// spread only while parallel application code fills it; see
	// podsandbox/placement) or "kernel" (left to the kernel's
	// scheduler).
	CPUPlacement string `toml:"cpu_placement"`
	// CNI is the pod network ([cni]).
	CNI CNIConfig `toml:"cni"`
}

// CNIConfig locates the CNI network configuration and plugins.
type CNIConfig struct {
	// ConfDir holds the network configuration: the lexically first
	// .conflist, .conf or .json file is the pod network. It is watched;
	// changes apply to pods started afterwards.
	ConfDir string `toml:"conf_dir"`
	// BinDirs are searched for plugin binaries, in order.
	BinDirs []string `toml:"bin_dirs"`
	// CacheDir is where each pod's attachment (result, configuration,
	// arguments) is kept for CNI DEL, which must work after a restart;
	// empty means <root>/cni.
	CacheDir string `toml:"cache_dir"`
}

// CNICacheDir is the CNI cache directory, CNI.CacheDir or its default
// under Root.
func (c Config) CNICacheDir() string {
	if c.CNI.CacheDir != "" {
		return c.CNI.CacheDir
	}
	return filepath.Join(c.Root, "cni")
}

// Writable layers.
const (
	WritableLayerStore = "store"
	WritableLayerHost  = "host"
)

// CPU placements.
const (
	CPUPlacementConsolidate = "consolidate"
	CPUPlacementKernel      = "kernel"
)

// Cgroup drivers.
const (
	CgroupDriverCgroupfs = "cgroupfs"
	CgroupDriverSystemd  = "systemd"
)

// DefaultConfig returns the embedded defaults.
func DefaultConfig() Config {
	return Config{
		Socket:   "/run/cocoon/cocoon.sock",
		Root:     "/var/lib/cocoon",
		CertsDir: "/etc/cocoon/certs.d",
		LogLevel: "info",

		RunDir:        "/run/cocoon",
		CgroupDriver:  CgroupDriverCgroupfs,
		WritableLayer: WritableLayerStore,
		StreamAddress: "127.0.0.1",
		StreamPort:    "0",
		Platform:      probe.Auto,
		CPUPlacement:  CPUPlacementConsolidate,

		CNI: CNIConfig{
			ConfDir: "/etc/cni/net.d",
			BinDirs: []string{"/opt/cni/bin", "/usr/lib/cni"},
		},
	}
}

// LoadConfig reads the configuration. With path "" it reads
// DefaultConfigPath if that exists and returns the defaults otherwise;
// a path given explicitly must exist.
func LoadConfig(path string) (Config, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultConfigPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return DefaultConfig(), nil
		}
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses TOML over the defaults and validates the result.
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) && len(strict.Errors) > 0 {
			var keys []string
			for _, e := range strict.Errors {
				row, _ := e.Position()
				keys = append(keys, fmt.Sprintf("%q (line %d)", strings.Join(e.Key(), "."), row))
			}
			return Config{}, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return Config{}, fmt.Errorf("line %d column %d: %v", row, col, de)
		}
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks that the configuration is usable.
func (c Config) Validate() error {
	if c.Socket == "" {
		return errors.New("socket must not be empty")
	}
	if c.Root == "" {
		return errors.New("root must not be empty")
	}
	if _, err := c.Level(); err != nil {
		return err
	}
	if c.RunDir == "" {
		return errors.New("run_dir must not be empty")
	}
	switch c.CgroupDriver {
	case CgroupDriverCgroupfs, CgroupDriverSystemd:
	default:
		return fmt.Errorf("cgroup_driver %q: want %q or %q", c.CgroupDriver, CgroupDriverCgroupfs, CgroupDriverSystemd)
	}
	switch c.WritableLayer {
	case WritableLayerStore, WritableLayerHost:
	default:
		return fmt.Errorf("writable_layer %q: want %q or %q", c.WritableLayer, WritableLayerStore, WritableLayerHost)
	}
	switch c.CPUPlacement {
	case CPUPlacementConsolidate, CPUPlacementKernel:
	default:
		return fmt.Errorf("cpu_placement %q: want %q or %q", c.CPUPlacement, CPUPlacementConsolidate, CPUPlacementKernel)
	}
	if c.StreamPort != "" {
		if _, err := strconv.ParseUint(c.StreamPort, 10, 16); err != nil {
			return fmt.Errorf("stream_port %q: want a TCP port number, 0 for any", c.StreamPort)
		}
	}
	if c.CNI.ConfDir == "" {
		return errors.New("cni.conf_dir must not be empty")
	}
	if len(c.CNI.BinDirs) == 0 {
		return errors.New("cni.bin_dirs must name at least one directory")
	}
	for _, d := range append([]string{c.CNI.ConfDir, c.CNI.CacheDir}, c.CNI.BinDirs...) {
		if d != "" && !filepath.IsAbs(d) {
			return fmt.Errorf("cni: %q is not an absolute path", d)
		}
	}
	if c.DefaultMemoryBytes < 0 {
		return fmt.Errorf("default_memory_bytes %d must not be negative", c.DefaultMemoryBytes)
	}
	if c.Platform != "" && !probe.Valid(c.Platform) {
		return fmt.Errorf("platform %q: want auto, kvm, systrap or ptrace", c.Platform)
	}
	return nil
}

// streamAddr is the host:port the streaming server listens on.
func (c Config) streamAddr() string {
	port := c.StreamPort
	if port == "" {
		port = "0"
	}
	return net.JoinHostPort(c.StreamAddress, port)
}

// Level is LogLevel as a slog level.
func (c Config) Level() (slog.Level, error) {
	switch strings.ToLower(c.LogLevel) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel)
}
