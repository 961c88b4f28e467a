package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// goServer builds registry.GoServerImage once per test binary with the
// go command of the toolchain that runs the tests.
var goServer = sync.OnceValues(func() (v1.Image, error) {
	dir, err := os.MkdirTemp("", "cocoon-e2e-server-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	return registry.GoServerImage(goCommand(), dir)
})

// goCommand is `go env GOROOT`/bin/go, or the go on PATH.
func goCommand() string {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gobin, "env", "GOROOT").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return gobin
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin", "go")
}

func mustGoServer(t *testing.T) v1.Image {
	t.Helper()
	img, err := goServer()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// certsDir is the certs_dir of the daemon's configuration (startDaemon
// puts it next to the config file).
func (d *daemon) certsDir() string { return filepath.Join(filepath.Dir(d.config), "certs.d") }

// snapshotsDir is where the store unpacks layers: one directory per
// chain ID (the hex digest), tmp-* while unpacking.
func snapshotsDir(root string) string { return filepath.Join(root, "image", "snapshots") }

// snapshotDirs lists the entries of snapshotsDir, sorted.
func snapshotDirs(t *testing.T, root string) []string {
	t.Helper()
	es, err := os.ReadDir(snapshotsDir(root))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// tmpEntries lists what is named tmp-* or import-* under root/image:
// the store's work in progress.
func tmpEntries(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(root, "image"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasPrefix(e.Name(), "tmp-") || strings.HasPrefix(e.Name(), "import-") {
			out = append(out, p)
			if e.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return out
}

// imageIDs is ListImages' IDs, sorted.
func (d *daemon) imageIDs(t *testing.T) []string {
	t.Helper()
	list, err := d.img.ListImages(ctx(t), &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	var ids []string
	for _, im := range list.Images {
		ids = append(ids, im.Id)
	}
	slices.Sort(ids)
	return ids
}

// layerSnapshot is the snapshot directory of the first layer of img
// (its chain ID is its diff ID).
func layerSnapshot(t *testing.T, root string, img v1.Image) string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(snapshotsDir(root), cf.RootFS.DiffIDs[0].Hex)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("no snapshot %s (%v); snapshots: %v", dir, err, snapshotDirs(t, root))
	}
	return dir
}

// dirState is the names and contents of the regular files of a
// directory tree, for checking that nothing changed there.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	st := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if e.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st[rel] = string(b)
		} else {
			st[rel] = e.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMaliciousImages pulls images whose layers try to write outside
// the snapshot (.. names, an absolute symlink then a write through it,
// hard links out of the layer): each pull fails naming the entry,
// nothing appears outside the daemon's root (a sentinel directory next
// to it and /etc/passwd are unchanged) and no partial image or
// snapshot is left. A layer forging overlayfs xattrs pulls, without
// them.
func TestMaliciousImages(t *testing.T) {
	reg := registry.Start(t)
	root, sock := newDaemonDirs(t)
	base := filepath.Dir(root)
	sentinel := filepath.Join(base, "sentinel")
	if err := os.MkdirAll(sentinel, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sentinel, "secret"), []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Layers unpack in root/image/snapshots/tmp-*: four ".." reach base.
	const up = "../../../../"

	cases := []struct {
		name  string
		build func() (v1.Image, error)
		entry string // what the error must name
	}{
		{"dotdot", func() (v1.Image, error) { return registry.EscapeImage("../../escape") }, "../../escape"},
		{"dotdot-to-sentinel", func() (v1.Image, error) { return registry.EscapeImage(up + "sentinel/escape") }, up + "sentinel/escape"},
		{"dotdot-inside", func() (v1.Image, error) { return registry.EscapeImage("a/../../../escape") }, "a/../../../escape"},
		{"abs-symlink-etc", func() (v1.Image, error) { return registry.SymlinkEscapeImage("/etc") }, "etc/passwd"},
		{"abs-symlink-sentinel", func() (v1.Image, error) { return registry.SymlinkEscapeImage(sentinel) }, "etc/passwd"},
		{"rel-symlink-sentinel", func() (v1.Image, error) { return registry.SymlinkEscapeImage(up + "sentinel") }, "etc/passwd"},
		{"hardlink-dotdot", func() (v1.Image, error) { return registry.HardlinkEscapeImage("../outside") }, "../outside"},
		{"hardlink-sentinel", func() (v1.Image, error) { return registry.HardlinkEscapeImage(up + "sentinel/secret") }, up + "sentinel/secret"},
	}
	refs := make([]string, len(cases))
	for i, c := range cases {
		img, err := c.build()
		if err != nil {
			t.Fatal(err)
		}
		if _, refs[i], err = reg.Push("evil/"+c.name+":1", img); err != nil {
			t.Fatal(err)
		}
	}
	forged, err := registry.ForgedXattrImage()
	if err != nil {
		t.Fatal(err)
	}
	_, forgedRef, err := reg.Push("evil/forged-xattrs:1", forged)
	if err != nil {
		t.Fatal(err)
	}

	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, root, sock)
	var c *crictl
	if crictlPath() != "" {
		c = newCrictl(t, sock)
	}
	// A good image first, so that there are snapshots to keep.
	good, err := registry.RandomImage(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, goodRef, err := reg.Push("e2e/good:1", good)
	if err != nil {
		t.Fatal(err)
	}
	d.pull(t, goodRef, mustID(t, good), nil)
	images := d.imageIDs(t)
	snaps := snapshotDirs(t, root)
	sentinelState := dirState(t, sentinel)
	outside := []string{
		filepath.Join(base, "escape"), filepath.Join(base, "outside"),
		filepath.Join(root, "escape"), filepath.Join(root, "outside"),
		filepath.Join(root, "image", "escape"), filepath.Join(root, "image", "outside"),
		filepath.Join(snapshotsDir(root), "escape"), filepath.Join(snapshotsDir(root), "outside"),
	}

	check := func(what string) {
		t.Helper()
		if got := d.imageIDs(t); !slices.Equal(got, images) {
			t.Errorf("%s: images %v, want %v as before", what, got, images)
		}
		if got := snapshotDirs(t, root); !slices.Equal(got, snaps) {
			t.Errorf("%s: snapshots %v, want %v as before", what, got, snaps)
		}
		if tmp := tmpEntries(t, root); len(tmp) != 0 {
			t.Errorf("%s: left %v", what, tmp)
		}
		if got := dirState(t, sentinel); !mapsEqual(got, sentinelState) {
			t.Errorf("%s: the sentinel directory next to the root changed: %v, was %v", what, got, sentinelState)
		}
		for _, p := range outside {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s: %s was created", what, p)
			}
		}
		if b, err := os.ReadFile("/etc/passwd"); err != nil || !bytes.Equal(b, passwd) {
			t.Fatalf("%s: /etc/passwd changed (%v)", what, err)
		}
	}

	for i, tc := range cases {
		ref := refs[i]
		_, err := d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(ref)})
		if err == nil {
			t.Errorf("%s: PullImage %s succeeded", tc.name, ref)
		} else if t.Logf("%s: %v", tc.name, err); !strings.Contains(err.Error(), tc.entry) || !strings.Contains(err.Error(), "escapes") {
			t.Errorf("%s: PullImage error %q does not name the entry %q or say it escapes", tc.name, err, tc.entry)
		}
		check(tc.name + " (CRI client)")
		if st := d.status(t, ref, false); st.Image != nil {
			t.Errorf("%s: ImageStatus after the failed pull = %v", tc.name, st.Image)
		}
		if c != nil {
			if out := c.run(true, "pull", ref); !strings.Contains(out, tc.entry) {
				t.Errorf("%s: crictl pull output %q does not name the entry %q", tc.name, out, tc.entry)
			}
			check(tc.name + " (crictl)")
		}
	}

	// Forged overlay xattrs: the pull works, the xattrs are dropped.
	if c != nil {
		c.run(false, "pull", forgedRef)
	} else {
		d.pull(t, forgedRef, mustID(t, forged), nil)
	}
	if st := d.status(t, forgedRef, false); st.Image.GetId() != mustID(t, forged) {
		t.Fatalf("ImageStatus %s = %v", forgedRef, st.Image)
	}
	snap := layerSnapshot(t, root, forged)
	for _, p := range []string{"forged", "forged/file"} {
		full := filepath.Join(snap, p)
		if _, err := os.Lstat(full); err != nil {
			t.Errorf("forged-xattrs: %v", err)
			continue
		}
		for k := range registry.ForgedXattrs {
			buf := make([]byte, 256)
			n, err := unix.Lgetxattr(full, k, buf)
			if !errors.Is(err, unix.ENODATA) {
				t.Errorf("forged-xattrs: %s has %s=%q (%v); the layer's forged xattr was applied", p, k, buf[:max(n, 0)], err)
			}
		}
		if names := listXattrs(t, full); slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "overlay.") }) {
			t.Errorf("forged-xattrs: %s has overlay xattrs %v", p, names)
		}
	}
	if b, err := os.ReadFile(filepath.Join(snap, "forged/file")); err != nil || string(b) != "forged\n" {
		t.Errorf("forged-xattrs: forged/file = %q, %v", b, err)
	}

	// The control: an honest opaque whiteout (.wh..wh..opq) does set
	// trusted.overlay.opaque, so the checks above can see one.
	wh, err := registry.WhiteoutImage()
	if err != nil {
		t.Fatal(err)
	}
	_, whRef, err := reg.Push("e2e/whiteout:1", wh)
	if err != nil {
		t.Fatal(err)
	}
	d.pull(t, whRef, mustID(t, wh), nil)
	cf, err := wh.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(cf.RootFS.DiffIDs[0].String() + " " + cf.RootFS.DiffIDs[1].String()))
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(filepath.Join(snapshotsDir(root), hex.EncodeToString(sum[:]), "c"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("an opaque whiteout's directory: trusted.overlay.opaque = %q, %v; want \"y\"", buf[:max(n, 0)], err)
	}
}

