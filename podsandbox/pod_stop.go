package podsandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// How long StopPod gives each step before going on to the next, harder
// one.
const (
	shutdownTimeout = 5 * time.Second
	killTimeout     = 10 * time.Second
)

// lookupPod returns the pod's state, or nil.
func (r *Runtime) lookupPod(id string) *podState {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := r.pods[id]
	if ps == nil || ps.removed {
		return nil
	}
	return ps
}

// StopPod stops the pod's containers and processes. It is idempotent.
func (r *Runtime) StopPod(ctx context.Context, id string) error {
	ps := r.lookupPod(id)
	if ps == nil {
		return nil
	}
	ps.op.Lock()
	defer ps.op.Unlock()
	if r.isClosed() {
		return errClosed
	}
	r.mu.Lock()
	removed := ps.removed
	r.mu.Unlock()
	if removed {
		return nil
	}
	return r.stopPod(ctx, ps)
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// podContainers returns the pod's containers. r.mu is held.
func (r *Runtime) podContainersLocked(podID string) []*ctrState {
	var out []*ctrState
	for _, cs := range r.ctrs {
		if cs.rec.Container.Config.PodID == podID && !cs.removed {
			out = append(out, cs)
		}
	}
	return out
}

// stopPod stops the pod; ps.op is held.
func (r *Runtime) stopPod(ctx context.Context, ps *podState) error {
	id := ps.rec.Pod.Config.ID
	r.mu.Lock()
	procs := ps.procs
	ctrs := r.podContainersLocked(id)
	r.mu.Unlock()

	if procs != nil {
		// Containers first, each with its stop signal and a short
		// grace, all at once: kubelet has normally stopped them already
		// with the pod's own grace period.
		var wg sync.WaitGroup
		for _, cs := range ctrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.stopContainer(ctx, cs, r.opts.StopGrace); err != nil {
					r.log.Warn("stopping a container of a stopping pod", "pod", id, "container", cs.rec.Container.Config.ID, "err", err)
				}
			}()
		}
		wg.Wait()
		sctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
		_, err := r.client(id).Call(sctx, &control.Request{Op: control.OpShutdown})
		cancel()
		if err != nil && !errors.Is(err, control.ErrHangup) {
			r.log.Info("sentry shutdown request failed; killing it", "pod", id, "err", err)
		}
	}
	if err := r.releaseProcs(ps); err != nil {
		return fmt.Errorf("pod %s: %w", id, err)
	}
	r.removeSockets(id)
	// Only once the processes are gone: the namespace then dies with
	// its bind mount. A failure is returned after the record is saved,
	// so that the pod is NotReady and a retried Stop or Remove tries
	// again.
	netErr := r.stopNetwork(ctx, ps)

	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, cs := range r.podContainersLocked(id) {
		// Containers whose waiter did not report their end in time
		// died with the sentry.
		if cs.rec.Container.State == ContainerRunning {
			r.markExitedLocked(cs, 137, "Error", "killed when the pod stopped", now)
		}
	}
	changed := ps.rec.Pod.State != PodNotReady || ps.rec.Pod.SentryPID != 0
	ps.rec.Pod.State = PodNotReady
	ps.rec.Pod.SentryPID, ps.rec.Pod.GoferPID = 0, 0
	if err := r.st.putPod(&ps.rec); err != nil {
		return fmt.Errorf("pod %s: saving: %w", id, err)
	}
	if changed {
		r.emitLocked(EventStopped, id, id)
		r.log.Info("pod stopped", "pod", id)
	}
	if netErr != nil {
		return fmt.Errorf("pod %s: %w", id, netErr)
	}
	return nil
}

