package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cocoonrt/cocoon/image/unpack"
)

// DefaultRoot is where the store keeps its state by default.
const DefaultRoot = "/var/lib/cocoon/image"

// DefaultHostsDir is where registry configuration (hosts.toml) is read.
const DefaultHostsDir = "/etc/cocoon/certs.d"

// Options configure a Store. The zero value is usable.
type Options struct {
	// Root is the state directory (default DefaultRoot): blobs/,
	// snapshots/, containers/ and meta.db.
	Root string
	// HostsDir holds <registry>/hosts.toml (default DefaultHostsDir;
	// "-" reads none).
	HostsDir string
	// Logger receives pull progress and GC reports (default: discard).
	Logger *slog.Logger
	// Platform is what an index is resolved to (default linux/amd64).
	Platform *v1.Platform
	// ProgressInterval is how often a long pull logs progress
	// (default 5s).
	ProgressInterval time.Duration
	// RetryAttempts is how often a registry request that fails
	// transiently is tried in all (default 4); RetryBackoff is the
	// first wait between tries, doubling after each (default 500ms).
	RetryAttempts int
	RetryBackoff  time.Duration
	// Jobs is how many layers are fetched at once (default 3).
	Jobs int
	// Unpack extracts an uncompressed layer tar into an empty
	// directory (default unpack.Apply). Tests replace it.
	Unpack func(ctx context.Context, dir string, r io.Reader) (unpack.Stats, error)
	// NoGCOnOpen skips the garbage collection New runs.
	NoGCOnOpen bool
}

// Store is the image store. It implements Service.
type Store struct {
	root     string
	hostsDir string
	log      *slog.Logger
	platform v1.Platform
	opts     Options
	blobs    *blobStore
	meta     *metadata
	unpack   func(ctx context.Context, dir string, r io.Reader) (unpack.Stats, error)
	tr       transports
	flights  flightGroup

	// mu orders changes of what references content (image and
	// container records, leases) against garbage collection.
	mu sync.Mutex
	// leases are blobs and snapshots that pulls and imports in
	// progress are writing: GC keeps them.
	leases map[string]int

	keysMu sync.Mutex
	keys   map[string]*keyLockEntry
}

var _ Service = (*Store)(nil)

// New opens (creating if needed) the store at opts.Root. Interrupted
// writes of an earlier run are cleaned and unreferenced content is
// collected.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.Root == "" {
		opts.Root = DefaultRoot
	}
	if opts.HostsDir == "" {
		opts.HostsDir = DefaultHostsDir
	} else if opts.HostsDir == "-" {
		opts.HostsDir = ""
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 5 * time.Second
	}
	if opts.RetryAttempts <= 0 {
		opts.RetryAttempts = 4
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 500 * time.Millisecond
	}
	if opts.Jobs <= 0 {
		opts.Jobs = 3
	}
	if opts.Unpack == nil {
		opts.Unpack = unpack.Apply
	}
	plat := v1.Platform{OS: "linux", Architecture: "amd64"}
	if opts.Platform != nil {
		plat = *opts.Platform
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{root, filepath.Join(root, "snapshots"), filepath.Join(root, "containers"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// Interrupted unpacks, removals and imports.
	for _, d := range []string{filepath.Join(root, "snapshots"), filepath.Join(root, "tmp")} {
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if d != filepath.Join(root, "snapshots") || strings.HasPrefix(e.Name(), "tmp-") {
				if err := removeAll(filepath.Join(d, e.Name())); err != nil {
					return nil, err
				}
			}
		}
	}
	blobs, err := newBlobStore(root)
	if err != nil {
		return nil, err
	}
	meta, err := openMetadata(root)
	if err != nil {
		return nil, err
	}
	s := &Store{
		root:     root,
		hostsDir: opts.HostsDir,
		log:      opts.Logger,
		platform: plat,
		opts:     opts,
		blobs:    blobs,
		meta:     meta,
		unpack:   opts.Unpack,
		leases:   map[string]int{},
		keys:     map[string]*keyLockEntry{},
	}
	if !opts.NoGCOnOpen {
		if err := s.GC(ctx); err != nil {
			meta.close()
			return nil, fmt.Errorf("image store gc: %w", err)
		}
	}
	return s, nil
}

// Close closes the metadata database. Pulls in progress fail.
func (s *Store) Close() error { return s.meta.close() }

// Root is the store's state directory.
func (s *Store) Root() string { return s.root }

// List returns the images matching f, sorted by ID.
func (s *Store) List(ctx context.Context, f Filter) ([]*Image, error) {
	if f.Image != "" {
		img, err := s.Status(ctx, f.Image)
		if err != nil || img == nil {
			return nil, err
		}
		return []*Image{img}, nil
	}
	recs, err := s.meta.images()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.image())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Status returns the image ref names (tag, digest reference, ID or
// unique ID prefix) or nil when there is none.
func (s *Store) Status(ctx context.Context, ref string) (*Image, error) {
	rec, err := s.meta.lookup(ref)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return rec.image(), nil
}

// Remove removes the image ref names with all its tags and digests (as
// containerd's CRI does, whichever name is given), then collects the
// content nothing else uses. A missing image is not an error.
func (s *Store) Remove(ctx context.Context, ref string) error {
	s.mu.Lock()
	rec, err := s.meta.lookup(ref)
	if errors.Is(err, errNotFound) {
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	err = s.meta.deleteImage(rec.ID)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.log.Info("image removed", "id", rec.ID, "tags", rec.RepoTags)
	return s.GC(ctx)
}

// lease protects keys (blob digests, "snapshot:"+chain IDs) from GC
// until the returned function is called.
func (s *Store) lease(keys ...string) func() {
	s.mu.Lock()
	for _, k := range keys {
		s.leases[k]++
	}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			for _, k := range keys {
				if s.leases[k]--; s.leases[k] <= 0 {
					delete(s.leases, k)
				}
			}
			s.mu.Unlock()
		})
	}
}

type keyLockEntry struct {
	mu   sync.Mutex
	refs int
}

// keyLock serialises work on one key (a blob or snapshot being
// written by concurrent pulls of different images sharing it).
func (s *Store) keyLock(key string) func() {
	s.keysMu.Lock()
	e := s.keys[key]
	if e == nil {
		e = &keyLockEntry{}
		s.keys[key] = e
	}
	e.refs++
	s.keysMu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		s.keysMu.Lock()
		if e.refs--; e.refs == 0 {
			delete(s.keys, key)
		}
		s.keysMu.Unlock()
	}
}
