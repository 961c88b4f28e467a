package podsandbox

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// sentryStats asks a ready pod's sentry for its stats; nil when the pod
// has no live sandbox.
func (r *Runtime) sentryStats(ctx context.Context, podID string) (*control.Stats, error) {
	r.mu.Lock()
	ps := r.pods[podID]
	live := ps != nil && !ps.removed && ps.procs != nil && ps.rec.Pod.State == PodReady
	r.mu.Unlock()
	if !live {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := r.client(podID).Call(ctx, &control.Request{Op: control.OpStats})
	if err != nil {
		return nil, sentryErr(fmt.Sprintf("stats of pod %s", podID), err)
	}
	return resp.Stats, nil
}

// ContainerStats reports a container's resource use.
func (r *Runtime) ContainerStats(ctx context.Context, id string) (*ContainerStats, error) {
	cs := r.lookupCtr(id)
	if cs == nil {
		return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	r.mu.Lock()
	podID, upper := cs.rec.Container.Config.PodID, cs.rec.Container.Config.Rootfs.Upper
	r.mu.Unlock()
	st, err := r.sentryStats(ctx, podID)
	if err != nil {
		return nil, err
	}
	out := containerStats(id, st)
	out.WritableLayerBytes, out.WritableLayerInodes = dirUsage(upper)
	return out, nil
}

func containerStats(id string, st *control.Stats) *ContainerStats {
	out := &ContainerStats{Timestamp: time.Now()}
	if st == nil {
		return out
	}
	out.Timestamp = time.Unix(0, st.Timestamp)
	for _, c := range st.Containers {
		if c.ID == id {
			out.CPUNanos = c.CPUNanos
			out.MemoryWorkingSetBytes = c.MemoryWorkingSetBytes
			out.Processes = c.Processes
		}
	}
	return out
}

// PodStats reports a pod's resource use: the host's view from its
// cgroup (the sentry's and gofer's CPU and memory) and each container
// as the sentry accounts it.
func (r *Runtime) PodStats(ctx context.Context, id string) (*PodStats, error) {
	ps := r.lookupPod(id)
	if ps == nil {
		return nil, fmt.Errorf("pod %s: %w", id, ErrNotFound)
	}
	st, err := r.sentryStats(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &PodStats{Timestamp: time.Now(), Containers: map[string]ContainerStats{}}
	r.mu.Lock()
	cg := ps.cg
	uppers := map[string]string{}
	for _, cs := range r.podContainersLocked(id) {
		if cs.visible {
			uppers[cs.rec.Container.Config.ID] = cs.rec.Container.Config.Rootfs.Upper
		}
	}
	r.mu.Unlock()
	if cg != nil {
		cst, err := cg.Stats()
		if err != nil {
			return nil, fmt.Errorf("pod %s: cgroup stats: %w", id, err)
		}
		out.CPUNanos, out.MemoryBytes, out.Processes = cst.CPUNanos, cst.MemoryBytes, cst.Processes
	} else if st != nil {
		out.CPUNanos, out.MemoryBytes = st.CPUNanos, st.MemoryBytes
	}
	for cid, upper := range uppers {
		c := containerStats(cid, st)
		c.WritableLayerBytes, c.WritableLayerInodes = dirUsage(upper)
		out.Containers[cid] = *c
	}
	return out, nil
}

// dirUsage is the disk use (allocated blocks) and inode count of a
// writable layer. It walks the directory; writable layers are small as a
// rule, and the walk stops at a budget of entries so a huge layer costs
// a bounded amount (the figures are then lower bounds).
func dirUsage(dir string) (bytes, inodes uint64) {
	if dir == "" {
		return 0, 0
	}
	const budget = 200000
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if inodes >= budget {
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if st.Nlink > 1 {
				if seen[st.Ino] {
					return nil // a hard link counted already
				}
				seen[st.Ino] = true
			}
			bytes += uint64(st.Blocks) * 512
		}
		inodes++
		return nil
	})
	return bytes, inodes
}
