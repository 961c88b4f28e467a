package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// escapeConfig is e2e/cmd/escape's Config (same JSON).
type escapeConfig struct {
	CanaryPath     string        `json:"canaryPath"`
	CanaryHash     string        `json:"canaryHash"`
	CanaryDir      string        `json:"canaryDir"`
	Volumes        []string      `json:"volumes"`
	HostVolumes    []string      `json:"hostVolumes"`
	ReadOnlyVolume string        `json:"readOnlyVolume"`
	ReadOnlyFile   string        `json:"readOnlyFile"`
	FileVolume     string        `json:"fileVolume"`
	RaceDir        string        `json:"raceDir"`
	HostStrings    []string      `json:"hostStrings"`
	CocoonHash     string        `json:"cocoonHash"`
	CocoonSize     int64         `json:"cocoonSize"`
	HostPIDs       []int         `json:"hostPIDs"`
	HostIfaces     []escapeIface `json:"hostIfaces"`
	HostAddrs      []string      `json:"hostAddrs"`
	UDPPort        int           `json:"udpPort"`
	TCPPort        int           `json:"tcpPort"`
	Marker         string        `json:"marker"`
	UnixPath       string        `json:"unixPath"`
	UnixAbstract   string        `json:"unixAbstract"`
	KmsgMarker     string        `json:"kmsgMarker"`
	KeyDesc        string        `json:"keyDesc"`
	Hostname       string        `json:"hostname"`
	RaceMillis     int           `json:"raceMillis"`
	StubJump       bool          `json:"stubJump"`
	Platform       string        `json:"platform"`
}

type escapeIface struct {
	Name  string `json:"name"`
	MAC   string `json:"mac"`
	Index int    `json:"index"`
}

// escapeResult is one line of the escape program.
type escapeResult struct {
	Name    string `json:"name"`
	Target  string `json:"target"`
	Result  string `json:"result"`
	Detail  string `json:"detail"`
	Summary *int   `json:"summary"`
}

