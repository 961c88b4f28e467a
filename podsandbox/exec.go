package podsandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// drainTimeout bounds how long Exec and Attach wait, once the process
// has ended, for its output to reach the caller. Output normally ends
// with the process; a background process that inherited the streams
// would otherwise keep the call open for as long as it lives.
const drainTimeout = 10 * time.Second

// liveContainer returns a running container of a ready pod.
func (r *Runtime) liveContainer(id string) (*ctrState, error) {
	cs := r.lookupCtr(id)
	if cs == nil {
		return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, live := r.ctrPodLocked(cs)
	if state := cs.rec.Container.State; state != ContainerRunning || !live {
		return nil, fmt.Errorf("container %s is %s, not running: %w", id, state, ErrState)
	}
	return cs, nil
}

// streams are the pipes between a caller's readers and writers and a
// process in the sandbox. The sandbox ends are sent with the request and
// closed here once it is sent; the daemon's ends are copied.
type streams struct {
	remote []*os.File // the sandbox's ends, in request order

	stdinW      *os.File
	stdinClosed sync.Once
	outs        sync.WaitGroup // the output copies
	readers     []*os.File     // the daemon's output ends
}

// newStreams makes the pipes: stdin when in is set, and one per output
// writer.
func newStreams(in bool, outs ...io.Writer) (*streams, error) {
	s := &streams{}
	if in {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		s.remote = append(s.remote, r)
		s.stdinW = w
	}
	for range outs {
		r, w, err := os.Pipe()
		if err != nil {
			s.closeAll()
			return nil, err
		}
		s.remote = append(s.remote, w)
		s.readers = append(s.readers, r)
	}
	return s, nil
}

// start begins copying once the request went out: stdin from src (nil
// for an empty input), output to outs (nil discards).
func (s *streams) start(src io.Reader, outs ...io.Writer) {
	s.closeRemote()
	if s.stdinW != nil {
		if src == nil {
			s.closeStdin()
		} else {
			go func() {
				// Not waited for: a caller's reader may block forever;
				// closing the pipe makes the copy end at its next write.
				_, _ = io.Copy(s.stdinW, src)
				s.closeStdin()
			}()
		}
	}
	for i, rd := range s.readers {
		w := outs[i]
		if w == nil {
			w = io.Discard
		}
		s.outs.Add(1)
		go func() {
			defer s.outs.Done()
			_, _ = io.Copy(w, rd)
		}()
	}
}

func (s *streams) closeStdin() {
	s.stdinClosed.Do(func() {
		if s.stdinW != nil {
			s.stdinW.Close()
		}
	})
}

func (s *streams) closeRemote() {
	for _, f := range s.remote {
		f.Close()
	}
	s.remote = nil
}

// finish waits (bounded) for the output to drain, then closes
// everything.
func (s *streams) finish(timeout time.Duration) {
	done := make(chan struct{})
	go func() { s.outs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		// Closing the read ends ends the copies (os.File pipes are
		// non-blocking, so Close wakes a pending read).
	}
	s.closeAll()
	<-done
}

func (s *streams) closeAll() {
	s.closeRemote()
	s.closeStdin()
	for _, f := range s.readers {
		f.Close()
	}
}

func newExecID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// forwardResize sends terminal size changes until done closes.
func (r *Runtime) forwardResize(client *control.Client, target control.Target, sizes <-chan TerminalSize, done <-chan struct{}) {
	if sizes == nil {
		return
	}
	go func() {
		for {
			select {
			case <-done:
				return
			case sz, ok := <-sizes:
				if !ok {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := client.Call(ctx, &control.Request{Op: control.OpResize, Resize: &control.ResizeSpec{Target: target, Rows: sz.Rows, Cols: sz.Cols}})
				cancel()
				if err != nil {
					r.log.Debug("resizing a terminal", "container", target.Container, "exec", target.Exec, "err", err)
				}
			}
		}
	}()
}

// Exec runs a process in a running container and returns its exit code.
func (r *Runtime) Exec(ctx context.Context, cfg ExecConfig) (int32, error) {
	if len(cfg.Process.Args) == 0 || cfg.Process.Args[0] == "" {
		return -1, fmt.Errorf("exec in container %s: no command: %w", cfg.ContainerID, ErrInvalid)
	}
	cs, err := r.liveContainer(cfg.ContainerID)
	if err != nil {
		return -1, err
	}
	client := r.client(cs.rec.Container.Config.PodID)
	execID := newExecID()
	target := control.Target{Container: cfg.ContainerID, Exec: execID}
	outs := []io.Writer{cfg.Stdout}
	if !cfg.Process.TTY {
		outs = append(outs, cfg.Stderr)
	}
	s, err := newStreams(cfg.Process.Stdin, outs...)
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", cfg.ContainerID, err)
	}
	_, err = client.Call(ctx, &control.Request{Op: control.OpExec, Exec: &control.ExecSpec{
		Container: cfg.ContainerID, ID: execID, Process: cfg.Process}}, s.remote...)
	if err != nil {
		s.closeAll()
		return -1, sentryErr(fmt.Sprintf("exec in container %s", cfg.ContainerID), err)
	}
	s.start(cfg.Stdin, outs...)
	done := make(chan struct{})
	defer close(done)
	r.forwardResize(client, target, cfg.Resize, done)

	resp, err := client.Call(ctx, &control.Request{Op: control.OpWait, Target: &target})
	if ctx.Err() != nil {
		// Cancelled: the process must not outlive the call.
		kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// Only the exec process: All would take the container's
		// other processes, its init included, with it.
		_, _ = client.Call(kctx, &control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{Target: target, Signal: int(unix.SIGKILL)}})
		cancel()
		s.closeStdin()
		s.finish(time.Second)
		return -1, ctx.Err()
	}
	s.closeStdin()
	s.finish(drainTimeout)
	if err != nil {
		return -1, sentryErr(fmt.Sprintf("waiting for exec %s in container %s", execID, cfg.ContainerID), err)
	}
	if resp.State == nil {
		return -1, fmt.Errorf("waiting for exec %s in container %s: the sentry answered without a state", execID, cfg.ContainerID)
	}
	return resp.State.ExitCode, nil
}

