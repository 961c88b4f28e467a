package control

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/fs/crilog"
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// container is the server's record of one container.
type container struct {
	id   string
	spec *ContainerSpec
	kc   *kernel.Container
	// log is the container's CRI log (discarding without HasLog).
	log *crilog.Log
	// stdout and stderr copy the container's output to attached
	// clients.
	stdout, stderr fanout
	// exited is closed once status is exited.
	exited chan struct{}

	// mu protects the fields below.
	mu     sync.Mutex
	status ContainerState
	// init is the container's init process once started.
	init *kernel.ThreadGroup
	// stdin feeds the container's standard input from attached clients
	// (nil without Process.Stdin).
	stdin *stdinFeed
	// tty is the master of the container's terminal (Process.TTY).
	tty *devpts.File
	// execs are the container's exec processes by ID; exitedExecs are
	// the IDs of the exited ones, oldest first.
	execs       map[string]*execProc
	exitedExecs []string
}

// state returns a copy of the container's state.
func (c *container) state() ContainerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (s *Server) createContainer(r *request) (*Response, *requestError) {
	spec := r.CreateContainer
	if spec == nil {
		return nil, r.fail(CodeInvalid, "createContainer: no container spec")
	}
	if spec.ID == "" {
		return nil, r.fail(CodeInvalid, "createContainer: no container ID")
	}
	want := 0
	if spec.HasLog {
		want = 1
	}
	if err := r.wantFiles(want); err != nil {
		return nil, err
	}
	if rerr := checkProcess(r, &spec.Process); rerr != nil {
		return nil, rerr
	}
	s.mu.Lock()
	if _, ok := s.containers[spec.ID]; ok {
		s.mu.Unlock()
		return nil, r.fail(CodeExists, "container %q already exists", spec.ID)
	}
	s.containers[spec.ID] = nil // reserved while the tree is built
	s.mu.Unlock()
	pidns, rerr := s.pidNamespace(r, spec)
	if rerr != nil {
		s.mu.Lock()
		delete(s.containers, spec.ID)
		s.mu.Unlock()
		return nil, rerr
	}
	kc, err := s.pod.NewContainer(boot.ContainerRoot{
		ID:            spec.ID,
		RootTree:      spec.RootTree,
		RootReadOnly:  spec.RootReadOnly,
		Mounts:        spec.Mounts,
		Hostname:      spec.Hostname,
		ReadonlyPaths: spec.ReadonlyPaths,
		MaskedPaths:   spec.MaskedPaths,
		PIDNamespace:  pidns,
		Console:       spec.Process.TTY,
	})
	if err != nil {
		s.mu.Lock()
		delete(s.containers, spec.ID)
		s.mu.Unlock()
		return nil, r.fail(CodeInvalid, "container %s: %v", spec.ID, err)
	}
	kc.SetMemoryLimit(spec.MemoryLimitBytes)
	var logFile *os.File
	if spec.HasLog {
		logFile = r.take(0)
	}
	c := &container{
		id:     spec.ID,
		spec:   spec,
		kc:     kc,
		log:    crilog.New(logFile),
		exited: make(chan struct{}),
		status: ContainerState{ID: spec.ID, State: StateCreated},
		execs:  make(map[string]*execProc),
	}
	s.mu.Lock()
	s.containers[spec.ID] = c
	s.mu.Unlock()
	s.log.Info("container created", "id", spec.ID, "rootTree", spec.RootTree)
	return &Response{State: &c.status}, nil
}

// pidNamespace returns the PID namespace spec.PIDNamespace names: nil for
// the container's own, the pod's shared one (made with its pause process
// on first use), or that of another container of the pod.
func (s *Server) pidNamespace(r *request, spec *ContainerSpec) (*kernel.PIDNamespace, *requestError) {
	switch name := spec.PIDNamespace; {
	case name == PIDNamespaceContainer:
		return nil, nil
	case name == PIDNamespacePod:
		ns, err := s.pod.PodPIDNamespace()
		if err != nil {
			return nil, r.fail(CodeInternal, "container %s: %v", spec.ID, err)
		}
		return ns, nil
	case strings.HasPrefix(name, PIDNamespaceOfPrefix):
		id := strings.TrimPrefix(name, PIDNamespaceOfPrefix)
		s.mu.Lock()
		target := s.containers[id]
		s.mu.Unlock()
		if target == nil || id == spec.ID {
			return nil, r.fail(CodeInvalid, "container %s: PID namespace of container %q: no such container in the pod", spec.ID, id)
		}
		// The target's init must be running: before it starts, the
		// joining container's init would become the namespace's PID 1,
		// and after it exits the namespace is dead.
		if st := target.state().State; st != StateRunning {
			return nil, r.fail(CodeState, "container %s: PID namespace of container %s: it is %s, not running", spec.ID, id, st)
		}
		return target.kc.PIDNamespace(), nil
	default:
		return nil, r.fail(CodeInvalid, "container %s: unknown PID namespace %q", spec.ID, name)
	}
}

