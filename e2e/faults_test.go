package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// Fault injection: workers drive pods through their lifecycle with CRI
// calls (RunPodSandbox, CreateContainer, StartContainer, ExecSync,
// StopPodSandbox, RemovePodSandbox) while the pods' sentries and gofers
// and the daemon itself are SIGKILLed at random moments, usually while
// a call is in flight. After each round every pod must be running or
// cleanly reported dead (NOTREADY, its containers EXITED), and nothing
// may exist on the host that no pod accounts for; once every pod is
// removed, no process, mount, cgroup, network namespace, IP lease,
// directory or record of a pod may be left.
//
// The run is seeded: the seed is logged, and COCOON_FAULT_SEED=N
// replays the same schedule of operations, faults and delays (which
// process a fault hits when several pods start at once, and how the
// calls interleave, still depend on timing). COCOON_SOAK=1 runs the
// long form (`make soak`).

// faultPlan sizes a run.
type faultPlan struct {
	rounds, workers, podsPerWorker int
	// maxDelay bounds how long after a call starts its fault hits.
	maxDelay time.Duration
}

func faultPlanFromEnv() faultPlan {
	if os.Getenv("COCOON_SOAK") != "" {
		return faultPlan{rounds: 40, workers: 4, podsPerWorker: 4, maxDelay: 1500 * time.Millisecond}
	}
	return faultPlan{rounds: 4, workers: 3, podsPerWorker: 3, maxDelay: 800 * time.Millisecond}
}

func faultSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("COCOON_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COCOON_FAULT_SEED=%q: %v", s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

// faultKind is what a fault kills.
type faultKind int

const (
	noFault faultKind = iota
	killSentry
	killGofer
	killDaemon
)

func (k faultKind) String() string {
	return [...]string{"none", "sentry", "gofer", "daemon"}[k]
}

// chaos runs the daemon under test and injects faults into it and its
// pods.
type chaos struct {
	t      *testing.T
	plan   faultPlan
	n      *cniNet
	image  string
	logDir string
	// cgroupParent is the parent of every pod cgroup of the test (the
	// pods ask for it), so that other tests' pods are not counted.
	cgroupParent string
	root, sock   string
	runDir       string
	config       string

	// mu protects d, restarts and daemons. It is held across a daemon
	// restart, so that calls wait for the new daemon.
	mu       sync.Mutex
	d        *daemon
	conn     *grpc.ClientConn
	restarts int
	// daemons are every daemon the test started, for their logs.
	daemons []*daemon

	// statsMu protects stats.
	statsMu sync.Mutex
	stats   map[string]int
}

func (c *chaos) count(what string) {
	c.statsMu.Lock()
	c.stats[what]++
	c.statsMu.Unlock()
}

// client returns the current daemon's runtime client, waiting for a
// restart in progress.
func (c *chaos) client() runtimeapi.RuntimeServiceClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.d.rt
}

// TestFaultInjection is the fault-injection suite described above.
func TestFaultInjection(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pods need root")
	}
	seed := faultSeed(t)
	plan := faultPlanFromEnv()
	t.Logf("fault seed %d (replay with COCOON_FAULT_SEED=%d); plan %+v", seed, seed, plan)
	defer func() {
		if t.Failed() {
			t.Logf("failed with fault seed %d (replay with COCOON_FAULT_SEED=%d)", seed, seed)
		}
	}()

	n := newCNINet(t)
	img, err := registry.BusyboxImage()
	if err != nil {
		t.Skip(err)
	}
	reg := registry.Start(t)
	_, ref, err := reg.Push("library/busybox:e2e", img)
	if err != nil {
		t.Fatal(err)
	}
	root, sock := newDaemonDirs(t)
	c := &chaos{
		t: t, plan: plan, n: n, image: ref, logDir: t.TempDir(),
		cgroupParent: fmt.Sprintf("/cocoon-faults-%08x", rand.Uint32()),
		root:         root, sock: sock,
		stats: map[string]int{},
	}
	extra := ""
	if p := os.Getenv("COCOON_PLATFORM"); p != "" {
		extra = fmt.Sprintf("platform = %q\n", p)
	}
	extra += fmt.Sprintf("[cni]\nconf_dir = %q\nbin_dirs = [%q]\n", n.confDir, e2ePluginDir)
	d := startDaemonWith(t, root, sock, extra)
	c.d, c.runDir, c.config = d, d.runDir, d.config
	c.daemons = append(c.daemons, d)
	// Registered after the daemon's own cleanups, so it runs first.
	t.Cleanup(c.cleanup)
	if _, err := d.img.PullImage(context.Background(), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil {
		t.Fatalf("PullImage %s: %v", ref, err)
	}
	before := c.snapshotHost()

	for round := range plan.rounds {
		var wg sync.WaitGroup
		for w := range plan.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each worker's own stream: its schedule does not depend
				// on how the workers interleave.
				rng := rand.New(rand.NewPCG(seed, uint64(round*plan.workers+w)))
				c.worker(rng, round, w)
			}()
		}
		wg.Wait()
		c.ensureDaemon()
		c.waitConsistent(fmt.Sprintf("after round %d", round))
		if t.Failed() {
			break
		}
	}
	c.statsMu.Lock()
	t.Logf("faults and calls: %v; daemon restarts: %d", c.stats, c.restarts)
	c.statsMu.Unlock()

	c.removeAllPods()
	c.checkNoLeaks("after removing every pod", before)
	// A restarted daemon must not bring anything back from its store.
	c.restartDaemon(false)
	c.checkNoLeaks("after a restart with no pods", before)
}

