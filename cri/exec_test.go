package cri

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

func (r *rt) runningContainer() (pod, id string) {
	r.t.Helper()
	pod = r.runPod("exec")
	id = r.createContainer(pod, "c", func(c *runtimeapi.ContainerConfig) {
		c.Envs = []*runtimeapi.KeyValue{{Key: "K", Value: []byte("v")}}
	})
	r.startContainer(id)
	return pod, id
}

func TestExecSync(t *testing.T) {
	r := newRT(t)
	_, id := r.runningContainer()
	r.pods.with(func() {
		r.pods.exec = func(_ context.Context, cfg podsandbox.ExecConfig) (int32, error) {
			io.WriteString(cfg.Stdout, "out:"+strings.Join(cfg.Process.Args, " "))
			io.WriteString(cfg.Stderr, "err")
			return 3, nil
		}
	})
	resp, err := r.c.ExecSync(r.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"echo", "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Stdout) != "out:echo hi" || string(resp.Stderr) != "err" || resp.ExitCode != 3 {
		t.Errorf("ExecSync = %v", resp)
	}
	// The exec runs as the container's process does.
	p := r.pods.lastExec.Process
	if p.User.UID != 1000 || !strings.Contains(strings.Join(p.Env, " "), "K=v") || p.TTY || p.Stdin {
		t.Errorf("exec process %+v", p)
	}

	// Output beyond 16 MiB per stream is dropped.
	r.pods.with(func() {
		r.pods.exec = func(_ context.Context, cfg podsandbox.ExecConfig) (int32, error) {
			chunk := bytes.Repeat([]byte("x"), 1<<20)
			for range 17 {
				cfg.Stdout.Write(chunk)
			}
			return 0, nil
		}
	})
	if big, err := r.s.ExecSync(r.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"yes"}}); err != nil || len(big.Stdout) != maxExecSyncOutput {
		t.Errorf("capped output: %d bytes, %v", len(big.GetStdout()), err)
	}

	// A timeout kills the command: DeadlineExceeded.
	killed := make(chan error, 1)
	r.pods.with(func() {
		r.pods.exec = func(ctx context.Context, cfg podsandbox.ExecConfig) (int32, error) {
			<-ctx.Done()
			killed <- ctx.Err()
			return 0, ctx.Err()
		}
	})
	_, err = r.c.ExecSync(r.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sleep", "100"}, Timeout: 1})
	wantCode(t, err, codes.DeadlineExceeded, "ExecSync "+id, "timed out after 1s")
	if err := <-killed; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("exec context ended with %v", err)
	}

	_, err = r.c.ExecSync(r.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id})
	wantCode(t, err, codes.InvalidArgument, "ExecSync", "cmd is empty")
	_, err = r.c.ExecSync(r.ctx, &runtimeapi.ExecSyncRequest{ContainerId: "nope", Cmd: []string{"true"}})
	wantCode(t, err, codes.NotFound, "ExecSync nope")
	r.c.StopContainer(r.ctx, &runtimeapi.StopContainerRequest{ContainerId: id})
	_, err = r.c.ExecSync(r.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"true"}})
	wantCode(t, err, codes.FailedPrecondition, "ExecSync "+id, "not running")
}

