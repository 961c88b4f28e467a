package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestNormalize(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"index.docker.io/library/busybox:1", "docker.io/library/busybox:1"},
		{"foo/bar", "docker.io/foo/bar:latest"},
		{"foo/bar/baz:v1", "docker.io/foo/bar/baz:v1"},
		{"localhost/x", "localhost/x:latest"},
		{"localhost:5000/x", "localhost:5000/x:latest"},
		{"127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b:t"},
		{"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"},
		{"quay.io/coreos/etcd", "quay.io/coreos/etcd:latest"},
		{"[::1]:5000/x", "[::1]:5000/x:latest"},
		{"busybox@" + d, "docker.io/library/busybox@" + d},
		{"busybox:1.36@" + d, "docker.io/library/busybox:1.36@" + d},
		{"localhost:5000/x@" + d, "localhost:5000/x@" + d},
	} {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"", "Busybox", "foo/Bar", "busybox:", "busybox@sha256:abc", "busybox@md5:" + strings.Repeat("a", 32),
		strings.Repeat("ab", 32), " busybox", "busybox:bad tag", "a//b",
	} {
		if got, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		}
	}
}

func TestPullByTagAndLookups(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t, nil)
	img := imageOf(t, "1000:1000",
		layerOf(t, map[string]string{"etc/hello": "hello", "bin/sh": "#!"}),
		layerOf(t, map[string]string{"app/run": "run"}))
	reg.push(t, "test/app:v1", img)
	id, md := digestOf(t, img)

	s := newTestStore(t, t.TempDir(), nil)
	got, err := s.Pull(ctx, reg.host+"/test/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.host + "/test/app"
	if got.ID != id {
		t.Errorf("ID = %s, want %s", got.ID, id)
	}
	if !slices.Equal(got.RepoTags, []string{repo + ":v1"}) {
		t.Errorf("RepoTags = %v", got.RepoTags)
	}
	if !slices.Equal(got.RepoDigests, []string{repo + "@" + md}) {
		t.Errorf("RepoDigests = %v, want %s", got.RepoDigests, repo+"@"+md)
	}
	if got.UID == nil || *got.UID != 1000 || got.Username != "" {
		t.Errorf("UID/Username = %v/%q", got.UID, got.Username)
	}
	if len(got.ChainIDs) != 2 || got.Size != uint64(len("hello")+2+3) {
		t.Errorf("ChainIDs = %v, Size = %d", got.ChainIDs, got.Size)
	}
	if !bytes.Contains(got.Config, []byte(`"PATH=/bin"`)) {
		t.Errorf("Config = %s", got.Config)
	}
	lowers, upper, work, err := s.PrepareRootfs(ctx, "c1", got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(lowers[1], "etc/hello")); err != nil || string(b) != "hello" {
		t.Errorf("bottom layer: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(lowers[0], "app/run")); err != nil || string(b) != "run" {
		t.Errorf("top layer: %q, %v", b, err)
	}
	for _, d := range []string{upper, work} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}

	for _, ref := range []string{
		repo + ":v1", id, strings.TrimPrefix(id, "sha256:"), id[:19], strings.TrimPrefix(id, "sha256:")[:12],
		repo + "@" + md, repo + ":v1@" + md,
	} {
		st, err := s.Status(ctx, ref)
		if err != nil || st == nil || st.ID != id {
			t.Errorf("Status(%q) = %v, %v", ref, st, err)
		}
	}
	for _, ref := range []string{repo + ":v2", "busybox", "sha256:" + strings.Repeat("0", 64), "abcdef0123"} {
		if st, err := s.Status(ctx, ref); err != nil || st != nil {
			t.Errorf("Status(%q) = %v, %v; want nil, nil", ref, st, err)
		}
	}
	all, err := s.List(ctx, Filter{})
	if err != nil || len(all) != 1 || all[0].ID != id {
		t.Errorf("List = %v, %v", all, err)
	}
	if l, _ := s.List(ctx, Filter{Image: repo + ":v1"}); len(l) != 1 {
		t.Errorf("List(filter) = %v", l)
	}
	if l, _ := s.List(ctx, Filter{Image: repo + ":nope"}); len(l) != 0 {
		t.Errorf("List(filter nope) = %v", l)
	}

	// Pulling again reuses everything.
	before := reg.count("GET blobs")
	if _, err := s.Pull(ctx, reg.host+"/test/app:v1", nil); err != nil {
		t.Fatal(err)
	}
	if after := reg.count("GET blobs"); after != before {
		t.Errorf("second pull fetched %d blobs", after-before)
	}
}

