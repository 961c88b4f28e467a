package cri

import (
	"context"
	"errors"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// maxStopTimeout bounds StopContainer's grace period so that the
// conversion to a time.Duration cannot overflow.
const maxStopTimeout = 365 * 24 * time.Hour

// StopContainer sends the container's stop signal, waits up to timeout
// seconds and then kills it. Stopping an exited container succeeds, and
// so does stopping one that does not exist: kubelet retries stops after
// removals, and containerd answers both without an error (critest's
// idempotence specs check it).
func (s *Server) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	const rpc = "StopContainer"
	id := req.GetContainerId()
	m, c, err := s.lookupContainer(ctx, rpc, id)
	if isNotFound(err) {
		return &runtimeapi.StopContainerResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(0)
	if t := req.GetTimeout(); t > 0 {
		if t > int64(maxStopTimeout/time.Second) {
			timeout = maxStopTimeout
		} else {
			timeout = time.Duration(t) * time.Second
		}
	}
	if err := m.StopContainer(ctx, c.Config.ID, timeout); err != nil {
		return nil, podError(rpc, c.Config.ID, err)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

// RemoveContainer kills the container if it runs, removes it and its
// writable layer. An unknown container is not an error (CRI says so).
func (s *Server) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	const rpc = "RemoveContainer"
	id := req.GetContainerId()
	m, c, err := s.lookupContainer(ctx, rpc, id)
	if isNotFound(err) {
		// A writable layer may outlive its record when the daemon
		// stopped between preparing it and creating the container.
		if isFullID(id) {
			s.removeRootfs(ctx, rpc, id)
		}
		return &runtimeapi.RemoveContainerResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	id = c.Config.ID
	if err := m.RemoveContainer(ctx, id); err != nil && !errors.Is(err, podsandbox.ErrNotFound) {
		return nil, podError(rpc, id, err)
	}
	s.removeRootfs(ctx, rpc, id)
	return &runtimeapi.RemoveContainerResponse{}, nil
}

// isFullID reports whether id looks like an ID newID made.
func isFullID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
