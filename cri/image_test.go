package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
	"github.com/cocoonrt/cocoon/image/unpack"
)

const (
	busyboxID = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	alpineID  = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func testImages() (busybox, alpine *image.Image) {
	uid := int64(1000)
	busybox = &image.Image{
		ID:          busyboxID,
		RepoTags:    []string{"docker.io/library/busybox:latest"},
		RepoDigests: []string{"docker.io/library/busybox@sha256:1111111111111111111111111111111111111111111111111111111111111111"},
		Size:        2 << 20,
		UID:         &uid,
		Config:      []byte(`{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"],"User":"1000"}}`),
		ChainIDs:    []string{"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"},
		Created:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	alpine = &image.Image{
		ID:       alpineID,
		RepoTags: []string{"docker.io/library/alpine:3"},
		Size:     7 << 20,
		Username: "nobody",
		Pinned:   true,
		Config:   []byte(`{"os":"linux"}`),
	}
	return
}

func wantCode(t *testing.T, err error, code codes.Code, contains ...string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("got code %v (%v), want %v", got, err, code)
	}
	for _, c := range contains {
		if !strings.Contains(status.Convert(err).Message(), c) {
			t.Errorf("message %q does not contain %q", status.Convert(err).Message(), c)
		}
	}
}

func TestPullImage(t *testing.T) {
	f := newFake()
	bb, _ := testImages()
	f.registry["busybox"] = bb
	c := startServer(t, f)
	ctx := ctxT(t)

	resp, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ImageRef != busyboxID {
		t.Errorf("image_ref %q, want the image ID %q", resp.ImageRef, busyboxID)
	}
	if a := f.auth(); a != nil {
		t.Errorf("pull without credentials passed auth %+v", a)
	}

	// Empty credentials are no credentials.
	if _, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "busybox"}, Auth: &runtimeapi.AuthConfig{}}); err != nil {
		t.Fatal(err)
	}
	if a := f.auth(); a != nil {
		t.Errorf("empty AuthConfig passed auth %+v", a)
	}

	auth := &runtimeapi.AuthConfig{Username: "u", Password: "p", Auth: "dTpw", ServerAddress: "reg.example", IdentityToken: "it", RegistryToken: "rt"}
	if _, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "busybox"}, Auth: auth}); err != nil {
		t.Fatal(err)
	}
	want := image.Auth{Username: "u", Password: "p", Auth: "dTpw", ServerAddress: "reg.example", IdentityToken: "it", RegistryToken: "rt"}
	if a := f.auth(); a == nil || *a != want {
		t.Errorf("auth %+v, want %+v", a, want)
	}
}

func TestPullImageErrors(t *testing.T) {
	_, badName := name.ParseReference("Busybox::latest")
	if badName == nil {
		t.Fatal("expected a bad reference error")
	}
	regErr := func(code int, diag transport.ErrorCode) error {
		e := &transport.Error{StatusCode: code}
		if diag != "" {
			e.Errors = []transport.Diagnostic{{Code: diag, Message: strings.ToLower(string(diag))}}
		}
		return fmt.Errorf("fetching manifest: %w", e)
	}
	tests := []struct {
		name string
		err  error
		code codes.Code
	}{
		{"manifest unknown", regErr(http.StatusNotFound, transport.ManifestUnknownErrorCode), codes.NotFound},
		{"name unknown", regErr(http.StatusNotFound, transport.NameUnknownErrorCode), codes.NotFound},
		{"bare 404", regErr(http.StatusNotFound, ""), codes.NotFound},
		{"unauthorized", regErr(http.StatusUnauthorized, transport.UnauthorizedErrorCode), codes.Unauthenticated},
		{"bare 401", regErr(http.StatusUnauthorized, ""), codes.Unauthenticated},
		{"denied", regErr(http.StatusForbidden, transport.DeniedErrorCode), codes.PermissionDenied},
		{"bare 403", regErr(http.StatusForbidden, ""), codes.PermissionDenied},
		{"too many requests", regErr(http.StatusTooManyRequests, transport.TooManyRequestsErrorCode), codes.ResourceExhausted},
		{"registry down", regErr(http.StatusServiceUnavailable, ""), codes.Unavailable},
		{"registry 500", regErr(http.StatusInternalServerError, ""), codes.Unknown},
		{"bad reference", fmt.Errorf("parsing: %w", badName), codes.InvalidArgument},
		{"canceled", fmt.Errorf("pull: %w", context.Canceled), codes.Canceled},
		{"deadline", fmt.Errorf("pull: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{"status passes through", status.Error(codes.FailedPrecondition, "store is read-only"), codes.FailedPrecondition},
		{"plain error", errors.New("disk on fire"), codes.Unknown},
		{"hostile layer", fmt.Errorf(`unpack: layer entry "../x": %w`, unpack.ErrEscape), codes.FailedPrecondition},
		{"corrupt blob", fmt.Errorf("blob sha256:aa: %w", image.ErrDigestMismatch), codes.DataLoss},
		{"no amd64", fmt.Errorf("index: %w", image.ErrNoPlatform), codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.pullErr = tt.err
			c := startServer(t, f)
			_, err := c.img.PullImage(ctxT(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "reg.example/x:1"}})
			wantCode(t, err, tt.code, "PullImage reg.example/x:1")
		})
	}
}

