package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// A real kubelet in standalone mode (no API server, static pods only)
// against `cocoon daemon`: `make e2e-kubelet`, or
//
//	COCOON_KUBELET=1 CRICTL=bin/crictl go test -count=1 -run '^TestKubelet$' -v -timeout 20m ./e2e/
//
// The kubelet is built from k8s.io/kubernetes (kubeletVersion) by the
// nested module e2e/kubelet/build into bin/kubelet-VERSION (the Makefile
// rule; the test builds it too when it is missing). The busybox test
// image is rebuilt (registry.CritestImages), served from a registry on
// 127.0.0.1 and reached through a registry.k8s.io mirror; pods get their
// network from a CNI bridge of the test's own (its name and subnet unique
// to the run, no masquerading, no gateway, so no iptables rule and no
// ip_forward change).
//
// Two static pods. One is on the pod network, with a container that
// prints a line and sleeps (an exec liveness probe appends to a file in
// it) and one that exits 3 after a moment (kubelet restarts it); the
// other uses the host's network. The test checks with crictl that they
// run, log, are probed and restarted, and that removing the manifests
// removes the pods, their containers, sentries, mounts, state files and
// cgroups.
//
// The kubelet must leave the machine as it found it. It runs in a mount
// namespace of its own (unshare -m, private propagation: it also
// bind-mounts its root dir onto itself, shared) where /proc/sys is
// read-only except for private copies of the kernel tunables it sets
// (vm.overcommit_memory, vm.panic_on_oom, kernel.panic,
// kernel.panic_on_oops, kernel.keys.root_maxkeys/root_maxbytes), and
// /var/log and /var/lib are empty temp dirs (it hard-codes
// /var/log/containers and /var/lib/kubelet/device-plugins). Its servers
// (healthz, its API) listen on free loopback ports. Everything else it
// writes is under the test's temp dir (root dir, cert dir, pod logs,
// volume plugin dir) or under a cgroup root of the test's own;
// makeIPTablesUtilChains is off.
// The test checks afterwards that the host's tunables, kubelet's usual
// paths, iptables and cgroups are as they were.
//
// Settings:
//
//	COCOON_KUBELET=1        run at all
//	KUBELET=path            a kubelet binary (default bin/kubelet-VERSION)
//	CRICTL=path             crictl (default: PATH)
//	COCOON_KUBELET_OUT=dir  where kubelet.log and daemon.log go (default
//	                        bin/kubelet-e2e)

// kubeletVersion is the Kubernetes release the kubelet is built from; it
// matches e2e/kubelet/build/go.mod and the Makefile's KUBELET_VERSION.
const kubeletVersion = "v1.37.2"

// kubeletTunables are the /proc/sys files kubelet's container manager
// sets (setupKernelTunables, protectKernelDefaults false).
var kubeletTunables = []string{
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
}

// kubeletHostPaths are the host paths a kubelet with default settings
// creates; none of them may appear (or change) because of the test.
var kubeletHostPaths = []string{
	"/var/lib/kubelet",
	"/var/log/pods",
	"/var/log/containers",
	"/usr/libexec/kubernetes",
	"/etc/kubernetes",
	"/var/run/kubernetes",
	"/run/kubernetes",
}

// kubeletPodLine and kubeletHostPodLine are what the static pods'
// containers print.
const (
	kubeletPodLine     = "hello from a static pod on cocoon"
	kubeletHostPodLine = "hello from a host-network static pod on cocoon"
)

