package cri

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// GetContainerEvents streams container and pod lifecycle events (for
// kubelet's evented PLEG) until the client goes away. Each event
// carries the pod's status and its containers' statuses as they are
// when the event is sent.
func (s *Server) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	const rpc = "GetContainerEvents"
	m, err := s.manager(rpc)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	events := m.Subscribe(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return status.Errorf(codes.Unavailable, "%s: the daemon is shutting down", rpc)
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return status.Errorf(codes.Unavailable, "%s: the event stream ended: the runtime is shutting down", rpc)
			}
			if err := stream.Send(s.toEvent(ctx, m, ev)); err != nil {
				return err
			}
		}
	}
}

func eventType(t podsandbox.EventType) runtimeapi.ContainerEventType {
	switch t {
	case podsandbox.EventStarted:
		return runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT
	case podsandbox.EventStopped:
		return runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT
	case podsandbox.EventDeleted:
		return runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT
	}
	return runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT
}

func (s *Server) toEvent(ctx context.Context, m podsandbox.Manager, ev podsandbox.Event) *runtimeapi.ContainerEventResponse {
	resp := &runtimeapi.ContainerEventResponse{
		ContainerId:        ev.ContainerID,
		ContainerEventType: eventType(ev.Type),
		CreatedAt:          stamp(ev.Time),
	}
	if p, err := m.Pod(ctx, ev.PodID); err == nil {
		resp.PodSandboxStatus = podStatus(p)
	} else {
		// The pod is gone (a deleted event): its ID is all there is.
		resp.PodSandboxStatus = &runtimeapi.PodSandboxStatus{Id: ev.PodID, State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}
	}
	if all, err := m.Containers(ctx); err == nil {
		for _, c := range all {
			if c.Config.PodID == ev.PodID {
				resp.ContainersStatuses = append(resp.ContainersStatuses, containerStatus(c))
			}
		}
	}
	return resp
}
