package podsandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// On the host, the runtime keeps:
//
//	<StateDir>/pods.db                   bbolt: pod and container records
//	<StateDir>/pods/<id>/sentry.log      the sentry's and gofer's stderr
//	<StateDir>/pods/<id>/rootfs.store    the data of the containers'
//	                                     writable roots (not HostLayer)
//	<RunDir>/pods/<id>/control.sock      the sentry's control socket
//	<RunDir>/pods/<id>/gofer.sock        the gofer's tree socket
//	<RunDir>/pods/<id>/files/            hostname, hosts, resolv.conf: the
//	                                     gofer tree "pod" (a directory of
//	                                     their own, so the tree serves
//	                                     nothing else)
//	<RunDir>/netns/<id>                  the pod's network namespace (a
//	                                     bind mount; none for host-network
//	                                     pods), see network.go
//	<RunDir>/containers/<id>/rootfs      the container's overlay (tree c-<id>)
//	<RunDir>/containers/<id>/files/<n>/  a bind mount of file mount n (tree
//	                                     c-<id>-<n>)
//
// and a cgroup <parent>/cocoon-<id> per pod holding its sentry (with the
// stub processes of its platform, born there) and gofer.

// Options configure a Runtime.
type Options struct {
	// StateDir holds the state database (pods.db) and each pod's
	// sentry.log; default /var/lib/cocoon.
	StateDir string
	// RunDir holds sockets, pod files and container rootfs mounts;
	// default /run/cocoon.
	RunDir string
	// Exe is the cocoon binary the pods run; default /proc/self/exe
	// (the daemon's own binary, even if it was replaced on disk since).
	Exe string
	// CgroupDriver is "cgroupfs" (default), "systemd", or "none" for no
	// pod cgroups at all.
	CgroupDriver string
	// CgroupParent is the parent of pods' cgroups when the pod names
	// none; default "/cocoon".
	CgroupParent string
	// Platform is the sentry platform of pods whose PodConfig names
	// none ("kvm", "systrap", "ptrace", "" or "auto": the sentry
	// measures and picks the fastest).
	Platform string
	// HostLayer sends what containers write to their root to the upper
	// directory of the host overlayfs the gofer serves; by default the
	// sentry keeps the writable layer, its data in the pod's store file
	// (<StateDir>/pods/<id>/rootfs.store).
	HostLayer bool
	// Debug makes sentries log their diagnostics to sentry.log.
	Debug bool
	// StartTimeout bounds how long RunPod waits for a new sentry to
	// answer; default 30s.
	StartTimeout time.Duration
	// StopGrace is how long StopPod lets running containers handle
	// their stop signal before killing them; default 2s (kubelet has
	// already stopped them with the pod's own grace period).
	StopGrace time.Duration
	// Log receives the runtime's log; default slog.Default().
	Log *slog.Logger
	// Network attaches pods to the pod network (CNI); nil gives each
	// pod an empty network namespace.
	Network Network
	// KernelPlacement leaves where pods' threads run to the kernel's
	// scheduler; by default each pod's threads share one CPU unless it
	// needs more (package placement).
	KernelPlacement bool
}

// Runtime implements Manager.
//
// Locking: Runtime.mu protects the maps, the subscriber set, and every
// field of podState and ctrState that says "r.mu". Lifecycle operations
// take podState.op and/or ctrState.op first (always a pod's op before
// any of its containers' op) and hold them while they talk to the
// sentry, gofer and host; r.mu is only held for short, non-blocking
// sections (and the bbolt write of a record, so that records reach the
// database in the order they changed).
type Runtime struct {
	opts Options
	log  *slog.Logger
	st   *store

	// ctx ends with Close: it bounds every watcher and waiter.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the container waiter goroutines and the retries of
	// removing pods a stopped daemon left half started.
	wg sync.WaitGroup

	mu     sync.Mutex
	pods   map[string]*podState    // r.mu
	ctrs   map[string]*ctrState    // r.mu
	subs   map[chan Event]struct{} // r.mu
	closed bool                    // r.mu
}

