// Package pod_test runs pods: a gofer and a pod-mode sentry started with
// sandbox.StartPod over busybox root file systems, driven through the
// control protocol as the daemon drives them.
package pod_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sandbox"
	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/control"
	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

var (
	cocoonBin string
	// roots are two busybox root file systems, each with a marker file
	// (/only-r1, /only-r2) the other lacks.
	roots [2]string
	setup error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "cocoon-pod-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(tmp)
	if cocoonBin, err = cocoonbin.Path(tmp); err != nil {
		setup = err
		return m.Run()
	}
	for i := range roots {
		roots[i] = filepath.Join(tmp, fmt.Sprintf("root%d", i+1))
		if err := makeBusyboxRoot(roots[i], fmt.Sprintf("only-r%d", i+1)); err != nil {
			setup = err
			break
		}
	}
	return m.Run()
}

// makeBusyboxRoot makes a root file system of Debian's static busybox.
func makeBusyboxRoot(dir, marker string) error {
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, filepath.Join(dir, "tmp"), filepath.Join(dir, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox (Debian's busybox-static): %w", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"sh", "echo", "cat", "sleep", "ls", "test", "true", "false", "kill", "ps", "head", "yes", "stty", "hostname"} {
		if err := os.Symlink("busybox", filepath.Join(bin, name)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, marker), []byte(marker+"\n"), 0o644)
}

// pod is a started pod under test.
type pod struct {
	t      *testing.T
	p      *sandbox.Pod
	client *control.Client
	dir    string
	log    string
}

func startPod(t *testing.T) *pod {
	t.Helper()
	return startPodWith(t, sandbox.PodSpec("testpod"))
}

// startPodWith starts a pod whose sentry boots with spec.
func startPodWith(t *testing.T, spec boot.Spec) *pod {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("pods need root (the gofer confines itself in namespaces)")
	}
	if setup != nil {
		t.Fatal(setup)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	l, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	logPath := filepath.Join(dir, "pod.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	p, err := sandbox.StartPod(sandbox.PodOptions{
		Exe:             cocoonBin,
		Trees:           []string{"r1=" + roots[0] + ":rw", "r2=" + roots[1] + ":rw"},
		ControlListener: l,
		Spec:            spec,
		Log:             logFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	pd := &pod{t: t, p: p, client: &control.Client{Path: sock}, dir: dir, log: logPath}
	t.Cleanup(func() {
		_ = p.Sentry.Kill()
		_ = p.Gofer.Kill()
		_, _ = p.Sentry.Wait()
		_, _ = p.Gofer.Wait()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("pod log:\n%s", data)
		}
	})
	return pd
}

func (p *pod) call(req *control.Request, files ...*os.File) (*control.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return p.client.Call(ctx, req, files...)
}

func (p *pod) must(req *control.Request, files ...*os.File) *control.Response {
	p.t.Helper()
	resp, err := p.call(req, files...)
	if err != nil {
		p.t.Fatalf("%s: %v", req.Op, err)
	}
	return resp
}

// create creates container id over tree with a log file, and returns the
// log's path.
func (p *pod) create(id, tree string, proc control.Process) string {
	p.t.Helper()
	logPath := filepath.Join(p.dir, id+".log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if proc.Env == nil {
		proc.Env = []string{"PATH=/bin"}
	}
	p.must(&control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{
		ID: id, RootTree: tree, Process: proc, HasLog: true,
	}}, f)
	return logPath
}

func (p *pod) start(id string) {
	p.t.Helper()
	p.must(&control.Request{Op: control.OpStartContainer, Target: &control.Target{Container: id}})
}

func (p *pod) wait(id, exec string) control.ContainerState {
	p.t.Helper()
	resp := p.must(&control.Request{Op: control.OpWait, Target: &control.Target{Container: id, Exec: exec}})
	return *resp.State
}

func sh(script string) control.Process {
	return control.Process{Args: []string{"sh", "-c", script}}
}

// logRecord is one parsed CRI log line.
type logRecord struct {
	stream, tag, content string
}