// TestEscapeSuite runs e2e/cmd/escape in a pod (all capabilities inside
// the sandbox, no seccomp profile, a hostPath, an emptyDir-like, a
// read-only and a single-file volume) on COCOON_PLATFORM (systrap when
// unset). Every attempt to reach the host must fail: the program proves
// what it can from inside (it never reads the canary's bytes, sees no
// host process, device or traffic), and the host checks what only it can
// see (its host name, MTUs, sysctls, kernel log, keyrings, tracers,
// listeners, the canary's directory, the volumes, the image layers).
func TestEscapeSuite(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pods need root")
	}
	if crictlPath() == "" {
		t.Skip("no crictl (set $CRICTL, put it on PATH or in /tmp/crictl-bin)")
	}
	platform := os.Getenv("COCOON_PLATFORM")
	if platform == "" {
		platform = "systrap"
	}
	img := busyboxWith(t, "escape", buildProgram(t, "escape"))
	reg := registry.Start(t)
	_, ref, err := reg.Push("e2e/escape:1", img)
	if err != nil {
		t.Fatal(err)
	}
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)
	c := newCrictl(t, sock)
	c.run(false, "pull", ref)
	f := &podFixture{t: t, d: d, c: c, image: ref, logDir: t.TempDir()}
	f.removePodsAtCleanup()

	h := newEscapeHost(t)
	podCfg := f.writeJSON("pod-escape.json", map[string]any{
		"metadata":      map[string]any{"name": "escape", "namespace": "e2e", "uid": "uid-escape"},
		"hostname":      "escape",
		"log_directory": filepath.Join(f.logDir, "escape"),
		"linux":         map[string]any{},
	})
	pod := strings.TrimSpace(c.stdout("runp", "--runtime", "cocoon-"+platform, podCfg))
	h.cfg.Platform = f.sentryPlatform(pod)
	h.cfg.StubJump = os.Getenv("COCOON_ESCAPE_STUB_JUMP") != "0"
	cocoonPIDs := cocoonProcesses(t)
	h.cfg.HostPIDs = append(slices.Clone(cocoonPIDs), os.Getpid())
	h.snapshot(cocoonPIDs, root)

	cfgJSON, err := json.Marshal(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctrCfg := f.writeJSON("ctr-escape.json", map[string]any{
		"metadata": map[string]any{"name": "escape"},
		"image":    map[string]any{"image": ref},
		"command":  []string{"/bin/escape", string(cfgJSON)},
		"log_path": "escape.log",
		"mounts": []map[string]any{
			{"container_path": h.cfg.Volumes[0], "host_path": h.cfg.HostVolumes[0]},
			{"container_path": h.cfg.Volumes[1], "host_path": h.cfg.HostVolumes[1]},
			{"container_path": h.cfg.ReadOnlyVolume, "host_path": h.roDir, "readonly": true},
			{"container_path": h.cfg.FileVolume, "host_path": h.fileVolume},
		},
		"linux": map[string]any{"security_context": map[string]any{
			"capabilities": map[string]any{"add_capabilities": []string{"ALL"}},
			"seccomp":      map[string]any{"profile_type": 1}, // Unconfined: the sandbox is the boundary under test
		}},
	})
	ctr := strings.TrimSpace(c.stdout("create", pod, ctrCfg, podCfg))
	h.startRaces()
	c.run(false, "start", ctr)
	logs := waitSummary(t, f, ctr, root, pod, 4*time.Minute)
	h.stopRaces()

	results := parseEscape(t, logs)
	if st := f.inspect(ctr); st.Status.State == "CONTAINER_EXITED" && st.Status.ExitCode != 0 {
		t.Errorf("the escape program exited %d (%s)", st.Status.ExitCode, st.Status.Reason)
	}
	// The pod must still be there after all that.
	var ps struct {
		Status struct{ State string } `json:"status"`
	}
	c.json(&ps, "inspectp", "-o", "json", pod)
	if ps.Status.State != "SANDBOX_READY" {
		t.Errorf("after the escape program the pod is %s", ps.Status.State)
	}
	changes := h.verify(results)
	succeeded := map[string]bool{}
	for _, r := range results {
		switch r.Result {
		case "escaped":
			succeeded[r.Name] = true
			t.Errorf("ESCAPE %s: reached %s: %s", r.Name, r.Target, r.Detail)
		case "blocked", "host-check":
			t.Logf("%-34s %-10s %s", r.Name, r.Result, trimDetail(r.Detail))
		default:
			t.Errorf("%s: unknown result %q", r.Name, r.Result)
		}
	}
	for name, what := range changes {
		succeeded[name] = true
		t.Errorf("ESCAPE %s: the host changed: %s", name, what)
	}
	msg := fmt.Sprintf("escape suite: %d attempts, %d succeeded", len(results), len(succeeded))
	t.Log(msg)
	fmt.Println(msg)
	if len(results) < 40 {
		t.Errorf("only %d cases ran; the program's output:\n%s", len(results), logs)
	}
}

