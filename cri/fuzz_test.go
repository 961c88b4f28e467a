package cri

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// Fuzz targets for the translation of CRI requests into the daemon's pod
// and container configs. The bytes are decoded as the gRPC server decodes
// a request (proto.Unmarshal); what does not decode never reaches the
// server and is skipped. A request the server cannot honour must get a
// gRPC status error with a code kubelet can act on, never a panic (which
// the gRPC interceptor would turn into Internal, after logging a stack).
// `go test` runs the seeds; `go test -fuzz '^FuzzX$'` explores.

// checkRefusal fails unless err is a status error with a client-facing
// code: the request was refused, not mishandled.
func checkRefusal(t *testing.T, rpc string, err error) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%s: error without a gRPC status: %v", rpc, err)
	}
	switch st.Code() {
	case codes.OK, codes.Unknown, codes.Internal:
		t.Fatalf("%s: refused with code %v: %v", rpc, st.Code(), err)
	}
	if !strings.HasPrefix(st.Message(), rpc) {
		t.Errorf("%s: message %q does not name the RPC", rpc, st.Message())
	}
}

// fuzzProfile is the seccomp profile every Localhost reference in a fuzzed
// request is pointed at, so that the fuzzer never makes the daemon read an
// arbitrary host file.
const fuzzProfile = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"}]}`

// confineLocalhostProfiles points absolute Localhost references at
// profile and leaves everything else as the fuzzer made it.
func confineLocalhostProfiles(p *runtimeapi.SecurityProfile, deprecated *string, profile string) {
	if p != nil && p.GetProfileType() == runtimeapi.SecurityProfile_Localhost && filepath.IsAbs(p.GetLocalhostRef()) {
		p.LocalhostRef = profile
	}
	if ref, ok := strings.CutPrefix(*deprecated, seccompLocalhost); ok && filepath.IsAbs(ref) {
		*deprecated = seccompLocalhost + profile
	}
}