// worker runs podsPerWorker pods through their lifecycle, with a fault
// drawn for each call.
func (c *chaos) worker(rng *rand.Rand, round, w int) {
	for i := range c.plan.podsPerWorker {
		name := fmt.Sprintf("f%d-%d-%d", round, w, i)
		podCfg := &runtimeapi.PodSandboxConfig{
			Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "faults", Uid: "uid-" + name},
			Hostname:     name,
			LogDirectory: filepath.Join(c.logDir, name),
			Linux:        &runtimeapi.LinuxPodSandboxConfig{CgroupParent: c.cgroupParent},
		}
		var pod string
		err := c.call(rng, name, "RunPodSandbox", "", func(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
			r, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podCfg})
			if err == nil {
				pod = r.PodSandboxId
			}
			return err
		})
		if err != nil {
			// Whatever the failed start left is for the checks to find.
			continue
		}
		var ctr string
		err = c.call(rng, name, "CreateContainer", pod, func(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
			r, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
				PodSandboxId: pod,
				Config: &runtimeapi.ContainerConfig{
					Metadata: &runtimeapi.ContainerMetadata{Name: "main"},
					Image:    &runtimeapi.ImageSpec{Image: c.image},
					// Exits on SIGTERM at once, so stopping the pod
					// does not wait out a grace period.
					Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
					LogPath: "main.log",
				},
				SandboxConfig: podCfg,
			})
			if err == nil {
				ctr = r.ContainerId
			}
			return err
		})
		if err == nil {
			if c.call(rng, name, "StartContainer", pod, func(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
				_, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr})
				return err
			}) == nil {
				for range 1 + rng.IntN(2) {
					c.call(rng, name, "ExecSync", pod, func(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
						_, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sh", "-c", "echo ok; sleep 0.2"}, Timeout: 30})
						return err
					})
				}
			}
		}
		// Some pods are left for later rounds, to live through more
		// faults and daemon restarts (and the final removal).
		switch rng.IntN(3) {
		case 0:
			continue
		case 1:
			c.call(rng, name, "StopPodSandbox", pod, func(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
				_, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod})
				return err
			})
		}
		c.call(rng, name, "RemovePodSandbox", pod, func(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
			_, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod})
			return err
		})
	}
}

// callTimeout bounds one CRI call of a worker; calls that fail because
// of a fault fail fast, so a call that reaches it is a hang.
const callTimeout = 90 * time.Second

// call runs one CRI call with the fault the worker's stream draws for
// it: a SIGKILL of the pod's sentry or gofer (the newest one when the
// pod is not known yet, as during RunPodSandbox), or of the daemon,
// which is then restarted. The fault hits after a random delay, while
// the call is in flight or, if it was quicker, right after it. A call
// failing is expected; one that hangs is not.
func (c *chaos) call(rng *rand.Rand, name, op, pod string, f func(context.Context, runtimeapi.RuntimeServiceClient) error) error {
	kind := noFault
	switch x := rng.IntN(100); {
	case x < 25:
		kind = killSentry
	case x < 45:
		kind = killGofer
	case x < 55:
		kind = killDaemon
	}
	delay := time.Duration(rng.Int64N(int64(c.plan.maxDelay)))
	rt := c.client()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	done := make(chan struct{})
	faulted := make(chan struct{})
	go func() {
		defer close(faulted)
		if kind == noFault {
			return
		}
		inFlight := true
		select {
		case <-time.After(delay):
		case <-done:
			inFlight = false
		}
		what := c.inject(kind, pod)
		when := "after"
		if inFlight {
			when = "during"
		}
		c.count(fmt.Sprintf("kill %s %s %s", kind, when, op))
		c.t.Logf("%s: %s: killed %s %s the call (+%v)", name, op, what, when, delay.Round(time.Millisecond))
	}()
	err := f(ctx, rt)
	close(done)
	<-faulted
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		c.t.Errorf("%s: %s hung for %v", name, op, callTimeout)
	}
	if err != nil {
		c.count(op + " failed")
		c.t.Logf("%s: %s: %v", name, op, firstLine(err.Error()))
	} else {
		c.count(op + " ok")
	}
	return err
}

