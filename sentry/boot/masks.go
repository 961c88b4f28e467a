package boot

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Masked and read-only paths (CRI's masked_paths and readonly_paths, OCI's
// maskedPaths and readonlyPaths), applied as runc applies them once the
// container's mounts are in place: read-only paths first, each a
// read-only bind mount of itself; then masked paths, a file covered by
// /dev/null and a directory by an empty read-only tmpfs. A path that does
// not exist is skipped. kubelet sends its default lists for every
// container (/proc/kcore, /proc/sys, ...); the sandbox's /proc and /sys
// hold no host information, but applying them keeps the container's view
// what it is under runc, and user-given paths (critest masks /bin/ls and
// makes /tmp read-only) must work anywhere in the tree.

// subMount is a mount of a container's tree: where it is, its root, and
// what /proc/mounts says of it.
type subMount struct {
	path   string
	root   *vfs.Dentry
	source string
	fsType string
}

// maskDevBase numbers the device IDs of the tmpfs mounts that mask
// directories (apart from spec tmpfs mounts at tmpfsDevBase and mount(2)'s
// at 0x100).
const maskDevBase = 0xc0

// restrictPaths applies readonly and masked to the container tree at root,
// whose mounts (in the order they were made) are subs; null is the
// sandbox's /dev/null. Each mount it makes is recorded in c for
// /proc/mounts.
func restrictPaths(c *kernel.Container, root *vfs.Dentry, subs []subMount, readonly, masked []string, null vfs.Inode, mf *memfile.File) error {
	for _, p := range readonly {
		rec, err := readonlyPath(root, subs, p)
		if err != nil {
			return fmt.Errorf("read-only path %s: %w", p, err)
		}
		if rec != nil {
			c.AddMount(*rec)
		}
	}
	for i, p := range masked {
		rec, err := maskPath(root, p, null, mf, maskDevBase+uint64(i))
		if err != nil {
			return fmt.Errorf("masked path %s: %w", p, err)
		}
		if rec != nil {
			c.AddMount(*rec)
		}
	}
	return nil
}

// resolveRestricted resolves p (absolute) in the container's tree,
// following symbolic links as mount(2) does; ok is false for a path that
// does not exist, which runc skips.
func resolveRestricted(root *vfs.Dentry, p string) (d *vfs.Dentry, ok bool, err error) {
	if !path.IsAbs(p) {
		return nil, false, fmt.Errorf("not an absolute path")
	}
	d, err = vfs.Resolve(root, root, path.Clean(p), vfs.ResolveOpts{FollowFinal: true})
	switch err {
	case nil:
		return d, true, nil
	case unix.ENOENT, unix.ENOTDIR:
		return nil, false, nil
	}
	return nil, false, err
}

// readonlyPath makes p read-only: a mount's root becomes read-only (a
// remount; what is mounted below it stays), anything else gets a
// read-only bind mount of itself, with the mounts below it mounted again
// on the bind (runc binds with MS_REC, so they stay visible; as there,
// they keep their own flags).
func readonlyPath(root *vfs.Dentry, subs []subMount, p string) (*kernel.MountRecord, error) {
	d, ok, err := resolveRestricted(root, p)
	if err != nil || !ok {
		return nil, err
	}
	p = path.Clean(p)
	container := containingMount(subs, p)
	rec := &kernel.MountRecord{Source: container.source, Target: p, FSType: container.fsType, Options: "ro,relatime"}
	if p == "/" || d.IsMountRoot() {
		d.SetReadOnly()
		return rec, nil
	}
	m := d.MountInode(d.Inode())
	m.SetReadOnly()
	prefix := p + "/"
	for i, s := range subs {
		if !strings.HasPrefix(s.path, prefix) {
			continue
		}
		parent, err := vfs.Resolve(root, root, path.Dir(s.path), vfs.ResolveOpts{FollowFinal: true})
		if err != nil {
			return nil, fmt.Errorf("mounting %s again: %w", s.path, err)
		}
		again := parent.MountChild(path.Base(s.path), s.root.Inode())
		again.SetMountFlags(s.root.ReadOnly(), s.root.NoExec())
		subs[i].root = again
	}
	return rec, nil
}

// containingMount returns the mount of subs p lives on (the last made of
// those whose path is p or a parent of it); subs[0] is the root.
func containingMount(subs []subMount, p string) subMount {
	best := subs[0]
	for _, s := range subs[1:] {
		if s.path == p || strings.HasPrefix(p, s.path+"/") {
			best = s
		}
	}
	return best
}

// maskPath hides p: a directory under an empty read-only tmpfs (device
// number dev), anything else under the sandbox's /dev/null, so reading it
// gives nothing and executing it fails with EACCES.
func maskPath(root *vfs.Dentry, p string, null vfs.Inode, mf *memfile.File, dev uint64) (*kernel.MountRecord, error) {
	d, ok, err := resolveRestricted(root, p)
	if err != nil || !ok {
		return nil, err
	}
	p = path.Clean(p)
	if p == "/" {
		return nil, fmt.Errorf("cannot mask the root")
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		// Linux's tmpfs default mode, as runc's mount without options
		// gets.
		m := d.MountInode(tmpfs.New(mf, tmpfs.Options{Mode: 0o1777, Dev: dev}).Root())
		m.SetReadOnly()
		return &kernel.MountRecord{Source: "tmpfs", Target: p, FSType: "tmpfs", Options: "ro,relatime", Dev: dev}, nil
	}
	d.MountInode(null)
	// The bind of /dev/null lists as the sandbox's /dev does.
	return &kernel.MountRecord{Source: "tmpfs", Target: p, FSType: "tmpfs", Options: "rw,nosuid", NoDev: true}, nil
}