func trimDetail(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// waitSummary waits, up to d, for the program's last line (the count
// of cases) and returns its output. It does not wait for the container
// to exit: a case's child process the sandbox cannot kill must not stop
// the suite (the case says so).
func waitSummary(t *testing.T, f *podFixture, id, root, pod string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		logs, _ := f.c.run2(false, "logs", id)
		if strings.Contains(logs, `{"summary"`) {
			return logs
		}
		if st := f.inspect(id); st.Status.State == "CONTAINER_EXITED" {
			logs, _ = f.c.run2(false, "logs", id)
			return logs
		}
		if time.Now().After(deadline) {
			sentry, _ := os.ReadFile(filepath.Join(root, "pods", pod, "sentry.log"))
			t.Fatalf("the escape program did not finish within %v:\n%s\nsentry log:\n%s", d, logs, sentry)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// parseEscape reads the program's JSON lines; the last one is the count
// of cases, which must match.
func parseEscape(t *testing.T, logs string) []escapeResult {
	t.Helper()
	var out []escapeResult
	summary := -1
	for _, line := range strings.Split(logs, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r escapeResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Errorf("escape output: %v: %q", err, line)
			continue
		}
		if r.Summary != nil {
			summary = *r.Summary
			continue
		}
		out = append(out, r)
	}
	if summary != len(out) {
		t.Errorf("the escape program says it ran %d cases, %d reported; output:\n%s", summary, len(out), logs)
	}
	return out
}

// escapeHost is the host side of the suite: the files, listeners and
// races the program aims at, and what the host looked like before.
type escapeHost struct {
	t          *testing.T
	cfg        escapeConfig
	base       string // the canary's directory
	roDir      string
	fileVolume string
	outside    string // where the host moves the escapee directory
	raceHost   string // host path of cfg.RaceDir

	// received collects what the sandbox got through to the host's
	// listeners; guarded by mu.
	mu       sync.Mutex
	received []string

	stop     chan struct{}
	stopped  atomic.Bool
	raceDone sync.WaitGroup

	before hostState
}

// hostState is what the host checks after the run.
type hostState struct {
	files        map[string]string // sysctl-like files that exist, by path
	hostname     string
	mtus         map[string]int
	vmstat       map[string]string
	sysrqLines   int
	tracers      map[int]string
	base         map[string]string // the canary's directory, volumes aside
	ro           map[string]string
	snapshots    map[string]string
	cocoonSHA    string
	canaryNlink  uint64
	canaryMtime  time.Time
	snapshotRoot string
}

func randomToken(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newEscapeHost(t *testing.T) *escapeHost {
	t.Helper()
	base := t.TempDir()
	h := &escapeHost{t: t, base: base, stop: make(chan struct{})}
	tok := randomToken(t)
	secret := []byte("cocoon escape canary " + tok + "\n")
	canary := filepath.Join(base, "canary")
	must(t, os.WriteFile(canary, secret, 0o600))
	sum := sha256.Sum256(secret)
	hostPath := filepath.Join(base, "vols", "hostpath")
	// An emptyDir is a directory kubelet makes under its pod directory.
	emptyDir := filepath.Join(base, "pods", "uid-escape", "volumes", "kubernetes.io~empty-dir", "cache")
	h.roDir = filepath.Join(base, "vols", "ro")
	h.fileVolume = filepath.Join(base, "file-volume.txt")
	h.outside = filepath.Join(base, "outside")
	h.raceHost = filepath.Join(hostPath, "race")
	for _, d := range []string{hostPath, emptyDir, h.roDir, h.outside, filepath.Join(h.raceHost, "d", "sub"), filepath.Join(h.raceHost, "escapee")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(h.roDir, "ro-file"), []byte("read-only\n"), 0o644))
	must(t, os.WriteFile(h.fileVolume, []byte("a single-file volume\n"), 0o644))
	// Symlinks the host leaves in the volume, for the gofer not to follow.
	must(t, os.Symlink(canary, filepath.Join(hostPath, "abs-link")))
	must(t, os.Symlink("../../canary", filepath.Join(hostPath, "rel-link")))
	must(t, os.Symlink("/", filepath.Join(hostPath, "root-link")))
	must(t, os.Symlink("/", filepath.Join(h.raceHost, "l")))

	cocoon, err := os.Open(cocoonBin)
	must(t, err)
	defer cocoon.Close()
	ch := sha256.New()
	io.Copy(ch, io.LimitReader(cocoon, 1<<20))
	cst, err := cocoon.Stat()
	must(t, err)

	h.cfg = escapeConfig{
		CanaryPath:     canary,
		CanaryHash:     hex.EncodeToString(sum[:]),
		CanaryDir:      base,
		Volumes:        []string{"/vol/hostpath", "/vol/emptydir"},
		HostVolumes:    []string{hostPath, emptyDir},
		ReadOnlyVolume: "/vol/ro",
		ReadOnlyFile:   "ro-file",
		FileVolume:     "/vol/file.txt",
		RaceDir:        "/vol/hostpath/race",
		HostStrings:    []string{base, filepath.Dir(cocoonBin)},
		CocoonHash:     hex.EncodeToString(ch.Sum(nil)),
		CocoonSize:     cst.Size(),
		Marker:         "cocoon-escape-marker-" + tok,
		UnixPath:       filepath.Join(base, "host.sock"),
		UnixAbstract:   "cocoon-escape-" + tok,
		KmsgMarker:     "cocoon-escape-kmsg-" + tok,
		KeyDesc:        "cocoon-escape-key-" + tok,
		Hostname:       "escaped-" + tok[:8],
		RaceMillis:     1500,
	}
	ifs, err := net.Interfaces()
	must(t, err)
	for _, i := range ifs {
		h.cfg.HostIfaces = append(h.cfg.HostIfaces, escapeIface{Name: i.Name, MAC: i.HardwareAddr.String(), Index: i.Index})
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				h.cfg.HostAddrs = append(h.cfg.HostAddrs, n.IP.String())
			}
		}
	}
	h.listen()
	// A line only the host's kernel log holds.
	if k, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		fmt.Fprintf(k, "%s\n", h.cfg.KmsgMarker)
		k.Close()
	}
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// listen starts the host's listeners: UDP and TCP on 127.0.0.1, a unix
// socket at a path and an abstract one. Anything the sandbox gets
// through is recorded. A sender keeps putting the marker on the host's
// loopback for raw sockets to find.
func (h *escapeHost) listen() {
	t := h.t
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	must(t, err)
	h.cfg.UDPPort = udp.LocalAddr().(*net.UDPAddr).Port
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	h.cfg.TCPPort = tcp.Addr().(*net.TCPAddr).Port
	ux, err := net.Listen("unix", h.cfg.UnixPath)
	must(t, err)
	abs, err := net.Listen("unix", "@"+h.cfg.UnixAbstract)
	must(t, err)
	t.Cleanup(func() { udp.Close(); tcp.Close(); ux.Close(); abs.Close() })
	record := func(s string) {
		h.mu.Lock()
		h.received = append(h.received, s)
		h.mu.Unlock()
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			if bytes.HasPrefix(buf[:n], []byte("from-sandbox")) {
				record(fmt.Sprintf("UDP from %v: %q", from, buf[:n]))
			}
		}
	}()
	for _, l := range []net.Listener{tcp, ux, abs} {
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				conn.SetReadDeadline(time.Now().Add(time.Second))
				b, _ := io.ReadAll(io.LimitReader(conn, 256))
				conn.Close()
				record(fmt.Sprintf("connection on %v: %q", l.Addr(), b))
			}
		}()
	}
	go func() {
		c, err := net.Dial("udp4", udp.LocalAddr().String())
		if err != nil {
			return
		}
		defer c.Close()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				c.Write([]byte(h.cfg.Marker))
			}
		}
	}()
	t.Cleanup(h.stopRaces)
}

