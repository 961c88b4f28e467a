package podsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/podsandbox/cgroup"
	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// oomScoreAdj is what the pod's processes ask for: as low as kubelet
// puts the runtime itself, so the node's OOM killer picks application
// containers' memory hogs elsewhere first and a pod dies only with its
// own cgroup's limit.
const oomScoreAdj = -998

// undo collects the steps to take back when an operation fails.
type undo []func()

// podStoreName is the pod's store file in its state directory: the data
// of its containers' writable roots (Options.HostLayer unset).
const podStoreName = "rootfs.store"

func (u *undo) add(f func()) { *u = append(*u, f) }

// run takes the steps back, last first.
func (u undo) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// RunPod starts a pod: its files, cgroup, network, gofer and sentry.
func (r *Runtime) RunPod(ctx context.Context, cfg PodConfig) (*Pod, error) {
	if err := validatePod(&cfg); err != nil {
		return nil, err
	}
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, errClosed
		}
		ps := r.pods[cfg.ID]
		if ps != nil {
			r.mu.Unlock()
			// Another RunPod of this ID may still be building it: wait
			// for it, then answer with what it made (or try again if
			// it failed and took the pod away).
			ps.op.Lock()
			r.mu.Lock()
			removed := ps.removed
			p := clonePod(&ps.rec.Pod)
			r.mu.Unlock()
			ps.op.Unlock()
			if removed {
				continue
			}
			return p, nil
		}
		ps = &podState{rec: podRecord{Pod: Pod{Config: cfg, State: PodNotReady, CreatedAt: time.Now()}}}
		ps.op.Lock()
		r.pods[cfg.ID] = ps
		r.mu.Unlock()
		p, err := r.runPod(ctx, ps)
		if err != nil {
			r.mu.Lock()
			ps.removed = true
			delete(r.pods, cfg.ID)
			r.mu.Unlock()
		}
		ps.op.Unlock()
		return p, err
	}
}

