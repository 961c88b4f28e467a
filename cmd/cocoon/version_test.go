package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sandbox"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

func TestKVMProbeMissingDevice(t *testing.T) {
	k := kvmProber{
		dev:        filepath.Join(t.TempDir(), "kvm"),
		apiVersion: func(int) (int, error) { t.Fatal("API version asked of a missing device"); return 0, nil },
	}
	r := k.probe()
	if r.Exists || !strings.Contains(r.Reason, "does not exist") {
		t.Fatalf("probe = %+v, want a missing device", r)
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
	for _, tc := range []struct {
		name       string
		api        int
		apiErr     error
		wantReason string
		wantAPI    string
	}{
		{name: "kvm", api: 12, wantAPI: "KVM API:   12\n"},
		{name: "old API", api: 11, wantReason: "KVM API version 11, want 12", wantAPI: "KVM API:   11\n"},
		{name: "not KVM", apiErr: unix.ENOTTY, wantReason: "KVM_GET_API_VERSION", wantAPI: "KVM API:   error: inappropriate ioctl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := kvmProber{
				dev:        fakeDevice(t),
				apiVersion: func(int) (int, error) { return tc.api, tc.apiErr },
			}
			r := k.probe()
			if !r.Exists || r.OpenErr != nil {
				t.Fatalf("probe = %+v, want the device found and opened", r)
			}
			if (tc.wantReason == "") != (r.Reason == "") || !strings.Contains(r.Reason, tc.wantReason) {
				t.Errorf("probe = %+v, want reason containing %q", r, tc.wantReason)
			}
			var out bytes.Buffer
			writeVersion(&out, "v1", "abc", r, probe.Report{}, sandbox.ConfinementReport{})
			if !strings.Contains(out.String(), "/dev/kvm:  present, opens read-write\n") || !strings.Contains(out.String(), tc.wantAPI) {
				t.Errorf("output:\n%s", out.String())
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
	}
	r := k.probe()
	if !r.Exists || !errors.Is(r.OpenErr, unix.EISDIR) || r.Reason == "" {
		t.Fatalf("probe = %+v, want an open error", r)
	}
	var out bytes.Buffer
	writeVersion(&out, "v1", "abc", r, probe.Report{}, sandbox.ConfinementReport{})
	if !strings.Contains(out.String(), "present, cannot open: is a directory") || !strings.Contains(out.String(), "KVM API:   not checked\n") {
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

// The platform part of the report: every platform's figures or reason,
// and the choice.
func TestWriteVersionPlatforms(t *testing.T) {
	us := time.Microsecond
	for _, tc := range []struct {
		name string
		kvm  kvmReport
		r    probe.Report
		want []string
	}{
		{
			name: "pvm host",
			kvm:  kvmReport{Exists: true, API: 12},
			r: probe.Report{Choice: "systrap", Syscalls: 200, Faults: 5, Rounds: 4, Took: 41 * time.Millisecond, Platforms: []probe.Result{
				{Name: "kvm", Available: true, Syscall: 80 * us, Fault: 95 * us, Start: 20 * time.Millisecond, Detail: "syscalls arrive by page fault (PVM-style, iretq)"},
				{Name: "systrap", Available: true, Syscall: 4800 * time.Nanosecond, Fault: 60 * us, Start: 12 * time.Millisecond},
				{Name: "ptrace", Available: true, Syscall: 20 * us, Fault: 55 * us, Start: 10 * time.Millisecond},
			}},
			want: []string{
				"platforms: median of the best of 4 rounds of 50 syscall round trips, and of 5 page faults, each; measured in 41ms\n",
				"  kvm      syscall 80µs      fault 95µs      started in 20ms; syscalls arrive by page fault (PVM-style, iretq)\n",
				"  systrap  syscall 4.8µs     fault 60µs      started in 12ms\n",
				"  ptrace   syscall 20µs      fault 55µs      started in 10ms\n",
				"platform:  systrap (--platform=auto: the fastest that works here)\n",
			},
		},
		{
			name: "no kvm",
			kvm:  kvmReport{Reason: "/dev/kvm does not exist (no KVM module loaded, or the machine or container does not pass it through)"},
			r: probe.Report{Choice: "ptrace", Syscalls: 200, Faults: 5, Platforms: []probe.Result{
				{Name: "kvm", Reason: "opening /dev/kvm: no such file or directory"},
				{Name: "systrap", Reason: "start-up measurement: syscall: came back with a fault"},
				{Name: "ptrace", Available: true, Syscall: 20 * us, Fault: 55 * us, Start: 10 * time.Millisecond},
			}},
			want: []string{
				"/dev/kvm:  missing\n",
				"  kvm      unavailable: /dev/kvm does not exist (no KVM module loaded",
				"  systrap  unavailable: start-up measurement: syscall: came back with a fault\n",
				"  ptrace   syscall 20µs",
				"platform:  ptrace (--platform=auto",
			},
		},
		{
			name: "kvm fails its probe",
			kvm:  kvmReport{Exists: true, API: 12},
			r: probe.Report{Platforms: []probe.Result{
				{Name: "kvm", Reason: "start-up probe: the guest still read a page after the sentry unmapped it"},
			}},
			want: []string{
				"  kvm      unavailable: start-up probe: the guest still read a page",
				"platform:  none (--platform=auto: no platform works on this host)\n",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			writeVersion(&out, "v1", "abc", tc.kvm, tc.r, sandbox.ConfinementReport{})
			for _, want := range tc.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestVersionOnHost runs the real checks and the real measurement on this
// host.
func TestVersionOnHost(t *testing.T) {
	k := hostKVMProber().probe()
	r := probe.Measure(probe.Options{})
	var out bytes.Buffer
	writeVersion(&out, "v9.9.9", "0123abc", k, r, sandbox.Confinement())
	s := out.String()
	t.Logf("cocoon version on this host:\n%s", s)
	for _, want := range []string{"cocoon v9.9.9\n", "commit:    0123abc\n", runtime.Version(), "/dev/kvm:  ", "KVM API:   ", "platforms: median of ",
		"\n  kvm      ", "\n  systrap  syscall ", "\n  ptrace   syscall ", "platform:  " + r.Choice + " (--platform=auto", "confinement:\n  sentry   own user namespace"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if _, err := os.Stat("/dev/kvm"); errors.Is(err, os.ErrNotExist) {
		if !strings.Contains(s, "/dev/kvm:  missing\n") || !strings.Contains(s, "  kvm      unavailable: /dev/kvm does not exist") {
			t.Errorf("without /dev/kvm the report must say missing and kvm unavailable:\n%s", s)
		}
	}
}
