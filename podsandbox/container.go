package podsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// containerKillWait bounds how long a container may take to go after
// SIGKILL before the runtime gives up on it.
const containerKillWait = 10 * time.Second

// rootTree is the gofer tree serving a container's root.
func rootTree(id string) string { return "c-" + id }

// lookupCtr returns a container's state, or nil.
func (r *Runtime) lookupCtr(id string) *ctrState {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.ctrs[id]
	if cs == nil || cs.removed || !cs.visible {
		return nil
	}
	return cs
}

// CreateContainer creates a container in a ready pod.
func (r *Runtime) CreateContainer(ctx context.Context, cfg ContainerConfig) (*Container, error) {
	if err := validateContainer(&cfg); err != nil {
		return nil, err
	}
	ps := r.lookupPod(cfg.PodID)
	if ps == nil {
		return nil, fmt.Errorf("container %s: pod %s: %w", cfg.ID, cfg.PodID, ErrNotFound)
	}
	// The pod's op keeps StopPod and RemovePod out while the container
	// is built, and serialises the name check below.
	ps.op.Lock()
	defer ps.op.Unlock()
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return nil, errClosed
	case ps.removed:
		r.mu.Unlock()
		return nil, fmt.Errorf("container %s: pod %s: %w", cfg.ID, cfg.PodID, ErrNotFound)
	case ps.rec.Pod.State != PodReady || ps.procs == nil:
		r.mu.Unlock()
		return nil, fmt.Errorf("container %s: pod %s is not ready: %w", cfg.ID, cfg.PodID, ErrState)
	case r.ctrs[cfg.ID] != nil:
		r.mu.Unlock()
		return nil, fmt.Errorf("container %s: %w", cfg.ID, ErrExists)
	}
	for _, o := range r.podContainersLocked(cfg.PodID) {
		if o.rec.Container.Config.Name == cfg.Name && o.rec.Container.Config.Attempt == cfg.Attempt {
			r.mu.Unlock()
			return nil, fmt.Errorf("container %q attempt %d in pod %s: in use by %s: %w", cfg.Name, cfg.Attempt, cfg.PodID, o.rec.Container.Config.ID, ErrExists)
		}
	}
	if target, ok := strings.CutPrefix(cfg.PIDNamespace, pidNamespaceOfPrefix); ok {
		// The sentry checks that the target runs; that it is a
		// container of this pod (the sentry knows no other) is known
		// here.
		if t := r.ctrs[target]; t == nil || t.removed || t.rec.Container.Config.PodID != cfg.PodID {
			r.mu.Unlock()
			return nil, fmt.Errorf("container %s: PID namespace of container %q: no such container in pod %s: %w", cfg.ID, target, cfg.PodID, ErrInvalid)
		}
	}
	cs := &ctrState{rec: containerRecord{Container: Container{Config: cfg, State: ContainerCreated, CreatedAt: time.Now()}}}
	cs.op.Lock()
	defer cs.op.Unlock()
	r.ctrs[cfg.ID] = cs
	r.mu.Unlock()

	err := r.createContainer(ctx, cs)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		cs.removed = true
		delete(r.ctrs, cfg.ID)
		return nil, err
	}
	cs.visible = true
	r.emitLocked(EventCreated, cfg.PodID, cfg.ID)
	return cloneContainer(&cs.rec.Container), nil
}

