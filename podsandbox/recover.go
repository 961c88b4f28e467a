package podsandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cocoonrt/cocoon/podsandbox/netns"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// recover loads the state database and reconnects to the pods it
// records (New calls it before the runtime is shared, so it takes no
// op locks). A pod whose processes are still the ones it started (same
// PID and start time) is watched again and its running containers'
// waiters restarted; a pod whose sentry or gofer is gone becomes
// NotReady with its containers exited, as if the daemon had seen it
// die.
func (r *Runtime) recover() error {
	pods, ctrs, bad, err := r.st.load()
	if err != nil {
		return fmt.Errorf("loading state: %w", err)
	}
	for _, e := range bad {
		r.log.Error("skipping a state record", "err", e)
	}
	var unfinished []*podRecord
	for _, p := range pods {
		if p.Starting {
			r.log.Warn("removing a pod the daemon was starting when it stopped", "pod", p.Pod.Config.ID)
			if err := r.recoverStarting(p); err != nil {
				// The record stays, so a retry (and the next start)
				// tries again.
				r.log.Error("removing a pod the daemon was starting when it stopped; will retry", "pod", p.Pod.Config.ID, "err", err)
				unfinished = append(unfinished, p)
			}
			continue
		}
		r.pods[p.Pod.Config.ID] = &podState{rec: *p, visible: true}
	}
	for _, c := range ctrs {
		id := c.Container.Config.ID
		if r.pods[c.Container.Config.PodID] == nil {
			// Its pod's record is gone (a crash in the middle of
			// RemovePod): finish removing it.
			r.log.Warn("removing a container whose pod is gone", "container", id, "pod", c.Container.Config.PodID)
			if err := removeRunDir(r.ctrRunDir(id)); err != nil {
				r.log.Error("removing an orphaned container", "container", id, "err", err)
				continue
			}
			_ = r.st.delete(containersBucket, id)
			continue
		}
		r.ctrs[id] = &ctrState{rec: *c, visible: true}
	}
	for _, ps := range r.pods {
		r.recoverPod(ps)
	}
	r.removeOrphanNetworks(unfinished)
	// Container directories without a record (a crash in the middle of
	// CreateContainer or RemoveContainer) are unmounted and removed.
	ents, err := os.ReadDir(filepath.Join(r.opts.RunDir, "containers"))
	if err != nil {
		return err
	}
	for _, ent := range ents {
		if r.ctrs[ent.Name()] != nil {
			continue
		}
		r.log.Warn("removing the directory of an unknown container", "container", ent.Name())
		if err := removeRunDir(r.ctrRunDir(ent.Name())); err != nil {
			r.log.Error("removing an unknown container's directory", "container", ent.Name(), "err", err)
		}
	}
	if len(unfinished) > 0 {
		r.wg.Add(1)
		go r.retryStarting(unfinished)
	}
	return nil
}

// Retries of recoverStarting back off from the first delay to the last.
var (
	retryStartingFirst = time.Second
	retryStartingLast  = time.Minute
)

// retryStarting retries removing pods recoverStarting could not remove
// (a CNI plugin that failed its DEL, a process slow to die) until each is
// gone or the runtime closes. No client knows these pods, so nobody else
// would ever remove them: without retries, their IP lease, network
// namespace and directories would stay until the daemon restarts.
func (r *Runtime) retryStarting(recs []*podRecord) {
	defer r.wg.Done()
	delay := retryStartingFirst
	for len(recs) > 0 {
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, retryStartingLast)
		recs = slices.DeleteFunc(recs, func(rec *podRecord) bool {
			err := r.recoverStarting(rec)
			if err != nil {
				r.log.Error("removing a pod that did not finish starting; will retry", "pod", rec.Pod.Config.ID, "err", err, "in", delay)
			}
			return err == nil
		})
	}
}