// startRaces swaps race/d between a directory and a symlink to "/"
// under the gofer (RENAME_EXCHANGE with race/l), and moves race/escapee
// out of the volume once the program says it holds a descriptor of it.
func (h *escapeHost) startRaces() {
	d, l := filepath.Join(h.raceHost, "d"), filepath.Join(h.raceHost, "l")
	h.raceDone.Add(2)
	go func() {
		defer h.raceDone.Done()
		for {
			select {
			case <-h.stop:
				return
			default:
			}
			if err := unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, l, unix.RENAME_EXCHANGE); err != nil {
				h.t.Errorf("host swap: %v", err)
				return
			}
		}
	}()
	go func() {
		defer h.raceDone.Done()
		ready := filepath.Join(h.raceHost, "ready")
		for {
			select {
			case <-h.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := os.Stat(ready); err == nil {
				break
			}
		}
		moved := filepath.Join(h.outside, "escapee")
		if err := os.Rename(filepath.Join(h.raceHost, "escapee"), moved); err != nil {
			h.t.Errorf("moving escapee out: %v", err)
			return
		}
		if err := os.WriteFile(filepath.Join(moved, "moved"), nil, 0o644); err != nil {
			h.t.Errorf("after moving escapee out: %v", err)
		}
	}()
}

