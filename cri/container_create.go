package cri

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/sentry/control"
)

// CreateContainer creates a container in a ready pod: it resolves the
// image, prepares the container's writable layer in the image store,
// merges the image's config into the process, and hands the container
// to the pod runtime. A failure after the layer was prepared removes
// it again.
func (s *Server) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	const rpc = "CreateContainer"
	m, err := s.manager(rpc)
	if err != nil {
		return nil, err
	}
	podID := req.GetPodSandboxId()
	if err := checkID(rpc, "pod_sandbox_id", podID); err != nil {
		return nil, err
	}
	cfg := req.GetConfig()
	if err := checkContainerConfig(rpc, cfg); err != nil {
		return nil, err
	}
	name := cfg.GetMetadata().GetName()
	what := fmt.Sprintf("%s in pod %s", name, podID)
	bad := func(format string, args ...any) error {
		return invalid(rpc, "container %s: %s", what, fmt.Sprintf(format, args...))
	}

	pod, err := s.resolvePod(ctx, m, podID)
	if err != nil {
		return nil, podError(rpc, podID, err)
	}
	podID = pod.Config.ID
	what = fmt.Sprintf("%s in pod %s", name, podID)
	if pod.State != podsandbox.PodReady {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: container %s: the pod is not ready (%s)", rpc, what, pod.State)
	}

	// What the sandbox cannot provide, refused before any work.
	sc := cfg.GetLinux().GetSecurityContext()
	if sc.GetPrivileged() {
		return nil, bad("privileged containers are not supported: the pod runs in its own user-space kernel and has no host privileges to grant")
	}
	if err := checkContainerNamespaces(sc.GetNamespaceOptions(), pod.Config.HostNetwork); err != nil {
		return nil, bad("%v", err)
	}
	ctrSeccomp, err := seccompRef("linux.security_context", sc.GetSeccomp(), sc.GetSeccompProfilePath())
	if err != nil {
		return nil, bad("%v", err)
	}
	if len(cfg.GetCDIDevices()) > 0 {
		return nil, bad("CDI devices are not supported: the sandbox has no host devices")
	}
	if err := checkDevices(cfg.GetDevices()); err != nil {
		return nil, bad("%v", err)
	}
	if len(sc.GetCapabilities().GetAddAmbientCapabilities()) > 0 {
		return nil, bad("ambient capabilities are not supported yet")
	}
	caps, err := capabilities(sc.GetCapabilities())
	if err != nil {
		return nil, bad("%v", err)
	}
	mounts, err := toMounts(cfg.GetMounts())
	if err != nil {
		return nil, bad("%v", err)
	}
	if err := checkLogPath(cfg.GetLogPath()); err != nil {
		return nil, bad("%v", err)
	}
	stopSignal, err := criSignal(cfg.GetStopSignal())
	if err != nil {
		return nil, bad("%v", err)
	}
	readonlyPaths, maskedPaths, err := restrictedPaths(sc)
	if err != nil {
		return nil, bad("%v", err)
	}

	// The profile is compiled for the container's capabilities (the
	// default profile allows mount and the like with CAP_SYS_ADMIN).
	seccompProg, err := containerSeccomp(ctrSeccomp, pod.Config.Annotations[annSeccomp], caps)
	if err != nil {
		return nil, bad("%v", err)
	}

	pidNS, err := pidNamespace(sc.GetNamespaceOptions(), pod)
	if err != nil {
		return nil, bad("%v", err)
	}
	if target, ok := strings.CutPrefix(pidNS, podsandbox.PIDNamespaceOf("")); ok {
		// An ephemeral container joins a container of its own pod.
		t, err := s.resolveContainer(ctx, m, target)
		if err != nil || t.Config.PodID != podID {
			return nil, bad("namespace_options.target_id %q: no such container in the pod", target)
		}
		pidNS = podsandbox.PIDNamespaceOf(t.Config.ID)
	}

	// The image.
	ref := cfg.GetImage().GetImage()
	img, err := s.images.Status(ctx, ref)
	if err != nil {
		return nil, toStatus(rpc, "container "+what, err)
	}
	if img == nil {
		return nil, status.Errorf(codes.NotFound, "%s: container %s: image %q not present", rpc, what, trunc(ref))
	}
	imgCfg, err := parseImageConfig(img.Config)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: container %s: image %s: %v", rpc, what, img.ID, err)
	}
	argv, err := processArgs(cfg.GetCommand(), cfg.GetArgs(), imgCfg)
	if err != nil {
		return nil, bad("%v", err)
	}
	if stopSignal == 0 && imgCfg.StopSignal != "" {
		if stopSignal, err = parseSignal(imgCfg.StopSignal); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "%s: container %s: image %s: StopSignal: %v", rpc, what, img.ID, err)
		}
	}
	uspec, err := containerUser(sc, imgCfg.User)
	if err != nil {
		return nil, bad("%v", err)
	}
	if s.rootfs == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: container %s: the image store cannot prepare container root file systems", rpc, what)
	}

	// One creation per (pod, name, attempt) at a time, so that the
	// name check below holds until the container exists.
	attempt := cfg.GetMetadata().GetAttempt()
	unlock := s.locks.lock(fmt.Sprintf("container\x00%s\x00%s\x00%d", podID, name, attempt))
	defer unlock()
	all, err := m.Containers(ctx)
	if err != nil {
		return nil, podError(rpc, podID, err)
	}
	for _, c := range all {
		if c.Config.PodID == podID && c.Config.Name == name && c.Config.Attempt == attempt {
			return nil, status.Errorf(codes.AlreadyExists, "%s: container %s attempt %d already exists as %s", rpc, what, attempt, c.Config.ID)
		}
	}

	id := newID()
	if err := s.journalLayer(id); err != nil {
		return nil, status.Errorf(codes.Internal, "%s: container %s: recording its writable layer: %v", rpc, what, err)
	}
	lower, upper, work, err := s.rootfs.PrepareRootfs(ctx, id, img.ID)
	if err != nil {
		return nil, toStatus(rpc, "container "+what+": rootfs", err)
	}
	created := false
	defer func() {
		if !created {
			s.removeRootfs(context.WithoutCancel(ctx), rpc, id)
		}
	}()

	user, err := resolveUser(lower, uspec, sc.GetSupplementalGroups(), sc.GetSupplementalGroupsPolicy() == runtimeapi.SupplementalGroupsPolicy_Strict)
	if err != nil {
		return nil, bad("%v", err)
	}
	hostname := pod.Config.EffectiveHostname()
	logPath := ""
	if cfg.GetLogPath() != "" && pod.Config.LogDirectory != "" {
		logPath = filepath.Join(pod.Config.LogDirectory, cfg.GetLogPath())
	}
	cc := podsandbox.ContainerConfig{
		ID:             id,
		PodID:          podID,
		Name:           name,
		Attempt:        attempt,
		Image:          ref,
		ImageRef:       img.ID,
		Labels:         copyMap(cfg.GetLabels()),
		Annotations:    copyMap(cfg.GetAnnotations()),
		LogPath:        logPath,
		Rootfs:         podsandbox.Rootfs{LowerDirs: lower, Upper: upper, Work: work},
		ReadOnlyRootfs: sc.GetReadonlyRootfs(),
		Mounts:         mounts,
		ReadonlyPaths:  readonlyPaths,
		MaskedPaths:    maskedPaths,
		PIDNamespace:   pidNS,
		Process: control.Process{
			Args:            argv,
			Env:             mergeEnv(hostname, imgCfg.Env, cfg.GetEnvs()),
			Cwd:             workingDir(cfg.GetWorkingDir(), imgCfg),
			User:            user,
			TTY:             cfg.GetTty(),
			Stdin:           cfg.GetStdin(),
			StdinOnce:       cfg.GetStdinOnce(),
			NoNewPrivileges: sc.GetNoNewPrivs(),
			Capabilities:    caps,
			Seccomp:         seccompProg,
			// kubelet's choice by QoS class; exec'd processes get it
			// too (execProcess copies the container's), as under runc.
			OOMScoreAdj: oomScoreAdj(cfg.GetLinux().GetResources()),
		},
		StopSignal: stopSignal,
		Resources:  toResources(cfg.GetLinux().GetResources()),
	}
	c, err := m.CreateContainer(ctx, cc)
	if err != nil {
		return nil, podError(rpc, "container "+what, err)
	}
	created = true
	return &runtimeapi.CreateContainerResponse{ContainerId: c.Config.ID}, nil
}