// releaseProcs ends the pod's watcher, kills the sentry and gofer (and
// anything else in the pod cgroup), waits for them, and ends the pod's
// context so its container waiters return. ps.op is held.
func (r *Runtime) releaseProcs(ps *podState) error {
	r.mu.Lock()
	w, procs, cancel, cg := ps.watch, ps.procs, ps.cancel, ps.cg
	ps.watch, ps.procs, ps.cancel = nil, nil, nil
	r.mu.Unlock()
	w.stop()
	for _, p := range procs {
		p.kill()
	}
	if cg != nil {
		if err := cg.Kill(); err != nil {
			r.log.Warn("killing the pod cgroup", "pod", ps.rec.Pod.Config.ID, "err", err)
		}
	}
	var stuck []string
	for _, p := range procs {
		if !p.stopAndClose(killTimeout) {
			stuck = append(stuck, fmt.Sprintf("%s (pid %d)", p.name, p.pid))
		}
	}
	if cancel != nil {
		cancel()
	}
	if len(stuck) > 0 {
		return fmt.Errorf("%s did not exit after SIGKILL", strings.Join(stuck, " and "))
	}
	return nil
}

func (r *Runtime) removeSockets(id string) {
	for _, p := range []string{r.controlPath(id), r.treePath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("removing a pod socket", "path", p, "err", err)
		}
	}
}

// markExitedLocked records that a container ended. r.mu is held.
func (r *Runtime) markExitedLocked(cs *ctrState, code int32, reason, msg string, at time.Time) {
	c := &cs.rec.Container
	if c.State == ContainerExited {
		return
	}
	c.State = ContainerExited
	c.ExitCode = code
	if reason == "" {
		reason = "Completed"
		if code != 0 {
			reason = "Error"
		}
	}
	c.Reason, c.Message = reason, msg
	c.FinishedAt = at
	if c.StartedAt.IsZero() {
		// Never started: CRI wants a start time no later than the end.
		c.StartedAt = at
	}
	if cs.exited != nil {
		select {
		case <-cs.exited:
		default:
			close(cs.exited)
		}
	}
	if err := r.st.putContainer(&cs.rec); err != nil {
		r.log.Error("saving a container record", "container", c.Config.ID, "err", err)
	}
	r.emitLocked(EventStopped, c.Config.PodID, c.Config.ID)
}