func mustMarshal(tb testing.TB, m proto.Message) []byte {
	tb.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzCreateContainer decodes a ContainerConfig and creates it in a ready
// pod from an image whose config JSON is fuzzed too. A success must hand
// the pod runtime a config that holds together; a refusal must leave no
// prepared root file system behind.
func FuzzCreateContainer(f *testing.F) {
	dir := f.TempDir()
	layer := filepath.Join(dir, "layer")
	fuzzWriteFile(f, filepath.Join(layer, "etc/passwd"), testPasswd)
	fuzzWriteFile(f, filepath.Join(layer, "etc/group"), testGroup)
	profile := filepath.Join(dir, "profile.json")
	fuzzWriteFile(f, profile, fuzzProfile)

	const img = "docker.io/library/busybox:latest"
	imgCfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/entry"],"Cmd":["serve"],"Env":["PATH=/bin","A=1"],"WorkingDir":"/srv","User":"alice:video","StopSignal":"SIGRTMIN+3"}}`)
	base := func(mod func(c *runtimeapi.ContainerConfig)) []byte {
		c := testContainerConfig("c")
		c.Image.Image = img
		if mod != nil {
			mod(c)
		}
		return mustMarshal(f, c)
	}
	sc := func(c *runtimeapi.ContainerConfig) *runtimeapi.LinuxContainerSecurityContext {
		if c.Linux == nil {
			c.Linux = &runtimeapi.LinuxContainerConfig{}
		}
		if c.Linux.SecurityContext == nil {
			c.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{}
		}
		return c.Linux.SecurityContext
	}
	f.Add(base(nil), imgCfg)
	f.Add(base(nil), []byte(nil))
	f.Add(base(nil), []byte(`{"config":{"StopSignal":"RTMAX-99","User":":"}}`))
	f.Add(base(nil), []byte(`{"config":{"Entrypoint":[""],"Cmd":[]}}`))
	f.Add(base(nil), []byte(`{"config":{"Cmd":["sh"],"User":"4294967295:4294967295"}}`))
	f.Add(base(nil), []byte(`{"config":{"Cmd":["sh"],"User":"../../etc/shadow"}}`))
	f.Add(base(nil), []byte(`{"rootfs":{"type":"layers","diff_ids":["sha256:x"]},"config":{"Cmd":["sh"],"Env":["=","A","=B"]}}`))
	f.Add(base(nil), []byte(`[1,2,3]`))
	f.Add(base(func(c *runtimeapi.ContainerConfig) {
		c.Command = []string{"/bin/sh", "-c"}
		c.Args = []string{"echo hi"}
		c.WorkingDir = "/w"
		c.Envs = []*runtimeapi.KeyValue{{Key: "A", Value: []byte("2")}, {Key: "B=C", Value: []byte("\x00")}}
		c.Mounts = []*runtimeapi.Mount{
			{HostPath: "/var/lib/kubelet/x", ContainerPath: "/data/../data/", Readonly: true},
			{HostPath: "/h", ContainerPath: "/p", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
		}
		c.StopSignal = runtimeapi.Signal_SIGNAL_SIGRTMAXMINUS1
		c.Linux = &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, CpuQuota: -1, CpuPeriod: 100000},
		}
		s := sc(c)
		s.RunAsUser = &runtimeapi.Int64Value{Value: 1000}
		s.RunAsGroup = &runtimeapi.Int64Value{Value: 44}
		s.SupplementalGroups = []int64{4000, -1}
		s.SupplementalGroupsPolicy = runtimeapi.SupplementalGroupsPolicy_Strict
		s.Capabilities = &runtimeapi.Capability{DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"net_bind_service", " cap_chown "}}
		s.MaskedPaths = []string{"/proc/kcore"}
		s.ReadonlyPaths = []string{"/proc/sys"}
	}), imgCfg)
	f.Add(base(func(c *runtimeapi.ContainerConfig) {
		s := sc(c)
		s.RunAsUsername = "www-data"
		s.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/var/lib/kubelet/seccomp/p.json"}
		s.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "abc"}
	}), imgCfg)
	f.Add(base(func(c *runtimeapi.ContainerConfig) {
		s := sc(c)
		s.SeccompProfilePath = "localhost//x/../p.json"
		s.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"ALL"}, DropCapabilities: []string{"SYS_ADMIN", "BOGUS"}}
		s.NamespaceOptions = &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_POD}
	}), imgCfg)
	f.Add(base(func(c *runtimeapi.ContainerConfig) {
		s := sc(c)
		s.RunAsGroup = &runtimeapi.Int64Value{Value: 5}
		s.Privileged = true
		c.LogPath = "../../etc/x"
		c.Devices = []*runtimeapi.Device{{HostPath: "/dev/sda", ContainerPath: "/dev/sda"}}
	}), imgCfg)
	f.Add(base(func(c *runtimeapi.ContainerConfig) {
		c.LogPath = "a/./b//c.log"
		c.Metadata.Attempt = 7
		c.Tty, c.Stdin, c.StdinOnce = true, true, true
		sc(c).RunAsUser = &runtimeapi.Int64Value{Value: 1 << 40}
	}), imgCfg)

	f.Fuzz(func(t *testing.T, cfgBytes, imageConfig []byte) {
		var cfg runtimeapi.ContainerConfig
		if err := proto.Unmarshal(cfgBytes, &cfg); err != nil {
			return
		}
		if s := cfg.GetLinux().GetSecurityContext(); s != nil {
			confineLocalhostProfiles(s.Seccomp, &s.SeccompProfilePath, profile)
		}
		imgs := newFake()
		bb, _ := testImages()
		bb.Config = imageConfig
		imgs.images[bb.ID] = bb
		imgs.layers[bb.ID] = []string{layer}
		pods := newFakePods()
		s := NewServer(imgs, pods, "v-fuzz", nil)
		ctx := context.Background()
		pod, err := s.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: testPodConfig("fuzz")})
		if err != nil {
			t.Fatal(err)
		}

		resp, err := s.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod.PodSandboxId, Config: &cfg})
		if err != nil {
			checkRefusal(t, "CreateContainer", err)
			if left := imgs.preparedRootfs(); len(left) != 0 {
				t.Errorf("refused, but root file systems %v are still prepared", left)
			}
			return
		}
		cc := pods.lastCreate
		if cc.ID != resp.ContainerId || cc.PodID != pod.PodSandboxId {
			t.Errorf("created %s in %s, reported %s", cc.ID, cc.PodID, resp.ContainerId)
		}
		checkCreatedConfig(t, &cc, pods.lastRun.LogDirectory)
	})
}

