package control

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// Port forwarding (OpPortForward): the sentry dials the pod's port from
// inside the pod's network, as containerd dials localhost inside the
// pod's network namespace, and splices the connection to the stream the
// daemon passed. Nothing of the application is involved, so a forward
// needs no task and outlives no container: it ends with its two sockets.

// dialTimeout bounds the connect to the pod's port. A loopback connect
// is answered at once, unless the listener's backlog is full.
const dialTimeout = 10 * time.Second

// podConn is the pod's end of a forward: a TCP connection that can be
// half-closed. gonet.TCPConn (netstack) and net.TCPConn (host network)
// both are.
type podConn interface {
	net.Conn
	CloseWrite() error
}

func (s *Server) portForward(r *request) (*Response, *requestError) {
	if err := r.wantFiles(1); err != nil {
		return nil, err
	}
	spec := r.PortForward
	if spec == nil {
		return nil, r.fail(CodeInvalid, "portForward: no port-forward spec")
	}
	if spec.Port <= 0 || spec.Port > 65535 {
		return nil, r.fail(CodeInvalid, "portForward: port %d is out of range (1-65535)", spec.Port)
	}
	// The daemon's stream goes through Go's poller: its reads and
	// writes then never hold an OS thread, and Close wakes them.
	f := r.take(0)
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, r.fail(CodeInvalid, "portForward: the descriptor is not a socket: %v", err)
	}
	peer, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, r.fail(CodeInvalid, "portForward: the descriptor is a %T, want a unix stream socket", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	pc, err := s.dialPod(ctx, uint16(spec.Port))
	if err != nil {
		peer.Close()
		if errors.Is(err, errRefused) {
			return nil, r.fail(CodeNotFound, "portForward: nothing listens on port %d in the pod (connection refused on 127.0.0.1 and ::1)", spec.Port)
		}
		return nil, r.fail(CodeInternal, "portForward: connecting to port %d in the pod: %v", spec.Port, err)
	}
	s.log.Debug("port forward started", "port", spec.Port)
	go func() {
		forward(pc, peer)
		s.log.Debug("port forward ended", "port", spec.Port)
	}()
	return &Response{}, nil
}

// errRefused is dialPod's error when nothing listens on the port.
var errRefused = errors.New("connection refused")

// dialPod connects to port on the pod's loopback: 127.0.0.1 first, then
// ::1, the order in which containerd's "localhost" resolves. A
// host-network pod's loopback is the host's, where its sockets are.
func (s *Server) dialPod(ctx context.Context, port uint16) (podConn, error) {
	if s.k.HostNetwork {
		return dialHost(ctx, port)
	}
	st, err := s.k.NetStack()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, a := range []struct {
		addr  tcpip.Address
		proto tcpip.NetworkProtocolNumber
	}{
		{tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), ipv4.ProtocolNumber},
		{tcpip.AddrFrom16([16]byte{15: 1}), ipv6.ProtocolNumber},
	} {
		c, err := gonet.DialContextTCP(ctx, st.Stack, tcpip.FullAddress{Addr: a.addr, Port: port}, a.proto)
		if err == nil {
			return c, nil
		}
		lastErr = err
		var op *net.OpError
		if !errors.As(err, &op) || op.Err == nil || op.Err.Error() != (&tcpip.ErrConnectionRefused{}).String() {
			return nil, err
		}
	}
	return nil, errors.Join(errRefused, lastErr)
}

// dialHost is dialPod for a host-network pod.
func dialHost(ctx context.Context, port uint16) (podConn, error) {
	var d net.Dialer
	var lastErr error
	for _, host := range []string{"127.0.0.1", "::1"} {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
		if err == nil {
			return c.(*net.TCPConn), nil
		}
		lastErr = err
		if !errors.Is(err, unix.ECONNREFUSED) && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENETUNREACH) {
			return nil, err
		}
	}
	return nil, errors.Join(errRefused, lastErr)
}

// forward copies between the pod's connection and the daemon's stream
// until both directions are done, then closes both. An end of file on
// one side shuts down writing on the other, so a client's half-close
// reaches the server and the answer still comes back. Any error ends
// both directions at once, and so does the daemon hanging up entirely
// (it closes its end when its client went away), noticed by watching
// the stream for POLLHUP once its read side is done: the pod may never
// write again, so the pod-to-daemon copy alone might never notice.
func forward(pc podConn, peer *net.UnixConn) {
	var closeOnce sync.Once
	abort := func() {
		closeOnce.Do(func() {
			// A deadline in the past wakes blocked reads and writes
			// on either implementation before the close.
			now := time.Now()
			pc.SetDeadline(now)
			peer.SetDeadline(now)
			pc.Close()
			peer.Close()
		})
	}
	// mu protects inEOF and outDone.
	var mu sync.Mutex
	// inEOF is set once the daemon's stream reached end of file (and
	// the daemon-to-pod goroutine watches for a hang-up); outDone once
	// the pod-to-daemon copy ended.
	var inEOF, outDone bool

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := io.Copy(pc, peer); err != nil {
			abort()
			return
		}
		pc.CloseWrite()
		mu.Lock()
		if outDone {
			mu.Unlock()
			return
		}
		inEOF = true
		mu.Unlock()
		if waitHangup(peer) {
			abort()
		}
	}()
	go func() {
		defer wg.Done()
		if _, err := io.Copy(peer, pc); err != nil {
			abort()
			return
		}
		peer.CloseWrite()
		mu.Lock()
		outDone = true
		if inEOF {
			// Both directions are complete: stop the hang-up watch.
			peer.SetReadDeadline(time.Now())
		}
		mu.Unlock()
	}()
	wg.Wait()
	abort()
}

// waitHangup waits until the peer of c closed its end entirely
// (POLLHUP) and reports whether it did; it returns false when c's read
// deadline passes or c is closed. It must only be called once nothing
// else reads c: Go serializes reads of one connection.
func waitHangup(c *net.UnixConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	hup := false
	err = rc.Read(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd)}}
		for {
			_, err := unix.Poll(pfd, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return true
			}
			break
		}
		// The end of file keeps the socket readable; only POLLHUP
		// (both directions shut) is news. Returning false waits for
		// the next wake-up of the socket, which a hang-up is.
		hup = pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
		return hup
	})
	return err == nil && hup
}
