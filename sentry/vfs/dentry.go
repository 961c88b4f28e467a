package vfs

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Dentry is a name in the sandbox's file tree bound to an inode. Dentries
// are cached: a name looked up keeps its inode (and, for gofer files, its
// gofer FID) until the dentry cache evicts it (dcache.go).
type Dentry struct {
	// parent and name change only under renameMu and the parent's dirMu
	// (rename moves a dentry); readers that race with a rename see the
	// old or the new place, as on Linux.
	parent *Dentry
	name   string
	inode  Inode

	// dirMu serialises the mutations of this directory's names (create,
	// unlink, rename in or out), as Linux's i_rwsem; lookups do not take
	// it.
	dirMu sync.Mutex
	// deleted is set once the name was unlinked or replaced.
	deleted atomic.Bool
	// readOnly is set on the root of a read-only mount, noExec on the
	// root of a noexec one, noSuid on the root of a nosuid one (mount(2)
	// remounts change them).
	readOnly, noExec, noSuid atomic.Bool
	// pinCount keeps open files' dentries cached (dcache.go).
	pinCount
	// linkable is set on an O_TMPFILE file's dentry that linkat may name.
	linkable atomic.Bool

	// mu protects children, mounted, and reads of parent and name that
	// must be consistent with each other.
	mu       sync.Mutex
	children map[string]*Dentry
	// negatives counts the negative entries in children.
	negatives int
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

// maxNegativePerDir bounds the negative entries one directory caches, so a
// storm of lookups of missing names cannot grow the cache without limit.
const maxNegativePerDir = 1024

// child returns the cached or freshly looked-up child called name. A
// cached negative entry (a dentry without inode, kept for file systems
// that implement NegativeCacher) answers ENOENT without a lookup.
func (d *Dentry) child(name string) (*Dentry, error) {
	d.mu.Lock()
	c, ok := d.children[name]
	d.mu.Unlock()
	if ok {
		rv, revalidate := d.inode.(Revalidator)
		if !revalidate || rv.Revalidate(name, c.inode) {
			if !c.referenced.Load() {
				c.referenced.Store(true)
			}
			if c.inode == nil {
				return nil, unix.ENOENT
			}
			return c, nil
		}
		d.dropStale(name, c)
	}
	inode, err := d.inode.Lookup(name)
	if err == unix.ENOENT {
		d.cacheNegative(name)
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if c, ok := d.children[name]; ok && c.inode != nil {
		d.mu.Unlock()
		return c, nil // lost a race; the other lookup's inode wins
	}
	c = &Dentry{parent: d, name: name, inode: inode}
	d.putChildLocked(name, c)
	d.mu.Unlock()
	dcache.shrink()
	return c, nil
}

// dropStale forgets a cached child that revalidation found changed on the
// other side of the file system; mount points stay.
func (d *Dentry) dropStale(name string, c *Dentry) {
	if c.inode != nil && c.isMountPoint() {
		return
	}
	d.mu.Lock()
	if d.children[name] == c {
		delete(d.children, name)
		if c.inode == nil {
			d.negatives--
		}
	}
	d.mu.Unlock()
	c.markDeleted()
}

// cacheNegative records that name does not exist, for file systems whose
// tree only the sandbox changes.
func (d *Dentry) cacheNegative(name string) {
	nc, ok := d.inode.(NegativeCacher)
	if !ok || !nc.CachesNegative() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.children[name]; ok || d.negatives >= maxNegativePerDir {
		return
	}
	if d.children == nil {
		d.children = make(map[string]*Dentry)
	}
	n := &Dentry{parent: d, name: name}
	d.children[name] = n
	d.negatives++
	dcache.add(n)
}

// putChildLocked installs c as d's child called name, replacing any
// negative entry; d.mu is held.
func (d *Dentry) putChildLocked(name string, c *Dentry) {
	if d.children == nil {
		d.children = make(map[string]*Dentry)
	}
	if old, ok := d.children[name]; ok && old.inode == nil {
		d.negatives--
		dcache.remove(old)
	}
	d.children[name] = c
	dcache.add(c)
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
		p := d.getParent()
		if p == nil {
			return d
		}
		return p.top()
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
		d.mu.Lock()
		parent, name := d.parent, d.name
		d.mu.Unlock()
		if parent == nil {
			break
		}
		parts = append(parts, name)
		d = parent
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
	st, err := permStat(d.inode)
	if err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// isSymlink reports whether d's inode is a symlink.
func (d *Dentry) isSymlink() bool {
	st, err := permStat(d.inode)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// MountChild mounts the tree rooted at root on d's child called name. If the
// file system under d has no such name, the mount point exists only in the
// sandbox's view (as on a read-only root where /proc is empty or missing).
// It returns the root dentry of the new mount.
func (d *Dentry) MountChild(name string, root Inode) *Dentry {
	d = d.top()
	c, err := d.child(name)
	if err != nil {
		c = &Dentry{parent: d, name: name, inode: root}
		d.mu.Lock()
		d.putChildLocked(name, c)
		d.mu.Unlock()
	}
	m := &Dentry{name: name, inode: root}
	c.top().Mount(m)
	return m
}

// NewAnonymous returns a dentry for a file that has no name in any mount
// (memfd_create): it hangs off a private root, so its path reads
// "/name (deleted)".
func NewAnonymous(name string, inode Inode) *Dentry {
	root := &Dentry{name: "/"}
	d := &Dentry{parent: root, name: name, inode: inode}
	d.deleted.Store(true)
	return d
}

// Parent returns d's parent within its mount, or nil for a mount root.
func (d *Dentry) Parent() *Dentry { return d.getParent() }

// Name returns d's name in its parent.
func (d *Dentry) Name() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.name
}

// MountInode mounts the tree rooted at inode on d (mount(2)), over what
// is mounted there already, and returns the new mount's root.
func (d *Dentry) MountInode(inode Inode) *Dentry {
	d = d.top()
	d.mu.Lock()
	name := d.name
	d.mu.Unlock()
	m := &Dentry{name: name, inode: inode}
	d.Mount(m)
	return m
}

// IsMountRoot reports whether d is the root of a mount other than the
// sandbox's root.
func (d *Dentry) IsMountRoot() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mountpoint != nil
}

// Unmount detaches the mount rooted at d (umount2(2)): EINVAL if d is not
// a mount root, EBUSY if something is mounted over it.
func (d *Dentry) Unmount() error {
	d.mu.Lock()
	mp, over := d.mountpoint, d.mounted
	d.mu.Unlock()
	if mp == nil {
		return unix.EINVAL
	}
	if over != nil {
		return unix.EBUSY
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if mp.mounted != d {
		return unix.EINVAL
	}
	mp.mounted = nil
	return nil
}

// NewTmpfile returns the dentry of an unnamed file made in dir with
// O_TMPFILE: outside dir's cache, deleted, and linkable (linkat may name
// it) unless it was made with O_EXCL. Its path reads "dir/#ino (deleted)".
func NewTmpfile(dir *Dentry, inode Inode, linkable bool) *Dentry {
	name := "#"
	if st, err := inode.Stat(); err == nil {
		name += strconv.FormatUint(st.Ino, 10)
	}
	d := &Dentry{parent: dir.top(), name: name, inode: inode}
	d.deleted.Store(true)
	d.linkable.Store(linkable)
	return d
}

// Linkable reports whether an unnamed (O_TMPFILE) file may get a name.
func (d *Dentry) Linkable() bool { return d.linkable.Load() }
