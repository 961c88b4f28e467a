package control

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocoonrt/cocoon/internal/memtrim"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// The server is the sentry's side of the protocol: pod mode (boot.Spec.Pod)
// runs Serve on the listening socket the daemon handed over. Each request
// is served on its own goroutine; a panic there answers CodeInternal and
// leaves the sentry running.

func init() { boot.RegisterPodServer(Serve) }

// maxExitedExecs is how many exited exec processes a container keeps the
// state of (for OpWait and OpState after the fact).
const maxExitedExecs = 256

// Server serves one pod's control socket.
type Server struct {
	pod *boot.Pod
	k   *kernel.Kernel
	log *slog.Logger
	lfd int

	// mu protects containers and shuttingDown.
	mu sync.Mutex
	// containers are the pod's containers by ID; a nil value reserves an
	// ID while its container is being created.
	containers map[string]*container
	// shuttingDown is set once OpShutdown began.
	shuttingDown bool
	// stopped is set when the accept loop must end.
	stopped atomic.Bool
}

// Serve serves control requests on the listening socket controlFD until
// OpShutdown, and returns the sentry's exit code.
func Serve(p *boot.Pod, controlFD int) int {
	s := &Server{pod: p, k: p.Kernel, log: p.Log, lfd: controlFD, containers: make(map[string]*container)}
	// What the sentry allocated to boot the pod and to create or start
	// its containers is garbage once that is done: it is handed back to
	// the host when requests stop for a while.
	trim := memtrim.New(time.Second)
	for {
		trim.Touch()
		conn, req, files, err := Accept(controlFD)
		if s.stopped.Load() {
			if conn != nil {
				closeFiles(files)
				_ = conn.Fail(CodeState, "the sandbox is shutting down")
			}
			return 0
		}
		if err != nil {
			var bad *BadRequestError
			if errors.As(err, &bad) {
				s.log.Info("control request failed", "err", err)
				continue
			}
			// The listener itself is broken: nothing can reach the
			// sentry any more, so the pod ends.
			s.log.Error("control socket failed; ending the pod", "err", err)
			s.k.KillAll(5 * time.Second)
			return 1
		}
		go s.handle(conn, req, files)
	}
}

// request is one request being served.
type request struct {
	*Request
	conn *Conn
	// files are the request's descriptors; a handler that keeps one sets
	// its entry to nil, and the rest are closed when the handler returns.
	files []*os.File
	// replied is set once the connection got its answer.
	replied atomic.Bool
}

func (r *request) reply(resp *Response) error {
	if r.replied.Swap(true) {
		return nil
	}
	return r.conn.Reply(resp)
}

// fail answers with an error.
func (r *request) fail(code ErrorCode, format string, args ...any) *requestError {
	return &requestError{code: code, msg: fmt.Sprintf(format, args...)}
}

// requestError is a handler's failure: its code and message.
type requestError struct {
	code ErrorCode
	msg  string
}

func (e *requestError) Error() string { return e.msg }

// wantFiles checks the request carries exactly n descriptors.
func (r *request) wantFiles(n int) *requestError {
	if len(r.files) != n {
		return r.fail(CodeInvalid, "%s takes %d descriptors, got %d", r.Op, n, len(r.files))
	}
	return nil
}