func TestPullByDigestOCI(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t, nil)
	img := imageOf(t, "nginx", layerOf(t, map[string]string{"a": "1"}))
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	reg.push(t, "oci/img:latest", img)
	id, md := digestOf(t, img)

	s := newTestStore(t, t.TempDir(), nil)
	got, err := s.Pull(ctx, reg.host+"/oci/img@"+md, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || len(got.RepoTags) != 0 || got.Username != "nginx" || got.UID != nil {
		t.Errorf("got %+v", got)
	}
	if !slices.Equal(got.RepoDigests, []string{reg.host + "/oci/img@" + md}) {
		t.Errorf("RepoDigests = %v", got.RepoDigests)
	}
	// Tag and digest: the digest is fetched, the tag kept.
	got, err = s.Pull(ctx, reg.host+"/oci/img:pinned@"+md, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RepoTags, []string{reg.host + "/oci/img:pinned"}) {
		t.Errorf("RepoTags = %v", got.RepoTags)
	}
	// A digest that is not there.
	if _, err := s.Pull(ctx, reg.host+"/oci/img@sha256:"+strings.Repeat("1", 64), nil); err == nil {
		t.Error("pull of a missing digest succeeded")
	}
}

func TestPullIndexPicksAmd64(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t, nil)
	arm := imageFor(t, "arm64", "", layerOf(t, map[string]string{"arch": "arm64"}))
	amd := imageFor(t, "amd64", "", layerOf(t, map[string]string{"arch": "amd64"}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	reg.pushIndex(t, "multi/arch:1", idx)
	idxDigest, _ := idx.Digest()
	amdID, _ := digestOf(t, amd)

	s := newTestStore(t, t.TempDir(), nil)
	got, err := s.Pull(ctx, reg.host+"/multi/arch:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != amdID {
		t.Errorf("ID = %s, want amd64's %s", got.ID, amdID)
	}
	if !slices.Equal(got.RepoDigests, []string{reg.host + "/multi/arch@" + idxDigest.String()}) {
		t.Errorf("RepoDigests = %v (want the index digest)", got.RepoDigests)
	}
	lowers, _, _, err := s.PrepareRootfs(ctx, "c", got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(lowers[0], "arch")); string(b) != "amd64" {
		t.Errorf("unpacked %q", b)
	}

	// random.Index's manifests have no platform: a clear error.
	ri, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	reg.pushIndex(t, "multi/none:1", ri)
	armOnly := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	reg.pushIndex(t, "multi/arm:1", armOnly)
	for _, ref := range []string{"multi/none:1", "multi/arm:1"} {
		_, err = s.Pull(ctx, reg.host+"/"+ref, nil)
		if !errors.Is(err, ErrNoPlatform) || !strings.Contains(err.Error(), "linux/amd64") {
			t.Errorf("pull %s: %v, want ErrNoPlatform", ref, err)
		}
	}
	// A single-platform image for another architecture.
	reg.push(t, "single/arm:1", arm)
	if _, err := s.Pull(ctx, reg.host+"/single/arm:1", nil); !errors.Is(err, ErrNoPlatform) {
		t.Errorf("pull of an arm64 image: %v", err)
	}
}

func TestPullWithCredentials(t *testing.T) {
	ctx := context.Background()
	const user, pass = "alice", "s3cret"
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	img := imageOf(t, "", layerOf(t, map[string]string{"secret": "x"}))
	reg.push(t, "private/app:1", img, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	id, _ := digestOf(t, img)
	ref := reg.host + "/private/app:1"

	s := newTestStore(t, t.TempDir(), nil)
	if _, err := s.Pull(ctx, ref, nil); err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(strings.ToLower(err.Error()), "unauthorized") {
		t.Errorf("anonymous pull: %v, want 401", err)
	}
	if _, err := s.Pull(ctx, ref, &Auth{Username: user, Password: "wrong"}); err == nil {
		t.Error("pull with a wrong password succeeded")
	}
	if _, err := s.Pull(ctx, ref, &Auth{Username: user, Password: pass, ServerAddress: "other.example.com"}); err == nil {
		t.Error("credentials for another server were used")
	}
	got, err := s.Pull(ctx, ref, &Auth{Username: user, Password: pass, ServerAddress: reg.host})
	if err != nil || got.ID != id {
		t.Fatalf("pull with username/password: %v, %v", got, err)
	}
	if err := s.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if got, err := s.Pull(ctx, ref, &Auth{Auth: enc}); err != nil || got.ID != id {
		t.Fatalf("pull with auth: %v, %v", got, err)
	}
}

// writeHosts writes <dir>/<registry>/hosts.toml.
func writeHosts(t *testing.T, dir, registry, content string) {
	t.Helper()
	d := filepath.Join(dir, registry)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPullThroughMirror(t *testing.T) {
	ctx := context.Background()
	img := imageOf(t, "", layerOf(t, map[string]string{"m": "mirrored"}))
	id, _ := digestOf(t, img)

	t.Run("plain http mirror", func(t *testing.T) {
		upstream := newRegistry(t, func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("upstream hit: %s %s", r.Method, r.URL)
				http.Error(w, "no", http.StatusInternalServerError)
			})
		})
		var nsSeen sync.Map
		mirror := newRegistry(t, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if ns := r.URL.Query().Get("ns"); ns != "" {
					nsSeen.Store(ns, true)
				}
				h.ServeHTTP(w, r)
			})
		})
		mirror.push(t, "lib/app:1", img)
		hosts := t.TempDir()
		writeHosts(t, hosts, upstream.host, fmt.Sprintf(`
server = "http://%s"

[host."http://%s"]
  capabilities = ["pull", "resolve"]
`, upstream.host, mirror.host))
		s := newTestStore(t, t.TempDir(), func(o *Options) { o.HostsDir = hosts })
		got, err := s.Pull(ctx, upstream.host+"/lib/app:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != id || !slices.Equal(got.RepoTags, []string{upstream.host + "/lib/app:1"}) {
			t.Errorf("got %v %v", got.ID, got.RepoTags)
		}
		if _, ok := nsSeen.Load(upstream.host); !ok {
			t.Error("mirror requests lack ?ns=<registry>")
		}
	})

	t.Run("https mirror with ca, unresolvable upstream", func(t *testing.T) {
		mirror := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer mirror.Close()
		mhost := strings.TrimPrefix(mirror.URL, "https://")
		n, _ := name.ParseReference(mhost + "/lib/app:1")
		if err := remote.Write(n, img, remote.WithTransport(mirror.Client().Transport)); err != nil {
			t.Fatal(err)
		}
		hosts := t.TempDir()
		writeHosts(t, hosts, "registry.invalid", fmt.Sprintf(`
[host."https://%s"]
  capabilities = ["pull", "resolve"]
  ca = "mirror.pem"
`, mhost))
		pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mirror.Certificate().Raw})
		os.WriteFile(filepath.Join(hosts, "registry.invalid", "mirror.pem"), pemData, 0o644)
		s := newTestStore(t, t.TempDir(), func(o *Options) { o.HostsDir = hosts })
		got, err := s.Pull(ctx, "registry.invalid/lib/app:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != id {
			t.Errorf("ID %s", got.ID)
		}
		// Without the CA the mirror is not trusted and the upstream does
		// not exist.
		writeHosts(t, hosts, "registry.invalid", fmt.Sprintf("[host.\"https://%s\"]\n", mhost))
		if _, err := s.Pull(ctx, "registry.invalid/lib/app:1", nil); err == nil {
			t.Error("pull through an untrusted mirror succeeded")
		}
	})

	t.Run("failing mirror falls back to upstream", func(t *testing.T) {
		upstream := newRegistry(t, nil)
		upstream.push(t, "lib/app:1", img)
		mirror := newRegistry(t, nil) // empty: 404s
		hosts := t.TempDir()
		writeHosts(t, hosts, upstream.host, fmt.Sprintf("[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", mirror.host))
		s := newTestStore(t, t.TempDir(), func(o *Options) { o.HostsDir = hosts })
		got, err := s.Pull(ctx, upstream.host+"/lib/app:1", nil)
		if err != nil || got.ID != id {
			t.Fatalf("%v %v", got, err)
		}
		if mirror.count("GET manifests") == 0 {
			t.Error("the mirror was not tried")
		}
	})
}

