package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeccompProfiles checks container seccomp profiles through crictl,
// as critest does: RuntimeDefault shows filter mode (2) in
// /proc/self/status, Unconfined 0, and a Localhost profile that blocks
// chmod and sethostname makes them fail with EPERM.
func TestSeccompProfiles(t *testing.T) {
	f := newPodFixture(t)
	pod, podCfg := f.runPod("seccomp")
	// runtimeapi.SecurityProfile_ProfileType values.
	const runtimeDefault, unconfined, localhost = 0, 1, 2
	seccompLinux := func(typ int, ref string) map[string]any {
		return map[string]any{"security_context": map[string]any{"seccomp": map[string]any{"profile_type": typ, "localhost_ref": ref}}}
	}
	profile := filepath.Join(t.TempDir(), "block.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2", "sethostname"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		linux map[string]any
		cmd   string
		want  []string
	}{
		{"rd", seccompLinux(runtimeDefault, ""), "grep Seccomp: /proc/self/status", []string{"Seccomp:\t2"}},
		{"unconfined", seccompLinux(unconfined, ""), "grep Seccomp: /proc/self/status", []string{"Seccomp:\t0"}},
		{"local", seccompLinux(localhost, profile), "grep Seccomp: /proc/self/status; touch /tmp/f; chmod 600 /tmp/f 2>&1; hostname x 2>&1; true",
			[]string{"Seccomp:\t2", "chmod: /tmp/f: Operation not permitted", "hostname: sethostname: Operation not permitted"}},
	} {
		id := f.createWith(pod, podCfg, c.name, c.linux, "sleep", "1000")
		f.c.run(false, "start", id)
		f.waitState(id, "CONTAINER_RUNNING")
		out := f.c.run(false, "exec", id, "sh", "-c", c.cmd)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: exec output %q lacks %q", c.name, out, w)
			}
		}
	}
	// Outside the Localhost profile chmod works.
	id := f.createWith(pod, podCfg, "rd-chmod", seccompLinux(runtimeDefault, ""), "sh", "-c", "touch /tmp/f; chmod 600 /tmp/f && echo chmod-ok; sleep 1000")
	f.c.run(false, "start", id)
	f.waitState(id, "CONTAINER_RUNNING")
	if out := f.c.run(false, "exec", id, "sh", "-c", "chmod 644 /tmp/f && echo chmod-ok"); !strings.Contains(out, "chmod-ok") {
		t.Errorf("RuntimeDefault chmod: %q", out)
	}
}