// createContainer builds the container; the pod's and the container's
// op are held.
func (r *Runtime) createContainer(ctx context.Context, cs *ctrState) (retErr error) {
	cfg := &cs.rec.Container.Config
	id, podID := cfg.ID, cfg.PodID
	what := fmt.Sprintf("container %s (%q)", id, cfg.Name)
	treeSock := r.treePath(podID)
	var u undo
	defer func() {
		if retErr != nil {
			u.run()
		}
	}()

	dir := r.ctrRunDir(id)
	if err := removeRunDir(dir); err != nil {
		return fmt.Errorf("%s: stale %s: %w", what, dir, err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o700); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	u.add(func() {
		if err := removeRunDir(dir); err != nil {
			r.log.Warn("cleaning up a container that failed to create", "container", id, "err", err)
		}
	})
	if err := mountRootfs(cfg.Rootfs, rootfs); err != nil {
		return fmt.Errorf("%s: rootfs: %w", what, err)
	}
	addTreeAt := func(name, dirPath string, ro bool) error {
		d, err := os.OpenFile(dirPath, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer d.Close()
		if err := addTree(ctx, treeSock, name, d, ro); err != nil {
			return fmt.Errorf("adding gofer tree %s: %w", name, err)
		}
		cs.rec.Trees = append(cs.rec.Trees, name)
		u.add(func() {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = removeTree(rctx, treeSock, name)
		})
		return nil
	}
	// Unless the host layer is the writable one, the sentry keeps the
	// writable layer (the pod's store) and the gofer serves the image
	// read-only: a sentry taken over cannot write the node's upper
	// directory either.
	if err := addTreeAt(rootTree(id), rootfs, cfg.ReadOnlyRootfs || !r.opts.HostLayer); err != nil {
		return fmt.Errorf("%s: rootfs: %w", what, err)
	}

	var mounts []boot.Mount
	own := map[string]bool{}
	for i, m := range cfg.Mounts {
		dest := path.Clean(m.ContainerPath)
		own[dest] = true
		opts := slices.Clone(m.Options)
		if m.ReadOnly && !slices.Contains(opts, "ro") {
			opts = append(opts, "ro")
		}
		bm := boot.Mount{Destination: dest, Type: "bind", Options: opts}
		if m.Type == "tmpfs" {
			bm.Type = "tmpfs"
			mounts = append(mounts, bm)
			continue
		}
		st, err := os.Stat(m.HostPath)
		if err != nil {
			return fmt.Errorf("%s: mount %s: host path %s: %w: %w", what, dest, m.HostPath, err, ErrInvalid)
		}
		name := fmt.Sprintf("c-%s-%d", id, i)
		bm.Tree = name
		switch {
		case st.IsDir():
			if err := addTreeAt(name, m.HostPath, m.ReadOnly); err != nil {
				return fmt.Errorf("%s: mount %s: %w", what, dest, err)
			}
		case st.Mode().IsRegular():
			// A file is served from a directory of its own holding a
			// bind mount of it, not from its host directory, whose
			// other files are not the container's to see.
			fdir := filepath.Join(dir, "files", strconv.Itoa(i))
			if err := os.MkdirAll(fdir, 0o700); err != nil {
				return fmt.Errorf("%s: mount %s: %w", what, dest, err)
			}
			base := filepath.Base(m.HostPath)
			if err := bindFile(m.HostPath, filepath.Join(fdir, base), m.ReadOnly); err != nil {
				return fmt.Errorf("%s: mount %s: %w", what, dest, err)
			}
			if err := addTreeAt(name, fdir, m.ReadOnly); err != nil {
				return fmt.Errorf("%s: mount %s: %w", what, dest, err)
			}
			bm.SubPath = base
		default:
			return fmt.Errorf("%s: mount %s: host path %s is neither a directory nor a regular file (%v): %w", what, dest, m.HostPath, st.Mode().Type(), ErrInvalid)
		}
		mounts = append(mounts, bm)
	}
	for _, f := range podFiles {
		dest := "/etc/" + f
		if own[dest] {
			continue // kubelet's own (it manages /etc/hosts itself)
		}
		var opts []string
		if cfg.ReadOnlyRootfs {
			opts = []string{"ro"}
		}
		mounts = append(mounts, boot.Mount{Destination: dest, Type: "bind", Tree: podFilesTree, SubPath: f, Options: opts})
	}
	// Parents before children, whatever order they came in (a volume at
	// /data and another at /data/cache), as other runtimes sort them.
	slices.SortStableFunc(mounts, func(a, b boot.Mount) int {
		return strings.Count(a.Destination, "/") - strings.Count(b.Destination, "/")
	})

	spec := &control.ContainerSpec{
		ID:            id,
		RootTree:      rootTree(id),
		RootReadOnly:  cfg.ReadOnlyRootfs,
		Mounts:        mounts,
		ReadonlyPaths: cfg.ReadonlyPaths,
		MaskedPaths:   cfg.MaskedPaths,
		PIDNamespace:  cfg.PIDNamespace,
		Process:       cfg.Process,
	}
	if m := cfg.Resources.MemoryLimitBytes; m > 0 {
		spec.MemoryLimitBytes = uint64(m)
	}
	var files []*os.File
	if cfg.LogPath != "" {
		logf, err := openLog(cfg.LogPath)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		defer logf.Close()
		spec.HasLog = true
		files = append(files, logf)
	}
	client := r.client(podID)
	if _, err := client.Call(ctx, &control.Request{Op: control.OpCreateContainer, CreateContainer: spec}, files...); err != nil {
		return sentryErr(what, err)
	}
	u.add(func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = client.Call(rctx, &control.Request{Op: control.OpRemoveContainer, Target: &control.Target{Container: id}})
	})
	if err := r.st.putContainer(&cs.rec); err != nil {
		return fmt.Errorf("%s: saving: %w", what, err)
	}
	r.log.Info("container created", "pod", podID, "container", id, "name", cfg.Name)
	return nil
}

// openLog opens (creating) a container's CRI log file for the sentry to
// append to.
func openLog(p string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	return f, nil
}

// ctrPod returns a container's pod state (nil when gone) and whether it
// has a live sandbox. r.mu is held.
func (r *Runtime) ctrPodLocked(cs *ctrState) (*podState, bool) {
	ps := r.pods[cs.rec.Container.Config.PodID]
	if ps == nil || ps.removed {
		return nil, false
	}
	return ps, ps.procs != nil && ps.rec.Pod.State == PodReady
}

// StartContainer starts a created container.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	cs := r.lookupCtr(id)
	if cs == nil {
		return fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	cs.op.Lock()
	defer cs.op.Unlock()
	r.mu.Lock()
	if cs.removed {
		r.mu.Unlock()
		return fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	state := cs.rec.Container.State
	ps, live := r.ctrPodLocked(cs)
	r.mu.Unlock()
	if state != ContainerCreated {
		return fmt.Errorf("container %s is %s, not created: %w", id, state, ErrState)
	}
	if !live {
		return fmt.Errorf("container %s: pod %s is not ready: %w", id, cs.rec.Container.Config.PodID, ErrState)
	}
	resp, err := r.client(cs.rec.Container.Config.PodID).Call(ctx, &control.Request{Op: control.OpStartContainer, Target: &control.Target{Container: id}})
	if err != nil {
		var cerr *control.Error
		if errors.As(err, &cerr) && cerr.Code != control.CodeNotFound && cerr.Code != control.CodeState {
			// The sentry could not start the program (missing,
			// not executable): like containerd, the container is
			// exited with StartError, so kubelet sees why and
			// recreates it instead of retrying a start forever.
			r.mu.Lock()
			c := &cs.rec.Container
			c.State, c.ExitCode, c.Reason, c.Message = ContainerExited, 128, "StartError", cerr.Message
			c.FinishedAt = time.Now()
			if perr := r.st.putContainer(&cs.rec); perr != nil {
				r.log.Error("saving a container record", "container", id, "err", perr)
			}
			r.emitLocked(EventStopped, c.Config.PodID, id)
			r.mu.Unlock()
		}
		return sentryErr(fmt.Sprintf("starting container %s", id), err)
	}
	r.mu.Lock()
	c := &cs.rec.Container
	c.State = ContainerRunning
	c.StartedAt = time.Now()
	c.PID = resp.PID
	cs.exited = make(chan struct{})
	if err := r.st.putContainer(&cs.rec); err != nil {
		r.log.Error("saving a container record", "container", id, "err", err)
	}
	r.emitLocked(EventStarted, c.Config.PodID, id)
	pctx := ps.ctx
	r.mu.Unlock()
	r.startWaiter(pctx, cs)
	return nil
}

// startWaiter starts the goroutine that waits for a running container
// to exit (OpWait) and records its end promptly. It returns when the
// container exits, is removed, or the pod's context ends (pod stopped or
// dead, or the runtime closing).
func (r *Runtime) startWaiter(pctx context.Context, cs *ctrState) {
	if pctx == nil {
		return
	}
	id, podID := cs.rec.Container.Config.ID, cs.rec.Container.Config.PodID
	client := r.client(podID)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		backoff := 100 * time.Millisecond
		for {
			resp, err := client.Call(pctx, &control.Request{Op: control.OpWait, Target: &control.Target{Container: id}})
			if pctx.Err() != nil {
				return
			}
			if err == nil && resp.State != nil && resp.State.State == control.StateExited {
				r.applyExit(cs, resp.State)
				return
			}
			var ce *control.Error
			if errors.As(err, &ce) && ce.Code == control.CodeNotFound {
				return // removed under us
			}
			// The sentry did not answer as expected. If it died, the
			// pod watcher ends pctx; otherwise ask again.
			r.log.Debug("waiting for a container", "container", id, "err", err)
			select {
			case <-pctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// applyExit records a container's end as the sentry reported it.
func (r *Runtime) applyExit(cs *ctrState, st *control.ContainerState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cs.removed {
		return
	}
	at := time.Now()
	if st.FinishedAt != 0 {
		at = time.Unix(0, st.FinishedAt)
	}
	if st.StartedAt != 0 {
		cs.rec.Container.StartedAt = time.Unix(0, st.StartedAt)
	}
	r.markExitedLocked(cs, st.ExitCode, st.Reason, "", at)
}

// StopContainer sends the stop signal, waits up to timeout, then kills.
func (r *Runtime) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	cs := r.lookupCtr(id)
	if cs == nil {
		return fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	return r.stopContainer(ctx, cs, timeout)
}

// stopContainer stops a running container: its stop signal to its init,
// up to timeout to exit, then SIGKILL to all its processes.
func (r *Runtime) stopContainer(ctx context.Context, cs *ctrState, timeout time.Duration) error {
	cs.op.Lock()
	defer cs.op.Unlock()
	r.mu.Lock()
	c := &cs.rec.Container
	id, podID := c.Config.ID, c.Config.PodID
	state, exited, removed := c.State, cs.exited, cs.removed
	_, live := r.ctrPodLocked(cs)
	r.mu.Unlock()
	if state != ContainerRunning || removed {
		return nil
	}
	if !live || exited == nil {
		// The sandbox is gone: StopPod or the pod's death handler
		// records the container's end.
		return nil
	}
	client := r.client(podID)
	signal := func(sig int, all bool) error {
		_, err := client.Call(ctx, &control.Request{Op: control.OpSignal, Signal: &control.SignalSpec{
			Target: control.Target{Container: id}, Signal: sig, All: all}})
		var ce *control.Error
		if errors.As(err, &ce) && (ce.Code == control.CodeNotFound || ce.Code == control.CodeState) {
			return nil // exited meanwhile
		}
		return err
	}
	if timeout > 0 {
		sig := c.Config.StopSignal
		if sig == 0 {
			sig = int(unix.SIGTERM)
		}
		if err := signal(sig, false); err != nil {
			r.log.Warn("sending the stop signal", "container", id, "signal", sig, "err", err)
		}
		select {
		case <-exited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(timeout):
		}
	}
	if err := signal(int(unix.SIGKILL), true); err != nil {
		return sentryErr(fmt.Sprintf("killing container %s", id), err)
	}
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(containerKillWait):
		return fmt.Errorf("container %s did not exit %v after SIGKILL", id, containerKillWait)
	}
}

// RemoveContainer kills the container if it runs and removes it.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	cs := r.lookupCtr(id)
	if cs == nil {
		return nil
	}
	r.mu.Lock()
	running := cs.rec.Container.State == ContainerRunning
	r.mu.Unlock()
	if running {
		if err := r.stopContainer(ctx, cs, 0); err != nil {
			return err
		}
	}
	cs.op.Lock()
	defer cs.op.Unlock()
	return r.removeContainerLocked(ctx, cs)
}

// removeContainerLocked forgets a container that is not running (or
// whose sandbox is gone) and releases its trees, mounts and record.
// cs.op is held.
func (r *Runtime) removeContainerLocked(ctx context.Context, cs *ctrState) error {
	r.mu.Lock()
	if cs.removed {
		r.mu.Unlock()
		return nil
	}
	c := &cs.rec.Container
	id, podID := c.Config.ID, c.Config.PodID
	_, live := r.ctrPodLocked(cs)
	running := c.State == ContainerRunning
	trees := slices.Clone(cs.rec.Trees)
	r.mu.Unlock()
	if live {
		if running {
			return fmt.Errorf("container %s is still running: %w", id, ErrState)
		}
		_, err := r.client(podID).Call(ctx, &control.Request{Op: control.OpRemoveContainer, Target: &control.Target{Container: id}})
		var ce *control.Error
		if err != nil && !(errors.As(err, &ce) && ce.Code == control.CodeNotFound) {
			return sentryErr(fmt.Sprintf("removing container %s", id), err)
		}
		for _, t := range trees {
			if err := removeTree(ctx, r.treePath(podID), t); err != nil {
				// The gofer keeps the descriptor until the pod ends;
				// the mount is detached below either way.
				r.log.Warn("removing a gofer tree", "container", id, "tree", t, "err", err)
			}
		}
	}
	if err := removeRunDir(r.ctrRunDir(id)); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.st.delete(containersBucket, id); err != nil {
		return fmt.Errorf("container %s: deleting its record: %w", id, err)
	}
	cs.removed = true
	delete(r.ctrs, id)
	r.emitLocked(EventDeleted, podID, id)
	r.log.Info("container removed", "pod", podID, "container", id)
	return nil
}

// refresh brings the records of the pod's containers up to date with
// what its sentry reports (the waiters normally have already).
func (r *Runtime) refresh(ctx context.Context, podID string) {
	r.mu.Lock()
	ps := r.pods[podID]
	live := ps != nil && !ps.removed && ps.procs != nil && ps.rec.Pod.State == PodReady
	r.mu.Unlock()
	if !live {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := r.client(podID).Call(ctx, &control.Request{Op: control.OpState})
	if err != nil {
		r.log.Debug("refreshing container states", "pod", podID, "err", err)
		return
	}
	for i := range resp.Containers {
		st := &resp.Containers[i]
		if st.Exec != "" || st.State != control.StateExited {
			continue
		}
		r.mu.Lock()
		cs := r.ctrs[st.ID]
		if cs != nil && cs.rec.Container.Config.PodID == podID && cs.rec.Container.State == ContainerRunning {
			r.mu.Unlock()
			r.applyExit(cs, st)
			continue
		}
		r.mu.Unlock()
	}
}

// Container returns a container.
func (r *Runtime) Container(ctx context.Context, id string) (*Container, error) {
	cs := r.lookupCtr(id)
	if cs == nil {
		return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	r.refresh(ctx, cs.rec.Container.Config.PodID)
	r.mu.Lock()
	defer r.mu.Unlock()
	if cs.removed {
		return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	return cloneContainer(&cs.rec.Container), nil
}

// Containers returns every container.
func (r *Runtime) Containers(ctx context.Context) ([]*Container, error) {
	r.mu.Lock()
	var podIDs []string
	for id, ps := range r.pods {
		if ps.procs != nil && !ps.removed {
			podIDs = append(podIDs, id)
		}
	}
	r.mu.Unlock()
	for _, id := range podIDs {
		r.refresh(ctx, id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Container
	for _, cs := range r.ctrs {
		if cs.visible && !cs.removed {
			out = append(out, cloneContainer(&cs.rec.Container))
		}
	}
	slices.SortFunc(out, func(a, b *Container) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// UpdateContainerResources records a container's new limits and gives a
// live container's memory limit to the sentry, which enforces it (its
// OOM killer). The host can only enforce limits per pod (the sentry and
// gofer are the pod's processes), so the pod cgroup's memory limit is
// raised when the containers' limits together exceed it; it is never
// lowered below the pod's own.
func (r *Runtime) UpdateContainerResources(ctx context.Context, id string, res Resources) error {
	if err := validateResources(fmt.Sprintf("container %s", id), res); err != nil {
		return err
	}
	cs := r.lookupCtr(id)
	if cs == nil {
		return fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	cs.op.Lock()
	defer cs.op.Unlock()
	r.mu.Lock()
	_, live := r.ctrPodLocked(cs)
	state, podID := cs.rec.Container.State, cs.rec.Container.Config.PodID
	r.mu.Unlock()
	if live && state != ContainerExited {
		update := &control.UpdateSpec{MemoryLimitBytes: uint64(max(res.MemoryLimitBytes, 0))}
		req := &control.Request{Op: control.OpUpdateContainer, Target: &control.Target{Container: id}, Update: update}
		if _, err := r.client(podID).Call(ctx, req); err != nil {
			return sentryErr(fmt.Sprintf("container %s", id), err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cs.removed {
		return fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	cs.rec.Container.Config.Resources = res
	if err := r.st.putContainer(&cs.rec); err != nil {
		return fmt.Errorf("container %s: saving: %w", id, err)
	}
	ps := r.pods[cs.rec.Container.Config.PodID]
	if ps == nil || ps.cg == nil || ps.rec.Pod.Config.Resources.MemoryLimitBytes == 0 {
		return nil // no pod limit to raise
	}
	var sum int64
	for _, o := range r.podContainersLocked(ps.rec.Pod.Config.ID) {
		m := o.rec.Container.Config.Resources.MemoryLimitBytes
		if m == 0 {
			return nil // an unlimited container: the pod limit stays as kubelet set it
		}
		sum += m
	}
	if sum <= ps.rec.Pod.Config.Resources.MemoryLimitBytes {
		return nil
	}
	pr := ps.rec.Pod.Config.Resources
	pr.MemoryLimitBytes = sum
	if err := ps.cg.Set(pr); err != nil {
		return fmt.Errorf("container %s: raising pod %s's memory limit to %d: %w", id, ps.rec.Pod.Config.ID, sum, err)
	}
	return nil
}

// UpdatePodResources records a pod's new overall limits and applies them
// to its cgroup. A pod without a cgroup (no controllers on the node)
// keeps the record only.
func (r *Runtime) UpdatePodResources(ctx context.Context, id string, res Resources) error {
	if err := validateResources(fmt.Sprintf("pod %s", id), res); err != nil {
		return err
	}
	r.mu.Lock()
	ps := r.pods[id]
	r.mu.Unlock()
	if ps == nil {
		return fmt.Errorf("pod %s: %w", id, ErrNotFound)
	}
	ps.op.Lock()
	defer ps.op.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if ps.removed {
		return fmt.Errorf("pod %s: %w", id, ErrNotFound)
	}
	if ps.rec.Pod.State != PodReady {
		return fmt.Errorf("pod %s is not ready: %w", id, ErrState)
	}
	if ps.cg != nil {
		if err := ps.cg.Set(res); err != nil {
			return fmt.Errorf("pod %s: applying limits: %w", id, err)
		}
	}
	ps.rec.Pod.Config.Resources = res
	if err := r.st.putPod(&ps.rec); err != nil {
		return fmt.Errorf("pod %s: saving: %w", id, err)
	}
	return nil
}

// ReopenContainerLog reopens a running container's log file (after
// kubelet rotated it).
func (r *Runtime) ReopenContainerLog(ctx context.Context, id string) error {
	cs := r.lookupCtr(id)
	if cs == nil {
		return fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	cs.op.Lock()
	defer cs.op.Unlock()
	r.mu.Lock()
	c := &cs.rec.Container
	state, logPath, podID := c.State, c.Config.LogPath, c.Config.PodID
	_, live := r.ctrPodLocked(cs)
	r.mu.Unlock()
	if state != ContainerRunning || !live {
		return fmt.Errorf("container %s is %s, not running: %w", id, state, ErrState)
	}
	if logPath == "" {
		return fmt.Errorf("container %s has no log path: %w", id, ErrInvalid)
	}
	f, err := openLog(logPath)
	if err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	defer f.Close()
	if _, err := r.client(podID).Call(ctx, &control.Request{Op: control.OpReopenLog, Target: &control.Target{Container: id}}, f); err != nil {
		return sentryErr(fmt.Sprintf("reopening container %s's log", id), err)
	}
	return nil
}