func TestParseHostsFile(t *testing.T) {
	hs, err := parseHostsFile([]byte(`
server = "https://registry.example.com"
ca = ["up.pem", "/abs/up2.pem"]

[host."https://b.example.com/prefix"]
  capabilities = ["pull"]
  skip_verify = true
  [host."https://b.example.com/prefix".header]
    x-token = "t"

[host."http://a.example.com"]
  capabilities = ["pull", "resolve"]

[host."https://c.example.com/custom/path"]
  override_path = true
`), "/etc/cocoon/certs.d/example.com", "example.com")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hs {
		got = append(got, fmt.Sprintf("%s caps=%d skip=%v cas=%v mirror=%v", h.URL, h.Capabilities, h.SkipVerify, h.CAs, h.Mirror))
	}
	want := []string{
		"https://b.example.com/prefix/v2 caps=1 skip=true cas=[] mirror=true",
		"http://a.example.com/v2 caps=3 skip=false cas=[] mirror=true",
		"https://c.example.com/custom/path caps=7 skip=false cas=[] mirror=true",
		"https://registry.example.com/v2 caps=7 skip=false cas=[/etc/cocoon/certs.d/example.com/up.pem /abs/up2.pem] mirror=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("hosts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if hs[0].Header.Get("X-Token") != "t" {
		t.Errorf("header %v", hs[0].Header)
	}
	if _, err := parseHostsFile([]byte(`[host."https://x"]
capabilities = ["fly"]`), "/", "x"); err == nil {
		t.Error("unknown capability accepted")
	}
	if _, err := parseHostsFile([]byte(`server = "ftp://x"`), "/", "x"); err == nil {
		t.Error("ftp accepted")
	}
	// No file: the registry itself, loopback over plain HTTP.
	h, err := loadHosts(t.TempDir(), "localhost:5000")
	if err != nil || len(h) != 1 || h[0].URL.Scheme != "http" || h[0].Rewrite {
		t.Errorf("default hosts: %+v %v", h, err)
	}
	for _, lb := range []string{"localhost", "localhost:5000", "127.0.0.1:80", "127.1.2.3", "[::1]:5000", "::1", "x.localhost:1"} {
		if !isLoopback(lb) {
			t.Errorf("isLoopback(%q) = false", lb)
		}
	}
	for _, nlb := range []string{"docker.io", "10.0.0.1:5000", "192.168.1.1", "localhost.example.com"} {
		if isLoopback(nlb) {
			t.Errorf("isLoopback(%q) = true", nlb)
		}
	}
}

func TestConcurrentPullsShareOneDownload(t *testing.T) {
	ctx := context.Background()
	g := newGate()
	reg := newRegistry(t, g.wrap)
	img := imageOf(t, "", layerOf(t, map[string]string{"a": "1"}), layerOf(t, map[string]string{"b": "2"}))
	reg.push(t, "dedup/app:1", img)
	id, _ := digestOf(t, img)
	s := newTestStore(t, t.TempDir(), nil)

	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Different spellings of one reference.
			ref := reg.host + "/dedup/app:1"
			if i%2 == 1 {
				ref = reg.host + "/dedup/app:1"
			}
			img, err := s.Pull(ctx, ref, nil)
			errs[i] = err
			if img != nil {
				ids[i] = img.ID
			}
		}()
	}
	waitFor(t, func() bool {
		s.flights.mu.Lock()
		defer s.flights.mu.Unlock()
		f := s.flights.m[reg.host+"/dedup/app:1"]
		return f != nil && f.waiters == n
	})
	g.open()
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != id {
			t.Errorf("pull %d: %v %v", i, ids[i], errs[i])
		}
	}
	if c := reg.count("GET manifests"); c != 1 {
		t.Errorf("%d manifest GETs, want 1", c)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPullCancellation(t *testing.T) {
	g := newGate()
	reg := newRegistry(t, g.wrap)
	img := imageOf(t, "", layerOf(t, map[string]string{"a": "1"}))
	reg.push(t, "cancel/app:1", img)
	id, _ := digestOf(t, img)
	root := t.TempDir()
	s := newTestStore(t, root, nil)
	ref := reg.host + "/cancel/app:1"

	// Two waiters: one leaves, the other still gets the image.
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() { _, err := s.Pull(ctx1, ref, nil); done1 <- err }()
	done2 := make(chan *Image, 1)
	go func() { img, _ := s.Pull(context.Background(), ref, nil); done2 <- img }()
	waitFor(t, func() bool { return g.blocked.Load() > 0 })
	waitFor(t, func() bool {
		s.flights.mu.Lock()
		defer s.flights.mu.Unlock()
		f := s.flights.m[ref]
		return f != nil && f.waiters == 2
	})
	cancel1()
	if err := <-done1; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pull: %v", err)
	}
	select {
	case <-g.aborted:
		t.Fatal("download cancelled while a caller still waits")
	case <-time.After(50 * time.Millisecond):
	}
	g.open()
	if got := <-done2; got == nil || got.ID != id {
		t.Fatalf("remaining waiter got %v", got)
	}

	// The only waiter leaves: the download stops and nothing is stored.
	g2 := newGate()
	reg2 := newRegistry(t, g2.wrap)
	img2 := imageOf(t, "", layerOf(t, map[string]string{"z": "2"}))
	reg2.push(t, "cancel/other:1", img2)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.Pull(ctx, reg2.host+"/cancel/other:1", nil); errc <- err }()
	waitFor(t, func() bool { return g2.blocked.Load() > 0 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pull: %v", err)
	}
	select {
	case <-g2.aborted:
	case <-time.After(10 * time.Second):
		t.Fatal("download not cancelled when no caller waits")
	}
	if st, _ := s.Status(context.Background(), reg2.host+"/cancel/other:1"); st != nil {
		t.Error("cancelled pull stored an image")
	}
	// A fresh pull afterwards works.
	g2.open()
	if _, err := s.Pull(context.Background(), reg2.host+"/cancel/other:1", nil); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptBlobStoresNothing(t *testing.T) {
	ctx := context.Background()
	img := imageOf(t, "", layerOf(t, map[string]string{"a": strings.Repeat("x", 4096)}))
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+ld.String()) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				b := rec.Body.Bytes()
				b[len(b)/2] ^= 0xff
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(b)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	reg.push(t, "bad/app:1", img)
	root := t.TempDir()
	s := newTestStore(t, root, nil)
	_, err := s.Pull(ctx, reg.host+"/bad/app:1", nil)
	if err == nil {
		t.Fatal("pull of a corrupt blob succeeded")
	}
	t.Logf("corrupt blob: %v", err)
	if !strings.Contains(err.Error(), ld.Hex) {
		t.Errorf("error does not name the expected digest: %v", err)
	}
	if _, ok := s.blobs.has(ld.String()); ok {
		t.Error("corrupt blob stored")
	}
	if n := countDir(t, filepath.Join(root, "blobs", "sha256"), func(n string) bool { return !isHex(n) }); n != 0 {
		t.Errorf("%d temporary files left", n)
	}
	if n := countDir(t, filepath.Join(root, "snapshots"), nil); n != 0 {
		t.Errorf("%d snapshots left", n)
	}
	if l, _ := s.List(ctx, Filter{}); len(l) != 0 {
		t.Errorf("images: %v", l)
	}

	// The blob store itself: a wrong digest stores nothing and names
	// both digests.
	want := "sha256:" + strings.Repeat("0", 64)
	_, _, err = s.blobs.write(ctx, want, -1, strings.NewReader("content"))
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "sha256:ed7002b439e9ac845f22357d822bac1444730fbdb6016d3ec9432297b9ec9f73") {
		t.Errorf("write with wrong digest: %v", err)
	}
	if _, ok := s.blobs.has(want); ok {
		t.Error("stored under the wrong digest")
	}
}

