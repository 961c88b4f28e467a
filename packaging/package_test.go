package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// What both packages install: files with their source in the tree ("" for
// the ones built by the Makefile), and the directories they own.
var (
	packageFiles = map[string]string{
		"/usr/bin/cocoon":                                 "",
		"/usr/lib/systemd/system/cocoon.service":          "cocoon.service",
		"/etc/cocoon/config.toml":                         "config.toml",
		"/etc/crictl.yaml":                                "crictl.yaml",
		"/usr/share/cocoon/cni/10-cocoon-bridge.conflist": "cni/10-cocoon-bridge.conflist",
		"/usr/share/cocoon/runtimeclasses.yaml":           "runtimeclasses.yaml",
		"/usr/share/man/man8/cocoon.8.gz":                 "",
	}
	packageDirs = []string{"/etc/cocoon", "/usr/share/cocoon", "/usr/share/cocoon/cni"}
	conffiles   = []string{"/etc/cocoon/config.toml", "/etc/crictl.yaml"}
	// What the scripts and the daemon create outside the package's files.
	stateDirs = []string{"/var/lib/cocoon", "/run/cocoon"}
)

const daemonSocket = "/run/cocoon/cocoon.sock"

// TestPackages builds the deb and the rpm with the Makefile (make deb rpm
// into a temporary folder), inspects both, and takes the deb through its
// life on this machine: install, run, reinstall, remove, purge. It leaves
// the machine as it found it, and refuses to run where a cocoon package or
// cocoon state already exists.
func TestPackages(t *testing.T) {
	if os.Getenv("COCOON_PACKAGE_TEST") == "" {
		t.Skip("installs a package on this machine: runs under make package-test, which make test runs after the other tests (or COCOON_PACKAGE_TEST=1)")
	}
	for _, tool := range []string{"make", "dpkg", "dpkg-deb", "dpkg-query"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: this test needs a Debian system", tool)
		}
	}
	dir := t.TempDir()
	deb, rpm := buildPackages(t, dir)
	version := strings.TrimSpace(run(t, "dpkg-deb", "--field", deb, "Version"))
	t.Logf("built %s and %s", filepath.Base(deb), filepath.Base(rpm))

	t.Run("deb-contents", func(t *testing.T) { checkDebContents(t, deb) })
	t.Run("rpm-contents", func(t *testing.T) { checkRPMContents(t, rpm, version) })
	t.Run("deb-lifecycle", func(t *testing.T) { debLifecycle(t, deb, version) })
}

// buildPackages runs make deb rpm with the packages going to dir.
func buildPackages(t *testing.T, dir string) (deb, rpm string) {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command("make", "--no-print-directory", "deb", "rpm", "PKG_OUT="+dir, "GO="+gobin)
	cmd.Dir = ".."
	// A make test above us must not hand its job server or flags down.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MFLAGS=") || strings.HasPrefix(kv, "MAKELEVEL=")
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb rpm: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "cocoon_*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(dir, "cocoon-*.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("make deb rpm made debs %v and rpms %v, want one of each", debs, rpms)
	}
	return debs[0], rpms[0]
}

func checkDebContents(t *testing.T, deb string) {
	var files, dirs []string
	for _, line := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "--contents", deb)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 {
			t.Fatalf("dpkg-deb --contents: odd line %q", line)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(fields[5], "."), "/")
		if strings.HasPrefix(fields[0], "d") {
			dirs = append(dirs, name)
		} else {
			files = append(files, name)
		}
	}
	checkFileList(t, "deb", files)
	for _, d := range packageDirs {
		if !slices.Contains(dirs, d) {
			t.Errorf("deb lacks directory %s", d)
		}
	}
	got := strings.Fields(run(t, "dpkg-deb", "--info", deb, "conffiles"))
	if !sameSet(got, conffiles) {
		t.Errorf("deb conffiles = %v, want %v", got, conffiles)
	}
	if dep := run(t, "dpkg-deb", "--field", deb, "Depends"); !strings.Contains(dep, "containernetworking-plugins") {
		t.Errorf("deb Depends = %q, want containernetworking-plugins", dep)
	}
}

