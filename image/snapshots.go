package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cocoonrt/cocoon/internal/ident"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	bolt "go.etcd.io/bbolt"

	"github.com/cocoonrt/cocoon/image/unpack"
)

// chainIDs computes the chain IDs of a layer stack from its diff IDs:
// chain(0) = diff(0), chain(n) = sha256(chain(n-1) + " " + diff(n)).
func chainIDs(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

// snapshotDir is the directory of the snapshot of a chain ID.
func (s *Store) snapshotDir(chainID string) string {
	return filepath.Join(s.root, "snapshots", strings.TrimPrefix(chainID, "sha256:"))
}

// snapshotExists reports whether the snapshot of chainID is unpacked.
func (s *Store) snapshotExists(chainID string) bool {
	fi, err := os.Stat(s.snapshotDir(chainID))
	return err == nil && fi.IsDir()
}

// storedLayer is a layer blob in the blob store, as a ggcr compressed
// layer so that its Uncompressed() handles gzip, zstd and plain tars.
type storedLayer struct {
	blobs  *blobStore
	digest string
	size   int64
	mt     types.MediaType
}

func (l *storedLayer) Digest() (v1.Hash, error)            { return v1.NewHash(l.digest) }
func (l *storedLayer) Size() (int64, error)                { return l.size, nil }
func (l *storedLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *storedLayer) Compressed() (io.ReadCloser, error)  { return l.blobs.open(l.digest) }

// unpackLayer unpacks the stored layer blob into the snapshot of
// chainID unless it exists: into snapshots/tmp-* first, renamed into
// place when complete, so that no partial snapshot is ever visible. The
// uncompressed content must have digest diffID.
func (s *Store) unpackLayer(ctx context.Context, l *storedLayer, diffID, chainID, parent string) error {
	unlock := s.keyLock("snapshot " + chainID)
	defer unlock()
	if s.snapshotExists(chainID) {
		if rec, _ := s.meta.snapshot(chainID); rec == nil {
			// Renamed but not recorded before a crash: account for it now.
			size, entries := duDir(s.snapshotDir(chainID))
			return s.meta.putSnapshot(chainID, snapshotRecord{DiffID: diffID, Parent: parent, Size: size, Entries: entries})
		}
		return nil
	}
	layer, err := partial.CompressedToLayer(l)
	if err != nil {
		return err
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.digest, err)
	}
	defer rc.Close()
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "snapshots"), "tmp-")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			removeAll(tmp)
		}
	}()
	// Apply works in an empty directory that becomes the snapshot root.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	hr := &hashingReader{r: ctxReader{ctx, rc}, h: sha256.New()}
	st, err := s.unpack(ctx, tmp, hr)
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.digest, err)
	}
	// Read any padding Apply left so the digest covers the whole stream.
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return fmt.Errorf("layer %s: %w", l.digest, err)
	}
	if got := hr.digest(); got != diffID {
		return fmt.Errorf("layer %s: %w: uncompressed content: expected diff ID %s, got %s", l.digest, ErrDigestMismatch, diffID, got)
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.snapshotDir(chainID)); err != nil {
		return err
	}
	done = true
	if err := syncDir(filepath.Join(s.root, "snapshots")); err != nil {
		return err
	}
	return s.meta.putSnapshot(chainID, snapshotRecord{DiffID: diffID, Parent: parent, Size: st.Size, Entries: int64(st.Entries)})
}

// maxContainerIDLen bounds container IDs, which name a directory.
const maxContainerIDLen = 128

// PrepareRootfs makes the writable layer of container containerID over
// image imageID (an ID, tag or digest reference): it returns the
// overlayfs lower directories (topmost first, as overlayfs's lowerdir
// option lists them), and the upper and work directories
// (containers/<id>/{upper,work}). Until RemoveRootfs the image's
// content is kept even if the image is removed. Preparing an existing
// container again returns its directories.
func (s *Store) PrepareRootfs(ctx context.Context, containerID, imageID string) (lowerDirs []string, upper, work string, err error) {
	if !ident.Valid(containerID, maxContainerIDLen) {
		return nil, "", "", fmt.Errorf("invalid container ID %q", containerID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.meta.lookup(imageID)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return nil, "", "", fmt.Errorf("image %q: %w", imageID, errNotFound)
		}
		return nil, "", "", err
	}
	for _, c := range rec.ChainIDs {
		if !s.snapshotExists(c) {
			return nil, "", "", fmt.Errorf("image %s: snapshot %s is missing", rec.ID, c)
		}
	}
	dir := filepath.Join(s.root, "containers", containerID)
	err = s.meta.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketContainers)
		old, err := getJSON[containerRecord](b, containerID)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ImageID != rec.ID {
				return fmt.Errorf("container %s already uses image %s", containerID, old.ImageID)
			}
			return nil
		}
		return putJSON(b, containerID, containerRecord{ImageID: rec.ID, ChainIDs: rec.ChainIDs, Created: time.Now().UTC()})
	})
	if err != nil {
		return nil, "", "", err
	}
	upper, work = filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", "", err
		}
	}
	for i := len(rec.ChainIDs) - 1; i >= 0; i-- {
		lowerDirs = append(lowerDirs, s.snapshotDir(rec.ChainIDs[i]))
	}
	return lowerDirs, upper, work, nil
}

// RemoveRootfs deletes the writable layer of containerID and releases
// the image content it used (collected by the next GC). A missing
// container is not an error.
func (s *Store) RemoveRootfs(ctx context.Context, containerID string) error {
	if !ident.Valid(containerID, maxContainerIDLen) {
		return fmt.Errorf("invalid container ID %q", containerID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := removeAll(filepath.Join(s.root, "containers", containerID)); err != nil {
		return err
	}
	return s.meta.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketContainers).Delete([]byte(containerID))
	})
}

// removeAll removes a tree, making directories writable when needed
// (layers may hold read-only directories).
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// duDir sums the sizes of the regular files under dir and counts its
// entries.
func duDir(dir string) (size, entries int64) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p == dir {
			return nil
		}
		entries++
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	return size, entries
}

// unpackStats is what an unpack function reports.
type unpackStats = unpack.Stats
