package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cocoonrt/cocoon/image/unpack"
)

// realUnpack reports whether image/unpack is implemented (it was a
// placeholder while this package was written).
func realUnpack(t *testing.T) bool {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	_, err := unpack.Apply(context.Background(), t.TempDir(), &buf)
	return err == nil || !strings.Contains(err.Error(), "not implemented")
}

// testUnpack is the unpacker the tests use: image/unpack when it is
// implemented, else a small extractor of directories, files and
// symlinks.
func testUnpack(t *testing.T) func(context.Context, string, io.Reader) (unpack.Stats, error) {
	if realUnpack(t) {
		return unpack.Apply
	}
	return func(ctx context.Context, dir string, r io.Reader) (unpack.Stats, error) {
		var st unpack.Stats
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return st, nil
			}
			if err != nil {
				return st, err
			}
			st.Entries++
			p := filepath.Join(dir, filepath.Clean("/"+h.Name))
			switch h.Typeflag {
			case tar.TypeDir:
				if err := os.MkdirAll(p, 0o755); err != nil {
					return st, err
				}
			case tar.TypeReg:
				os.MkdirAll(filepath.Dir(p), 0o755)
				f, err := os.Create(p)
				if err != nil {
					return st, err
				}
				n, err := io.Copy(f, tr)
				f.Close()
				if err != nil {
					return st, err
				}
				st.Size += n
			case tar.TypeSymlink:
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.Symlink(h.Linkname, p); err != nil {
					return st, err
				}
			}
		}
	}
}

func newTestStore(t *testing.T, root string, mod func(*Options)) *Store {
	t.Helper()
	o := Options{
		Root:         root,
		HostsDir:     "-",
		RetryBackoff: time.Millisecond,
		Unpack:       testUnpack(t),
	}
	if mod != nil {
		mod(&o)
	}
	s, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testRegistry is an in-process registry on 127.0.0.1.
type testRegistry struct {
	srv  *httptest.Server
	host string
	// counts of requests by "METHOD kind" (kind: manifests, blobs).
	mu     sync.Mutex
	counts map[string]int
}

func (r *testRegistry) count(k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[k]
}

// newRegistry starts a registry; wrap, when not nil, wraps its handler.
func newRegistry(t *testing.T, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	tr := &testRegistry{counts: map[string]int{}}
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	counting := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		kind := "other"
		switch {
		case strings.Contains(req.URL.Path, "/manifests/"):
			kind = "manifests"
		case strings.Contains(req.URL.Path, "/blobs/"):
			kind = "blobs"
		}
		tr.mu.Lock()
		tr.counts[req.Method+" "+kind]++
		tr.mu.Unlock()
		h.ServeHTTP(w, req)
	})
	tr.srv = httptest.NewServer(counting)
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

func (r *testRegistry) push(t *testing.T, ref string, img v1.Image, opts ...remote.Option) {
	t.Helper()
	n, err := name.ParseReference(r.host + "/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(n, img, opts...); err != nil {
		t.Fatal(err)
	}
}

func (r *testRegistry) pushIndex(t *testing.T, ref string, idx v1.ImageIndex) {
	t.Helper()
	n, err := name.ParseReference(r.host + "/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(n, idx); err != nil {
		t.Fatal(err)
	}
}

// layerOf builds a gzip layer holding files (name → content).
func layerOf(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageOf builds a linux/amd64 image of the given layers.
func imageOf(t *testing.T, user string, layers ...v1.Layer) v1.Image {
	t.Helper()
	return imageFor(t, "amd64", user, layers...)
}

func imageFor(t *testing.T, arch, user string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.User = user
	cf.Config.Env = []string{"PATH=/bin"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, img v1.Image) (id, manifest string) {
	t.Helper()
	c, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return c.String(), m.String()
}

// countDir counts the entries of dir whose name satisfies keep.
func countDir(t *testing.T, dir string, keep func(string) bool) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if keep == nil || keep(e.Name()) {
			n++
		}
	}
	return n
}

func isHex(s string) bool { return anchoredHex.MatchString(s) }

// gate blocks blob GETs until opened.
type gate struct {
	ch      chan struct{}
	once    sync.Once
	blocked atomic.Int32
	aborted chan struct{}
	abOnce  sync.Once
}

func newGate() *gate { return &gate{ch: make(chan struct{}), aborted: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			g.blocked.Add(1)
			select {
			case <-g.ch:
			case <-r.Context().Done():
				g.abOnce.Do(func() { close(g.aborted) })
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
