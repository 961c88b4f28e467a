// Package registry runs an OCI registry in-process on 127.0.0.1 for the
// end-to-end tests (go-containerregistry's pkg/registry behind an
// httptest server with a real listener), optionally behind HTTP basic
// auth, and builds the test images the tests push to it: busybox from
// Debian's busybox-static, a multi-arch index, an image with whiteouts,
// a static Go web server, deliberately malicious layers, and large
// images for benchmarks.
package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is a running test registry.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of references.
	Host string
	// URL is "http://127.0.0.1:PORT".
	URL string

	srv        *httptest.Server
	username   string
	password   string
	middleware []func(http.Handler) http.Handler
}

// Option configures Start.
type Option func(*Registry)

// WithBasicAuth makes the registry require HTTP basic auth with these
// credentials for every request (401 with a Basic challenge otherwise).
func WithBasicAuth(username, password string) Option {
	return func(r *Registry) { r.username, r.password = username, password }
}

// WithMiddleware wraps the registry's handler (outside the basic auth
// check) in mw: to count, fail, stall or break requests. Several wrap
// in order, the first outermost.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(r *Registry) { r.middleware = append(r.middleware, mw) }
}

// New starts a registry on 127.0.0.1 (a free port). Close stops it.
func New(opts ...Option) *Registry {
	r := &Registry{}
	for _, o := range opts {
		o(r)
	}
	var h http.Handler = ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	if r.username != "" {
		h = basicAuth(h, r.username, r.password)
	}
	for i := len(r.middleware) - 1; i >= 0; i-- {
		h = r.middleware[i](h)
	}
	r.srv = httptest.NewServer(h) // listens on 127.0.0.1:0
	r.URL = r.srv.URL
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// Start is New for a test: the registry stops when tb ends.
func Start(tb testing.TB, opts ...Option) *Registry {
	r := New(opts...)
	tb.Cleanup(r.Close)
	return r
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// Username and Password are the credentials WithBasicAuth set.
func (r *Registry) Username() string { return r.username }

// Password is the password WithBasicAuth set.
func (r *Registry) Password() string { return r.password }

// Ref is the full reference of repoAndTag ("busybox:latest") in this
// registry: "127.0.0.1:PORT/busybox:latest".
func (r *Registry) Ref(repoAndTag string) string { return r.Host + "/" + repoAndTag }

func basicAuth(next http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="cocoon-e2e"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		next.ServeHTTP(w, req)
	})
}

func (r *Registry) remoteOpts() []remote.Option {
	if r.username == "" {
		return nil
	}
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: r.username, Password: r.password})}
}

// Push pushes img as repoAndTag and returns the manifest digest and the
// full reference.
func (r *Registry) Push(repoAndTag string, img v1.Image) (digest v1.Hash, ref string, err error) {
	ref = r.Ref(repoAndTag)
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return v1.Hash{}, "", err
	}
	if err := remote.Write(tag, img, r.remoteOpts()...); err != nil {
		return v1.Hash{}, "", fmt.Errorf("push %s: %w", ref, err)
	}
	digest, err = img.Digest()
	return digest, ref, err
}

// PushIndex pushes idx (and the images in it) as repoAndTag.
func (r *Registry) PushIndex(repoAndTag string, idx v1.ImageIndex) (digest v1.Hash, ref string, err error) {
	ref = r.Ref(repoAndTag)
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return v1.Hash{}, "", err
	}
	if err := remote.WriteIndex(tag, idx, r.remoteOpts()...); err != nil {
		return v1.Hash{}, "", fmt.Errorf("push %s: %w", ref, err)
	}
	digest, err = idx.Digest()
	return digest, ref, err
}

// AuthHeader is base64("user:password"), CRI's AuthConfig.Auth.
func AuthHeader(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// ConfigDigest is the image ID of img: its config's digest.
func ConfigDigest(img v1.Image) (string, error) {
	h, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// BusyboxPath is where Debian's busybox-static puts busybox (the
// Makefile installs it).
const BusyboxPath = "/bin/busybox"

// ErrNoBusybox is BusyboxImage's error when BusyboxPath is missing.
var ErrNoBusybox = errors.New("no " + BusyboxPath + " (Debian package busybox-static; make deps installs it)")

// BusyboxApplets are the symlinks to busybox the busybox image has in
// /bin.
var BusyboxApplets = []string{"sh", "ls", "cat", "echo", "true", "false", "sleep", "env", "id", "mkdir", "rm", "ps", "uname"}

// epoch is the time stamp of every file in the test images, so that
// building an image twice gives the same digests.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// entry is one tar entry of a test layer.
type entry struct {
	name     string
	typ      byte
	mode     int64
	body     []byte
	linkname string
	pax      map[string]string
}

func dir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func file(name, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: 0o644, body: []byte(body)}
}

// layer makes an uncompressed tar of entries, as a gzip layer of
// media type mt.
func layer(mt types.MediaType, entries ...entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)),
			Linkname: e.linkname, ModTime: epoch, Format: tar.FormatPAX,
			PAXRecords: e.pax,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(mt))
}