func TestKubelet(t *testing.T) {
	if os.Getenv("COCOON_KUBELET") != "1" {
		t.Skip("set COCOON_KUBELET=1 (make e2e-kubelet) to run a real kubelet against cocoon")
	}
	if os.Geteuid() != 0 {
		t.Skip("kubelet and pods need root")
	}
	if crictlPath() == "" {
		t.Skip("no crictl (set $CRICTL, put it on PATH or in /tmp/crictl-bin)")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	kubelet := os.Getenv("KUBELET")
	if kubelet == "" {
		kubelet = buildKubelet(t, repo)
	}
	out := os.Getenv("COCOON_KUBELET_OUT")
	if out == "" {
		out = filepath.Join(repo, "bin", "kubelet-e2e")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}

	before := snapshotHost(t)
	id := randomHex(t, 3)
	bridge := "ck" + id // at most 15 bytes
	network := "cocoon-e2e-" + id
	cgroupRoot := "/cocoon-e2e-kubelet-" + id

	// The busybox test image, under its upstream name through a mirror.
	imgs, err := registry.CritestImages(t.TempDir())
	if err != nil {
		t.Fatalf("building the test images: %v", err)
	}
	const image = "registry.k8s.io/e2e-test-images/busybox:1.29-2"
	var busybox []registry.CritestImage
	for _, ci := range imgs {
		if slices.Contains(ci.Refs, image) {
			busybox = append(busybox, ci)
		}
	}
	if len(busybox) != 1 {
		t.Fatalf("registry.CritestImages has no %s", image)
	}
	reg := registry.Start(t)
	if err := reg.PushCritest(busybox); err != nil {
		t.Fatal(err)
	}

	// Cleanups run last first: the bridge and the cgroup root go after
	// the daemon and kubelet have stopped.
	t.Cleanup(func() { deleteLink(t, bridge) })
	removeCgroupRoot := makeCgroupRoot(t, cgroupRoot)
	t.Cleanup(removeCgroupRoot)

	// The daemon, with a CNI network of the test's own.
	cniDir := t.TempDir()
	subnet := freeSubnet(t)
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": false,
      "ipMasq": false,
      "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]]}
    }
  ]
}
`, network, bridge, filepath.Join(cniDir, "ipam"), subnet)
	if err := os.MkdirAll(filepath.Join(cniDir, "net.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cniDir, "net.d", "10-e2e.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("[cni]\nconf_dir = %q\nbin_dirs = [\"/usr/lib/cni\"]\n", filepath.Join(cniDir, "net.d"))
	root, sock := newDaemonDirs(t)
	d := startDaemonWith(t, root, sock, extra)
	t.Cleanup(func() { os.WriteFile(filepath.Join(out, "daemon.log"), []byte(d.stderr.String()), 0o644) })
	if err := reg.MirrorHosts(d.certsDir(), "registry.k8s.io"); err != nil {
		t.Fatal(err)
	}
	c := newCrictl(t, sock)
	// The daemon leaves pods running when it stops: whatever the test
	// leaves is removed before it goes.
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		for _, p := range strings.Fields(c.stdout("pods", "-q")) {
			c.run(false, "rmp", "-f", p)
		}
	})
	st, err := d.rt.Status(ctx(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if nr := condition(st.GetStatus(), runtimeapi.NetworkReady); !nr.GetStatus() {
		t.Fatalf("the daemon reports NetworkReady=false with a CNI config in %s (%s: %s): kubelet would start no pod", cniDir, nr.GetReason(), nr.GetMessage())
	}

	// The kubelet.
	k := startKubelet(t, kubelet, kubeletSetup{
		Socket:     sock,
		CgroupRoot: cgroupRoot,
		LogPath:    filepath.Join(out, "kubelet.log"),
	})
	t.Logf("kubelet %s healthy on 127.0.0.1:%d", kubeletVersion, k.HealthzPort)

	// The static pods: one on the pod network, one on the host's.
	const podName, hostPodName = "cocoon-e2e", "cocoon-e2e-hostnet"
	manifest := filepath.Join(k.ManifestDir, "pod.yaml")
	hostManifest := filepath.Join(k.ManifestDir, "hostnet-pod.yaml")
	writeTemplate(t, "testdata/kubelet-pod.yaml", manifest, map[string]string{"Name": podName, "Image": image, "Line": kubeletPodLine})
	writeTemplate(t, "testdata/kubelet-hostnet-pod.yaml", hostManifest, map[string]string{"Name": hostPodName, "Image": image, "Line": kubeletHostPodLine})

	pod := waitPodReady(t, k, c, podName)
	var insp struct {
		Status struct {
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
			Linux struct {
				Namespaces struct {
					Options struct {
						Network string `json:"network"`
					} `json:"options"`
				} `json:"namespaces"`
			} `json:"linux"`
		} `json:"status"`
	}
	c.json(&insp, "inspectp", "-o", "json", pod.ID)
	if ip, err := netip.ParseAddr(insp.Status.Network.IP); err != nil || !subnet.Contains(ip) {
		t.Errorf("pod IP = %q, want one from the test's CNI subnet %s", insp.Status.Network.IP, subnet)
	} else {
		t.Logf("pod IP %s", ip)
	}

	// main runs and logs, to the file kubelet chose.
	main := waitRunning(t, k, c, pod, "main", kubeletPodLine)
	logFile := filepath.Join(k.PodLogsDir, fmt.Sprintf("default_%s_%s", pod.Metadata.Name, pod.Metadata.UID), "main", "0.log")
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), kubeletPodLine) {
		t.Errorf("kubelet's log file %s = %q, %v", logFile, b, err)
	}

	// The liveness probe runs (it appends to /tmp/probes in main) and
	// passes: main is never restarted.
	waitFor(t, k, 2*time.Minute, "three liveness probes", func() (bool, string) {
		out, err := crictlTry(c, "exec", main.ID, "cat", "/tmp/probes")
		return err == nil && strings.Count(out, "probed") >= 3, fmt.Sprintf("probes: %q (%v)", out, err)
	})

	// exiter exits 3 and kubelet starts it again (a new attempt).
	waitFor(t, k, 3*time.Minute, "kubelet to restart container exiter", func() (bool, string) {
		cs := listContainers(t, c, pod.ID)
		var attempts []string
		for _, ct := range cs {
			if ct.Metadata.Name == "exiter" {
				attempts = append(attempts, fmt.Sprintf("%d:%s", ct.Metadata.Attempt, ct.State))
				if ct.Metadata.Attempt >= 1 {
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("exiter attempts: %v", attempts)
	})
	for _, ct := range listContainers(t, c, pod.ID) {
		switch {
		case ct.Metadata.Name == "main" && (ct.ID != main.ID || ct.State != "CONTAINER_RUNNING"):
			t.Errorf("main was restarted or stopped (liveness probe failing?): %+v", ct)
		case ct.Metadata.Name == "exiter" && ct.Metadata.Attempt == 0:
			// kubelet keeps one dead instance and may remove this one
			// meanwhile.
			var st containerState
			out, err := crictlTry(c, "inspect", "-o", "json", ct.ID)
			if err != nil {
				continue
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil || st.Status.State != "CONTAINER_EXITED" || st.Status.ExitCode != 3 {
				t.Errorf("exiter's first run: %+v (%v), want exited with 3", st.Status, err)
			}
		}
	}
	if logs := c.run(false, "logs", main.ID); strings.Count(logs, kubeletPodLine) != 1 {
		t.Errorf("main's logs = %q, want the line once", logs)
	}

	// The host-network pod runs in the host's network namespace.
	var hostPod crictlPod
	t.Run("hostNetwork", func(t *testing.T) {
		c := &crictl{t: t, bin: c.bin, config: c.config} // failing this subtest only
		hostPod = waitPodReady(t, k, c, hostPodName)
		c.json(&insp, "inspectp", "-o", "json", hostPod.ID)
		if ns := insp.Status.Linux.Namespaces.Options.Network; ns != "NODE" {
			t.Errorf("host-network pod: network namespace %q, want NODE", ns)
		}
		waitRunning(t, k, c, hostPod, "app", kubeletHostPodLine)
	})

	// Removing the manifests removes the pods and everything they held.
	sentries := []int{sentryPID(t, c, pod.ID)}
	if hostPod.ID != "" {
		sentries = append(sentries, sentryPID(t, c, hostPod.ID))
	}
	for _, m := range []string{manifest, hostManifest} {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, k, 4*time.Minute, "kubelet to remove the pods and their containers", func() (bool, string) {
		pods, cs := listPods(t, c), listContainers(t, c, "")
		return len(pods) == 0 && len(cs) == 0, fmt.Sprintf("pods %+v, containers %+v", pods, cs)
	})
	for _, pid := range sentries {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("a pod's sentry (pid %d) is still running", pid)
		}
	}
	for _, p := range cocoonProcesses(t) {
		if p != d.cmd.Process.Pid {
			t.Errorf("cocoon process %d left after the pod went", p)
		}
	}
	if m := mountsUnder(t, d.runDir); len(m) > 0 {
		t.Errorf("mounts left under %s: %v", d.runDir, m)
	}
	for _, p := range []crictlPod{pod, hostPod} {
		if p.ID == "" {
			continue
		}
		if left := filesNaming(t, []string{d.runDir, root}, p.ID); len(left) > 0 {
			t.Errorf("the daemon still holds files of pod %s: %v", p.ID, left)
		}
		if cg := cgroupsNaming(t, cgroupRoot, p.Metadata.UID); len(cg) > 0 {
			t.Errorf("pod cgroups left: %v", cg)
		}
	}

	// kubelet stops cleanly; the host is as it was.
	k.stop()
	d.stop()
	removeCgroupRoot()
	deleteLink(t, bridge)
	if b, err := os.ReadFile(filepath.Join(k.Tunables, "vm/overcommit_memory")); err == nil {
		t.Logf("kubelet set its private vm.overcommit_memory to %s", strings.TrimSpace(string(b)))
	}
	if _, err := os.Lstat(filepath.Join(k.VarLog, "containers")); err == nil {
		t.Logf("kubelet made /var/log/containers in its own mount namespace (%s)", k.VarLog)
	}
	if left := filesNaming(t, []string{"/var/lib/cni", "/run/cni"}, network); len(left) > 0 {
		t.Errorf("CNI state of the test's network left on the host: %v", left)
	}
	after := snapshotHost(t)
	for _, key := range sortedKeys(before, after) {
		if before[key] != after[key] {
			t.Errorf("the host changed: %s was %q, is %q", key, before[key], after[key])
		}
	}
}

// waitPodReady waits for the sandbox of static pod name (kubelet names
// it name-NODE) to be ready.
func waitPodReady(t *testing.T, k *kubeletProc, c *crictl, name string) crictlPod {
	t.Helper()
	full := name + "-" + k.NodeName
	var pod crictlPod
	waitFor(t, k, 3*time.Minute, "static pod "+name+" to be ready", func() (bool, string) {
		pods := listPods(t, c)
		for _, p := range pods {
			if p.Metadata.Name == full && p.State == "SANDBOX_READY" {
				pod = p
				return true, ""
			}
		}
		return false, fmt.Sprintf("pods: %+v", pods)
	})
	t.Logf("pod %s (%s/%s) ready", pod.ID, pod.Metadata.Namespace, pod.Metadata.Name)
	if pod.Metadata.Namespace != "default" || pod.Metadata.UID == "" {
		t.Errorf("pod metadata = %+v", pod.Metadata)
	}
	return pod
}

// waitRunning waits for container name of pod to run and to have
// logged line.
func waitRunning(t *testing.T, k *kubeletProc, c *crictl, pod crictlPod, name, line string) crictlContainer {
	t.Helper()
	var ct crictlContainer
	waitFor(t, k, 3*time.Minute, "container "+name+" to run", func() (bool, string) {
		cs := listContainers(t, c, pod.ID)
		for _, x := range cs {
			if x.Metadata.Name == name && x.State == "CONTAINER_RUNNING" {
				ct = x
				return true, ""
			}
		}
		// The runtime refusing the container is final: say why now.
		if e := k.lastError(pod.Metadata.Name, "CreateContainerError"); e != "" {
			t.Fatalf("kubelet cannot create container %s: %s", name, e)
		}
		return false, fmt.Sprintf("containers: %+v; kubelet's last error for the pod: %s", cs, k.lastError(pod.Metadata.Name, ""))
	})
	waitFor(t, k, time.Minute, name+"'s log line", func() (bool, string) {
		logs := c.run(false, "logs", ct.ID)
		return strings.Contains(logs, line), "logs: " + logs
	})
	return ct
}

// buildKubelet returns bin/kubelet-VERSION, building it first (`make
// bin/kubelet-VERSION` does the same) when it is missing.
func buildKubelet(t *testing.T, repo string) string {
	t.Helper()
	out := filepath.Join(repo, "bin", "kubelet-"+kubeletVersion)
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out
	}
	t.Logf("building %s (minutes the first time)", out)
	cmd := exec.Command("make", "-C", repo, "bin/kubelet-"+kubeletVersion)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the kubelet: %v\n%s", err, b)
	}
	return out
}