func listXattrs(t *testing.T, p string) []string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		t.Fatalf("listxattr %s: %v", p, err)
	}
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names
}

func mapsEqual(a, b map[string]string) bool {
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

// TestPullThroughMirror pulls UPSTREAM/e2e/mirrored:1 where a
// hosts.toml in the daemon's certs_dir names a mirror: the content
// comes from the mirror, and the upstream registry, whose every request
// fails the test, is never asked.
func TestPullThroughMirror(t *testing.T) {
	upstream := registry.Start(t, registry.WithMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("the upstream registry was asked %s %s; the mirror should have served it", r.Method, r.URL)
			http.Error(w, "upstream must not be used", http.StatusInternalServerError)
		})
	}))
	var mirrored atomic.Int64
	mirror := registry.Start(t, registry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/manifests/") || strings.Contains(r.URL.Path, "/blobs/")) {
				mirrored.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}))
	img, err := registry.RandomImage(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	id := mustID(t, img)
	if _, _, err := mirror.Push("e2e/mirrored:1", img); err != nil {
		t.Fatal(err)
	}
	mirrored.Store(0)
	ref := upstream.Ref("e2e/mirrored:1")

	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)
	hosts := "server = \"" + upstream.URL + "\"\n\n[host.\"" + mirror.URL + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
	dir := filepath.Join(d.certsDir(), upstream.Host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}

	d.pull(t, ref, id, nil)
	if mirrored.Load() == 0 {
		t.Error("the mirror served nothing")
	}
	st := d.status(t, ref, false)
	if st.Image.GetId() != id || !slices.Contains(st.Image.RepoTags, ref) {
		t.Errorf("ImageStatus %s after a pull through the mirror = %v", ref, st.Image)
	}

	if crictlPath() == "" {
		t.Log("no crictl; pulled with the CRI client only")
		return
	}
	c := newCrictl(t, sock)
	c.run(false, "rmi", ref)
	if ids := d.imageIDs(t); len(ids) != 0 {
		t.Fatalf("after rmi, images %v", ids)
	}
	mirrored.Store(0)
	if out := c.run(false, "pull", ref); !strings.Contains(out, id) {
		t.Errorf("crictl pull %s: %q does not name %s", ref, out, id)
	}
	if mirrored.Load() == 0 {
		t.Error("crictl pull: the mirror served nothing")
	}
}