// runPod builds the pod; ps.op is held.
func (r *Runtime) runPod(ctx context.Context, ps *podState) (_ *Pod, retErr error) {
	cfg := &ps.rec.Pod.Config
	id := cfg.ID
	log := r.log.With("pod", id, "name", cfg.Namespace+"/"+cfg.Name)
	var u undo
	defer func() {
		if retErr != nil {
			u.run()
		}
	}()

	var cgParent, cgName string
	if r.opts.CgroupDriver != "none" {
		cgParent = cfg.CgroupParent
		if cgParent == "" {
			cgParent = r.opts.CgroupParent
		}
		cgName = "cocoon-" + id
	}
	// Recorded before anything exists on the host; the undo steps run
	// last first, so the record goes last.
	ps.rec.Starting = true
	ps.rec.CgroupParent, ps.rec.CgroupName = cgParent, cgName
	if err := r.st.putPod(&ps.rec); err != nil {
		return nil, fmt.Errorf("pod %s: saving: %w", id, err)
	}
	u.add(func() {
		// What the steps above could not take away (a CNI DEL that
		// failed, a directory) is found and removed as a restarted
		// daemon removes a pod it was starting; what still fails is
		// retried in the background from the record, kept until then.
		rec := ps.rec
		rec.Starting, rec.Pod.State = true, PodNotReady
		if err := r.recoverStarting(&rec); err != nil {
			log.Error("removing a pod that failed to start; will retry", "err", err)
			if err := r.st.putPod(&rec); err != nil {
				log.Error("saving the record of a pod that failed to start", "err", err)
			}
			r.wg.Add(1)
			go r.retryStarting([]*podRecord{&rec})
		}
	})

	runDir, stateDir := r.podRunDir(id), r.podStateDir(id)
	// Socket paths may exceed sun_path's 107 bytes under a deep run
	// directory: sentry/control and the gofer's tree socket bind and
	// connect through internal/sockpath.
	if _, err := os.Stat(runDir); err == nil {
		// Left over by a pod whose record is gone (a crash between
		// removing the record and the directory): it is not ours to
		// reuse.
		if err := os.RemoveAll(runDir); err != nil {
			return nil, fmt.Errorf("pod %s: removing stale %s: %w", id, runDir, err)
		}
	}
	filesDir := filepath.Join(runDir, podFilesDir)
	if err := os.MkdirAll(filesDir, 0o755); err != nil {
		return nil, fmt.Errorf("pod %s: %w", id, err)
	}
	u.add(func() { _ = os.RemoveAll(runDir) })
	// The run dir holds the sockets: only root may reach them.
	if err := os.Chmod(runDir, 0o700); err != nil {
		return nil, fmt.Errorf("pod %s: %w", id, err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("pod %s: %w", id, err)
	}
	u.add(func() { _ = os.RemoveAll(stateDir) })
	if err := writePodFiles(filesDir, cfg); err != nil {
		return nil, fmt.Errorf("pod %s: %w", id, err)
	}

	var cg podCgroup
	if cgName != "" {
		parent, name := cgParent, cgName
		var err error
		cg, err = createCgroup(r.opts.CgroupDriver, parent, name)
		if err != nil {
			return nil, fmt.Errorf("pod %s: creating cgroup %s under %s: %w", id, name, parent, err)
		}
		u.add(func() {
			_ = cg.Kill()
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cg.Delete(dctx); err != nil {
				log.Warn("removing the cgroup of a pod that failed to start", "err", err)
			}
		})
	}

	if err := r.setupNetwork(ctx, ps, &u); err != nil {
		return nil, err
	}

	ctl, err := control.Listen(r.controlPath(id))
	if err != nil {
		return nil, fmt.Errorf("pod %s: control socket: %w", id, err)
	}
	// The daemon's copies are closed as soon as the sentry and gofer
	// have their own (below): then a dead sentry or gofer refuses
	// connections instead of leaving them pending. (Held until runPod
	// returned, a gofer killed while the pod started left the pod-files
	// addTree below waiting forever on a listener nobody served.)
	defer ctl.Close()
	trees, err := listenTrees(r.treePath(id))
	if err != nil {
		return nil, fmt.Errorf("pod %s: gofer tree socket: %w", id, err)
	}
	defer trees.Close()
	logf, err := os.OpenFile(filepath.Join(stateDir, "sentry.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", id, err)
	}
	defer logf.Close()

	spec := boot.Spec{
		Hostname: cfg.EffectiveHostname(),
		Sysctls:  cfg.Sysctls,
		Platform: r.opts.Platform,
		Debug:    r.opts.Debug,
	}
	if cfg.Platform != "" {
		// The daemon resolved the pod's runtime handler to a platform
		// (it measured them once): the sentry does not measure again.
		spec.Platform = cfg.Platform
	}
	spec.MemoryBytes, spec.SandboxMemoryBytes = podMemory(cfg)
	// The sentry hands the interfaces of the pod's own namespace to its
	// TCP/IP stack, and must leave the node's alone.
	switch {
	case cfg.HostNetwork:
		spec.Network = boot.NetworkHost
	case ps.rec.Pod.NetNS != "":
		spec.Network = boot.NetworkPod
	default:
		spec.Network = boot.NetworkNone
	}
	var store *os.File
	if !r.opts.HostLayer {
		// Next to the log, on the node's disk; the sentry empties it
		// when it starts, and a restarted sentry starts over.
		store, err = os.OpenFile(filepath.Join(stateDir, podStoreName), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("pod %s: %w", id, err)
		}
		defer store.Close()
		spec.RootOverlay = "store"
	}
	setPodSpec(&spec)
	// Each process joins the pod's cgroup and takes its oom_score_adj
	// before it starts anything: the sentry's platform stubs, where the
	// application's code runs, inherit both.
	var kept []any
	join := func(name string, pid int) error {
		if cg != nil {
			if err := cg.Add(pid); err != nil {
				return fmt.Errorf("moving into the pod's cgroup: %w", err)
			}
		}
		got, applied, err := setOOMScoreAdj(pid, oomScoreAdj)
		switch {
		case err != nil:
			log.Warn("setting oom_score_adj", "process", name, "err", err)
		case !applied:
			kept = append(kept, name, got)
		}
		return nil
	}
	start := podStart{Exe: r.opts.Exe, Control: ctl, Trees: trees, Spec: spec, Log: logf, NetNS: ps.rec.Pod.NetNS, Store: store, Join: join}
	sentryPID, goferPID, err := startPod(start)
	ctl.Close()
	trees.Close()
	if err != nil {
		return nil, fmt.Errorf("pod %s: starting the sandbox: %w", id, err)
	}
	sentry, serr := openProc("sentry", sentryPID, 0)
	gofer, gerr := openProc("gofer", goferPID, 0)
	procs := []*proc{}
	for _, p := range []*proc{sentry, gofer} {
		if p != nil {
			procs = append(procs, p)
		}
	}
	u.add(func() {
		for _, p := range procs {
			p.stopAndClose(5 * time.Second)
		}
	})
	if err := errors.Join(serr, gerr); err != nil {
		return nil, fmt.Errorf("pod %s: the sandbox ended at once (see %s): %w", id, logf.Name(), err)
	}
	ps.rec.Pod.SentryPID, ps.rec.SentryStart = sentry.pid, sentry.start
	ps.rec.Pod.GoferPID, ps.rec.GoferStart = gofer.pid, gofer.start
	// A daemon that dies from here on leaves processes a restarted one
	// must find (before this, it finds them by their log file).
	if err := r.st.putPod(&ps.rec); err != nil {
		return nil, fmt.Errorf("pod %s: saving: %w", id, err)
	}

	if cg != nil {
		// The processes joined the cgroup as they started: the limits
		// apply from here.
		if err := cg.Set(cfg.Resources); errors.Is(err, cgroup.ErrMissingController) {
			// The node lacks (or did not delegate) a controller: the
			// limits it could apply are; the pod runs, as kubelet's
			// own pod cgroups would without that controller.
			log.Warn("some pod limits cannot be enforced on this node", "err", err)
		} else if err != nil {
			return nil, fmt.Errorf("pod %s: setting cgroup limits: %w", id, err)
		}
	}
	if kept != nil {
		// Never a reason to fail the pod: it only shifts which process
		// the node's OOM killer prefers.
		log.Info("cannot lower oom_score_adj without CAP_SYS_RESOURCE; the pod's processes keep their current value",
			append([]any{"want", oomScoreAdj}, kept...)...)
	}

	if err := r.waitSentry(ctx, id, procs); err != nil {
		return nil, fmt.Errorf("pod %s: %w (see %s)", id, err, logf.Name())
	}
	// The pod's files are the one tree every container shares. They are
	// served read-write, as other runtimes mount them, unless a
	// container asks for a read-only root.
	filesFD, err := os.Open(filesDir)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", id, err)
	}
	err = addTree(ctx, r.treePath(id), podFilesTree, filesFD, false)
	filesFD.Close()
	if err != nil {
		return nil, fmt.Errorf("pod %s: serving the pod files: %w", id, err)
	}

	ps.rec.Pod.State = PodReady
	ps.rec.Starting = false
	if err := r.st.putPod(&ps.rec); err != nil {
		return nil, fmt.Errorf("pod %s: saving: %w", id, err)
	}
	pctx, cancel := context.WithCancel(r.ctx)
	w, err := watch(procs, func(p *proc) { r.podDied(ps, p) })
	if err != nil {
		cancel()
		return nil, fmt.Errorf("pod %s: %w", id, err)
	}
	r.mu.Lock()
	ps.cg, ps.procs, ps.watch, ps.ctx, ps.cancel = cg, procs, w, pctx, cancel
	ps.visible = true
	p := clonePod(&ps.rec.Pod)
	r.emitLocked(EventCreated, id, id)
	r.emitLocked(EventStarted, id, id)
	r.mu.Unlock()
	log.Info("pod started", "sentry", sentry.pid, "gofer", gofer.pid)
	return p, nil
}

