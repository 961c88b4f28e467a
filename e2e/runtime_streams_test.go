package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestStreams drives the streaming server through crictl: exec with
// standard input, exec with a terminal, and attach to a container that
// reads its standard input.
func TestStreams(t *testing.T) {
	f := newPodFixture(t)
	pod, podCfg := f.runPod("streams")
	sleeper := f.create(pod, podCfg, "sleeper", "sleep", "1000")
	f.c.run(false, "start", sleeper)
	f.waitState(sleeper, "CONTAINER_RUNNING")

	// exec -i: standard input reaches the process and its end is seen.
	cmd := exec.Command(f.c.bin, "--config", f.c.config, "exec", "-i", sleeper, "sh", "-c", "tr a-z A-Z; echo done")
	cmd.Stdin = strings.NewReader("piped through\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PIPED THROUGH") || !strings.Contains(string(out), "done") {
		t.Errorf("crictl exec -i: %v\n%s", err, out)
	}

	// exec -it: the process has a terminal (crictl wants its own input
	// to be one, so script(1) gives it a pseudo-terminal).
	if script, err := exec.LookPath("script"); err == nil {
		line := fmt.Sprintf("%s --config %s exec -it %s sh -c 'tty; test -t 0 && test -t 1 && echo tty-ok'", f.c.bin, f.c.config, sleeper)
		out, err = exec.Command(script, "-qec", line, "/dev/null").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "tty-ok") || !strings.Contains(string(out), "/dev/pts/") {
			t.Errorf("crictl exec -it: %v\n%s", err, out)
		}
	}

	// attach: a container that echoes its standard input.
	cfg := f.writeJSON("ctr-echo.json", map[string]any{
		"metadata":   map[string]any{"name": "echo"},
		"image":      map[string]any{"image": f.image},
		"command":    []string{"sh", "-c", "while read line; do echo got $line; done; echo eof"},
		"log_path":   "echo.log",
		"stdin":      true,
		"stdin_once": true,
		"linux":      map[string]any{},
	})
	echo := strings.TrimSpace(f.c.stdout("create", pod, cfg, podCfg))
	f.c.run(false, "start", echo)
	f.waitState(echo, "CONTAINER_RUNNING")
	cmd = exec.Command(f.c.bin, "--config", f.c.config, "attach", "-i", echo)
	cmd.Stdin = strings.NewReader("one\ntwo\n")
	out, err = cmd.CombinedOutput()
	if !strings.Contains(string(out), "got one") || !strings.Contains(string(out), "got two") {
		t.Errorf("crictl attach -i: %v\n%s", err, out)
	}
	// stdin_once: the container's input ends when the attach detaches.
	st := f.waitState(echo, "CONTAINER_EXITED")
	if st.Status.ExitCode != 0 {
		t.Errorf("echo container exited %d", st.Status.ExitCode)
	}
	logs := f.c.run(false, "logs", echo)
	for _, want := range []string{"got one", "got two", "eof"} {
		if !strings.Contains(logs, want) {
			t.Errorf("echo logs lack %q:\n%s", want, logs)
		}
	}
}

// TestBadRequests sends malformed and impossible CRI requests to a real
// daemon: each gets the right code and the daemon keeps serving.
func TestBadRequests(t *testing.T) {
	f := newPodFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := f.d.rt
	check := func(what string, err error, want codes.Code) {
		t.Helper()
		if status.Code(err) != want {
			t.Errorf("%s: got %v, want %v", what, err, want)
		}
	}
	_, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{})
	check("RunPodSandbox without config", err, codes.InvalidArgument)
	_, err = rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: strings.Repeat("n", 1<<16), Namespace: "x", Uid: "u"},
	}})
	check("RunPodSandbox with a 64 KiB name", err, codes.InvalidArgument)
	_, err = rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "hostnet", Namespace: "x", Uid: "u"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE},
		}},
	}})
	check("RunPodSandbox with the host PID namespace", err, codes.InvalidArgument)
	_, err = rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{RuntimeHandler: "runc", Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "handler", Namespace: "x", Uid: "u"},
	}})
	check("RunPodSandbox with an unknown handler", err, codes.InvalidArgument)
	_, err = rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: strings.Repeat("f", 64)})
	check("PodSandboxStatus of an unknown pod", err, codes.NotFound)
	_, err = rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "../../etc"})
	if c := status.Code(err); c != codes.NotFound && c != codes.InvalidArgument {
		t.Errorf("ContainerStatus of a path: %v", err)
	}
	_, err = rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{})
	check("StartContainer without an ID", err, codes.InvalidArgument)

	pod, podCfg := f.runPod("bad")
	podConfig := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "bad", Namespace: "e2e", Uid: "uid-bad"},
		LogDirectory: filepath.Join(f.logDir, "bad"),
	}
	_, err = rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: podConfig, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "noimage"},
		Image:    &runtimeapi.ImageSpec{Image: "127.0.0.1:1/absent:1"},
	}})
	check("CreateContainer with an image not present", err, codes.NotFound)
	_, err = rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: podConfig, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "escape"},
		Image:    &runtimeapi.ImageSpec{Image: f.image},
		LogPath:  "../../../etc/evil.log",
	}})
	check("CreateContainer with a log path out of the pod's directory", err, codes.InvalidArgument)
	_, err = rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: podConfig, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "device"},
		Image:    &runtimeapi.ImageSpec{Image: f.image},
		Devices:  []*runtimeapi.Device{{HostPath: "/dev/sda", ContainerPath: "/dev/sda", Permissions: "rwm"}},
	}})
	check("CreateContainer with a host device", err, codes.InvalidArgument)
	if _, err := os.Stat("/etc/evil.log"); err == nil {
		t.Error("/etc/evil.log was created")
	}

	// The daemon still serves, and the pod still works.
	ctr := f.create(pod, podCfg, "after", "sleep", "1000")
	f.c.run(false, "start", ctr)
	if out := f.c.run(false, "exec", ctr, "echo", "still-serving"); !strings.Contains(out, "still-serving") {
		t.Errorf("exec after bad requests = %q", out)
	}
}