func TestTransientErrorsRetried(t *testing.T) {
	ctx := context.Background()
	img := imageOf(t, "", layerOf(t, map[string]string{"a": "1"}))
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	var mu sync.Mutex
	fails := map[string]int{"blob": 2, "manifest": 1}
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				k := ""
				if strings.HasSuffix(r.URL.Path, "/blobs/"+ld.String()) {
					k = "blob"
				} else if strings.Contains(r.URL.Path, "/manifests/") {
					k = "manifest"
				}
				mu.Lock()
				fail := k != "" && fails[k] > 0
				if fail {
					fails[k]--
				}
				mu.Unlock()
				if fail {
					http.Error(w, "try later", http.StatusServiceUnavailable)
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	reg.push(t, "flaky/app:1", img)
	s := newTestStore(t, t.TempDir(), nil)
	if _, err := s.Pull(ctx, reg.host+"/flaky/app:1", nil); err != nil {
		t.Fatal(err)
	}
	if fails["blob"] != 0 || fails["manifest"] != 0 {
		t.Errorf("failures left: %v", fails)
	}

	// A permanent 5xx gives up after RetryAttempts.
	var hits int
	reg2 := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
				mu.Lock()
				hits++
				mu.Unlock()
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	if _, err := s.Pull(ctx, reg2.host+"/down/app:1", nil); err == nil {
		t.Fatal("pull from a broken registry succeeded")
	}
	if hits != 4 {
		t.Errorf("%d manifest GETs, want 4 attempts", hits)
	}
}

func TestRestartPersistence(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t, nil)
	img := imageOf(t, "", layerOf(t, map[string]string{"a": "1"}))
	reg.push(t, "persist/app:1", img)
	id, _ := digestOf(t, img)
	root := t.TempDir()
	s := newTestStore(t, root, nil)
	want, err := s.Pull(ctx, reg.host+"/persist/app:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.PrepareRootfs(ctx, "ctr", id); err != nil {
		t.Fatal(err)
	}
	// Leftovers of a crash: a partial snapshot and a temporary blob.
	os.MkdirAll(filepath.Join(root, "snapshots", "tmp-123", "x"), 0o755)
	os.WriteFile(filepath.Join(root, "blobs", "sha256", "tmp-456"), []byte("half"), 0o600)
	s.Close()

	s2 := newTestStore(t, root, nil)
	got, err := s2.Status(ctx, reg.host+"/persist/app:1")
	if err != nil || got == nil {
		t.Fatalf("after restart: %v %v", got, err)
	}
	if got.ID != want.ID || !slices.Equal(got.RepoTags, want.RepoTags) || !slices.Equal(got.ChainIDs, want.ChainIDs) ||
		!got.Created.Equal(want.Created) || got.Size != want.Size {
		t.Errorf("after restart %+v, want %+v", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "snapshots", "tmp-123")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("stale tmp snapshot kept")
	}
	if _, err := os.Stat(filepath.Join(root, "blobs", "sha256", "tmp-456")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("stale tmp blob kept")
	}
	if lowers, _, _, err := s2.PrepareRootfs(ctx, "ctr", id); err != nil || len(lowers) != 1 {
		t.Errorf("PrepareRootfs after restart: %v %v", lowers, err)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t, nil)
	img := imageOf(t, "", layerOf(t, map[string]string{"a": "1"}))
	reg.push(t, "rm/app:1", img)
	reg.push(t, "rm/app:2", img)
	id, md := digestOf(t, img)
	root := t.TempDir()
	s := newTestStore(t, root, nil)
	repo := reg.host + "/rm/app"
	pullBoth := func() {
		t.Helper()
		for _, tag := range []string{"1", "2"} {
			if _, err := s.Pull(ctx, repo+":"+tag, nil); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := s.Status(ctx, id)
		if got == nil || len(got.RepoTags) != 2 {
			t.Fatalf("after pulls: %+v", got)
		}
	}
	for _, by := range []string{repo + ":1", id, repo + "@" + md, strings.TrimPrefix(id, "sha256:")[:10]} {
		pullBoth()
		if err := s.Remove(ctx, by); err != nil {
			t.Fatalf("Remove(%q): %v", by, err)
		}
		for _, ref := range []string{repo + ":1", repo + ":2", id} {
			if st, _ := s.Status(ctx, ref); st != nil {
				t.Errorf("Remove(%q): %s still there", by, ref)
			}
		}
		if n := countDir(t, filepath.Join(root, "blobs", "sha256"), nil); n != 0 {
			t.Errorf("Remove(%q): %d blobs left", by, n)
		}
		if n := countDir(t, filepath.Join(root, "snapshots"), nil); n != 0 {
			t.Errorf("Remove(%q): %d snapshots left", by, n)
		}
	}
	if err := s.Remove(ctx, repo+":missing"); err != nil {
		t.Errorf("removing a missing image: %v", err)
	}
	if err := s.Remove(ctx, "sha256:"+strings.Repeat("f", 64)); err != nil {
		t.Errorf("removing a missing ID: %v", err)
	}

	// A tag that moves to a new image leaves the old one untagged.
	img2 := imageOf(t, "", layerOf(t, map[string]string{"b": "2"}))
	pullBoth()
	reg.push(t, "rm/app:1", img2)
	got, err := s.Pull(ctx, repo+":1", nil)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := s.Status(ctx, id)
	if old == nil || !slices.Equal(old.RepoTags, []string{repo + ":2"}) || !slices.Equal(got.RepoTags, []string{repo + ":1"}) {
		t.Errorf("moved tag: old %+v new %+v", old, got)
	}
}

func TestGCKeepsContainerRootfs(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t, nil)
	base := layerOf(t, map[string]string{"base": "b"})
	a := imageOf(t, "", base, layerOf(t, map[string]string{"a": "a"}))
	b := imageOf(t, "", base, layerOf(t, map[string]string{"b": "b"}))
	reg.push(t, "gc/a:1", a)
	reg.push(t, "gc/b:1", b)
	root := t.TempDir()
	s := newTestStore(t, root, nil)
	ia, err := s.Pull(ctx, reg.host+"/gc/a:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := s.Pull(ctx, reg.host+"/gc/b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ia.ChainIDs[0] != ib.ChainIDs[0] {
		t.Fatal("shared base layer has different chain IDs")
	}
	snaps := func() int { return countDir(t, filepath.Join(root, "snapshots"), nil) }
	if n := snaps(); n != 3 {
		t.Errorf("%d snapshots, want 3 (base shared)", n)
	}

	// Stray content is collected.
	stray, err := s.blobs.writeBytes(ctx, "", []byte("stray"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "snapshots", strings.Repeat("e", 64), "d"), 0o755)
	os.MkdirAll(filepath.Join(root, "containers", "orphan", "upper"), 0o755)
	if err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.blobs.has(stray); ok {
		t.Error("stray blob kept")
	}
	if n := snaps(); n != 3 {
		t.Errorf("%d snapshots after GC, want 3", n)
	}
	if _, err := os.Stat(filepath.Join(root, "containers", "orphan")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("orphan container dir kept")
	}

	// A container on a: removing a keeps a's snapshots, not its blobs.
	lowers, upper, _, err := s.PrepareRootfs(ctx, "ctr-a", reg.host+"/gc/a:1")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(upper, "written"), []byte("data"), 0o644)
	if err := s.Remove(ctx, ia.ID); err != nil {
		t.Fatal(err)
	}
	for _, l := range lowers {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("lower %s removed while a container uses it: %v", l, err)
		}
	}
	if _, ok := s.blobs.has(ia.ID); ok {
		t.Error("config blob of a removed image kept")
	}
	_, cu, err := s.FsInfo(ctx)
	if err != nil || cu[0].UsedBytes < 4 || cu[0].InodesUsed < 3 {
		t.Errorf("container fs: %+v %v", cu, err)
	}
	// b is removed too: the shared base stays for the container.
	if err := s.Remove(ctx, ib.ID); err != nil {
		t.Fatal(err)
	}
	if n := snaps(); n != 2 {
		t.Errorf("%d snapshots with only the container left, want 2", n)
	}
	if err := s.RemoveRootfs(ctx, "ctr-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveRootfs(ctx, "ctr-a"); err != nil {
		t.Errorf("removing a missing rootfs: %v", err)
	}
	if err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if n := snaps(); n != 0 {
		t.Errorf("%d snapshots after the container went, want 0", n)
	}
	if n := countDir(t, filepath.Join(root, "blobs", "sha256"), nil); n != 0 {
		t.Errorf("%d blobs left", n)
	}
	if _, _, _, err := s.PrepareRootfs(ctx, "../evil", ib.ID); err == nil {
		t.Error("bad container ID accepted")
	}
	if _, _, _, err := s.PrepareRootfs(ctx, "c2", ib.ID); err == nil {
		t.Error("PrepareRootfs of a removed image succeeded")
	}
}

