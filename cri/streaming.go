package cri

// Exec, Attach and PortForward: the RPCs return a URL on the streaming
// server (k8s.io/cri-streaming), which kubelet or crictl then connects
// to; the server calls back into streamRuntime for the streams.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// errNoPortForward is why PortForward fails.
const errNoPortForward = "pod networking is not wired in cocoon yet, so there is no pod port to forward to"

// StartStreaming serves the streaming server on l (a TCP listener) and
// returns the function that stops it (idempotent). The URLs Exec, Attach and
// PortForward return point at l's address.
func (s *Server) StartStreaming(l net.Listener) (stop func() error, err error) {
	cfg := streaming.DefaultConfig
	cfg.Addr = l.Addr().String()
	// Set the base URL from the listener, not from Start: the port is
	// known now even when the configuration says "0".
	cfg.BaseURL = &url.URL{Scheme: "http", Host: l.Addr().String()}
	srv, err := streaming.NewServer(cfg, streamRuntime{s})
	if err != nil {
		return nil, fmt.Errorf("streaming server: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
	s.streamMu.Lock()
	s.stream = srv
	s.streamMu.Unlock()
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	s.log.Info("streaming server listening", "address", l.Addr().String())
	var once sync.Once
	var stopErr error
	return func() error {
		once.Do(func() {
			s.streamMu.Lock()
			s.stream = nil
			s.streamMu.Unlock()
			stopErr = hs.Close()
			if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && stopErr == nil {
				stopErr = serr
			}
		})
		return stopErr
	}, nil
}

// streamServer returns the streaming server, or Unavailable.
func (s *Server) streamServer(rpc string) (streaming.Server, error) {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	if s.stream == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the streaming server is not running", rpc)
	}
	return s.stream, nil
}

// Exec returns the URL of an interactive exec in a running container.
func (s *Server) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	const rpc = "Exec"
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	id := req.GetContainerId()
	if err := checkID(rpc, "container_id", id); err != nil {
		return nil, err
	}
	if err := checkCmd(rpc, req.GetCmd()); err != nil {
		return nil, err
	}
	c, err := s.runningContainer(ctx, m, rpc, id)
	if err != nil {
		return nil, err
	}
	srv, err := s.streamServer(rpc)
	if err != nil {
		return nil, err
	}
	r := &runtimeapi.ExecRequest{ContainerId: c.Config.ID, Cmd: req.GetCmd(), Tty: req.GetTty(), Stdin: req.GetStdin(), Stdout: req.GetStdout(), Stderr: req.GetStderr()}
	resp, err := srv.GetExec(r)
	if err != nil {
		return nil, podError(rpc, c.Config.ID, err)
	}
	return resp, nil
}

// Attach returns the URL to attach to a running container's streams.
func (s *Server) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	const rpc = "Attach"
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	id := req.GetContainerId()
	if err := checkID(rpc, "container_id", id); err != nil {
		return nil, err
	}
	c, err := s.runningContainer(ctx, m, rpc, id)
	if err != nil {
		return nil, err
	}
	srv, err := s.streamServer(rpc)
	if err != nil {
		return nil, err
	}
	r := &runtimeapi.AttachRequest{ContainerId: c.Config.ID, Tty: req.GetTty(), Stdin: req.GetStdin(), Stdout: req.GetStdout(), Stderr: req.GetStderr()}
	resp, err := srv.GetAttach(r)
	if err != nil {
		return nil, podError(rpc, c.Config.ID, err)
	}
	return resp, nil
}

// PortForward fails for a pod that exists: there is no pod network to
// forward to yet.
func (s *Server) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	const rpc = "PortForward"
	id := req.GetPodSandboxId()
	_, p, err := s.lookupPod(ctx, rpc, id)
	if err != nil {
		return nil, err
	}
	return nil, status.Errorf(codes.Unimplemented, "%s %s: %s", rpc, p.Config.ID, errNoPortForward)
}

// streamRuntime is the streaming server's view of the runtime.
type streamRuntime struct{ s *Server }

// exitError carries a non-zero exit code back to the streaming server,
// which reports it to the client (it checks for k8s.io/utils/exec's
// ExitError interface, which this implements).
type exitError struct{ code int }

func (e exitError) Error() string   { return fmt.Sprintf("command exited with code %d", e.code) }
func (e exitError) String() string  { return e.Error() }
func (e exitError) Exited() bool    { return true }
func (e exitError) ExitStatus() int { return e.code }

func (r streamRuntime) Exec(ctx context.Context, containerID string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	m, err := r.s.manager("Exec")
	if err != nil {
		return err
	}
	c, err := r.s.runningContainer(ctx, m, "Exec", containerID)
	if err != nil {
		return err
	}
	cfg := podsandbox.ExecConfig{
		ContainerID: c.Config.ID,
		Process:     execProcess(c, cmd, tty, in != nil),
		Resize:      convertResize(ctx, resize),
	}
	// Leave absent streams nil (not a typed nil inside an interface).
	if in != nil {
		cfg.Stdin = in
	}
	if out != nil {
		cfg.Stdout = out
	}
	if errw != nil {
		cfg.Stderr = errw
	}
	code, err := m.Exec(ctx, cfg)
	if err != nil {
		return podError("Exec", c.Config.ID, err)
	}
	if code != 0 {
		return exitError{int(code)}
	}
	return nil
}

func (r streamRuntime) Attach(ctx context.Context, containerID string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	m, err := r.s.manager("Attach")
	if err != nil {
		return err
	}
	c, err := r.s.runningContainer(ctx, m, "Attach", containerID)
	if err != nil {
		return err
	}
	cfg := podsandbox.AttachConfig{ContainerID: c.Config.ID, Resize: convertResize(ctx, resize)}
	if in != nil {
		cfg.Stdin = in
	}
	if out != nil {
		cfg.Stdout = out
	}
	if errw != nil {
		cfg.Stderr = errw
	}
	if err := m.Attach(ctx, cfg); err != nil {
		return podError("Attach", c.Config.ID, err)
	}
	return nil
}

func (r streamRuntime) PortForward(_ context.Context, podSandboxID string, port int32, _ io.ReadWriteCloser) error {
	return fmt.Errorf("port-forward to port %d of pod %s: %s", port, podSandboxID, errNoPortForward)
}

// convertResize turns the streaming server's terminal sizes into the
// pod runtime's, until in closes or ctx ends; nil for nil.
func convertResize(ctx context.Context, in <-chan remotecommand.TerminalSize) <-chan podsandbox.TerminalSize {
	if in == nil {
		return nil
	}
	out := make(chan podsandbox.TerminalSize, 1)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case sz, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- podsandbox.TerminalSize{Rows: sz.Height, Cols: sz.Width}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