func readLog(t *testing.T, path string) []logRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []logRecord
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, " ", 4)
		if len(parts) != 4 {
			t.Fatalf("malformed log line %q", line)
		}
		if _, err := time.Parse(time.RFC3339Nano, parts[0]); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, logRecord{parts[1], parts[2], parts[3]})
	}
	return out
}

func hasRecord(recs []logRecord, stream, content string) bool {
	for _, r := range recs {
		if r.stream == stream && r.tag == "F" && r.content == content {
			return true
		}
	}
	return false
}

func errCode(err error) control.ErrorCode {
	var ce *control.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

func TestLogAndExitCode(t *testing.T) {
	p := startPod(t)
	logPath := p.create("c1", "r1", sh("echo out; echo err >&2; printf partial; exit 3"))
	p.start("c1")
	st := p.wait("c1", "")
	if st.State != control.StateExited || st.ExitCode != 3 {
		t.Fatalf("state %+v, want exited with 3", st)
	}
	recs := readLog(t, logPath)
	for _, want := range []logRecord{{"stdout", "F", "out"}, {"stderr", "F", "err"}, {"stdout", "F", "partial"}} {
		if !hasRecord(recs, want.stream, want.content) {
			t.Errorf("log lacks %+v: %+v", want, recs)
		}
	}
	// A removed container is gone.
	p.must(&control.Request{Op: control.OpRemoveContainer, Target: &control.Target{Container: "c1"}})
	if _, err := p.call(&control.Request{Op: control.OpWait, Target: &control.Target{Container: "c1"}}); errCode(err) != control.CodeNotFound {
		t.Fatalf("wait on a removed container: %v", err)
	}
}

func TestContainersAreIsolated(t *testing.T) {
	p := startPod(t)
	p.create("a", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("a")
	logB := p.create("b", "r2", sh("test -e /only-r2 && test ! -e /only-r1 && echo isolated; grep -c ' / ' /proc/mounts"))
	p.start("b")
	if st := p.wait("b", ""); st.ExitCode != 0 {
		t.Fatalf("b: %+v\n%+v", st, readLog(t, logB))
	}
	if !hasRecord(readLog(t, logB), "stdout", "isolated") {
		t.Fatalf("b saw a's files: %+v", readLog(t, logB))
	}
	p.must(&control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: control.Target{Container: "a"}, Signal: 9}})
	if st := p.wait("a", ""); st.ExitCode != 137 || st.Signal != 9 {
		t.Fatalf("a after SIGKILL: %+v", st)
	}
}

func TestInitExitKillsChildren(t *testing.T) {
	p := startPod(t)
	p.create("c", "r1", sh("sleep 1000 & sleep 1000 & echo started"))
	p.start("c")
	done := make(chan control.ContainerState, 1)
	go func() {
		resp, err := p.call(&control.Request{Op: control.OpWait, Target: &control.Target{Container: "c"}})
		if err == nil {
			done <- *resp.State
		}
		close(done)
	}()
	select {
	case st, ok := <-done:
		if !ok || st.ExitCode != 0 {
			t.Fatalf("wait: %+v %v", st, ok)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the container's background children outlived its init")
	}
	stats := p.must(&control.Request{Op: control.OpStats}).Stats
	if len(stats.Containers) != 1 || stats.Containers[0].Processes != 0 {
		t.Fatalf("stats after exit: %+v", stats)
	}
}

func TestExecSignalAndStats(t *testing.T) {
	p := startPod(t)
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("c")

	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	resp := p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "c", ID: "e1",
		Process: control.Process{Args: []string{"sh", "-c", "echo hi; echo oops >&2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 5"}, Env: []string{"PATH=/bin"}}}}, outW, errW)
	outW.Close()
	errW.Close()
	if resp.PID == 0 {
		t.Fatal("exec reported no PID")
	}
	out, _ := io.ReadAll(outR)
	errOut, _ := io.ReadAll(errR)
	if string(out) != "hi\n" || string(errOut) != "oops\n" {
		t.Fatalf("exec output %q, %q", out, errOut)
	}
	if st := p.wait("c", "e1"); st.ExitCode != 5 || st.Exec != "e1" {
		t.Fatalf("exec state %+v", st)
	}
	// Exec IDs are unique per container.
	n1, _ := os.Open(os.DevNull)
	n2, _ := os.Open(os.DevNull)
	defer n1.Close()
	defer n2.Close()
	if _, err := p.call(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "c", ID: "e1",
		Process: control.Process{Args: []string{"true"}}}}, n1, n2); errCode(err) != control.CodeExists {
		t.Fatalf("duplicate exec ID: %v", err)
	}

	// SIGTERM ends an exec process: 128+15.
	p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "c", ID: "e2",
		Process: control.Process{Args: []string{"sleep", "1000"}}}}, n1, n2)
	p.must(&control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: control.Target{Container: "c", Exec: "e2"}, Signal: 15}})
	if st := p.wait("c", "e2"); st.ExitCode != 128+15 || st.Signal != 15 {
		t.Fatalf("exec after SIGTERM: %+v", st)
	}

	stats := p.must(&control.Request{Op: control.OpStats}).Stats
	if stats.CPUNanos == 0 || stats.MemoryBytes == 0 || len(stats.Containers) != 1 {
		t.Fatalf("stats %+v", stats)
	}
	if c := stats.Containers[0]; c.CPUNanos == 0 || c.Processes != 1 || c.MemoryWorkingSetBytes == 0 {
		t.Fatalf("container stats %+v", c)
	}

	// SIGKILL to every process of the container.
	p.must(&control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: control.Target{Container: "c"}, Signal: 9, All: true}})
	if st := p.wait("c", ""); st.ExitCode != 137 {
		t.Fatalf("container after SIGKILL: %+v", st)
	}
}

