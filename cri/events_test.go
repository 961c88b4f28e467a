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
	// Each event is read before the next change: the statuses an event
	// carries are the containers' when the server sends it, so a
	// container removed before its earlier events went out would no
	// longer be listed in them.
	var id string
	steps := []struct {
		do   func()
		want runtimeapi.ContainerEventType
	}{
		{func() { id = r.createContainer(pod, "c", nil) }, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT},
		{func() { r.startContainer(id) }, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT},
		{func() { r.c.StopContainer(r.ctx, &runtimeapi.StopContainerRequest{ContainerId: id}) }, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT},
		{func() { r.c.RemoveContainer(r.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}) }, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT},
	}
	for i, step := range steps {
		step.do()
		w := step.want
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