var (
	_ Manager    = (*Runtime)(nil)
	_ PodNetwork = (*Runtime)(nil)
)

// podState is a pod known to the runtime.
type podState struct {
	// op serialises the pod's lifecycle: RunPod, StopPod, RemovePod,
	// CreateContainer and handling the death of its processes.
	op sync.Mutex

	rec     podRecord // r.mu
	removed bool      // r.mu: RemovePod finished; the entry is stale
	// visible is set once the pod is built (or loaded): a pod RunPod is
	// still building is not listed.
	visible bool // r.mu

	// The fields below are set and cleared with op held (and r.mu, so
	// that readers holding only r.mu see them consistently).
	cg     podCgroup       // r.mu; nil when the pod has no cgroup
	procs  []*proc         // r.mu; the live sentry and gofer, nil once stopped
	watch  *watcher        // r.mu
	ctx    context.Context // r.mu; ends when the pod stops (waiters use it)
	cancel context.CancelFunc
}

// ctrState is a container known to the runtime.
type ctrState struct {
	// op serialises the container's lifecycle (start, stop, remove,
	// resource and log changes).
	op sync.Mutex

	rec containerRecord // r.mu
	// exited is closed once the container is seen exited; a new one is
	// made when it starts.
	exited  chan struct{} // r.mu
	removed bool          // r.mu
	// visible is set once the container is created: one being built is
	// not listed.
	visible bool // r.mu
}

// New opens the state in opts and reconnects to every pod that was
// running (see recover).
func New(opts Options) (*Runtime, error) {
	if opts.StateDir == "" {
		opts.StateDir = "/var/lib/cocoon"
	}
	if opts.RunDir == "" {
		opts.RunDir = "/run/cocoon"
	}
	if opts.Exe == "" {
		opts.Exe = "/proc/self/exe"
	}
	if opts.CgroupDriver == "" {
		opts.CgroupDriver = "cgroupfs"
	}
	switch opts.CgroupDriver {
	case "cgroupfs", "systemd", "none":
	default:
		return nil, fmt.Errorf("cgroup driver %q: want cgroupfs, systemd or none: %w", opts.CgroupDriver, ErrInvalid)
	}
	if opts.CgroupParent == "" {
		opts.CgroupParent = "/cocoon"
		if opts.CgroupDriver == "systemd" {
			opts.CgroupParent = "cocoon.slice"
		}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	for _, d := range []string{opts.StateDir, filepath.Join(opts.StateDir, "pods"), filepath.Join(opts.RunDir, "pods"), filepath.Join(opts.RunDir, "containers"), filepath.Join(opts.RunDir, "netns")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, err
		}
	}
	st, err := openStore(filepath.Join(opts.StateDir, "pods.db"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runtime{
		opts:   opts,
		log:    opts.Log,
		st:     st,
		ctx:    ctx,
		cancel: cancel,
		pods:   map[string]*podState{},
		ctrs:   map[string]*ctrState{},
		subs:   map[chan Event]struct{}{},
	}
	r.restorePodCIDRs()
	if err := r.recover(); err != nil {
		r.Close()
		return nil, err
	}
	r.startPlacement()
	return r, nil
}

// Close lets go of the pods without stopping them: it stops the
// watchers and waiters and closes the database. The pods' processes go
// on; a new Runtime on the same directories picks them up.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	pods := slices.Collect(maps.Values(r.pods))
	for ch := range r.subs {
		close(ch)
	}
	r.subs = map[chan Event]struct{}{}
	r.mu.Unlock()
	r.cancel()
	for _, ps := range pods {
		// op waits for an operation in flight (RunPod, StopPod, ...) so
		// its processes are not left half made; later ones fail on
		// r.closed.
		ps.op.Lock()
		r.mu.Lock()
		w, procs := ps.watch, ps.procs
		ps.watch, ps.procs = nil, nil
		r.mu.Unlock()
		w.stop()
		for _, p := range procs {
			p.close()
		}
		ps.op.Unlock()
	}
	r.wg.Wait()
	return r.st.close()
}

// errClosed is returned by operations after Close.
var errClosed = errors.New("pod runtime is closed")

// Subscribe returns a channel of events until ctx ends (or the runtime
// closes). A subscriber that does not keep up loses events rather than
// holding up the runtime.
func (r *Runtime) Subscribe(ctx context.Context) <-chan Event {
	ch := make(chan Event, 256)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		close(ch)
		return ch
	}
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-r.ctx.Done():
		}
		r.mu.Lock()
		if _, ok := r.subs[ch]; ok {
			delete(r.subs, ch)
			close(ch)
		}
		r.mu.Unlock()
	}()
	return ch
}

