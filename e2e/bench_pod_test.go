package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Reference figures from ../shared/CRITEST-NOTES.md, measured through
// the CRI on this kind of machine (2 cores, nested KVM): containerd 1.6
// with runc and with gVisor runsc. Neither runtime is installed here, so
// the report prints them next to cocoon's numbers measured now.
const (
	refRuncStart    = 167 * time.Millisecond
	refRunscStart   = 655 * time.Millisecond
	refRuncExecSync = 55 * time.Millisecond
	refRuncPSSMiB   = 15.0
)

// TestReportPod prints pod+container start latency (RunPodSandbox →
// container RUNNING), ExecSync latency (median of 20 each) and the PSS
// of one idle pod's processes. With COCOON_BENCH=1 only.
func TestReportPod(t *testing.T) {
	if os.Getenv("COCOON_BENCH") == "" {
		t.Skip("set COCOON_BENCH=1 (make bench) to print the pod benchmark report")
	}
	f := newPodFixture(t)
	const n = 20
	var starts, execs []time.Duration
	var idlePod string
	for i := range n {
		name := fmt.Sprintf("bench%d", i)
		podCfg := &runtimeapi.PodSandboxConfig{
			Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "bench", Uid: "uid-" + name},
			Hostname:     name,
			LogDirectory: filepath.Join(f.logDir, name),
			Linux:        &runtimeapi.LinuxPodSandboxConfig{},
		}
		begin := time.Now()
		pr, err := f.d.rt.RunPodSandbox(ctx(t), &runtimeapi.RunPodSandboxRequest{Config: podCfg})
		if err != nil {
			t.Fatal(err)
		}
		cr, err := f.d.rt.CreateContainer(ctx(t), &runtimeapi.CreateContainerRequest{
			PodSandboxId: pr.PodSandboxId,
			Config: &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "c"},
				Image:    &runtimeapi.ImageSpec{Image: f.image},
				Command:  []string{"sleep", "1000"},
				LogPath:  "c.log",
				Linux:    &runtimeapi.LinuxContainerConfig{},
			},
			SandboxConfig: podCfg,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.rt.StartContainer(ctx(t), &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
			t.Fatal(err)
		}
		for {
			st, err := f.d.rt.ContainerStatus(ctx(t), &runtimeapi.ContainerStatusRequest{ContainerId: cr.ContainerId})
			if err != nil {
				t.Fatal(err)
			}
			if st.Status.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
				break
			}
			time.Sleep(time.Millisecond)
		}
		starts = append(starts, time.Since(begin))
		if i == 0 {
			for range n {
				begin := time.Now()
				r, err := f.d.rt.ExecSync(ctx(t), &runtimeapi.ExecSyncRequest{ContainerId: cr.ContainerId, Cmd: []string{"echo", "hi"}, Timeout: 30})
				if err != nil || r.ExitCode != 0 {
					t.Fatalf("ExecSync: %v %v", r, err)
				}
				execs = append(execs, time.Since(begin))
			}
		}
		if i == n-1 {
			// The last pod stays: an idle pod runs one sleeping
			// container and has served nothing else.
			idlePod = pr.PodSandboxId
			continue
		}
		if _, err := f.d.rt.StopPodSandbox(ctx(t), &runtimeapi.StopPodSandboxRequest{PodSandboxId: pr.PodSandboxId}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.rt.RemovePodSandbox(ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pr.PodSandboxId}); err != nil {
			t.Fatal(err)
		}
	}
	// Let the idle pod settle: its sentry and gofer trim themselves 1-2 s
	// after their last request (internal/memtrim).
	time.Sleep(3 * time.Second)
	pss := podPSS(t, sentryPID(t, f.c, idlePod))

	start, execSync := median(starts), median(execs)
	t.Logf("pod+container start (RunPodSandbox → RUNNING), median of %d: %v  (ref: containerd+runc %v = %.1f×, runsc %v = %.1f×)",
		n, start.Round(time.Millisecond), refRuncStart, float64(start)/float64(refRuncStart), refRunscStart, float64(start)/float64(refRunscStart))
	t.Logf("ExecSync echo hi, median of %d: %v  (ref: containerd+runc %v = %.1f×)",
		n, execSync.Round(time.Millisecond), refRuncExecSync, float64(execSync)/float64(refRuncExecSync))
	t.Logf("idle pod PSS (sentry, its platform stubs, gofer): %.1f MiB  (ref: runc %.0f MiB = %.1f×; target < 20 MiB)",
		pss, refRuncPSSMiB, pss/refRuncPSSMiB)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// podPSS sums the proportional set size, in MiB, of the processes in the
// sentry's cgroups: the sentry, its platform stubs and the gofer.
func podPSS(t *testing.T, sentry int) float64 {
	t.Helper()
	want, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", sentry))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kib int64
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err != nil || string(cg) != string(want) {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		n := pssKiB(pid)
		t.Logf("  pid %d (%s): PSS %d KiB", pid, strings.TrimSpace(string(comm)), n)
		kib += n
	}
	return float64(kib) / 1024
}

func pssKiB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
