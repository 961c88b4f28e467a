package cri

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// rt is a Server over fakes, served over gRPC.
type rt struct {
	t    *testing.T
	s    *Server
	pods *fakePods
	imgs *fakeImages
	c    runtimeapi.RuntimeServiceClient
	ctx  context.Context
	// rootfs is the busybox image's single layer.
	rootfs string
}

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1::/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
alice:x:1000:1000::/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
broken line
`

const testGroup = `root:x:0:
wheel:x:10:alice,root
www-data:x:33:
video:x:44:bob, alice
alice:x:1000:
g50000:x:50000:alice
nogroup:x:65534:
`

func newRT(t *testing.T, opts ...Option) *rt {
	t.Helper()
	imgs := newFake()
	bb, alpine := testImages()
	imgs.images[bb.ID] = bb
	imgs.images[alpine.ID] = alpine
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/passwd"), testPasswd)
	writeFile(t, filepath.Join(root, "etc/group"), testGroup)
	imgs.layers[bb.ID] = []string{root}
	imgs.layers[alpine.ID] = []string{t.TempDir()}
	pods := newFakePods()
	s := NewServer(imgs, pods, "v-test", nil, opts...)
	c := serveGRPC(t, s)
	return &rt{t: t, s: s, pods: pods, imgs: imgs, c: c.rt, ctx: ctxT(t), rootfs: root}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testPodConfig(name string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: "uid-" + name, Attempt: 0},
		Hostname:     name + "-host",
		LogDirectory: "/var/log/pods/default_" + name,
		Labels:       map[string]string{"app": name},
		Annotations:  map[string]string{"note": "x"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/pod" + name,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER},
			},
		},
	}
}

func (r *rt) runPod(name string) string {
	r.t.Helper()
	resp, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig(name)})
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.PodSandboxId
}

func testContainerConfig(name string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:latest"},
		LogPath:  name + "/0.log",
		Labels:   map[string]string{"c": name},
	}
}

func (r *rt) createContainer(pod, name string, mod func(*runtimeapi.ContainerConfig)) string {
	r.t.Helper()
	cfg := testContainerConfig(name)
	if mod != nil {
		mod(cfg)
	}
	resp, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: cfg, SandboxConfig: testPodConfig("x")})
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.ContainerId
}

func (r *rt) startContainer(id string) {
	r.t.Helper()
	if _, err := r.c.StartContainer(r.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		r.t.Fatal(err)
	}
}

func TestVersion(t *testing.T) {
	c := startServer(t, newFake())
	resp, err := c.rt.Version(ctxT(t), &runtimeapi.VersionRequest{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.RuntimeName != "cocoon" || resp.RuntimeVersion != "v-test" || resp.RuntimeApiVersion != "v1" || resp.Version != "0.1.0" {
		t.Errorf("Version = %v", resp)
	}
}

func TestStatus(t *testing.T) {
	c := startServer(t, newFake())
	resp, err := c.rt.Status(ctxT(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	conds := map[string]*runtimeapi.RuntimeCondition{}
	for _, c := range resp.Status.GetConditions() {
		conds[c.Type] = c
	}
	if c := conds[runtimeapi.RuntimeReady]; c == nil || !c.Status {
		t.Errorf("RuntimeReady = %v", c)
	}
	if c := conds[runtimeapi.NetworkReady]; c == nil || c.Status || c.Reason != "NetworkPluginNotReady" || !strings.Contains(c.Message, "CNI") {
		t.Errorf("NetworkReady = %v", c)
	}
	var names []string
	for _, h := range resp.RuntimeHandlers {
		names = append(names, h.Name)
	}
	if !reflect.DeepEqual(names, []string{"", "cocoon", "cocoon-kvm", "cocoon-systrap", "cocoon-ptrace"}) {
		t.Errorf("runtime handlers %q", names)
	}

	// Without a pod runtime the runtime is not ready.
	s := NewServer(newFake(), nil, "v", nil)
	resp, _ = s.Status(context.Background(), nil)
	if c := resp.Status.Conditions[0]; c.Status || c.Reason == "" {
		t.Errorf("RuntimeReady without a runtime = %v", c)
	}
	_, err = s.RunPodSandbox(context.Background(), &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("a")})
	wantCode(t, err, codes.Unavailable, "RunPodSandbox")
}

func TestRuntimeConfig(t *testing.T) {
	for driver, want := range map[string]runtimeapi.CgroupDriver{
		CgroupDriverCgroupfs: runtimeapi.CgroupDriver_CGROUPFS,
		CgroupDriverSystemd:  runtimeapi.CgroupDriver_SYSTEMD,
	} {
		cfg := DefaultConfig()
		cfg.CgroupDriver = driver
		s := NewServer(newFake(), newFakePods(), "v", nil, WithConfig(cfg))
		resp, err := s.RuntimeConfig(context.Background(), &runtimeapi.RuntimeConfigRequest{})
		if err != nil || resp.GetLinux().GetCgroupDriver() != want {
			t.Errorf("%s: RuntimeConfig = %v, %v", driver, resp, err)
		}
	}
}

// The RPCs cocoon does not implement say which and why.
func TestRuntimeUnimplemented(t *testing.T) {
	r := newRT(t)
	_, err := r.c.CheckpointContainer(r.ctx, &runtimeapi.CheckpointContainerRequest{})
	wantCode(t, err, codes.Unimplemented, "CheckpointContainer:", "checkpoint")
	_, err = r.c.CheckpointPod(r.ctx, &runtimeapi.CheckpointPodRequest{})
	wantCode(t, err, codes.Unimplemented, "CheckpointPod:")
	_, err = r.c.RestorePod(r.ctx, &runtimeapi.RestorePodRequest{})
	wantCode(t, err, codes.Unimplemented, "RestorePod:")
}

// No RuntimeService RPC panics or fails with Unknown or Internal on a
// request that is nil or all zero; none falls through to the generic
// message of UnimplementedRuntimeServiceServer.
func TestRuntimeZeroRequests(t *testing.T) {
	s := NewServer(newFake(), newFakePods(), "v-test", nil)
	iface := reflect.TypeFor[runtimeapi.RuntimeServiceServer]()
	sv := reflect.ValueOf(s)
	n := 0
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		fn := sv.MethodByName(m.Name)
		if !m.IsExported() || fn.Type().NumIn() != 2 || fn.Type().In(0) != reflect.TypeFor[context.Context]() {
			continue // streaming RPCs are tested over gRPC
		}
		n++
		for _, zero := range []bool{true, false} {
			t.Run(m.Name, func(t *testing.T) {
				in := fn.Type().In(1)
				arg := reflect.Zero(in)
				if !zero {
					arg = reflect.New(in.Elem())
				}
				out := fn.Call([]reflect.Value{reflect.ValueOf(context.Background()), arg})
				err, _ := out[1].Interface().(error)
				switch status.Code(err) {
				case codes.Unknown, codes.Internal:
					t.Errorf("%v", err)
				}
				if err != nil && !strings.HasPrefix(status.Convert(err).Message(), m.Name) {
					t.Errorf("message does not name the RPC: %v", err)
				}
				if strings.Contains(status.Convert(err).Message(), "method "+m.Name+" not implemented") {
					t.Errorf("generic message: %v", err)
				}
			})
		}
	}
	if n < 25 {
		t.Errorf("checked only %d RPCs", n)
	}
}

// UpdateRuntimeConfig, which kubelet calls at start-up, succeeds.
func TestUpdateRuntimeConfigAccepted(t *testing.T) {
	s := NewServer(newFake(), newFakePods(), "v-test", nil)
	if _, err := s.UpdateRuntimeConfig(context.Background(), &runtimeapi.UpdateRuntimeConfigRequest{}); err != nil {
		t.Fatal(err)
	}
}