// withConfig sets the config of img: linux/arch, cmd and env.
func withConfig(img v1.Image, arch string, cmd []string) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = arch
	if arch == "arm64" {
		cf.Variant = "v8"
	}
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Cmd = cmd
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	return mutate.ConfigFile(img, cf)
}

// BusyboxImage is a single-layer image (Docker schema 2 media types)
// of /bin/busybox from the host with /bin symlinks for BusyboxApplets,
// /etc/passwd and /etc/group, /tmp, and Cmd ["sh"], for the host's
// architecture. It returns ErrNoBusybox when BusyboxPath is missing.
func BusyboxImage() (v1.Image, error) {
	bb, err := os.ReadFile(BusyboxPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoBusybox
	}
	if err != nil {
		return nil, err
	}
	entries := []entry{
		dir("bin/"),
		{name: "bin/busybox", typ: tar.TypeReg, mode: 0o755, body: bb},
	}
	for _, a := range BusyboxApplets {
		entries = append(entries, entry{name: "bin/" + a, typ: tar.TypeSymlink, mode: 0o777, linkname: "busybox"})
	}
	entries = append(entries,
		dir("etc/"),
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
		file("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
		entry{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
	)
	l, err := layer(types.DockerLayer, entries...)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return nil, err
	}
	return withConfig(img, runtime.GOARCH, []string{"sh"})
}

// MultiArch is a multi-arch index and the images in it, by
// architecture.
type MultiArch struct {
	Index  v1.ImageIndex
	Images map[string]v1.Image
}

// MultiArchIndex is an OCI index of two random linux images, amd64 and
// arm64/v8, each of two layers.
func MultiArchIndex() (*MultiArch, error) {
	m := &MultiArch{Images: map[string]v1.Image{}}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(1024, 2)
		if err != nil {
			return nil, err
		}
		if img, err = withConfig(img, arch, []string{"/bin/" + arch}); err != nil {
			return nil, err
		}
		p := &v1.Platform{OS: "linux", Architecture: arch}
		if arch == "arm64" {
			p.Variant = "v8"
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
		m.Images[arch] = img
	}
	m.Index = idx
	return m, nil
}

// WhiteoutImage is an OCI image of two layers. The first adds /a/b,
// /a/keep, /c/d and /c/sub/e; the second deletes /a/b with a whiteout
// (/a/.wh.b), makes /c opaque (/c/.wh..wh..opq) and adds /c/new. The
// unpacked root has /a/keep, /c/new and no /a/b, /c/d or /c/sub.
func WhiteoutImage() (v1.Image, error) {
	l1, err := layer(types.OCILayer,
		dir("a/"), file("a/b", "b\n"), file("a/keep", "keep\n"),
		dir("c/"), file("c/d", "d\n"), dir("c/sub/"), file("c/sub/e", "e\n"),
	)
	if err != nil {
		return nil, err
	}
	l2, err := layer(types.OCILayer,
		dir("a/"), file("a/.wh.b", ""),
		dir("c/"), file("c/.wh..wh..opq", ""), file("c/new", "new\n"),
	)
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, l1, l2)
	if err != nil {
		return nil, err
	}
	return withConfig(img, runtime.GOARCH, []string{"/bin/sh"})
}

// RandomImage is a random single-platform image of layers layers of
// about size bytes each, for the host's architecture.
func RandomImage(size, layers int64) (v1.Image, error) {
	img, err := random.Image(size, layers)
	if err != nil {
		return nil, err
	}
	return withConfig(img, runtime.GOARCH, []string{"/bin/true"})
}

// ociImage is an OCI image of layers with the host's architecture.
func ociImage(layers ...v1.Layer) (v1.Image, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return nil, err
	}
	return withConfig(img, runtime.GOARCH, []string{"/bin/true"})
}

// goServerSource is the static web server of GoServerImage: it answers
// "hello" on :8080, or on $ADDR, and prints "listening on ADDR" once it
// listens.
const goServerSource = `package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := ":8080"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	fmt.Fprintln(os.Stderr, http.Serve(ln, nil))
	os.Exit(1)
}
`

// GoServerUID is the user GoServerImage runs as.
const GoServerUID = 65534

