package podsandbox

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/podsandbox/cgroup"
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
	if resp.Stats != nil {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(r.podStateDir(podID), podStoreName), &st); err == nil {
			claimLayerShares(resp.Stats, uint64(st.Blocks)*512)
		}
	}
	return resp.Stats, nil
}

// claimLayerShares makes the containers' writable layers, as the sentry
// reports them, add up to at least storeBytes, the disk the pod's store
// takes as the host sees it: a sentry taken over must not hide its
// containers' writes from ephemeral-storage eviction by reporting less.
// An honest sentry's shares add up to the store's use already (its layers'
// pages are the store's blocks); what is missing goes to the container
// that reports the most, so the pod's total is right whatever the split.
func claimLayerShares(st *control.Stats, storeBytes uint64) {
	var sum uint64
	most := -1
	for i, c := range st.Containers {
		if !c.HasWritableLayer {
			continue
		}
		sum += c.WritableLayerBytes
		if most < 0 || c.WritableLayerBytes > st.Containers[most].WritableLayerBytes {
			most = i
		}
	}
	if most >= 0 && storeBytes > sum {
		st.Containers[most].WritableLayerBytes += storeBytes - sum
	}
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
	addDirUsage(out, upper)
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
			// The part of the writable layer the sentry keeps (the
			// store overlay), which the host's upper directory
			// does not hold.
			out.WritableLayerBytes, out.WritableLayerInodes = c.WritableLayerBytes, c.WritableLayerInodes
		}
	}
	return out
}

// PodStats reports a pod's resource use: the host's view from its
// cgroup (the CPU, memory and processes of the sentry, its platform's
// stub processes and the gofer) and each container as the sentry
// accounts it.
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
		addDirUsage(c, upper)
		out.Containers[cid] = *c
	}
	return out, nil
}

// addDirUsage adds what the host upper directory of a writable layer
// holds to c's writable layer.
func addDirUsage(c *ContainerStats, upper string) {
	bytes, inodes := dirUsage(upper)
	c.WritableLayerBytes += bytes
	c.WritableLayerInodes += inodes
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

// PodMetricsSource is implemented by a Manager that measures pods in the
// detail of cAdvisor's container_* metrics (Runtime does); cri/ asks for
// it by type assertion and falls back on PodStats without it.
type PodMetricsSource interface {
	PodMetrics(ctx context.Context, id string) (*PodMetrics, error)
}

// PodMetrics is a ready pod's resource use in detail. Each part comes
// from where it is measured: the pod's cgroup (the host's view of the
// sentry and gofer), the pod's network namespace, the sentry's
// per-container accounting, and each container's writable layer.
type PodMetrics struct {
	Timestamp time.Time
	// Cgroup is the pod cgroup's figures; nil when the pod has no
	// cgroup.
	Cgroup *cgroup.Metrics
	// Network holds the counters of the interfaces of the pod's network
	// namespace; nil for a host-network pod, whose interfaces are the
	// node's and not the pod's. Unlike cAdvisor, the loopback is kept:
	// a pod without a pod network has nothing else, and its counters
	// are still the pod's own.
	Network []InterfaceStats
	// Containers are the pod's containers the sentry reported, by ID.
	Containers map[string]ContainerMetrics
}

// InterfaceStats are one interface's counters (/proc/net/dev).
type InterfaceStats struct {
	Name                                    string
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// ContainerMetrics is one container's resource use in detail.
type ContainerMetrics struct {
	// Sentry is what the sandbox's kernel accounts for the container
	// (Sentry.HasDetail is false from a sentry too old to send more
	// than CPU, working set and processes).
	Sentry control.ContainerStats
	// Fs is the writable layer's use and its file system's size; nil
	// when the container has no writable layer of its own.
	Fs *FsUsage
}

// FsUsage is a writable layer's use and the size of the file system
// that holds it.
type FsUsage struct {
	// Device is the file system's source (/dev/vda1, or the mount
	// point when its source is not a device path).
	Device string
	// UsedBytes and UsedInodes measure the writable layer (dirUsage).
	UsedBytes, UsedInodes uint64
	// LimitBytes, Inodes and InodesFree are the file system's (statfs).
	LimitBytes, Inodes, InodesFree uint64
}

// PodMetrics measures a ready pod (ErrNotFound for an unknown pod,
// ErrState for one that is not ready).
func (r *Runtime) PodMetrics(ctx context.Context, id string) (*PodMetrics, error) {
	ps := r.lookupPod(id)
	if ps == nil {
		return nil, fmt.Errorf("pod %s: %w", id, ErrNotFound)
	}
	st, err := r.sentryStats(ctx, id)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("pod %s is not ready: %w", id, ErrState)
	}
	r.mu.Lock()
	cg := ps.cg
	sentryPID, hostNet := ps.rec.Pod.SentryPID, ps.rec.Pod.Config.HostNetwork
	uppers := map[string]string{}
	for _, cs := range r.podContainersLocked(id) {
		if cs.visible {
			uppers[cs.rec.Container.Config.ID] = cs.rec.Container.Config.Rootfs.Upper
		}
	}
	r.mu.Unlock()

	out := &PodMetrics{Timestamp: time.Unix(0, st.Timestamp), Containers: map[string]ContainerMetrics{}}
	if src, ok := cg.(interface{ Metrics() cgroup.Metrics }); ok && cg != nil {
		m := src.Metrics()
		out.Cgroup = &m
	}
	if !hostNet && sentryPID > 0 {
		// The sentry runs in the pod's network namespace: its
		// /proc/PID/net/dev lists the namespace's interfaces, whose
		// counters see every frame the sandbox's stack sends and
		// receives on them.
		out.Network, err = readNetDev(fmt.Sprintf("/proc/%d/net/dev", sentryPID))
		if err != nil {
			return nil, fmt.Errorf("pod %s: network counters: %w", id, err)
		}
	}
	mounts := readMounts()
	for _, c := range st.Containers {
		upper, ok := uppers[c.ID]
		if !ok {
			continue
		}
		cm := ContainerMetrics{Sentry: c}
		if upper != "" {
			cm.Fs = fsUsage(upper, mounts)
		}
		if cm.Fs != nil && c.HasWritableLayer {
			// The part the sentry keeps (the store overlay).
			cm.Fs.UsedBytes += c.WritableLayerBytes
			cm.Fs.UsedInodes += c.WritableLayerInodes
		}
		out.Containers[c.ID] = cm
	}
	return out, nil
}

// readNetDev parses a /proc/net/dev file.
func readNetDev(path string) ([]InterfaceStats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseNetDev(string(data)), nil
}

// parseNetDev parses /proc/net/dev's text: two header lines, then
// "name: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed
// multicast tx_bytes tx_packets tx_errs tx_drop ...".
func parseNetDev(text string) []InterfaceStats {
	var out []InterfaceStats
	for _, line := range strings.Split(text, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if len(f) < 12 {
			continue
		}
		var n [12]uint64
		bad := false
		for i := range n {
			var err error
			if n[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
				bad = true
			}
		}
		if bad {
			continue
		}
		out = append(out, InterfaceStats{
			Name:    name,
			RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11],
		})
	}
	return out
}

