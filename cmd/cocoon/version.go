package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sandbox"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// version and commit are set at build time with -ldflags "-X
// main.version=... -X main.commit=...". commit falls back to the VCS
// stamp of the build, which builds with -buildvcs=false lack.
var (
	version = "dev"
	commit  = ""
)

const (
	kvmDevice = "/dev/kvm"
	// kvmGetAPIVersion is KVM_GET_API_VERSION, _IO(KVMIO=0xAE, 0x00).
	kvmGetAPIVersion = 0xAE00
	// kvmStableAPI is the only KVM API version Linux has ever shipped;
	// anything else is not a KVM the platform knows.
	kvmStableAPI = 12
)

// kvmReport is what `cocoon version` found out about the KVM device on
// this host. Whether KVM then works as the platform needs (its start-up
// probe) is the platform measurement's finding (probe.Report).
type kvmReport struct {
	Exists  bool
	OpenErr error // nil when the device opened read-write
	API     int   // KVM_GET_API_VERSION's answer, valid when APIErr is nil
	APIErr  error
	// Reason says why the device cannot be used; empty when it opened
	// and speaks the stable API.
	Reason string
}

// kvmProber holds the steps of the KVM check so a test can replace the
// one that needs a real /dev/kvm.
type kvmProber struct {
	dev        string
	apiVersion func(fd int) (int, error)
}

func hostKVMProber() kvmProber {
	return kvmProber{dev: kvmDevice, apiVersion: ioctlAPIVersion}
}

func ioctlAPIVersion(fd int) (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), kvmGetAPIVersion, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

func (k kvmProber) probe() kvmReport {
	var r kvmReport
	if _, err := os.Stat(k.dev); errors.Is(err, fs.ErrNotExist) {
		r.Reason = k.dev + " does not exist (no KVM module loaded, or the machine or container does not pass it through)"
		return r
	}
	r.Exists = true
	fd, err := unix.Open(k.dev, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		r.OpenErr = &fs.PathError{Op: "open", Path: k.dev, Err: err}
		r.Reason = r.OpenErr.Error()
		return r
	}
	r.API, r.APIErr = k.apiVersion(fd)
	unix.Close(fd)
	switch {
	case r.APIErr != nil:
		r.Reason = fmt.Sprintf("KVM_GET_API_VERSION: %v", r.APIErr)
	case r.API != kvmStableAPI:
		r.Reason = fmt.Sprintf("KVM API version %d, want %d", r.API, kvmStableAPI)
	}
	return r
}

// buildCommit returns the revision the binary was built from: commit, or
// the VCS stamp with " (modified)" when the tree had uncommitted changes,
// or "unknown" when neither was recorded.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, modified := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if modified {
		rev += " (modified)"
	}
	return rev
}

func writeVersion(w io.Writer, ver, commit string, k kvmReport, r probe.Report, c sandbox.ConfinementReport) {
	fmt.Fprintf(w, "cocoon %s\n", ver)
	fmt.Fprintf(w, "commit:    %s\n", commit)
	fmt.Fprintf(w, "go:        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	switch {
	case !k.Exists:
		fmt.Fprintf(w, "%s:  missing\n", kvmDevice)
	case k.OpenErr != nil:
		fmt.Fprintf(w, "%s:  present, cannot open: %v\n", kvmDevice, errors.Unwrap(k.OpenErr))
	default:
		fmt.Fprintf(w, "%s:  present, opens read-write\n", kvmDevice)
	}
	switch {
	case !k.Exists || k.OpenErr != nil:
		fmt.Fprintf(w, "KVM API:   not checked\n")
	case k.APIErr != nil:
		fmt.Fprintf(w, "KVM API:   error: %v\n", k.APIErr)
	default:
		fmt.Fprintf(w, "KVM API:   %d\n", k.API)
	}
	if r.Rounds > 1 {
		fmt.Fprintf(w, "platforms: median of the best of %d rounds of %d syscall round trips, and of %d page faults, each; measured in %v\n",
			r.Rounds, r.Syscalls/r.Rounds, r.Faults, r.Took.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "platforms: median of %d syscall round trips and %d page faults each, measured in %v\n",
			r.Syscalls, r.Faults, r.Took.Round(time.Millisecond))
	}
	for _, p := range r.Platforms {
		if !p.Available {
			why := p.Reason
			if p.Name == probe.KVM && k.Reason != "" {
				// The device check says it in the words an operator
				// acts on.
				why = k.Reason
			}
			fmt.Fprintf(w, "  %-8s unavailable: %s\n", p.Name, why)
			continue
		}
		fmt.Fprintf(w, "  %-8s syscall %-9v fault %-9v started in %v", p.Name, roundDuration(p.Syscall), roundDuration(p.Fault), p.Start.Round(100*time.Microsecond))
		if p.Unpatched != 0 {
			fmt.Fprintf(w, "; syscall from a patched site, %v unpatched", roundDuration(p.Unpatched))
		}
		if p.Detail != "" {
			fmt.Fprintf(w, "; %s", p.Detail)
		}
		fmt.Fprintln(w)
	}
	if r.Choice == "" {
		fmt.Fprintf(w, "platform:  none (--platform=auto: no platform works on this host)\n")
		return
	}
	fmt.Fprintf(w, "platform:  %s (--platform=auto: the fastest that works here)\n", r.Choice)
	writeConfinement(w, c)
}

// writeConfinement lists the layers that confine a pod's processes.
func writeConfinement(w io.Writer, c sandbox.ConfinementReport) {
	fmt.Fprintf(w, "confinement:\n")
	for _, p := range []struct {
		name   string
		layers []string
	}{{"sentry", c.Sentry}, {"gofer", c.Gofer}} {
		for i, l := range p.layers {
			name := ""
			if i == 0 {
				name = p.name
			}
			fmt.Fprintf(w, "  %-8s %s\n", name, l)
		}
	}
}

// roundDuration rounds a round-trip figure to three significant digits'
// worth for printing.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= 10*time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d.Round(10 * time.Nanosecond)
}

// versionMain is `cocoon version`: the build, the KVM device, and each
// platform's measured round trip with the one --platform=auto (and the
// daemon's default platform = "auto") would choose on this host.
func versionMain([]string) int {
	writeVersion(os.Stdout, version, buildCommit(), hostKVMProber().probe(), probe.Measure(probe.Options{}), sandbox.Confinement())
	return 0
}