// TestGoServerImage pulls the static Go web server image from a
// registry that wants credentials, with the CRI client and crictl
// (--creds), checks its user (65534), entrypoint and ports in
// ImageStatus and crictl inspecti, and runs the unpacked /server.
func TestGoServerImage(t *testing.T) {
	img := mustGoServer(t)
	id := mustID(t, img)
	reg := registry.Start(t, registry.WithBasicAuth("kube", "s3cret"))
	_, ref, err := reg.Push("e2e/server:1", img)
	if err != nil {
		t.Fatal(err)
	}
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)

	// The CRI client.
	_, err = d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(ref)})
	wantCode(t, err, codes.Unauthenticated, "pull without credentials")
	d.pull(t, ref, id, &runtimeapi.AuthConfig{Username: "kube", Password: "s3cret"})
	st := d.status(t, ref, true)
	if st.Image.GetUid().GetValue() != registry.GoServerUID || st.Image.GetUsername() != "" {
		t.Errorf("ImageStatus: uid %v username %q, want uid %d", st.Image.GetUid(), st.Image.GetUsername(), registry.GoServerUID)
	}
	if !strings.Contains(st.Info["info"], `"/server"`) || !strings.Contains(st.Info["info"], `"8080/tcp"`) {
		t.Errorf("verbose info lacks the entrypoint or the port: %s", st.Info["info"])
	}

	// The unpacked binary runs and serves.
	runServer(t, filepath.Join(layerSnapshot(t, root, img), "server"))

	if crictlPath() == "" {
		t.Log("no crictl; checked with the CRI client only")
		return
	}
	c := newCrictl(t, sock)
	c.run(false, "rmi", ref)
	if ids := d.imageIDs(t); len(ids) != 0 {
		t.Fatalf("after rmi, images %v", ids)
	}
	if out := c.run(true, "pull", ref); !strings.Contains(strings.ToLower(out), "unauthenticated") {
		t.Errorf("crictl pull without credentials: %q does not say Unauthenticated", out)
	}
	c.run(true, "pull", "--creds", "kube:wrong", ref)
	if ids := d.imageIDs(t); len(ids) != 0 {
		t.Fatalf("failed crictl pulls stored %v", ids)
	}
	if out := c.run(false, "pull", "--creds", "kube:s3cret", ref); !strings.Contains(out, id) {
		t.Errorf("crictl pull --creds: %q does not name %s", out, id)
	}
	var inspect struct {
		Status struct {
			ID  string `json:"id"`
			UID *struct {
				Value string `json:"value"`
			} `json:"uid"`
			Username string `json:"username"`
		} `json:"status"`
		Info struct {
			ImageSpec struct {
				Config struct {
					User         string              `json:"User"`
					Entrypoint   []string            `json:"Entrypoint"`
					ExposedPorts map[string]struct{} `json:"ExposedPorts"`
				} `json:"config"`
			} `json:"imageSpec"`
		} `json:"info"`
	}
	c.json(&inspect, "inspecti", "-o", "json", ref)
	if inspect.Status.ID != id || inspect.Status.UID == nil || inspect.Status.UID.Value != "65534" || inspect.Status.Username != "" {
		t.Errorf("crictl inspecti status = %+v, want uid {\"value\": \"65534\"}", inspect.Status)
	}
	cfg := inspect.Info.ImageSpec.Config
	if cfg.User != "65534" || !slices.Equal(cfg.Entrypoint, []string{"/server"}) {
		t.Errorf("crictl inspecti config = %+v", cfg)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("crictl inspecti config: no 8080/tcp in %v", cfg.ExposedPorts)
	}
	if out := c.run(false, "inspecti", ref); !strings.Contains(out, `"value": "65534"`) {
		t.Errorf("crictl inspecti does not show the uid:\n%s", out)
	}
}