func (h *escapeHost) stopRaces() {
	if h.stopped.Swap(true) {
		return
	}
	close(h.stop)
	h.raceDone.Wait()
}

// hostFiles are host settings the program tries to change, by the case
// that tries; those the host lacks are checked to stay absent.
func hostFiles() map[string][]string {
	agents, _ := filepath.Glob("/sys/fs/cgroup/*/release_agent")
	notify, _ := filepath.Glob("/sys/fs/cgroup/*/notify_on_release")
	return map[string][]string{
		"proc-sys-hostname":               {"/proc/sys/kernel/hostname"},
		"proc-sys-domainname":             {"/proc/sys/kernel/domainname"},
		"proc-sys-core-pattern":           {"/proc/sys/kernel/core_pattern"},
		"proc-sys-modprobe-uevent-helper": {"/proc/sys/kernel/modprobe", "/sys/kernel/uevent_helper", "/proc/sys/kernel/hotplug"},
		"cgroup-release-agent":            append(agents, notify...),
		"sys-thp":                         {"/sys/kernel/mm/transparent_hugepage/enabled"},
		"host-kernel-interfaces":          {"/proc/sys/kernel/ctrl-alt-del"},
	}
}

func readOr(p, absent string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return absent
	}
	return string(b)
}

// snapshot records the host's state before the program runs.
func (h *escapeHost) snapshot(cocoonPIDs []int, daemonRoot string) {
	t := h.t
	s := &h.before
	s.files = map[string]string{}
	for _, ps := range hostFiles() {
		for _, p := range ps {
			s.files[p] = readOr(p, "<absent>")
		}
	}
	s.hostname, _ = os.Hostname()
	s.mtus = hostMTUs(t)
	s.vmstat = vmstatDrops()
	s.sysrqLines = kmsgCount("sysrq")
	s.tracers = map[int]string{}
	for _, pid := range cocoonPIDs {
		s.tracers[pid] = tracerPid(pid)
	}
	s.base = h.baseState()
	s.ro = treeState(t, h.roDir)
	s.snapshotRoot = snapshotsDir(daemonRoot)
	s.snapshots = treeState(t, s.snapshotRoot)
	s.cocoonSHA = fileSHA(t, cocoonBin)
	var st unix.Stat_t
	must(t, unix.Stat(h.cfg.CanaryPath, &st))
	s.canaryNlink = st.Nlink
	s.canaryMtime = time.Unix(st.Mtim.Unix())
}

