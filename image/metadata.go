package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of meta.db.
var (
	bucketImages     = []byte("images")     // image ID → imageRecord
	bucketNames      = []byte("names")      // repo:tag or repo@digest → image ID
	bucketSnapshots  = []byte("snapshots")  // chain ID → snapshotRecord
	bucketContainers = []byte("containers") // container ID → containerRecord
)

// imageRecord is an image as stored in meta.db.
type imageRecord struct {
	ID          string   `json:"id"`
	RepoTags    []string `json:"repoTags,omitempty"`
	RepoDigests []string `json:"repoDigests,omitempty"`
	Size        uint64   `json:"size"`
	UID         *int64   `json:"uid,omitempty"`
	Username    string   `json:"username,omitempty"`
	Config      []byte   `json:"config"`
	ChainIDs    []string `json:"chainIDs"`
	DiffIDs     []string `json:"diffIDs"`
	// Blobs are every blob the image holds: indexes, manifests, the
	// config and the layers.
	Blobs   []string  `json:"blobs"`
	Created time.Time `json:"created"`
}

func (r *imageRecord) image() *Image {
	img := &Image{
		ID:          r.ID,
		RepoTags:    slices.Clone(r.RepoTags),
		RepoDigests: slices.Clone(r.RepoDigests),
		Size:        r.Size,
		Username:    r.Username,
		Config:      slices.Clone(r.Config),
		ChainIDs:    slices.Clone(r.ChainIDs),
		Created:     r.Created,
	}
	if r.UID != nil {
		u := *r.UID
		img.UID = &u
	}
	return img
}

// snapshotRecord is the accounting of one unpacked layer.
type snapshotRecord struct {
	DiffID string `json:"diffID"`
	Parent string `json:"parent,omitempty"`
	// Size is the bytes of file data, Entries the tar entries.
	Size    int64 `json:"size"`
	Entries int64 `json:"entries"`
}

// containerRecord is a container's writable layer and what it uses.
type containerRecord struct {
	ImageID  string    `json:"imageID"`
	ChainIDs []string  `json:"chainIDs"`
	Created  time.Time `json:"created"`
}

// metadata is meta.db.
type metadata struct {
	db *bolt.DB
}

func openMetadata(root string) (*metadata, error) {
	db, err := bolt.Open(filepath.Join(root, "meta.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Join(root, "meta.db"), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketImages, bucketNames, bucketSnapshots, bucketContainers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &metadata{db: db}, nil
}

func (m *metadata) close() error { return m.db.Close() }

func getJSON[T any](b *bolt.Bucket, key string) (*T, error) {
	v := b.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	var t T
	if err := json.Unmarshal(v, &t); err != nil {
		return nil, fmt.Errorf("meta.db: decode %s: %w", key, err)
	}
	return &t, nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	p, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), p)
}

// errNotFound is returned by lookups of a missing image.
var errNotFound = errors.New("image not found")

// errAmbiguous is returned for an ID prefix several images share.
var errAmbiguous = errors.New("ambiguous image ID prefix")

// putImage stores rec, merging it into an existing record of the same
// ID and moving its names to it from any other image.
func (m *metadata) putImage(rec *imageRecord) (*imageRecord, error) {
	var out *imageRecord
	err := m.db.Update(func(tx *bolt.Tx) error {
		images, names := tx.Bucket(bucketImages), tx.Bucket(bucketNames)
		old, err := getJSON[imageRecord](images, rec.ID)
		if err != nil {
			return err
		}
		if old != nil {
			for _, t := range old.RepoTags {
				if !slices.Contains(rec.RepoTags, t) {
					rec.RepoTags = append(rec.RepoTags, t)
				}
			}
			for _, d := range old.RepoDigests {
				if !slices.Contains(rec.RepoDigests, d) {
					rec.RepoDigests = append(rec.RepoDigests, d)
				}
			}
			for _, b := range old.Blobs {
				if !slices.Contains(rec.Blobs, b) {
					rec.Blobs = append(rec.Blobs, b)
				}
			}
			rec.Created = old.Created
		}
		slices.Sort(rec.RepoTags)
		slices.Sort(rec.RepoDigests)
		for _, n := range append(slices.Clone(rec.RepoTags), rec.RepoDigests...) {
			prev := string(names.Get([]byte(n)))
			if prev != "" && prev != rec.ID {
				// The name moves: drop it from the image it named.
				p, err := getJSON[imageRecord](images, prev)
				if err != nil {
					return err
				}
				if p != nil {
					p.RepoTags = slices.DeleteFunc(p.RepoTags, func(s string) bool { return s == n })
					p.RepoDigests = slices.DeleteFunc(p.RepoDigests, func(s string) bool { return s == n })
					if err := putJSON(images, prev, p); err != nil {
						return err
					}
				}
			}
			if err := names.Put([]byte(n), []byte(rec.ID)); err != nil {
				return err
			}
		}
		out = rec
		return putJSON(images, rec.ID, rec)
	})
	return out, err
}