// podDied handles the unexpected end of one of a pod's processes: the
// pod becomes NotReady, its containers exited, and whatever is left of
// it is killed. Other pods are not touched.
func (r *Runtime) podDied(ps *podState, p *proc) {
	ps.op.Lock()
	defer ps.op.Unlock()
	r.mu.Lock()
	if ps.procs == nil || ps.removed || r.closed {
		// Stopped on request, or the daemon is letting go: not a death
		// to record (a restarted daemon will notice it).
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	id := ps.rec.Pod.Config.ID
	p, status := r.deathCause(ps, p)
	reason := fmt.Sprintf("%sExited: %s (pid %d) %s", strings.ToUpper(p.name[:1])+p.name[1:], p.name, p.pid, status)
	r.log.Error("pod process died; marking the pod NotReady", "pod", id, "process", p.name, "pid", p.pid, "status", status,
		"log", filepath.Join(r.podStateDir(id), "sentry.log"))
	if err := r.releaseProcs(ps); err != nil {
		r.log.Error("killing the rest of a dead pod", "pod", id, "err", err)
	}
	r.removeSockets(id)
	r.podDeadLocked(ps, reason)
}

// sentryHangUpGrace is how long podDied waits for the sentry after the
// gofer ended cleanly, which it does when its sentry hangs up.
const sentryHangUpGrace = time.Second

// deathCause returns the process whose end killed the pod, and how it
// ended, given the first one the watcher saw end. The gofer exits with
// status 0 when its sentry's connection closes, so a sentry killed by a
// signal is often seen second: the pod died of the sentry's death then,
// and its reason says so.
func (r *Runtime) deathCause(ps *podState, first *proc) (*proc, string) {
	status := first.exitStatus()
	if first.name != "gofer" || status != "exit status 0" {
		return first, status
	}
	r.mu.Lock()
	procs := ps.procs
	r.mu.Unlock()
	for _, p := range procs {
		if p.name == "sentry" && p.waitExit(sentryHangUpGrace) {
			return p, p.exitStatus()
		}
	}
	return first, status
}

// podDeadLocked records a pod whose sandbox is gone. ps.op is held.
func (r *Runtime) podDeadLocked(ps *podState, reason string) {
	id := ps.rec.Pod.Config.ID
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, cs := range r.podContainersLocked(id) {
		switch cs.rec.Container.State {
		case ContainerRunning, ContainerCreated, ContainerUnknown:
			r.markExitedLocked(cs, 255, "SandboxDied", reason, now)
		}
	}
	ps.rec.Pod.State = PodNotReady
	ps.rec.Pod.Reason = reason
	ps.rec.Pod.SentryPID, ps.rec.Pod.GoferPID = 0, 0
	if err := r.st.putPod(&ps.rec); err != nil {
		r.log.Error("saving a pod record", "pod", id, "err", err)
	}
	r.emitLocked(EventStopped, id, id)
}

// exitStatus describes how the process ended when it was the daemon's
// child ("exit status 2", "killed by signal 9"), reaping it; otherwise
// "exited".
func (p *proc) exitStatus() string {
	if p.fd < 0 {
		return "exited"
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PIDFD, p.fd, &info, unix.WEXITED|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "exited"
		}
		break
	}
	// siginfo_t for SIGCHLD: si_code at offset 8, si_status at 24 on
	// 64-bit Linux.
	code := int32(info.Code)
	status := siginfoStatus(&info)
	switch code {
	case 1: // CLD_EXITED
		return fmt.Sprintf("exit status %d", status)
	case 2, 3: // CLD_KILLED, CLD_DUMPED
		return fmt.Sprintf("killed by signal %d (%s)", status, unix.SignalName(unix.Signal(status)))
	}
	return "exited"
}

// RemovePod stops the pod and removes it and its containers.
func (r *Runtime) RemovePod(ctx context.Context, id string) error {
	ps := r.lookupPod(id)
	if ps == nil {
		return nil
	}
	ps.op.Lock()
	defer ps.op.Unlock()
	if r.isClosed() {
		return errClosed
	}
	r.mu.Lock()
	removed := ps.removed
	r.mu.Unlock()
	if removed {
		return nil
	}
	if err := r.stopPod(ctx, ps); err != nil {
		return err
	}
	r.mu.Lock()
	ctrs := r.podContainersLocked(id)
	r.mu.Unlock()
	for _, cs := range ctrs {
		cs.op.Lock()
		err := r.removeContainerLocked(ctx, cs)
		cs.op.Unlock()
		if err != nil {
			return fmt.Errorf("pod %s: %w", id, err)
		}
	}
	r.mu.Lock()
	cg := ps.cg
	r.mu.Unlock()
	if cg == nil && ps.rec.CgroupName != "" {
		var err error
		if cg, err = loadCgroup(r.opts.CgroupDriver, ps.rec.CgroupParent, ps.rec.CgroupName); err != nil {
			r.log.Warn("loading the cgroup of a pod being removed", "pod", id, "err", err)
		}
	}
	if cg != nil {
		_ = cg.Kill()
		if err := cg.Delete(ctx); err != nil {
			return fmt.Errorf("pod %s: removing its cgroup: %w", id, err)
		}
	}
	for _, d := range []string{r.podRunDir(id), r.podStateDir(id)} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("pod %s: %w", id, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.st.delete(podsBucket, id); err != nil {
		return fmt.Errorf("pod %s: deleting its record: %w", id, err)
	}
	ps.removed = true
	ps.cg = nil
	delete(r.pods, id)
	r.emitLocked(EventDeleted, id, id)
	r.log.Info("pod removed", "pod", id)
	return nil
}