// GoServerImage builds a static Go web server (serving "hello" on
// :8080; $ADDR overrides the address) with the go command gobin in
// workDir (CGO_ENABLED=0, -trimpath) and returns a single-layer OCI
// image of it: /server, Entrypoint ["/server"], ExposedPorts 8080/tcp,
// User "65534".
func GoServerImage(gobin, workDir string) (v1.Image, error) {
	if err := os.WriteFile(filepath.Join(workDir, "go.mod"), []byte("module example.com/server\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(workDir, "main.go"), []byte(goServerSource), 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(workDir, "server")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build of the server: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	l, err := layer(types.OCILayer, entry{name: "server", typ: tar.TypeReg, mode: 0o755, body: bin})
	if err != nil {
		return nil, err
	}
	img, err := ociImage(l)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config.Cmd = nil
	cf.Config.Entrypoint = []string{"/server"}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cf.Config.User = strconv.Itoa(GoServerUID)
	return mutate.ConfigFile(img, cf)
}

// EscapeImage is a malicious single-layer image: a directory a/ and a
// file a/ok, then a file named name ("../../escape") whose ".." leave
// the layer.
func EscapeImage(name string) (v1.Image, error) {
	l, err := layer(types.OCILayer, dir("a/"), file("a/ok", "ok\n"), file(name, "escaped\n"))
	if err != nil {
		return nil, err
	}
	return ociImage(l)
}

// SymlinkEscapeImage is a malicious single-layer image: a symlink etc
// pointing to the absolute path target ("/etc"), then a file
// etc/passwd written through it.
func SymlinkEscapeImage(target string) (v1.Image, error) {
	l, err := layer(types.OCILayer,
		entry{name: "etc", typ: tar.TypeSymlink, mode: 0o777, linkname: target},
		file("etc/passwd", "pwned::0:0:cocoon-e2e:/:/bin/sh\n"),
	)
	if err != nil {
		return nil, err
	}
	return ociImage(l)
}

// HardlinkEscapeImage is a malicious single-layer image: a file ok,
// then a hard link named link to target ("../outside"), outside the
// layer.
func HardlinkEscapeImage(target string) (v1.Image, error) {
	l, err := layer(types.OCILayer,
		file("ok", "ok\n"),
		entry{name: "link", typ: tar.TypeLink, mode: 0o644, linkname: target},
	)
	if err != nil {
		return nil, err
	}
	return ociImage(l)
}

// ForgedXattrs are the overlay attributes ForgedXattrImage's entries
// carry as PAX records (SCHILY.xattr.NAME).
var ForgedXattrs = map[string]string{
	"trusted.overlay.opaque":   "y",
	"trusted.overlay.redirect": "/etc",
}

// ForgedXattrImage is a single-layer image whose directory forged/ and
// file forged/file carry forged overlayfs xattrs (ForgedXattrs), which
// a runtime must not apply; it also has an honest file plain.
func ForgedXattrImage() (v1.Image, error) {
	pax := map[string]string{}
	for k, v := range ForgedXattrs {
		pax["SCHILY.xattr."+k] = v
	}
	d := dir("forged/")
	d.pax = pax
	f := file("forged/file", "forged\n")
	f.pax = pax
	l, err := layer(types.OCILayer, d, f, file("plain", "plain\n"))
	if err != nil {
		return nil, err
	}
	return ociImage(l)
}

// BigImage is an OCI image of layers gzip layers, each of files files
// in directories of 100 and about layerBytes bytes of text-like data
// in all: words drawn at random from a vocabulary of random words, so
// that it compresses (to about half) but not trivially. The layers are
// built and compressed in parallel, once; seed makes it reproducible.
func BigImage(layers, files int, layerBytes int64, seed uint64) (v1.Image, error) {
	ls := make([]v1.Layer, layers)
	errs := make([]error, layers)
	var wg sync.WaitGroup
	for i := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls[i], errs[i] = bigLayer(i, files, layerBytes, seed+uint64(i))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ociImage(ls...)
}

func bigLayer(n, files int, size int64, seed uint64) (v1.Layer, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	vocab := make([][]byte, 1024)
	for i := range vocab {
		w := make([]byte, 2+rng.IntN(9))
		for j := range w {
			w[j] = 'a' + byte(rng.IntN(26))
		}
		vocab[i] = w
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	top := fmt.Sprintf("layer%d/", n)
	if err := tw.WriteHeader(&tar.Header{Name: top, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
		return nil, err
	}
	per := size / int64(files)
	var body []byte
	for i := range files {
		if i%100 == 0 {
			d := fmt.Sprintf("%sd%03d/", top, i/100)
			if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
				return nil, err
			}
		}
		// Sizes from per/2 to 3*per/2: about size bytes in all.
		want := per/2 + rng.Int64N(per+1)
		body = body[:0]
		for words := 1; int64(len(body)) < want; words++ {
			body = append(body, vocab[rng.IntN(len(vocab))]...)
			if words%12 == 0 {
				body = append(body, '\n')
			} else {
				body = append(body, ' ')
			}
		}
		body = body[:want]
		hdr := &tar.Header{
			Name: fmt.Sprintf("%sd%03d/f%05d.txt", top, i/100, i), Typeflag: tar.TypeReg,
			Mode: 0o644, Size: want, ModTime: epoch,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
