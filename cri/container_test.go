package cri

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

func TestCreateContainer(t *testing.T) {
	r := newRT(t)
	pod := r.runPod("p")
	// The image: Entrypoint, Cmd, Env, WorkingDir, User by name and
	// group, StopSignal.
	r.imgs.with(func() {
		r.imgs.images[busyboxID].Config = []byte(`{"config":{"Entrypoint":["/bin/entry"],"Cmd":["serve"],"Env":["PATH=/bin","A=image","B=image"],"WorkingDir":"/srv","User":"alice:video","StopSignal":"SIGQUIT"}}`)
	})
	id := r.createContainer(pod[:8], "web", func(c *runtimeapi.ContainerConfig) {
		c.Args = []string{"--port", "80"}
		c.Envs = []*runtimeapi.KeyValue{{Key: "B", Value: []byte("request")}}
		c.Annotations = map[string]string{"a": "1"}
		c.Tty, c.Stdin, c.StdinOnce = true, true, true
		c.Mounts = []*runtimeapi.Mount{{HostPath: "/var/lib/kubelet/x", ContainerPath: "/data", Readonly: true}}
		c.Linux = &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, CpuQuota: 20000, CpuPeriod: 100000, OomScoreAdj: 999},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				ReadonlyRootfs:     true,
				NoNewPrivs:         true,
				SupplementalGroups: []int64{4000},
				Capabilities:       &runtimeapi.Capability{DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"NET_BIND_SERVICE"}},
				Seccomp:            &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
				MaskedPaths:        []string{"/proc/kcore"},
			},
		}
	})
	if !isFullID(id) {
		t.Errorf("container ID %q", id)
	}
	cc := r.pods.lastCreate
	p := cc.Process
	if cc.ID != id || cc.PodID != pod || cc.Name != "web" || cc.Image != "docker.io/library/busybox:latest" || cc.ImageRef != busyboxID ||
		cc.LogPath != "/var/log/pods/default_p/web/0.log" || !cc.ReadOnlyRootfs || cc.StopSignal != 3 ||
		cc.Labels["c"] != "web" || cc.Annotations["a"] != "1" {
		t.Errorf("ContainerConfig = %+v", cc)
	}
	if !reflect.DeepEqual(p.Args, []string{"/bin/entry", "--port", "80"}) {
		t.Errorf("args %q", p.Args)
	}
	if !reflect.DeepEqual(p.Env, []string{"PATH=/bin", "HOSTNAME=p-host", "A=image", "B=request"}) {
		t.Errorf("env %q", p.Env)
	}
	if p.Cwd != "/srv" || !p.TTY || !p.Stdin || !p.StdinOnce || !p.NoNewPrivileges || p.OOMScoreAdj == nil || *p.OOMScoreAdj != 999 {
		t.Errorf("process %+v", p)
	}
	if p.User.UID != 1000 || p.User.GID != 44 || !reflect.DeepEqual(p.User.AdditionalGIDs, []uint32{44, 10, 50000, 4000}) {
		t.Errorf("user %+v", p.User)
	}
	if !reflect.DeepEqual(p.Capabilities, []string{"CAP_NET_BIND_SERVICE"}) {
		t.Errorf("capabilities %q", p.Capabilities)
	}
	if len(cc.Mounts) != 1 || cc.Mounts[0].HostPath != "/var/lib/kubelet/x" || cc.Mounts[0].ContainerPath != "/data" || !cc.Mounts[0].ReadOnly {
		t.Errorf("mounts %+v", cc.Mounts)
	}
	if cc.Resources.MemoryLimitBytes != 64<<20 || cc.Resources.CPUQuota != 20000 {
		t.Errorf("resources %+v", cc.Resources)
	}
	if cc.Rootfs.Upper != "/fake/containers/"+id+"/upper" || len(cc.Rootfs.LowerDirs) != 1 || cc.Rootfs.LowerDirs[0] != r.rootfs {
		t.Errorf("rootfs %+v", cc.Rootfs)
	}
	if r.imgs.preparedRootfs()[id] != busyboxID {
		t.Error("rootfs not prepared")
	}

	// The image's Cmd when the request has nothing; the image's
	// numeric user; the default capabilities; the CRI stop signal.
	r.imgs.with(func() {
		r.imgs.images[busyboxID].Config = []byte(`{"config":{"Cmd":["sh"],"User":"1000"}}`)
	})
	r.createContainer(pod, "plain", func(c *runtimeapi.ContainerConfig) { c.StopSignal = runtimeapi.Signal_SIGNAL_SIGUSR1 })
	cc = r.pods.lastCreate
	if !reflect.DeepEqual(cc.Process.Args, []string{"sh"}) || cc.Process.Cwd != "/" || cc.Process.User.UID != 1000 || cc.Process.User.GID != 1000 ||
		!reflect.DeepEqual(cc.Process.Capabilities, defaultCaps) || cc.StopSignal != 10 || cc.Process.Env[0] != defaultPath {
		t.Errorf("plain container %+v", cc)
	}

	// run_as_username, by name.
	r.createContainer(pod, "named", func(c *runtimeapi.ContainerConfig) {
		c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "www-data"}}
	})
	if u := r.pods.lastCreate.Process.User; u.UID != 33 || u.GID != 33 {
		t.Errorf("www-data = %+v", u)
	}
}

