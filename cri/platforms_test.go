package cri

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// testReport is a measurement on a host like the development machines:
// no /dev/kvm, systrap faster than ptrace.
var testReport = probe.Report{
	Choice:   probe.Systrap,
	Syscalls: 200,
	Faults:   5,
	Took:     35 * time.Millisecond,
	Platforms: []probe.Result{
		{Name: probe.KVM, Reason: "opening /dev/kvm: no such file or directory"},
		{Name: probe.Systrap, Available: true, Syscall: 5 * time.Microsecond, Fault: 60 * time.Microsecond, Start: 12 * time.Millisecond},
		{Name: probe.Ptrace, Available: true, Syscall: 20 * time.Microsecond, Fault: 55 * time.Microsecond, Start: 10 * time.Millisecond},
	},
}

// measured counts MeasurePlatforms calls.
var measured atomic.Int32

// TestMain makes the daemon's platform measurement the fixed testReport
// in every test of the package: the real one (package probe, tested
// there) would make the CRI tests depend on the host's platforms.
func TestMain(m *testing.M) {
	MeasurePlatforms = func() probe.Report {
		measured.Add(1)
		return testReport
	}
	os.Exit(m.Run())
}

func TestHandlerPlatform(t *testing.T) {
	for _, tc := range []struct {
		configured string
		handler    string
		want       string
		known      bool
	}{
		{"auto", "", "auto", true},
		{"auto", "cocoon", "auto", true},
		{"", "cocoon", "auto", true},
		{"ptrace", "", "ptrace", true},
		{"ptrace", "cocoon", "ptrace", true},
		{"ptrace", "cocoon-kvm", "kvm", true},
		{"auto", "cocoon-systrap", "systrap", true},
		{"kvm", "cocoon-ptrace", "ptrace", true},
		{"auto", "cocoon-auto", "", false},
		{"auto", "cocoon-", "", false},
		{"auto", "cocoon-vmx", "", false},
		{"auto", "runc", "", false},
		{"auto", "kvm", "", false},
	} {
		c := DefaultConfig()
		c.Platform = tc.configured
		got, known := c.handlerPlatform(tc.handler)
		if got != tc.want || known != tc.known {
			t.Errorf("platform %q, handler %q: got %q, %v; want %q, %v", tc.configured, tc.handler, got, known, tc.want, tc.known)
		}
	}
	if want := []string{"", "cocoon", "cocoon-kvm", "cocoon-systrap", "cocoon-ptrace"}; !reflect.DeepEqual(runtimeHandlers, want) {
		t.Errorf("runtime handlers %q, want %q", runtimeHandlers, want)
	}
}

func TestParseConfigPlatform(t *testing.T) {
	if d := DefaultConfig(); d.Platform != "auto" {
		t.Errorf("default platform %q", d.Platform)
	}
	for _, p := range []string{"auto", "kvm", "systrap", "ptrace"} {
		c, err := ParseConfig([]byte("platform = \"" + p + "\"\n"))
		if err != nil || c.Platform != p {
			t.Errorf("platform = %q: %+v, %v", p, c.Platform, err)
		}
	}
	for in, want := range map[string]string{
		"platform = \"vmx\"\n": `platform "vmx": want auto, kvm, systrap or ptrace`,
		"platform = \"KVM\"\n": `platform "KVM"`,
		"platform = 1\n":       "line 1",
	} {
		if _, err := ParseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%q) = %v, want %q", in, err, want)
		}
	}
}