func TestPullImageNotInRegistry(t *testing.T) {
	c := startServer(t, newFake())
	_, err := c.img.PullImage(ctxT(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "nothere:1"}})
	wantCode(t, err, codes.NotFound, "PullImage nothere:1", "manifest unknown")
}

func TestEmptyImageSpecs(t *testing.T) {
	c := startServer(t, newFake())
	ctx := ctxT(t)
	_, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{})
	wantCode(t, err, codes.InvalidArgument, "PullImage", "no image")
	_, err = c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "  "}})
	wantCode(t, err, codes.InvalidArgument, "PullImage")
	_, err = c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "127.0.0.1:5000/Bad::Ref"}})
	wantCode(t, err, codes.InvalidArgument, "PullImage 127.0.0.1:5000/Bad::Ref", "invalid image reference")
	_, err = c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{})
	wantCode(t, err, codes.InvalidArgument, "ImageStatus")
	_, err = c.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{}})
	wantCode(t, err, codes.InvalidArgument, "RemoveImage")
}

// A client that gives up cancels the pull on the server.
func TestPullImageCancel(t *testing.T) {
	f := newFake()
	f.block = true
	c := startServer(t, f)
	ctx, cancel := context.WithCancel(ctxT(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "slow:1"}})
		errc <- err
	}()
	<-f.blocked
	cancel()
	wantCode(t, <-errc, codes.Canceled)
	select {
	case err := <-f.pullCtxErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("server-side pull ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server-side pull was not cancelled")
	}
}

func TestPullImageDeadline(t *testing.T) {
	f := newFake()
	f.block = true
	c := startServer(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "slow:1"}})
	wantCode(t, err, codes.DeadlineExceeded)
	<-f.blocked
	if err := <-f.pullCtxErr; !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Errorf("server-side pull ended with %v", err)
	}
}

func TestListImages(t *testing.T) {
	f := newFake()
	bb, al := testImages()
	f.images[bb.ID], f.images[al.ID] = bb, al
	c := startServer(t, f)
	ctx := ctxT(t)

	resp, err := c.img.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Images) != 2 {
		t.Fatalf("got %d images, want 2", len(resp.Images))
	}
	byID := map[string]*runtimeapi.Image{}
	for _, img := range resp.Images {
		byID[img.Id] = img
	}
	got := byID[busyboxID]
	if got == nil || !slices.Equal(got.RepoTags, bb.RepoTags) || !slices.Equal(got.RepoDigests, bb.RepoDigests) ||
		got.Size != bb.Size || got.Uid.GetValue() != 1000 || got.Username != "" || got.Pinned || got.Spec.GetImage() != busyboxID {
		t.Errorf("busybox = %v", got)
	}
	got = byID[alpineID]
	if got == nil || got.Uid != nil || got.Username != "nobody" || !got.Pinned || got.Size != al.Size {
		t.Errorf("alpine = %v", got)
	}

	resp, err = c.img.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: "docker.io/library/alpine:3"}}})
	if err != nil {
		t.Fatal(err)
	}
	var filter image.Filter
	f.with(func() { filter = f.lastFilter })
	if filter.Image != "docker.io/library/alpine:3" {
		t.Errorf("filter %+v", filter)
	}
	if len(resp.Images) != 1 || resp.Images[0].Id != alpineID {
		t.Errorf("filtered list = %v", resp.Images)
	}

	f.with(func() { f.listErr = errors.New("bolt went away") })
	_, err = c.img.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	wantCode(t, err, codes.Unknown, "ListImages", "bolt went away")
}

func TestStreamImages(t *testing.T) {
	f := newFake()
	const n = 2*streamChunk + 7
	for i := range n {
		id := fmt.Sprintf("sha256:%064x", i)
		f.images[id] = &image.Image{ID: id}
	}
	c := startServer(t, f)
	ctx := ctxT(t)
	stream, err := c.img.StreamImages(ctx, &runtimeapi.StreamImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	msgs := 0
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		msgs++
		if len(resp.Images) == 0 || len(resp.Images) > streamChunk {
			t.Errorf("response with %d images", len(resp.Images))
		}
		for _, img := range resp.Images {
			if seen[img.Id] {
				t.Errorf("%s sent twice", img.Id)
			}
			seen[img.Id] = true
		}
	}
	if len(seen) != n || msgs != 3 {
		t.Errorf("got %d images in %d responses, want %d in 3", len(seen), msgs, n)
	}

	// No images: EOF at once.
	empty := startServer(t, newFake())
	stream, err = empty.img.StreamImages(ctx, &runtimeapi.StreamImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("empty stream: %v, want EOF", err)
	}

	f.with(func() { f.listErr = status.Error(codes.Unavailable, "store closing") })
	stream, err = c.img.StreamImages(ctx, &runtimeapi.StreamImagesRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, err, codes.Unavailable, "StreamImages", "store closing")
}

