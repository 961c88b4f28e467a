package cri

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/sentry/control"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
)

func TestSeccompRef(t *testing.T) {
	prof := func(ty runtimeapi.SecurityProfile_ProfileType, ref string) *runtimeapi.SecurityProfile {
		return &runtimeapi.SecurityProfile{ProfileType: ty, LocalhostRef: ref}
	}
	for _, tt := range []struct {
		p    *runtimeapi.SecurityProfile
		path string
		want string
		bad  bool
	}{
		{},
		{p: prof(runtimeapi.SecurityProfile_RuntimeDefault, ""), want: "runtime/default"},
		{p: prof(runtimeapi.SecurityProfile_Unconfined, ""), want: "unconfined"},
		{p: prof(runtimeapi.SecurityProfile_Localhost, "/var/lib/kubelet/seccomp/a/../p.json"), want: "localhost//var/lib/kubelet/seccomp/p.json"},
		{p: prof(runtimeapi.SecurityProfile_Localhost, "p.json"), bad: true},
		// The structured field wins over the deprecated path.
		{p: prof(runtimeapi.SecurityProfile_Unconfined, ""), path: "runtime/default", want: "unconfined"},
		{path: "runtime/default", want: "runtime/default"},
		{path: "docker/default", want: "runtime/default"},
		{path: "unconfined", want: "unconfined"},
		{path: "localhost//p.json", want: "localhost//p.json"},
		{path: "localhost/p.json", bad: true},
		{path: "bogus", bad: true},
	} {
		got, err := seccompRef("x", tt.p, tt.path)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("seccompRef(%v, %q) = %q, %v", tt.p, tt.path, got, err)
		}
	}
}

// runSeccomp runs a compiled program on one x86-64 system call.
func runSeccomp(t *testing.T, p *control.SeccompProgram, nr int32) uint32 {
	t.Helper()
	insns := make([]seccomp.Instruction, len(p.Filter)/seccomp.SizeofSockFilter)
	for i := range insns {
		e := p.Filter[i*8:]
		insns[i] = seccomp.Instruction{Code: uint16(e[0]) | uint16(e[1])<<8, JT: e[2], JF: e[3], K: uint32(e[4]) | uint32(e[5])<<8 | uint32(e[6])<<16 | uint32(e[7])<<24}
	}
	prog, err := seccomp.Compile(insns)
	if err != nil {
		t.Fatal(err)
	}
	return prog.Run(seccomp.SeccompData{Nr: nr, Arch: seccomp.AuditArchX86_64})
}

func TestCreateContainerSeccomp(t *testing.T) {
	r := newRT(t)
	pod := r.runPod("p")
	eperm := seccomp.ActionErrno.Ret(uint16(unix.EPERM))
	allow := seccomp.ActionAllow.Ret(0)
	withProfile := func(p *runtimeapi.SecurityProfile, path string) func(*runtimeapi.ContainerConfig) {
		return func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Seccomp: p, SeccompProfilePath: path}}
		}
	}

	// RuntimeDefault: the default profile, compiled for the default
	// capabilities (no CAP_SYS_ADMIN: mount is refused).
	r.createContainer(pod, "default", withProfile(&runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}, ""))
	sp := r.pods.lastCreate.Process.Seccomp
	if sp == nil {
		t.Fatal("RuntimeDefault: no seccomp program")
	}
	if got := runSeccomp(t, sp, unix.SYS_MOUNT); got != eperm {
		t.Errorf("RuntimeDefault mount: %#x", got)
	}
	if got := runSeccomp(t, sp, unix.SYS_CHMOD); got != allow {
		t.Errorf("RuntimeDefault chmod: %#x", got)
	}
	// With CAP_SYS_ADMIN added, mount is allowed.
	r.createContainer(pod, "admin", func(c *runtimeapi.ContainerConfig) {
		withProfile(nil, "docker/default")(c)
		c.Linux.SecurityContext.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"SYS_ADMIN"}}
	})
	if got := runSeccomp(t, r.pods.lastCreate.Process.Seccomp, unix.SYS_MOUNT); got != allow {
		t.Errorf("RuntimeDefault with CAP_SYS_ADMIN mount: %#x", got)
	}

	// Unconfined and no profile at all: no filter.
	r.createContainer(pod, "unconfined", withProfile(&runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}, ""))
	if r.pods.lastCreate.Process.Seccomp != nil {
		t.Error("Unconfined: a seccomp program")
	}
	r.createContainer(pod, "none", nil)
	if r.pods.lastCreate.Process.Seccomp != nil {
		t.Error("no profile: a seccomp program")
	}

	// Localhost.
	dir := t.TempDir()
	good := filepath.Join(dir, "block-chmod.json")
	if err := os.WriteFile(good, []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat", "sethostname"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r.createContainer(pod, "local", withProfile(&runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: good}, ""))
	sp = r.pods.lastCreate.Process.Seccomp
	if sp == nil || runSeccomp(t, sp, unix.SYS_CHMOD) != eperm || runSeccomp(t, sp, unix.SYS_SETHOSTNAME) != eperm || runSeccomp(t, sp, unix.SYS_MOUNT) != allow {
		t.Errorf("Localhost profile: %v", sp)
	}
	r.createContainer(pod, "local-path", withProfile(nil, "localhost/"+good))
	if sp := r.pods.lastCreate.Process.Seccomp; sp == nil || runSeccomp(t, sp, unix.SYS_CHMOD) != eperm {
		t.Errorf("localhost/ path: %v", sp)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"defaultAction": `), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testContainerConfig("bad")
	withProfile(&runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: bad}, "")(cfg)
	_, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: cfg})
	wantCode(t, err, codes.InvalidArgument, bad)

	// A pod-level RuntimeDefault applies to containers without a
	// profile of their own, not to those that name Unconfined.
	pc := testPodConfig("q")
	pc.Linux.SecurityContext.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	resp, err := r.c.RunPodSandbox(r.ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
	if err != nil {
		t.Fatal(err)
	}
	r.createContainer(resp.PodSandboxId, "inherits", nil)
	if sp := r.pods.lastCreate.Process.Seccomp; sp == nil || runSeccomp(t, sp, unix.SYS_MOUNT) != eperm {
		t.Errorf("pod-level RuntimeDefault: %v", sp)
	}
	r.createContainer(resp.PodSandboxId, "own", withProfile(&runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}, ""))
	if r.pods.lastCreate.Process.Seccomp != nil {
		t.Error("container Unconfined in a RuntimeDefault pod: a seccomp program")
	}
	// The pod's internal annotation is not reported back.
	st, err := r.c.PodSandboxStatus(r.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.GetStatus().GetAnnotations()[annSeccomp]; ok {
		t.Error("PodSandboxStatus reports the internal seccomp annotation")
	}
}
