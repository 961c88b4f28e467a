// Package overlay merges a read-only lower tree (a container image, served
// by the gofer) with a writable upper tree kept in sentry memory (a tmpfs),
// with the semantics of Linux overlayfs (Documentation/filesystems/
// overlayfs.rst): the sentry-side alternative to a host overlayfs mount for
// a container's root file system.
//
// Both trees are plain vfs.Inode trees. The lower tree is only ever read
// (Lookup, Stat, Readlink, Open read-only, Readdir, GetXattr, ListXattr).
// The upper tree is changed through the vfs mutation interfaces (DirOps,
// SetStatter, Xattrs) and must change only through this package.
//
// # Merged view
//
// A name is looked up in the upper directory first; a whiteout hides the
// lower name; otherwise the lower directory is consulted. An upper
// directory over a lower directory merges with it (its listing is the
// union, upper first); an upper non-directory hides whatever is below it.
//
// # Whiteouts and opaque directories
//
// Linux records whiteouts as 0/0 character devices and opacity as the
// trusted.overlay.opaque xattr in the upper tree. The sentry VFS refuses
// device nodes and the upper tree lives in sentry memory anyway, so this
// package keeps both in its own in-memory metadata instead: each merged
// directory holds the set of lower names it whites out, and a directory
// created where a lower name was whited out (mkdir after rmdir, an
// upper-only directory renamed over an empty merged one) simply has no
// lower part (it is opaque). The upper tree therefore holds exactly the
// visible upper files, nothing else. This metadata lives in the merged
// inodes, which this package keeps for every name with an upper part;
// those that lie only in the lower tree are kept only while used
// (lookup.go's childRef), so the lower files' gofer FIDs go back. An upper tree handed to New
// non-empty is taken as it is: its directories merge with the lower ones
// and nothing is whited out.
//
// # Inode numbers
//
// A merged file keeps one st_ino for its life: the lower file's when there
// is one (also after copy-up, as overlayfs does with origin records), the
// upper file's otherwise. st_dev is Options.Dev for every file when it is
// non-zero; files with no lower part then get the upper st_ino with the top
// bit set, so they never collide with lower numbers (overlayfs's xino).
// With Options.Dev zero, each file reports the st_dev of the layer its
// st_ino comes from (overlayfs with xino off). Merged directories (upper
// and lower parts) report st_nlink 1, as Linux does, so that find(1) does
// not use the "nlink - 2 subdirectories" shortcut on a count that misses
// one layer; other files report the nlink of the layer that serves them.
// Lower hard links are separate files once one of them is copied up
// (overlayfs without index=on).
//
// # Copy-up
//
// Before a change to a file that exists only in the lower tree (open for
// writing or with O_TRUNC, SetStat, setting or removing an xattr, link,
// rename), the file is copied up: its parent directories first (mode,
// owner, times, xattrs), then the file itself, regular files with their
// data (ReadAt from the lower file into the upper file made with Create,
// none with O_TRUNC), symlinks with Readlink and Symlink, FIFOs and
// sockets with Mknod, then mode, owner, atime and mtime (SetStat) and the
// user., security. and trusted. xattrs. The parent's upper times are put
// back afterwards, since the merged directory did not change. A failed
// copy-up removes what it made. Files opened read-only before a copy-up
// read the upper file after it, as on Linux since 4.19 (lowerfile.go);
// mappings made before it keep the lower pages.
// Opening a lower directory, FIFO or socket never copies it up.
//
// # Directory changes
//
// Create, Mkdir, Mknod and Symlink copy the directory up and create in the
// upper directory, clearing a whiteout of the name; a directory made over
// a whiteout is opaque. Unlink and Rmdir remove the upper file if any and
// leave a whiteout if the lower directory has the name; Rmdir checks that
// the merged view is empty. Link copies the target up and links in the
// upper tree. Rename copies files up and renames in the upper tree,
// leaving a whiteout at the old name if the lower directory has it;
// directories that exist in the lower tree cannot move (EXDEV, as
// overlayfs without redirect_dir: mv(1) then copies), for RENAME_EXCHANGE
// too, while upper-only directories move freely.
//
// # Readdir
//
// An open directory lists ".", "..", the upper entries, then the lower
// entries that are neither whited out nor shadowed by an upper name. The
// listing is snapshotted when read at offset 0 (or at the first read) and
// later offsets are served from the snapshot, so cookies stay stable, as
// with overlayfs's readdir cache.
//
// # Open files
//
// Open of a regular file returns the upper or lower file system's own
// FileImpl, so that its optional interfaces (Truncater, Allocator, Syncer,
// mm.Mappable, mm.SharedMappable...) are visible. Where the layer's
// st_ino or st_dev differs from the merged file's (a copied-up file, or
// Options.Dev set), the FileImpl is wrapped so that fstat(2) agrees with
// stat(2); the wrapper keeps the common interface sets (none, or
// Truncater+Allocator+Syncer+Mappable with or without SharedMappable) and a
// FileImpl with any other set is returned unwrapped.
//
// # Locking
//
// Each merged inode has:
//
//   - inode.mu, a leaf lock, protecting its name and parent (they change
//     on rename), its unlinked flag and, for directories, the cache of
//     merged children;
//   - for directories, inode.dirMu, a RWMutex serialising the changes of
//     the merged directory (creation, removal, rename in or out, copy-up of
//     a child into it, whiteouts, the dead flag), taken shared by lookups
//     of names not cached yet and by Readdir snapshots; cached lookups take
//     only mu.
//
// The upper inode of a merged inode is published once, atomically, so Stat
// and Open take no lock. There is no lock shared by the whole tree.
//
// Lock order: a directory's dirMu before its children's dirMu (Rmdir and
// Rename check that a directory is empty while holding its parent's); two
// directories that are not parent and child only in Rename, in address
// order (the VFS serialises renames); mu last. A copy-up first copies up
// the parent (taking and releasing the grandparent's dirMu) and then holds
// the parent's dirMu for the copy, without taking another dirMu. The upper
// and lower file systems' own locks come after all of these.
package overlay

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Magic is OVERLAYFS_SUPER_MAGIC, statfs(2)'s f_type.
const Magic = 0x794c7630