func condition(st *runtimeapi.RuntimeStatus, typ string) *runtimeapi.RuntimeCondition {
	for _, c := range st.GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

// kubeletSetup is what the kubelet configuration template
// (testdata/kubelet-config.yaml) is filled with.
type kubeletSetup struct {
	Socket, CgroupRoot, LogPath string

	Dir, ManifestDir, PodLogsDir, VolumePluginDir, ResolvConf string
	RootDir, CertDir, NodeName                                string
	Port, HealthzPort                                         int
	// Tunables holds the private copies of kubeletTunables; VarLog and
	// VarLib are what the kubelet sees as /var/log and /var/lib.
	Tunables, VarLog, VarLib string
}

type kubeletProc struct {
	kubeletSetup
	t       *testing.T
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	log     *os.File
}

// kubeletNamespaceScript runs in the kubelet's new mount namespace
// (private propagation) before exec'ing it: /proc/sys read-only but for
// the copies of the tunables kubelet sets, /var/log and /var/lib empty
// dirs of the test's. $1 the tunables dir, $2 /var/log, $3 /var/lib,
// then the kubelet and its arguments.
const kubeletNamespaceScript = `set -e
tun=$1 varlog=$2 varlib=$3; shift 3
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
for f in ` + "$(cd \"$tun\" && find . -type f)" + `; do
	mount --bind "$tun/$f" "/proc/sys/$f"
done
mount --bind "$varlog" /var/log
mount --bind "$varlib" /var/lib
exec "$@"
`

func startKubelet(t *testing.T, bin string, s kubeletSetup) *kubeletProc {
	t.Helper()
	s.Dir = t.TempDir()
	sub := func(name string) string {
		p := filepath.Join(s.Dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s.ManifestDir = sub("manifests")
	s.PodLogsDir = sub("pod-logs")
	s.VolumePluginDir = sub("volume-plugins")
	s.RootDir = sub("root")
	s.CertDir = sub("pki")
	s.Tunables = sub("proc-sys")
	s.VarLog = sub("var-log")
	s.VarLib = sub("var-lib")
	s.ResolvConf = filepath.Join(s.Dir, "resolv.conf")
	if err := os.WriteFile(s.ResolvConf, []byte("nameserver 127.0.0.1\nsearch cocoon.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.NodeName = "cocoon-e2e-node"
	s.Port, s.HealthzPort = freePort(t), freePort(t)
	for _, f := range kubeletTunables {
		b, err := os.ReadFile(filepath.Join("/proc/sys", f))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(s.Tunables, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(s.Dir, "kubelet.yaml")
	writeTemplate(t, "testdata/kubelet-config.yaml", cfg, s)

	log, err := os.Create(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--mount", "--propagation", "private", "--",
		"sh", "-c", kubeletNamespaceScript, "kubelet-ns", s.Tunables, s.VarLog, s.VarLib,
		bin,
		"--config=" + cfg,
		"--root-dir=" + s.RootDir,
		"--cert-dir=" + s.CertDir,
		"--hostname-override=" + s.NodeName,
		"--v=2",
	}
	k := &kubeletProc{kubeletSetup: s, t: t, exited: make(chan struct{}), log: log}
	k.cmd = exec.Command("unshare", args...)
	k.cmd.Stdout, k.cmd.Stderr = log, log
	k.cmd.Dir = s.Dir
	t.Logf("unshare %s sh -c <namespace script> ... %s", strings.Join(args[:4], " "), strings.Join(args[11:], " "))
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { k.waitErr = k.cmd.Wait(); close(k.exited) }()
	t.Cleanup(func() {
		k.stop()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(s.LogPath)
			t.Logf("kubelet log (last 12 KiB; all of it in %s):\n%s", s.LogPath, tail(string(b), 12288))
		}
	})

	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", s.HealthzPort)
	waitFor(t, k, 2*time.Minute, "kubelet's healthz", func() (bool, string) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && string(b) == "ok", fmt.Sprintf("%s: %d %q", url, resp.StatusCode, b)
	})
	// The kubelet's own server answers too (anonymous, AlwaysAllow).
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	if resp, err := cl.Get(fmt.Sprintf("https://127.0.0.1:%d/pods", s.Port)); err != nil {
		t.Errorf("kubelet /pods: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("kubelet /pods: %s", resp.Status)
		}
	}
	return k
}

// stop sends kubelet SIGTERM and waits for it to exit.
func (k *kubeletProc) stop() {
	select {
	case <-k.exited:
		return
	default:
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(30 * time.Second):
		k.cmd.Process.Kill()
		<-k.exited
		k.t.Errorf("kubelet did not stop within 30s of SIGTERM")
	}
}

// alive fails t when the kubelet has exited.
func (k *kubeletProc) alive(t *testing.T) {
	t.Helper()
	select {
	case <-k.exited:
		b, _ := os.ReadFile(k.LogPath)
		t.Fatalf("kubelet exited (%v):\n%s", k.waitErr, tail(string(b), 12288))
	default:
	}
}

// lastError is the last line of kubelet's log that reports an error
// syncing pod and contains word, or "".
func (k *kubeletProc) lastError(pod, word string) string {
	b, _ := os.ReadFile(k.LogPath)
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if strings.HasPrefix(l, "E") && strings.Contains(l, pod) && strings.Contains(l, word) {
			return l
		}
	}
	return ""
}

// waitFor polls cond every half second until it holds, failing the test
// after d (with cond's last word) or when the kubelet dies.
func waitFor(t *testing.T, k *kubeletProc, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		k.alive(t)
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; %s", d, what, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func writeTemplate(t *testing.T, tmpl, out string, data any) {
	t.Helper()
	tp, err := template.ParseFiles(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tp.Option("missingkey=error").Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// crictlPod and crictlContainer are what `crictl pods/ps -o json` list.
type crictlPod struct {
	ID       string `json:"id"`
	Metadata struct {
		Name      string `json:"name"`
		UID       string `json:"uid"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	State string `json:"state"`
}

type crictlContainer struct {
	ID       string `json:"id"`
	PodID    string `json:"podSandboxId"`
	Metadata struct {
		Name    string `json:"name"`
		Attempt int    `json:"attempt"`
	} `json:"metadata"`
	State string `json:"state"`
}

func listPods(t *testing.T, c *crictl) []crictlPod {
	var l struct {
		Items []crictlPod `json:"items"`
	}
	c.json(&l, "pods", "-o", "json")
	return l.Items
}

// listContainers lists every container (of pod, unless "").
func listContainers(t *testing.T, c *crictl, pod string) []crictlContainer {
	args := []string{"ps", "-a", "-o", "json"}
	if pod != "" {
		args = append(args, "--pod", pod)
	}
	var l struct {
		Containers []crictlContainer `json:"containers"`
	}
	c.json(&l, args...)
	return l.Containers
}

// crictlTry runs crictl and returns its stdout and error (with its
// stderr), without failing the test.
func crictlTry(c *crictl, args ...string) (string, error) {
	out, err := exec.Command(c.bin, append([]string{"--config", c.config}, args...)...).Output()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, exitStderr(err))
	}
	return string(out), err
}

// filesNaming lists the paths under dirs whose name contains s.
func filesNaming(t *testing.T, dirs []string, s string) []string {
	var out []string
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && strings.Contains(e.Name(), s) {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// cgroupHierarchies are the mount points of the cgroup file systems.
func cgroupHierarchies(t *testing.T) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		_, after, ok := strings.Cut(line, " - ")
		f := strings.Fields(line)
		if !ok || len(f) < 5 {
			continue
		}
		if typ := strings.Fields(after); len(typ) > 0 && (typ[0] == "cgroup" || typ[0] == "cgroup2") {
			out = append(out, f[4])
		}
	}
	return out
}

// makeCgroupRoot makes the cgroup root for kubelet's pods (kubelet
// requires it to exist) in every hierarchy, and returns a func that
// removes it and everything under it.
func makeCgroupRoot(t *testing.T, name string) func() {
	t.Helper()
	hs := cgroupHierarchies(t)
	for _, h := range hs {
		p := filepath.Join(h, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		// A v1 cpuset child starts with no CPUs and no memory nodes.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				os.WriteFile(filepath.Join(p, f), b, 0o644)
			}
		}
	}
	return func() {
		for _, h := range hs {
			p := filepath.Join(h, name)
			var dirs []string
			filepath.WalkDir(p, func(q string, e os.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					dirs = append(dirs, q)
				}
				return nil
			})
			// Deepest first.
			sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
			for _, dir := range dirs {
				var err error
				for range 50 {
					if err = syscall.Rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
						err = nil
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
					t.Errorf("removing cgroup %s: %v (processes: %q)", dir, err, procs)
				}
			}
		}
	}
}

// cgroupsNaming lists the cgroups under root (in any hierarchy) whose
// name contains s.
func cgroupsNaming(t *testing.T, root, s string) []string {
	var dirs []string
	for _, h := range cgroupHierarchies(t) {
		dirs = append(dirs, filepath.Join(h, root))
	}
	var out []string
	for _, p := range filesNaming(t, dirs, s) {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	// kubelet names pod cgroups pod<uid> with the UID's dashes kept
	// (cgroupfs) or turned to underscores (systemd).
	if u := strings.ReplaceAll(s, "-", "_"); u != s {
		out = append(out, cgroupsNaming(t, root, u)...)
	}
	return out
}

// freeSubnet picks a random 10.232-239.x.0/24 that no route covers
// (e2e/network_test.go picks from 10.216-223).
func freeSubnet(t *testing.T) netip.Prefix {
	for {
		b := make([]byte, 2)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 232 + b[0]%8, b[1], 0}), 24)
		out, _ := exec.Command("ip", "-4", "route", "show", "to", "match", p.Addr().Next().String()).Output()
		if !strings.Contains(string(out), "/") {
			return p
		}
	}
}

func deleteLink(t *testing.T, name string) {
	if _, err := net.InterfaceByName(name); err != nil {
		return
	}
	if b, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
		t.Errorf("ip link del %s: %v %s", name, err, b)
	}
}

// snapshotHost records what kubelet could change on the host: the
// kernel tunables it sets, the paths it uses by default, kubelet chains
// in iptables and cgroups named after kubelet at the top of each
// hierarchy. (The whole iptables ruleset and cgroup tree are not
// compared: other tests on the machine may change them meanwhile.)
func snapshotHost(t *testing.T) map[string]string {
	t.Helper()
	s := map[string]string{}
	for _, f := range kubeletTunables {
		b, err := os.ReadFile(filepath.Join("/proc/sys", f))
		if err != nil {
			t.Fatal(err)
		}
		s["/proc/sys/"+f] = strings.TrimSpace(string(b))
	}
	for _, p := range kubeletHostPaths {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			s[p] = "absent"
		case fi.IsDir():
			ents, _ := os.ReadDir(p)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			s[p] = "dir: " + strings.Join(names, " ")
		default:
			s[p] = fi.Mode().String()
		}
	}
	kube := regexp.MustCompile(`(?i)kube`)
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		if _, err := exec.LookPath(save); err != nil {
			continue
		}
		b, err := exec.Command(save).Output()
		if err != nil {
			s[save] = "error: " + err.Error()
			continue
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if kube.MatchString(l) && !strings.HasPrefix(l, "#") {
				lines = append(lines, regexp.MustCompile(`\[\d+:\d+\]`).ReplaceAllString(l, ""))
			}
		}
		s[save+" (kubelet rules)"] = strings.Join(lines, "\n")
	}
	for _, h := range cgroupHierarchies(t) {
		ents, _ := os.ReadDir(h)
		var names []string
		for _, e := range ents {
			if e.IsDir() && (kube.MatchString(e.Name()) || strings.HasPrefix(e.Name(), "cocoon-e2e-kubelet")) {
				names = append(names, e.Name())
			}
		}
		s["cgroups "+h] = strings.Join(names, " ")
	}
	return s
}

func sortedKeys(ms ...map[string]string) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
