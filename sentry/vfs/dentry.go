package vfs

import (
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Dentry is a name in the sandbox's file tree bound to an inode. Dentries
// are cached: a name looked up once keeps its inode (and, for gofer files,
// its gofer FID) for the life of the sandbox.
type Dentry struct {
	parent *Dentry
	name   string
	inode  Inode

	// mu protects children and mounted.
	mu       sync.Mutex
	children map[string]*Dentry
	// mounted is the root of a file system mounted on this dentry.
	mounted *Dentry
	// mountpoint is set on the root of a mounted file system: the dentry
	// it is mounted on, where ".." continues.
	mountpoint *Dentry
}

// NewRoot returns a root dentry for inode.
func NewRoot(inode Inode) *Dentry {
	return &Dentry{inode: inode, name: "/"}
}

// Inode returns the dentry's inode.
func (d *Dentry) Inode() Inode { return d.inode }

// Mount mounts the tree rooted at root on d.
func (d *Dentry) Mount(root *Dentry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	root.mountpoint = d
	d.mounted = root
}

// top follows mounts on d down to the topmost mounted root.
func (d *Dentry) top() *Dentry {
	for {
		d.mu.Lock()
		m := d.mounted
		d.mu.Unlock()
		if m == nil {
			return d
		}
		d = m
	}
}

// child returns the cached or freshly looked-up child called name.
func (d *Dentry) child(name string) (*Dentry, error) {
	d.mu.Lock()
	if c, ok := d.children[name]; ok {
		d.mu.Unlock()
		return c, nil
	}
	d.mu.Unlock()
	inode, err := d.inode.Lookup(name)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.children[name]; ok {
		return c, nil // lost a race; the other lookup's inode wins
	}
	if d.children == nil {
		d.children = make(map[string]*Dentry)
	}
	c := &Dentry{parent: d, name: name, inode: inode}
	d.children[name] = c
	return c, nil
}

// parentOf returns the parent of d for "..", never going above root and
// crossing mount points upward.
func parentOf(d, root *Dentry) *Dentry {
	for {
		if d == root {
			return d
		}
		if d.mountpoint != nil {
			d = d.mountpoint
			continue
		}
		if d.parent == nil {
			return d
		}
		return d.parent.top()
	}
}

// Path returns d's absolute path as seen from root.
func (d *Dentry) Path(root *Dentry) string {
	var parts []string
	for d != root {
		if d.mountpoint != nil {
			d = d.mountpoint
			continue
		}
		if d.parent == nil {
			break
		}
		parts = append(parts, d.name)
		d = d.parent
	}
	if len(parts) == 0 {
		return "/"
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// isDir reports whether d's inode is a directory.
func (d *Dentry) isDir() (bool, error) {
	st, err := d.inode.Stat()
	if err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// isSymlink reports whether d's inode is a symlink.
func (d *Dentry) isSymlink() bool {
	st, err := d.inode.Stat()
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// MountChild mounts the tree rooted at root on d's child called name. If the
// file system under d has no such name, the mount point exists only in the
// sandbox's view (as on a read-only root where /proc is empty or missing).
func (d *Dentry) MountChild(name string, root Inode) {
	c, err := d.child(name)
	if err != nil {
		d.mu.Lock()
		if d.children == nil {
			d.children = make(map[string]*Dentry)
		}
		c = &Dentry{parent: d, name: name, inode: root}
		d.children[name] = c
		d.mu.Unlock()
	}
	c.Mount(&Dentry{name: name, inode: root})
}