// checkProcess checks what can be checked of a process before it starts.
func checkProcess(r *request, p *Process) *requestError {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return r.fail(CodeInvalid, "%s: the process has no program", r.Op)
	}
	if p.Capabilities != nil {
		if _, err := kernel.CapabilitySet(p.Capabilities); err != nil {
			return r.fail(CodeInvalid, "%s: %v", r.Op, err)
		}
	}
	if p.Umask != nil && *p.Umask > 0o777 {
		return r.fail(CodeInvalid, "%s: umask %#o is out of range", r.Op, *p.Umask)
	}
	if p.Seccomp != nil {
		// Checked here so that a bad filter fails the request, not the
		// start of the process.
		if err := checkSeccompProgram(p.Seccomp); err != nil {
			return r.fail(CodeInvalid, "%s: seccomp: %v", r.Op, err)
		}
	}
	if p.OOMScoreAdj != nil && !kernel.ValidOOMScoreAdj(*p.OOMScoreAdj) {
		return r.fail(CodeInvalid, "%s: oom_score_adj %d is out of range (-1000 to 1000)", r.Op, *p.OOMScoreAdj)
	}
	if p.StdinOnce && !p.Stdin {
		return r.fail(CodeInvalid, "%s: stdinOnce without stdin", r.Op)
	}
	return nil
}

// processOptions turns p into the kernel's options, with fds as the
// process's descriptor table.
func processOptions(p *Process, fds *kernel.FDTable, init bool) kernel.ProcessOptions {
	names := p.Capabilities
	if names == nil {
		names = kernel.DefaultContainerCapabilities
	}
	caps, _ := kernel.CapabilitySet(names) // checked by checkProcess
	umask := uint32(0o022)
	if p.Umask != nil {
		umask = *p.Umask
	}
	opts := kernel.ProcessOptions{
		Argv:       p.Args,
		Env:        p.Env,
		Cwd:        p.Cwd,
		Creds:      kernel.NewCredentials(p.User.UID, p.User.GID, p.User.AdditionalGIDs, caps),
		NoNewPrivs: p.NoNewPrivileges,
		Umask:      umask,
		FDs:        fds,
		Seccomp:    seccompFilter(p),
		SeccompLog: p.Seccomp != nil && p.Seccomp.Log,
		Init:       init,
	}
	if p.OOMScoreAdj != nil {
		opts.OOMScoreAdj = *p.OOMScoreAdj
	}
	return opts
}

func (s *Server) startContainer(r *request) (*Response, *requestError) {
	if err := r.wantFiles(0); err != nil {
		return nil, err
	}
	if r.Target == nil {
		return nil, r.fail(CodeInvalid, "startContainer: no target")
	}
	c, rerr := s.lookup(r, r.Target.Container)
	if rerr != nil {
		return nil, rerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.State != StateCreated {
		return nil, r.fail(CodeState, "container %s is %s, not created", c.id, c.status.State)
	}
	p := &c.spec.Process
	io, err := s.containerIO(c)
	if err != nil {
		return nil, r.fail(CodeInternal, "container %s: standard streams: %v", c.id, err)
	}
	opts := processOptions(p, io.fds, true)
	opts.TTY = io.replica
	tg, err := s.k.StartProcess(c.kc, opts)
	io.release()
	now := time.Now().UnixNano()
	if tg == nil {
		// Nothing ran: the container ends here, as a runc container
		// whose start failed.
		io.abort()
		c.status.State = StateExited
		c.status.ExitCode = startExitCode(err)
		c.status.Reason = "StartError"
		c.status.FinishedAt = now
		close(c.exited)
		return nil, r.fail(startErrorCode(err), "starting container %s: %v", c.id, err)
	}
	c.init = tg
	c.stdin = io.stdin
	c.tty = io.master
	c.status.State = StateRunning
	// PIDs cross the protocol as the sandbox's root PID namespace numbers
	// them (the daemon's view, unique in the pod); inside, the init is PID
	// 1 of the container's own namespace.
	c.status.PID = tg.ID()
	c.status.StartedAt = now
	go s.watchContainer(c, io)
	if err != nil {
		// The program did not load: init has exited with 127 and the
		// watcher records it.
		return nil, r.fail(startErrorCode(err), "starting container %s: %v", c.id, err)
	}
	s.log.Info("container started", "id", c.id, "pid", tg.ID())
	return &Response{PID: tg.ID(), State: &c.status}, nil
}

// startExitCode is the exit code of a process that could not start, as a
// shell reports it: 127 for a missing program, 126 otherwise.
func startExitCode(err error) int32 {
	if errors.Is(err, unix.ENOENT) {
		return 127
	}
	return 126
}

func startErrorCode(err error) ErrorCode {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOEXEC) || errors.Is(err, unix.ENOTDIR) {
		return CodeInvalid
	}
	return CodeInternal
}

