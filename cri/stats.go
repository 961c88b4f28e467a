package cri

import (
	"context"
	"errors"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// ContainerStats reports a container's resource use: cumulative CPU
// time, working set, and its writable layer.
func (s *Server) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	const rpc = "ContainerStats"
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	id := req.GetContainerId()
	if err := checkID(rpc, "container_id", id); err != nil {
		return nil, err
	}
	c, err := s.resolveContainer(ctx, m, id)
	if err != nil {
		return nil, podError(rpc, id, err)
	}
	st, err := m.ContainerStats(ctx, c.Config.ID)
	if err != nil {
		return nil, podError(rpc, c.Config.ID, err)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: s.toContainerStats(ctx, c, st)}, nil
}

// ListContainerStats reports the running containers the filter selects
// (ID and pod ID, full or unique prefix; labels). A container that
// stops while it is measured is left out.
func (s *Server) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	out, err := s.listContainerStats(ctx, "ListContainerStats", req.GetFilter())
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListContainerStatsResponse{Stats: out}, nil
}

func (s *Server) listContainerStats(ctx context.Context, rpc string, f *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	all, err := s.selectContainers(ctx, rpc, f.GetId(), f.GetPodSandboxId(), f.GetLabelSelector())
	if err != nil {
		return nil, err
	}
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.ContainerStats{}
	for _, c := range all {
		if c.State != podsandbox.ContainerRunning {
			continue
		}
		st, err := m.ContainerStats(ctx, c.Config.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, podError(rpc, "", ctx.Err())
			}
			if !errors.Is(err, podsandbox.ErrNotFound) && !errors.Is(err, podsandbox.ErrState) {
				s.log.Warn(rpc+": container stats", "container", c.Config.ID, "err", err)
			}
			continue
		}
		out = append(out, s.toContainerStats(ctx, c, st))
	}
	return out, nil
}

// PodSandboxStats reports a pod's resource use (its sentry and gofer as
// the host's cgroup sees them) and its containers'.
func (s *Server) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	const rpc = "PodSandboxStats"
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	id := req.GetPodSandboxId()
	if err := checkID(rpc, "pod_sandbox_id", id); err != nil {
		return nil, err
	}
	p, err := s.resolvePod(ctx, m, id)
	if err != nil {
		return nil, podError(rpc, id, err)
	}
	st, err := m.PodStats(ctx, p.Config.ID)
	if err != nil {
		return nil, podError(rpc, p.Config.ID, err)
	}
	all, err := m.Containers(ctx)
	if err != nil {
		return nil, podError(rpc, p.Config.ID, err)
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: s.toPodStats(ctx, p, st, all)}, nil
}

// ListPodSandboxStats reports the ready pods the filter selects.
func (s *Server) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	out, err := s.listPodStats(ctx, "ListPodSandboxStats", req.GetFilter())
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: out}, nil
}

func (s *Server) listPodStats(ctx context.Context, rpc string, f *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	if err := checkField(rpc, "filter.id", f.GetId()); err != nil {
		return nil, err
	}
	pods, err := s.readyPods(ctx, m, f.GetId(), f.GetLabelSelector())
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	all, err := m.Containers(ctx)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	measured, err := s.podStats(ctx, rpc, m, pods)
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.PodSandboxStats{}
	for _, ps := range measured {
		out = append(out, s.toPodStats(ctx, ps.pod, ps.stats, all))
	}
	return out, nil
}

// measuredPod is a pod and its resource use.
type measuredPod struct {
	pod   *podsandbox.Pod
	stats *podsandbox.PodStats
}

// podStats measures each pod, leaving out those that stop or vanish
// while they are measured (a warning for any other failure).
func (s *Server) podStats(ctx context.Context, rpc string, m podsandbox.Manager, pods []*podsandbox.Pod) ([]measuredPod, error) {
	var out []measuredPod
	for _, p := range pods {
		st, err := m.PodStats(ctx, p.Config.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, podError(rpc, "", ctx.Err())
			}
			if !errors.Is(err, podsandbox.ErrNotFound) && !errors.Is(err, podsandbox.ErrState) {
				s.log.Warn(rpc+": pod stats", "pod", p.Config.ID, "err", err)
			}
			continue
		}
		out = append(out, measuredPod{p, st})
	}
	return out, nil
}

