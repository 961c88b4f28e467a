package podsandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sentryLogPlatform is the platform a pod's sentry says it started, from
// its "pod sentry serving" line in sentry.log.
func sentryLogPlatform(t *testing.T, e *testEnv, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.state, "pods", id, "sentry.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `msg="pod sentry serving"`) {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "platform="); ok {
				return v
			}
		}
	}
	t.Fatalf("no platform in the sentry's log:\n%s", b)
	return ""
}

// A pod's Platform is what its sentry runs on, whatever the runtime's
// default, and it is kept with the pod across a restart of the runtime.
func TestPodPlatform(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r1 := e.open()
	var pods []*Pod
	for _, platform := range []string{"ptrace", "systrap"} {
		cfg := podConfig("on-" + platform)
		cfg.Platform = platform
		pod := mustRunPod(t, r1, cfg)
		if got := sentryLogPlatform(t, e, pod.Config.ID); got != platform {
			t.Errorf("pod with platform %s: its sentry runs on %s", platform, got)
		}
		pods = append(pods, pod)
	}
	cfg := podConfig("bad-platform")
	cfg.Platform = "vmx"
	if _, err := r1.RunPod(ctx, cfg); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `platform "vmx"`) {
		t.Errorf("RunPod with platform vmx: %v, want ErrInvalid naming it", err)
	}
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}

	r2 := e.runtime()
	for _, want := range pods {
		got, err := r2.Pod(ctx, want.Config.ID)
		if err != nil || got.State != PodReady || got.Config.Platform != want.Config.Platform {
			t.Errorf("after restart: %v, %+v; want a ready pod on %s", err, got, want.Config.Platform)
		}
	}
}
