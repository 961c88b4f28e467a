package tmpfs

import (
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Directory cookies (getdents offsets): "." is 1, ".." is 2, and each entry
// gets the next value of a per-directory counter when it is inserted, so a
// cookie handed to an application keeps meaning "after this entry" whatever
// is inserted or removed later: new entries sort after every existing one,
// removed ones are skipped.
const (
	cookieDot    = 1
	cookieDotDot = 2
	firstCookie  = 3
)

// dirent is one name in a directory.
type dirent struct {
	name   string
	cookie uint64
	// node is nil once the entry is removed (a tombstone awaiting
	// compaction).
	node node
}

// Dir is a directory.
type Dir struct {
	inode

	// parent is ".."; the root's is itself.
	parent atomic.Pointer[Dir]

	// mu protects the fields below.
	mu sync.RWMutex
	// byName holds the live entries.
	byName map[string]*dirent
	// entries holds the entries in cookie order, removed ones included
	// until compaction.
	entries    []*dirent
	tombstones int
	nextCookie uint64
	// dead is set once the directory is removed: nothing can be created
	// in it and reading it fails with ENOENT, as on Linux.
	dead bool
	// recordBytes is what the live entries' records would take in an
	// ext4 directory block, and diskSize the largest size that gave
	// (Options.DiskDirSizes).
	recordBytes int64
	diskSize    int64
}

func (fs *FS) newDir(parent *Dir, perm uint32, owner vfs.Owner) *Dir {
	d := &Dir{byName: make(map[string]*dirent), nextCookie: firstCookie}
	d.init(fs, unix.S_IFDIR, perm, owner, 2)
	if parent == nil {
		parent = d
	}
	d.parent.Store(parent)
	return d
}

// insertLocked adds name for n with a fresh cookie.
func (d *Dir) insertLocked(name string, n node) {
	e := &dirent{name: name, cookie: d.nextCookie, node: n}
	d.nextCookie++
	d.byName[name] = e
	d.entries = append(d.entries, e)
	d.recordBytes += ext4RecordLen(name)
	d.diskSize = max(d.diskSize, diskDirSize(d.recordBytes))
}

// ext4RecordLen is the length of name's record in an ext4 directory
// block: an 8-byte header and the name, to a multiple of 4.
func ext4RecordLen(name string) int64 { return (8 + int64(len(name)) + 3) &^ 3 }

// diskDirSize is the size of an ext4 directory whose entries' records
// take recordBytes besides "." and "..": whole blocks, at least one. A
// directory of ext4 never shrinks, so the caller keeps the largest.
func diskDirSize(recordBytes int64) int64 {
	const block = 4096
	used := recordBytes + ext4RecordLen(".") + ext4RecordLen("..")
	return max(block, (used+block-1)/block*block)
}

// removeLocked removes name's entry.
func (d *Dir) removeLocked(name string) {
	e := d.byName[name]
	if e == nil {
		return
	}
	delete(d.byName, name)
	d.recordBytes -= ext4RecordLen(name)
	e.node = nil
	d.tombstones++
	if d.tombstones > 32 && d.tombstones > len(d.entries)/2 {
		live := make([]*dirent, 0, len(d.byName))
		for _, e := range d.entries {
			if e.node != nil {
				live = append(live, e)
			}
		}
		d.entries = live
		d.tombstones = 0
	}
}

// checkNewLocked checks that name can be created in d.
func (d *Dir) checkNewLocked(name string) error {
	if d.dead {
		return unix.ENOENT
	}
	if len(name) > vfs.NameMax {
		return unix.ENAMETOOLONG
	}
	if name == "" || name == "." || name == ".." {
		return unix.EEXIST
	}
	if _, ok := d.byName[name]; ok {
		return unix.EEXIST
	}
	return nil
}

// Stat implements vfs.Inode.Stat.
func (d *Dir) Stat() (unix.Stat_t, error) {
	d.mu.RLock()
	n, diskSize := len(d.byName), d.diskSize
	d.mu.RUnlock()
	st := d.stat()
	st.Size = int64(direntSize * (n + 2))
	if d.fs.opts.DiskDirSizes {
		st.Size = max(diskSize, diskDirSize(0))
		st.Blocks = st.Size / 512
	}
	return st, nil
}

// Lookup implements vfs.Inode.Lookup.
func (d *Dir) Lookup(name string) (vfs.Inode, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e, ok := d.byName[name]; ok {
		return e.node, nil
	}
	return nil, unix.ENOENT
}

// Readlink implements vfs.Inode.Readlink.
func (d *Dir) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements vfs.Inode.Open.
func (d *Dir) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EISDIR
	}
	return &dirFile{d: d}, nil
}