// runServer starts the server binary on 127.0.0.1:0 and GETs "hello"
// from it.
func runServer(t *testing.T, bin string) {
	t.Helper()
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: mode %v, want 0755", bin, fi.Mode())
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"ADDR=127.0.0.1:0"}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("running the unpacked server: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("server said %q, %v", line, err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hello" {
		t.Errorf("server answered %q", body)
	}
}

// TestImportDockerSave imports a docker save tarball (two images,
// three tags) with `cocoon image import` into the root of a stopped
// daemon, which lists the images when it starts again, next to the one
// it had pulled.
func TestImportDockerSave(t *testing.T) {
	server := mustGoServer(t)
	rnd, err := registry.RandomImage(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]v1.Image{
		"example.com/e2e/server:v1":     server,
		"example.com/e2e/server:latest": server,
		"example.com/e2e/random:v1":     rnd,
	}
	refs := map[name.Reference]v1.Image{}
	for tag, img := range tags {
		r, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[r] = img
	}
	archive := filepath.Join(t.TempDir(), "images.tar")
	if err := tarball.MultiRefWriteToFile(archive, refs); err != nil {
		t.Fatal(err)
	}

	reg := registry.Start(t)
	pulled, err := registry.RandomImage(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, pulledRef, err := reg.Push("e2e/before-import:1", pulled)
	if err != nil {
		t.Fatal(err)
	}
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)
	d.pull(t, pulledRef, mustID(t, pulled), nil)
	d.stop()

	cmd := exec.Command(cocoonBin, "image", "import", "--config", d.config, "--root", root, archive)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cocoon image import: %v\n%s%s", err, out, stderr.String())
	}
	for _, img := range []v1.Image{server, rnd} {
		if !strings.Contains(string(out), mustID(t, img)) {
			t.Errorf("cocoon image import printed %q, without %s", out, mustID(t, img))
		}
	}
	if tmp := tmpEntries(t, root); len(tmp) != 0 {
		t.Errorf("import left %v", tmp)
	}

	d = startDaemon(t, root, sock)
	want := []string{mustID(t, server), mustID(t, rnd), mustID(t, pulled)}
	slices.Sort(want)
	if got := d.imageIDs(t); !slices.Equal(got, want) {
		t.Errorf("after the import, images %v, want %v", got, want)
	}
	for tag, img := range tags {
		st := d.status(t, tag, false)
		if st.Image.GetId() != mustID(t, img) || !slices.Contains(st.Image.RepoTags, tag) {
			t.Errorf("ImageStatus %s = %v", tag, st.Image)
		}
	}
	if st := d.status(t, "example.com/e2e/server:v1", false); st.Image.GetUid().GetValue() != registry.GoServerUID {
		t.Errorf("imported server image: uid %v", st.Image.GetUid())
	}
	runServer(t, filepath.Join(layerSnapshot(t, root, server), "server"))

	if crictlPath() != "" {
		c := newCrictl(t, sock)
		out := c.run(false, "images")
		for _, s := range []string{"example.com/e2e/server", "latest", "v1", "example.com/e2e/random"} {
			if !strings.Contains(out, s) {
				t.Errorf("crictl images does not show %s:\n%s", s, out)
			}
		}
	}
}

