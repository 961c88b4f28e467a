package cri

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

func TestRunPodSandbox(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DefaultMemoryBytes = 256 << 20
	r := newRT(t, WithConfig(cfg))
	pc := testPodConfig("web")
	pc.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"svc.cluster.local"}, Options: []string{"ndots:5"}}
	pc.Linux.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
	pc.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuPeriod: 100000, CpuQuota: 50000, CpuShares: 512}
	pc.Linux.Overhead = &runtimeapi.LinuxContainerResources{CpuPeriod: 100000, CpuQuota: 10000, CpuShares: 2}
	pc.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080}}
	resp, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc, RuntimeHandler: "cocoon"})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.PodSandboxId
	if !isFullID(id) {
		t.Errorf("pod ID %q", id)
	}
	got := r.pods.lastRun
	if got.ID != id || got.Name != "web" || got.Namespace != "default" || got.UID != "uid-web" || got.Hostname != "web-host" ||
		got.LogDirectory != "/var/log/pods/default_web" || got.CgroupParent != "/kubepods/podweb" || got.RuntimeHandler != "cocoon" ||
		got.Labels["app"] != "web" || got.Annotations["note"] != "x" || got.Sysctls["net.ipv4.ip_forward"] != "1" ||
		got.DNS == nil || got.DNS.Servers[0] != "10.0.0.10" || got.DNS.Searches[0] != "svc.cluster.local" || got.DNS.Options[0] != "ndots:5" {
		t.Errorf("PodConfig = %+v", got)
	}
	want := podsandbox.Resources{CPUPeriod: 100000, CPUQuota: 60000, CPUShares: 514, MemoryLimitBytes: 256 << 20}
	if got.Resources != want {
		t.Errorf("resources %+v, want %+v", got.Resources, want)
	}

	// A retry returns the running pod; another attempt makes another.
	again, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
	if err != nil || again.PodSandboxId != id {
		t.Errorf("retry = %v, %v; want %s", again, err, id)
	}
	pc.Metadata.Attempt = 1
	next, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
	if err != nil || next.PodSandboxId == id {
		t.Errorf("attempt 1 = %v, %v", next, err)
	}
	// Once the pod stopped, the same metadata makes a new pod.
	pc.Metadata.Attempt = 0
	r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
	third, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
	if err != nil || third.PodSandboxId == id {
		t.Errorf("after stop = %v, %v", third, err)
	}
}

