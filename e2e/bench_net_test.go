package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/cocoonrt/cocoon/cni"
	"github.com/cocoonrt/cocoon/e2e/registry"
	"github.com/cocoonrt/cocoon/podsandbox/cgroup"
	"github.com/cocoonrt/cocoon/podsandbox/netns"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// The network benchmark: a cocoon pod and a runc container side by side
// on the same CNI bridge, each running the same image (the busybox test
// image with e2e/cmd/netbench in /bin) and the same servers: netbench on
// netbenchPort and busybox httpd on :8080. The clients run on the host
// and take turns against the two, so both see the same machine load.

const (
	netbenchPort = 5201
	// netRuns is how many times each figure is measured per runtime; the
	// report gives the median.
	netRuns = 3
)

// netServers starts both servers: httpd in the background, netbench as
// the container's main process.
var netServers = fmt.Sprintf("mkdir -p /tmp/www && echo hello >/tmp/www/index.html && "+
	"{ /bin/busybox httpd -f -p 8080 -h /tmp/www & exec /bin/netbench serve -port %d; }", netbenchPort)

// TestReportNet prints TCP throughput both ways, HTTP requests per
// second (wrk against busybox httpd), the TCP connect+close rate and the
// UDP round trip of a cocoon pod next to a runc container measured in
// the same run. With COCOON_BENCH=1 only.
func TestReportNet(t *testing.T) {
	if os.Getenv("COCOON_BENCH") == "" {
		t.Skip("set COCOON_BENCH=1 (make bench) to print the network benchmark report")
	}
	for _, tool := range []string{"runc", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian package %s; make deps installs it)", tool, tool)
		}
	}
	nb := buildProgram(t, "netbench")
	f, n, _ := newNetPodFixture(t)
	img := busyboxWith(t, "netbench", nb)
	reg := registry.Start(t)
	_, ref, err := reg.Push("bench/netbench:1", img)
	if err != nil {
		t.Fatal(err)
	}
	f.c.run(false, "pull", ref)
	f.image = ref

	// COCOON_PLATFORM=NAME runs the pod on that platform (its runtime
	// handler cocoon-NAME) instead of the one the daemon measured
	// fastest at start, which a loaded machine makes vary from run to
	// run.
	var pod, cfg string
	if pl := os.Getenv("COCOON_PLATFORM"); pl != "" {
		pod, cfg = f.runPodWith("cocoon-"+pl, "netbench")
	} else {
		pod, cfg = f.runPod("netbench")
	}
	servers := f.create(pod, cfg, "servers", "sh", "-c", netServers)
	f.c.run(false, "start", servers)
	// Registered after the fixture's cleanups, so it runs before the pod
	// goes: a server that died or hung shows why.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		output, _ := os.ReadFile(filepath.Join(f.logDir, "netbench", "servers.log"))
		sentry, _ := os.ReadFile(podSentryLog(t, pod))
		state, _ := f.c.run2(false, "inspect", "-o", "go-template", "--template", "{{.status.state}} exit {{.status.exitCode}} {{.status.reason}}", servers)
		t.Logf("the cocoon pod's servers (%s):\n%s\nits sentry's log:\n%s", strings.TrimSpace(state), output, sentry)
	})
	cocoonIP := f.podIP(pod, n)
	runcIP, runcPID := startRuncServers(t, n, img)
	// Whose cgroup holds each target's processes.
	pidOf := map[netip.Addr]int{cocoonIP: sentryPID(t, f.c, pod), runcIP: runcPID}
	targets := []struct {
		name string
		ip   netip.Addr
	}{{"cocoon", cocoonIP}, {"runc", runcIP}}
	for _, tg := range targets {
		waitListening(t, tg.name, netip.AddrPortFrom(tg.ip, netbenchPort).String())
		waitListening(t, tg.name, netip.AddrPortFrom(tg.ip, 8080).String())
	}

	// COCOON_BENCH_NET_HOLD=FILE keeps both servers up for a person to
	// measure and profile by hand: the test writes "cocoon IP, runc IP,
	// sentry PID, netbench path" to FILE and ends when FILE is removed.
	// Give go test a -timeout longer than the hold: one that fires
	// panics past the cleanups and leaves the daemon, the pod and the
	// runc container running.
	if hold := os.Getenv("COCOON_BENCH_NET_HOLD"); hold != "" {
		info := fmt.Sprintf("%s %s %d %s\n", cocoonIP, runcIP, sentryPID(t, f.c, pod), nb)
		if err := os.WriteFile(hold, []byte(info), 0o644); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(hold); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}

	type metric struct {
		key          string // for COCOON_BENCH_NET and profile names
		label, unit  string
		higherBetter bool
		note         string
		measure      func(ip netip.Addr) float64
	}
	client := func(mode, d string) func(netip.Addr) float64 {
		return func(ip netip.Addr) float64 {
			return netbenchClient(t, nb, mode, "-addr", netip.AddrPortFrom(ip, netbenchPort).String(), "-time", d)
		}
	}
	// Every connection is the host's: "pod → host" is the pod sending on
	// it.
	metrics := []metric{
		{"send", "TCP throughput host → pod, one stream", "Mbit/s", true, "target ≥ 0.80x", client("send", "2s")},
		{"recv", "TCP throughput pod → host, one stream", "Mbit/s", true, "target ≥ 0.80x", client("recv", "2s")},
		// What each byte costs the whole machine: both ends run on it,
		// so when both setups keep its CPUs busy the throughput ratio
		// is about the inverse of this one.
		{"sendcpu", "Machine CPU per GB, host → pod, one stream", "ms/GB", false, "all CPUs: sender, veth, stack, reader", machineCPUPerGB(t, nb, "send")},
		{"recvcpu", "Machine CPU per GB, pod → host, one stream", "ms/GB", false, "all CPUs: sender, stack, veth, reader", machineCPUPerGB(t, nb, "recv")},
		{"http", "HTTP requests/s, wrk -c8 → busybox httpd", "req/s", true, "a fork per connection", func(ip netip.Addr) float64 {
			rate, _ := wrkRate(t, fmt.Sprintf("http://%s/", netip.AddrPortFrom(ip, 8080)))
			return rate
		}},
		// The machine's load moves runc's req/s many-fold within a run
		// (an httpd that stalls now and then); the CPU each request
		// costs moves by about ±10%.
		{"httpcpu", "HTTP CPU per request (the pod's cgroup)", "µs", false, "same load; sentry, stubs and gofer", func(ip netip.Addr) float64 {
			before := cgroupCPU(t, pidOf[ip])
			_, requests := wrkRate(t, fmt.Sprintf("http://%s/", netip.AddrPortFrom(ip, 8080)))
			used := cgroupCPU(t, pidOf[ip]) - before
			return math.Round(10*float64(used.Microseconds())/float64(max(requests, 1))) / 10
		}},
		{"connect", "TCP connect+close rate, host → pod", "conn/s", true, "the pod closes first", client("connect", "2s")},
		{"udprtt", "UDP round trip, 32 bytes, median", "µs", false, "", client("udprtt", "1s")},
	}
	// COCOON_BENCH_NET=send,recv measures only those.
	if only := os.Getenv("COCOON_BENCH_NET"); only != "" {
		keys := strings.Split(only, ",")
		metrics = slices.DeleteFunc(metrics, func(m metric) bool { return !slices.Contains(keys, m.key) })
	}
	// COCOON_BENCH_PERF=DIR records a CPU profile of the sentry (perf
	// record -g) during each cocoon measurement, as DIR/KEY-RUN.data;
	// with COCOON_BENCH_PERF_ALL=1, of the whole machine (the client,
	// the host kernel's side of the veth, the platform's stubs).
	perfDir := os.Getenv("COCOON_BENCH_PERF")
	sentry := 0
	if perfDir != "" {
		sentry = sentryPID(t, f.c, pod)
	}

	_, platform := f.podPlatform(pod)
	fmt.Printf("Cocoon network report (one machine; a cocoon pod on %s and a runc container on the same CNI bridge,\n", platform)
	fmt.Printf("clients on the host; median of %d runs each, taken in turns; ratio = cocoon / runc)\n", netRuns)
	// Why the daemon chose that platform, for a run on an unexpected one.
	fmt.Printf("%s\n\n", platformsMeasured(f.c))
	fmt.Printf("  %s %14s %14s %8s\n", pad("", 42), "cocoon", "runc", "ratio")
	var runs []string
	for _, m := range metrics {
		got := make([][]float64, len(targets))
		for run := range netRuns {
			for i, tg := range targets {
				var stop func()
				if sentry != 0 && tg.name == "cocoon" {
					stop = perfRecord(t, sentry, filepath.Join(perfDir, fmt.Sprintf("%s-%d.data", m.key, run)))
				}
				got[i] = append(got[i], m.measure(tg.ip))
				if stop != nil {
					stop()
				}
			}
		}
		c, r := medianOf(got[0]), medianOf(got[1])
		better := "higher is better"
		if !m.higherBetter {
			better = "lower is better"
		}
		if m.note != "" {
			better += "; " + m.note
		}
		fmt.Printf("  %s %s %s %7.2fx  (%s)\n", pad(m.label, 42), figure(c, m.unit), figure(r, m.unit), c/r, better)
		runs = append(runs, fmt.Sprintf("  %s cocoon %v, runc %v", pad(m.label+":", 43), got[0], got[1]))
	}
	fmt.Printf("\nevery run (%s):\n%s\n", "the machine's load shows in the spread", strings.Join(runs, "\n"))
	if perfDir != "" {
		keepForProfiles(t, perfDir, pod)
	}
}

