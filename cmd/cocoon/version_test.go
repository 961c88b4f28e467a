package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestKVMProbeMissingDevice(t *testing.T) {
	k := kvmProber{
		dev:        filepath.Join(t.TempDir(), "kvm"),
		apiVersion: func(int) (int, error) { t.Fatal("API version asked of a missing device"); return 0, nil },
		start:      func() (string, error) { t.Fatal("KVM started without a device"); return "", nil },
	}
	r := k.probe()
	if r.Exists || r.Platform != "systrap" || !strings.Contains(r.Reason, "does not exist") {
		t.Fatalf("probe = %+v, want a missing device and systrap", r)
	}
}

// fakeDevice is a file the prober can open in place of /dev/kvm.
func fakeDevice(t *testing.T) string {
	dev := filepath.Join(t.TempDir(), "kvm")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return dev
}

func TestKVMProbe(t *testing.T) {
	errProbe := errors.New("platform unavailable on this host: kvm: start-up probe failed")
	for _, tc := range []struct {
		name         string
		api          int
		apiErr       error
		startErr     error
		wantStart    bool
		wantPlatform string
		wantReason   string
	}{
		{name: "kvm", api: 12, wantStart: true, wantPlatform: "kvm"},
		{name: "probe fails", api: 12, startErr: errProbe, wantStart: true, wantPlatform: "systrap", wantReason: "start-up probe failed"},
		{name: "old API", api: 11, wantPlatform: "systrap", wantReason: "KVM API version 11, want 12"},
		{name: "not KVM", apiErr: unix.ENOTTY, wantPlatform: "systrap", wantReason: "KVM_GET_API_VERSION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := false
			k := kvmProber{
				dev:        fakeDevice(t),
				apiVersion: func(int) (int, error) { return tc.api, tc.apiErr },
				start: func() (string, error) {
					started = true
					if tc.startErr != nil {
						return "", tc.startErr
					}
					return "ring 0 (syscall stub, sysretq)", nil
				},
			}
			r := k.probe()
			if !r.Exists || r.OpenErr != nil {
				t.Fatalf("probe = %+v, want the device found and opened", r)
			}
			if started != tc.wantStart {
				t.Errorf("KVM started: %v, want %v", started, tc.wantStart)
			}
			if r.Platform != tc.wantPlatform || !strings.Contains(r.Reason, tc.wantReason) {
				t.Errorf("probe = %+v, want platform %s, reason containing %q", r, tc.wantPlatform, tc.wantReason)
			}
			var out bytes.Buffer
			writeVersion(&out, "v1", "abc", r)
			if !strings.Contains(out.String(), "platform:  "+tc.wantPlatform+" ") {
				t.Errorf("output does not name platform %s:\n%s", tc.wantPlatform, out.String())
			}
		})
	}
}

// A device that exists but cannot be opened (no rights, as for a user
// outside the kvm group) is reported with the open error.
func TestKVMProbeUnopenable(t *testing.T) {
	k := kvmProber{
		dev:        t.TempDir(), // a directory: O_RDWR fails with EISDIR
		apiVersion: func(int) (int, error) { t.Fatal("API version asked of an unopened device"); return 0, nil },
		start:      func() (string, error) { t.Fatal("KVM started without a device"); return "", nil },
	}
	r := k.probe()
	if !r.Exists || !errors.Is(r.OpenErr, unix.EISDIR) || r.Platform != "systrap" {
		t.Fatalf("probe = %+v, want an open error and systrap", r)
	}
	var out bytes.Buffer
	writeVersion(&out, "v1", "abc", r)
	if !strings.Contains(out.String(), "present, cannot open: is a directory") {
		t.Errorf("output:\n%s", out.String())
	}
}

// The real ioctl on a file that is not KVM fails the way the prober
// expects (ENOTTY), so a wrong device is never mistaken for KVM.
func TestIoctlAPIVersionNotKVM(t *testing.T) {
	f, err := os.Open(fakeDevice(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, err := ioctlAPIVersion(int(f.Fd())); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("KVM_GET_API_VERSION on a plain file = %d, %v; want ENOTTY", v, err)
	}
}

// TestVersionOnHost runs the real check against this host's /dev/kvm.
func TestVersionOnHost(t *testing.T) {
	r := hostKVMProber().probe()
	var out bytes.Buffer
	writeVersion(&out, "v9.9.9", "0123abc", r)
	s := out.String()
	t.Logf("cocoon version on this host:\n%s", s)
	for _, want := range []string{"cocoon v9.9.9\n", "commit:    0123abc\n", runtime.Version(), "/dev/kvm:  ", "KVM API:   ", "platform:  "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if _, err := os.Stat("/dev/kvm"); errors.Is(err, os.ErrNotExist) {
		if r.Platform != "systrap" || !strings.Contains(s, "/dev/kvm:  missing\n") || !strings.Contains(s, "platform:  systrap") {
			t.Errorf("without /dev/kvm the report must say missing and systrap:\n%s", s)
		}
	}
}
