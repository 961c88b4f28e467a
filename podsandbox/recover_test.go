package podsandbox

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/cni"
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

	markStarting(t, e, 2, func(rec *podRecord) {
		if rec.Pod.Config.ID == withoutPIDs.Config.ID {
			rec.Pod.SentryPID, rec.SentryStart = 0, 0
			rec.Pod.GoferPID, rec.GoferStart = 0, 0
		}
	})

	r2 := e.runtime()
	for _, p := range []*Pod{withPIDs, withoutPIDs} {
		if got, err := r2.Pod(ctx, p.Config.ID); err == nil {
			t.Errorf("half-started pod %s is listed after recovery: %+v", p.Config.Name, got)
		}
	}
	// The killed processes are the test's children here: recovery
	// reaps them, but may be a moment behind the kernel.
	waitNoLeftovers(t, e)
}

// markStarting rewrites the n pod records in e's state as a daemon killed
// in the middle of RunPod leaves them: marked Starting, not ready; edit
// changes each further.
func markStarting(t *testing.T, e *testEnv, n int, edit func(*podRecord)) {
	t.Helper()
	st, err := openStore(filepath.Join(e.state, "pods.db"))
	if err != nil {
		t.Fatal(err)
	}
	pods, _, _, err := st.load()
	if err != nil || len(pods) != n {
		t.Fatalf("records: %v, %v; want %d", pods, err, n)
	}
	for _, rec := range pods {
		rec.Starting = true
		rec.Pod.State = PodNotReady
		if edit != nil {
			edit(rec)
		}
		if err := st.putPod(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
}

// failingNetwork is a pod network whose first failures DELs fail, as
// when a CNI plugin fails its DEL; it records the pod arguments of every
// DEL. With failAdd, every ADD fails after the plugins made the network.
type failingNetwork struct {
	Network
	failAdd  bool
	mu       sync.Mutex // protects the fields below
	failures int
	dels     []cni.PodArgs
}

func (f *failingNetwork) Setup(ctx context.Context, id, netns string, args cni.PodArgs) (*cni.Result, error) {
	res, err := f.Network.Setup(ctx, id, netns, args)
	if err == nil && f.failAdd {
		return nil, errors.New("injected: ADD failed after the plugins made the network")
	}
	return res, err
}

func (f *failingNetwork) Teardown(ctx context.Context, id, netns string, args cni.PodArgs) error {
	f.mu.Lock()
	f.dels = append(f.dels, args)
	fail := len(f.dels) <= f.failures
	f.mu.Unlock()
	if fail {
		return errors.New("injected: the plugin failed its DEL")
	}
	return f.Network.Teardown(ctx, id, netns, args)
}

func (f *failingNetwork) calls() []cni.PodArgs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cni.PodArgs(nil), f.dels...)
}

// TestRecoveryRetriesHalfStartedPods: when removing a half-started pod
// fails at start-up (its network's DEL fails), the runtime retries in the
// background until the pod is gone, and its network is torn down with
// the pod's own arguments, never as an unknown pod's.
func TestRecoveryRetriesHalfStartedPods(t *testing.T) {
	e := newEnv(t)
	withNetwork(t, e, nil)
	r1 := e.open()
	cfg := podConfig("half-started")
	pod := mustRunPod(t, r1, cfg)
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	markStarting(t, e, 1, nil)

	fastRetries(t)
	flaky := &failingNetwork{Network: e.network, failures: 2}
	e.network = flaky
	r2 := e.runtime()
	if got, err := r2.Pod(context.Background(), pod.Config.ID); err == nil {
		t.Errorf("half-started pod is listed after recovery: %+v", got)
	}
	waitNoLeftovers(t, e)
	checkRetriedDELs(t, flaky, cfg)
}

// TestFailedRunPodRetriesItsTeardown: a RunPod that fails after the pod
// network was made, and whose DEL then fails too, returns its error, is
// not listed, and leaves nothing once the background retry's DEL works.
func TestFailedRunPodRetriesItsTeardown(t *testing.T) {
	e := newEnv(t)
	withNetwork(t, e, nil)
	fastRetries(t)
	flaky := &failingNetwork{Network: e.network, failAdd: true, failures: 2}
	e.network = flaky
	r := e.runtime()
	cfg := podConfig("add-fails")
	if _, err := r.RunPod(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "injected: ADD failed") {
		t.Fatalf("RunPod = %v, want the ADD's error", err)
	}
	if pods, _ := r.Pods(context.Background()); len(pods) != 0 {
		t.Errorf("pods after a failed RunPod: %d", len(pods))
	}
	waitNoLeftovers(t, e)
	checkRetriedDELs(t, flaky, cfg)
}

// fastRetries makes the background retries start after 100 ms for the
// test.
func fastRetries(t *testing.T) {
	first := retryStartingFirst
	retryStartingFirst = 100 * time.Millisecond
	t.Cleanup(func() { retryStartingFirst = first })
}

// checkRetriedDELs checks that the pod's network saw three DELs, two
// failed and one retry that worked, each with the pod's own arguments.
func checkRetriedDELs(t *testing.T, n *failingNetwork, cfg PodConfig) {
	t.Helper()
	dels := n.calls()
	if len(dels) != 3 {
		t.Errorf("%d DELs, want 3 (two failed, one retry that worked)", len(dels))
	}
	for i, a := range dels {
		if a.Name != cfg.Name || a.Namespace != cfg.Namespace {
			t.Errorf("DEL %d with pod arguments %+v, want the pod's (%s/%s)", i, a, cfg.Namespace, cfg.Name)
		}
	}
}
