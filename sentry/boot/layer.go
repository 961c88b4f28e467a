package boot

import (
	"fmt"

	"github.com/cocoonrt/cocoon/sentry/fs/overlay"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// attachStore attaches the store at StoreFD to mf when the spec's root
// overlay is "store", and returns it (nil otherwise). It must run before
// the platform starts: its stubs are given the store's descriptor.
func attachStore(mf *memfile.File, spec *Spec) (*memfile.File, error) {
	if spec.RootOverlay != "store" {
		return nil, nil
	}
	store, err := mf.AttachStore(StoreFD)
	if err != nil {
		return nil, fmt.Errorf("attaching the root overlay's store: %w", err)
	}
	return store, nil
}

// writableRoot overlays lower, the gofer's tree of a root, with a
// writable layer the sentry keeps: a tmpfs whose pages come from pages
// (the memory file, or its store), owned as lower's root is, with ext4's
// directory sizes.
func writableRoot(lower vfs.Inode, pages *memfile.File) (vfs.Inode, *tmpfs.FS, error) {
	st, err := lower.Stat()
	if err != nil {
		return nil, nil, err
	}
	upper := tmpfs.New(pages, tmpfs.Options{Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid, Dev: rootUpperDev, DiskDirSizes: true})
	return overlay.New(lower, upper.Root(), overlay.Options{}), upper, nil
}