// Each handler's pods get the platform it resolves to on this host, and
// the pod keeps it.
func TestRunPodSandboxPlatform(t *testing.T) {
	for _, tc := range []struct {
		configured string
		handler    string
		want       string
		code       codes.Code
		msg        []string
	}{
		{configured: "auto", handler: "", want: "systrap"},
		{configured: "auto", handler: "cocoon", want: "systrap"},
		{configured: "ptrace", handler: "", want: "ptrace"},
		{configured: "ptrace", handler: "cocoon-systrap", want: "systrap"},
		{configured: "auto", handler: "cocoon-ptrace", want: "ptrace"},
		{configured: "auto", handler: "cocoon-kvm", code: codes.FailedPrecondition,
			msg: []string{`RunPodSandbox: runtime handler "cocoon-kvm" needs the kvm platform`, "kvm: opening /dev/kvm: no such file or directory"}},
		{configured: "kvm", handler: "cocoon", code: codes.FailedPrecondition, msg: []string{`"cocoon" needs the kvm platform`}},
		{configured: "auto", handler: "runc", code: codes.InvalidArgument,
			msg: []string{`unknown runtime handler "runc": cocoon serves "", "cocoon", "cocoon-kvm", "cocoon-systrap", "cocoon-ptrace"`}},
		{configured: "auto", handler: "cocoon-auto", code: codes.InvalidArgument, msg: []string{"unknown runtime handler"}},
	} {
		t.Run(tc.configured+"/"+tc.handler, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Platform = tc.configured
			r := newRT(t, WithConfig(cfg), WithPlatforms(testReport))
			resp, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("p"), RuntimeHandler: tc.handler})
			if tc.code != codes.OK {
				wantCode(t, err, tc.code, tc.msg...)
				if n := len(r.pods.pods); n != 0 {
					t.Errorf("%d pods made after a refused handler", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.pods.lastRun; got.Platform != tc.want || got.RuntimeHandler != tc.handler {
				t.Errorf("pod config: platform %q handler %q, want %q %q", got.Platform, got.RuntimeHandler, tc.want, tc.handler)
			}
			st, err := r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId, Verbose: true})
			if err != nil {
				t.Fatal(err)
			}
			var info struct {
				Handler  string `json:"runtimeHandler"`
				Platform string `json:"platform"`
				Config   struct {
					Platform string `json:"platform"`
				} `json:"config"`
			}
			if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
				t.Fatal(err)
			}
			if info.Platform != tc.want || info.Config.Platform != tc.want || info.Handler != tc.handler {
				t.Errorf("verbose status %s: want platform %q, handler %q", st.Info["info"], tc.want, tc.handler)
			}
			if st.Status.RuntimeHandler != tc.handler {
				t.Errorf("status runtime handler %q", st.Status.RuntimeHandler)
			}
		})
	}
}

// A server without a measurement (an image-only server, or one built by
// a test) lets the sentry choose: "auto" reaches the pod as it is.
func TestRunPodSandboxUnmeasured(t *testing.T) {
	r := newRT(t)
	if _, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("p"), RuntimeHandler: "cocoon-kvm"}); err != nil {
		t.Fatal(err)
	}
	if got := r.pods.lastRun.Platform; got != "kvm" {
		t.Errorf("platform %q, want kvm", got)
	}
	if _, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("q")}); err != nil {
		t.Fatal(err)
	}
	if got := r.pods.lastRun.Platform; got != "auto" {
		t.Errorf("platform %q, want auto", got)
	}
}

// platformStatusOf returns Status's verbose platform info.
func platformStatusOf(t *testing.T, c runtimeapi.RuntimeServiceClient, ctx context.Context) (*runtimeapi.StatusResponse, platformStatus) {
	t.Helper()
	resp, err := c.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var st platformStatus
	if err := json.Unmarshal([]byte(resp.Info["platform"]), &st); err != nil {
		t.Fatalf("info[platform] %q: %v", resp.Info["platform"], err)
	}
	return resp, st
}