// SetStat implements vfs.SetStatter.
func (d *Dir) SetStat(opts vfs.SetStatOpts) error { return d.setStat(opts, unix.EISDIR) }

// Create implements vfs.DirOps.Create.
func (d *Dir) Create(name string, flags int, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkNewLocked(name); err != nil {
		return nil, nil, err
	}
	r := d.fs.newRegular(mode, owner)
	f, err := r.Open(flags)
	if err != nil {
		// Cannot happen for a fresh file; undo anyway.
		dropLink(r)
		return nil, nil, err
	}
	d.insertLocked(name, r)
	d.touchModified()
	return r, f, nil
}

// Mkdir implements vfs.DirOps.Mkdir.
func (d *Dir) Mkdir(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkNewLocked(name); err != nil {
		return nil, err
	}
	c := d.fs.newDir(d, mode, owner)
	d.insertLocked(name, c)
	t := now()
	d.inode.mu.Lock()
	d.nlink++
	d.mtime, d.ctime = t, t
	d.inode.mu.Unlock()
	return c, nil
}

// Mknod implements vfs.DirOps.Mknod: FIFOs, sockets and regular files.
func (d *Dir) Mknod(name string, mode uint32, owner vfs.Owner) (vfs.Inode, error) {
	var n node
	typ := mode & unix.S_IFMT
	switch typ {
	case 0, unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFCHR, unix.S_IFBLK:
		return nil, unix.EPERM
	default:
		return nil, unix.EINVAL
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkNewLocked(name); err != nil {
		return nil, err
	}
	if typ == 0 || typ == unix.S_IFREG {
		n = d.fs.newRegular(mode, owner)
	} else {
		s := &Special{}
		s.init(d.fs, typ, mode, owner, 1)
		n = s
	}
	d.insertLocked(name, n)
	d.touchModified()
	return n, nil
}

// Symlink implements vfs.DirOps.Symlink.
func (d *Dir) Symlink(name, target string, owner vfs.Owner) (vfs.Inode, error) {
	if target == "" {
		return nil, unix.ENOENT
	}
	if len(target) >= vfs.PathMax {
		return nil, unix.ENAMETOOLONG
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkNewLocked(name); err != nil {
		return nil, err
	}
	s := &Symlink{target: target}
	s.init(d.fs, unix.S_IFLNK, 0o777, owner, 1)
	d.insertLocked(name, s)
	d.touchModified()
	return s, nil
}

// ownNode returns in as one of this file system's inodes, or nil.
func (d *Dir) ownNode(in vfs.Inode) node {
	n, ok := in.(node)
	if !ok || n.base().fs != d.fs {
		return nil
	}
	return n
}

// Link implements vfs.DirOps.Link.
func (d *Dir) Link(name string, target vfs.Inode) error {
	n := d.ownNode(target)
	if n == nil {
		return unix.EXDEV
	}
	in := n.base()
	if in.typ == unix.S_IFDIR {
		return unix.EPERM
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkNewLocked(name); err != nil {
		return err
	}
	in.mu.Lock()
	switch {
	case in.released:
		in.mu.Unlock()
		return unix.ENOENT
	case in.nlink >= maxLinks:
		in.mu.Unlock()
		return unix.EMLINK
	}
	in.nlink++
	in.ctime = now()
	in.mu.Unlock()
	d.insertLocked(name, n)
	d.touchModified()
	return nil
}

// Unlink implements vfs.DirOps.Unlink.
func (d *Dir) Unlink(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.byName[name]
	if !ok {
		return unix.ENOENT
	}
	if e.node.base().typ == unix.S_IFDIR {
		return unix.EISDIR
	}
	n := e.node
	d.removeLocked(name)
	d.touchModified()
	dropLink(n)
	return nil
}

// Rmdir implements vfs.DirOps.Rmdir.
func (d *Dir) Rmdir(name string) error {
	d.fs.renameMu.Lock()
	defer d.fs.renameMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.byName[name]
	if !ok {
		return unix.ENOENT
	}
	c, ok := e.node.(*Dir)
	if !ok {
		return unix.ENOTDIR
	}
	if err := c.kill(); err != nil {
		return err
	}
	d.removeLocked(name)
	t := now()
	d.inode.mu.Lock()
	d.nlink--
	d.mtime, d.ctime = t, t
	d.inode.mu.Unlock()
	c.releaseDir()
	return nil
}

// kill marks an empty directory removed, or fails with ENOTEMPTY.
func (d *Dir) kill() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.byName) != 0 {
		return unix.ENOTEMPTY
	}
	d.dead = true
	return nil
}

// releaseDir drops a removed directory's links.
func (d *Dir) releaseDir() {
	d.inode.mu.Lock()
	d.nlink = 0
	d.ctime = now()
	rel := !d.released
	d.released = true
	d.inode.mu.Unlock()
	if rel {
		d.release()
	}
}

// isAncestorOf reports whether d is dir or one of its ancestors.
func (d *Dir) isAncestorOf(dir *Dir) bool {
	for {
		if dir == d {
			return true
		}
		p := dir.parent.Load()
		if p == dir {
			return false
		}
		dir = p
	}
}

// Rename implements vfs.DirOps.Rename.
func (d *Dir) Rename(oldName string, newDir vfs.Inode, newName string, flags uint32) error {
	nn := d.ownNode(newDir)
	if nn == nil {
		return unix.EXDEV
	}
	nd, ok := nn.(*Dir)
	if !ok {
		return unix.ENOTDIR
	}
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 ||
		flags == unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE {
		return unix.EINVAL
	}
	if len(newName) > vfs.NameMax {
		return unix.ENAMETOOLONG
	}
	fs := d.fs
	fs.renameMu.Lock()
	defer fs.renameMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if nd != d {
		nd.mu.Lock()
		defer nd.mu.Unlock()
	}
	if d.dead || nd.dead {
		return unix.ENOENT
	}
	src, ok := d.byName[oldName]
	if !ok {
		return unix.ENOENT
	}
	dst := nd.byName[newName]
	srcNode := src.node
	srcDir, srcIsDir := srcNode.(*Dir)

	if flags&unix.RENAME_EXCHANGE != 0 {
		if dst == nil {
			return unix.ENOENT
		}
		if dst.node == srcNode {
			return nil
		}
		dstNode := dst.node
		dstDir, dstIsDir := dstNode.(*Dir)
		if d != nd {
			if srcIsDir && srcDir.isAncestorOf(nd) || dstIsDir && dstDir.isAncestorOf(d) {
				return unix.EINVAL
			}
		}
		src.node, dst.node = dstNode, srcNode
		if d != nd {
			if srcIsDir {
				srcDir.parent.Store(nd)
				d.addLinks(-1, false)
				nd.addLinks(1, false)
			}
			if dstIsDir {
				dstDir.parent.Store(d)
				nd.addLinks(-1, false)
				d.addLinks(1, false)
			}
		}
		srcNode.base().touchChanged()
		dstNode.base().touchChanged()
		d.touchModified()
		nd.touchModified()
		return nil
	}

	var victimDir *Dir
	if dst != nil {
		if flags&unix.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		if dst.node == srcNode {
			// Two names of one file: POSIX says do nothing.
			return nil
		}
		vd, dstIsDir := dst.node.(*Dir)
		switch {
		case srcIsDir && !dstIsDir:
			return unix.ENOTDIR
		case !srcIsDir && dstIsDir:
			return unix.EISDIR
		}
		victimDir = vd
	} else if err := nd.checkNewLocked(newName); err != nil {
		return err
	}
	if srcIsDir && srcDir.isAncestorOf(nd) {
		return unix.EINVAL
	}
	if victimDir != nil {
		if victimDir == d {
			// The source's own directory (a/x over a): not empty,
			// and already locked.
			return unix.ENOTEMPTY
		}
		// Last check, as it commits: the victim takes no new entries
		// from here on.
		if err := victimDir.kill(); err != nil {
			return err
		}
	}

	// Commit.
	var victim node
	if dst != nil {
		victim = dst.node
		nd.removeLocked(newName)
	}
	d.removeLocked(oldName)
	nd.insertLocked(newName, srcNode)
	if srcIsDir && d != nd {
		srcDir.parent.Store(nd)
		d.addLinks(-1, false)
		nd.addLinks(1, false)
	}
	switch {
	case victimDir != nil:
		nd.addLinks(-1, false)
		victimDir.releaseDir()
	case victim != nil:
		dropLink(victim)
	}
	srcNode.base().touchChanged()
	d.touchModified()
	if nd != d {
		nd.touchModified()
	}
	return nil
}

// dirFile is an open directory.
type dirFile struct {
	d *Dir
}

func (*dirFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EISDIR }
func (*dirFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EISDIR }
func (f *dirFile) Stat() (unix.Stat_t, error)       { return f.d.Stat() }
func (*dirFile) Close() error                       { return nil }

// Sync implements vfs.Syncer: nothing to write back.
func (*dirFile) Sync(bool) error { return nil }

// direntLen is the size of a linux_dirent64 record for name.
func direntLen(name string) int {
	return (19 + len(name) + 1 + 7) &^ 7
}

// direntType converts S_IFMT bits to a DT_* value.
func direntType(typ uint32) uint8 { return uint8(typ >> 12) }

// Readdir implements vfs.DirReader: entries with cookies after off, each
// with its own cookie as Off (where the next read continues).
func (f *dirFile) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	d := f.d
	var out []vfs.Dirent
	size := 0
	add := func(e vfs.Dirent) bool {
		n := direntLen(e.Name)
		if len(out) > 0 && maxBytes > 0 && size+n > maxBytes {
			return false
		}
		out = append(out, e)
		size += n
		return true
	}
	d.mu.RLock()
	if d.dead {
		d.mu.RUnlock()
		return nil, unix.ENOENT
	}
	full := false
	if off < cookieDot {
		full = !add(vfs.Dirent{Ino: d.ino, Off: cookieDot, Type: unix.DT_DIR, Name: "."})
	}
	if off < cookieDotDot && !full {
		full = !add(vfs.Dirent{Ino: d.parent.Load().ino, Off: cookieDotDot, Type: unix.DT_DIR, Name: ".."})
	}
	if !full {
		i := sort.Search(len(d.entries), func(i int) bool { return d.entries[i].cookie > off })
		for ; i < len(d.entries); i++ {
			e := d.entries[i]
			if e.node == nil {
				continue
			}
			in := e.node.base()
			if !add(vfs.Dirent{Ino: in.ino, Off: e.cookie, Type: direntType(in.typ), Name: e.name}) {
				break
			}
		}
	}
	d.mu.RUnlock()
	d.touchAtime()
	return out, nil
}
