package cri

import (
	"errors"
	"slices"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestOrphanLayersRemovedAtStart: the writable layer of a container the
// daemon stopped in the middle of making (after PrepareRootfs, before
// the pod runtime recorded the container) is removed when the next
// daemon starts; the layers of containers the pod runtime knows stay,
// and a create that fails or a remove leaves nothing journalled.
func TestOrphanLayersRemovedAtStart(t *testing.T) {
	j := &layerJournal{dir: t.TempDir()}
	r := newRT(t, func(s *Server) { s.layers = j })
	pod := r.runPod("p")
	kept := r.createContainer(pod, "kept", nil)
	gone := r.createContainer(pod, "gone", nil)

	r.pods.with(func() { r.pods.createErr = errors.New("sentry exploded") })
	_, err := r.c.CreateContainer(r.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: testContainerConfig("failed"), SandboxConfig: testPodConfig("x")})
	if err == nil {
		t.Fatal("CreateContainer succeeded with a failing pod runtime")
	}
	r.pods.with(func() { r.pods.createErr = nil })

	// What a daemon killed inside CreateContainer leaves.
	orphan := newID()
	if err := r.s.journalLayer(orphan); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.imgs.PrepareRootfs(r.ctx, orphan, busyboxID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.RemoveContainer(r.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: gone}); err != nil {
		t.Fatal(err)
	}
	want := []string{kept, orphan}
	slices.Sort(want)
	if ids, err := j.ids(); err != nil || !slices.Equal(ids, want) {
		t.Fatalf("journal before the restart: %v, %v; want %v", ids, err, want)
	}

	if err := r.s.removeOrphanLayers(r.ctx); err != nil {
		t.Fatal(err)
	}
	prepared := r.imgs.preparedRootfs()
	if _, ok := prepared[orphan]; ok {
		t.Error("the orphaned writable layer was not removed")
	}
	if _, ok := prepared[kept]; !ok {
		t.Error("the writable layer of a live container was removed")
	}
	if ids, err := j.ids(); err != nil || !slices.Equal(ids, []string{kept}) {
		t.Errorf("journal after the restart: %v, %v; want [%s]", ids, err, kept)
	}
}
