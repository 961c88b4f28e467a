package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runPodWith starts a pod named name with runtime handler (crictl runp
// --runtime) and returns its ID and config file.
func (f *podFixture) runPodWith(handler, name string) (id, cfg string) {
	f.t.Helper()
	cfg = f.writeJSON("pod-"+name+".json", map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "e2e", "uid": "uid-" + name},
		"hostname":      name,
		"log_directory": filepath.Join(f.logDir, name),
		"linux":         map[string]any{},
	})
	id = strings.TrimSpace(f.c.stdout("runp", "--runtime", handler, cfg))
	return id, cfg
}

// runsOnHandler runs a pod named name with runtime handler, checks that
// its sentry runs on platform, and starts a container in it and an exec
// pipeline; it returns the pod and the container.
func (f *podFixture) runsOnHandler(handler, name, platform string) (pod, ctr string) {
	t := f.t
	t.Helper()
	pod, cfg := f.runPodWith(handler, name)
	if h, p := f.podPlatform(pod); h != handler || p != platform {
		t.Errorf("pod with handler %s: handler %q platform %q", handler, h, p)
	}
	if p := f.sentryPlatform(pod); p != platform {
		t.Errorf("the %s pod's sentry runs on %q", handler, p)
	}
	ctr = f.create(pod, cfg, "hello", "sh", "-c", "echo hello from "+platform+"; sleep 1000")
	f.c.run(false, "start", ctr)
	f.waitState(ctr, "CONTAINER_RUNNING")
	want := "exec-on-" + platform
	if out := f.c.run(false, "exec", ctr, "sh", "-c", "echo "+want+"; seq 3 | sort -r | tr '\\n' ,"); !strings.Contains(out, want) || !strings.Contains(out, "3,2,1,") {
		t.Errorf("exec in the %s pod = %q", platform, out)
	}
	return pod, ctr
}

// podPlatform is what a pod's verbose status says about its platform.
func (f *podFixture) podPlatform(pod string) (handler, platform string) {
	f.t.Helper()
	var p struct {
		Status struct {
			RuntimeHandler string `json:"runtimeHandler"`
		} `json:"status"`
		Info struct {
			Handler  string `json:"runtimeHandler"`
			Platform string `json:"platform"`
		} `json:"info"`
	}
	f.c.json(&p, "inspectp", "-o", "json", pod)
	if p.Status.RuntimeHandler != p.Info.Handler {
		f.t.Errorf("pod %s: status says handler %q, info %q", pod, p.Status.RuntimeHandler, p.Info.Handler)
	}
	return p.Info.Handler, p.Info.Platform
}

// sentryPlatform is the platform the pod's sentry says it started: its
// "pod sentry serving" line in the pod's sentry.log, written by the
// sentry itself once the platform runs.
func (f *podFixture) sentryPlatform(pod string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.d.root, "pods", pod, "sentry.log"))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `msg="pod sentry serving"`) {
			continue
		}
		for _, field := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(field, "platform="); ok {
				return v
			}
		}
	}
	f.t.Fatalf("pod %s: no platform in the sentry's log:\n%s", pod, b)
	return ""
}