// take hands descriptor i to the caller, who closes it.
func (r *request) take(i int) *os.File {
	f := r.files[i]
	r.files[i] = nil
	return f
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// handle serves one request on its own goroutine.
func (s *Server) handle(conn *Conn, req *Request, files []*os.File) {
	r := &request{Request: req, conn: conn, files: files}
	defer func() {
		closeFiles(r.files)
		if p := recover(); p != nil {
			s.log.Error("control request panicked", "op", req.Op, "panic", p, "stack", string(debug.Stack()))
			r.reply(&Response{Code: CodeInternal, Error: fmt.Sprintf("internal error serving %s: %v", req.Op, p)})
		}
	}()
	resp, rerr := s.dispatch(r)
	if rerr != nil {
		s.log.Info("control request failed", "op", req.Op, "code", rerr.code, "err", rerr.msg)
		r.reply(&Response{Code: rerr.code, Error: rerr.msg})
		return
	}
	if resp != nil {
		if err := r.reply(resp); err != nil {
			s.log.Info("control reply failed", "op", req.Op, "err", err)
		}
	}
}

func (s *Server) dispatch(r *request) (*Response, *requestError) {
	s.mu.Lock()
	down := s.shuttingDown
	s.mu.Unlock()
	if down && r.Op != OpInfo && r.Op != OpState && r.Op != OpShutdown {
		return nil, r.fail(CodeState, "the sandbox is shutting down")
	}
	switch r.Op {
	case OpInfo:
		if err := r.wantFiles(0); err != nil {
			return nil, err
		}
		return &Response{Info: &Info{PID: boot.HostPID(), Platform: s.k.Platform.Name(), BootTime: s.k.BootTime.UnixNano()}}, nil
	case OpCreateContainer:
		return s.createContainer(r)
	case OpStartContainer:
		return s.startContainer(r)
	case OpExec:
		return s.exec(r)
	case OpSignal:
		return s.signal(r)
	case OpWait:
		return s.wait(r)
	case OpState:
		if err := r.wantFiles(0); err != nil {
			return nil, err
		}
		return &Response{Containers: s.states()}, nil
	case OpStats:
		if err := r.wantFiles(0); err != nil {
			return nil, err
		}
		return &Response{Stats: s.stats()}, nil
	case OpTraps:
		if err := r.wantFiles(0); err != nil {
			return nil, err
		}
		return &Response{Traps: s.k.Traps()}, nil
	case OpReopenLog:
		return s.reopenLog(r)
	case OpResize:
		return s.resize(r)
	case OpAttach:
		return s.attach(r)
	case OpRemoveContainer:
		return s.removeContainer(r)
	case OpShutdown:
		return s.shutdown(r)
	case OpUpdateContainer:
		return s.updateContainer(r)
	case OpPortForward:
		return s.portForward(r)
	case "":
		return nil, r.fail(CodeInvalid, "request names no op")
	}
	return nil, r.fail(CodeInvalid, "unknown op %q", r.Op)
}

// lookup returns the container target names.
func (s *Server) lookup(r *request, id string) (*container, *requestError) {
	if id == "" {
		return nil, r.fail(CodeInvalid, "%s: no container named", r.Op)
	}
	s.mu.Lock()
	c := s.containers[id]
	s.mu.Unlock()
	if c == nil {
		return nil, r.fail(CodeNotFound, "container %q does not exist", id)
	}
	return c, nil
}

// sortedContainers returns the containers that exist (not the IDs
// reserved by a create in progress), in ID order.
func (s *Server) sortedContainers() []*container {
	s.mu.Lock()
	cs := make([]*container, 0, len(s.containers))
	for _, c := range s.containers {
		if c != nil {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].id < cs[j].id })
	return cs
}

// states returns every container's state in ID order.
func (s *Server) states() []ContainerState {
	cs := s.sortedContainers()
	out := make([]ContainerState, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.state())
	}
	return out
}

// shutdown kills every process, answers, and ends the accept loop.
func (s *Server) shutdown(r *request) (*Response, *requestError) {
	if err := r.wantFiles(0); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.shuttingDown = true
	s.mu.Unlock()
	s.log.Info("shutting down: killing every process")
	if !s.k.KillAll(10 * time.Second) {
		s.log.Error("some tasks did not exit after SIGKILL")
	}
	// Let the exit watchers record each container's end (and flush its
	// log) before the answer, bounded as the kill was.
	deadline := time.After(5 * time.Second)
	cs := s.sortedContainers()
wait:
	for _, c := range cs {
		c.mu.Lock()
		started := c.status.State == StateRunning
		c.mu.Unlock()
		if !started {
			continue
		}
		select {
		case <-c.exited:
		case <-deadline:
			break wait
		}
	}
	for _, c := range cs {
		c.log.Close()
	}
	r.reply(&Response{})
	s.stopped.Store(true)
	// Shutting a listening socket down wakes the accept loop (EINVAL).
	_ = unix.Shutdown(s.lfd, unix.SHUT_RDWR)
	return nil, nil
}