func TestFsInfo(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t, nil)
	img := imageOf(t, "", layerOf(t, map[string]string{"f": strings.Repeat("z", 10000)}))
	reg.push(t, "fs/app:1", img)
	root := t.TempDir()
	s := newTestStore(t, root, nil)
	im0, _, err := s.FsInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, reg.host+"/fs/app:1", nil); err != nil {
		t.Fatal(err)
	}
	im, ct, err := s.FsInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if im[0].Mountpoint != s.Root() || ct[0].Mountpoint != filepath.Join(s.Root(), "containers") {
		t.Errorf("mountpoints %q %q", im[0].Mountpoint, ct[0].Mountpoint)
	}
	if im[0].UsedBytes < im0[0].UsedBytes+10000 || im[0].InodesUsed < im0[0].InodesUsed+4 || im[0].Timestamp.IsZero() {
		t.Errorf("image fs %+v (before %+v)", im[0], im0[0])
	}
}

func TestImportDockerArchive(t *testing.T) {
	ctx := context.Background()
	a := imageOf(t, "", layerOf(t, map[string]string{"a": "1"}))
	b := imageOf(t, "", layerOf(t, map[string]string{"b": "2"}), layerOf(t, map[string]string{"c": "3"}))
	ta, _ := name.NewTag("example.com/a:1")
	ta2, _ := name.NewTag("busybox:airgap")
	tb, _ := name.NewTag("localhost:5000/b:2")
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(map[name.Reference]v1.Image{ta: a, ta2: a, tb: b}, &buf); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s := newTestStore(t, root, nil)
	imgs, err := s.Import(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Fatalf("%d images", len(imgs))
	}
	ida, _ := digestOf(t, a)
	idb, _ := digestOf(t, b)
	ga, _ := s.Status(ctx, "example.com/a:1")
	if ga == nil || ga.ID != ida || !slices.Equal(ga.RepoTags, []string{"docker.io/library/busybox:airgap", "example.com/a:1"}) {
		t.Errorf("a: %+v", ga)
	}
	gb, _ := s.Status(ctx, "localhost:5000/b:2")
	if gb == nil || gb.ID != idb || len(gb.ChainIDs) != 2 {
		t.Fatalf("b: %+v", gb)
	}
	lowers, _, _, err := s.PrepareRootfs(ctx, "imp", gb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := os.ReadFile(filepath.Join(lowers[0], "c")); string(d) != "3" {
		t.Errorf("top layer of b: %q", d)
	}
	// Not an image archive.
	var junk bytes.Buffer
	tw := tar.NewWriter(&junk)
	tw.WriteHeader(&tar.Header{Name: "readme", Size: 2, Mode: 0o644})
	tw.Write([]byte("hi"))
	tw.Close()
	if _, err := s.Import(ctx, &junk); err == nil {
		t.Error("import of a non-image tar succeeded")
	}
	// Escaping names are refused.
	var evil bytes.Buffer
	tw = tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "../evil", Size: 2, Mode: 0o644})
	tw.Write([]byte("hi"))
	tw.Close()
	if _, err := s.Import(ctx, &evil); err == nil {
		t.Error("import of an escaping tar succeeded")
	}
	if n := countDir(t, filepath.Join(root, "tmp"), nil); n != 0 {
		t.Errorf("%d import dirs left", n)
	}
}