// keepForProfiles copies what reading the profiles needs into dir: the
// cocoon binary (perf resolves the sentry's symbols from it, and the
// test's copy goes when the test ends; perf report --symfs or a copy at
// the recorded path) and the pod's sentry log.
func keepForProfiles(t *testing.T, dir, pod string) {
	t.Helper()
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err == nil {
			err = os.WriteFile(to, b, 0o755)
		}
		if err != nil {
			t.Logf("keeping %s: %v", from, err)
		}
	}
	copyFile(cocoonBin, filepath.Join(dir, "cocoon"))
	if p := podSentryLog(t, pod); p != "" {
		copyFile(p, filepath.Join(dir, "sentry.log"))
	}
}

// podSentryLog finds the sentry log of pod in the daemon's state, under
// the test's temporary directories; "" when there is none.
func podSentryLog(t *testing.T, pod string) string {
	var found string
	filepath.WalkDir(filepath.Dir(t.TempDir()), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "sentry.log" && strings.HasPrefix(filepath.Base(filepath.Dir(p)), pod) {
			found = p
		}
		return nil
	})
	return found
}

// perfRecord starts perf recording pid's CPU samples with call graphs
// into out; the returned function stops it and waits for the file.
func perfRecord(t *testing.T, pid int, out string) func() {
	t.Helper()
	target := []string{"-p", strconv.Itoa(pid)}
	if os.Getenv("COCOON_BENCH_PERF_ALL") != "" {
		target = []string{"-a"}
	}
	cmd := exec.Command("perf", append(append([]string{"record", "-q", "-g", "-F", "2000"}, target...), "-o", out)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("perf record: %v", err)
	}
	// perf attaches to the threads before it samples; give it a moment
	// so the measurement is covered from its start.
	time.Sleep(200 * time.Millisecond)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			if err := cmd.Wait(); err != nil && cmd.ProcessState.ExitCode() != -1 {
				t.Logf("perf record: %v\n%s", err, stderr.String())
			}
		})
	}
	// A measurement that fails ends the test before the caller stops
	// perf, which would otherwise record on (system-wide, with
	// COCOON_BENCH_PERF_ALL) after the test is gone.
	t.Cleanup(stop)
	return stop
}