func TestCreateContainerRefused(t *testing.T) {
	r := newRT(t)
	pod := r.runPod("p")
	stopped := r.runPod("stopped")
	r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: stopped})
	sec := func(fn func(*runtimeapi.LinuxContainerSecurityContext)) func(*runtimeapi.ContainerConfig) {
		return func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}}
			fn(c.Linux.SecurityContext)
		}
	}
	big := strings.Repeat("y", maxFieldLen+1)
	for _, tt := range []struct {
		name string
		pod  string
		mod  func(*runtimeapi.ContainerConfig)
		nil  bool
		code codes.Code
		want string
	}{
		{name: "no pod id", pod: "-", code: codes.InvalidArgument, want: "pod_sandbox_id is empty"},
		{name: "unknown pod", pod: "0123456789", code: codes.NotFound, want: "0123456789"},
		{name: "stopped pod", pod: stopped, code: codes.FailedPrecondition, want: "not ready"},
		{name: "nil config", nil: true, code: codes.InvalidArgument, want: "no container config"},
		{name: "no name", mod: func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "" }, code: codes.InvalidArgument, want: "metadata.name is empty"},
		{name: "long name", mod: func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = big }, code: codes.InvalidArgument, want: "4097 bytes"},
		{name: "no image", mod: func(c *runtimeapi.ContainerConfig) { c.Image = nil }, code: codes.InvalidArgument, want: "no image given"},
		{name: "image not present", mod: func(c *runtimeapi.ContainerConfig) { c.Image.Image = "nginx:latest" }, code: codes.NotFound, want: `image "nginx:latest" not present`},
		{name: "log path dotdot", mod: func(c *runtimeapi.ContainerConfig) { c.LogPath = "../../etc/cron.d/x" }, code: codes.InvalidArgument, want: `must not contain ".."`},
		{name: "log path absolute", mod: func(c *runtimeapi.ContainerConfig) { c.LogPath = "/etc/x" }, code: codes.InvalidArgument, want: "relative"},
		{name: "devices", mod: func(c *runtimeapi.ContainerConfig) { c.Devices = []*runtimeapi.Device{{HostPath: "/dev/kvm"}} }, code: codes.InvalidArgument, want: "no host devices"},
		{name: "propagation", mod: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{HostPath: "/a", ContainerPath: "/b", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}}
		}, code: codes.InvalidArgument, want: "propagation"},
		{name: "privileged", mod: sec(func(s *runtimeapi.LinuxContainerSecurityContext) { s.Privileged = true }), code: codes.InvalidArgument, want: "privileged"},
		{name: "seccomp localhost missing", mod: sec(func(s *runtimeapi.LinuxContainerSecurityContext) {
			s.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/nonexistent/x.json"}
		}), code: codes.InvalidArgument, want: "/nonexistent/x.json does not exist"},
		{name: "capability", mod: sec(func(s *runtimeapi.LinuxContainerSecurityContext) {
			s.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"CAP_FLY"}}
		}), code: codes.InvalidArgument, want: "unknown capability"},
		{name: "host pid", mod: sec(func(s *runtimeapi.LinuxContainerSecurityContext) {
			s.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE}
		}), code: codes.InvalidArgument, want: "pid NODE"},
		{name: "unknown user", mod: sec(func(s *runtimeapi.LinuxContainerSecurityContext) { s.RunAsUsername = "mallory" }), code: codes.InvalidArgument, want: "mallory"},
		{name: "group without user", mod: sec(func(s *runtimeapi.LinuxContainerSecurityContext) { s.RunAsGroup = &runtimeapi.Int64Value{Value: 3} }), code: codes.InvalidArgument, want: "run_as_group"},
		{name: "no command", mod: func(c *runtimeapi.ContainerConfig) { c.Image.Image = alpineID }, code: codes.InvalidArgument, want: "no command specified"},
		{name: "oom_score_adj", mod: func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{OomScoreAdj: -1001}}
		}, code: codes.InvalidArgument, want: "oom_score_adj -1001 is out of range"},
		{name: "empty env key", mod: func(c *runtimeapi.ContainerConfig) { c.Envs = []*runtimeapi.KeyValue{{Value: []byte("x")}} }, code: codes.InvalidArgument, want: "empty key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(r.imgs.preparedRootfs())
			cfg := testContainerConfig("c")
			if tt.mod != nil {
				tt.mod(cfg)
			}
			if tt.nil {
				cfg = nil
			}
			podID := pod
			switch tt.pod {
			case "-":
				podID = ""
			case "":
			default:
				podID = tt.pod
			}
			_, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg})
			wantCode(t, err, tt.code, "CreateContainer", tt.want)
			if n := len(r.imgs.preparedRootfs()); n != before {
				t.Errorf("a refused container left a rootfs (%d, was %d)", n, before)
			}
		})
	}

	// Name conflicts: same pod, name and attempt.
	r.createContainer(pod, "dup", nil)
	_, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: testContainerConfig("dup")})
	wantCode(t, err, codes.AlreadyExists, "CreateContainer", "dup")
	cfg := testContainerConfig("dup")
	cfg.Metadata.Attempt = 1
	if _, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: cfg}); err != nil {
		t.Errorf("attempt 1: %v", err)
	}

	// A failure of the pod runtime undoes PrepareRootfs.
	before := r.imgs.preparedRootfs()
	r.pods.with(func() { r.pods.createErr = fmt.Errorf("gofer: %w", podsandbox.ErrInvalid) })
	_, err = r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: testContainerConfig("fails")})
	wantCode(t, err, codes.InvalidArgument, "CreateContainer", "gofer")
	if after := r.imgs.preparedRootfs(); len(after) != len(before) {
		t.Errorf("rootfs left after a failed create: %v", after)
	}
	r.pods.with(func() { r.pods.createErr = nil })

	// The store failing to prepare.
	r.imgs.with(func() { r.imgs.prepareErr = errors.New("disk full") })
	_, err = r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: testContainerConfig("nofs")})
	wantCode(t, err, codes.Unknown, "CreateContainer", "disk full")
}