// stallBlob makes the first GET of the blob digest send half of it,
// then stall until the client goes away (or release is closed). stalled
// is closed when it stalls, gone when the request's context ends.
type stallBlob struct {
	digest   string
	half     int64
	once     atomic.Bool
	stalled  chan struct{}
	gone     chan struct{}
	release  chan struct{}
	requests atomic.Int64
}

func (s *stallBlob) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+s.digest) {
			next.ServeHTTP(w, r)
			return
		}
		s.requests.Add(1)
		if !s.once.CompareAndSwap(false, true) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&stallWriter{ResponseWriter: w, left: s.half, s: s, ctx: r.Context()}, r)
	})
}

type stallWriter struct {
	http.ResponseWriter
	left int64
	s    *stallBlob
	ctx  context.Context
	done bool
}

var errStalled = errors.New("stalled")

func (w *stallWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errStalled
	}
	if int64(len(p)) <= w.left {
		w.left -= int64(len(p))
		return w.ResponseWriter.Write(p)
	}
	w.ResponseWriter.Write(p[:w.left])
	w.left = 0
	w.done = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	close(w.s.stalled)
	select {
	case <-w.ctx.Done():
		close(w.s.gone)
	case <-w.s.release:
	}
	// Abort the response: the client sees a truncated body.
	panic(http.ErrAbortHandler)
}