// pad left-aligns s in a field of n characters (runes, not bytes: the
// labels have arrows).
func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

// figure is v in unit, right-aligned in 14 characters.
func figure(v float64, unit string) string {
	f := strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
	return strings.Repeat(" ", max(0, 14-utf8.RuneCountInString(f))) + f
}

func medianOf(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[len(s)/2]
}

// startRuncServers runs netServers in a runc container whose network
// namespace is attached to n by the cni package, as the daemon attaches
// a pod's, and returns the container's IP and its init's PID. Everything
// goes when the test ends: the container, its attachment (IP lease, veth)
// and namespace.
func startRuncServers(t *testing.T, n *cniNet, img v1.Image) (netip.Addr, int) {
	t.Helper()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	unpackImage(t, img, filepath.Join(bundle, "rootfs"))

	id := "cocoon-bench-" + filepath.Base(dir)
	nsPath := filepath.Join(dir, "netns")
	if err := netns.New(nsPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Remove(nsPath); err != nil {
			t.Error(err)
		}
	})
	network, err := cni.New(cni.Options{ConfDir: n.confDir, BinDirs: []string{e2ePluginDir}, CacheDir: filepath.Join(dir, "cni-cache"), NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.Close() })
	args := cni.PodArgs{Name: "runc-netbench", Namespace: "bench", UID: id}
	res, err := network.Setup(context.Background(), id, nsPath, args)
	t.Cleanup(func() {
		if err := network.Teardown(context.Background(), id, nsPath, args); err != nil {
			t.Errorf("CNI DEL of the runc container: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := netip.ParseAddr(res.IPs[0])
	if err != nil || !n.subnet.Contains(ip) {
		t.Fatalf("runc container IP %q, want one in %s", res.IPs, n.subnet)
	}

	// runc's own default spec (as `runc spec` writes it), made to run the
	// servers in the namespace CNI set up, with a writable root.
	if out, err := exec.Command("runc", "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	spec.Process.Terminal = false
	spec.Process.Args = []string{"sh", "-c", netServers}
	spec.Root.Readonly = false
	spec.Hostname = "runc-netbench"
	for i, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			spec.Linux.Namespaces[i].Path = nsPath
		}
	}
	if b, err = json.Marshal(&spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}

	// A detached container keeps runc's stdout and stderr: a file, not a
	// pipe that Wait would wait on.
	logPath := filepath.Join(dir, "runc.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	state := filepath.Join(dir, "runc-state")
	cmd := exec.Command("runc", "--root", state, "run", "--detach", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Run()
	t.Cleanup(func() {
		if out, err := exec.Command("runc", "--root", state, "delete", "--force", id).CombinedOutput(); err != nil {
			t.Errorf("runc delete: %v\n%s", err, out)
		}
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("runc container output:\n%s", log)
		}
	})
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("runc run: %v\n%s", err, log)
	}
	out, err := exec.Command("runc", "--root", state, "state", id).Output()
	if err != nil {
		t.Fatalf("runc state: %v", err)
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Pid <= 0 {
		t.Fatalf("runc state %s: pid %d, %v", out, st.Pid, err)
	}
	return ip, st.Pid
}

// unpackImage writes img's flattened file system into dir: directories,
// regular files and symbolic links, which is all the test images hold.
func unpackImage(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
			if err == nil {
				err = os.Chmod(p, h.FileInfo().Mode().Perm()|h.FileInfo().Mode()&os.ModeSticky)
			}
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, h.FileInfo().Mode().Perm()); err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		default:
			t.Fatalf("unpacking %s: type %q is not handled", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitListening waits until something accepts TCP connections on addr.
func waitListening(t *testing.T, who, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: nothing listens on %s: %v", who, addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// netbenchClient runs netbench on the host and returns the figure it
// prints.
func netbenchClient(t *testing.T, nb string, args ...string) float64 {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(nb, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("netbench %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("netbench %s printed %q", strings.Join(args, " "), out)
	}
	return v
}

var (
	wrkRequests = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkCount    = regexp.MustCompile(`(\d+) requests in `)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: \d+`)
	wrkSocket   = regexp.MustCompile(`Socket errors: .*`)
)

// wrkRate loads url with wrk for 3 s (one thread, 8 connections) and
// returns its requests per second and how many it made. An error
// response fails the test; socket errors (timeouts on a loaded machine)
// are logged.
func wrkRate(t *testing.T, url string) (rate float64, requests int) {
	t.Helper()
	out, err := exec.Command("wrk", "-t1", "-c8", "-d3s", url).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	if wrkNon2xx.Match(out) {
		t.Fatalf("wrk %s got error responses:\n%s", url, out)
	}
	if m := wrkSocket.Find(out); m != nil {
		t.Logf("wrk %s: %s", url, m)
	}
	m, n := wrkRequests.FindSubmatch(out), wrkCount.FindSubmatch(out)
	if m == nil || n == nil {
		t.Fatalf("wrk %s printed no rate:\n%s", url, out)
	}
	rate, _ = strconv.ParseFloat(string(m[1]), 64)
	requests, _ = strconv.Atoi(string(n[1]))
	return rate, requests
}

// machineCPUPerGB returns a measure of the CPU time all of the machine's
// CPUs spend per gigabyte (10^9 bytes) of a 2 s netbench stream in mode
// ("send": host → pod; "recv": pod → host).
func machineCPUPerGB(t *testing.T, nb, mode string) func(netip.Addr) float64 {
	return func(ip netip.Addr) float64 {
		const seconds = 2
		before := machineBusy(t)
		mbits := netbenchClient(t, nb, mode, "-addr", netip.AddrPortFrom(ip, netbenchPort).String(), "-time", fmt.Sprintf("%ds", seconds))
		used := machineBusy(t) - before
		gb := mbits * seconds / 8 / 1000
		if gb <= 0 {
			t.Fatalf("netbench %s to %v moved nothing", mode, ip)
		}
		return math.Round(float64(used.Milliseconds()) / gb)
	}
}

// machineBusy returns the time all CPUs have spent on anything but idling
// (and waiting for I/O, or a hypervisor's other guests), from /proc/stat's
// "cpu" line: user, nice, system, irq and softirq, in USER_HZ (100 a
// second on Linux's ABI).
func machineBusy(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		t.Fatalf("/proc/stat begins %q", line)
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			t.Fatalf("/proc/stat begins %q: %v", line, err)
		}
		ticks += n
	}
	const userHZ = 100
	return time.Duration(ticks) * time.Second / userHZ
}

// cgroupCPU returns the CPU time used so far by the cgroup process pid is
// in (its cpuacct hierarchy's on cgroup v1): all of a cocoon pod (its
// sentry, the platform's stub processes, the gofer), or all of a runc
// container.
func cgroupCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	path := cgroupOf(t, pid, "cpuacct")
	if path == "" || path == "/" {
		t.Fatalf("process %d is in no cgroup of its own", pid)
	}
	cg, err := cgroup.Load(cgroup.Cgroupfs, filepath.Dir(path), filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	st, err := cg.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(st.CPUNanos)
}

// platformsMeasured says what the daemon measured of the platforms at
// start-up, from which it chose the pod's (crictl info's "platform").
func platformsMeasured(c *crictl) string {
	var info map[string]json.RawMessage
	c.json(&info, "info")
	raw := info["platform"]
	// crictl shows a value that is JSON as it is, another as a string.
	var text string
	if json.Unmarshal(raw, &text) == nil {
		raw = json.RawMessage(text)
	}
	var st struct {
		Measurement *probe.Report `json:"measurement"`
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Measurement == nil {
		return "(the daemon reports no platform measurement)"
	}
	var figures []string
	for _, p := range st.Measurement.Platforms {
		if p.Available {
			figures = append(figures, fmt.Sprintf("%s %v", p.Name, p.Syscall))
		} else {
			figures = append(figures, p.Name+" unavailable")
		}
	}
	return fmt.Sprintf("(the daemon measured a syscall round trip of %s; it chose %s)", strings.Join(figures, ", "), st.Measurement.Choice)
}
