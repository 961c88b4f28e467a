package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// Fuzz targets for the image metadata the store parses: references, and
// the manifests, indexes and configs of an imported archive (the same
// parsers and checks a pull runs on what a registry serves). `go test`
// runs the seeds; `go test -fuzz '^FuzzX$'` explores.

// Placeholders a fuzzed document may hold for the digests of the blobs the
// test archive carries, so that mutations keep the cross-references
// between documents valid and reach the code behind them: the fuzzer
// cannot compute a sha256.
const (
	phLayer    = "@LAYER@"    // the layer blob's digest (also its diff ID: it is an uncompressed tar)
	phConfig   = "@CONFIG@"   // the config blob's digest
	phManifest = "@MANIFEST@" // the manifest blob's digest
)

func sha256Digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// fuzzLayer is a small uncompressed layer: a directory and a file.
func fuzzLayer(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeTarEntries(tb, tw, []tarEntry{
		{hdr: tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644}, data: "fuzz\n"},
	})
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// tarEntry is one entry of a tar built by a test; data is the content of
// a regular file (the header's Size is set from it).
type tarEntry struct {
	hdr  tar.Header
	data string
}

func writeTarEntries(tb testing.TB, tw *tar.Writer, entries []tarEntry) {
	tb.Helper()
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatalf("%s: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			tb.Fatalf("%s: %v", h.Name, err)
		}
	}
}

func tarOf(tb testing.TB, entries []tarEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeTarEntries(tb, tw, entries)
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// fuzzStore opens a store for a fuzz target, shared by its iterations: the
// store is content-addressed, so what one iteration leaves does not change
// what the next may do, and opening one (bbolt, GC) per input would
// dominate the run.
func fuzzStore(f *testing.F) (*Store, string) {
	f.Helper()
	root := f.TempDir()
	s, err := New(context.Background(), Options{Root: root, HostsDir: "-", NoGCOnOpen: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	return s, root
}

// checkImported checks what Import returned and left behind: images the
// store can find again by ID, and no temporary directory.
func checkImported(t *testing.T, s *Store, root string, imgs []*Image, err error) {
	t.Helper()
	ctx := context.Background()
	if err == nil {
		if len(imgs) == 0 {
			t.Error("Import succeeded with no image")
		}
		for _, img := range imgs {
			if !digestRE.MatchString(img.ID) {
				t.Errorf("image ID %q", img.ID)
			}
			got, err := s.Status(ctx, img.ID)
			if err != nil || got == nil || got.ID != img.ID {
				t.Errorf("Status(%s) = %v, %v", img.ID, got, err)
			}
			for _, c := range img.ChainIDs {
				if !s.snapshotExists(c) {
					t.Errorf("image %s: snapshot %s missing", img.ID, c)
				}
			}
		}
	}
	for _, d := range []string{filepath.Join(root, "tmp"), filepath.Join(root, "snapshots")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "import-") || strings.HasPrefix(e.Name(), "tmp-") {
				t.Errorf("%s left in %s", e.Name(), d)
			}
		}
	}
}

// FuzzImportOCI imports an OCI layout whose index.json, manifest and
// config are fuzzed; the layout also holds one valid layer.
func FuzzImportOCI(f *testing.F) {
	layer := fuzzLayer(f)
	config := `{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"],"User":"1000:1000"},"rootfs":{"type":"layers","diff_ids":["@LAYER@"]}}`
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@CONFIG@","size":1},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"@LAYER@","size":1}]}`
	index := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@MANIFEST@","size":1,` +
		`"annotations":{"org.opencontainers.image.ref.name":"example.com/fuzz:1"}}]}`
	// An index whose only entry is an index: itself, through the manifest blob.
	nested := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@MANIFEST@","size":1}]}`
	platformIndex := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@CONFIG@","size":1,"platform":{"os":"linux","architecture":"arm64"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@MANIFEST@","size":1,"platform":{"os":"linux","architecture":"amd64","variant":"v9"}}]}`
	f.Add([]byte(index), []byte(manifest), []byte(config))
	f.Add([]byte(nested), []byte(nested), []byte(config))
	f.Add([]byte(nested), []byte(platformIndex), []byte(config))
	f.Add([]byte(index), []byte(manifest), []byte(`{"os":"windows","rootfs":{"diff_ids":["@LAYER@"]}}`))
	f.Add([]byte(index), []byte(manifest), []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`))
	f.Add([]byte(index), []byte(manifest), []byte(`{"rootfs":{"type":"layers","diff_ids":["sha512:00"]}}`))
	f.Add([]byte(index), []byte(manifest), []byte(`{"rootfs":{"type":"layers","diff_ids":["@CONFIG@"]}}`))
	f.Add([]byte(index), []byte(strings.ReplaceAll(manifest, `"@CONFIG@"`, `"sha256:../../../etc/passwd"`)), []byte(config))
	f.Add([]byte(index), []byte(strings.ReplaceAll(manifest, `"@LAYER@"`, `"@MANIFEST@"`)), []byte(config))
	f.Add([]byte(strings.ReplaceAll(index, "example.com/fuzz:1", "UPPER/case@sha256:1")), []byte(manifest), []byte(config))
	f.Add([]byte(`{"manifests":[{}]}`), []byte(manifest), []byte(config))
	f.Add([]byte(`null`), []byte(`null`), []byte(`null`))

	s, root := fuzzStore(f)
	f.Fuzz(func(t *testing.T, indexJSON, manifestJSON, configJSON []byte) {
		layerDigest := sha256Digest(layer)
		cfg := bytes.ReplaceAll(configJSON, []byte(phLayer), []byte(layerDigest))
		cfgDigest := sha256Digest(cfg)
		subst := func(b []byte) []byte {
			b = bytes.ReplaceAll(b, []byte(phLayer), []byte(layerDigest))
			return bytes.ReplaceAll(b, []byte(phConfig), []byte(cfgDigest))
		}
		man := subst(manifestJSON)
		manDigest := sha256Digest(man)
		idx := bytes.ReplaceAll(subst(indexJSON), []byte(phManifest), []byte(manDigest))
		blob := func(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }
		archive := tarOf(t, []tarEntry{
			{hdr: tar.Header{Name: "oci-layout", Typeflag: tar.TypeReg, Mode: 0o644}, data: `{"imageLayoutVersion":"1.0.0"}`},
			{hdr: tar.Header{Name: "index.json", Typeflag: tar.TypeReg, Mode: 0o644}, data: string(idx)},
			{hdr: tar.Header{Name: blob(layerDigest), Typeflag: tar.TypeReg, Mode: 0o644}, data: string(layer)},
			{hdr: tar.Header{Name: blob(cfgDigest), Typeflag: tar.TypeReg, Mode: 0o644}, data: string(cfg)},
			{hdr: tar.Header{Name: blob(manDigest), Typeflag: tar.TypeReg, Mode: 0o644}, data: string(man)},
		})
		imgs, err := s.Import(context.Background(), bytes.NewReader(archive))
		checkImported(t, s, root, imgs, err)
	})
}