func checkRPMContents(t *testing.T, rpm, debVersion string) {
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skip("no rpm (make deps installs Debian's rpm package)")
	}
	var files []string
	for _, f := range strings.Fields(run(t, "rpm", "-qlp", rpm)) {
		if !slices.Contains(packageDirs, f) {
			files = append(files, f)
		}
	}
	checkFileList(t, "rpm", files)
	if got := strings.Fields(run(t, "rpm", "-qcp", rpm)); !sameSet(got, conffiles) {
		t.Errorf("rpm config files = %v, want %v", got, conffiles)
	}
	if req := run(t, "rpm", "-qp", "--requires", rpm); !strings.Contains(req, "containernetworking-plugins") {
		t.Errorf("rpm requires %q, want containernetworking-plugins", req)
	}
	// Both formats carry the same version and release.
	if v := run(t, "rpm", "-qp", "--queryformat", "%{VERSION}-%{RELEASE}", rpm); v != debVersion {
		t.Errorf("rpm version %s, deb version %s", v, debVersion)
	}
	scripts := run(t, "rpm", "-qp", "--scripts", rpm)
	for kind, file := range map[string]string{"postinstall": "scripts/postinstall.sh", "preuninstall": "scripts/preremove.sh", "postuninstall": "scripts/postremove.sh"} {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(scripts, kind+" scriptlet") || !strings.Contains(scripts, strings.TrimSpace(string(body))) {
			t.Errorf("rpm %s scriptlet is not %s:\n%s", kind, file, scripts)
		}
	}
}

func checkFileList(t *testing.T, format string, files []string) {
	t.Helper()
	var want []string
	for f := range packageFiles {
		want = append(want, f)
	}
	if !sameSet(files, want) {
		slices.Sort(files)
		slices.Sort(want)
		t.Errorf("%s files:\n got %v\nwant %v", format, files, want)
	}
}

// refuseToTouch skips the test when installing and purging would change
// something that is not the test's own: an installed cocoon package (in
// any state dpkg keeps), or files or state at the package's paths.
func refuseToTouch(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	if status, err := exec.Command("dpkg-query", "--show", "--showformat=${Status}", "cocoon").Output(); err == nil && !strings.Contains(string(status), "not-installed") {
		t.Skipf("a cocoon package is on this machine (%s); the test leaves it alone", status)
	}
	if status, _ := exec.Command("dpkg-query", "--show", "--showformat=${Status}", "containernetworking-plugins").Output(); string(status) != "install ok installed" {
		t.Skip("containernetworking-plugins, which the package depends on, is not installed (make deps installs it)")
	}
	var paths []string
	for f := range packageFiles {
		paths = append(paths, f)
	}
	paths = append(append(paths, stateDirs...), "/etc/cocoon", "/usr/share/cocoon")
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists: cocoon state or files not from a package are on this machine, and purging the package would remove them", p)
		}
	}
}

func debLifecycle(t *testing.T, deb, version string) {
	refuseToTouch(t)
	installed := false
	t.Cleanup(func() {
		if installed {
			if out, err := exec.Command("dpkg", "--purge", "cocoon").CombinedOutput(); err != nil {
				t.Errorf("cleanup: dpkg --purge cocoon: %v\n%s", err, out)
			}
		}
	})

	// Set first: a failed install can leave a half-installed package.
	installed = true
	out := run(t, "dpkg", "--install", deb)
	t.Logf("dpkg --install:\n%s", out)
	if _, err := os.Stat("/dev/kvm"); errors.Is(err, fs.ErrNotExist) && !strings.Contains(out, "/dev/kvm is missing") {
		t.Errorf("without /dev/kvm, the install does not say so:\n%s", out)
	}
	if !strings.Contains(out, "systemctl enable --now cocoon") {
		t.Errorf("the install does not say how to start the daemon:\n%s", out)
	}
	if got := dpkgStatus(t); got != "install ok installed" {
		t.Fatalf("after dpkg --install, status %q", got)
	}
	checkInstalledFiles(t)
	if st, err := os.Stat("/var/lib/cocoon"); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("/var/lib/cocoon after install: %v, %v; want a 0700 directory", st, err)
	}
	if _, err := os.Stat("/etc/cni/net.d/10-cocoon-bridge.conflist"); err == nil {
		t.Errorf("the package configured a CNI network itself; it must only ship the sample")
	}
	verifyUnit(t)

	// The binary's version maps to the package's.
	vout := run(t, "/usr/bin/cocoon", "version")
	t.Logf("cocoon version:\n%s", vout)
	first, _, _ := strings.Cut(vout, "\n")
	binVersion := strings.TrimPrefix(first, "cocoon ")
	if mapped := strings.TrimSpace(run(t, "sh", "pkgversion.sh", binVersion)); mapped+"-1" != version {
		t.Errorf("cocoon version says %q (package version %s-1), the package is %s", binVersion, mapped, version)
	}
	for _, want := range []string{"commit:", "go:", "/dev/kvm:", "KVM API:", "platform:"} {
		if !strings.Contains(vout, want) {
			t.Errorf("cocoon version lacks %q", want)
		}
	}

	runInstalledDaemon(t)

	// State survives a reinstall (dpkg runs the upgrade paths of the
	// scripts), and the rpm's upgrade branches of the same scripts.
	marker := "/var/lib/cocoon/package-test-marker"
	if err := os.WriteFile(marker, []byte("state"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "dpkg", "--install", deb)
	for _, step := range [][]string{{"scripts/postinstall.sh", "2"}, {"scripts/preremove.sh", "1"}, {"scripts/postremove.sh", "1"}} {
		run(t, "sh", step...)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("state lost on upgrade: %v", err)
	}

	// Remove keeps conffiles and state; purge removes them.
	run(t, "dpkg", "--remove", "cocoon")
	if got := dpkgStatus(t); got != "deinstall ok config-files" {
		t.Errorf("after dpkg --remove, status %q", got)
	}
	for _, p := range append([]string{marker}, conffiles...) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("dpkg --remove took %s: %v", p, err)
		}
	}
	for f := range packageFiles {
		if !slices.Contains(conffiles, f) {
			if _, err := os.Lstat(f); err == nil {
				t.Errorf("%s left after dpkg --remove", f)
			}
		}
	}
	out = run(t, "dpkg", "--purge", "cocoon")
	installed = false
	t.Logf("dpkg --purge:\n%s", out)
	if got := dpkgStatus(t); got != "" && !strings.Contains(got, "not-installed") {
		t.Errorf("after dpkg --purge, status %q", got)
	}
	var left []string
	paths := append(append([]string{"/etc/cocoon", "/usr/share/cocoon"}, stateDirs...), packageDirs...)
	for f := range packageFiles {
		paths = append(paths, f)
	}
	if info, _ := filepath.Glob("/var/lib/dpkg/info/cocoon.*"); len(info) > 0 {
		left = append(left, info...)
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		t.Errorf("left after dpkg --purge: %v", left)
	}
}

