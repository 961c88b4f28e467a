package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Import stores the images of an archive: a `docker save` tarball
// (manifest.json, with its RepoTags) or an OCI image layout archive
// (index.json; names from the io.containerd.image.name or
// org.opencontainers.image.ref.name annotations). An index in a layout
// is resolved to the store's platform. The archive is unpacked into a
// temporary directory under Root first.
func (s *Store) Import(ctx context.Context, r io.Reader) ([]*Image, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "import-")
	if err != nil {
		return nil, err
	}
	defer removeAll(dir)
	a, err := extractArchive(ctx, dir, r)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	var imgs []*Image
	if _, err := a.resolve("manifest.json"); err == nil {
		imgs, err = s.importDocker(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("import docker archive: %w", err)
		}
	} else if _, err := a.resolve("index.json"); err == nil {
		imgs, err = s.importOCI(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("import OCI layout: %w", err)
		}
	} else {
		return nil, errors.New("import: the archive has neither manifest.json (docker save) nor index.json (OCI layout)")
	}
	if len(imgs) == 0 {
		return nil, errors.New("import: the archive holds no image")
	}
	return imgs, nil
}

// archive is an extracted tar: regular files under dir, links kept in
// a map and resolved within the archive.
type archive struct {
	dir   string
	files map[string]bool
	links map[string]string // name → target name (both archive paths)
}

// extractArchive writes the regular files of the tar r under dir,
// refusing names that leave it.
func extractArchive(ctx context.Context, dir string, r io.Reader) (*archive, error) {
	a := &archive{dir: dir, files: map[string]bool{}, links: map[string]string{}}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read tar: %w", err)
		}
		n, err := cleanArchivePath(h.Name)
		if err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			p := filepath.Join(dir, filepath.FromSlash(n))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return nil, err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(f, ctxReader{ctx, tr})
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, fmt.Errorf("extract %s: %w", n, err)
			}
			a.files[n] = true
			delete(a.links, n)
		case tar.TypeSymlink:
			t := h.Linkname
			if !strings.HasPrefix(t, "/") {
				t = path.Join(path.Dir(n), t)
			}
			t, err := cleanArchivePath(t)
			if err != nil {
				return nil, fmt.Errorf("symlink %s: %w", n, err)
			}
			a.links[n] = t
		case tar.TypeLink:
			t, err := cleanArchivePath(h.Linkname)
			if err != nil {
				return nil, fmt.Errorf("hard link %s: %w", n, err)
			}
			a.links[n] = t
		default:
			// Devices, fifos: nothing an image archive needs.
		}
	}
	return a, nil
}

func cleanArchivePath(n string) (string, error) {
	c := path.Clean("/" + n)[1:]
	if c == "" || strings.Contains(n, "\x00") {
		return "", fmt.Errorf("bad name %q in archive", n)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("name %q in archive leaves it", n)
		}
	}
	return c, nil
}

// resolve returns the host path of archive file n, following links.
func (a *archive) resolve(n string) (string, error) {
	c, err := cleanArchivePath(n)
	if err != nil {
		return "", err
	}
	for range 16 {
		if a.files[c] {
			return filepath.Join(a.dir, filepath.FromSlash(c)), nil
		}
		t, ok := a.links[c]
		if !ok {
			return "", fmt.Errorf("%s: %w in archive", n, fs.ErrNotExist)
		}
		c = t
	}
	return "", fmt.Errorf("%s: too many links", n)
}

func (a *archive) read(n string) ([]byte, error) {
	p, err := a.resolve(n)
	if err != nil {
		return nil, err
	}
	return readSmall(p)
}

// readSmall reads a manifest, index or config file.
func readSmall(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxManifestSize {
		return nil, fmt.Errorf("%s: too large", filepath.Base(p))
	}
	return os.ReadFile(p)
}

// fileDigest hashes a file.
func fileDigest(ctx context.Context, p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return "", 0, err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}

func fileLayer(p, digest string, size int64, mt types.MediaType) layerSource {
	return layerSource{
		digest:    digest,
		size:      size,
		mediaType: mt,
		open:      func(context.Context) (io.ReadCloser, error) { return os.Open(p) },
	}
}