// TestRuntimeHandlers: the daemon measured the platforms once and
// reports them; a pod with handler cocoon-ptrace runs on ptrace (its
// record says so, and so does its sentry), also after a daemon restart;
// the default handler runs on the measured choice; cocoon-kvm fails with
// FailedPrecondition on a host without a usable KVM; an unknown handler
// is InvalidArgument.
func TestRuntimeHandlers(t *testing.T) {
	f := newPodFixture(t)
	if n := strings.Count(f.d.stderr.String(), `msg="sentry platforms measured"`); n != 1 {
		t.Errorf("the daemon logged %d platform measurements at start-up, want 1:\n%s", n, f.d.stderr.String())
	}

	resp, err := f.d.rt.Status(ctx(t), &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var ps struct {
		Configured  string `json:"configured"`
		Choice      string `json:"choice"`
		Measurement struct {
			Platforms []struct {
				Name      string `json:"name"`
				Available bool   `json:"available"`
				Reason    string `json:"reason"`
				Syscall   int64  `json:"syscallNs"`
			} `json:"platforms"`
		} `json:"measurement"`
		Handlers []struct {
			Handler     string `json:"handler"`
			Platform    string `json:"platform"`
			Unavailable string `json:"unavailable"`
		} `json:"handlers"`
	}
	if err := json.Unmarshal([]byte(resp.Info["platform"]), &ps); err != nil {
		t.Fatalf("Status info[platform] %q: %v", resp.Info["platform"], err)
	}
	t.Logf("Status info[platform]: %s", resp.Info["platform"])
	if ps.Configured != "auto" || ps.Choice == "" {
		t.Errorf("platform status: configured %q, choice %q", ps.Configured, ps.Choice)
	}
	handlers := map[string]string{}
	kvmUnavailable := ""
	for _, h := range ps.Handlers {
		handlers[h.Handler] = h.Platform
		if h.Handler == "cocoon-kvm" {
			kvmUnavailable = h.Unavailable
		}
	}
	if handlers[""] != ps.Choice || handlers["cocoon"] != ps.Choice || handlers["cocoon-ptrace"] != "ptrace" || handlers["cocoon-systrap"] != "systrap" {
		t.Errorf("handler platforms %v (choice %s)", handlers, ps.Choice)
	}
	for _, p := range ps.Measurement.Platforms {
		if p.Available != (p.Syscall > 0) || p.Available == (p.Reason != "") {
			t.Errorf("measurement of %s: %+v", p.Name, p)
		}
	}
	var names []string
	for _, h := range resp.RuntimeHandlers {
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != ",cocoon,cocoon-kvm,cocoon-systrap,cocoon-ptrace" {
		t.Errorf("RuntimeHandlers %q", names)
	}

	// cocoon-ptrace runs its pod on ptrace, and its programs run.
	pod, ctr := f.runsOnHandler("cocoon-ptrace", "on-ptrace", "ptrace")

	// The default handler runs on what auto chose.
	def, _ := f.runPod("on-default")
	if h, p := f.podPlatform(def); h != "" || p != ps.Choice {
		t.Errorf("pod with the default handler: handler %q platform %q, want %q", h, p, ps.Choice)
	}
	if p := f.sentryPlatform(def); p != ps.Choice {
		t.Errorf("the default pod's sentry runs on %q, want %q", p, ps.Choice)
	}

	// A restarted daemon still says where the pod runs.
	f.restartDaemon()
	if h, p := f.podPlatform(pod); h != "cocoon-ptrace" || p != "ptrace" {
		t.Errorf("after a daemon restart: handler %q platform %q", h, p)
	}
	if out := f.c.run(false, "exec", ctr, "echo", "after-restart"); !strings.Contains(out, "after-restart") {
		t.Errorf("exec after restart = %q", out)
	}

	// cocoon-kvm: refused with the reason where KVM cannot run.
	req := &runtimeapi.RunPodSandboxRequest{
		RuntimeHandler: "cocoon-kvm",
		Config: &runtimeapi.PodSandboxConfig{
			Metadata:     &runtimeapi.PodSandboxMetadata{Name: "on-kvm", Namespace: "e2e", Uid: "uid-on-kvm"},
			LogDirectory: filepath.Join(f.logDir, "on-kvm"),
			Linux:        &runtimeapi.LinuxPodSandboxConfig{},
		},
	}
	if _, err := os.Stat("/dev/kvm"); errors.Is(err, os.ErrNotExist) {
		if kvmUnavailable == "" || handlers["cocoon-kvm"] != "" {
			t.Errorf("Status says cocoon-kvm runs on %q without /dev/kvm", handlers["cocoon-kvm"])
		}
		_, err := f.d.rt.RunPodSandbox(ctx(t), req)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `runtime handler "cocoon-kvm" needs the kvm platform`) || !strings.Contains(err.Error(), "/dev/kvm") {
			t.Errorf("RunPodSandbox with cocoon-kvm and no /dev/kvm = %v, want FailedPrecondition naming /dev/kvm", err)
		}
	} else if kvmUnavailable != "" {
		t.Logf("this host has /dev/kvm, which the KVM platform cannot use (%s); the refusal is not checked", kvmUnavailable)
	} else {
		// Where KVM runs, a cocoon-kvm pod runs its programs on it,
		// inside the confined sentry (the daemon hands it /dev/kvm).
		f.runsOnHandler("cocoon-kvm", "kvm-runs", "kvm")
	}

	// An unknown handler is still InvalidArgument.
	req.RuntimeHandler = "runc"
	if _, err := f.d.rt.RunPodSandbox(ctx(t), req); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `unknown runtime handler "runc"`) {
		t.Errorf("RunPodSandbox with handler runc = %v, want InvalidArgument", err)
	}
	if out := f.c.stdout("pods", "-q", "--name", "on-kvm"); strings.TrimSpace(out) != "" {
		t.Errorf("refused pods were made: %q", out)
	}
}