// checkCreatedConfig checks what CreateContainer promises of every
// config it hands the pod runtime, whatever the request.
func checkCreatedConfig(t *testing.T, cc *podsandbox.ContainerConfig, logDir string) {
	t.Helper()
	p := &cc.Process
	if cc.Name == "" || strings.ContainsRune(cc.Name, 0) {
		t.Errorf("container name %q", cc.Name)
	}
	if len(p.Args) == 0 {
		t.Error("no argv")
	}
	if p.Cwd == "" {
		t.Error("no working directory")
	}
	keys := map[string]bool{}
	for _, kv := range p.Env {
		k, _, _ := strings.Cut(kv, "=")
		if keys[k] {
			t.Errorf("environment sets %q twice: %q", k, p.Env)
		}
		keys[k] = true
	}
	for _, c := range p.Capabilities {
		if !slices.Contains(allCaps, c) {
			t.Errorf("unknown capability %q", c)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(p.Capabilities)))) != len(p.Capabilities) {
		t.Errorf("capabilities repeated: %q", p.Capabilities)
	}
	for _, m := range cc.Mounts {
		if !path.IsAbs(m.ContainerPath) || path.Clean(m.ContainerPath) != m.ContainerPath || !path.IsAbs(m.HostPath) {
			t.Errorf("mount %+v", m)
		}
	}
	for _, l := range [][]string{cc.ReadonlyPaths, cc.MaskedPaths} {
		for _, q := range l {
			if !path.IsAbs(q) || strings.ContainsRune(q, 0) {
				t.Errorf("restricted path %q", q)
			}
		}
	}
	if cc.LogPath != "" {
		rel, err := filepath.Rel(logDir, cc.LogPath)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || rel == "." {
			t.Errorf("log path %q is not inside the pod's log directory %q", cc.LogPath, logDir)
		}
	}
	if cc.StopSignal < 0 || cc.StopSignal > sigRTMax {
		t.Errorf("stop signal %d", cc.StopSignal)
	}
	switch ns := cc.PIDNamespace; {
	case ns == podsandbox.PIDNamespaceContainer, ns == podsandbox.PIDNamespacePod:
	case strings.HasPrefix(ns, podsandbox.PIDNamespaceOf("")) && ns != podsandbox.PIDNamespaceOf(""):
	default:
		t.Errorf("PID namespace %q", ns)
	}
}

