package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// blobStore keeps content-addressed blobs under <root>/blobs/sha256.
// A blob is written to a temporary file in the same directory, its
// digest checked while writing, fsynced and renamed into place, so a
// blob file that exists is always complete and correct.
type blobStore struct {
	dir string // <root>/blobs/sha256
}

// ErrDigestMismatch is wrapped by the error of a blob whose content
// does not have the digest it was expected to have.
var ErrDigestMismatch = errors.New("digest mismatch")

func newBlobStore(root string) (*blobStore, error) {
	dir := filepath.Join(root, "blobs", "sha256")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := &blobStore{dir: dir}
	// Remove temporary files of writes interrupted by a crash.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "tmp-") {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return b, nil
}

// hexOf returns the hex part of "sha256:<hex>", checking its form.
func hexOf(digest string) (string, error) {
	if !digestRE.MatchString(digest) {
		return "", fmt.Errorf("unsupported digest %q (want sha256:<64 hex>)", digest)
	}
	return digest[len("sha256:"):], nil
}

func (b *blobStore) path(digest string) (string, error) {
	h, err := hexOf(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(b.dir, h), nil
}

// has reports whether the blob exists, with its size.
func (b *blobStore) has(digest string) (int64, bool) {
	p, err := b.path(digest)
	if err != nil {
		return 0, false
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	return fi.Size(), true
}

// open opens a stored blob.
func (b *blobStore) open(digest string) (*os.File, error) {
	p, err := b.path(digest)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// read returns a whole stored blob (for manifests and configs).
func (b *blobStore) read(digest string) ([]byte, error) {
	p, err := b.path(digest)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// write stores the content of r. When expected is not "" the content
// must have that digest (and, when size >= 0, that size): otherwise
// nothing is stored and the error names both digests. It returns the
// digest and size of what was stored.
func (b *blobStore) write(ctx context.Context, expected string, size int64, r io.Reader) (string, int64, error) {
	if expected != "" {
		if _, err := hexOf(expected); err != nil {
			return "", 0, err
		}
		if n, ok := b.has(expected); ok {
			return expected, n, nil
		}
	}
	f, err := os.CreateTemp(b.dir, "tmp-")
	if err != nil {
		return "", 0, err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return "", 0, err
	}
	actual := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if expected != "" && actual != expected {
		return "", 0, fmt.Errorf("blob %s: %w: expected %s, got %s (%d bytes)", expected, ErrDigestMismatch, expected, actual, n)
	}
	if expected != "" && size >= 0 && n != size {
		return "", 0, fmt.Errorf("blob %s: size mismatch: expected %d bytes, got %d", expected, size, n)
	}
	if err := f.Sync(); err != nil {
		return "", 0, err
	}
	if err := f.Close(); err != nil {
		return "", 0, err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return "", 0, err
	}
	dst, _ := b.path(actual)
	if err := os.Rename(tmp, dst); err != nil {
		return "", 0, err
	}
	ok = true
	if err := syncDir(b.dir); err != nil {
		return "", 0, err
	}
	return actual, n, nil
}

// writeBytes stores p, checking it against expected when not "".
func (b *blobStore) writeBytes(ctx context.Context, expected string, p []byte) (string, error) {
	d, _, err := b.write(ctx, expected, int64(len(p)), bytes.NewReader(p))
	return d, err
}

// remove deletes a blob; a missing blob is not an error.
func (b *blobStore) remove(digest string) error {
	p, err := b.path(digest)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// list returns the digests and sizes of all stored blobs.
func (b *blobStore) list() (map[string]int64, error) {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(ents))
	for _, e := range ents {
		if !anchoredHex.MatchString(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out["sha256:"+e.Name()] = fi.Size()
	}
	return out, nil
}

// syncDir fsyncs a directory so a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader fails reads once ctx is done, so long copies stop.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// hashingReader hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func (h *hashingReader) digest() string { return "sha256:" + hex.EncodeToString(h.h.Sum(nil)) }
