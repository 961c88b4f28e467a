package podsandbox

import (
	"context"
	"os"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/podsandbox/cgroup"
	"github.com/cocoonrt/cocoon/sandbox"
	"github.com/cocoonrt/cocoon/sentry/boot"
)

// This file is the seam to the pieces podsandbox drives: the sandbox
// launcher (sandbox.StartPod), the gofer's tree socket and the pod
// cgroup. Keeping the calls here keeps their exact shapes in one place.

// podStart is what startPod needs.
type podStart struct {
	// Exe is the cocoon binary.
	Exe string
	// Control is the listening control socket the sentry serves.
	Control *os.File
	// Trees is the listening tree socket the gofer serves.
	Trees *os.File
	// Spec is the sentry's pod spec.
	Spec boot.Spec
	// Log receives both processes' standard error.
	Log *os.File
	// NetNS is the network namespace the sentry starts in ("" for the
	// daemon's).
	NetNS string
	// Store holds the containers' writable roots (Spec.RootOverlay
	// "store"), or is nil.
	Store *os.File
	// Join, when set, puts each process, the gofer or the sentry as name
	// says, into the pod's cgroup before it starts anything
	// (sandbox.PodOptions.Join).
	Join func(name string, pid int) error
}

// startPod spawns the pod's gofer and sentry, detached from the daemon,
// and returns their PIDs.
func startPod(o podStart) (sentryPID, goferPID int, err error) {
	p, err := sandbox.StartPod(sandbox.PodOptions{
		Exe:             o.Exe,
		TreeListener:    o.Trees,
		ControlListener: o.Control,
		Spec:            o.Spec,
		Log:             o.Log,
		NetNS:           o.NetNS,
		Store:           o.Store,
		Join:            o.Join,
	})
	if err != nil {
		return 0, 0, err
	}
	// The runtime watches and reaps them through pidfds of its own (the
	// only handles a restarted daemon can have too), so the os.Process
	// handles are let go.
	_ = p.Sentry.Release()
	_ = p.Gofer.Release()
	return p.SentryPID, p.GoferPID, nil
}

func listenTrees(path string) (*os.File, error) { return gofer.ListenTreeSocket(path) }

func addTree(ctx context.Context, sock, name string, dir *os.File, readOnly bool) error {
	return gofer.AddTree(ctx, sock, name, dir, readOnly)
}

func removeTree(ctx context.Context, sock, name string) error {
	return gofer.RemoveTree(ctx, sock, name)
}

// cgStats is what the pod cgroup reports.
type cgStats struct {
	CPUNanos, MemoryBytes, Processes uint64
}

// podCgroup is the pod's host cgroup (the sentry, its platform's stubs and
// the gofer).
type podCgroup interface {
	Add(pid int) error
	Set(r Resources) error
	Stats() (cgStats, error)
	Kill() error
	Delete(ctx context.Context) error
}

// hostCgroup adapts a cgroup.Cgroup to podCgroup.
type hostCgroup struct{ *cgroup.Cgroup }

func (c hostCgroup) Set(r Resources) error {
	return c.Cgroup.Set(cgroup.Resources{
		CPUPeriod:        r.CPUPeriod,
		CPUQuota:         r.CPUQuota,
		CPUShares:        r.CPUShares,
		MemoryLimitBytes: r.MemoryLimitBytes,
		CpusetCpus:       r.CpusetCpus,
		CpusetMems:       r.CpusetMems,
	})
}

func (c hostCgroup) Stats() (cgStats, error) {
	st, err := c.Cgroup.Stats()
	if err != nil {
		return cgStats{}, err
	}
	// The working set is what kubelet reports and evicts by.
	return cgStats{CPUNanos: st.CPUNanos, MemoryBytes: st.MemoryWorkingSetBytes, Processes: st.Processes}, nil
}

func createCgroup(driver, parent, name string) (podCgroup, error) {
	cg, err := cgroup.Create(cgroup.Driver(driver), parent, name)
	if err != nil {
		return nil, err
	}
	return hostCgroup{cg}, nil
}

func loadCgroup(driver, parent, name string) (podCgroup, error) {
	cg, err := cgroup.Load(cgroup.Driver(driver), parent, name)
	if err != nil {
		return nil, err
	}
	return hostCgroup{cg}, nil
}

// setPodSpec marks spec as a pod sentry's (containers come later over
// the control socket).
func setPodSpec(spec *boot.Spec) { spec.Pod = true }
