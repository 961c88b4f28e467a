package podsandbox

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/cocoonrt/cocoon/internal/ident"

	"github.com/cocoonrt/cocoon/sentry/platform/probe"
	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// maxIDLen bounds pod and container IDs. IDs become path components (run
// and state dirs) and gofer tree names; at most 120 characters keeps the
// tree names made from them ("c-ID-N") within the gofer's 128. CRI IDs (64
// hex digits) fit.
const maxIDLen = 120

func checkID(kind, id string) error {
	if !ident.Valid(id, maxIDLen) {
		return fmt.Errorf("%s ID %q: want 1-120 letters, digits, '_', '.' or '-', not starting with a punctuation mark: %w", kind, id, ErrInvalid)
	}
	return nil
}

// validatePod checks a PodConfig before anything is created.
func validatePod(cfg *PodConfig) error {
	if err := checkID("pod", cfg.ID); err != nil {
		return err
	}
	if cfg.Name == "" {
		return fmt.Errorf("pod %s: metadata name is empty: %w", cfg.ID, ErrInvalid)
	}
	if cfg.Namespace == "" {
		return fmt.Errorf("pod %s: metadata namespace is empty: %w", cfg.ID, ErrInvalid)
	}
	if host := cfg.Hostname; len(host) > 64 || strings.ContainsAny(host, "/\x00\n\t ") {
		return fmt.Errorf("pod %s: hostname %q is not a valid host name (at most 64 characters, no '/', spaces or control characters): %w", cfg.ID, host, ErrInvalid)
	}
	// The sentry applies the sysctls its kernel implements; accepting
	// any other would silently ignore what the pod asked for, so those
	// are refused, by name.
	names := slices.Sorted(maps.Keys(cfg.Sysctls))
	for _, name := range names {
		if _, _, err := sysctl.Parse(name, cfg.Sysctls[name]); err != nil {
			return fmt.Errorf("pod %s: %w: %w", cfg.ID, err, ErrInvalid)
		}
	}
	// Values valid one by one can still conflict (a port range below
	// net.ipv4.ip_unprivileged_port_start).
	if err := sysctl.CheckPod(cfg.Sysctls); err != nil {
		return fmt.Errorf("pod %s: %w: %w", cfg.ID, err, ErrInvalid)
	}
	if cfg.DNS != nil {
		for _, s := range append(append(append([]string{}, cfg.DNS.Servers...), cfg.DNS.Searches...), cfg.DNS.Options...) {
			if s == "" || strings.ContainsAny(s, " \t\n\x00") {
				return fmt.Errorf("pod %s: DNS entry %q is empty or holds white space: %w", cfg.ID, s, ErrInvalid)
			}
		}
	}
	if err := validateResources(fmt.Sprintf("pod %s", cfg.ID), cfg.Resources); err != nil {
		return err
	}
	if p := cfg.CgroupParent; p != "" && (strings.Contains(p, "..") || strings.ContainsAny(p, "\x00\n")) {
		return fmt.Errorf("pod %s: cgroup parent %q: %w", cfg.ID, p, ErrInvalid)
	}
	if p := cfg.Platform; p != "" && !probe.Valid(p) {
		return fmt.Errorf("pod %s: platform %q: want kvm, systrap, ptrace or auto: %w", cfg.ID, p, ErrInvalid)
	}
	return nil
}

func validateResources(what string, r Resources) error {
	if r.CPUPeriod < 0 || r.CPUQuota < -1 || r.CPUShares < 0 || r.MemoryLimitBytes < 0 {
		return fmt.Errorf("%s: negative resource limit: %w", what, ErrInvalid)
	}
	return nil
}

// validateContainer checks a ContainerConfig before anything is created.
func validateContainer(cfg *ContainerConfig) error {
	if err := checkID("container", cfg.ID); err != nil {
		return err
	}
	if err := checkID("pod", cfg.PodID); err != nil {
		return err
	}
	what := fmt.Sprintf("container %s (%q)", cfg.ID, cfg.Name)
	if cfg.Name == "" {
		return fmt.Errorf("container %s: metadata name is empty: %w", cfg.ID, ErrInvalid)
	}
	if len(cfg.Process.Args) == 0 || cfg.Process.Args[0] == "" {
		return fmt.Errorf("%s: no command to run: %w", what, ErrInvalid)
	}
	if len(cfg.Rootfs.LowerDirs) == 0 {
		return fmt.Errorf("%s: rootfs has no lower directories: %w", what, ErrInvalid)
	}
	for _, d := range cfg.Rootfs.LowerDirs {
		if !path.IsAbs(d) || strings.ContainsAny(d, ":,\x00") {
			return fmt.Errorf("%s: rootfs lower directory %q must be absolute and hold no ':' or ',': %w", what, d, ErrInvalid)
		}
	}
	if (cfg.Rootfs.Upper == "") != (cfg.Rootfs.Work == "") {
		return fmt.Errorf("%s: rootfs needs both an upper and a work directory, or neither: %w", what, ErrInvalid)
	}
	for _, d := range []string{cfg.Rootfs.Upper, cfg.Rootfs.Work} {
		if d != "" && (!path.IsAbs(d) || strings.ContainsAny(d, ":,\x00")) {
			return fmt.Errorf("%s: rootfs directory %q must be absolute and hold no ':' or ',': %w", what, d, ErrInvalid)
		}
	}
	if cfg.LogPath != "" && !path.IsAbs(cfg.LogPath) {
		return fmt.Errorf("%s: log path %q is not absolute: %w", what, cfg.LogPath, ErrInvalid)
	}
	for _, l := range []struct {
		name  string
		paths []string
	}{{"read-only", cfg.ReadonlyPaths}, {"masked", cfg.MaskedPaths}} {
		for _, p := range l.paths {
			if !path.IsAbs(p) || strings.ContainsRune(p, 0) {
				return fmt.Errorf("%s: %s path %q must be absolute: %w", what, l.name, p, ErrInvalid)
			}
		}
	}
	switch ns := cfg.PIDNamespace; {
	case ns == PIDNamespaceContainer, ns == PIDNamespacePod:
	case strings.HasPrefix(ns, pidNamespaceOfPrefix) && checkID("container", strings.TrimPrefix(ns, pidNamespaceOfPrefix)) == nil:
	default:
		return fmt.Errorf("%s: PID namespace %q: want \"\", %q or %q<container ID>: %w", what, ns, PIDNamespacePod, pidNamespaceOfPrefix, ErrInvalid)
	}
	if cfg.StopSignal < 0 || cfg.StopSignal > 64 {
		return fmt.Errorf("%s: stop signal %d is out of range: %w", what, cfg.StopSignal, ErrInvalid)
	}
	for i, m := range cfg.Mounts {
		if !path.IsAbs(m.ContainerPath) {
			return fmt.Errorf("%s: mount %d: container path %q is not absolute: %w", what, i, m.ContainerPath, ErrInvalid)
		}
		switch m.Type {
		case "", "bind":
			if !path.IsAbs(m.HostPath) {
				return fmt.Errorf("%s: mount %s: host path %q is not absolute: %w", what, m.ContainerPath, m.HostPath, ErrInvalid)
			}
		case "tmpfs":
		default:
			return fmt.Errorf("%s: mount %s: type %q is not supported (bind or tmpfs): %w", what, m.ContainerPath, m.Type, ErrInvalid)
		}
	}
	return validateResources(what, cfg.Resources)
}