// verify checks the host after the run and returns what changed, by the
// case that would have changed it. It restores what it can.
func (h *escapeHost) verify(results []escapeResult) map[string]string {
	t := h.t
	s := &h.before
	changes := map[string]string{}
	add := func(name, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if old, ok := changes[name]; ok {
			msg = old + "; " + msg
		}
		changes[name] = msg
	}
	checked := map[string]bool{}

	for name, ps := range hostFiles() {
		checked[name] = true
		for _, p := range ps {
			if now := readOr(p, "<absent>"); now != s.files[p] {
				add(name, "%s is %q, was %q", p, now, s.files[p])
				if s.files[p] != "<absent>" {
					os.WriteFile(p, []byte(s.files[p]), 0o644)
				}
			}
		}
	}
	checked["proc-sys-hostname"] = true
	if now, _ := os.Hostname(); now != s.hostname {
		add("proc-sys-hostname", "the host name is %q, was %q", now, s.hostname)
		syscall.Sethostname([]byte(s.hostname))
	}
	checked["sys-class-net-mtu"] = true
	for name, mtu := range hostMTUs(t) {
		if old, ok := s.mtus[name]; ok && old != mtu {
			add("sys-class-net-mtu", "%s has MTU %d, had %d", name, mtu, old)
			exec.Command("ip", "link", "set", "dev", name, "mtu", fmt.Sprint(old)).Run()
		}
	}
	checked["proc-sys-drop-caches"] = true
	if now := vmstatDrops(); !maps2Equal(now, s.vmstat) {
		add("proc-sys-drop-caches", "/proc/vmstat drop counters %v, were %v", now, s.vmstat)
	}
	checked["proc-sysrq-trigger"] = true
	if n := kmsgCount("sysrq"); n > s.sysrqLines {
		add("proc-sysrq-trigger", "the kernel log has %d new sysrq lines", n-s.sysrqLines)
	}
	checked["host-keyring"] = true
	if strings.Contains(readOr("/proc/keys", ""), h.cfg.KeyDesc) {
		add("host-keyring", "/proc/keys holds %s", h.cfg.KeyDesc)
	}
	checked["ptrace-every-pid"] = true
	for pid, old := range s.tracers {
		if now := tracerPid(pid); now != old && now != "<gone>" {
			add("ptrace-every-pid", "cocoon process %d has TracerPid %s, had %s", pid, now, old)
		}
	}
	for _, name := range []string{"host-loopback-and-unix-sockets", "raw-ip-sockets", "packet-sockets"} {
		checked[name] = true
	}
	h.mu.Lock()
	for _, r := range h.received {
		add("host-loopback-and-unix-sockets", "the host received %s", r)
	}
	h.mu.Unlock()
	checked["systrap-stub-syscall"] = true
	if _, err := os.Lstat(filepath.Join(h.base, "stub-mkdir")); err == nil {
		add("systrap-stub-syscall", "%s/stub-mkdir exists", h.base)
	}
	checked["read-only-volume-writes"] = true
	if now := treeState(t, h.roDir); !maps2Equal(now, s.ro) {
		add("read-only-volume-writes", "the read-only volume changed: %v, was %v", now, s.ro)
	}
	checked["proc-exe"] = true
	if now := treeState(t, s.snapshotRoot); !maps2Equal(now, s.snapshots) {
		add("proc-exe", "the image snapshots changed: %s", diffStates(s.snapshots, now))
	}
	if fileSHA(t, cocoonBin) != s.cocoonSHA {
		add("proc-exe", "the host's cocoon binary changed")
	}
	// Mounts and files that only propagation would put on the host.
	checked["mount-propagation"] = true
	vol := h.cfg.HostVolumes[0]
	if _, err := os.Lstat(filepath.Join(vol, "propagated", "flag")); err == nil {
		add("mount-propagation", "propagated/flag appeared in the host's volume")
	}
	if ents, _ := os.ReadDir(filepath.Join(vol, "bind-target")); len(ents) > 0 {
		add("mount-propagation", "the host sees %d entries under bind-target", len(ents))
	}
	if m := mountsUnder(t, h.base); len(m) > 0 {
		add("mount-propagation", "host mounts under the canary's directory: %v", m)
	}
	// Links and device nodes in the writable volumes.
	for _, name := range []string{"hardlink-out-of-volume", "hardlink-host-files-in", "device-nodes"} {
		checked[name] = true
	}
	var st unix.Stat_t
	must(t, unix.Stat(h.cfg.CanaryPath, &st))
	if st.Nlink != s.canaryNlink {
		add("hardlink-host-files-in", "the canary has %d links, had %d", st.Nlink, s.canaryNlink)
	}
	for _, v := range h.cfg.HostVolumes {
		filepath.WalkDir(v, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			var st unix.Stat_t
			if unix.Lstat(p, &st) != nil {
				return nil
			}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFCHR, unix.S_IFBLK:
				add("device-nodes", "a device node %s (%d:%d) appeared in a volume", p, unix.Major(st.Rdev), unix.Minor(st.Rdev))
			case unix.S_IFREG:
				if st.Nlink > 1 {
					add("hardlink-out-of-volume", "%s has %d links", p, st.Nlink)
				}
			}
			return nil
		})
	}
	// Whatever walks, races and moves aimed at: the canary and its
	// directory, volumes and the moved-out directory aside.
	checked["(host) canary directory"] = true
	if now := h.baseState(); !maps2Equal(now, s.base) {
		add("(host) canary directory", "%s", diffStates(s.base, now))
	}
	if !time.Unix(st.Mtim.Unix()).Equal(s.canaryMtime) {
		add("(host) canary directory", "the canary's mtime changed")
	}

	for _, r := range results {
		if r.Result == "host-check" && !checked[r.Name] {
			t.Errorf("%s went through inside the sandbox and the host has no check for it: %s", r.Name, r.Detail)
		}
	}
	return changes
}

