package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// The CRI validation suite, critest (sigs.k8s.io/cri-tools), against
// `cocoon daemon`: `make critest`, or
//
//	COCOON_CRITEST=1 go test -run '^TestCritest$' -v -timeout 60m ./e2e/
//
// The images critest pulls are rebuilt here (registry.CritestImages),
// pushed to a registry on 127.0.0.1 and reached through hosts.toml
// mirrors in the daemon's certs_dir for registry.k8s.io, k8s.gcr.io,
// gcr.io, docker.io and quay.io: nothing leaves the machine.
//
// Spec failures do not fail the test: the report is the result. It fails
// only when critest cannot run. Settings:
//
//	COCOON_CRITEST=1        run at all
//	CRITEST=path            a critest binary (default: built from
//	                        sigs.k8s.io/cri-tools@critestVersion into
//	                        bin/critest-VERSION, reused after)
//	COCOON_CRITEST_OUT=dir  the report directory (default bin/critest-report)
//	COCOON_CRITEST_FOCUS=re --ginkgo.focus (default: every spec)
//	COCOON_CRITEST_SKIP=re  --ginkgo.skip
//	COCOON_CRITEST_BUSYBOX=path  the busybox of the images. By default
//	                        Debian's dynamically linked busybox, fetched
//	                        once with apt-get download into
//	                        bin/critest-busybox; when that cannot be had,
//	                        /bin/busybox (busybox-static), whose sh runs
//	                        applets in-process, so that the MaskedPaths
//	                        spec fails with it on any runtime.
//
// The report directory gets junit.xml, critest.log (critest's output),
// daemon.log (the daemon's) and summary.txt (the counts and the failing
// specs).

// critestVersion is the cri-tools release critest is built from; it
// matches the crictl the Makefile installs.
const critestVersion = "v1.37.0"

