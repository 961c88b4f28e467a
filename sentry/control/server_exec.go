package control

import (
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// execProc is the server's record of one exec process.
type execProc struct {
	id string
	tg *kernel.ThreadGroup
	// tty is the master of its terminal (nil without one).
	tty *devpts.File
	// exited is closed once status is exited.
	exited chan struct{}

	// status is protected by the container's mu.
	status ContainerState
}

func (s *Server) exec(r *request) (*Response, *requestError) {
	spec := r.Exec
	if spec == nil {
		return nil, r.fail(CodeInvalid, "exec: no exec spec")
	}
	if spec.ID == "" {
		return nil, r.fail(CodeInvalid, "exec: no exec ID")
	}
	p := &spec.Process
	if rerr := checkProcess(r, p); rerr != nil {
		return nil, rerr
	}
	want := 1 // standard output
	if p.Stdin {
		want++
	}
	if !p.TTY {
		want++ // standard error
	}
	if err := r.wantFiles(want); err != nil {
		return nil, err
	}
	c, rerr := s.lookup(r, spec.Container)
	if rerr != nil {
		return nil, rerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.State != StateRunning {
		return nil, r.fail(CodeState, "container %s is %s, not running", c.id, c.status.State)
	}
	if _, ok := c.execs[spec.ID]; ok {
		return nil, r.fail(CodeExists, "exec %q already exists in container %s", spec.ID, c.id)
	}
	pio, err := s.execIO(r, c, p)
	if err != nil {
		return nil, r.fail(CodeInternal, "exec %s: standard streams: %v", spec.ID, err)
	}
	opts := processOptions(p, pio.fds, false)
	opts.TTY = pio.replica
	tg, err := s.k.StartProcess(c.kc, opts)
	pio.release()
	if tg == nil {
		pio.abort()
		if err == kernel.ErrContainerExited {
			return nil, r.fail(CodeState, "container %s has exited", c.id)
		}
		return nil, r.fail(startErrorCode(err), "exec %s in container %s: %v", spec.ID, c.id, err)
	}
	e := &execProc{
		id:     spec.ID,
		tg:     tg,
		tty:    pio.master,
		exited: make(chan struct{}),
		// The root-namespace PID, as for a container's init.
		status: ContainerState{ID: c.id, Exec: spec.ID, State: StateRunning, PID: tg.ID(), StartedAt: time.Now().UnixNano()},
	}
	c.execs[spec.ID] = e
	go s.watchExec(c, e, pio)
	if err != nil {
		return nil, r.fail(startErrorCode(err), "exec %s in container %s: %v", spec.ID, c.id, err)
	}
	s.log.Info("exec started", "container", c.id, "exec", spec.ID, "pid", tg.ID())
	return &Response{PID: tg.ID()}, nil
}

// execIO sets up an exec process's standard streams from the request's
// descriptors: wrapped directly, or bridged through a new terminal.
func (s *Server) execIO(r *request, c *container, p *Process) (*processIO, error) {
	pio := &processIO{outputDone: make(chan struct{})}
	i := 0
	var inHost *vfs.File
	if p.TTY {
		var inF *os.File
		if p.Stdin {
			inF = r.take(0)
			i = 1
		}
		outF := r.take(i)
		out, err := pollable(outF)
		if err != nil {
			if inF != nil {
				inF.Close()
			}
			return nil, err
		}
		master, replica, err := s.openTerminal(c.kc)
		if err != nil {
			out.Close()
			if inF != nil {
				inF.Close()
			}
			return nil, err
		}
		pio.master, pio.replica = master.Impl().(*devpts.File), replica.Impl().(*devpts.File)
		pio.held = append(pio.held, replica)
		if err := pio.install(s.k, replica, replica, replica); err != nil {
			out.Close()
			if inF != nil {
				inF.Close()
			}
			master.DecRef()
			pio.release()
			return nil, err
		}
		stop := make(chan struct{})
		pio.onAbort(func() { close(stop) })
		go func() {
			pumpMaster(pio.master, func(b []byte) error { _, err := out.Write(b); return err }, stop)
			// The sentry's copy of the client's descriptor closes
			// with the terminal's output.
			out.Close()
			close(pio.outputDone)
			master.DecRef()
		}()
		if inF != nil {
			in, err := pollable(inF)
			if err != nil {
				pio.abort()
				return nil, err
			}
			feed := newStdinFeed(master, false)
			pio.stdin = feed
			pio.onAbort(func() { in.Close() })
			go copyIn(in, feed)
		}
		return pio, nil
	}

	var err error
	if p.Stdin {
		if inHost, err = hostFile(r.take(0), unix.O_RDONLY); err != nil {
			return nil, err
		}
		i = 1
	} else if inHost, err = devNull(c.kc); err != nil {
		return nil, err
	}
	pio.held = append(pio.held, inHost)
	out, err := hostFile(r.take(i), unix.O_WRONLY)
	if err != nil {
		pio.release()
		return nil, err
	}
	pio.held = append(pio.held, out)
	errf, err := hostFile(r.take(i+1), unix.O_WRONLY)
	if err != nil {
		pio.release()
		return nil, err
	}
	pio.held = append(pio.held, errf)
	if err := pio.install(s.k, inHost, out, errf); err != nil {
		pio.release()
		return nil, err
	}
	// The process's descriptors are the only copies: its output is
	// complete when it exits.
	close(pio.outputDone)
	return pio, nil
}

// watchExec waits for an exec process's end and records it.
func (s *Server) watchExec(c *container, e *execProc, pio *processIO) {
	<-e.tg.Exited()
	select {
	case <-pio.outputDone:
	case <-time.After(5 * time.Second):
		s.log.Info("exec output still open after the process exited", "container", c.id, "exec", e.id)
	}
	ws := s.k.ExitStatus(e.tg)
	c.mu.Lock()
	e.status.State = StateExited
	e.status.ExitCode = int32(exitCodeOf(ws))
	if ws.Signaled() {
		e.status.Signal = int(ws.Signal())
	}
	e.status.FinishedAt = time.Now().UnixNano()
	st := e.status
	c.exitedExecs = append(c.exitedExecs, e.id)
	for len(c.exitedExecs) > maxExitedExecs {
		delete(c.execs, c.exitedExecs[0])
		c.exitedExecs = c.exitedExecs[1:]
	}
	c.mu.Unlock()
	pio.abort()
	close(e.exited)
	s.log.Info("exec exited", "container", c.id, "exec", e.id, "pid", st.PID, "exitCode", st.ExitCode)
}

// lookupExec returns the container and, when t names one, the exec.
func (s *Server) lookupTarget(r *request, t *Target) (*container, *execProc, *requestError) {
	if t == nil {
		return nil, nil, r.fail(CodeInvalid, "%s: no target", r.Op)
	}
	c, rerr := s.lookup(r, t.Container)
	if rerr != nil {
		return nil, nil, rerr
	}
	if t.Exec == "" {
		return c, nil, nil
	}
	c.mu.Lock()
	e := c.execs[t.Exec]
	c.mu.Unlock()
	if e == nil {
		return nil, nil, r.fail(CodeNotFound, "exec %q does not exist in container %s", t.Exec, c.id)
	}
	return c, e, nil
}

// startupGrace bounds how long a signal waits for a process that was just
// started to settle.
const startupGrace = 250 * time.Millisecond

func (s *Server) signal(r *request) (*Response, *requestError) {
	if err := r.wantFiles(0); err != nil {
		return nil, err
	}
	spec := r.Signal
	if spec == nil {
		return nil, r.fail(CodeInvalid, "signal: no signal spec")
	}
	if spec.Signal <= 0 || spec.Signal > kernel.NumSignals {
		return nil, r.fail(CodeInvalid, "signal: %d is not a signal", spec.Signal)
	}
	c, e, rerr := s.lookupTarget(r, &spec.Target)
	if rerr != nil {
		return nil, rerr
	}
	c.mu.Lock()
	state, tg := c.status.State, c.init
	if e != nil {
		state, tg = e.status.State, e.tg
	}
	c.mu.Unlock()
	if state != StateRunning {
		return nil, r.fail(CodeState, "%s is %s, not running", describe(c, e), state)
	}
	if unix.Signal(spec.Signal) != unix.SIGKILL {
		// A stop right after a start must not reach a program before
		// it could install its handlers (see kernel.processSettle).
		tg.AwaitSettled(startupGrace)
	}
	if err := s.k.SignalContainer(c.kc, tg, unix.Signal(spec.Signal), spec.All && e == nil); err != nil {
		return nil, r.fail(CodeState, "signalling %s: %v", describe(c, e), err)
	}
	return &Response{}, nil
}

func describe(c *container, e *execProc) string {
	if e != nil {
		return "exec " + e.id + " of container " + c.id
	}
	return "container " + c.id
}

func (s *Server) wait(r *request) (*Response, *requestError) {
	if err := r.wantFiles(0); err != nil {
		return nil, err
	}
	c, e, rerr := s.lookupTarget(r, r.Target)
	if rerr != nil {
		return nil, rerr
	}
	exited := c.exited
	if e != nil {
		exited = e.exited
	}
	// A created container is waited for until it has run and exited.
	select {
	case <-exited:
	case <-r.conn.HungUp():
		return nil, nil // abandoned
	}
	c.mu.Lock()
	st := c.status
	if e != nil {
		st = e.status
	}
	c.mu.Unlock()
	return &Response{State: &st}, nil
}

func (s *Server) resize(r *request) (*Response, *requestError) {
	if err := r.wantFiles(0); err != nil {
		return nil, err
	}
	spec := r.Resize
	if spec == nil {
		return nil, r.fail(CodeInvalid, "resize: no resize spec")
	}
	c, e, rerr := s.lookupTarget(r, &spec.Target)
	if rerr != nil {
		return nil, rerr
	}
	c.mu.Lock()
	state, tty, hasTTY := c.status.State, c.tty, c.spec.Process.TTY
	if e != nil {
		state, tty, hasTTY = e.status.State, e.tty, e.tty != nil
	}
	c.mu.Unlock()
	if !hasTTY {
		return nil, r.fail(CodeInvalid, "%s has no terminal", describe(c, e))
	}
	if state != StateRunning {
		return nil, r.fail(CodeState, "%s is %s, not running", describe(c, e), state)
	}
	if err := setWindowSize(tty, spec.Rows, spec.Cols); err != nil {
		return nil, r.fail(CodeInternal, "resizing %s: %v", describe(c, e), err)
	}
	return &Response{}, nil
}

func (s *Server) attach(r *request) (*Response, *requestError) {
	spec := r.Attach
	if spec == nil {
		return nil, r.fail(CodeInvalid, "attach: no attach spec")
	}
	n := 0
	for _, set := range []bool{spec.Stdin, spec.Stdout, spec.Stderr} {
		if set {
			n++
		}
	}
	if n == 0 {
		return nil, r.fail(CodeInvalid, "attach: no stream named")
	}
	if err := r.wantFiles(n); err != nil {
		return nil, err
	}
	c, rerr := s.lookup(r, spec.Container)
	if rerr != nil {
		return nil, rerr
	}
	c.mu.Lock()
	state, feed := c.status.State, c.stdin
	c.mu.Unlock()
	p := &c.spec.Process
	switch {
	case state != StateRunning:
		return nil, r.fail(CodeState, "container %s is %s, not running", c.id, state)
	case spec.Stderr && p.TTY:
		return nil, r.fail(CodeInvalid, "attach: container %s has a terminal: no separate stderr", c.id)
	case spec.Stdin && feed == nil:
		return nil, r.fail(CodeInvalid, "attach: container %s was not created with stdin", c.id)
	}
	i := 0
	var in *os.File
	if spec.Stdin {
		f, err := pollable(r.take(i))
		if err != nil {
			return nil, r.fail(CodeInternal, "attach: %v", err)
		}
		in = f
		i++
	}
	type attached struct {
		s  *sink
		fo *fanout
	}
	var sinks []attached
	for _, st := range []struct {
		on bool
		fo *fanout
	}{{spec.Stdout, &c.stdout}, {spec.Stderr, &c.stderr}} {
		if !st.on {
			continue
		}
		sk, err := newSink(r.take(i))
		i++
		if err != nil {
			for _, a := range sinks {
				a.fo.remove(a.s)
				a.s.drop()
			}
			if in != nil {
				in.Close()
			}
			return nil, r.fail(CodeInternal, "attach: %v", err)
		}
		st.fo.add(sk)
		sinks = append(sinks, attached{sk, st.fo})
	}
	stdinEOF := make(chan struct{})
	if in != nil {
		go func() {
			if copyIn(in, feed) {
				close(stdinEOF)
			}
		}()
	}
	hungUp := r.conn.HungUp()
	detach := func() {
		if in != nil {
			in.Close()
		}
		if p.StdinOnce && feed != nil && in != nil {
			feed.close()
		}
	}
	for {
		select {
		case <-stdinEOF:
			// The client closed its input: with StdinOnce, the
			// container's too.
			stdinEOF = nil
			if p.StdinOnce {
				feed.close()
			}
			continue
		case <-c.exited:
			for _, a := range sinks {
				a.fo.remove(a.s)
				a.s.finish()
			}
			for _, a := range sinks {
				select {
				case <-a.s.done:
				case <-hungUp:
					a.s.drop()
				}
			}
			if in != nil {
				in.Close()
			}
			st := c.state()
			return &Response{State: &st}, nil
		case <-hungUp:
			for _, a := range sinks {
				a.fo.remove(a.s)
				a.s.drop()
			}
			detach()
			return nil, nil
		}
	}
}