// lookup finds the image ref names: an ID ("sha256:<hex>" or a unique
// prefix of it, with or without "sha256:"), or a tag or digest
// reference. It returns errNotFound when there is none.
func (m *metadata) lookup(ref string) (*imageRecord, error) {
	var out *imageRecord
	err := m.db.View(func(tx *bolt.Tx) error {
		images, names := tx.Bucket(bucketImages), tx.Bucket(bucketNames)
		if digestRE.MatchString(ref) {
			r, err := getJSON[imageRecord](images, ref)
			if r != nil || err != nil {
				out = r
				return err
			}
		}
		if r, err := parseReference(ref); err == nil {
			keys := []string{r.String()}
			if r.Digest != "" {
				// repo:tag@digest is found by its digest.
				keys = append(keys, r.digestName(r.Digest))
			}
			for _, k := range keys {
				if id := names.Get([]byte(k)); id != nil {
					rec, err := getJSON[imageRecord](images, string(id))
					if rec != nil || err != nil {
						out = rec
						return err
					}
				}
			}
		}
		// An ID prefix.
		p := strings.TrimPrefix(ref, "sha256:")
		if p == "" || strings.Trim(p, "0123456789abcdef") != "" {
			return errNotFound
		}
		c := images.Cursor()
		prefix := []byte("sha256:" + p)
		var found []byte
		for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
			if found != nil {
				return fmt.Errorf("%w: %q", errAmbiguous, ref)
			}
			found = v
		}
		if found == nil {
			return errNotFound
		}
		var rec imageRecord
		if err := json.Unmarshal(found, &rec); err != nil {
			return err
		}
		out = &rec
		return nil
	})
	return out, err
}

// images returns all image records.
func (m *metadata) images() ([]*imageRecord, error) {
	var out []*imageRecord
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			var r imageRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("meta.db: decode image %s: %w", k, err)
			}
			out = append(out, &r)
			return nil
		})
	})
	return out, err
}

// deleteImage removes an image and its names.
func (m *metadata) deleteImage(id string) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		images, names := tx.Bucket(bucketImages), tx.Bucket(bucketNames)
		rec, err := getJSON[imageRecord](images, id)
		if err != nil || rec == nil {
			return err
		}
		for _, n := range append(slices.Clone(rec.RepoTags), rec.RepoDigests...) {
			if string(names.Get([]byte(n))) == id {
				if err := names.Delete([]byte(n)); err != nil {
					return err
				}
			}
		}
		return images.Delete([]byte(id))
	})
}

func (m *metadata) putSnapshot(chainID string, r snapshotRecord) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketSnapshots), chainID, r)
	})
}

func (m *metadata) snapshot(chainID string) (*snapshotRecord, error) {
	var out *snapshotRecord
	err := m.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = getJSON[snapshotRecord](tx.Bucket(bucketSnapshots), chainID)
		return err
	})
	return out, err
}

func (m *metadata) snapshots() (map[string]snapshotRecord, error) {
	out := map[string]snapshotRecord{}
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSnapshots).ForEach(func(k, v []byte) error {
			var r snapshotRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out[string(k)] = r
			return nil
		})
	})
	return out, err
}

func (m *metadata) deleteSnapshot(chainID string) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSnapshots).Delete([]byte(chainID))
	})
}

func (m *metadata) containers() (map[string]containerRecord, error) {
	out := map[string]containerRecord{}
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketContainers).ForEach(func(k, v []byte) error {
			var r containerRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out[string(k)] = r
			return nil
		})
	})
	return out, err
}
