package cri

import (
	"context"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestGetContainerEvents(t *testing.T) {
	r := newRT(t)
	pod := r.runPod("ev")
	ctx, cancel := context.WithCancel(r.ctx)
	stream, err := r.c.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for r.pods.subscribers() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	id := r.createContainer(pod, "c", nil)
	r.startContainer(id)
	r.c.StopContainer(r.ctx, &runtimeapi.StopContainerRequest{ContainerId: id})
	r.c.RemoveContainer(r.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
	want := []runtimeapi.ContainerEventType{
		runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT,
		runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
		runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT,
		runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT,
	}
	for i, w := range want {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.ContainerId != id || ev.ContainerEventType != w || ev.CreatedAt == 0 || ev.PodSandboxStatus.GetId() != pod ||
			ev.PodSandboxStatus.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
			t.Errorf("event %d: %v", i, ev)
		}
		if w != runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT && (len(ev.ContainersStatuses) != 1 || ev.ContainersStatuses[0].Id != id) {
			t.Errorf("event %d statuses: %v", i, ev.ContainersStatuses)
		}
	}
	// Pod events carry the pod's ID as the container ID.
	r.c.StopPodSandbox(r.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod})
	ev, err := stream.Recv()
	if err != nil || ev.ContainerId != pod || ev.ContainerEventType != runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT ||
		ev.PodSandboxStatus.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("pod stop event %v, %v", ev, err)
	}

	// The client goes away: the server lets go of its subscription.
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for r.pods.subscribers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("subscription outlived the client")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Shutdown ends open streams.
	stream, err = r.c.GetContainerEvents(r.ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for r.pods.subscribers() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	r.s.Shutdown()
	if _, err := stream.Recv(); err == nil {
		t.Error("stream survived Shutdown")
	}
}