// Attach connects to a running container's streams until it exits or
// ctx ends.
func (r *Runtime) Attach(ctx context.Context, cfg AttachConfig) error {
	cs, err := r.liveContainer(cfg.ContainerID)
	if err != nil {
		return err
	}
	r.mu.Lock()
	tty := cs.rec.Container.Config.Process.TTY
	podID := cs.rec.Container.Config.PodID
	r.mu.Unlock()
	client := r.client(podID)
	spec := &control.AttachSpec{Container: cfg.ContainerID, Stdin: cfg.Stdin != nil, Stdout: cfg.Stdout != nil, Stderr: cfg.Stderr != nil && !tty}
	var outs []io.Writer
	if spec.Stdout {
		outs = append(outs, cfg.Stdout)
	}
	if spec.Stderr {
		outs = append(outs, cfg.Stderr)
	}
	s, err := newStreams(spec.Stdin, outs...)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", cfg.ContainerID, err)
	}
	done := make(chan struct{})
	defer close(done)
	r.forwardResize(client, control.Target{Container: cfg.ContainerID}, cfg.Resize, done)
	// The request holds its connection for the whole attach, so the
	// copies start alongside it; the sandbox's ends are closed here
	// only when it ends (the sentry has its own copies by then).
	remote := s.remote
	s.remote = nil
	callDone := make(chan error, 1)
	go func() {
		_, err := client.Call(ctx, &control.Request{Op: control.OpAttach, Attach: spec}, remote...)
		callDone <- err
	}()
	s.start(cfg.Stdin, outs...)
	err = <-callDone
	for _, f := range remote {
		f.Close()
	}
	s.closeStdin()
	if ctx.Err() != nil {
		s.finish(time.Second)
		return nil // the client went away: a normal end of an attach
	}
	s.finish(drainTimeout)
	if err != nil && !errors.Is(err, control.ErrHangup) {
		return sentryErr(fmt.Sprintf("attach to container %s", cfg.ContainerID), err)
	}
	return nil
}
