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

// PortForward returns the URL of a port forward into a ready pod; the
// streaming server then calls streamRuntime.PortForward once per
// forwarded connection.
func (s *Server) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	const rpc = "PortForward"
	m, p, err := s.lookupPod(ctx, rpc, req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	if _, ok := m.(podsandbox.PortForwarder); !ok {
		return nil, status.Errorf(codes.Unimplemented, "%s %s: this runtime cannot forward ports", rpc, p.Config.ID)
	}
	for _, port := range req.GetPort() {
		if port <= 0 || port > 65535 {
			return nil, status.Errorf(codes.InvalidArgument, "%s %s: port %d is out of range (1-65535)", rpc, p.Config.ID, port)
		}
	}
	if p.State != podsandbox.PodReady {
		return nil, status.Errorf(codes.FailedPrecondition, "%s %s: the pod is %s, not ready", rpc, p.Config.ID, p.State)
	}
	srv, err := s.streamServer(rpc)
	if err != nil {
		return nil, err
	}
	resp, err := srv.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: p.Config.ID, Port: req.GetPort()})
	if err != nil {
		return nil, podError(rpc, p.Config.ID, err)
	}
	return resp, nil
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

// PortForward serves one forwarded connection of a port-forward
// session, until both directions are done.
func (r streamRuntime) PortForward(ctx context.Context, podSandboxID string, port int32, stream io.ReadWriteCloser) error {
	m, err := r.s.manager("PortForward")
	if err != nil {
		return err
	}
	pf, ok := m.(podsandbox.PortForwarder)
	if !ok {
		return fmt.Errorf("port-forward to port %d of pod %s: this runtime cannot forward ports", port, podSandboxID)
	}
	if err := pf.PortForward(ctx, podSandboxID, port, halfClosable(stream)); err != nil {
		return podError("PortForward", podSandboxID, err)
	}
	return nil
}

// httpStream is what the streaming server's SPDY streams
// (httpstream.Stream) have beyond io.ReadWriteCloser; their Close sends
// an end of stream and leaves reading open: a half-close.
type httpStream interface {
	io.ReadWriteCloser
	Reset() error
	Headers() http.Header
}

// halfCloseStream lets podsandbox half-close an httpstream.Stream.
type halfCloseStream struct{ httpStream }

func (s halfCloseStream) CloseWrite() error { return s.Close() }

// halfClosable returns stream with a CloseWrite when its Close is a
// half-close. The websocket protocol's streams have none: a forward
// over them ends when the pod's side does.
func halfClosable(stream io.ReadWriteCloser) io.ReadWriteCloser {
	if hs, ok := stream.(httpStream); ok {
		return halfCloseStream{hs}
	}
	return stream
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