// FuzzImportDocker imports a `docker save` archive whose manifest.json and
// config are fuzzed; the archive also holds one valid layer, and a
// symlink to the config.
func FuzzImportDocker(f *testing.F) {
	layer := fuzzLayer(f)
	config := `{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/app"]},"rootfs":{"type":"layers","diff_ids":["@LAYER@"]}}`
	f.Add([]byte(`[{"Config":"config.json","RepoTags":["example.com/a:1","busybox"],"Layers":["layer.tar"]}]`), []byte(config))
	f.Add([]byte(`[{"Config":"alias.json","RepoTags":[],"Layers":["layer.tar","layer.tar"]}]`), []byte(config))
	f.Add([]byte(`[{"Config":"config.json","Layers":["/layer.tar"]},{"Config":"config.json","Layers":["layer.tar"]}]`), []byte(config))
	f.Add([]byte(`[{"Config":"../config.json","Layers":["layer.tar"]}]`), []byte(config))
	f.Add([]byte(`[{"Config":"alias.json","RepoTags":["a@sha256:00","B:1",":"],"Layers":[]}]`), []byte(`{"rootfs":{}}`))
	f.Add([]byte(`[{"Config":"config.json","Layers":["loop"]}]`), []byte(config))
	f.Add([]byte(`{}`), []byte(``))

	s, root := fuzzStore(f)
	f.Fuzz(func(t *testing.T, manifestJSON, configJSON []byte) {
		cfg := bytes.ReplaceAll(configJSON, []byte(phLayer), []byte(sha256Digest(layer)))
		archive := tarOf(t, []tarEntry{
			{hdr: tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644}, data: string(manifestJSON)},
			{hdr: tar.Header{Name: "config.json", Typeflag: tar.TypeReg, Mode: 0o644}, data: string(cfg)},
			{hdr: tar.Header{Name: "alias.json", Typeflag: tar.TypeSymlink, Linkname: "config.json"}},
			{hdr: tar.Header{Name: "loop", Typeflag: tar.TypeSymlink, Linkname: "loop"}},
			{hdr: tar.Header{Name: "layer.tar", Typeflag: tar.TypeReg, Mode: 0o644}, data: string(layer)},
		})
		imgs, err := s.Import(context.Background(), bytes.NewReader(archive))
		checkImported(t, s, root, imgs, err)
	})
}

// FuzzNormalize parses image references as CRI requests and archive
// annotations carry them: normalising must be idempotent and produce a
// reference go-containerregistry accepts.
func FuzzNormalize(f *testing.F) {
	for _, r := range []string{
		"busybox", "busybox:1", "library/busybox", "docker.io/busybox", "index.docker.io/library/busybox:latest",
		"localhost:5000/a/b:c", "localhost/x", "Foo/bar", "a:b:c", "a@sha256:" + strings.Repeat("0", 64),
		"a:1@sha256:" + strings.Repeat("f", 64), strings.Repeat("a", 64), "registry.example.com:443/p/q@sha256:x",
		" busybox", "a//b", "a/", "_/a", "a--b/c__d", "[::1]:5000/a", "xn--bcher-kva.example/a",
	} {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		n, err := Normalize(ref)
		if err != nil {
			return
		}
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, whose normal form is %q, %v", ref, n, again, err)
		}
		if _, err := name.ParseReference(n, name.StrictValidation); err != nil {
			t.Errorf("Normalize(%q) = %q, which go-containerregistry refuses: %v", ref, n, err)
		}
	})
}
