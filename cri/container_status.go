package cri

import (
	"context"
	"encoding/json"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// ContainerStatus reports a container. With verbose, info["info"] is
// JSON with its PID in the sandbox and its config.
func (s *Server) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	const rpc = "ContainerStatus"
	id := req.GetContainerId()
	_, c, err := s.lookupContainer(ctx, rpc, id)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: containerStatus(c)}
	if req.GetVerbose() {
		info := struct {
			PID       int32                      `json:"pid"`
			SandboxID string                     `json:"sandboxID"`
			Config    podsandbox.ContainerConfig `json:"config"`
		}{c.PID, c.Config.PodID, c.Config}
		b, err := json.Marshal(info)
		if err != nil {
			return nil, podError(rpc, c.Config.ID, err)
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// ListContainers lists containers, filtered by ID (full or unique
// prefix), state, pod (full or unique prefix) and labels.
func (s *Server) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	out, err := s.listContainers(ctx, "ListContainers", req.GetFilter())
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

func (s *Server) listContainers(ctx context.Context, rpc string, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	all, err := s.selectContainers(ctx, rpc, f.GetId(), f.GetPodSandboxId(), f.GetLabelSelector())
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.Container{}
	for _, c := range all {
		st := containerState(c.State)
		if f.GetState() != nil && f.GetState().GetState() != st {
			continue
		}
		out = append(out, &runtimeapi.Container{
			Id:           c.Config.ID,
			PodSandboxId: c.Config.PodID,
			Metadata:     &runtimeapi.ContainerMetadata{Name: c.Config.Name, Attempt: c.Config.Attempt},
			Image:        &runtimeapi.ImageSpec{Image: c.Config.Image},
			ImageRef:     c.Config.ImageRef,
			ImageId:      c.Config.ImageRef,
			State:        st,
			CreatedAt:    c.CreatedAt.UnixNano(),
			Labels:       copyMap(c.Config.Labels),
			Annotations:  copyMap(c.Config.Annotations),
		})
	}
	return out, nil
}

// selectContainers checks a container filter's IDs and returns the
// containers it selects (filterContainers), with errors as rpc's.
func (s *Server) selectContainers(ctx context.Context, rpc, id, podID string, labels map[string]string) ([]*podsandbox.Container, error) {
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	if err := checkField(rpc, "filter.id", id); err != nil {
		return nil, err
	}
	if err := checkField(rpc, "filter.pod_sandbox_id", podID); err != nil {
		return nil, err
	}
	all, err := s.filterContainers(ctx, m, id, podID, labels)
	if err != nil {
		return nil, podError(rpc, "", err)
	}
	return all, nil
}

// filterContainers returns the containers whose ID and pod ID the
// prefixes name (see matchIDPrefix) and whose labels match.
func (s *Server) filterContainers(ctx context.Context, m podsandbox.Manager, id, podID string, labels map[string]string) ([]*podsandbox.Container, error) {
	all, err := m.Containers(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range all {
		ids = append(ids, c.Config.ID)
	}
	idMatch := matchIDPrefix(id, ids)
	var podMatch map[string]bool
	if podID != "" {
		pods, err := m.Pods(ctx)
		if err != nil {
			return nil, err
		}
		var podIDs []string
		for _, p := range pods {
			podIDs = append(podIDs, p.Config.ID)
		}
		podMatch = matchIDPrefix(podID, podIDs)
	}
	var out []*podsandbox.Container
	for _, c := range all {
		if !idMatch[c.Config.ID] || (podMatch != nil && !podMatch[c.Config.PodID]) || !matchLabels(c.Config.Labels, labels) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func containerState(s podsandbox.ContainerState) runtimeapi.ContainerState {
	switch s {
	case podsandbox.ContainerCreated:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	case podsandbox.ContainerRunning:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case podsandbox.ContainerExited:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	}
	return runtimeapi.ContainerState_CONTAINER_UNKNOWN
}

// containerStatus is a container's CRI status.
func containerStatus(c *podsandbox.Container) *runtimeapi.ContainerStatus {
	st := &runtimeapi.ContainerStatus{
		Id:          c.Config.ID,
		Metadata:    &runtimeapi.ContainerMetadata{Name: c.Config.Name, Attempt: c.Config.Attempt},
		State:       containerState(c.State),
		CreatedAt:   c.CreatedAt.UnixNano(),
		Image:       &runtimeapi.ImageSpec{Image: c.Config.Image},
		ImageRef:    c.Config.ImageRef,
		ImageId:     c.Config.ImageRef,
		Reason:      c.Reason,
		Message:     c.Message,
		Labels:      copyMap(c.Config.Labels),
		Annotations: copyMap(c.Config.Annotations),
		LogPath:     c.Config.LogPath,
		StopSignal:  toCRISignal(c.Config.StopSignal),
		User: &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{
			Uid: int64(c.Config.Process.User.UID),
			Gid: int64(c.Config.Process.User.GID),
		}},
		Resources: &runtimeapi.ContainerResources{Linux: &runtimeapi.LinuxContainerResources{
			CpuPeriod:          c.Config.Resources.CPUPeriod,
			CpuQuota:           c.Config.Resources.CPUQuota,
			CpuShares:          c.Config.Resources.CPUShares,
			MemoryLimitInBytes: c.Config.Resources.MemoryLimitBytes,
			CpusetCpus:         c.Config.Resources.CpusetCpus,
			CpusetMems:         c.Config.Resources.CpusetMems,
		}},
	}
	for _, g := range c.Config.Process.User.AdditionalGIDs {
		st.User.Linux.SupplementalGroups = append(st.User.Linux.SupplementalGroups, int64(g))
	}
	if !c.StartedAt.IsZero() {
		st.StartedAt = c.StartedAt.UnixNano()
	}
	if c.State == podsandbox.ContainerExited {
		if !c.FinishedAt.IsZero() {
			st.FinishedAt = c.FinishedAt.UnixNano()
		}
		st.ExitCode = c.ExitCode
		if st.Reason == "" {
			st.Reason = "Completed"
			if c.ExitCode != 0 {
				st.Reason = "Error"
			}
		}
	}
	for _, mt := range c.Config.Mounts {
		if mt.Type != "" && mt.Type != "bind" {
			continue
		}
		st.Mounts = append(st.Mounts, &runtimeapi.Mount{
			ContainerPath: mt.ContainerPath,
			HostPath:      mt.HostPath,
			Readonly:      mt.ReadOnly,
			Propagation:   runtimeapi.MountPropagation_PROPAGATION_PRIVATE,
		})
	}
	return st
}