func TestRunPodSandboxRefused(t *testing.T) {
	r := newRT(t)
	big := strings.Repeat("x", maxFieldLen+1)
	bigLabels := map[string]string{}
	for i := range 20 {
		bigLabels[fmt.Sprint(i)] = strings.Repeat("v", 64<<10)
	}
	ns := func(o *runtimeapi.NamespaceOption) func(*runtimeapi.PodSandboxConfig) {
		return func(c *runtimeapi.PodSandboxConfig) { c.Linux.SecurityContext.NamespaceOptions = o }
	}
	for _, tt := range []struct {
		name    string
		handler string
		mod     func(*runtimeapi.PodSandboxConfig)
		nilCfg  bool
		want    string
	}{
		{name: "nil config", nilCfg: true, want: "no pod sandbox config"},
		{name: "handler", handler: "runc", want: `unknown runtime handler "runc"`},
		{name: "no metadata", mod: func(c *runtimeapi.PodSandboxConfig) { c.Metadata = nil }, want: "metadata"},
		{name: "no name", mod: func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = "" }, want: "metadata.name is empty"},
		{name: "long name", mod: func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = big }, want: "metadata.name is 4097 bytes"},
		{name: "long hostname", mod: func(c *runtimeapi.PodSandboxConfig) { c.Hostname = big }, want: "hostname"},
		{name: "labels", mod: func(c *runtimeapi.PodSandboxConfig) { c.Labels = bigLabels }, want: "labels are"},
		{name: "annotations", mod: func(c *runtimeapi.PodSandboxConfig) { c.Annotations = bigLabels }, want: "annotations are"},
		{name: "reserved", mod: func(c *runtimeapi.PodSandboxConfig) { c.Annotations = map[string]string{annNamespaceOptions: "{}"} }, want: "reserved"},
		{name: "log dir", mod: func(c *runtimeapi.PodSandboxConfig) { c.LogDirectory = "relative/dir" }, want: "log_directory"},
		{name: "network target", mod: ns(&runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_TARGET}), want: "network TARGET"},
		{name: "host pid", mod: ns(&runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE}), want: "pid NODE"},
		{name: "host ipc", mod: ns(&runtimeapi.NamespaceOption{Ipc: runtimeapi.NamespaceMode_NODE}), want: "ipc NODE"},
		{name: "userns", mod: ns(&runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}}), want: "user namespaces"},
		{name: "privileged", mod: func(c *runtimeapi.PodSandboxConfig) { c.Linux.SecurityContext.Privileged = true }, want: "privileged"},
		{name: "seccomp", mod: func(c *runtimeapi.PodSandboxConfig) {
			c.Linux.SecurityContext.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "p.json"}
		}, want: "not an absolute path"},
		{name: "seccomp path", mod: func(c *runtimeapi.PodSandboxConfig) { c.Linux.SecurityContext.SeccompProfilePath = "localhost/p.json" }, want: "not an absolute path"},
		{name: "seccomp path unknown", mod: func(c *runtimeapi.PodSandboxConfig) { c.Linux.SecurityContext.SeccompProfilePath = "apparmor/x" }, want: "not a profile cocoon knows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pc := testPodConfig("refused")
			if tt.mod != nil {
				tt.mod(pc)
			}
			if tt.nilCfg {
				pc = nil
			}
			_, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc, RuntimeHandler: tt.handler})
			wantCode(t, err, codes.InvalidArgument, "RunPodSandbox:", tt.want)
		})
	}
	// Accepted: user namespaces off (NODE), RuntimeDefault and
	// Unconfined seccomp.
	pc := testPodConfig("ok")
	pc.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}
	pc.Linux.SecurityContext.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
	if _, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc}); err != nil {
		t.Error(err)
	}

	// Errors of the pod runtime keep their meaning.
	for _, tt := range []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("sysctl kernel.foo: %w", podsandbox.ErrInvalid), codes.InvalidArgument},
		{fmt.Errorf("x: %w", podsandbox.ErrExists), codes.AlreadyExists},
		{fmt.Errorf("x: %w", podsandbox.ErrState), codes.FailedPrecondition},
		{errors.New("sentry did not start"), codes.Unknown},
	} {
		r.pods.with(func() { r.pods.runErr = tt.err })
		_, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("err")})
		wantCode(t, err, tt.code, "RunPodSandbox ", tt.err.Error())
	}
}

func TestPodSandboxStatus(t *testing.T) {
	r := newRT(t)
	id := r.runPod("st")
	resp, err := r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id[:12], Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Status
	if st.Id != id || st.State != runtimeapi.PodSandboxState_SANDBOX_READY || st.CreatedAt == 0 ||
		st.Metadata.Name != "st" || st.Metadata.Namespace != "default" || st.Metadata.Uid != "uid-st" ||
		st.Labels["app"] != "st" || st.Network == nil || st.Network.Ip != "" {
		t.Errorf("status %v", st)
	}
	if len(st.Annotations) != 1 || st.Annotations["note"] != "x" {
		t.Errorf("annotations %v (internal ones leaked?)", st.Annotations)
	}
	if o := st.GetLinux().GetNamespaces().GetOptions(); o.GetPid() != runtimeapi.NamespaceMode_CONTAINER || o.GetNetwork() != runtimeapi.NamespaceMode_POD {
		t.Errorf("namespace options %v", o)
	}
	var info struct {
		PID    int                  `json:"pid"`
		Cgroup string               `json:"cgroupParent"`
		Config podsandbox.PodConfig `json:"config"`
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil || info.PID != 4242 || info.Cgroup != "/kubepods/podst" || info.Config.ID != id {
		t.Errorf("verbose info %q: %v", resp.Info["info"], err)
	}

	_, err = r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: "feedface"})
	wantCode(t, err, codes.NotFound, "PodSandboxStatus feedface")
	_, err = r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{})
	wantCode(t, err, codes.InvalidArgument, "pod_sandbox_id is empty")
}

