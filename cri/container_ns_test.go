package cri

import (
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// TestContainerPIDNamespaceAndPaths checks what CreateContainer hands the
// pod runtime for the PID namespace modes and the masked and read-only
// paths, and what it refuses.
func TestContainerPIDNamespaceAndPaths(t *testing.T) {
	r := newRT(t)
	pod := r.runPod("p") // pid CONTAINER
	if r.pods.lastRun.SharePIDNamespace {
		t.Errorf("pid CONTAINER pod shares its PID namespace")
	}
	shared := testPodConfig("shared")
	shared.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
	resp, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: shared})
	if err != nil {
		t.Fatal(err)
	}
	sharedPod := resp.PodSandboxId
	if !r.pods.lastRun.SharePIDNamespace {
		t.Errorf("pid POD pod does not share its PID namespace")
	}

	withNS := func(ns *runtimeapi.NamespaceOption) func(*runtimeapi.ContainerConfig) {
		return func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: ns}}
		}
	}
	target := r.createContainer(pod, "target", nil)
	for _, tt := range []struct {
		name, pod string
		mod       func(*runtimeapi.ContainerConfig)
		want      string
	}{
		{"default in own-namespace pod", pod, nil, podsandbox.PIDNamespaceContainer},
		{"default in shared pod", sharedPod, nil, podsandbox.PIDNamespacePod},
		{"CONTAINER", sharedPod, withNS(&runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}), podsandbox.PIDNamespaceContainer},
		{"POD", pod, withNS(&runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD}), podsandbox.PIDNamespacePod},
		{"TARGET", pod, withNS(&runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: target[:12]}), podsandbox.PIDNamespaceOf(target)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r.createContainer(tt.pod, "c-"+tt.name[:3]+tt.pod[:4], tt.mod)
			if got := r.pods.lastCreate.PIDNamespace; got != tt.want {
				t.Errorf("PIDNamespace = %q, want %q", got, tt.want)
			}
		})
	}

	// No security context: nothing masked. kubelet's lists: passed on.
	r.createContainer(pod, "plain", nil)
	if cc := r.pods.lastCreate; cc.MaskedPaths != nil || cc.ReadonlyPaths != nil {
		t.Errorf("plain container: masked %q read-only %q", cc.MaskedPaths, cc.ReadonlyPaths)
	}
	masked, readonly := []string{"/proc/kcore", "/proc/acpi"}, []string{"/proc/sys", "/proc/sysrq-trigger"}
	r.createContainer(pod, "masked", func(c *runtimeapi.ContainerConfig) {
		c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{MaskedPaths: masked, ReadonlyPaths: readonly}}
	})
	if cc := r.pods.lastCreate; !reflect.DeepEqual(cc.MaskedPaths, masked) || !reflect.DeepEqual(cc.ReadonlyPaths, readonly) {
		t.Errorf("masked %q read-only %q", cc.MaskedPaths, cc.ReadonlyPaths)
	}

	other := r.runPod("other")
	elsewhere := r.createContainer(other, "elsewhere", nil)
	for _, tt := range []struct {
		name string
		sc   *runtimeapi.LinuxContainerSecurityContext
		want string
	}{
		{"unknown target", &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "feedface"}}, "target_id"},
		{"target in another pod", &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: elsewhere}}, "target_id"},
		{"no target", &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET}}, "without a target_id"},
		{"relative masked path", &runtimeapi.LinuxContainerSecurityContext{MaskedPaths: []string{"proc/kcore"}}, "masked_paths"},
		{"relative read-only path", &runtimeapi.LinuxContainerSecurityContext{ReadonlyPaths: []string{"tmp"}}, "readonly_paths"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testContainerConfig("refused")
			cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: tt.sc}
			_, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: cfg})
			wantCode(t, err, codes.InvalidArgument, "CreateContainer", tt.want)
		})
	}
}