func TestReopenLogAndStdin(t *testing.T) {
	p := startPod(t)
	proc := sh("echo one; read x; echo two $x")
	proc.Stdin = true
	log1 := p.create("c", "r1", proc)
	p.start("c")
	deadline := time.Now().Add(30 * time.Second)
	for !hasRecord(readLog(t, log1), "stdout", "one") {
		if time.Now().After(deadline) {
			t.Fatal("no first line in the log")
		}
		time.Sleep(20 * time.Millisecond)
	}
	log2 := filepath.Join(p.dir, "c.log.2")
	f, err := os.OpenFile(log2, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.must(&control.Request{Op: control.OpReopenLog, Target: &control.Target{Container: "c"}}, f)
	f.Close()

	inR, inW, _ := os.Pipe()
	go func() {
		inW.Write([]byte("go\n"))
		inW.Close()
	}()
	resp := p.must(&control.Request{Op: control.OpAttach, Attach: &control.AttachSpec{Container: "c", Stdin: true}}, inR)
	inR.Close()
	if resp.State == nil || resp.State.State != control.StateExited || resp.State.ExitCode != 0 {
		t.Fatalf("attach answered %+v", resp.State)
	}
	if !hasRecord(readLog(t, log2), "stdout", "two go") || hasRecord(readLog(t, log1), "stdout", "two go") {
		t.Fatalf("after reopen: old %+v new %+v", readLog(t, log1), readLog(t, log2))
	}
}

func TestStdinOnceAttach(t *testing.T) {
	p := startPod(t)
	proc := control.Process{Args: []string{"cat"}, Stdin: true, StdinOnce: true}
	logPath := p.create("c", "r1", proc)
	p.start("c")
	inR, inW, _ := os.Pipe()
	outR, outW, _ := os.Pipe()
	type result struct {
		resp *control.Response
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := p.call(&control.Request{Op: control.OpAttach, Attach: &control.AttachSpec{Container: "c", Stdin: true, Stdout: true}}, inR, outW)
		res <- result{resp, err}
	}()
	inW.Write([]byte("hello\n"))
	inW.Close()
	r := <-res
	inR.Close()
	outW.Close()
	if r.err != nil || r.resp.State.State != control.StateExited || r.resp.State.ExitCode != 0 {
		t.Fatalf("attach: %+v %v", r.resp, r.err)
	}
	out, _ := io.ReadAll(outR)
	if string(out) != "hello\n" {
		t.Fatalf("attached stdout %q", out)
	}
	if !hasRecord(readLog(t, logPath), "stdout", "hello") {
		t.Fatalf("log %+v", readLog(t, logPath))
	}
}

func TestTTYExec(t *testing.T) {
	p := startPod(t)
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("c")
	outR, outW, _ := os.Pipe()
	p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "c", ID: "t",
		Process: control.Process{Args: []string{"sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty"}, TTY: true}}}, outW)
	outW.Close()
	out, _ := io.ReadAll(bufio.NewReader(outR))
	if !bytes.Contains(out, []byte("is-a-tty")) {
		t.Fatalf("tty exec output %q", out)
	}
	if st := p.wait("c", "t"); st.ExitCode != 0 {
		t.Fatalf("tty exec %+v", st)
	}
	if _, err := p.call(&control.Request{Op: control.OpResize, Resize: &control.ResizeSpec{Target: control.Target{Container: "c"}, Rows: 10, Cols: 20}}); errCode(err) != control.CodeInvalid {
		t.Fatalf("resize of a container without a terminal: %v", err)
	}
}

