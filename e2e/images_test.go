package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

func spec(ref string) *runtimeapi.ImageSpec { return &runtimeapi.ImageSpec{Image: ref} }

func mustID(t *testing.T, img v1.Image) string {
	t.Helper()
	id, err := registry.ConfigDigest(img)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func wantCode(t *testing.T, err error, code codes.Code, what string) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: got %v, want code %v", what, err, code)
	}
}

// pull pulls ref and checks that image_ref is the image ID want.
func (d *daemon) pull(t *testing.T, ref, want string, auth *runtimeapi.AuthConfig) {
	t.Helper()
	resp, err := d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(ref), Auth: auth})
	if err != nil {
		t.Fatalf("PullImage %s: %v", ref, err)
	}
	if resp.ImageRef != want {
		t.Fatalf("PullImage %s: image_ref %s, want the image ID %s", ref, resp.ImageRef, want)
	}
}

func (d *daemon) status(t *testing.T, ref string, verbose bool) *runtimeapi.ImageStatusResponse {
	t.Helper()
	resp, err := d.img.ImageStatus(ctx(t), &runtimeapi.ImageStatusRequest{Image: spec(ref), Verbose: verbose})
	if err != nil {
		t.Fatalf("ImageStatus %s: %v", ref, err)
	}
	return resp
}