func TestCritest(t *testing.T) {
	if os.Getenv("COCOON_CRITEST") != "1" {
		t.Skip("set COCOON_CRITEST=1 (make critest) to run the CRI validation suite")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("COCOON_CRITEST_OUT")
	if out == "" {
		out = filepath.Join(repo, "bin", "critest-report")
	}
	if out, err = filepath.Abs(out); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"junit.xml", "critest.log", "daemon.log", "summary.txt"} {
		os.Remove(filepath.Join(out, f))
	}

	bin := os.Getenv("CRITEST")
	if bin == "" {
		bin = buildCritest(t, filepath.Join(repo, "bin", "critest-"+critestVersion))
	}

	busybox := os.Getenv("COCOON_CRITEST_BUSYBOX")
	if busybox == "" {
		busybox = dynamicBusybox(t, filepath.Join(repo, "bin", "critest-busybox"))
	}
	imgs, err := registry.CritestImagesWith(t.TempDir(), busybox)
	if err != nil {
		t.Fatalf("building the critest images: %v", err)
	}
	reg := registry.Start(t)
	if err := reg.PushCritest(imgs); err != nil {
		t.Fatal(err)
	}
	for _, ci := range imgs {
		d, _ := ci.Image.Digest()
		t.Logf("image %s (%s): %s", strings.Join(ci.Refs, ", "), d, ci.About)
	}
	t.Logf("not reproducible, will fail: %s", strings.Join(registry.CritestUnreproducible, ", "))

	// Pods get their network from a bridge of the test's own (its own
	// name and subnet), so the networking specs run as on a node.
	n := newCNINet(t)
	root, sock := newDaemonDirs(t)
	d := startDaemonWith(t, root, sock, fmt.Sprintf("[cni]\nconf_dir = %q\nbin_dirs = [%q]\n", n.confDir, e2ePluginDir))
	if err := reg.MirrorHosts(d.certsDir()); err != nil {
		t.Fatal(err)
	}
	// The daemon's output goes to the report however the test ends.
	t.Cleanup(func() { os.WriteFile(filepath.Join(out, "daemon.log"), []byte(d.stderr.String()), 0o644) })
	// Pods a failed spec left behind would outlive the daemon (as pods
	// do across a restart): remove them before it stops (cleanups run
	// last-registered first).
	t.Cleanup(func() { removeAllPods(t, d) })

	junit := filepath.Join(out, "junit.xml")
	budget := 55 * time.Minute
	if dl, ok := t.Deadline(); ok {
		budget = time.Until(dl) - 2*time.Minute
	}
	if budget < time.Minute {
		t.Fatalf("%v left before the test's deadline: too little for critest", budget)
	}
	args := []string{
		"--runtime-endpoint=unix://" + sock,
		"--image-endpoint=unix://" + sock,
		// Serial: critest's default. --parallel, of any value, trips
		// Ginkgo's check against go test's -parallel.
		"--ginkgo.no-color",
		"--ginkgo.junit-report=" + junit,
		"--ginkgo.timeout=" + (budget - time.Minute).Round(time.Second).String(),
	}
	if f := os.Getenv("COCOON_CRITEST_FOCUS"); f != "" {
		args = append(args, "--ginkgo.focus="+f)
	}
	if s := os.Getenv("COCOON_CRITEST_SKIP"); s != "" {
		args = append(args, "--ginkgo.skip="+s)
	}

	logf, err := os.Create(filepath.Join(out, "critest.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	c, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	cmd := exec.CommandContext(c, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = 30 * time.Second
	t.Logf("%s %s", bin, strings.Join(args, " "))
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("critest ran %v (%v); its output is in %s", time.Since(start).Round(time.Second), runErr, logf.Name())

	sum, err := readJUnit(junit)
	if err != nil {
		tail, _ := os.ReadFile(logf.Name())
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		t.Fatalf("critest did not run (%v): no report: %v\n...%s", runErr, err, tail)
	}
	text := sum.String()
	if err := os.WriteFile(filepath.Join(out, "summary.txt"), []byte(text), 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("critest %s: report in %s\n%s", critestVersion, out, text)
	if sum.Total() == 0 {
		t.Fatalf("critest reported no specs (%v)", runErr)
	}
}

// buildCritest builds critest at out unless it is there, from the
// cri-tools module source (the module cache copy is read-only, so it is
// copied first).
func buildCritest(t *testing.T, out string) string {
	t.Helper()
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out
	}
	gobin := goCommand()
	env := append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	dl := exec.Command(gobin, "mod", "download", "-json", "sigs.k8s.io/cri-tools@"+critestVersion)
	dl.Dir = t.TempDir() // outside this module: go.mod and go.sum stay as they are
	dl.Env = env
	b, err := dl.Output()
	if err != nil {
		t.Fatalf("go mod download sigs.k8s.io/cri-tools@%s: %v %s", critestVersion, err, exitStderr(err))
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(b, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v %s %s", err, mod.Error, b)
	}
	src := filepath.Join(t.TempDir(), "cri-tools")
	if err := copyTree(mod.Dir, src); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp"
	build := exec.Command(gobin, "test", "-c", "-trimpath", "-o", tmp, "./cmd/critest")
	build.Dir = src
	build.Env = env
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building critest: %v\n%s", err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s", out)
	return out
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// copyTree copies the regular files and directories under src to dst,
// writable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !e.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
}

// junitSuites is the part of Ginkgo's JUnit report read here.
type junitSuites struct {
	Suites []struct {
		Cases []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitCase struct {
	Name    string `xml:"name,attr"`
	Status  string `xml:"status,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
}

// critestSummary counts a critest run's specs by state.
type critestSummary struct {
	Passed, Skipped []string
	// Failed are the failed specs with the first line of the failure.
	Failed []string
	// Suite are the failed suite nodes (BeforeSuite, AfterSuite, ...).
	Suite []string
}

func (s *critestSummary) Total() int { return len(s.Passed) + len(s.Failed) + len(s.Skipped) }

func (s *critestSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "passed %d, failed %d, skipped %d (of %d specs)\n", len(s.Passed), len(s.Failed), len(s.Skipped), s.Total())
	for _, f := range s.Suite {
		fmt.Fprintf(&b, "SUITE NODE FAILED: %s\n", f)
	}
	if len(s.Failed) > 0 {
		b.WriteString("failed:\n")
		for _, f := range s.Failed {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	if len(s.Passed) > 0 {
		b.WriteString("passed:\n")
		for _, p := range s.Passed {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	return b.String()
}

// readJUnit reads Ginkgo's JUnit report at path.
func readJUnit(path string) (*critestSummary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var js junitSuites
	if err := xml.Unmarshal(b, &js); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &critestSummary{}
	for _, suite := range js.Suites {
		for _, c := range suite.Cases {
			suiteNode := !strings.HasPrefix(c.Name, "[It]")
			switch c.Status {
			case "passed":
				if !suiteNode {
					s.Passed = append(s.Passed, c.Name)
				}
			case "skipped", "pending":
				if !suiteNode {
					s.Skipped = append(s.Skipped, c.Name)
				}
			default: // failed, panicked, interrupted, timedout, aborted
				msg := c.Status
				if c.Failure != nil {
					msg = c.Failure.Message
				} else if c.Error != nil {
					msg = c.Error.Message
				}
				line := c.Name + ": " + firstLine(msg)
				if suiteNode {
					s.Suite = append(s.Suite, line)
				} else {
					s.Failed = append(s.Failed, line)
				}
			}
		}
	}
	slices.Sort(s.Passed)
	slices.Sort(s.Failed)
	slices.Sort(s.Skipped)
	return s, nil
}

// firstLine is the first line of a failure message, and the gRPC error
// of it when there is one ("failed to create PodSandbox: rpc error: code
// = ... desc = ...").
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, rest, _ := strings.Cut(s, "\n")
	if i := strings.Index(rest, "rpc error: "); i >= 0 {
		rpc, _, _ := strings.Cut(rest[i:], "\n")
		line += ": " + rpc
	}
	if len(line) > 400 {
		line = line[:400] + "..."
	}
	return line
}

// dynamicBusybox returns Debian's dynamically linked busybox, unpacked
// into dir (from `apt-get download busybox` the first time), or
// busybox-static's when it cannot be had: the static one runs applets
// in-process from sh, which the MaskedPaths spec cannot tell from a
// masked /bin/ls.
func dynamicBusybox(t *testing.T, dir string) string {
	bin := filepath.Join(dir, "bin", "busybox")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	fallback := func(why string, args ...any) string {
		t.Logf("using %s for the critest images (the MaskedPaths spec will fail): "+why, append([]any{registry.BusyboxPath}, args...)...)
		return registry.BusyboxPath
	}
	dl := t.TempDir()
	cmd := exec.Command("apt-get", "download", "busybox")
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		return fallback("apt-get download busybox: %v: %s", err, lastLine(string(out)))
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "busybox_*.deb"))
	if len(debs) != 1 {
		return fallback("apt-get download left %d busybox packages", len(debs))
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], tmp).CombinedOutput(); err != nil {
		return fallback("dpkg-deb -x: %v: %s", err, out)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return fallback("%v", err)
	}
	return bin
}

// removeAllPods removes every pod the daemon has, logging what it could
// not remove.
func removeAllPods(t *testing.T, d *daemon) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pods, err := d.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Logf("listing the pods left: %v", err)
		return
	}
	for _, p := range pods.GetItems() {
		if _, err := d.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			t.Logf("removing pod %s left by critest: %v", p.GetId(), err)
		}
	}
}
