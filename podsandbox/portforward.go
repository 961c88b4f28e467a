package podsandbox

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// Port forwarding: the daemon makes a socket pair, hands one end to the
// sentry (OpPortForward), which dials the port inside the pod's network
// and splices it to that end, and copies between the other end and the
// caller's stream. The daemon never enters the pod's network namespace:
// a pod's packets only exist inside its sentry's stack.

// portForwardTimeout bounds the OpPortForward call, which returns once
// the sentry has connected to the pod's port.
const portForwardTimeout = 15 * time.Second

// halfCloseLinger is how long the pod's side of a forward gets to finish
// after the caller's end of file. A server that neither answers nor
// closes would otherwise hold the forward forever: the streaming
// protocols cannot tell a client's half-close from its going away
// (kubectl ends its data stream the same way for both). containerd and
// socat give a second or less; this leaves room for a slow answer to a
// half-closed request. A variable so that tests can shorten it.
var halfCloseLinger = 10 * time.Second

// halfCloser is a stream whose writing side can be shut down on its own
// (net.TCPConn, net.UnixConn; cri/ adapts the streaming server's
// streams).
type halfCloser interface {
	CloseWrite() error
}

// PortForward connects to port on the pod's loopback and copies between
// that connection and stream until both directions are done, either
// fails, or ctx ends. An end of file from stream shuts down writing to
// the pod's port, and the pod's side then has halfCloseLinger to
// finish; an end of file from the pod shuts down stream's writing side
// when it has one (CloseWrite), and otherwise ends the forward, as a
// stream that cannot say "no more data" must be closed to say it.
func (r *Runtime) PortForward(ctx context.Context, podID string, port int32, stream io.ReadWriteCloser) error {
	if port <= 0 || port > 65535 {
		return fmt.Errorf("port-forward to pod %s: port %d is out of range (1-65535): %w", podID, port, ErrInvalid)
	}
	ps := r.lookupPod(podID)
	if ps == nil {
		return fmt.Errorf("pod %s: %w", podID, ErrNotFound)
	}
	r.mu.Lock()
	live := ps.procs != nil && ps.rec.Pod.State == PodReady
	r.mu.Unlock()
	if !live {
		return fmt.Errorf("port-forward to pod %s: the pod is not ready: %w", podID, ErrState)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("port-forward to pod %s: %w", podID, err)
	}
	local, remote := os.NewFile(uintptr(fds[0]), "portforward"), os.NewFile(uintptr(fds[1]), "portforward-sentry")
	cctx, cancel := context.WithTimeout(ctx, portForwardTimeout)
	_, err = r.client(podID).Call(cctx, &control.Request{Op: control.OpPortForward, PortForward: &control.PortForwardSpec{Port: port}}, remote)
	cancel()
	remote.Close()
	if err != nil {
		local.Close()
		return sentryErr(fmt.Sprintf("port-forward to port %d of pod %s", port, podID), err)
	}
	c, err := net.FileConn(local)
	local.Close()
	if err != nil {
		return fmt.Errorf("port-forward to pod %s: %w", podID, err)
	}
	return spliceStream(ctx, c.(*net.UnixConn), stream)
}

// spliceStream copies between the sentry's end of a forward and the
// caller's stream, and closes conn when done; the sentry ends its side
// of the forward when conn is closed. A copy still reading stream when
// it returns ends at the caller's next end of file or close.
func spliceStream(ctx context.Context, conn *net.UnixConn, stream io.ReadWriteCloser) error {
	var closeOnce sync.Once
	closeConn := func() { closeOnce.Do(func() { conn.Close() }) }
	defer closeConn()

	// Each copy sends its result once: nil for an end of file.
	in := make(chan error, 1)
	out := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		if err == nil {
			conn.CloseWrite()
		} else {
			closeConn()
		}
		in <- err
	}()
	go func() {
		_, err := io.Copy(stream, conn)
		out <- err
	}()
	var inDone, outDone bool
	// linger fires halfCloseLinger after the caller's end of file.
	var linger <-chan time.Time
	for !inDone || !outDone {
		select {
		case err := <-in:
			inDone = true
			if err != nil {
				return fmt.Errorf("reading the port-forward stream: %w", err)
			}
			t := time.NewTimer(halfCloseLinger)
			defer t.Stop()
			linger = t.C
		case <-linger:
			return nil
		case err := <-out:
			outDone = true
			if err != nil {
				return fmt.Errorf("writing the port-forward stream: %w", err)
			}
			hc, ok := stream.(halfCloser)
			if !ok {
				return nil
			}
			if err := hc.CloseWrite(); err != nil {
				return fmt.Errorf("half-closing the port-forward stream: %w", err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
