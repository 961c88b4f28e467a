package podsandbox

import (
	"context"
	"time"

	"github.com/cocoonrt/cocoon/podsandbox/placement"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// startPlacement starts the placement of running pods' threads on the
// host's CPUs (package placement), unless Options.KernelPlacement leaves
// it to the kernel or pods have no cgroups to find their threads in.
func (r *Runtime) startPlacement() {
	if r.opts.KernelPlacement || r.opts.CgroupDriver == "none" {
		r.log.Info("cpu placement: left to the kernel's scheduler")
		placement.Release(r.placementTargets(), r.log)
		return
	}
	p, err := placement.New(r.placementTargets, r.log)
	if err != nil {
		r.log.Warn("cpu placement: not available; left to the kernel's scheduler", "err", err)
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		p.Run(r.ctx)
	}()
}

// placementTargets lists the running pods whose cgroup lists their
// threads.
func (r *Runtime) placementTargets() []placement.Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []placement.Target
	for id, ps := range r.pods {
		if ps.removed || ps.procs == nil || ps.rec.Pod.State != PodReady {
			continue
		}
		cg, ok := ps.cg.(placement.Cgroup)
		if !ok {
			continue
		}
		t := placement.Target{ID: id, Cgroup: cg, Traps: r.trapCounter(id), NetNS: ps.rec.Pod.NetNS}
		for _, p := range ps.procs {
			if p.name == "sentry" {
				t.Sentry = p.pid
			}
			t.Runtime = append(t.Runtime, p.pid)
		}
		out = append(out, t)
	}
	return out
}

// trapsTimeout bounds the placement's question to a sentry: it is asked
// on the placement's own goroutine, which a stuck sentry must not hold.
const trapsTimeout = 200 * time.Millisecond

// trapCounter returns what asks pod podID's sentry how many times its
// tasks trapped to it.
func (r *Runtime) trapCounter(podID string) func() (uint64, error) {
	client := r.client(podID)
	return func() (uint64, error) {
		ctx, cancel := context.WithTimeout(r.ctx, trapsTimeout)
		defer cancel()
		resp, err := client.Call(ctx, &control.Request{Op: control.OpTraps})
		if err != nil {
			return 0, err
		}
		return resp.Traps, nil
	}
}