func TestImportOCILayout(t *testing.T) {
	ctx := context.Background()
	img := imageOf(t, "", layerOf(t, map[string]string{"oci": "yes"}))
	arm := imageFor(t, "arm64", "", layerOf(t, map[string]string{"oci": "arm"}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotationRefName: "example.com/multi:3"})); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "latest"})); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Name: rel + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		b, _ := os.ReadFile(path)
		tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
		_, err = tw.Write(b)
		return err
	})
	tw.Close()

	s := newTestStore(t, t.TempDir(), nil)
	imgs, err := s.Import(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := digestOf(t, img)
	if len(imgs) != 2 || imgs[0].ID != id || imgs[1].ID != id {
		t.Fatalf("imported %+v", imgs)
	}
	idxDigest, _ := idx.Digest()
	got, _ := s.Status(ctx, "example.com/multi:3")
	if got == nil || !slices.Equal(got.RepoDigests, []string{"example.com/multi@" + idxDigest.String()}) {
		t.Errorf("named image: %+v", got)
	}
}

func TestRealUnpackWhiteouts(t *testing.T) {
	if !realUnpack(t) {
		t.Skip("image/unpack is still a placeholder")
	}
	ctx := context.Background()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/.wh.gone", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.WriteHeader(&tar.Header{Name: "etc/kept", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("k"))
	tw.Close()
	b := buf.Bytes()
	wl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img := imageOf(t, "", layerOf(t, map[string]string{"etc/gone": "g"}), wl)
	reg := newRegistry(t, nil)
	reg.push(t, "wh/app:1", img)
	s := newTestStore(t, t.TempDir(), func(o *Options) { o.Unpack = nil })
	got, err := s.Pull(ctx, reg.host+"/wh/app:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	lowers, _, _, err := s.PrepareRootfs(ctx, "wh", got.ID)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(lowers[0], "etc", "gone"))
	if err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("whiteout: %v %v", fi, err)
	}
	if d, _ := os.ReadFile(filepath.Join(lowers[1], "etc", "gone")); string(d) != "g" {
		t.Errorf("lower layer: %q", d)
	}
}