// baseState is the canary's directory as the host sees it, without the
// writable volumes (the program writes there) and the directory the host
// moves the escapee to.
func (h *escapeHost) baseState() map[string]string {
	st := treeState(h.t, h.base)
	for k := range st {
		for _, skip := range append(slices.Clone(h.cfg.HostVolumes), h.outside) {
			rel, _ := filepath.Rel(h.base, skip)
			if k == rel || strings.HasPrefix(k, rel+"/") {
				delete(st, k)
			}
		}
	}
	return st
}

// treeState is every entry of a tree with its type, mode, link count,
// size, modification time and, for files, content hash.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	st := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var s unix.Stat_t
		if err := unix.Lstat(p, &s); err != nil {
			return nil
		}
		desc := fmt.Sprintf("mode %o nlink %d size %d", s.Mode, s.Nlink, s.Size)
		switch s.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			desc += fmt.Sprintf(" mtime %d sha %s", s.Mtim.Nano(), fileSHA(t, p))
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		}
		st[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func fileSHA(t *testing.T, p string) string {
	f, err := os.Open(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

func maps2Equal[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// diffStates names what was added, removed or changed.
func diffStates(before, after map[string]string) string {
	var out []string
	for k, v := range after {
		if w, ok := before[k]; !ok {
			out = append(out, "new "+k+" ("+v+")")
		} else if w != v {
			out = append(out, "changed "+k+" ("+w+" -> "+v+")")
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "removed "+k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func hostMTUs(t *testing.T) map[string]int {
	ifs, err := net.Interfaces()
	must(t, err)
	m := map[string]int{}
	for _, i := range ifs {
		m[i.Name] = i.MTU
	}
	return m
}

// vmstatDrops are /proc/vmstat's drop_pagecache and drop_slab counters,
// which writing vm.drop_caches increments.
func vmstatDrops() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(readOr("/proc/vmstat", ""), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "drop_") {
			m[f[0]] = f[1]
		}
	}
	return m
}

// kmsgCount counts kernel log records holding word (case-insensitive).
func kmsgCount(word string) int {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	n := 0
	for {
		r, err := unix.Read(fd, buf)
		if err == unix.EPIPE {
			continue // records overwritten while reading
		}
		if err != nil || r <= 0 {
			return n
		}
		if bytes.Contains(bytes.ToLower(buf[:r]), []byte(word)) {
			n++
		}
	}
}

// tracerPid is the TracerPid line of a process's status.
func tracerPid(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "<gone>"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "TracerPid:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "<none>"
}