// checkContainerConfig checks the shape of a ContainerConfig: required
// fields and sizes.
func checkContainerConfig(rpc string, cfg *runtimeapi.ContainerConfig) error {
	if cfg == nil {
		return invalid(rpc, "no container config")
	}
	if cfg.GetMetadata() == nil || cfg.GetMetadata().GetName() == "" {
		return invalid(rpc, "container metadata.name is empty")
	}
	if strings.ContainsRune(cfg.GetMetadata().GetName(), 0) {
		return invalid(rpc, "container metadata.name holds a NUL byte")
	}
	if _, err := imageRef(rpc, cfg.GetImage()); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"metadata.name", cfg.GetMetadata().GetName()}, {"image.image", cfg.GetImage().GetImage()},
		{"working_dir", cfg.GetWorkingDir()}, {"log_path", cfg.GetLogPath()},
		{"security_context.run_as_username", cfg.GetLinux().GetSecurityContext().GetRunAsUsername()},
	} {
		if err := checkField(rpc, f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkList(rpc, "command", cfg.GetCommand()); err != nil {
		return err
	}
	if err := checkList(rpc, "args", cfg.GetArgs()); err != nil {
		return err
	}
	if len(cfg.GetEnvs()) > maxListLen {
		return invalid(rpc, "envs has %d entries (at most %d)", len(cfg.GetEnvs()), maxListLen)
	}
	n := 0
	for _, kv := range cfg.GetEnvs() {
		if kv.GetKey() == "" {
			return invalid(rpc, "envs has an entry with an empty key")
		}
		n += len(kv.GetKey()) + len(kv.GetValue())
	}
	if n > maxMapBytes {
		return invalid(rpc, "envs are %d bytes long (at most %d)", n, maxMapBytes)
	}
	if err := checkMap(rpc, "labels", cfg.GetLabels()); err != nil {
		return err
	}
	if adj := cfg.GetLinux().GetResources().GetOomScoreAdj(); adj < -1000 || adj > 1000 {
		return invalid(rpc, "linux.resources.oom_score_adj %d is out of range (-1000 to 1000)", adj)
	}
	return checkMap(rpc, "annotations", cfg.GetAnnotations())
}

// checkContainerNamespaces refuses namespace options a container in a
// sandbox cannot have (see checkPodNamespaces). CONTAINER, POD and
// TARGET (ephemeral containers) PID namespaces are accepted: all
// containers of a pod share its kernel. The network is the pod's: NODE
// (which kubelet sets on every container of a hostNetwork pod) only in
// a host-network pod.
func checkContainerNamespaces(ns *runtimeapi.NamespaceOption, hostNetwork bool) error {
	if ns == nil {
		return nil
	}
	switch {
	case ns.GetNetwork() == runtimeapi.NamespaceMode_NODE && !hostNetwork:
		return errors.New("namespace_options.network NODE: the pod does not use the host network (its containers share the pod's)")
	case ns.GetPid() == runtimeapi.NamespaceMode_NODE:
		return errors.New("namespace_options.pid NODE (host PID namespace) is not supported: the pod runs in its own kernel")
	case ns.GetIpc() == runtimeapi.NamespaceMode_NODE:
		return errors.New("namespace_options.ipc NODE (host IPC namespace) is not supported: the pod runs in its own kernel")
	case ns.GetUsernsOptions() != nil && ns.GetUsernsOptions().GetMode() == runtimeapi.NamespaceMode_POD:
		return errors.New("namespace_options.userns_options mode POD (user namespaces) is not supported by cocoon yet")
	}
	return nil
}

// removeRootfs removes a container's writable layer, logging a failure
// (the layer is then left for an operator; it does not affect pods).
func (s *Server) removeRootfs(ctx context.Context, rpc, id string) {
	if s.rootfs == nil {
		return
	}
	if err := s.rootfs.RemoveRootfs(ctx, id); err != nil {
		s.log.Error(rpc+": removing the container's writable layer", "container", id, "err", err)
		return
	}
	if s.layers != nil {
		if err := s.layers.done(id); err != nil {
			s.log.Warn(rpc+": forgetting the container's writable layer", "container", id, "err", err)
		}
	}
}

// oomScoreAdj is the container processes' oom_score_adj as the request
// asks; checkContainerConfig has checked its range. Always set (0 when
// the request has none), as containerd sets it.
func oomScoreAdj(r *runtimeapi.LinuxContainerResources) *int {
	adj := int(r.GetOomScoreAdj())
	return &adj
}
