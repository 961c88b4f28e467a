package registry

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func mustCritestImages(t *testing.T) map[string]CritestImage {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	imgs, err := CritestImages(t.TempDir())
	if errors.Is(err, ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]CritestImage{}
	for _, ci := range imgs {
		if _, dup := m[ci.Path]; dup {
			t.Fatalf("two images at %s", ci.Path)
		}
		for _, r := range ci.Refs {
			if !strings.HasSuffix(r, "/"+ci.Path) {
				t.Errorf("ref %s is not at path %s", r, ci.Path)
			}
		}
		m[ci.Path] = ci
	}
	return m
}

// flatten returns the files of img's layers, later layers winning.
func flatten(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
	}
}

func readFile(t *testing.T, img v1.Image, name string) string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("no %s", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestCritestImages(t *testing.T) {
	m := mustCritestImages(t)
	for _, p := range []string{
		"e2e-test-images/busybox:1.29-2", "e2e-test-images/nginx:1.14-2", "e2e-test-images/httpd:2.4.39-4",
		"e2e-test-images/nonewprivs:1.3", "pause:3.9",
		"k8s-staging-cri-tools/test-image-latest:latest", "k8s-staging-cri-tools/test-image-tag:test",
		"k8s-staging-cri-tools/test-image-tag:all", "k8s-staging-cri-tools/test-image-predefined-group:latest",
		"k8s-staging-cri-tools/test-image-tags:1", "k8s-staging-cri-tools/test-image-tags:2", "k8s-staging-cri-tools/test-image-tags:3",
	} {
		if _, ok := m[p]; !ok {
			t.Errorf("no image at %s", p)
		}
	}

	bb := m["e2e-test-images/busybox:1.29-2"].Image
	files := flatten(t, bb)
	for _, name := range []string{"bin/sh", "bin/ls", "bin/pidof", "bin/id", "bin/top"} {
		h := files[name]
		if h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "bin/busybox" {
			t.Errorf("%s: %+v, want a hard link to bin/busybox", name, h)
		}
	}
	for _, name := range []string{"bin/pgrep", "bin/ipcs"} {
		if h := files[name]; h == nil || h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 {
			t.Errorf("%s: %+v, want an executable file", name, h)
		}
	}
	if h := files["tmp"]; h == nil || h.Mode&0o1777 != 0o1777 {
		t.Errorf("tmp: %+v", h)
	}
	passwd := readFile(t, bb, "etc/passwd")
	group := readFile(t, bb, "etc/group")
	for _, want := range []string{"root:x:0:0:", "www-data:x:33:33:", "nobody:x:65534:65534:"} {
		if !strings.Contains(passwd, want) {
			t.Errorf("/etc/passwd lacks %q", want)
		}
	}
	for _, want := range []string{"root:x:0:", "www-data:x:33:", "nogroup:x:65534:"} {
		if !strings.Contains(group, want) {
			t.Errorf("/etc/group lacks %q", want)
		}
	}

	users := map[string]string{
		"test-image-user-uid": "1002", "test-image-user-username": "www-data",
		"test-image-user-uid-group": "1003:1004", "test-image-user-username-group": "www-data:1004",
		"test-image-predefined-group": "1000",
	}
	for name, user := range users {
		cf, err := m["k8s-staging-cri-tools/"+name+":latest"].Image.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != user {
			t.Errorf("%s: User %q, want %q", name, cf.Config.User, user)
		}
	}
	pg := m["k8s-staging-cri-tools/test-image-predefined-group:latest"].Image
	if g := readFile(t, pg, "etc/group"); !strings.Contains(g, "group-defined-in-image:x:50000:default-user\n") {
		t.Errorf("predefined-group /etc/group:\n%s", g)
	}

	tags := digest(t, m["k8s-staging-cri-tools/test-image-tags:1"].Image)
	for _, p := range []string{"k8s-staging-cri-tools/test-image-tags:2", "k8s-staging-cri-tools/test-image-tags:3"} {
		if d := digest(t, m[p].Image); d != tags {
			t.Errorf("%s is %s, test-image-tags:1 is %s", p, d, tags)
		}
	}
	seen := map[string]string{}
	for _, p := range []string{"test-image-1:latest", "test-image-2:latest", "test-image-3:latest", "test-image-latest:latest", "test-image-tag:test", "test-image-tag:all"} {
		d := digest(t, m["k8s-staging-cri-tools/"+p].Image)
		if other, ok := seen[d]; ok {
			t.Errorf("%s and %s are the same image", p, other)
		}
		seen[d] = p
	}

	nnp := flatten(t, m["e2e-test-images/nonewprivs:1.3"].Image)["usr/local/bin/nnp"]
	if nnp == nil || nnp.Mode&0o7777 != 0o4755 || nnp.Uid != 0 {
		t.Errorf("nnp: %+v, want mode 04755 owned by root", nnp)
	}
	pause := m["pause:3.9"]
	if len(pause.Refs) != 2 {
		t.Errorf("pause refs %v", pause.Refs)
	}
	for _, p := range []string{"e2e-test-images/nginx:1.14-2", "k8s-staging-cri-tools/hostnet-nginx-amd64:latest"} {
		ci, ok := m[p]
		if !ok {
			continue // another architecture
		}
		if f := flatten(t, ci.Image)["usr/sbin/nginx"]; f == nil {
			t.Errorf("%s has no usr/sbin/nginx", p)
		}
	}
	if conf := readFile(t, m["e2e-test-images/nginx:1.14-2"].Image, "etc/nginx/conf.d/default.conf"); !strings.Contains(conf, "listen       80;") {
		t.Errorf("nginx conf:\n%s", conf)
	}

	// Building again gives the same images.
	again := mustCritestImages(t)
	for p, ci := range m {
		if a, b := digest(t, ci.Image), digest(t, again[p].Image); a != b {
			t.Errorf("%s: %s, then %s", p, a, b)
		}
	}
}

// TestCritestPrograms runs the C programs of the images natively: the
// host is the oracle.
func TestCritestPrograms(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	if _, err := buildCritestPrograms(dir); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(dir, name), args...).CombinedOutput()
		return string(out), err
	}

	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	out, err := run("pgrep", "-x", "sleep")
	if err != nil || !strings.Contains(out, strconv.Itoa(sleep.Process.Pid)+"\n") {
		t.Errorf("pgrep -x sleep = %q, %v; want pid %d", out, err, sleep.Process.Pid)
	}
	out, err = run("pgrep", "no-such-process-name-here")
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 1 || out != "" {
		t.Errorf("pgrep with no match = %q, %v; want exit 1", out, err)
	}

	out, err = run("ipcs", "-m")
	if err != nil || !strings.Contains(out, "Shared Memory Segments") || !strings.Contains(out, "shmid") {
		t.Errorf("ipcs -m = %q, %v", out, err)
	}
	if ipcmk, err := exec.LookPath("ipcmk"); err == nil {
		b, err := exec.Command(ipcmk, "-M", "4096").Output()
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(strings.TrimSpace(string(b)), "Shared memory id: ")
		defer exec.Command("ipcrm", "-m", id).Run()
		out, err := run("ipcs", "-m")
		if err != nil || !strings.Contains(out, " "+id+" ") {
			t.Errorf("ipcs -m after ipcmk (id %s) = %q, %v", id, out, err)
		}
	}

	out, err = run("nnp")
	if err != nil || out != "Effective uid: "+strconv.Itoa(os.Geteuid())+"\n" {
		t.Errorf("nnp = %q, %v", out, err)
	}
	out, err = run("pause", "-v")
	if err != nil || !strings.Contains(out, "pause") {
		t.Errorf("pause -v = %q, %v", out, err)
	}
}

// TestElfDeps: a dynamically linked host program needs its ELF
// interpreter and libc; a static one needs nothing.
func TestElfDeps(t *testing.T) {
	sh, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls")
	}
	deps, err := elfDeps(sh)
	if err != nil {
		t.Fatal(err)
	}
	var interp, libc bool
	for _, d := range deps {
		interp = interp || strings.Contains(filepath.Base(d), "ld-linux")
		libc = libc || filepath.Base(d) == "libc.so.6"
	}
	if !interp || !libc {
		t.Errorf("elfDeps(%s) = %v, want the interpreter and libc.so.6", sh, deps)
	}
	if _, err := os.Stat(BusyboxPath); err == nil {
		if deps, err := elfDeps(BusyboxPath); err != nil || len(deps) != 0 {
			t.Errorf("elfDeps(%s) = %v, %v; want none (static)", BusyboxPath, deps, err)
		}
	}
}