func (r *Runtime) recoverPod(ps *podState) {
	rec := &ps.rec
	id := rec.Pod.Config.ID
	log := r.log.With("pod", id)
	if rec.CgroupName != "" && r.opts.CgroupDriver != "none" {
		cg, err := loadCgroup(r.opts.CgroupDriver, rec.CgroupParent, rec.CgroupName)
		if err != nil {
			log.Warn("loading the pod cgroup", "err", err)
		} else {
			ps.cg = cg
		}
	}
	var procs []*proc
	var gone []string
	if rec.Pod.SentryPID != 0 || rec.Pod.GoferPID != 0 {
		for _, x := range []struct {
			name  string
			pid   int
			start uint64
		}{{"sentry", rec.Pod.SentryPID, rec.SentryStart}, {"gofer", rec.Pod.GoferPID, rec.GoferStart}} {
			p, err := openProc(x.name, x.pid, x.start)
			if err != nil {
				if !errors.Is(err, os.ErrProcessDone) {
					log.Warn("checking a pod process", "err", err)
				}
				gone = append(gone, x.name)
				continue
			}
			if p.exited() {
				// Dead but not reaped (a zombie of a daemon that was
				// its parent in this same process, as in tests).
				p.reap()
				p.close()
				gone = append(gone, x.name)
				continue
			}
			procs = append(procs, p)
		}
	}

	if rec.Pod.State == PodReady && len(gone) == 0 {
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		_, err := r.client(id).Call(ctx, &control.Request{Op: control.OpInfo})
		cancel()
		if err != nil {
			// Alive but not answering (busy, or stuck): keep the pod
			// and watch it; calls will fail until it answers.
			log.Warn("the pod's sentry is running but does not answer", "err", err)
		}
		pctx, pcancel := context.WithCancel(r.ctx)
		w, err := watch(procs, func(p *proc) { r.podDied(ps, p) })
		if err != nil {
			log.Error("watching the pod's processes", "err", err)
			pcancel()
			for _, p := range procs {
				p.close()
			}
			return
		}
		r.mu.Lock()
		ps.procs, ps.watch, ps.ctx, ps.cancel = procs, w, pctx, pcancel
		var running []*ctrState
		for _, cs := range r.podContainersLocked(id) {
			if cs.rec.Container.State == ContainerRunning {
				cs.exited = make(chan struct{})
				running = append(running, cs)
			}
		}
		r.mu.Unlock()
		for _, cs := range running {
			// OpWait answers at once for a container that exited while
			// the daemon was away.
			r.startWaiter(pctx, cs)
		}
		log.Info("reconnected to pod", "sentry", rec.Pod.SentryPID, "gofer", rec.Pod.GoferPID, "running", len(running))
		return
	}

	// The pod is stopped, or its sandbox is (partly) gone: whatever is
	// left of it goes.
	for _, p := range procs {
		p.stopAndClose(killTimeout)
	}
	if ps.cg != nil && len(procs) > 0 {
		_ = ps.cg.Kill()
	}
	if rec.Pod.State == PodReady {
		r.removeSockets(id)
		reason := fmt.Sprintf("SandboxExited: %s gone when the daemon started", strings.Join(gone, " and "))
		log.Error("pod's sandbox died while the daemon was away; marking it NotReady", "gone", gone)
		r.podDeadLocked(ps, reason)
		return
	}
	if rec.Pod.SentryPID != 0 || rec.Pod.GoferPID != 0 {
		// The daemon stopped in the middle of StopPod.
		r.mu.Lock()
		rec.Pod.SentryPID, rec.Pod.GoferPID = 0, 0
		if err := r.st.putPod(rec); err != nil {
			log.Error("saving a pod record", "err", err)
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	now := time.Now()
	for _, cs := range r.podContainersLocked(id) {
		if cs.rec.Container.State == ContainerRunning {
			r.markExitedLocked(cs, 137, "Error", "killed when the pod stopped", now)
		}
	}
	r.mu.Unlock()
}

// recoverStarting removes a pod the daemon stopped in the middle of
// building (RunPod had saved its record as Starting), or one whose RunPod
// failed. RunPod never returned it, so no client knows its ID: it goes
// entirely: its processes, cgroup, network, directories and record. It
// is idempotent: what is already gone is skipped.
func (r *Runtime) recoverStarting(rec *podRecord) error {
	id := rec.Pod.Config.ID
	procs := r.podLogWriters(id)
	for _, x := range []struct {
		name  string
		pid   int
		start uint64
	}{{"sentry", rec.Pod.SentryPID, rec.SentryStart}, {"gofer", rec.Pod.GoferPID, rec.GoferStart}} {
		if x.pid == 0 || slices.ContainsFunc(procs, func(p *proc) bool { return p.pid == x.pid }) {
			continue
		}
		if p, err := openProc(x.name, x.pid, x.start); err == nil {
			procs = append(procs, p)
		}
	}
	var stuck []string
	for _, p := range procs {
		if !p.stopAndClose(killTimeout) {
			stuck = append(stuck, fmt.Sprintf("%s (pid %d)", p.name, p.pid))
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("%s did not exit after SIGKILL", strings.Join(stuck, ", "))
	}
	if rec.CgroupName != "" && r.opts.CgroupDriver != "none" {
		cg, err := loadCgroup(r.opts.CgroupDriver, rec.CgroupParent, rec.CgroupName)
		switch {
		case err == nil:
			_ = cg.Kill()
			ctx, cancel := context.WithTimeout(r.ctx, killTimeout)
			err = cg.Delete(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("removing its cgroup: %w", err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("loading its cgroup: %w", err)
		}
	}
	path := r.netnsPath(id)
	if _, err := os.Lstat(path); err == nil {
		if !netns.Is(path) {
			// The daemon stopped before the namespace was mounted on
			// its file: CNI never saw it.
			if err := netns.Remove(path); err != nil {
				return err
			}
		} else {
			args, _ := podNetworkArgs(&rec.Pod.Config)
			ctx, cancel := context.WithTimeout(r.ctx, networkTimeout)
			err := r.teardownNetwork(ctx, id, path, args)
			cancel()
			if err != nil {
				return err
			}
		}
	}
	for _, d := range []string{r.podRunDir(id), r.podStateDir(id)} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return r.st.delete(podsBucket, id)
}

// podLogWriters returns the processes whose standard error is pod id's
// sentry.log: the pod's sentry and gofer get it from the moment they
// are spawned, so this finds them even when the daemon stopped before
// it recorded their PIDs. (Helpers a sentry forks inherit it too, and
// belong to the pod as much.)
func (r *Runtime) podLogWriters(id string) []*proc {
	logPath := filepath.Join(r.podStateDir(id), "sentry.log")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		r.log.Warn("listing processes", "err", err)
		return nil
	}
	var out []*proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stderr := fmt.Sprintf("/proc/%d/fd/2", pid)
		if l, err := os.Readlink(stderr); err != nil || l != logPath {
			continue
		}
		p, err := openProc("pod process", pid, 0)
		if err != nil {
			continue
		}
		// Checked again through the pidfd's process: the PID may have
		// been reused since the first look.
		if l, err := os.Readlink(stderr); err != nil || l != logPath {
			p.close()
			continue
		}
		out = append(out, p)
	}
	return out
}