// inject carries out a fault and says what it hit.
func (c *chaos) inject(kind faultKind, pod string) string {
	if kind == killDaemon {
		c.restartDaemon(true)
		return "the daemon"
	}
	role := "sentry"
	if kind == killGofer {
		role = "gofer"
	}
	var pid int
	if pod != "" {
		if info, err := c.podInfo(pod); err == nil {
			pid = info.PID
			if kind == killGofer {
				pid = info.GoferPID
			}
		}
	}
	if pid == 0 {
		// The pod is not known yet (or its status failed): the newest
		// process of the kind, most likely one starting.
		var newest uint64
		for _, p := range podProcesses() {
			if p.role == role && p.start >= newest {
				pid, newest = p.pid, p.start
			}
		}
	}
	if pid == 0 {
		return "no " + role
	}
	if err := killPodProcess(pid, role); err != nil {
		return fmt.Sprintf("no %s (%v)", role, err)
	}
	return fmt.Sprintf("%s %d", role, pid)
}

// restartDaemon stops the daemon (SIGKILL when kill, else SIGTERM) and
// starts a new one on the same state.
func (c *chaos) restartDaemon(kill bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if kill {
		c.d.cmd.Process.Signal(syscall.SIGKILL)
		<-c.d.exited
	} else {
		c.d.stop()
	}
	if err := c.startLocked(); err != nil {
		c.t.Errorf("restarting the daemon: %v", err)
	}
}

// ensureDaemon checks that the daemon is serving; one that exited
// without being killed is a failure (it must survive its pods' deaths),
// and is restarted.
func (c *chaos) ensureDaemon() {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.d.exited:
		c.t.Errorf("the daemon exited by itself (%v)", c.d.waitErr)
		if err := c.startLocked(); err != nil {
			c.t.Fatalf("restarting the daemon: %v", err)
		}
	default:
	}
}

// startLocked starts a daemon on the test's state and config (c.mu is
// held). It may run on any goroutine, so it reports rather than fails.
func (c *chaos) startLocked() error {
	d := &daemon{t: c.t, root: c.root, sock: c.sock, runDir: c.runDir, config: c.config, stderr: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(cocoonBin, "daemon", "--config", c.config, "--root", c.root, "--socket", c.sock)
	d.cmd.Stdout, d.cmd.Stderr = d.stderr, d.stderr
	if err := d.cmd.Start(); err != nil {
		return err
	}
	go func() { d.waitErr = d.cmd.Wait(); close(d.exited) }()
	c.daemons = append(c.daemons, d)
	c.d = d
	c.restarts++
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-d.exited:
			return fmt.Errorf("it exited (%v):\n%s", d.waitErr, lastLines(d.stderr.String(), 60))
		default:
		}
		if conn, err := net.Dial("unix", c.sock); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it did not listen within a minute:\n%s", lastLines(d.stderr.String(), 60))
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+c.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn = conn
	d.img = runtimeapi.NewImageServiceClient(conn)
	d.rt = runtimeapi.NewRuntimeServiceClient(conn)
	return nil
}