// mountEntry is one line of /proc/self/mountinfo: the mount point and
// the mount's source.
type mountEntry struct{ point, source string }

// readMounts lists the daemon's mounts (nil when unreadable).
func readMounts() []mountEntry {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []mountEntry
	for _, line := range strings.Split(string(data), "\n") {
		// ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE SUPER
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 2 {
			continue
		}
		out = append(out, mountEntry{point: unescapeOctal(f[4]), source: g[1]})
	}
	return out
}

// unescapeOctal undoes mountinfo's \NNN escapes.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// fsUsage measures a writable layer and the file system under it.
func fsUsage(dir string, mounts []mountEntry) *FsUsage {
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		return nil
	}
	u := &FsUsage{
		LimitBytes: sfs.Blocks * uint64(sfs.Bsize),
		Inodes:     sfs.Files,
		InodesFree: sfs.Ffree,
	}
	u.UsedBytes, u.UsedInodes = dirUsage(dir)
	// The file system is the mount with the longest mount point above
	// dir (the last such one: a later mount hides an earlier one).
	best := -1
	for _, m := range mounts {
		if (dir == m.point || m.point == "/" || strings.HasPrefix(dir, m.point+"/")) && len(m.point) >= best {
			best = len(m.point)
			u.Device = m.source
			if !strings.HasPrefix(m.source, "/") {
				u.Device = m.point
			}
		}
	}
	return u
}

// BlockDeviceName names a block device by number as cAdvisor's device
// label does ("/dev/vda"), from sysfs; "MAJ:MIN" when sysfs does not say.
func BlockDeviceName(major, minor uint64) string {
	data, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/uevent", major, minor))
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "DEVNAME="); ok && name != "" {
				return "/dev/" + name
			}
		}
	}
	return fmt.Sprintf("%d:%d", major, minor)
}
