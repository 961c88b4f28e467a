package pod_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// createSpec creates a container from spec (its ID, tree and process
// set) with a log file, and returns the log's path.
func (p *pod) createSpec(spec control.ContainerSpec) string {
	p.t.Helper()
	logPath := filepath.Join(p.dir, spec.ID+".log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if spec.Process.Env == nil {
		spec.Process.Env = []string{"PATH=/bin"}
	}
	spec.HasLog = true
	p.must(&control.Request{Op: control.OpCreateContainer, CreateContainer: &spec}, f)
	return logPath
}

// execOut runs args in container id as exec execID and returns its exit
// code and output.
func (p *pod) execOut(id, execID string, args ...string) (int32, string, string) {
	p.t.Helper()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: id, ID: execID,
		Process: control.Process{Args: args, Env: []string{"PATH=/bin"}}}}, outW, errW)
	outW.Close()
	errW.Close()
	errc := make(chan []byte)
	go func() { b, _ := io.ReadAll(errR); errc <- b }()
	out, _ := io.ReadAll(outR)
	errOut := <-errc
	st := p.wait(id, execID)
	return st.ExitCode, string(out), string(errOut)
}

// logText is the concatenated content of a container log's stream.
func logText(recs []logRecord, stream string) string {
	var b strings.Builder
	for _, r := range recs {
		if r.stream == stream {
			b.WriteString(r.content)
			if r.tag == "F" {
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// listScript prints "pid:cmdline" for every process the shell's /proc
// shows.
const listScript = `for d in /proc/[0-9]*; do printf "%s:" "${d#/proc/}"; cat $d/cmdline | busybox tr '\0' ' '; echo; done`

// TestSharedPIDNamespace checks the pod's shared PID namespace (CRI
// NamespaceMode POD): PID 1 is the pod's pause process, every container
// sharing the namespace sees the others' processes, a container's init
// exiting kills only its own container, orphans are reparented to PID 1
// and reaped, and a container in its own namespace sees none of it.
func TestSharedPIDNamespace(t *testing.T) {
	p := startPod(t)
	p.createSpec(control.ContainerSpec{ID: "a", RootTree: "r1", PIDNamespace: control.PIDNamespacePod,
		Process: control.Process{Args: []string{"sleep", "1000"}}})
	p.start("a")
	p.createSpec(control.ContainerSpec{ID: "b", RootTree: "r2", PIDNamespace: control.PIDNamespacePod,
		Process: control.Process{Args: []string{"sleep", "1001"}}})
	p.start("b")

	code, out, errOut := p.execOut("b", "list", "sh", "-c", `echo "pid=$$"; `+listScript)
	if code != 0 {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	for _, want := range []string{"1:/pause \n", ":sleep 1000 \n", ":sleep 1001 \n"} {
		if !strings.Contains(out, want) {
			t.Errorf("b's /proc lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pid=1\n") {
		t.Errorf("an exec is PID 1 of the pod's namespace:\n%s", out)
	}
	// The PodPID critest check: PID 1 is no container's process.
	if code, out, errOut := p.execOut("a", "cmdline", "cat", "/proc/1/cmdline"); code != 0 || out != "/pause\x00" || errOut != "" {
		t.Errorf("cat /proc/1/cmdline: %d %q %q", code, out, errOut)
	}
	// PID 1 ignores signals from inside its namespace.
	if code, out, errOut := p.execOut("b", "kill1", "sh", "-c", "kill -9 1; kill -TERM 1; sleep 0.2; cat /proc/1/cmdline"); code != 0 || out != "/pause\x00" {
		t.Errorf("after kill 1: %d %q %q", code, out, errOut)
	}

	// An orphan goes to PID 1 and is reaped when it exits.
	code, out, errOut = p.execOut("b", "orphan", "sh", "-c",
		`(exec sleep 2 >/dev/null 2>&1 &); for i in 1 2 3 4 5 6 7 8 9 10; do found=; for d in /proc/[0-9]*; do `+
			`[ "$(cat $d/cmdline 2>/dev/null | busybox tr '\0' ' ')" = "sleep 2 " ] && read pid comm state ppid rest < $d/stat && found="orphan ppid=$ppid"; done; `+
			`[ -n "$found" ] && break; sleep 0.2; done; echo "$found"; `+
			`sleep 3; for d in /proc/[0-9]*; do read pid comm state ppid rest < $d/stat; [ $state = Z ] && echo "zombie $pid $comm"; done; true`)
	if code != 0 || !strings.Contains(out, "orphan ppid=1\n") || strings.Contains(out, "zombie") {
		t.Errorf("orphan: %d %q %q", code, out, errOut)
	}

	// a's init exits: a ends, b lives on, and a container started in the
	// namespace afterwards (a restart) works.
	p.must(&control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: control.Target{Container: "a"}, Signal: 9}})
	if st := p.wait("a", ""); st.ExitCode != 137 {
		t.Fatalf("a after SIGKILL: %+v", st)
	}
	logC := p.createSpec(control.ContainerSpec{ID: "c", RootTree: "r1", PIDNamespace: control.PIDNamespacePod,
		Process: control.Process{Args: []string{"sh", "-c", listScript}}})
	p.start("c")
	if st := p.wait("c", ""); st.ExitCode != 0 {
		t.Fatalf("c: %+v %+v", st, readLog(t, logC))
	}
	cOut := logText(readLog(t, logC), "stdout")
	if !strings.Contains(cOut, ":sleep 1001 \n") || strings.Contains(cOut, ":sleep 1000 \n") || !strings.Contains(cOut, "1:/pause \n") {
		t.Errorf("c's view after a exited:\n%s", cOut)
	}
	if st := p.must(&control.Request{Op: control.OpState}); len(st.Containers) == 0 {
		t.Errorf("no containers in state")
	} else {
		for _, c := range st.Containers {
			if c.ID == "b" && c.State != control.StateRunning {
				t.Errorf("b after a's exit: %+v", c)
			}
		}
	}

	// A container of its own sees only itself.
	logD := p.create("d", "r2", sh(listScript))
	p.start("d")
	if st := p.wait("d", ""); st.ExitCode != 0 {
		t.Fatalf("d: %+v", st)
	}
	if dOut := logText(readLog(t, logD), "stdout"); strings.Contains(dOut, "pause") || strings.Contains(dOut, "sleep") {
		t.Errorf("d sees the pod's namespace:\n%s", dOut)
	}
}

// TestTargetPIDNamespace checks an ephemeral container joining a running
// container's PID namespace, and the errors for a missing or stopped
// target.
func TestTargetPIDNamespace(t *testing.T) {
	p := startPod(t)
	p.create("a", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("a")
	logE := p.createSpec(control.ContainerSpec{ID: "e", RootTree: "r2", PIDNamespace: control.PIDNamespaceOf("a"),
		Process: control.Process{Args: []string{"sh", "-c", `echo "pid=$$"; ` + listScript}}})
	p.start("e")
	if st := p.wait("e", ""); st.ExitCode != 0 {
		t.Fatalf("e: %+v", st)
	}
	out := logText(readLog(t, logE), "stdout")
	if !strings.Contains(out, "1:sleep 1000 \n") || strings.Contains(out, "pid=1\n") {
		t.Errorf("e's view of a's namespace:\n%s", out)
	}
	// e's exit left a alone.
	if code, _, errOut := p.execOut("a", "alive", "true"); code != 0 {
		t.Fatalf("a after e: %d %q", code, errOut)
	}

	_, err := p.call(&control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{
		ID: "x", RootTree: "r2", PIDNamespace: control.PIDNamespaceOf("nope"), Process: sh("true")}})
	if errCode(err) != control.CodeInvalid {
		t.Errorf("unknown target: %v", err)
	}
	p.create("idle", "r1", sh("true"))
	_, err = p.call(&control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{
		ID: "y", RootTree: "r2", PIDNamespace: control.PIDNamespaceOf("idle"), Process: sh("true")}})
	if errCode(err) != control.CodeState {
		t.Errorf("created (not started) target: %v", err)
	}
	_, err = p.call(&control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{
		ID: "z", RootTree: "r2", PIDNamespace: "elsewhere", Process: sh("true")}})
	if errCode(err) != control.CodeInvalid {
		t.Errorf("bad PID namespace name: %v", err)
	}
	// The failed creations left their IDs free.
	p.createSpec(control.ContainerSpec{ID: "x", RootTree: "r2", Process: sh("true")})
}

// TestMaskedAndReadonlyPaths checks CRI's masked and read-only paths: a
// masked file reads empty and cannot be executed, a masked directory is
// empty and read-only, a read-only path refuses writes with EROFS (its
// mounts below it still shown), paths that do not exist (/proc/kcore in
// the sandbox) are skipped, and /proc entries can be masked too.
func TestMaskedAndReadonlyPaths(t *testing.T) {
	p := startPod(t)
	// A masked path is resolved as mount(2) resolves its target, through
	// symbolic links: mask a hard link of busybox (as busybox images
	// have), not one of the test tree's symbolic links to it.
	tool := filepath.Join(roots[0], "bin", "masked-tool")
	if err := os.Link(filepath.Join(roots[0], "bin", "busybox"), tool); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	script := `echo "marker=[$(cat /only-r1)]"; /bin/masked-tool; echo "ls=$?"; ` +
		`for f in /etc/*; do echo "etc:$f"; done; echo x > /etc/new || echo etc-ro; ` +
		`echo x > /tmp/new || echo tmp-ro; echo x > /tmp/sub/f && echo sub-rw; echo x > /dev/shm/new && echo shm-rw; ` +
		`echo "uptime=[$(cat /proc/uptime)]"; echo 1 > /proc/sys/vm/overcommit_memory || echo sys-ro; ` +
		`echo "self=$(cat /proc/self/comm)"; busybox grep -E ' /(tmp|etc|only-r1|proc/uptime|proc/sys) ' /proc/mounts; true`
	logM := p.createSpec(control.ContainerSpec{ID: "m", RootTree: "r1",
		Mounts:        []boot.Mount{{Destination: "/tmp/sub", Type: "tmpfs"}},
		MaskedPaths:   []string{"/only-r1", "/bin/masked-tool", "/etc", "/proc/kcore", "/proc/uptime", "/does/not/exist", "/proc/acpi"},
		ReadonlyPaths: []string{"/tmp", "/proc/sys", "/nope", "/dev"},
		Process:       sh(script)})
	p.start("m")
	st := p.wait("m", "")
	recs := readLog(t, logM)
	if st.ExitCode != 0 {
		t.Fatalf("m: %+v %+v", st, recs)
	}
	out, errOut := logText(recs, "stdout"), logText(recs, "stderr")
	for _, want := range []string{"marker=[]\n", "ls=126\n", "etc:/etc/*\n", "etc-ro\n", "tmp-ro\n", "uptime=[]\n", "sys-ro\n", "self=cat\n",
		"r1 /tmp goferfs ro,relatime", "tmpfs /etc tmpfs ro,relatime", "tmpfs /proc/uptime tmpfs rw,nosuid", "proc /proc/sys proc ro,relatime"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s\nstderr:\n%s", want, out, errOut)
		}
	}
	// /dev and /tmp were made read-only, but /dev/shm and /tmp/sub below
	// them are mounts of their own and stay there and writable, as after
	// runc's recursive bind.
	if !strings.Contains(out, "shm-rw\n") || !strings.Contains(out, "sub-rw\n") {
		t.Errorf("/dev/shm under read-only /dev:\n%s\n%s", out, errOut)
	}
	for _, want := range []string{"/bin/masked-tool: Permission denied", "Read-only file system"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// Another container of the pod over the same tree is unaffected.
	logN := p.create("n", "r1", sh(`cat /only-r1; echo x > /tmp/new && echo tmp-rw`))
	p.start("n")
	if st := p.wait("n", ""); st.ExitCode != 0 {
		t.Fatalf("n: %+v", st)
	}
	if out := logText(readLog(t, logN), "stdout"); out != "only-r1\ntmp-rw\n" {
		t.Errorf("n: %q", out)
	}
}