// cleanup stops the daemon and removes whatever the test left, so that
// a failed run does not litter the host: pods through the daemon, then
// any process, mount and cgroup of the test by force.
func (c *chaos) cleanup() {
	c.mu.Lock()
	d := c.d
	c.mu.Unlock()
	select {
	case <-d.exited:
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if pods, err := d.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
			for _, p := range pods.Items {
				d.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id})
			}
		}
		cancel()
		d.stop()
	}
	if c.conn != nil {
		c.conn.Close()
	}
	for _, p := range podProcesses() {
		killPodProcess(p.pid, p.role)
	}
	for _, dir := range []string{c.runDir, c.root} {
		m := mountsUnder(c.t, dir)
		slices.SortFunc(m, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
		for _, mp := range m {
			unix.Unmount(mp, unix.MNT_DETACH)
		}
	}
	for _, dir := range c.podCgroupDirs() {
		removeCgroup(dir)
	}
	parents, _ := filepath.Glob("/sys/fs/cgroup/*" + c.cgroupParent)
	if v2 := "/sys/fs/cgroup" + c.cgroupParent; dirExists(v2) {
		parents = append(parents, v2)
	}
	for _, p := range parents {
		removeCgroup(p)
	}
	if c.t.Failed() {
		for i, d := range c.daemons {
			c.t.Logf("daemon %d (of %d) log, without CRI call lines:\n%s", i, len(c.daemons), lastLines(withoutCallLines(d.stderr.String()), 300))
		}
	}
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// removeCgroup removes a cgroup directory and those below it (a cgroup
// directory holds only the kernel's files, which rmdir takes along).
func removeCgroup(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			removeCgroup(filepath.Join(dir, e.Name()))
		}
	}
	for range 50 {
		if err := unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// withoutCallLines drops the daemon's debug line for every CRI call:
// the consistency checks poll, and would bury what matters.
func withoutCallLines(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.Contains(l, `msg="CRI call"`) {
			b.WriteString(l)
		}
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// podProc is a pod process on the host: a sentry or gofer of the test's
// cocoon binary.
type podProc struct {
	pid   int
	role  string // "sentry" or "gofer"
	start uint64 // clock ticks since boot
}

// podProcesses lists the sentries and gofers of the test's cocoon
// binary. Only session leaders count: the pod's processes are started
// in sessions of their own, and the helper processes a sentry forks
// (the systrap platform's stubs) are not pods' processes of their own;
// they die with their sentry, and allProcesses counts them for leaks.
func podProcesses() []podProc {
	var out []podProc
	for _, pid := range testProcesses() {
		role := processRole(pid)
		if role != "sentry" && role != "gofer" {
			continue
		}
		sid, start, ok := statSessionStart(pid)
		if !ok || sid != pid {
			continue
		}
		out = append(out, podProc{pid: pid, role: role, start: start})
	}
	return out
}

// testProcesses lists the processes running the test's cocoon binary
// that are not daemons, zombies excluded (/proc/PID/exe is unreadable
// for those).
func testProcesses() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != cocoonBin {
			continue
		}
		if processRole(pid) == "daemon" {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// processRole is the cocoon subcommand pid runs ("" if unknown).
func processRole(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	args := strings.Split(string(b), "\x00")
	if len(args) < 2 {
		return ""
	}
	return args[1]
}

// statSessionStart reads a process's session ID and start time from
// /proc/PID/stat.
func statSessionStart(pid int) (sid int, start uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): the session is field 6, the start time
	// field 22.
	if len(f) < 20 || f[0] == "Z" {
		return 0, 0, false
	}
	sid, err1 := strconv.Atoi(f[3])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	return sid, start, err1 == nil && err2 == nil
}

// killPodProcess SIGKILLs pid through a pidfd, after checking that it
// still is a pod process of the role (not a process that reused the
// PID).
func killPodProcess(pid int, role string) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != cocoonBin || processRole(pid) != role {
		return fmt.Errorf("pid %d is no longer a %s", pid, role)
	}
	return unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
}

// podInfo is the verbose part of PodSandboxStatus.
type podInfo struct {
	PID      int      `json:"pid"`
	GoferPID int      `json:"goferPid"`
	Reason   string   `json:"reason"`
	NetNS    string   `json:"netns"`
	IPs      []string `json:"ips"`
}

func (c *chaos) podInfo(pod string) (*podInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.client().PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod, Verbose: true})
	if err != nil {
		return nil, err
	}
	var info podInfo
	if err := json.Unmarshal([]byte(r.Info["info"]), &info); err != nil {
		return nil, fmt.Errorf("pod %s: verbose info: %w", pod, err)
	}
	return &info, nil
}

