package overlay

import (
	"weak"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// childRef is a cached child. A child with an upper part is held: its
// merged identity (a copied-up file keeps the lower st_ino) and metadata
// (whiteouts, opacity) could not be rebuilt from the layers. A child that
// lies only in the lower tree is held weakly: once nothing uses it (the
// VFS evicted its dentry, no file is open), it goes, and with it the
// lower file's gofer FID; a later lookup makes it again from the layers.
type childRef struct {
	strong *inode
	weak   weak.Pointer[inode]
}

// get returns the child, or nil if it went.
func (r childRef) get() *inode {
	if r.strong != nil {
		return r.strong
	}
	return r.weak.Value()
}

// cached returns the cached child called name, or nil.
func (d *inode) cached(name string) *inode {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.children[name].get()
}

// Lookup implements vfs.Inode.Lookup.
func (d *inode) Lookup(name string) (vfs.Inode, error) {
	if !d.isDir() {
		return nil, unix.ENOTDIR
	}
	if c := d.cached(name); c != nil {
		return c, nil
	}
	d.dirMu.RLock()
	defer d.dirMu.RUnlock()
	c, err := d.lookupLocked(name)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// lookupLocked returns the merged child called name; d.dirMu is held
// (shared or not).
func (d *inode) lookupLocked(name string) (*inode, error) {
	if c := d.cached(name); c != nil {
		return c, nil
	}
	if d.dead {
		return nil, unix.ENOENT
	}
	c, err := d.lookupLayers(name)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.children[name].get(); old != nil {
		// Another lookup under the shared lock won.
		return old, nil
	}
	d.putChildLocked(name, c)
	return c, nil
}

// putChildLocked caches c as name; d.mu is held.
func (d *inode) putChildLocked(name string, c *inode) {
	if d.children == nil {
		d.children = make(map[string]childRef)
	}
	if _, ok := d.children[name]; !ok && len(d.children) >= 64 && len(d.children)&(len(d.children)-1) == 0 {
		// At each doubling, the names of children that went.
		for n, r := range d.children {
			if r.get() == nil {
				delete(d.children, n)
			}
		}
	}
	if c.upper.Load() != nil {
		d.children[name] = childRef{strong: c}
	} else {
		d.children[name] = childRef{weak: weak.Make(c)}
	}
}

// holdChild makes d hold its child c called name, which got an upper
// part; d.dirMu is held.
func (d *inode) holdChild(name string, c *inode) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.children[name].get() == c {
		d.children[name] = childRef{strong: c}
	}
}

// lookupLayers builds the merged child called name from the layers;
// d.dirMu is held.
func (d *inode) lookupLayers(name string) (*inode, error) {
	var ui vfs.Inode
	var ust unix.Stat_t
	if u := d.upperInode(); u != nil {
		in, err := u.Lookup(name)
		switch {
		case err == nil:
			if ust, err = in.Stat(); err != nil {
				return nil, err
			}
			ui = in
		case err != unix.ENOENT:
			return nil, err
		}
	}
	if ui != nil {
		// An upper directory merges with a lower directory; anything
		// else in the upper tree hides the lower name.
		if ust.Mode&unix.S_IFMT == unix.S_IFDIR && d.lower != nil && !d.whitedOut(name) {
			li, lst, err := d.lowerLookup(name)
			if err != nil && err != unix.ENOENT {
				return nil, err
			}
			if err == nil && lst.Mode&unix.S_IFMT == unix.S_IFDIR {
				return d.fs.newInode(d, name, li, &lst, ui, &ust), nil
			}
		}
		return d.fs.newInode(d, name, nil, nil, ui, &ust), nil
	}
	if d.lower == nil || d.whitedOut(name) {
		return nil, unix.ENOENT
	}
	li, lst, err := d.lowerLookup(name)
	if err != nil {
		return nil, err
	}
	return d.fs.newInode(d, name, li, &lst, nil, nil), nil
}

// lowerLookup looks name up in the lower directory.
func (d *inode) lowerLookup(name string) (vfs.Inode, unix.Stat_t, error) {
	in, err := d.lower.Lookup(name)
	if err != nil {
		return nil, unix.Stat_t{}, err
	}
	st, err := in.Stat()
	if err != nil {
		return nil, st, err
	}
	return in, st, nil
}

// whitedOut reports whether name is whited out; d.dirMu is held.
func (d *inode) whitedOut(name string) bool {
	_, ok := d.whiteouts[name]
	return ok
}

// lowerHas reports whether the lower directory has name, so that removing
// the merged name needs a whiteout; c is the merged child; d.dirMu is
// held.
func (d *inode) lowerHas(name string, c *inode) (bool, error) {
	if c != nil && c.lower != nil && c.upperInode() == nil {
		// A lower-only file never moved: it is the lower name.
		return true, nil
	}
	if d.lower == nil {
		return false, nil
	}
	_, err := d.lower.Lookup(name)
	switch err {
	case nil:
		return true, nil
	case unix.ENOENT:
		return false, nil
	}
	return false, err
}