// TestPullInterrupted cancels a pull while the registry stalls half-way
// through the layer blob: the daemon drops the download, leaves no
// image, snapshot or temporary file, and a retry pulls the image.
func TestPullInterrupted(t *testing.T) {
	img, err := registry.RandomImage(8<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	digest, err := ls[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	size, err := ls[0].Size()
	if err != nil {
		t.Fatal(err)
	}
	stall := &stallBlob{digest: digest.String(), half: size / 2, stalled: make(chan struct{}), gone: make(chan struct{}), release: make(chan struct{})}
	reg := registry.Start(t, registry.WithMiddleware(stall.middleware))
	// Before the registry closes (cleanups run last first): Close waits
	// for a stalled handler.
	t.Cleanup(func() { close(stall.release) })
	_, ref, err := reg.Push("e2e/slow:1", img)
	if err != nil {
		t.Fatal(err)
	}
	id := mustID(t, img)
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)

	pctx, cancel := context.WithCancel(ctx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := d.img.PullImage(pctx, &runtimeapi.PullImageRequest{Image: spec(ref)})
		errc <- err
	}()
	select {
	case <-stall.stalled:
	case err := <-errc:
		t.Fatalf("PullImage returned %v before the registry stalled", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon did not fetch the layer within a minute")
	}
	cancel()
	err = <-errc
	wantCode(t, err, codes.Canceled, "the interrupted pull")
	select {
	case <-stall.gone:
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon kept the blob download open 20s after the pull was cancelled")
	}

	// The daemon cleans up after the cancelled RPC in the background.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ids, snaps, tmp := d.imageIDs(t), snapshotDirs(t, root), tmpEntries(t, root)
		if len(ids) == 0 && len(snaps) == 0 && len(tmp) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("20s after the cancelled pull: images %v, snapshots %v, temporary files %v", ids, snaps, tmp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.Contains(e.Name(), digest.Hex) {
			t.Errorf("the half-fetched blob is stored as %s", p)
		}
		return nil
	})
	if st := d.status(t, ref, false); st.Image != nil {
		t.Errorf("ImageStatus after the cancelled pull = %v", st.Image)
	}

	// A retry fetches the whole blob and succeeds.
	d.pull(t, ref, id, nil)
	if n := stall.requests.Load(); n < 2 {
		t.Errorf("the layer blob was asked %d times, want the stalled one and the retry", n)
	}
	if st := d.status(t, ref, false); st.Image.GetId() != id {
		t.Errorf("ImageStatus after the retry = %v", st.Image)
	}
	layerSnapshot(t, root, img)
}