// readyPods are the ready pods whose ID the prefix names and whose
// labels match.
func (s *Server) readyPods(ctx context.Context, m podsandbox.Manager, id string, labels map[string]string) ([]*podsandbox.Pod, error) {
	pods, err := m.Pods(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(pods))
	for _, p := range pods {
		ids = append(ids, p.Config.ID)
	}
	match := matchIDPrefix(id, ids)
	var out []*podsandbox.Pod
	for _, p := range pods {
		if p.State == podsandbox.PodReady && match[p.Config.ID] && matchLabels(p.Config.Labels, labels) {
			out = append(out, p)
		}
	}
	return out, nil
}

// writableLayerFsID is the mount point reported as the file system of
// containers' writable layers: the container file system the image
// service reports (ImageFsInfo), or its image file system. Looked up
// once; until a lookup succeeds, "" is reported.
func (s *Server) writableLayerFsID(ctx context.Context) string {
	s.fsIDMu.Lock()
	defer s.fsIDMu.Unlock()
	if s.fsID != "" {
		return s.fsID
	}
	images, containers, err := s.images.FsInfo(ctx)
	if err != nil {
		s.log.Warn("image file system info for container stats", "err", err)
		return ""
	}
	switch {
	case len(containers) > 0:
		s.fsID = containers[0].Mountpoint
	case len(images) > 0:
		s.fsID = images[0].Mountpoint
	}
	return s.fsID
}

func stamp(t time.Time) int64 {
	if t.IsZero() {
		return time.Now().UnixNano()
	}
	return t.UnixNano()
}

func (s *Server) toContainerStats(ctx context.Context, c *podsandbox.Container, st *podsandbox.ContainerStats) *runtimeapi.ContainerStats {
	ts := stamp(st.Timestamp)
	return &runtimeapi.ContainerStats{
		Attributes: &runtimeapi.ContainerAttributes{
			Id:          c.Config.ID,
			Metadata:    &runtimeapi.ContainerMetadata{Name: c.Config.Name, Attempt: c.Config.Attempt},
			Labels:      copyMap(c.Config.Labels),
			Annotations: copyMap(c.Config.Annotations),
		},
		Cpu:    &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: st.CPUNanos}},
		Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: &runtimeapi.UInt64Value{Value: st.MemoryWorkingSetBytes}},
		WritableLayer: &runtimeapi.FilesystemUsage{
			Timestamp:  ts,
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: s.writableLayerFsID(ctx)},
			UsedBytes:  &runtimeapi.UInt64Value{Value: st.WritableLayerBytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: st.WritableLayerInodes},
		},
	}
}

func (s *Server) toPodStats(ctx context.Context, p *podsandbox.Pod, st *podsandbox.PodStats, all []*podsandbox.Container) *runtimeapi.PodSandboxStats {
	ts := stamp(st.Timestamp)
	out := &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{
			Id:          p.Config.ID,
			Metadata:    podMetadata(p),
			Labels:      copyMap(p.Config.Labels),
			Annotations: publicAnnotations(p.Config.Annotations),
		},
		Linux: &runtimeapi.LinuxPodSandboxStats{
			Cpu:     &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: st.CPUNanos}},
			Memory:  &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: &runtimeapi.UInt64Value{Value: st.MemoryBytes}},
			Process: &runtimeapi.ProcessUsage{Timestamp: ts, ProcessCount: &runtimeapi.UInt64Value{Value: st.Processes}},
		},
	}
	for _, c := range all {
		if c.Config.PodID != p.Config.ID {
			continue
		}
		cs, ok := st.Containers[c.Config.ID]
		if !ok {
			continue
		}
		out.Linux.Containers = append(out.Linux.Containers, s.toContainerStats(ctx, c, &cs))
	}
	return out
}