func (s *Store) importDocker(ctx context.Context, a *archive) ([]*Image, error) {
	b, err := a.read("manifest.json")
	if err != nil {
		return nil, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var out []*Image
	for i, d := range m {
		config, err := a.read(d.Config)
		if err != nil {
			return nil, fmt.Errorf("image %d: config: %w", i, err)
		}
		h := sha256.Sum256(config)
		src := &imageSource{
			config:       config,
			configDigest: "sha256:" + hex.EncodeToString(h[:]),
			what:         "import",
		}
		if err := s.checkConfigPlatform(config); err != nil {
			return nil, fmt.Errorf("image %s: %w", src.configDigest, err)
		}
		for _, t := range d.RepoTags {
			r, err := parseReference(t)
			if err != nil {
				return nil, fmt.Errorf("image %s: tag %q: %w", src.configDigest, t, err)
			}
			if r.Tag != "" {
				src.tags = append(src.tags, r.tagName())
			}
		}
		for _, l := range d.Layers {
			p, err := a.resolve(l)
			if err != nil {
				return nil, fmt.Errorf("image %s: layer: %w", src.configDigest, err)
			}
			dg, size, err := fileDigest(ctx, p)
			if err != nil {
				return nil, err
			}
			src.layers = append(src.layers, fileLayer(p, dg, size, types.DockerLayer))
		}
		img, err := s.ingest(ctx, src)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// Annotations naming an image in an OCI layout.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

func (s *Store) importOCI(ctx context.Context, a *archive) ([]*Image, error) {
	b, err := a.read("index.json")
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(strings.NewReader(string(b)))
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	blob := func(d v1.Hash) (string, error) {
		if d.Algorithm != "sha256" || !anchoredHex.MatchString(d.Hex) {
			return "", fmt.Errorf("unsupported digest %s", d)
		}
		return a.resolve("blobs/sha256/" + d.Hex)
	}
	var out []*Image
	for _, desc := range idx.Manifests {
		var r *reference
		for _, k := range []string{annotationContainerdName, annotationRefName} {
			n := desc.Annotations[k]
			if n == "" || !strings.ContainsAny(n, "/:@") {
				continue // OCI's bare "latest" names no repository
			}
			if ref, err := parseReference(n); err == nil {
				r = &ref
				break
			}
		}
		raw := map[string][]byte{}
		top := desc.Digest.String()
		d := desc
		for range 4 {
			p, err := blob(d.Digest)
			if err != nil {
				return nil, err
			}
			mb, err := readSmall(p)
			if err != nil {
				return nil, err
			}
			raw[d.Digest.String()] = mb
			if !d.MediaType.IsIndex() {
				break
			}
			sub, err := v1.ParseIndexManifest(strings.NewReader(string(mb)))
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			child, err := s.pickPlatform(sub)
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			d = *child
		}
		if !d.MediaType.IsImage() {
			return nil, fmt.Errorf("%s: unsupported media type %q", d.Digest, d.MediaType)
		}
		m, err := v1.ParseManifest(strings.NewReader(string(raw[d.Digest.String()])))
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		cp, err := blob(m.Config.Digest)
		if err != nil {
			return nil, err
		}
		config, err := readSmall(cp)
		if err != nil {
			return nil, err
		}
		if err := s.checkConfigPlatform(config); err != nil {
			return nil, fmt.Errorf("image %s: %w", m.Config.Digest, err)
		}
		src := &imageSource{
			raw:          raw,
			config:       config,
			configDigest: m.Config.Digest.String(),
			what:         "import",
		}
		if r != nil {
			if t := r.tagName(); t != "" {
				src.tags = []string{t}
			}
			src.repoDigests = []string{r.digestName(top)}
		}
		for _, l := range m.Layers {
			p, err := blob(l.Digest)
			if err != nil {
				return nil, err
			}
			src.layers = append(src.layers, fileLayer(p, l.Digest.String(), l.Size, l.MediaType))
		}
		img, err := s.ingest(ctx, src)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}
