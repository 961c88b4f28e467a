package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// GC deletes the blobs and snapshots that no image, no container's
// rootfs and no pull in progress references, and the directories of
// containers that have no record (left by a crash). It runs after
// Remove and when the store opens.
func (s *Store) GC(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	liveBlobs := map[string]bool{}
	liveSnaps := map[string]bool{}
	imgs, err := s.meta.images()
	if err != nil {
		return err
	}
	for _, r := range imgs {
		for _, b := range r.Blobs {
			liveBlobs[b] = true
		}
		for _, c := range r.ChainIDs {
			liveSnaps[c] = true
		}
	}
	ctrs, err := s.meta.containers()
	if err != nil {
		return err
	}
	for _, c := range ctrs {
		for _, id := range c.ChainIDs {
			liveSnaps[id] = true
		}
	}
	for k := range s.leases {
		if c, ok := strings.CutPrefix(k, "snapshot:"); ok {
			liveSnaps[c] = true
		} else {
			liveBlobs[k] = true
		}
	}

	var errs []error
	var nBlobs, nSnaps int
	var freed int64
	blobs, err := s.blobs.list()
	if err != nil {
		return err
	}
	for d, size := range blobs {
		if liveBlobs[d] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.blobs.remove(d); err != nil {
			errs = append(errs, err)
			continue
		}
		nBlobs++
		freed += size
	}

	recs, err := s.meta.snapshots()
	if err != nil {
		return err
	}
	snapDir := filepath.Join(s.root, "snapshots")
	ents, err := os.ReadDir(snapDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "tmp-") || !anchoredHex.MatchString(e.Name()) {
			continue
		}
		id := "sha256:" + e.Name()
		if liveSnaps[id] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Rename first so a crash mid-removal leaves a tmp- directory
		// (cleaned on open), never a partial snapshot.
		dir := filepath.Join(snapDir, e.Name())
		tmp, err := os.MkdirTemp(snapDir, "tmp-rm-")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gone := filepath.Join(tmp, "x")
		if err := os.Rename(dir, gone); err != nil {
			errs = append(errs, err)
			os.Remove(tmp)
			continue
		}
		if r, ok := recs[id]; ok {
			freed += r.Size
		}
		if err := removeAll(tmp); err != nil {
			errs = append(errs, err)
		}
		nSnaps++
	}
	for id := range recs {
		if !liveSnaps[id] || !s.snapshotExists(id) {
			if err := s.meta.deleteSnapshot(id); err != nil {
				errs = append(errs, err)
			}
		}
	}

	// Writable layers without a record.
	cdir := filepath.Join(s.root, "containers")
	if ents, err := os.ReadDir(cdir); err == nil {
		for _, e := range ents {
			if _, ok := ctrs[e.Name()]; !ok {
				if err := removeAll(filepath.Join(cdir, e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if nBlobs+nSnaps > 0 {
		s.log.Info("image gc", "blobs", nBlobs, "snapshots", nSnaps, "freed_bytes", freed)
	}
	return errors.Join(errs...)
}
