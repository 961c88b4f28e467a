package cri

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// maxExecSyncOutput is how much of each of ExecSync's streams is kept:
// kubelet's gRPC client takes messages of at most 16 MiB, as with
// containerd, which also drops the rest silently.
const maxExecSyncOutput = 16 << 20

// ExecSync runs a command in a running container and returns its
// output and exit code. timeout (seconds) 0 means none; when it passes
// the command is killed and the RPC fails with DeadlineExceeded (as
// containerd answers, and as kubelet's exec probes expect).
func (s *Server) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	const rpc = "ExecSync"
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
	if req.GetTimeout() < 0 {
		return nil, invalid(rpc, "timeout %d is negative", req.GetTimeout())
	}
	c, err := s.runningContainer(ctx, m, rpc, id)
	if err != nil {
		return nil, err
	}
	ectx := ctx
	if t := req.GetTimeout(); t > 0 {
		d := maxStopTimeout
		if t < int64(maxStopTimeout/time.Second) {
			d = time.Duration(t) * time.Second
		}
		var cancel context.CancelFunc
		ectx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	stdout, stderr := &cappedBuffer{max: maxExecSyncOutput}, &cappedBuffer{max: maxExecSyncOutput}
	code, err := m.Exec(ectx, podsandbox.ExecConfig{
		ContainerID: c.Config.ID,
		Process:     execProcess(c, req.GetCmd(), false, false),
		Stdout:      stdout,
		Stderr:      stderr,
	})
	if err != nil {
		if ctx.Err() == nil && errors.Is(ectx.Err(), context.DeadlineExceeded) {
			return nil, status.Errorf(codes.DeadlineExceeded, "%s %s: command %q timed out after %ds", rpc, c.Config.ID, trunc(req.GetCmd()[0]), req.GetTimeout())
		}
		return nil, podError(rpc, c.Config.ID, err)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.bytes(), Stderr: stderr.bytes(), ExitCode: code}, nil
}

// checkCmd checks an exec command.
func checkCmd(rpc string, cmd []string) error {
	if len(cmd) == 0 || cmd[0] == "" {
		return invalid(rpc, "cmd is empty")
	}
	return checkList(rpc, "cmd", cmd)
}

// runningContainer resolves id and checks that the container runs.
func (s *Server) runningContainer(ctx context.Context, m podsandbox.Manager, rpc, id string) (*podsandbox.Container, error) {
	c, err := s.resolveContainer(ctx, m, id)
	if err != nil {
		return nil, podError(rpc, id, err)
	}
	if c.State != podsandbox.ContainerRunning {
		return nil, status.Errorf(codes.FailedPrecondition, "%s %s: the container is not running (%s)", rpc, c.Config.ID, c.State)
	}
	return c, nil
}

// execProcess is an exec'd process: the container's process (user,
// environment, working directory, capabilities) with cmd as its argv,
// as containerd does.
func execProcess(c *podsandbox.Container, cmd []string, tty, stdin bool) control.Process {
	p := c.Config.Process
	p.Args = append([]string(nil), cmd...)
	p.Env = append([]string(nil), p.Env...)
	p.TTY = tty
	p.Stdin = stdin
	p.StdinOnce = false
	return p
}

// cappedBuffer keeps the first max bytes written to it and drops the
// rest, always reporting success so that the process is not disturbed.
type cappedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf
}
