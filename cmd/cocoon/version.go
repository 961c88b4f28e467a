package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform/kvm"
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

// kvmReport is what `cocoon version` found out about KVM on this host,
// and so which platform a sentry started with --platform=auto would run
// on.
type kvmReport struct {
	Exists  bool
	OpenErr error // nil when the device opened read-write
	API     int   // KVM_GET_API_VERSION's answer, valid when APIErr is nil
	APIErr  error
	// Platform is "kvm" or "systrap" (ptrace when its stub cannot
	// start); Reason says why it is not kvm, and
	// Entry how syscalls reach the sentry when it is.
	Platform string
	Reason   string
	Entry    string
}

// kvmProber holds the steps of the KVM check so a test can replace the
// ones that need a real /dev/kvm.
type kvmProber struct {
	dev        string
	apiVersion func(fd int) (int, error)
	// start brings the KVM platform up as the sentry would (VM creation
	// and the start-up probe) and tears it down again.
	start func() (entry string, err error)
}

func hostKVMProber() kvmProber {
	return kvmProber{dev: kvmDevice, apiVersion: ioctlAPIVersion, start: startKVM}
}

func ioctlAPIVersion(fd int) (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), kvmGetAPIVersion, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

// startKVM runs the same constructor as the sentry's --platform=auto
// (sentry/boot newPlatform), because only a VM that passed the start-up
// probe tells whether this host's KVM behaves as the platform needs; an
// openable /dev/kvm alone does not.
func startKVM() (string, error) {
	// The memory file is sparse: the probe touches a few pages of it.
	mf, err := memfile.New("cocoon-version", 1<<30)
	if err != nil {
		return "", err
	}
	defer mf.Close()
	p, err := kvm.New(mf)
	if err != nil {
		return "", err
	}
	defer p.Close()
	return p.SyscallEntry(), nil
}

func (k kvmProber) probe() kvmReport {
	r := kvmReport{Platform: "systrap"}
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
		return r
	case r.API != kvmStableAPI:
		r.Reason = fmt.Sprintf("KVM API version %d, want %d", r.API, kvmStableAPI)
		return r
	}
	entry, err := k.start()
	if err != nil {
		r.Reason = err.Error()
		return r
	}
	r.Platform, r.Entry = "kvm", entry
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

func writeVersion(w io.Writer, ver, commit string, r kvmReport) {
	fmt.Fprintf(w, "cocoon %s\n", ver)
	fmt.Fprintf(w, "commit:    %s\n", commit)
	fmt.Fprintf(w, "go:        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	switch {
	case !r.Exists:
		fmt.Fprintf(w, "%s:  missing\n", kvmDevice)
	case r.OpenErr != nil:
		fmt.Fprintf(w, "%s:  present, cannot open: %v\n", kvmDevice, errors.Unwrap(r.OpenErr))
	default:
		fmt.Fprintf(w, "%s:  present, opens read-write\n", kvmDevice)
	}
	switch {
	case !r.Exists || r.OpenErr != nil:
		fmt.Fprintf(w, "KVM API:   not checked\n")
	case r.APIErr != nil:
		fmt.Fprintf(w, "KVM API:   error: %v\n", r.APIErr)
	default:
		fmt.Fprintf(w, "KVM API:   %d\n", r.API)
	}
	if r.Platform == "kvm" {
		fmt.Fprintf(w, "platform:  kvm (--platform=auto; syscalls arrive by %s)\n", r.Entry)
		return
	}
	fmt.Fprintf(w, "platform:  systrap (--platform=auto: KVM unavailable: %s)\n", r.Reason)
	fmt.Fprintf(w, "           sandboxes run on systrap (seccomp traps), ptrace if its stub cannot start;\n")
	fmt.Fprintf(w, "           both cost more per system call than KVM\n")
}

// versionMain is `cocoon version`: the build, and the platform this
// host's sentries would run on.
func versionMain([]string) int {
	writeVersion(os.Stdout, version, buildCommit(), hostKVMProber().probe())
	return 0
}