// waitConsistent waits (a pod's death is noticed asynchronously) until
// consistencyProblems finds nothing, and reports what it last found.
func (c *chaos) waitConsistent(when string) {
	deadline := time.Now().Add(45 * time.Second)
	for {
		problems := c.consistencyProblems()
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Errorf("%s, the runtime's state is inconsistent:\n  %s", when, strings.Join(problems, "\n  "))
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// consistencyProblems checks that every pod is running or cleanly dead,
// and that every host resource of a pod (process, cgroup, network
// namespace, IP lease, directories) belongs to a pod or container the
// daemon lists.
func (c *chaos) consistencyProblems() []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := c.client()
	pods, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return []string{fmt.Sprintf("ListPodSandbox: %v", err)}
	}
	ctrs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return []string{fmt.Sprintf("ListContainers: %v", err)}
	}
	podIDs, ctrIDs := map[string]bool{}, map[string]bool{}
	podProcs := map[int]string{}
	ips := map[string]string{}
	byPod := map[string][]*runtimeapi.Container{}
	for _, ct := range ctrs.Containers {
		ctrIDs[ct.Id] = true
		byPod[ct.PodSandboxId] = append(byPod[ct.PodSandboxId], ct)
	}
	live := map[int]bool{}
	for _, p := range podProcesses() {
		live[p.pid] = true
	}
	for _, p := range pods.Items {
		podIDs[p.Id] = true
		info, err := c.podInfo(p.Id)
		if err != nil {
			bad("pod %s: PodSandboxStatus: %v", p.Id[:12], err)
			continue
		}
		for _, ip := range info.IPs {
			ips[ip] = p.Id
		}
		switch p.State {
		case runtimeapi.PodSandboxState_SANDBOX_READY:
			for _, x := range []struct {
				role string
				pid  int
			}{{"sentry", info.PID}, {"gofer", info.GoferPID}} {
				if x.pid == 0 || !live[x.pid] || processRole(x.pid) != x.role {
					bad("pod %s is READY but its %s (pid %d) is not running", p.Id[:12], x.role, x.pid)
				}
				podProcs[x.pid] = p.Id
			}
			for _, ct := range byPod[p.Id] {
				if ct.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
					continue
				}
				// A running container of a ready pod must really run.
				r, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ct.Id, Cmd: []string{"true"}, Timeout: 30})
				if err != nil || r.ExitCode != 0 {
					bad("pod %s is READY and container %s RUNNING, but ExecSync true: %v %v", p.Id[:12], ct.Id[:12], r, err)
				}
			}
		default:
			if info.PID != 0 || info.GoferPID != 0 {
				bad("pod %s is NOTREADY but reports sentry %d, gofer %d", p.Id[:12], info.PID, info.GoferPID)
			}
			for _, ct := range byPod[p.Id] {
				switch {
				case ct.State == runtimeapi.ContainerState_CONTAINER_EXITED:
				case ct.State == runtimeapi.ContainerState_CONTAINER_CREATED && info.Reason == "":
					// Never started, in a pod stopped on request: it
					// stays created, as under containerd.
				default:
					bad("pod %s is NOTREADY (%q) but container %s is %s", p.Id[:12], info.Reason, ct.Id[:12], ct.State)
				}
			}
		}
	}
	for _, ct := range ctrs.Containers {
		if !podIDs[ct.PodSandboxId] {
			bad("container %s is listed but its pod %s is not", ct.Id[:12], ct.PodSandboxId[:12])
		}
	}
	for _, p := range podProcesses() {
		if podProcs[p.pid] == "" {
			bad("%s %d belongs to no ready pod", p.role, p.pid)
		}
	}
	for ip, owner := range c.leaseOwners() {
		if !podIDs[owner] {
			bad("IP lease %s is held by %s, which is no listed pod", ip, short(owner))
		}
	}
	for _, id := range c.podCgroupIDs() {
		if !podIDs[id] {
			bad("cgroup cocoon-%s is no listed pod's", short(id))
		}
	}
	for _, dir := range []string{filepath.Join(c.runDir, "netns"), filepath.Join(c.runDir, "pods"), filepath.Join(c.root, "pods")} {
		for _, id := range dirNames(dir) {
			if !podIDs[id] {
				bad("%s/%s is no listed pod's", dir, short(id))
			}
		}
	}
	for _, dir := range []string{filepath.Join(c.runDir, "containers"), filepath.Join(c.root, "image", "containers")} {
		for _, id := range dirNames(dir) {
			if !ctrIDs[id] {
				bad("%s/%s is no listed container's", dir, short(id))
			}
		}
	}
	return problems
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func dirNames(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// leaseOwners maps the IPs host-local has handed out to the CNI
// container ID (the pod ID) each lease file names on its first line.
func (c *chaos) leaseOwners() map[string]string {
	out := map[string]string{}
	for _, ip := range c.n.leases() {
		f, err := os.Open(filepath.Join(c.n.dataDir, c.n.bridge, ip))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		if sc.Scan() {
			out[ip] = strings.TrimSpace(sc.Text())
		}
		f.Close()
	}
	return out
}

// podCgroupDirs lists the pod cgroups under the test's cgroup parent in
// every hierarchy.
func (c *chaos) podCgroupDirs() []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + c.cgroupParent + "/cocoon-*")
	v2, _ := filepath.Glob("/sys/fs/cgroup" + c.cgroupParent + "/cocoon-*")
	return append(dirs, v2...)
}