func TestContainerLifecycle(t *testing.T) {
	r := newRT(t)
	pod := r.runPod("p")
	id := r.createContainer(pod, "c", func(c *runtimeapi.ContainerConfig) {
		c.Mounts = []*runtimeapi.Mount{{HostPath: "/h", ContainerPath: "/c"}}
	})
	status := func() *runtimeapi.ContainerStatus {
		t.Helper()
		resp, err := r.c.ContainerStatus(r.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	st := status()
	if st.State != runtimeapi.ContainerState_CONTAINER_CREATED || st.CreatedAt == 0 || st.StartedAt != 0 || st.Metadata.Name != "c" ||
		st.Image.Image != "docker.io/library/busybox:latest" || st.ImageRef != busyboxID || st.ImageId != busyboxID ||
		st.LogPath != "/var/log/pods/default_p/c/0.log" || st.Labels["c"] != "c" || len(st.Mounts) != 1 || st.Mounts[0].HostPath != "/h" ||
		st.User.GetLinux().GetUid() != 1000 || st.User.GetLinux().GetGid() != 1000 || !slices.Contains(st.User.GetLinux().GetSupplementalGroups(), 50000) {
		t.Errorf("created: %v", st)
	}

	r.startContainer(id[:10])
	st = status()
	if st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 {
		t.Errorf("started: %v", st)
	}
	_, err := r.c.StartContainer(r.ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
	wantCode(t, err, codes.FailedPrecondition, "StartContainer "+id)

	if _, err := r.c.UpdateContainerResources(r.ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id, Linux: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 1 << 30}}); err != nil {
		t.Fatal(err)
	}
	if r.pods.resources[id].MemoryLimitBytes != 1<<30 {
		t.Errorf("resources %+v", r.pods.resources[id])
	}
	if _, err := r.c.ReopenContainerLog(r.ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err != nil || len(r.pods.reopened) != 1 {
		t.Errorf("ReopenContainerLog: %v %v", err, r.pods.reopened)
	}

	verbose, err := r.c.ContainerStatus(r.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		PID       int32                      `json:"pid"`
		SandboxID string                     `json:"sandboxID"`
		Config    podsandbox.ContainerConfig `json:"config"`
	}
	if err := json.Unmarshal([]byte(verbose.Info["info"]), &info); err != nil || info.PID != 1 || info.SandboxID != pod || info.Config.ID != id {
		t.Errorf("verbose %q: %v", verbose.Info["info"], err)
	}

	if _, err := r.c.StopContainer(r.ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 7}); err != nil {
		t.Fatal(err)
	}
	if r.pods.lastTimeout != 7*time.Second {
		t.Errorf("timeout %v", r.pods.lastTimeout)
	}
	st = status()
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.FinishedAt == 0 || st.ExitCode != 143 || st.Reason != "Error" {
		t.Errorf("stopped: %v", st)
	}
	// Stopping again is fine; reopening the log of a stopped container
	// is not.
	if _, err := r.c.StopContainer(r.ctx, &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
		t.Error(err)
	}
	_, err = r.c.ReopenContainerLog(r.ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id})
	wantCode(t, err, codes.FailedPrecondition, "ReopenContainerLog "+id, "not running")

	if _, err := r.c.RemoveContainer(r.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.imgs.preparedRootfs()[id]; ok {
		t.Error("rootfs left after RemoveContainer")
	}
	_, err = r.c.ContainerStatus(r.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	wantCode(t, err, codes.NotFound, "ContainerStatus "+id)
	if _, err := r.c.RemoveContainer(r.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Errorf("removing again: %v", err)
	}
	// Stopping a removed container succeeds, as with containerd.
	if _, err := r.c.StopContainer(r.ctx, &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
		t.Errorf("StopContainer of a removed container: %v", err)
	}
	_, err = r.c.UpdateContainerResources(r.ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id})
	wantCode(t, err, codes.NotFound, "UpdateContainerResources "+id)
}

func TestListContainers(t *testing.T) {
	r := newRT(t)
	p1, p2 := r.runPod("one"), r.runPod("two")
	a := r.createContainer(p1, "a", nil)
	b := r.createContainer(p1, "b", nil)
	c := r.createContainer(p2, "c", nil)
	r.startContainer(b)
	list := func(f *runtimeapi.ContainerFilter) []string {
		t.Helper()
		resp, err := r.c.ListContainers(r.ctx, &runtimeapi.ListContainersRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range resp.Containers {
			out = append(out, c.Id)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, tt := range []struct {
		f    *runtimeapi.ContainerFilter
		want []string
	}{
		{nil, sorted(a, b, c)},
		{&runtimeapi.ContainerFilter{Id: a[:6]}, []string{a}},
		{&runtimeapi.ContainerFilter{PodSandboxId: p1}, sorted(a, b)},
		{&runtimeapi.ContainerFilter{PodSandboxId: p2[:5]}, []string{c}},
		{&runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}, []string{b}},
		{&runtimeapi.ContainerFilter{LabelSelector: map[string]string{"c": "c"}}, []string{c}},
		{&runtimeapi.ContainerFilter{PodSandboxId: p2, LabelSelector: map[string]string{"c": "a"}}, nil},
		{&runtimeapi.ContainerFilter{Id: "nope"}, nil},
	} {
		if got := list(tt.f); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("filter %v: got %v, want %v", tt.f, got, tt.want)
		}
	}
	resp, _ := r.c.ListContainers(r.ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: a}})
	if ct := resp.Containers[0]; ct.PodSandboxId != p1 || ct.Metadata.Name != "a" || ct.ImageRef != busyboxID || ct.State != runtimeapi.ContainerState_CONTAINER_CREATED || ct.CreatedAt == 0 {
		t.Errorf("listed %v", ct)
	}
	stream, err := r.c.StreamContainers(r.ctx, &runtimeapi.StreamContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: p1}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || len(first.Containers) != 2 {
		t.Errorf("StreamContainers = %v, %v", first, err)
	}
}
