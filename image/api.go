// Package image is the daemon's image store: pulling images from
// registries (github.com/google/go-containerregistry), keeping their
// blobs content-addressed under the state directory, unpacking layers
// into snapshots shared between images (image/unpack), image metadata in
// bbolt, garbage collection, and the writable layer of a container's
// rootfs. The CRI ImageService (cri/) is a thin translation over Service.
package image

import (
	"context"
	"time"
)

// Auth is the credentials of a pull, as CRI's AuthConfig carries them.
type Auth struct {
	Username, Password string
	// Auth is base64("username:password").
	Auth string
	// IdentityToken and RegistryToken are OAuth2 refresh and bearer
	// tokens.
	IdentityToken, RegistryToken string
	// ServerAddress is the registry the credentials are for.
	ServerAddress string
}

// Image is one image in the store.
type Image struct {
	// ID is the config digest ("sha256:...").
	ID string
	// RepoTags are the normalised tags ("docker.io/library/busybox:latest").
	RepoTags []string
	// RepoDigests are "repo@sha256:..." of the manifests pulled.
	RepoDigests []string
	// Size is the unpacked size of the image's layers in bytes.
	Size uint64
	// UID and Username come from the config's User: a numeric user
	// becomes UID, a name Username.
	UID      *int64
	Username string
	// Pinned images are never garbage collected.
	Pinned bool
	// Config is the image config JSON (for verbose ImageStatus and for
	// creating containers: Env, Entrypoint, Cmd, WorkingDir, ...).
	Config []byte
	// ChainIDs are the layers' chain IDs, bottom first: the snapshots
	// a rootfs is made of.
	ChainIDs []string
	// Created is when the image was stored.
	Created time.Time
}

// Filter selects images in List; an empty filter selects all.
type Filter struct {
	// Image is a reference, tag or ID the image must match.
	Image string
}

// FsUsage is the disk use of one file system the store writes to.
type FsUsage struct {
	// Mountpoint is the directory whose file system is measured.
	Mountpoint string
	UsedBytes  uint64
	InodesUsed uint64
	Timestamp  time.Time
}

// Service is what the CRI ImageService needs from the store.
type Service interface {
	// Pull fetches ref (normalised as kubelet does) and unpacks it; it
	// returns the image. Concurrent pulls of one reference share one
	// download; cancelling ctx stops this caller's wait (and the
	// download, when no other caller waits).
	Pull(ctx context.Context, ref string, auth *Auth) (*Image, error)
	// List returns the images matching f.
	List(ctx context.Context, f Filter) ([]*Image, error)
	// Status returns the image ref names (a tag, a digest reference or
	// an ID, full or a unique prefix), or nil if there is none.
	Status(ctx context.Context, ref string) (*Image, error)
	// Remove removes the image ref names; removing a missing image is
	// not an error (CRI says so). Content used by containers stays
	// until they are removed.
	Remove(ctx context.Context, ref string) error
	// FsInfo reports the image file system (blobs and snapshots) and
	// the container file system (writable layers).
	FsInfo(ctx context.Context) (images, containers []FsUsage, err error)
}

// Rootfs is what the CRI runtime service needs from the store to give
// containers their root file systems: an overlayfs writable layer over
// an image's snapshots, kept until the container is removed.
type Rootfs interface {
	// PrepareRootfs makes the writable layer of containerID over the
	// image imageRef names and returns the overlayfs lower directories
	// (topmost first) and the upper and work directories. Preparing an
	// existing container again returns its directories.
	PrepareRootfs(ctx context.Context, containerID, imageRef string) (lowerDirs []string, upper, work string, err error)
	// RemoveRootfs deletes containerID's writable layer; a missing one
	// is not an error.
	RemoveRootfs(ctx context.Context, containerID string) error
}

// The store serves both the image service and containers' rootfs.
var (
	_ Service = (*Store)(nil)
	_ Rootfs  = (*Store)(nil)
)