// xinoBit marks the st_ino of upper-only files when Options.Dev is set.
const xinoBit = 1 << 63

// Options configure an overlay.
type Options struct {
	// Dev, when non-zero, is the st_dev every file of the overlay
	// reports; see the package documentation for inode numbers.
	Dev uint64
}

// fsys is one overlay instance.
type fsys struct {
	opts Options
	root *inode
}

// New returns the root of the merged view of lower (read-only) and upper
// (writable, changed only through the returned tree), two directory
// inodes. A nil upper gives a read-only overlay whose changes fail with
// EROFS.
func New(lower, upper vfs.Inode, opts Options) vfs.Inode {
	fs := &fsys{opts: opts}
	var lst, ust *unix.Stat_t
	if st, err := lower.Stat(); err == nil {
		lst = &st
	} else {
		lst = &unix.Stat_t{Mode: unix.S_IFDIR}
	}
	if upper != nil {
		if st, err := upper.Stat(); err == nil {
			ust = &st
		} else {
			ust = &unix.Stat_t{Mode: unix.S_IFDIR}
		}
	}
	r := fs.newInode(nil, "", lower, lst, upper, ust)
	r.typ = unix.S_IFDIR
	fs.root = r
	return r
}

// layer is an upper inode with whether its st_ino and st_dev are already
// the merged file's.
type layer struct {
	in   vfs.Inode
	same bool
}

// inode is a merged file.
type inode struct {
	fs *fsys
	// typ is the S_IFMT bits; immutable.
	typ uint32
	// ino and dev are what Stat reports; immutable.
	ino, dev uint64
	// lower is the lower file (nil for upper-only files and opaque
	// directories); immutable. lowerSame says whether its st_ino and
	// st_dev are ino and dev.
	lower     vfs.Inode
	lowerSame bool
	// upper is set once, by creation or copy-up.
	upper atomic.Pointer[layer]

	// mu protects the fields below.
	mu sync.Mutex
	// parent and name locate the file for copy-up (and ".."); parent
	// is nil for the root. They change on rename, which only moves
	// files that are already copied up.
	parent *inode
	name   string
	// unlinked is set once the file lost its (last known) name; a
	// lower-only file cannot be copied up then.
	unlinked bool
	// children caches the merged children looked up or created, so that
	// each merged file has one inode (and one set of metadata) while it
	// is used (childRef).
	children map[string]childRef

	// dirMu serialises changes of a merged directory; see the package
	// documentation.
	dirMu sync.RWMutex
	// whiteouts holds the lower names this directory hides; dirMu.
	whiteouts map[string]struct{}
	// opaque records that the directory was made over a whiteout (it has
	// no lower part whatever the lower tree holds); dirMu.
	opaque bool
	// dead is set once the directory is removed; dirMu.
	dead bool
}

