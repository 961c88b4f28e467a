package pod_test

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/control"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
	"github.com/cocoonrt/cocoon/sentry/seccomp/profile"
)

// defaultCaps is the daemon's default capability set (no CAP_SYS_ADMIN).
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func compileProfile(t *testing.T, js string, caps []string) *control.SeccompProgram {
	t.Helper()
	sp := profile.Default()
	if js != "" {
		var err error
		if sp, err = profile.Parse([]byte(js)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := profile.Compile(sp, caps)
	if err != nil {
		t.Fatal(err)
	}
	return &control.SeccompProgram{Filter: seccomp.EncodeInstructions(p.Instructions)}
}

// TestSeccompProfiles checks that a container's profile is in force from
// its first instruction, in the container's init and in exec processes:
// /proc/self/status shows filter mode, and blocked calls fail with the
// profile's errno.
func TestSeccompProfiles(t *testing.T) {
	p := startPod(t)
	const script = `busybox grep '^Seccomp:' /proc/self/status; busybox touch /tmp/f; busybox chmod 600 /tmp/f && echo chmod-ok; exit 0`

	def := sh(script)
	def.Seccomp = compileProfile(t, "", defaultCaps)
	def.Capabilities = defaultCaps
	logDef := p.create("default", "r1", def)

	local := sh(`busybox grep '^Seccomp:' /proc/self/status; busybox touch /tmp/g; busybox chmod 600 /tmp/g || echo chmod-refused; hostname x 2>&1 || echo hostname-refused; sleep 1000`)
	local.Seccomp = compileProfile(t, `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2", "sethostname"], "action": "SCMP_ACT_ERRNO"}]}`, nil)
	logLocal := p.create("local", "r2", local)

	logNone := p.create("none", "r1", sh(`busybox grep '^Seccomp:' /proc/self/status`))

	for _, id := range []string{"default", "local", "none"} {
		p.start(id)
	}
	for _, c := range []struct {
		id, log string
		want    []string
	}{
		{"default", logDef, []string{"Seccomp:\t2", "chmod-ok"}},
		{"none", logNone, []string{"Seccomp:\t0"}},
	} {
		if st := p.wait(c.id, ""); st.ExitCode != 0 {
			t.Errorf("%s: state %+v", c.id, st)
		}
		recs := readLog(t, c.log)
		for _, w := range c.want {
			if !hasRecord(recs, "stdout", w) {
				t.Errorf("%s: log lacks %q: %+v", c.id, w, recs)
			}
		}
	}

	// The Localhost-style profile: chmod and sethostname refused with
	// EPERM, in the init and in an exec, which gets the same filter. The
	// init's checks come before its sleep: wait for them, so that the
	// kill below does not cut them short on a slow machine.
	for deadline := time.Now().Add(30 * time.Second); !hasRecord(readLog(t, logLocal), "stdout", "hostname-refused") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "local", ID: "e",
		Process: control.Process{Args: []string{"sh", "-c", "busybox grep '^Seccomp:' /proc/self/status; busybox chmod 600 /tmp/g"}, Env: []string{"PATH=/bin"}, Seccomp: local.Seccomp}}}, outW, errW)
	outW.Close()
	errW.Close()
	out, _ := io.ReadAll(outR)
	errOut, _ := io.ReadAll(errR)
	if st := p.wait("local", "e"); st.ExitCode == 0 || !strings.Contains(string(out), "Seccomp:\t2") || !strings.Contains(string(errOut), "Operation not permitted") {
		t.Errorf("exec under the profile: %+v, %q, %q", st, out, errOut)
	}
	p.must(&control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: control.Target{Container: "local"}, Signal: 9}})
	p.wait("local", "")
	recs := readLog(t, logLocal)
	for _, w := range []string{"Seccomp:\t2", "chmod-refused", "hostname-refused"} {
		if !hasRecord(recs, "stdout", w) {
			t.Errorf("local: log lacks %q: %+v", w, recs)
		}
	}
	if !hasRecord(recs, "stderr", "chmod: /tmp/g: Operation not permitted") {
		t.Errorf("local: chmod did not fail with EPERM: %+v", recs)
	}

	// A malformed filter is refused at creation.
	bad := sh("true")
	bad.Seccomp = &control.SeccompProgram{Filter: []byte{1, 2, 3}}
	if _, err := p.call(&control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{ID: "bad", RootTree: "r1", Process: bad}}); errCode(err) != control.CodeInvalid {
		t.Errorf("bad filter: %v", err)
	}
}