// emitLocked sends an event to every subscriber; r.mu is held.
func (r *Runtime) emitLocked(t EventType, podID, ctrID string) {
	ev := Event{Type: t, PodID: podID, ContainerID: ctrID, Time: time.Now()}
	for ch := range r.subs {
		select {
		case ch <- ev:
		default:
			r.log.Warn("dropping event for a slow subscriber", "type", t, "container", ctrID)
		}
	}
}

// Paths.

func (r *Runtime) podRunDir(id string) string   { return filepath.Join(r.opts.RunDir, "pods", id) }
func (r *Runtime) podStateDir(id string) string { return filepath.Join(r.opts.StateDir, "pods", id) }
func (r *Runtime) controlPath(id string) string {
	return filepath.Join(r.podRunDir(id), "control.sock")
}
func (r *Runtime) treePath(id string) string { return filepath.Join(r.podRunDir(id), "gofer.sock") }
func (r *Runtime) ctrRunDir(id string) string {
	return filepath.Join(r.opts.RunDir, "containers", id)
}

func (r *Runtime) client(podID string) *control.Client {
	return &control.Client{Path: r.controlPath(podID)}
}

// Copies handed to callers, so they never share the runtime's maps.

func clonePod(p *Pod) *Pod {
	c := *p
	c.Config.Labels = maps.Clone(p.Config.Labels)
	c.Config.Annotations = maps.Clone(p.Config.Annotations)
	c.Config.Sysctls = maps.Clone(p.Config.Sysctls)
	c.Config.PortMappings = slices.Clone(p.Config.PortMappings)
	c.IPs = slices.Clone(p.IPs)
	if p.Config.DNS != nil {
		d := *p.Config.DNS
		c.Config.DNS = &d
	}
	return &c
}

func cloneContainer(ct *Container) *Container {
	c := *ct
	c.Config.Labels = maps.Clone(ct.Config.Labels)
	c.Config.Annotations = maps.Clone(ct.Config.Annotations)
	c.Config.Mounts = slices.Clone(ct.Config.Mounts)
	c.Config.Rootfs.LowerDirs = slices.Clone(ct.Config.Rootfs.LowerDirs)
	c.Config.Process.Args = slices.Clone(ct.Config.Process.Args)
	c.Config.Process.Env = slices.Clone(ct.Config.Process.Env)
	return &c
}

// sentryErr maps a control error onto the package's sentinels.
func sentryErr(what string, err error) error {
	var ce *control.Error
	if errors.As(err, &ce) {
		switch ce.Code {
		case control.CodeNotFound:
			return fmt.Errorf("%s: %w: %w", what, err, ErrNotFound)
		case control.CodeInvalid:
			return fmt.Errorf("%s: %w: %w", what, err, ErrInvalid)
		case control.CodeExists:
			return fmt.Errorf("%s: %w: %w", what, err, ErrExists)
		case control.CodeState:
			return fmt.Errorf("%s: %w: %w", what, err, ErrState)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
