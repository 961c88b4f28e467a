package podsandbox

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestRecoveryRemovesHalfStartedPods leaves the state a daemon killed in
// the middle of RunPod leaves: a pod record still marked Starting, its
// processes, cgroup, network namespace and directories made, and (as
// when it dies between spawning the processes and recording them) no
// PIDs in the record. The next runtime must take all of it away: no
// client ever got the pod's ID, so nothing else would.
func TestRecoveryRemovesHalfStartedPods(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r1 := e.open()
	withPIDs := mustRunPod(t, r1, podConfig("with-pids"))
	withoutPIDs := mustRunPod(t, r1, podConfig("without-pids"))
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := openStore(filepath.Join(e.state, "pods.db"))
	if err != nil {
		t.Fatal(err)
	}
	pods, _, _, err := st.load()
	if err != nil || len(pods) != 2 {
		t.Fatalf("records: %v, %v", pods, err)
	}
	for _, rec := range pods {
		rec.Starting = true
		rec.Pod.State = PodNotReady
		if rec.Pod.Config.ID == withoutPIDs.Config.ID {
			rec.Pod.SentryPID, rec.SentryStart = 0, 0
			rec.Pod.GoferPID, rec.GoferStart = 0, 0
		}
		if err := st.putPod(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}

	r2 := e.runtime()
	for _, p := range []*Pod{withPIDs, withoutPIDs} {
		if got, err := r2.Pod(ctx, p.Config.ID); err == nil {
			t.Errorf("half-started pod %s is listed after recovery: %+v", p.Config.Name, got)
		}
	}
	// The killed processes are the test's children here: recovery
	// reaps them, but may be a moment behind the kernel.
	deadline := time.Now().Add(10 * time.Second)
	for left := e.leftovers(); len(left) != 0; left = e.leftovers() {
		if time.Now().After(deadline) {
			t.Fatalf("left after recovery: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