// TestImageService drives the CRI ImageService of a real daemon with
// the Go client: pulls by tag and digest, multi-arch and whiteout
// images, errors, list, status, fs info and remove.
func TestImageService(t *testing.T) {
	reg := registry.Start(t)
	img, err := registry.RandomImage(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	id := mustID(t, img)
	manifest, ref, err := reg.Push("e2e/random:1", img)
	if err != nil {
		t.Fatal(err)
	}
	multi, err := registry.MultiArchIndex()
	if err != nil {
		t.Fatal(err)
	}
	_, multiRef, err := reg.PushIndex("e2e/multi:1", multi.Index)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := registry.WhiteoutImage()
	if err != nil {
		t.Fatal(err)
	}
	_, whRef, err := reg.Push("e2e/whiteout:1", wh)
	if err != nil {
		t.Fatal(err)
	}

	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)

	// By tag.
	d.pull(t, ref, id, nil)
	st := d.status(t, ref, true)
	if st.Image == nil {
		t.Fatalf("ImageStatus %s: no image after the pull", ref)
	}
	if !slices.Contains(st.Image.RepoTags, ref) {
		t.Errorf("repo tags %v do not have %s", st.Image.RepoTags, ref)
	}
	digestRef := reg.Host + "/e2e/random@" + manifest.String()
	if !slices.Contains(st.Image.RepoDigests, digestRef) {
		t.Errorf("repo digests %v do not have %s", st.Image.RepoDigests, digestRef)
	}
	if st.Image.Size == 0 {
		t.Error("image size 0")
	}
	var info struct {
		ImageSpec struct {
			Architecture string `json:"architecture"`
			OS           string `json:"os"`
			Config       struct {
				Cmd []string `json:"Cmd"`
			} `json:"config"`
		} `json:"imageSpec"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
		t.Errorf("verbose info %q: %v", st.Info["info"], err)
	}
	if info.ImageSpec.Architecture != runtime.GOARCH || info.ImageSpec.OS != "linux" || !slices.Equal(info.ImageSpec.Config.Cmd, []string{"/bin/true"}) {
		t.Errorf("verbose info = %s", st.Info["info"])
	}
	// Status by ID and by digest reference.
	for _, r := range []string{id, digestRef} {
		if st := d.status(t, r, false); st.Image.GetId() != id {
			t.Errorf("ImageStatus %s = %v", r, st.Image)
		}
	}

	// By digest: the same image.
	d.pull(t, digestRef, id, nil)

	// A multi-arch index: the host's platform.
	if host, ok := multi.Images[runtime.GOARCH]; ok {
		d.pull(t, multiRef, mustID(t, host), nil)
	} else {
		t.Logf("no %s image in the multi-arch index; not pulling it", runtime.GOARCH)
	}

	// Whiteouts unpack.
	whID := mustID(t, wh)
	d.pull(t, whRef, whID, nil)

	// Errors.
	_, err = d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(reg.Ref("e2e/random:nosuchtag"))})
	wantCode(t, err, codes.NotFound, "pulling a missing tag")
	_, err = d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(reg.Ref("e2e/nosuchrepo:1"))})
	wantCode(t, err, codes.NotFound, "pulling a missing repository")
	_, err = d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(reg.Host + "/Bad::Ref")})
	wantCode(t, err, codes.InvalidArgument, "pulling a bad reference")
	if st := d.status(t, reg.Ref("e2e/nosuchrepo:1"), true); st.Image != nil {
		t.Errorf("ImageStatus of a missing image = %v", st.Image)
	}

	// List, filtered and not.
	list, err := d.img.ListImages(ctx(t), &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, im := range list.Images {
		ids[im.Id] = true
	}
	if !ids[id] || !ids[whID] {
		t.Errorf("ListImages = %v, want %s and %s among them", list.Images, id, whID)
	}
	list, err = d.img.ListImages(ctx(t), &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: spec(whRef)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Images) != 1 || list.Images[0].Id != whID {
		t.Errorf("ListImages filtered by %s = %v", whRef, list.Images)
	}

	// File systems.
	fs, err := d.img.ImageFsInfo(ctx(t), &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.ImageFilesystems) == 0 {
		t.Fatal("ImageFsInfo: no image file systems")
	}
	for _, u := range append(fs.ImageFilesystems, fs.ContainerFilesystems...) {
		if !strings.HasPrefix(u.FsId.GetMountpoint(), root) || u.Timestamp == 0 || u.UsedBytes == nil || u.InodesUsed == nil {
			t.Errorf("ImageFsInfo usage %v: want a mountpoint under %s, a timestamp, bytes and inodes", u, root)
		}
	}
	if fs.ImageFilesystems[0].UsedBytes.GetValue() == 0 {
		t.Error("ImageFsInfo: images use 0 bytes after pulls")
	}

	// Remove; removing again succeeds.
	for range 2 {
		if _, err := d.img.RemoveImage(ctx(t), &runtimeapi.RemoveImageRequest{Image: spec(ref)}); err != nil {
			t.Fatalf("RemoveImage %s: %v", ref, err)
		}
	}
	if st := d.status(t, id, false); st.Image != nil {
		t.Errorf("ImageStatus after RemoveImage = %v", st.Image)
	}
	if st := d.status(t, whRef, false); st.Image == nil {
		t.Error("removing one image removed another")
	}
}

// TestBusybox pulls the busybox image made from the host's busybox.
func TestBusybox(t *testing.T) {
	img, err := registry.BusyboxImage()
	if errors.Is(err, registry.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.Start(t)
	_, ref, err := reg.Push("library/busybox:latest", img)
	if err != nil {
		t.Fatal(err)
	}
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)
	d.pull(t, ref, mustID(t, img), nil)
	st := d.status(t, ref, false)
	if st.Image == nil || st.Image.Size < 1<<20 {
		t.Errorf("busybox status = %v, want an image of more than 1 MiB", st.Image)
	}
}

// TestPullWithCredentials pulls from a registry that wants basic auth:
// without credentials or with wrong ones the pull fails as
// Unauthenticated; with username/password or the auth field it works.
func TestPullWithCredentials(t *testing.T) {
	reg := registry.Start(t, registry.WithBasicAuth("kube", "s3cret"))
	img, err := registry.RandomImage(2048, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, ref, err := reg.Push("private/app:1", img)
	if err != nil {
		t.Fatal(err)
	}
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)

	_, err = d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(ref)})
	wantCode(t, err, codes.Unauthenticated, "pull without credentials")
	_, err = d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(ref), Auth: &runtimeapi.AuthConfig{Username: "kube", Password: "wrong"}})
	wantCode(t, err, codes.Unauthenticated, "pull with a wrong password")
	if st := d.status(t, ref, false); st.Image != nil {
		t.Fatalf("a failed pull stored %v", st.Image)
	}

	id := mustID(t, img)
	d.pull(t, ref, id, &runtimeapi.AuthConfig{Username: "kube", Password: "s3cret", ServerAddress: reg.Host})
	if _, err := d.img.RemoveImage(ctx(t), &runtimeapi.RemoveImageRequest{Image: spec(ref)}); err != nil {
		t.Fatal(err)
	}
	d.pull(t, ref, id, &runtimeapi.AuthConfig{Auth: registry.AuthHeader("kube", "s3cret")})
}

// TestRestartKeepsImages: images pulled before a restart are there
// after it.
func TestRestartKeepsImages(t *testing.T) {
	reg := registry.Start(t)
	img, err := registry.RandomImage(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, ref, err := reg.Push("e2e/keep:1", img)
	if err != nil {
		t.Fatal(err)
	}
	id := mustID(t, img)
	root, sock := newDaemonDirs(t)
	d := startDaemon(t, root, sock)
	d.pull(t, ref, id, nil)
	d.stop()

	fi, err := os.Stat(root)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir %s: %v %v, want mode 0700", root, fi.Mode(), err)
	}

	reg.Close() // the image must come from the store, not the registry
	d = startDaemon(t, root, sock)
	st := d.status(t, ref, false)
	if st.Image.GetId() != id {
		t.Fatalf("after a restart, ImageStatus %s = %v, want %s", ref, st.Image, id)
	}
	list, err := d.img.ListImages(ctx(t), &runtimeapi.ListImagesRequest{})
	if err != nil || len(list.Images) != 1 {
		t.Errorf("after a restart, ListImages = %v, %v", list, err)
	}
}

// crictlPath finds crictl: $CRICTL, PATH, or /tmp/crictl-bin/crictl.
func crictlPath() string {
	if p := os.Getenv("CRICTL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("crictl"); err == nil {
		return p
	}
	if _, err := os.Stat("/tmp/crictl-bin/crictl"); err == nil {
		return "/tmp/crictl-bin/crictl"
	}
	return ""
}

type crictl struct {
	t      *testing.T
	bin    string
	config string
}

func newCrictl(t *testing.T, sock string) *crictl {
	bin := crictlPath()
	if bin == "" {
		t.Skip("no crictl (set $CRICTL, put it on PATH or in /tmp/crictl-bin)")
	}
	cfg := filepath.Join(t.TempDir(), "crictl.yaml")
	y := "runtime-endpoint: unix://" + sock + "\nimage-endpoint: unix://" + sock + "\ntimeout: 60\ndebug: false\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return &crictl{t: t, bin: bin, config: cfg}
}

// run runs crictl and returns its stdout and stderr; fail says whether
// it must fail.
func (c *crictl) run(fail bool, args ...string) string {
	c.t.Helper()
	out, stderr := c.run2(fail, args...)
	return out + stderr
}

// stdout runs crictl, which must succeed, and returns its stdout.
func (c *crictl) stdout(args ...string) string {
	c.t.Helper()
	out, _ := c.run2(false, args...)
	return out
}

func (c *crictl) run2(fail bool, args ...string) (string, string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--config", c.config}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if fail && err == nil {
		c.t.Fatalf("crictl %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	if !fail && err != nil {
		c.t.Fatalf("crictl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), stderr.String()
}

func (c *crictl) json(v any, args ...string) {
	c.t.Helper()
	out := c.stdout(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("crictl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestCrictl drives the daemon with crictl: pull (with and without
// credentials), images, inspecti, imagefsinfo, rmi.
func TestCrictl(t *testing.T) {
	if crictlPath() == "" {
		t.Skip("no crictl (set $CRICTL, put it on PATH or in /tmp/crictl-bin)")
	}
	reg := registry.Start(t)
	img, err := registry.RandomImage(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, ref, err := reg.Push("e2e/crictl:1", img)
	if err != nil {
		t.Fatal(err)
	}
	id := mustID(t, img)
	authReg := registry.Start(t, registry.WithBasicAuth("kube", "s3cret"))
	_, privRef, err := authReg.Push("private/crictl:1", img)
	if err != nil {
		t.Fatal(err)
	}

	root, sock := newDaemonDirs(t)
	startDaemon(t, root, sock)
	c := newCrictl(t, sock)

	if out := c.run(false, "version"); !strings.Contains(out, "cocoon") {
		t.Errorf("crictl version:\n%s", out)
	}
	if out := c.run(false, "pull", ref); !strings.Contains(out, id) {
		t.Errorf("crictl pull %s: %q does not name %s", ref, out, id)
	}

	var images struct {
		Images []struct {
			ID       string   `json:"id"`
			RepoTags []string `json:"repoTags"`
			Size     string   `json:"size"`
		} `json:"images"`
	}
	c.json(&images, "images", "-o", "json")
	if len(images.Images) != 1 || images.Images[0].ID != id || !slices.Contains(images.Images[0].RepoTags, ref) {
		t.Errorf("crictl images = %+v", images)
	}
	if out := c.run(false, "images"); !strings.Contains(out, reg.Host+"/e2e/crictl") {
		t.Errorf("crictl images:\n%s", out)
	}

	var inspect struct {
		Status struct {
			ID          string   `json:"id"`
			RepoDigests []string `json:"repoDigests"`
		} `json:"status"`
		// crictl puts each key of the verbose info map at the top
		// level, JSON objects decoded.
		Info struct {
			ImageSpec struct {
				OS string `json:"os"`
			} `json:"imageSpec"`
		} `json:"info"`
	}
	c.json(&inspect, "inspecti", "-o", "json", ref)
	if inspect.Status.ID != id || inspect.Info.ImageSpec.OS != "linux" {
		t.Errorf("crictl inspecti = %+v", inspect)
	}

	// By digest: the same image again.
	if len(inspect.Status.RepoDigests) == 0 {
		t.Fatalf("crictl inspecti shows no repo digest: %+v", inspect)
	}
	if out := c.run(false, "pull", inspect.Status.RepoDigests[0]); !strings.Contains(out, id) {
		t.Errorf("crictl pull %s: %q", inspect.Status.RepoDigests[0], out)
	}

	var fsinfo map[string]any
	c.json(&fsinfo, "imagefsinfo", "-o", "json")
	if b, _ := json.Marshal(fsinfo); !strings.Contains(string(b), root) {
		t.Errorf("crictl imagefsinfo does not mention %s: %s", root, b)
	}

	c.run(true, "pull", privRef)
	if out := c.run(false, "pull", "--creds", "kube:s3cret", privRef); !strings.Contains(out, id) {
		t.Errorf("crictl pull --creds: %q", out)
	}

	// CRI: removing one tag removes the image with all its tags; a
	// store that keeps the other tag gets that removed too.
	c.run(false, "rmi", ref)
	c.json(&images, "images", "-o", "json")
	if len(images.Images) != 0 {
		c.run(false, "rmi", privRef)
	}
	c.json(&images, "images", "-o", "json")
	if len(images.Images) != 0 {
		t.Errorf("after rmi, crictl images = %+v", images)
	}
}