func TestImageStatus(t *testing.T) {
	f := newFake()
	bb, _ := testImages()
	f.images[bb.ID] = bb
	c := startServer(t, f)
	ctx := ctxT(t)

	// Missing: nil image, no error.
	resp, err := c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "nothere:1"}, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Image != nil || len(resp.Info) != 0 {
		t.Errorf("missing image: %v", resp)
	}

	for _, ref := range []string{"docker.io/library/busybox:latest", busyboxID, bb.RepoDigests[0]} {
		resp, err = c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Image.GetId() != busyboxID || resp.Image.Uid.GetValue() != 1000 {
			t.Errorf("%s: %v", ref, resp.Image)
		}
		if resp.Info != nil {
			t.Errorf("non-verbose status has info %v", resp.Info)
		}
	}

	resp, err = c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:latest"}, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		ID        string
		ImageSpec struct {
			Architecture string
			Config       struct{ Cmd []string }
		}
		ChainIDs []string
		Created  time.Time
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil {
		t.Fatalf("info %q: %v", resp.Info["info"], err)
	}
	if info.ID != busyboxID || info.ImageSpec.Architecture != "amd64" || !slices.Equal(info.ImageSpec.Config.Cmd, []string{"sh"}) ||
		!slices.Equal(info.ChainIDs, bb.ChainIDs) || !info.Created.Equal(bb.Created) {
		t.Errorf("verbose info = %s", resp.Info["info"])
	}

	// A config that is not JSON is left out rather than failing.
	f.with(func() {
		bad := *bb
		bad.Config = []byte("not json")
		f.images[bb.ID] = &bad
	})
	resp, err = c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: busyboxID}, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.Info["info"], "imageSpec") || !json.Valid([]byte(resp.Info["info"])) {
		t.Errorf("info with a bad config = %s", resp.Info["info"])
	}

	f.with(func() { f.statusErr = fmt.Errorf("reading: %w", context.DeadlineExceeded) })
	_, err = c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "x"}})
	wantCode(t, err, codes.DeadlineExceeded, "ImageStatus x")
}

func TestRemoveImage(t *testing.T) {
	f := newFake()
	bb, al := testImages()
	f.images[bb.ID], f.images[al.ID] = bb, al
	c := startServer(t, f)
	ctx := ctxT(t)

	if _, err := c.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:latest"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: busyboxID}})
	if err != nil || resp.Image != nil {
		t.Fatalf("after remove: %v, %v", resp, err)
	}
	// Missing is success.
	if _, err := c.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:latest"}}); err != nil {
		t.Fatalf("removing a missing image: %v", err)
	}
	var removed []string
	f.with(func() { removed = f.removed })
	if len(removed) != 2 {
		t.Errorf("removed %v", removed)
	}

	f.with(func() { f.removeErr = status.Error(codes.FailedPrecondition, "image is pinned") })
	_, err = c.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: alpineID}})
	wantCode(t, err, codes.FailedPrecondition, "RemoveImage "+alpineID, "pinned")
}

func TestImageFsInfo(t *testing.T) {
	f := newFake()
	c := startServer(t, f)
	ctx := ctxT(t)
	before := time.Now().UnixNano()
	resp, err := c.img.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ImageFilesystems) != 1 || len(resp.ContainerFilesystems) != 1 {
		t.Fatalf("resp = %v", resp)
	}
	im, ct := resp.ImageFilesystems[0], resp.ContainerFilesystems[0]
	if im.FsId.GetMountpoint() != "/var/lib/cocoon/images" || im.UsedBytes.GetValue() != 1<<20 || im.InodesUsed.GetValue() != 33 ||
		im.Timestamp != time.Unix(1700000000, 42).UnixNano() {
		t.Errorf("image fs = %v", im)
	}
	if ct.FsId.GetMountpoint() != "/var/lib/cocoon/containers" || ct.UsedBytes.GetValue() != 4096 || ct.InodesUsed.GetValue() != 2 ||
		ct.Timestamp < before {
		t.Errorf("container fs = %v (a zero timestamp must become now)", ct)
	}

	f.with(func() { f.fsErr = errors.New("statfs: no such file or directory") })
	_, err = c.img.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	wantCode(t, err, codes.Unknown, "ImageFsInfo", "statfs")
}

// A panic in a handler is an Internal error, and the server goes on.
func TestPanicRecovery(t *testing.T) {
	f := newFake()
	f.panicOn = "Pull"
	c := startServer(t, f)
	ctx := ctxT(t)
	_, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "boom"}})
	wantCode(t, err, codes.Internal, "PullImage", "fake pull exploded")
	if _, err := c.img.ListImages(ctx, &runtimeapi.ListImagesRequest{}); err != nil {
		t.Fatalf("server did not survive a panic: %v", err)
	}
}
