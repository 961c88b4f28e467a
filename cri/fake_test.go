package cri

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
)

// fakeImages is an in-memory image.Service. Images are keyed by ID and
// found by ID, ID prefix, tag or digest reference. err* fields, when
// set, are returned instead.
type fakeImages struct {
	mu     sync.Mutex
	images map[string]*image.Image
	// registry is what Pull can fetch, by reference.
	registry map[string]*image.Image

	pullErr, listErr, statusErr, removeErr, fsErr error
	panicOn                                       string
	// block makes Pull wait for ctx; blocked reports the wait started
	// and pullCtxErr what ended it.
	block      bool
	blocked    chan struct{}
	pullCtxErr chan error

	lastAuth   *image.Auth
	lastFilter image.Filter
	removed    []string

	// layers are the rootfs lower directories of images, by ID;
	// prepared and removedRootfs record PrepareRootfs and RemoveRootfs.
	layers        map[string][]string
	prepareErr    error
	prepared      map[string]string
	removedRootfs []string
}

func newFake() *fakeImages {
	return &fakeImages{
		images:     map[string]*image.Image{},
		registry:   map[string]*image.Image{},
		layers:     map[string][]string{},
		prepared:   map[string]string{},
		blocked:    make(chan struct{}, 1),
		pullCtxErr: make(chan error, 1),
	}
}

// with runs fn with f locked, for tests that change f while it serves.
func (f *fakeImages) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeImages) auth() *image.Auth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

func (f *fakeImages) Pull(ctx context.Context, ref string, auth *image.Auth) (*image.Image, error) {
	if f.panicOn == "Pull" {
		panic("fake pull exploded")
	}
	f.mu.Lock()
	f.lastAuth = auth
	block, err := f.block, f.pullErr
	img := f.registry[ref]
	f.mu.Unlock()
	if block {
		f.blocked <- struct{}{}
		<-ctx.Done()
		f.pullCtxErr <- ctx.Err()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if img == nil {
		return nil, errNotInFakeRegistry
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[img.ID] = img
	return img, nil
}

// errNotInFakeRegistry is what go-containerregistry returns for a tag
// the registry does not have.
var errNotInFakeRegistry = &transport.Error{
	StatusCode: http.StatusNotFound,
	Errors:     []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode, Message: "manifest unknown"}},
}

func (f *fakeImages) find(ref string) *image.Image {
	for _, img := range f.images {
		if img.ID == ref || (len(ref) >= 12 && strings.HasPrefix(img.ID, ref)) || strings.HasPrefix(img.ID, "sha256:"+ref) && len(ref) >= 12 {
			return img
		}
		for _, t := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
			if t == ref {
				return img
			}
		}
	}
	return nil
}

func (f *fakeImages) List(_ context.Context, filter image.Filter) ([]*image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastFilter = filter
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []*image.Image
	if filter.Image != "" {
		if img := f.find(filter.Image); img != nil {
			out = append(out, img)
		}
		return out, nil
	}
	for _, img := range f.images {
		out = append(out, img)
	}
	return out, nil
}

func (f *fakeImages) Status(_ context.Context, ref string) (*image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	return f.find(ref), nil
}

func (f *fakeImages) Remove(_ context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeErr != nil {
		return f.removeErr
	}
	f.removed = append(f.removed, ref)
	if img := f.find(ref); img != nil {
		delete(f.images, img.ID)
	}
	return nil
}

func (f *fakeImages) FsInfo(context.Context) ([]image.FsUsage, []image.FsUsage, error) {
	f.mu.Lock()
	err := f.fsErr
	f.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	ts := time.Unix(1700000000, 42)
	return []image.FsUsage{{Mountpoint: "/var/lib/cocoon/images", UsedBytes: 1 << 20, InodesUsed: 33, Timestamp: ts}},
		[]image.FsUsage{{Mountpoint: "/var/lib/cocoon/containers", UsedBytes: 4096, InodesUsed: 2}}, nil
}

func (f *fakeImages) PrepareRootfs(_ context.Context, containerID, imageRef string) ([]string, string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.prepareErr != nil {
		return nil, "", "", f.prepareErr
	}
	img := f.find(imageRef)
	if img == nil {
		return nil, "", "", fmt.Errorf("image %q: not found", imageRef)
	}
	f.prepared[containerID] = img.ID
	dir := "/fake/containers/" + containerID
	return f.layers[img.ID], dir + "/upper", dir + "/work", nil
}

func (f *fakeImages) RemoveRootfs(_ context.Context, containerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.prepared, containerID)
	f.removedRootfs = append(f.removedRootfs, containerID)
	return nil
}

// preparedRootfs returns the containers whose rootfs is prepared.
func (f *fakeImages) preparedRootfs() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.prepared)
}

// clients are CRI clients connected to a Server over a real gRPC
// server on a unix socket in a temp dir.
type clients struct {
	img runtimeapi.ImageServiceClient
	rt  runtimeapi.RuntimeServiceClient
}

func startServer(t *testing.T, f image.Service) clients {
	t.Helper()
	return serveGRPC(t, NewServer(f, newFakePods(), "v-test", nil))
}

// serveGRPC serves s on a unix socket in a temp dir and returns
// clients connected to it.
func serveGRPC(t *testing.T, s *Server) clients {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cri.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := s.NewGRPCServer()
	go g.Serve(l)
	t.Cleanup(g.Stop)
	conn := dial(t, sock)
	return clients{img: runtimeapi.NewImageServiceClient(conn), rt: runtimeapi.NewRuntimeServiceClient(conn)}
}

func dial(t *testing.T, sock string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