func dpkgStatus(t *testing.T) string {
	out, _ := exec.Command("dpkg-query", "--show", "--showformat=${Status}", "cocoon").Output()
	return string(out)
}

func checkInstalledFiles(t *testing.T) {
	t.Helper()
	listed := strings.Fields(run(t, "dpkg-query", "--listfiles", "cocoon"))
	for f, src := range packageFiles {
		if !slices.Contains(listed, f) {
			t.Errorf("dpkg -L cocoon does not list %s", f)
		}
		st, err := os.Stat(f)
		if err != nil {
			t.Errorf("installed: %v", err)
			continue
		}
		wantMode := fs.FileMode(0o644)
		if f == "/usr/bin/cocoon" {
			wantMode = 0o755
		}
		if st.Mode() != wantMode {
			t.Errorf("%s mode %v, want %v", f, st.Mode(), wantMode)
		}
		if src == "" {
			continue
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from packaging/%s", f, src)
		}
	}
	// The man page is the tree's, gzipped.
	f, err := os.Open("/usr/share/man/man8/cocoon.8.gz")
	if err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := os.ReadFile("cocoon.8"); !bytes.Equal(got, want) {
			t.Errorf("installed man page differs from packaging/cocoon.8")
		}
	}
	for _, d := range packageDirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// verifyUnit asks systemd to check the installed unit where its tools are
// installed (they work without systemd running).
func verifyUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("no systemd-analyze: the unit file is not verified")
		return
	}
	out, _ := exec.Command("systemd-analyze", "verify", "/usr/lib/systemd/system/cocoon.service").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "cocoon.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// runInstalledDaemon starts /usr/bin/cocoon daemon as the unit does (no
// flags: the shipped /etc/cocoon/config.toml, the default socket and
// state), talks CRI to it through a Go client and through crictl with the
// shipped /etc/crictl.yaml, and stops it with SIGTERM.
func runInstalledDaemon(t *testing.T) {
	cmd := exec.Command("/usr/bin/cocoon", "daemon")
	// Not a systemd service here: no READY=1 to anyone's manager.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") })
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("daemon output:\n%s", logs.String())
		}
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("unix", daemonSocket); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("cocoon daemon exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cocoon daemon does not listen on %s after a minute", daemonSocket)
		}
		time.Sleep(50 * time.Millisecond)
	}

	conn, err := grpc.NewClient("unix://"+daemonSocket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := runtimeapi.NewRuntimeServiceClient(conn).Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		t.Fatalf("CRI Version: %v", err)
	}
	if v.RuntimeName != "cocoon" || v.RuntimeApiVersion != "v1" {
		t.Errorf("CRI Version = %v", v)
	}
	if crictl := os.Getenv("CRICTL"); crictl != "" {
		c := exec.Command(crictl, "version")
		c.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CRI_CONFIG_FILE=") })
		out, err := c.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "RuntimeName:  cocoon") {
			t.Errorf("crictl version with /etc/crictl.yaml: %v\n%s", err, out)
		}
		t.Logf("crictl version (through /etc/crictl.yaml):\n%s", out)
	} else {
		t.Log("CRICTL not set: /etc/crictl.yaml is not tried with crictl")
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("cocoon daemon after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("cocoon daemon still runs 30s after SIGTERM")
	}
	if _, err := os.Lstat(daemonSocket); err == nil {
		t.Errorf("%s left after the daemon stopped", daemonSocket)
	}
}

// run runs a command and returns its standard output; it fails the test
// with the command's output when the command fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