// waitSentry waits until the new sentry answers OpInfo, failing early
// when one of the pod's processes ends.
func (r *Runtime) waitSentry(ctx context.Context, id string, procs []*proc) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.StartTimeout)
	defer cancel()
	var died *proc
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			for _, p := range procs {
				if p.waitExit(50 * time.Millisecond) {
					died = p
					cancel()
					return
				}
			}
		}
	}()
	_, err := r.client(id).Call(ctx, &control.Request{Op: control.OpInfo})
	cancel()
	wg.Wait()
	switch {
	case died != nil:
		return fmt.Errorf("the %s (pid %d) exited while starting", died.name, died.pid)
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the sentry did not answer within %v", r.opts.StartTimeout)
	case err != nil:
		return fmt.Errorf("the sentry did not answer: %w", err)
	}
	return nil
}

// Pod returns a pod.
func (r *Runtime) Pod(ctx context.Context, id string) (*Pod, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := r.pods[id]
	if ps == nil || !ps.visible || ps.removed {
		return nil, fmt.Errorf("pod %s: %w", id, ErrNotFound)
	}
	return clonePod(&ps.rec.Pod), nil
}

// Pods returns every pod.
func (r *Runtime) Pods(ctx context.Context) ([]*Pod, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Pod
	for _, ps := range r.pods {
		if ps.visible && !ps.removed {
			out = append(out, clonePod(&ps.rec.Pod))
		}
	}
	slices.SortFunc(out, func(a, b *Pod) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// podMemory splits the pod's memory limit. app is the size of the pod's
// memory file, the memory its applications may have: the limit less the
// RuntimeClass's overhead, which the pod's cgroup keeps for the sandbox's
// own memory (sandbox: the sentry, its stubs, the gofer), so that an
// application filling its memory meets the sandbox's OOM killer, not the
// host's. app 0 means no limit (the sentry's default size); sandbox 0 no
// budget of its own.
func podMemory(cfg *PodConfig) (app, sandbox uint64) {
	limit := cfg.Resources.MemoryLimitBytes
	if limit <= 0 {
		return 0, 0
	}
	if rest := limit - cfg.MemoryOverheadBytes; cfg.MemoryOverheadBytes > 0 && rest > 0 {
		return uint64(rest), uint64(cfg.MemoryOverheadBytes)
	}
	return uint64(limit), 0
}