// newInode makes a merged inode from its lower and upper parts and their
// attributes (either may be nil, not both).
func (fs *fsys) newInode(parent *inode, name string, lower vfs.Inode, lst *unix.Stat_t, upper vfs.Inode, ust *unix.Stat_t) *inode {
	i := &inode{fs: fs, lower: lower, parent: parent, name: name}
	if lower != nil {
		i.typ = lst.Mode & unix.S_IFMT
		i.ino, i.dev = lst.Ino, lst.Dev
		if fs.opts.Dev != 0 {
			i.dev = fs.opts.Dev
		}
		i.lowerSame = lst.Ino == i.ino && lst.Dev == i.dev
	} else {
		i.typ = ust.Mode & unix.S_IFMT
		i.ino, i.dev = ust.Ino, ust.Dev
		if fs.opts.Dev != 0 {
			i.ino |= xinoBit
			i.dev = fs.opts.Dev
		}
	}
	if upper != nil {
		i.setUpper(upper, ust)
	}
	return i
}

// setUpper publishes the upper part.
func (i *inode) setUpper(u vfs.Inode, ust *unix.Stat_t) {
	same := ust != nil && ust.Ino == i.ino && ust.Dev == i.dev
	i.upper.Store(&layer{in: u, same: same})
}

// upperInode returns the upper part, or nil.
func (i *inode) upperInode() vfs.Inode {
	if l := i.upper.Load(); l != nil {
		return l.in
	}
	return nil
}

// layerInode returns the inode that serves reads: the upper part if any,
// else the lower one.
func (i *inode) layerInode() vfs.Inode {
	if u := i.upperInode(); u != nil {
		return u
	}
	return i.lower
}

func (i *inode) isDir() bool { return i.typ == unix.S_IFDIR }

// Stat implements vfs.Inode.Stat.
func (i *inode) Stat() (unix.Stat_t, error) {
	u := i.upperInode()
	var st unix.Stat_t
	var err error
	if u != nil {
		st, err = u.Stat()
	} else {
		st, err = i.lower.Stat()
	}
	if err != nil {
		return st, err
	}
	st.Ino, st.Dev = i.ino, i.dev
	if u != nil && i.lower != nil && i.isDir() {
		st.Nlink = 1
	}
	return st, nil
}

// PermStat implements vfs.PermStater: a path walk asks every component
// for its type, mode and owner, which the layer may keep cached (a
// goferfs file would otherwise fstat its host descriptor each time).
func (i *inode) PermStat() (unix.Stat_t, error) {
	st, err := vfs.PermStat(i.layerInode())
	if err != nil {
		return st, err
	}
	st.Ino, st.Dev = i.ino, i.dev
	if i.upperInode() != nil && i.lower != nil && i.isDir() {
		st.Nlink = 1
	}
	return st, nil
}

// Readlink implements vfs.Inode.Readlink.
func (i *inode) Readlink() (string, error) {
	return i.layerInode().Readlink()
}

// Open implements vfs.Inode.Open.
func (i *inode) Open(flags int) (vfs.FileImpl, error) {
	acc := flags & unix.O_ACCMODE
	writing := acc == unix.O_WRONLY || acc == unix.O_RDWR
	switch i.typ {
	case unix.S_IFDIR:
		if writing {
			return nil, unix.EISDIR
		}
		return &dirFile{d: i}, nil
	case unix.S_IFREG:
		if writing || flags&unix.O_TRUNC != 0 {
			limit := int64(-1)
			if writing && flags&unix.O_TRUNC != 0 {
				// The caller truncates: copy no data.
				limit = 0
			}
			if err := i.copyUp(limit); err != nil {
				return nil, err
			}
		}
	}
	if l := i.upper.Load(); l != nil {
		f, err := l.in.Open(flags)
		if err != nil {
			return nil, err
		}
		return i.wrap(f, l.same), nil
	}
	f, err := i.lower.Open(flags)
	if err != nil {
		return nil, err
	}
	if i.typ == unix.S_IFREG {
		return &lowerFile{i: i, flags: flags, lower: i.wrap(f, i.lowerSame)}, nil
	}
	return i.wrap(f, i.lowerSame), nil
}