func TestStatusPlatform(t *testing.T) {
	r := newRT(t, WithPlatforms(testReport))
	resp, st := platformStatusOf(t, r.c, r.ctx)
	if st.Configured != "auto" || st.Choice != "systrap" || !st.Measured || st.Measurement == nil || !reflect.DeepEqual(*st.Measurement, testReport) {
		t.Errorf("platform status %+v", st)
	}
	want := []handlerStatus{
		{Handler: "", Requested: "auto", Platform: "systrap"},
		{Handler: "cocoon", Requested: "auto", Platform: "systrap"},
		{Handler: "cocoon-kvm", Requested: "kvm", Unavailable: "platform unavailable on this host: kvm: opening /dev/kvm: no such file or directory"},
		{Handler: "cocoon-systrap", Requested: "systrap", Platform: "systrap"},
		{Handler: "cocoon-ptrace", Requested: "ptrace", Platform: "ptrace"},
	}
	if !reflect.DeepEqual(st.Handlers, want) {
		t.Errorf("handlers\n got %+v\nwant %+v", st.Handlers, want)
	}
	var names []string
	for _, h := range resp.RuntimeHandlers {
		names = append(names, h.Name)
		if f := h.Features; f == nil || f.RecursiveReadOnlyMounts || f.UserNamespaces {
			t.Errorf("handler %q features %v", h.Name, f)
		}
	}
	if !reflect.DeepEqual(names, runtimeHandlers) {
		t.Errorf("RuntimeHandlers %q", names)
	}
	if c := resp.Status.Conditions[0]; c.Type != runtimeapi.RuntimeReady || !c.Status {
		t.Errorf("RuntimeReady = %v", c)
	}
	// Not verbose: no info.
	plain, err := r.c.Status(r.ctx, &runtimeapi.StatusRequest{})
	if err != nil || plain.Info != nil {
		t.Errorf("plain Status info %v, %v", plain.GetInfo(), err)
	}
}

// A configured platform this host cannot run makes the runtime not ready,
// saying why; the forcing handlers still work.
func TestStatusConfiguredPlatformUnavailable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Platform = "kvm"
	r := newRT(t, WithConfig(cfg), WithPlatforms(testReport))
	resp, st := platformStatusOf(t, r.c, r.ctx)
	c := resp.Status.Conditions[0]
	if c.Type != runtimeapi.RuntimeReady || c.Status || c.Reason != "PlatformUnavailable" || !strings.Contains(c.Message, "opening /dev/kvm") {
		t.Errorf("RuntimeReady = %v", c)
	}
	if st.Configured != "kvm" || st.Handlers[0].Platform != "" || !strings.Contains(st.Handlers[0].Unavailable, "kvm") || st.Handlers[4].Platform != "ptrace" {
		t.Errorf("platform status %+v", st)
	}
	if _, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("p"), RuntimeHandler: "cocoon-ptrace"}); err != nil {
		t.Errorf("cocoon-ptrace with kvm configured: %v", err)
	}

	// Nothing works at all: auto is unavailable too.
	none := probe.Report{Platforms: []probe.Result{{Name: "kvm", Reason: "no"}, {Name: "systrap", Reason: "no"}, {Name: "ptrace", Reason: "no"}}}
	r = newRT(t, WithPlatforms(none))
	resp, _ = platformStatusOf(t, r.c, r.ctx)
	if c := resp.Status.Conditions[0]; c.Status || c.Reason != "PlatformUnavailable" || !strings.Contains(c.Message, "no platform works here") {
		t.Errorf("RuntimeReady with no platform = %v", c)
	}
	_, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("p")})
	wantCode(t, err, codes.FailedPrecondition, `runtime handler "" needs the auto platform`, "no platform works here")
}

// The daemon measures once, at start-up, and serves what it measured.
func TestServeMeasuresPlatforms(t *testing.T) {
	withImageService(t, func(Config, *slog.Logger) (image.Service, io.Closer, error) { return newFake(), nil, nil })
	cfg := testConfig(t)
	cfg.Platform = "ptrace"
	before := measured.Load()
	startServe(t, cfg)
	conn := dial(t, cfg.Socket)
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	ctx := ctxT(t)
	_, st := platformStatusOf(t, rt, ctx)
	if st.Configured != "ptrace" || st.Choice != "systrap" || st.Handlers[0].Platform != "ptrace" {
		t.Errorf("platform status %+v", st)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig(name), RuntimeHandler: "cocoon-systrap"}); err != nil {
			t.Fatal(err)
		}
		if got := lastPods.Load().lastRun.Platform; got != "systrap" {
			t.Errorf("pod %s platform %q", name, got)
		}
	}
	if n := measured.Load() - before; n != 1 {
		t.Errorf("measured %d times for one daemon start and two pods, want once", n)
	}
}