func TestTTYContainer(t *testing.T) {
	p := startPod(t)
	proc := control.Process{Args: []string{"sh", "-c", "sleep 0.5; stty size; test -t 0 && echo on-tty"}, TTY: true}
	logPath := p.create("c", "r1", proc)
	p.start("c")
	p.must(&control.Request{Op: control.OpResize, Resize: &control.ResizeSpec{Target: control.Target{Container: "c"}, Rows: 33, Cols: 44}})
	if st := p.wait("c", ""); st.ExitCode != 0 {
		t.Fatalf("tty container %+v", st)
	}
	recs := readLog(t, logPath)
	if !hasRecord(recs, "stdout", "33 44\r") || !hasRecord(recs, "stdout", "on-tty\r") {
		t.Fatalf("tty log %+v", recs)
	}
}

// A container with a terminal finds it at /dev/console too, as runc binds
// it there; one without has no /dev/console.
func TestTTYContainerConsole(t *testing.T) {
	p := startPod(t)
	script := `sleep 0.3; echo via-console > /dev/console
[ "$(busybox stat -c %t:%T /dev/console)" = "$(busybox stat -c %t:%T "$(busybox tty)")" ] && echo console-is-tty`
	logPath := p.create("c", "r1", control.Process{Args: []string{"sh", "-c", script}, TTY: true})
	p.start("c")
	if st := p.wait("c", ""); st.ExitCode != 0 {
		t.Fatalf("tty container %+v", st)
	}
	recs := readLog(t, logPath)
	if !hasRecord(recs, "stdout", "via-console\r") || !hasRecord(recs, "stdout", "console-is-tty\r") {
		t.Fatalf("tty log %+v", recs)
	}

	logPath = p.create("d", "r1", control.Process{Args: []string{"sh", "-c", "test -e /dev/console || echo no-console"}})
	p.start("d")
	if st := p.wait("d", ""); st.ExitCode != 0 {
		t.Fatalf("container without a terminal %+v", st)
	}
	if recs := readLog(t, logPath); !hasRecord(recs, "stdout", "no-console") {
		t.Fatalf("log of a container without a terminal %+v", recs)
	}
}