// Invalidate implements vfs.Invalidator: the layers' cached attributes
// are dropped.
func (i *inode) Invalidate() {
	if inv, ok := i.upperInode().(vfs.Invalidator); ok {
		inv.Invalidate()
	}
	if inv, ok := i.lower.(vfs.Invalidator); ok {
		inv.Invalidate()
	}
}

// CachesNegative implements vfs.NegativeCacher: the merged tree changes
// only through the sandbox.
func (i *inode) CachesNegative() bool { return true }

// SetStat implements vfs.SetStatter, copying the file up first.
func (i *inode) SetStat(opts vfs.SetStatOpts) error {
	if opts.Mask == 0 {
		return nil
	}
	limit := int64(-1)
	if opts.Mask&vfs.SetSize != 0 && i.typ == unix.S_IFREG && opts.Size >= 0 {
		// Data past the new size would be cut anyway.
		limit = opts.Size
	}
	if err := i.copyUp(limit); err != nil {
		return err
	}
	s, ok := i.upperInode().(vfs.SetStatter)
	if !ok {
		return unix.EPERM
	}
	return s.SetStat(opts)
}

// GetXattr implements vfs.Xattrs.GetXattr.
func (i *inode) GetXattr(name string, size int) ([]byte, error) {
	x, ok := i.layerInode().(vfs.Xattrs)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	return x.GetXattr(name, size)
}

// ListXattr implements vfs.Xattrs.ListXattr.
func (i *inode) ListXattr(size int) ([]string, error) {
	x, ok := i.layerInode().(vfs.Xattrs)
	if !ok {
		return nil, nil
	}
	return x.ListXattr(size)
}

// SetXattr implements vfs.Xattrs.SetXattr, copying the file up first.
func (i *inode) SetXattr(name string, value []byte, flags int) error {
	if err := i.copyUp(-1); err != nil {
		return err
	}
	x, ok := i.upperInode().(vfs.Xattrs)
	if !ok {
		return unix.EOPNOTSUPP
	}
	return x.SetXattr(name, value, flags)
}

// RemoveXattr implements vfs.Xattrs.RemoveXattr, copying the file up
// first unless the lower file lacks the attribute.
func (i *inode) RemoveXattr(name string) error {
	if i.upperInode() == nil {
		x, ok := i.lower.(vfs.Xattrs)
		if !ok {
			return unix.EOPNOTSUPP
		}
		if _, err := x.GetXattr(name, 0); err != nil {
			return err
		}
	}
	if err := i.copyUp(-1); err != nil {
		return err
	}
	x, ok := i.upperInode().(vfs.Xattrs)
	if !ok {
		return unix.EOPNOTSUPP
	}
	return x.RemoveXattr(name)
}

// StatFS implements vfs.StatFSer: the upper tree's numbers (the lower
// tree's for a read-only overlay) with overlayfs's magic.
func (i *inode) StatFS() (unix.Statfs_t, error) {
	st := unix.Statfs_t{Bsize: 4096, Frsize: 4096, Namelen: vfs.NameMax}
	if s, ok := i.fs.root.layerInode().(vfs.StatFSer); ok {
		var err error
		if st, err = s.StatFS(); err != nil {
			return st, err
		}
	}
	st.Type = Magic
	return st, nil
}

// Interfaces the merged inode implements.
var (
	_ vfs.Inode          = (*inode)(nil)
	_ vfs.DirOps         = (*inode)(nil)
	_ vfs.SetStatter     = (*inode)(nil)
	_ vfs.Xattrs         = (*inode)(nil)
	_ vfs.StatFSer       = (*inode)(nil)
	_ vfs.Invalidator    = (*inode)(nil)
	_ vfs.NegativeCacher = (*inode)(nil)
)