// FuzzRunPodSandbox decodes a PodSandboxConfig and runs it with a fuzzed
// runtime handler. A success must hand the pod runtime a config that
// holds together.
func FuzzRunPodSandbox(f *testing.F) {
	dir := f.TempDir()
	profile := filepath.Join(dir, "profile.json")
	fuzzWriteFile(f, profile, fuzzProfile)
	base := func(mod func(c *runtimeapi.PodSandboxConfig)) []byte {
		c := testPodConfig("p")
		if mod != nil {
			mod(c)
		}
		return mustMarshal(f, c)
	}
	f.Add(base(nil), "")
	f.Add(base(nil), "cocoon")
	f.Add(base(nil), "cocoon-systrap")
	f.Add(base(nil), "runc")
	f.Add(base(func(c *runtimeapi.PodSandboxConfig) {
		c.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"svc.cluster.local"}, Options: []string{"ndots:5"}}
		c.PortMappings = []*runtimeapi.PortMapping{
			{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
			{ContainerPort: 80},
			nil,
			{Protocol: runtimeapi.Protocol_SCTP, ContainerPort: 65536, HostPort: 1},
		}
		c.Linux.Resources = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 1 << 62, CpuQuota: 1 << 62, CpuPeriod: 3, CpuShares: 2}
		c.Linux.Overhead = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 1 << 62, CpuQuota: 1 << 62, CpuPeriod: 1}
		c.Linux.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
	}), "cocoon")
	f.Add(base(func(c *runtimeapi.PodSandboxConfig) {
		c.Annotations = map[string]string{internalPrefix + "seccomp": "unconfined"}
		c.LogDirectory = "relative/logs"
		c.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{
			Privileged:       true,
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_TARGET, Ipc: runtimeapi.NamespaceMode_NODE},
		}
	}), "")
	f.Add(base(func(c *runtimeapi.PodSandboxConfig) {
		c.Linux.SecurityContext.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/p.json"}
		c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{
			Network:       runtimeapi.NamespaceMode_NODE,
			UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD},
		}
	}), "cocoon")
	f.Add(base(func(c *runtimeapi.PodSandboxConfig) {
		c.Metadata = nil
		c.Linux = nil
	}), "")
	f.Add([]byte{}, "")

	f.Fuzz(func(t *testing.T, cfgBytes []byte, handler string) {
		var cfg runtimeapi.PodSandboxConfig
		if err := proto.Unmarshal(cfgBytes, &cfg); err != nil {
			return
		}
		if s := cfg.GetLinux().GetSecurityContext(); s != nil {
			confineLocalhostProfiles(s.Seccomp, &s.SeccompProfilePath, profile)
		}
		pods := newFakePods()
		s := NewServer(newFake(), pods, "v-fuzz", nil)
		resp, err := s.RunPodSandbox(context.Background(), &runtimeapi.RunPodSandboxRequest{Config: &cfg, RuntimeHandler: handler})
		if err != nil {
			checkRefusal(t, "RunPodSandbox", err)
			return
		}
		pc := pods.lastRun
		if pc.ID != resp.PodSandboxId || pc.Name == "" || pc.Name != cfg.GetMetadata().GetName() {
			t.Errorf("ran %s (%q), reported %s", pc.ID, pc.Name, resp.PodSandboxId)
		}
		if pc.LogDirectory != "" && !filepath.IsAbs(pc.LogDirectory) {
			t.Errorf("log directory %q", pc.LogDirectory)
		}
		for k := range pc.Annotations {
			if strings.HasPrefix(k, internalPrefix) && k != annNamespaceOptions && k != annSeccomp {
				t.Errorf("request set the internal annotation %q", k)
			}
		}
		var ns runtimeapi.NamespaceOption
		if err := json.Unmarshal([]byte(pc.Annotations[annNamespaceOptions]), &ns); err != nil {
			t.Errorf("namespace options annotation: %v", err)
		}
		if pc.HostNetwork != (cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE) {
			t.Errorf("host network %v for namespace options %v", pc.HostNetwork, cfg.GetLinux().GetSecurityContext().GetNamespaceOptions())
		}
		for _, pm := range pc.PortMappings {
			if pm.HostPort < 1 || pm.HostPort > 65535 || pm.ContainerPort < 1 || pm.ContainerPort > 65535 ||
				!slices.Contains([]string{"tcp", "udp", "sctp"}, pm.Protocol) {
				t.Errorf("port mapping %+v", pm)
			}
		}
	})
}

func fuzzWriteFile(f *testing.F, p, content string) {
	f.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.Fatal(err)
	}
}