// podCgroupIDs are the pod IDs of podCgroupDirs, once each.
func (c *chaos) podCgroupIDs() []string {
	var out []string
	for _, d := range c.podCgroupDirs() {
		id := strings.TrimPrefix(filepath.Base(d), "cocoon-")
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// removeAllPods stops and removes every pod the daemon lists, as
// kubelet does; both calls must succeed.
func (c *chaos) removeAllPods() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt := c.client()
	pods, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		c.t.Fatalf("ListPodSandbox: %v", err)
	}
	for _, p := range pods.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			c.t.Errorf("StopPodSandbox %s: %v", p.Id[:12], err)
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			c.t.Errorf("RemovePodSandbox %s: %v", p.Id[:12], err)
		}
	}
}

// hostSnapshot counts what pods hold on the host.
type hostSnapshot struct {
	processes  int
	mounts     []string
	cgroups    []string
	netns      []string
	leases     []string
	veths      int
	podDirs    []string
	ctrDirs    []string
	pods, ctrs int
}

func (c *chaos) snapshotHost() hostSnapshot {
	s := hostSnapshot{
		processes: len(testProcesses()),
		cgroups:   c.podCgroupDirs(),
		leases:    c.n.leases(),
	}
	for _, dir := range []string{c.root, c.runDir} {
		if dir != "" {
			s.mounts = append(s.mounts, mountsUnder(c.t, dir)...)
		}
	}
	if c.runDir != "" {
		s.netns = dirNames(filepath.Join(c.runDir, "netns"))
		s.podDirs = append(s.podDirs, dirNames(filepath.Join(c.runDir, "pods"))...)
		s.ctrDirs = append(s.ctrDirs, dirNames(filepath.Join(c.runDir, "containers"))...)
	}
	s.podDirs = append(s.podDirs, dirNames(filepath.Join(c.root, "pods"))...)
	s.ctrDirs = append(s.ctrDirs, dirNames(filepath.Join(c.root, "image", "containers"))...)
	if out, err := exec.Command("ip", "-o", "link", "show", "master", c.n.bridge).Output(); err == nil {
		s.veths = strings.Count(string(out), "\n")
	}
	if c.d != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if pods, err := c.client().ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
			s.pods = len(pods.Items)
		} else {
			s.pods = -1
		}
		if ctrs, err := c.client().ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err == nil {
			s.ctrs = len(ctrs.Containers)
		} else {
			s.ctrs = -1
		}
	}
	return s
}

// checkNoLeaks compares the host with the snapshot taken before any pod
// ran.
func (c *chaos) checkNoLeaks(when string, before hostSnapshot) {
	c.t.Helper()
	// Processes killed a moment ago may still be exiting.
	var after hostSnapshot
	deadline := time.Now().Add(30 * time.Second)
	for {
		after = c.snapshotHost()
		if after.processes == before.processes || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	check := func(what string, b, a any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			c.t.Errorf("%s: %s: before %v, after %v", when, what, b, a)
		}
	}
	check("sentry and gofer processes", before.processes, after.processes)
	check("mounts under the daemon's directories", before.mounts, after.mounts)
	check("pod cgroups", before.cgroups, after.cgroups)
	check("network namespaces", before.netns, after.netns)
	check("host-local IP leases", before.leases, after.leases)
	check("veths on the bridge", before.veths, after.veths)
	check("pod directories", before.podDirs, after.podDirs)
	check("container directories and writable layers", before.ctrDirs, after.ctrDirs)
	check("pods listed", before.pods, after.pods)
	check("containers listed", before.ctrs, after.ctrs)
	if after.processes != before.processes {
		for _, pid := range testProcesses() {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			c.t.Logf("left: pid %d: %s", pid, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}