func TestStreaming(t *testing.T) {
	r := newRT(t)
	pod, id := r.runningContainer()

	// Without the streaming server: Unavailable.
	_, err := r.c.Exec(r.ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh"}, Stdout: true})
	wantCode(t, err, codes.Unavailable, "Exec", "streaming server")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop, err := r.s.StartStreaming(l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	base := "http://" + l.Addr().String() + "/"
	ex, err := r.c.Exec(r.ctx, &runtimeapi.ExecRequest{ContainerId: id[:12], Cmd: []string{"sh"}, Stdin: true, Stdout: true, Tty: true})
	if err != nil || !strings.HasPrefix(ex.Url, base+"exec/") {
		t.Errorf("Exec = %v, %v (want a URL under %s)", ex, err, base)
	}
	at, err := r.c.Attach(r.ctx, &runtimeapi.AttachRequest{ContainerId: id, Stdout: true, Stderr: true})
	if err != nil || !strings.HasPrefix(at.Url, base+"attach/") {
		t.Errorf("Attach = %v, %v", at, err)
	}
	// A URL is served (the streams need an upgrading client; a plain
	// GET is refused by the protocol handler, not with a 404), and
	// only once.
	resp, err := http.Get(at.Url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Errorf("GET %s: %s", at.Url, resp.Status)
	}
	if resp, err := http.Get(at.Url); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("second GET: %v %v", resp.Status, err)
	}
	_, err = r.c.Exec(r.ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh"}, Tty: true, Stderr: true})
	wantCode(t, err, codes.InvalidArgument, "Exec", "tty and stderr")
	pf, err := r.c.PortForward(r.ctx, &runtimeapi.PortForwardRequest{PodSandboxId: pod, Port: []int32{80}})
	if err != nil || !strings.Contains(pf.GetUrl(), "/portforward/") {
		t.Errorf("PortForward = %v, %v", pf, err)
	}
	_, err = r.c.PortForward(r.ctx, &runtimeapi.PortForwardRequest{PodSandboxId: pod, Port: []int32{70000}})
	wantCode(t, err, codes.InvalidArgument, "PortForward", "out of range")
	_, err = r.c.PortForward(r.ctx, &runtimeapi.PortForwardRequest{PodSandboxId: "nope"})
	wantCode(t, err, codes.NotFound, "PortForward nope")

	// The runtime side the streaming server calls.
	sr := streamRuntime{r.s}
	var out bytes.Buffer
	r.pods.with(func() {
		r.pods.exec = func(_ context.Context, cfg podsandbox.ExecConfig) (int32, error) {
			if cfg.Stderr != nil || !cfg.Process.Stdin || !cfg.Process.TTY {
				t.Errorf("exec config %+v", cfg)
			}
			in, _ := io.ReadAll(cfg.Stdin)
			cfg.Stdout.Write(in)
			return 7, nil
		}
	})
	err = sr.Exec(r.ctx, id, []string{"cat"}, strings.NewReader("hello"), nopCloser{&out}, nil, true, nil)
	var ee exitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 7 || !ee.Exited() || out.String() != "hello" {
		t.Errorf("stream exec = %v, output %q", err, out.String())
	}
	out.Reset()
	if err := sr.Attach(r.ctx, id, nil, nopCloser{&out}, nil, false, nil); err != nil || out.String() != "attached" {
		t.Errorf("stream attach = %v, %q", err, out.String())
	}
	pfs := &echoStream{in: strings.NewReader("ping")}
	if err := sr.PortForward(r.ctx, pod, 80, pfs); err != nil || pfs.out.String() != "80:ping" {
		t.Errorf("stream port-forward = %v, %q", err, pfs.out.String())
	}
	if err := sr.PortForward(r.ctx, "nope", 80, &echoStream{in: strings.NewReader("")}); err == nil {
		t.Error("port-forward to a missing pod worked")
	}

	// Attach to a container that is not running: FailedPrecondition.
	r.c.StopContainer(r.ctx, &runtimeapi.StopContainerRequest{ContainerId: id})
	_, err = r.c.Attach(r.ctx, &runtimeapi.AttachRequest{ContainerId: id, Stdout: true})
	wantCode(t, err, codes.FailedPrecondition, "Attach "+id, "not running")
	_, err = r.c.Exec(r.ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh"}, Stdout: true})
	wantCode(t, err, codes.FailedPrecondition, "Exec "+id)
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// echoStream is a port-forward stream: reads come from in, writes go to
// out.
type echoStream struct {
	in  io.Reader
	out bytes.Buffer
}

func (s *echoStream) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s *echoStream) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s *echoStream) Close() error                { return nil }