func TestBadRequests(t *testing.T) {
	p := startPod(t)
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	cases := []struct {
		name  string
		req   *control.Request
		files []*os.File
		want  control.ErrorCode
	}{
		{"unknown op", &control.Request{Op: "fly"}, nil, control.CodeInvalid},
		{"no spec", &control.Request{Op: control.OpCreateContainer}, nil, control.CodeInvalid},
		{"log without descriptor", &control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{ID: "x", RootTree: "r1", HasLog: true, Process: control.Process{Args: []string{"true"}}}}, nil, control.CodeInvalid},
		{"extra descriptor", &control.Request{Op: control.OpInfo}, []*os.File{null}, control.CodeInvalid},
		{"unknown container", &control.Request{Op: control.OpStartContainer, Target: &control.Target{Container: "nope"}}, nil, control.CodeNotFound},
		{"bad capability", &control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{ID: "x", RootTree: "r1", Process: control.Process{Args: []string{"true"}, Capabilities: []string{"CAP_FLY"}}}}, nil, control.CodeInvalid},
		{"unknown tree", &control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{ID: "x", RootTree: "nope", Process: control.Process{Args: []string{"true"}}}}, nil, control.CodeInvalid},
		{"bad signal", &control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: control.Target{Container: "nope"}, Signal: 99}}, nil, control.CodeInvalid},
	}
	for _, tc := range cases {
		if _, err := p.call(tc.req, tc.files...); errCode(err) != tc.want {
			t.Errorf("%s: got %v, want code %s", tc.name, err, tc.want)
		}
	}
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	if _, err := p.call(&control.Request{Op: control.OpCreateContainer, CreateContainer: &control.ContainerSpec{ID: "c", RootTree: "r1", Process: control.Process{Args: []string{"true"}}}}); errCode(err) != control.CodeExists {
		t.Errorf("duplicate container: %v", err)
	}
	if _, err := p.call(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "c", ID: "e", Process: control.Process{Args: []string{"true"}}}}, null, null); errCode(err) != control.CodeState {
		t.Errorf("exec in a created container: %v", err)
	}
	p.start("c")
	if _, err := p.call(&control.Request{Op: control.OpStartContainer, Target: &control.Target{Container: "c"}}); errCode(err) != control.CodeState {
		t.Errorf("second start: %v", err)
	}
	if _, err := p.call(&control.Request{Op: control.OpRemoveContainer, Target: &control.Target{Container: "c"}}); errCode(err) != control.CodeState {
		t.Errorf("removing a running container: %v", err)
	}
	if _, err := p.call(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "c", ID: "e", Process: control.Process{Args: []string{"true"}}}}, null); errCode(err) != control.CodeInvalid {
		t.Errorf("exec with too few descriptors: %v", err)
	}
	p.create("m", "r1", control.Process{Args: []string{"/no/such/program"}})
	if _, err := p.call(&control.Request{Op: control.OpStartContainer, Target: &control.Target{Container: "m"}}); err == nil {
		t.Errorf("starting a missing program succeeded")
	}
	if st := p.wait("m", ""); st.State != control.StateExited || st.ExitCode != 127 {
		t.Errorf("container with a missing program: %+v", st)
	}
	// The sentry still serves.
	info := p.must(&control.Request{Op: control.OpInfo}).Info
	if info.PID != p.p.SentryPID {
		t.Errorf("info PID %d, sentry %d", info.PID, p.p.SentryPID)
	}
}

func TestShutdown(t *testing.T) {
	p := startPod(t)
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("c")
	p.must(&control.Request{Op: control.OpShutdown})
	for _, proc := range []*os.Process{p.p.Sentry, p.p.Gofer} {
		done := make(chan *os.ProcessState, 1)
		go func() {
			st, _ := proc.Wait()
			done <- st
		}()
		select {
		case st := <-done:
			if proc == p.p.Sentry && (st == nil || st.Sys().(syscall.WaitStatus).ExitStatus() != 0) {
				t.Errorf("sentry ended with %v", st)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("process %d still running after shutdown", proc.Pid)
		}
	}
}

// TestTrapsCountEverySystemCall checks OpTraps, which the daemon's CPU
// placement weighs: a process's system calls are all counted, and still
// counted once it has exited.
func TestTrapsCountEverySystemCall(t *testing.T) {
	p := startPod(t)
	p.create("c", "r1", control.Process{Args: []string{"sleep", "1000"}})
	p.start("c")
	before := p.must(&control.Request{Op: control.OpTraps}).Traps
	n1, _ := os.Open(os.DevNull)
	n2, _ := os.Open(os.DevNull)
	defer n1.Close()
	defer n2.Close()
	// One-byte blocks: a read and a write each.
	const blocks = 5000
	p.must(&control.Request{Op: control.OpExec, Exec: &control.ExecSpec{Container: "c", ID: "dd",
		Process: control.Process{Args: []string{"busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", fmt.Sprintf("count=%d", blocks)}, Env: []string{"PATH=/bin:/usr/bin"}}}}, n1, n2)
	if st := p.wait("c", "dd"); st.ExitCode != 0 {
		t.Fatalf("dd: %+v", st)
	}
	after := p.must(&control.Request{Op: control.OpTraps}).Traps
	if after < before+2*blocks {
		t.Fatalf("traps went %d → %d over dd's %d system calls", before, after, 2*blocks)
	}
}
