package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerSource is a layer blob to store: from a registry or an archive.
type layerSource struct {
	digest    string // sha256:...
	size      int64  // -1 when unknown
	mediaType types.MediaType
	open      func(ctx context.Context) (io.ReadCloser, error)
}

// imageSource is everything ingest needs to store one image.
type imageSource struct {
	// tags and repoDigests are the names the image gets.
	tags        []string
	repoDigests []string
	// raw are manifests and indexes to keep, by digest.
	raw          map[string][]byte
	config       []byte
	configDigest string
	layers       []layerSource
	// retry registry fetches that fail transiently.
	retry bool
	// what is reported in progress logs.
	what string
}

// ingest stores src: blobs (verified), snapshots (unpacked once,
// shared), then the image record. Content stays leased from GC until
// the record that references it is committed.
func (s *Store) ingest(ctx context.Context, src *imageSource) (*Image, error) {
	var cfg v1.ConfigFile
	if err := json.Unmarshal(src.config, &cfg); err != nil {
		return nil, fmt.Errorf("image config %s: %w", src.configDigest, err)
	}
	if cfg.RootFS.Type != "" && cfg.RootFS.Type != "layers" {
		return nil, fmt.Errorf("image config %s: unsupported rootfs type %q", src.configDigest, cfg.RootFS.Type)
	}
	if len(cfg.RootFS.DiffIDs) != len(src.layers) {
		return nil, fmt.Errorf("image config %s: %d diff IDs for %d layers", src.configDigest, len(cfg.RootFS.DiffIDs), len(src.layers))
	}
	diffIDs := make([]string, len(cfg.RootFS.DiffIDs))
	for i, d := range cfg.RootFS.DiffIDs {
		diffIDs[i] = d.String()
		if !digestRE.MatchString(diffIDs[i]) {
			return nil, fmt.Errorf("image config %s: unsupported diff ID %q", src.configDigest, diffIDs[i])
		}
	}
	chains := chainIDs(diffIDs)

	keys := []string{src.configDigest}
	for d := range src.raw {
		keys = append(keys, d)
	}
	for _, l := range src.layers {
		keys = append(keys, l.digest)
	}
	for _, c := range chains {
		keys = append(keys, "snapshot:"+c)
	}
	release := s.lease(keys...)
	defer release()

	for d, b := range src.raw {
		if _, err := s.blobs.writeBytes(ctx, d, b); err != nil {
			return nil, err
		}
	}
	if _, err := s.blobs.writeBytes(ctx, src.configDigest, src.config); err != nil {
		return nil, err
	}

	// Progress of what has to be downloaded.
	var total int64
	for _, l := range src.layers {
		if _, ok := s.blobs.has(l.digest); !ok && l.size > 0 {
			total += l.size
		}
	}
	var done atomic.Int64
	if total > 0 {
		stop := s.progress(src.what, &done, total)
		defer stop()
	}

	// Layers: fetch and unpack, a few at a time.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(src.layers))
	sem := make(chan struct{}, s.opts.Jobs)
	var wg sync.WaitGroup
	for i := range src.layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			l := src.layers[i]
			if err := s.fetchLayer(ctx, l, src.retry, &done); err != nil {
				errs[i] = err
				cancel()
				return
			}
			parent := ""
			if i > 0 {
				parent = chains[i-1]
			}
			sl := &storedLayer{blobs: s.blobs, digest: l.digest, mt: l.mediaType}
			sl.size, _ = s.blobs.has(l.digest)
			if err := s.unpackLayer(ctx, sl, diffIDs[i], chains[i], parent); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}

	var size uint64
	for _, c := range chains {
		if r, _ := s.meta.snapshot(c); r != nil {
			size += uint64(r.Size)
		}
	}
	rec := &imageRecord{
		ID:          src.configDigest,
		RepoTags:    slices.Clone(src.tags),
		RepoDigests: slices.Clone(src.repoDigests),
		Size:        size,
		Config:      src.config,
		ChainIDs:    chains,
		DiffIDs:     diffIDs,
		Created:     time.Now().UTC(),
	}
	rec.UID, rec.Username = parseUser(cfg.Config.User)
	rec.Blobs = append(rec.Blobs, src.configDigest)
	for d := range src.raw {
		rec.Blobs = append(rec.Blobs, d)
	}
	for _, l := range src.layers {
		rec.Blobs = append(rec.Blobs, l.digest)
	}
	slices.Sort(rec.Blobs)
	rec.Blobs = slices.Compact(rec.Blobs)
	s.mu.Lock()
	rec, err := s.meta.putImage(rec)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return rec.image(), nil
}

// firstError returns the first error that is not a cancellation caused
// by another error, or the first error.
func firstError(errs []error) error {
	var first error
	for _, e := range errs {
		if e == nil {
			continue
		}
		if first == nil {
			first = e
		}
		if !errors.Is(e, context.Canceled) {
			return e
		}
	}
	return first
}

// fetchLayer stores a layer blob unless present, retrying transient
// failures of registry fetches (the whole blob is fetched again).
func (s *Store) fetchLayer(ctx context.Context, l layerSource, retry bool, done *atomic.Int64) error {
	unlock := s.keyLock("blob " + l.digest)
	defer unlock()
	if _, ok := s.blobs.has(l.digest); ok {
		return nil
	}
	attempts := 1
	if retry {
		attempts = s.opts.RetryAttempts
	}
	err := s.retry(ctx, attempts, "fetch layer "+l.digest, func() error {
		rc, err := l.open(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		cr := &countingReader{r: rc, n: done}
		_, _, err = s.blobs.write(ctx, l.digest, l.size, cr)
		if err != nil {
			// What was counted is fetched again.
			done.Add(-cr.read)
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("fetch layer %s: %w", l.digest, err)
	}
	return err
}

// parseUser splits a config's User ("uid", "uid:gid", "name",
// "name:group") as containerd's CRI does.
func parseUser(u string) (*int64, string) {
	u, _, _ = strings.Cut(u, ":")
	if u == "" {
		return nil, ""
	}
	if n, err := strconv.ParseInt(u, 10, 64); err == nil {
		return &n, ""
	}
	return nil, u
}

type countingReader struct {
	r    io.Reader
	n    *atomic.Int64
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	c.n.Add(int64(n))
	return n, err
}

// progress logs done/total every ProgressInterval until stopped.
func (s *Store) progress(what string, done *atomic.Int64, total int64) func() {
	stop := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(s.opts.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.log.Info("pulling image", "image", what, "bytes", done.Load(), "total", total,
					"elapsed", time.Since(start).Round(time.Second).String())
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop) }) }
}