// watchContainer waits for the container's end and records it.
func (s *Server) watchContainer(c *container, io *processIO) {
	<-c.kc.Done()
	// The log is complete once the last writer of its streams has gone
	// (the terminal's bridge, or the last descriptor of stdout and
	// stderr); a descriptor passed out of the container could keep a
	// stream open, so the wait is bounded.
	select {
	case <-io.outputDone:
	case <-time.After(5 * time.Second):
		s.log.Info("container output still open after its processes exited", "id", c.id)
	}
	ws, _ := c.kc.InitStatus()
	s.mu.Lock()
	down := s.shuttingDown
	s.mu.Unlock()
	c.mu.Lock()
	c.status.State = StateExited
	c.status.ExitCode = int32(exitCodeOf(ws))
	if ws.Signaled() {
		c.status.Signal = int(ws.Signal())
	}
	c.status.FinishedAt = time.Now().UnixNano()
	switch {
	case down:
		c.status.Reason = "SandboxShutdown"
	case c.kc.OOMKills() > 0:
		// As containerd reports a container whose cgroup saw an OOM
		// kill, whichever of its processes was the victim.
		c.status.Reason = "OOMKilled"
	}
	st := c.status
	c.mu.Unlock()
	io.abort()
	close(c.exited)
	s.log.Info("container exited", "id", c.id, "pid", st.PID, "exitCode", st.ExitCode, "signal", st.Signal)
}

// exitCodeOf is a wait status as an exit code: 128+N after signal N.
func exitCodeOf(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (s *Server) removeContainer(r *request) (*Response, *requestError) {
	if err := r.wantFiles(0); err != nil {
		return nil, err
	}
	if r.Target == nil {
		return nil, r.fail(CodeInvalid, "removeContainer: no target")
	}
	c, rerr := s.lookup(r, r.Target.Container)
	if rerr != nil {
		return nil, rerr
	}
	c.mu.Lock()
	state := c.status.State
	c.mu.Unlock()
	if state == StateRunning {
		return nil, r.fail(CodeState, "container %s is running", c.id)
	}
	s.mu.Lock()
	if s.containers[c.id] == c {
		delete(s.containers, c.id)
	}
	s.mu.Unlock()
	// Dropping the record drops the last references to the
	// container's tree: its gofer files are released as their inodes
	// become unreachable.
	c.log.Close()
	s.log.Info("container removed", "id", c.id)
	return &Response{}, nil
}

func (s *Server) reopenLog(r *request) (*Response, *requestError) {
	if err := r.wantFiles(1); err != nil {
		return nil, err
	}
	if r.Target == nil {
		return nil, r.fail(CodeInvalid, "reopenLog: no target")
	}
	c, rerr := s.lookup(r, r.Target.Container)
	if rerr != nil {
		return nil, rerr
	}
	c.log.Reopen(r.take(0))
	return &Response{}, nil
}

// devNull opens the container's /dev/null for reading and writing.
func devNull(c *kernel.Container) (*vfs.File, error) {
	d, err := vfs.Resolve(c.Root(), c.Root(), "/dev/null", vfs.ResolveOpts{FollowFinal: true})
	if err != nil {
		return nil, err
	}
	impl, err := d.Inode().Open(unix.O_RDWR)
	if err != nil {
		return nil, err
	}
	return vfs.NewFile(impl, d, unix.O_RDWR), nil
}

// checkSeccompProgram checks a filter as seccomp(2) would: its length and
// that it is a valid seccomp program.
func checkSeccompProgram(p *SeccompProgram) error {
	n := len(p.Filter) / seccomp.SizeofSockFilter
	if len(p.Filter)%seccomp.SizeofSockFilter != 0 || n == 0 || n > seccomp.MaxInstructions {
		return fmt.Errorf("the filter is %d bytes, not 1 to %d instructions of %d bytes", len(p.Filter), seccomp.MaxInstructions, seccomp.SizeofSockFilter)
	}
	insns := make([]seccomp.Instruction, n)
	for i := range insns {
		e := p.Filter[i*seccomp.SizeofSockFilter:]
		insns[i] = seccomp.Instruction{Code: binary.LittleEndian.Uint16(e), JT: e[2], JF: e[3], K: binary.LittleEndian.Uint32(e[4:])}
	}
	_, err := seccomp.Compile(insns)
	return err
}

func seccompFilter(p *Process) []byte {
	if p.Seccomp == nil {
		return nil
	}
	return p.Seccomp.Filter
}

func (s *Server) updateContainer(r *request) (*Response, *requestError) {
	if err := r.wantFiles(0); err != nil {
		return nil, err
	}
	if r.Update == nil {
		return nil, r.fail(CodeInvalid, "updateContainer: no update spec")
	}
	c, e, rerr := s.lookupTarget(r, r.Target)
	if rerr != nil {
		return nil, rerr
	}
	if e != nil {
		return nil, r.fail(CodeInvalid, "updateContainer: an exec process has no limits of its own")
	}
	c.kc.SetMemoryLimit(r.Update.MemoryLimitBytes)
	return &Response{}, nil
}