func TestStopRemovePodSandbox(t *testing.T) {
	r := newRT(t)
	id := r.runPod("sr")
	cid := r.createContainer(id, "c", nil)
	r.startContainer(cid)
	for range 2 { // idempotent
		if _, err := r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if st.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("state after stop %v", st.Status.State)
	}
	// Unknown pods: CRI says OK.
	if _, err := r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: "nope"}); err != nil {
		t.Error(err)
	}
	if _, err := r.c.RemovePodSandbox(r.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: "nope"}); err != nil {
		t.Error(err)
	}
	if _, ok := r.imgs.preparedRootfs()[cid]; !ok {
		t.Fatal("the container's rootfs is not prepared")
	}
	if _, err := r.c.RemovePodSandbox(r.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.imgs.preparedRootfs()[cid]; ok {
		t.Error("the container's rootfs outlived its pod")
	}
	_, err := r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	wantCode(t, err, codes.NotFound)
	_, err = r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{})
	wantCode(t, err, codes.InvalidArgument, "StopPodSandbox")
	_, err = r.c.RemovePodSandbox(r.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: strings.Repeat("a", 5000)})
	wantCode(t, err, codes.InvalidArgument, "RemovePodSandbox")
}

func TestListPodSandbox(t *testing.T) {
	r := newRT(t)
	a, b, c := r.runPod("a"), r.runPod("b"), r.runPod("c")
	r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: c})
	ids := func(f *runtimeapi.PodSandboxFilter) map[string]bool {
		t.Helper()
		resp, err := r.c.ListPodSandbox(r.ctx, &runtimeapi.ListPodSandboxRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, p := range resp.Items {
			out[p.Id] = true
			if _, ok := p.Annotations[annNamespaceOptions]; ok {
				t.Error("internal annotation listed")
			}
		}
		return out
	}
	eq := func(got map[string]bool, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("got %v, want %v", got, want)
		}
		for _, w := range want {
			if !got[w] {
				t.Errorf("got %v, want %v", got, want)
			}
		}
	}
	eq(ids(nil), a, b, c)
	eq(ids(&runtimeapi.PodSandboxFilter{Id: b}), b)
	eq(ids(&runtimeapi.PodSandboxFilter{Id: b[:10]}), b)
	eq(ids(&runtimeapi.PodSandboxFilter{Id: "zzz"}))
	eq(ids(&runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}}), a, b)
	eq(ids(&runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}}), c)
	eq(ids(&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "a"}}), a)
	eq(ids(&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "a", "x": "y"}}))

	// An ambiguous prefix selects nothing.
	r.pods.with(func() {
		r.pods.pods["zz1"] = &podsandbox.Pod{Config: podsandbox.PodConfig{ID: "zz1"}, State: podsandbox.PodReady}
		r.pods.pods["zz2"] = &podsandbox.Pod{Config: podsandbox.PodConfig{ID: "zz2"}, State: podsandbox.PodReady}
	})
	eq(ids(&runtimeapi.PodSandboxFilter{Id: "zz"}))
	eq(ids(&runtimeapi.PodSandboxFilter{Id: "zz1"}), "zz1")
	_, err := r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: "zz"})
	wantCode(t, err, codes.NotFound, "more than one pod")

	// Streamed, the same pods.
	stream, err := r.c.StreamPodSandboxes(r.ctx, &runtimeapi.StreamPodSandboxesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		resp, err := stream.Recv()
		if err != nil {
			break
		}
		n += len(resp.PodSandboxes)
	}
	if n != 5 {
		t.Errorf("streamed %d pods", n)
	}
}

// A RuntimeClass's memory overhead joins the pod's cgroup limit and is
// kept apart, for the sandbox's own memory rather than the application's.
func TestRunPodSandboxMemoryOverhead(t *testing.T) {
	r := newRT(t)
	pc := testPodConfig("overhead")
	pc.Linux.Resources = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 512 << 20}
	pc.Linux.Overhead = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 32 << 20}
	if _, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc}); err != nil {
		t.Fatal(err)
	}
	got := r.pods.lastRun
	if got.Resources.MemoryLimitBytes != 544<<20 || got.MemoryOverheadBytes != 32<<20 {
		t.Errorf("memory limit %d, overhead %d; want %d and %d", got.Resources.MemoryLimitBytes, got.MemoryOverheadBytes, int64(544<<20), int64(32<<20))
	}
}
