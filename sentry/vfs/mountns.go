package vfs

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Mount namespaces.
//
// A mount is the root dentry of a mounted tree: Dentry.mounted and
// Dentry.mountpoint link it to the dentry it is mounted on, and the
// dentries below it belong to it alone. A namespace is the set of mounts
// reachable from its root. Copying a namespace (unshare or clone with
// CLONE_NEWNS) makes new mount roots over the same inodes, mounted on
// copies of the mount points, as Linux's copy_tree makes new vfsmounts
// over the same superblocks: the copy and the original then change
// independently, and the dentries below the mount points are looked up
// afresh in the copy (the file systems answer with the same files, as for
// a bind mount).
//
// A namespace lists its mounts the first time it is asked (a walk of the
// cached tree, which at that point holds every mount the sandbox made
// while booting); from then on the changes made through it (Mount,
// Unmount, Move, Pivot) keep the list.

// mountMu serialises changes of the mount trees (mount, umount, move,
// pivot_root, copies of namespaces), as Linux's namespace_sem; path walks
// do not take it. Lock order: mountMu, then MountNamespace.mu, then
// Dentry.mu.
var mountMu sync.Mutex

var (
	// nextMountID numbers mounts, for /proc/[pid]/mountinfo.
	nextMountID atomic.Int64
	// nextPeerGroup numbers the peer groups of shared mounts.
	nextPeerGroup atomic.Int64
)

// MountInfo describes what mount(2) mounted, as /proc/[pid]/mountinfo
// shows it.
type MountInfo struct {
	// Source and FSType are mount(8)'s device and type; SuperOptions are
	// the file system's options ("" for "rw" or "ro" as the mount is).
	Source, FSType, SuperOptions string
	// Dev is the st_dev of the file system's files.
	Dev uint64
	// NoDev marks a file system without a block device.
	NoDev bool
}

// Propagation is a mount's propagation type: private when all fields are
// zero.
type Propagation struct {
	// Shared is the peer group of a shared mount, 0 if not shared.
	Shared int64
	// Master is the peer group a slave mount receives from, 0 if none.
	Master int64
	// Unbindable is set on an unbindable mount.
	Unbindable bool
}

// mount is one mount of a namespace.
type mount struct {
	id   int64
	root *Dentry
	// info describes a mount made through the namespace; nil for a mount
	// found when the namespace was first listed (one the sandbox made
	// while booting), which origin names instead.
	info *MountInfo
	// origin is the mount's path when the namespace first listed it,
	// and originSeq its position among the mounts listed there (mounts
	// stacked at one place), counting from 0. Copies of the mount (in a
	// copied namespace, or by a bind mount) keep both.
	origin    string
	originSeq int
	// fsRoot is the path, within its file system, of the directory the
	// mount shows at its root: "/" but for bind mounts of a directory
	// below a file system's root (mountinfo's fourth field).
	fsRoot string
	// prop is protected by MountNamespace.mu.
	prop Propagation
}

// MountNamespace is a mount namespace: a root and the mounts below it.
type MountNamespace struct {
	// id is the namespace's inode number (/proc/[pid]/ns/mnt); immutable.
	id uint64

	// copied marks a namespace made by Copy, which ends with its last
	// user (mountns_users.go); immutable.
	copied bool

	// mu protects root, mounts, listed, users and ended.
	mu   sync.Mutex
	root *Dentry
	// mounts are the namespace's mounts in the order they were made.
	mounts []*mount
	listed bool
	// users counts a copy's file-system contexts and the holds of its
	// namespace file; ended is set when the last one went.
	users int
	ended bool
}

// NewMountNamespace returns the namespace of the tree at root, numbered id.
func NewMountNamespace(root *Dentry, id uint64) *MountNamespace {
	return &MountNamespace{id: id, root: root}
}

// ID returns the namespace's inode number.
func (ns *MountNamespace) ID() uint64 { return ns.id }

// Root returns the root of the namespace (pivot_root changes it).
func (ns *MountNamespace) Root() *Dentry {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.root
}

// parentMount returns the root of the mount r (a mount root) is mounted
// in, nil for a namespace root or a detached mount.
func parentMount(r *Dentry) *Dentry {
	r.mu.Lock()
	mp := r.mountpoint
	r.mu.Unlock()
	if mp == nil {
		return nil
	}
	return mp.mountRoot()
}

// isBelow reports whether mount r is m or mounted somewhere below m.
func isBelow(r, m *Dentry) bool {
	for ; r != nil; r = parentMount(r) {
		if r == m {
			return true
		}
	}
	return false
}

// listLocked lists the mounts of a namespace the first time; ns.mu is
// held.
func (ns *MountNamespace) listLocked() {
	if ns.listed {
		return
	}
	ns.listed = true
	seen := map[string]int{}
	add := func(r *Dentry, path string) {
		ns.mounts = append(ns.mounts, &mount{id: nextMountID.Add(1), root: r, origin: path, originSeq: seen[path], fsRoot: "/"})
		seen[path]++
	}
	var walk func(d *Dentry, path string)
	walk = func(d *Dentry, path string) {
		d.mu.Lock()
		over := d.mounted
		names := make([]string, 0, len(d.children))
		for name, c := range d.children {
			if c.inode != nil {
				names = append(names, name)
			}
		}
		d.mu.Unlock()
		if over != nil {
			add(over, path)
			walk(over, path)
		}
		sort.Strings(names)
		for _, name := range names {
			d.mu.Lock()
			c := d.children[name]
			d.mu.Unlock()
			if c != nil {
				walk(c, joinPath(path, name))
			}
		}
	}
	add(ns.root, "/")
	walk(ns.root, "/")
}

func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// findLocked returns the mount rooted at r, nil if r is not a mount of
// the namespace; ns.mu is held and the namespace listed.
func (ns *MountNamespace) findLocked(r *Dentry) *mount {
	for _, m := range ns.mounts {
		if m.root == r {
			return m
		}
	}
	return nil
}

// MountEntry is one mount of a namespace as /proc/[pid]/mountinfo shows
// it.
type MountEntry struct {
	// ID and ParentID are the mount's and its parent's IDs (0 for the
	// namespace root's parent).
	ID, ParentID int64
	// Root is the mount's root dentry.
	Root *Dentry
	// Target is the mount point's path from the namespace's root.
	Target string
	// Info describes the mount when it was made through the namespace
	// (a bind mount's, or the namespace copy's, is the one its source was
	// made with); nil for the sandbox's own mounts, which Origin (the
	// mount point's path when the namespace was first listed) and
	// OriginSeq (its place among the mounts stacked there, from 0) name
	// instead.
	Info      *MountInfo
	Origin    string
	OriginSeq int
	// FSRoot is the path within the file system of the directory shown
	// at the mount's root ("/" but for bind mounts of a subdirectory).
	FSRoot string
	// ReadOnly, NoExec and NoSuid are the per-mount flags.
	ReadOnly, NoExec, NoSuid bool
	Propagation
}

// Mounts returns the namespace's mounts, in the order they were made.
func (ns *MountNamespace) Mounts() []MountEntry {
	ns.mu.Lock()
	ns.listLocked()
	mounts := slices.Clone(ns.mounts)
	props := make([]Propagation, len(mounts))
	for i, m := range mounts {
		props[i] = m.prop
	}
	root := ns.root
	ns.mu.Unlock()
	ids := make(map[*Dentry]int64, len(mounts))
	for _, m := range mounts {
		ids[m.root] = m.id
	}
	out := make([]MountEntry, 0, len(mounts))
	for i, m := range mounts {
		e := MountEntry{
			ID: m.id, Root: m.root, Info: m.info, Origin: m.origin, OriginSeq: m.originSeq,
			FSRoot: m.fsRoot, Propagation: props[i],
			ReadOnly: m.root.readOnly.Load(), NoExec: m.root.noExec.Load(), NoSuid: m.root.noSuid.Load(),
		}
		if m.root != root {
			e.ParentID = ids[parentMount(m.root)]
		}
		e.Target = m.root.Path(root)
		out = append(out, e)
	}
	return out
}

// Mount mounts the tree rooted at inode on target (mount(2)) and returns
// the new mount's root: EINVAL when target is not in the namespace.
func (ns *MountNamespace) Mount(target *Dentry, inode Inode, info MountInfo) (*Dentry, error) {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.listLocked()
	target = target.top()
	if ns.findLocked(target.mountRoot()) == nil {
		return nil, unix.EINVAL
	}
	m := target.MountInode(inode)
	ns.mounts = append(ns.mounts, &mount{id: nextMountID.Add(1), root: m, info: &info, fsRoot: "/"})
	return m, nil
}

// CheckBind says whether d may be the source of a bind mount: EINVAL
// when d's mount is unbindable or not in the namespace.
func (ns *MountNamespace) CheckBind(d *Dentry) error {
	if n, ok := d.inode.(*NamespaceInode); ok {
		return ns.checkBindNamespace(n)
	}
	r := d.mountRoot()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.listLocked()
	if m := ns.findLocked(r); m == nil || m.prop.Unbindable {
		return unix.EINVAL
	}
	return nil
}

// Unmount detaches the mount rooted at d with every mount below it, as
// umount2(2) with MNT_DETACH does: open files, working directories and
// roots inside keep working. EINVAL if d is not the root of a mount of
// the namespace or is its root, EBUSY if something is mounted over it.
func (ns *MountNamespace) Unmount(d *Dentry) error {
	return ns.unmount(d, nil, true)
}

// UnmountIdle unmounts the mount rooted at d unless it is busy, as
// umount2(2) without MNT_DETACH does (Linux's propagate_mount_busy): EBUSY
// when a mount is below it or over it, when a file is open in it (an open
// file pins its dentry), or when one of users is in it. users are the
// dentries tasks hold that the namespace cannot see: working directories,
// chroot roots and the files of descriptor tables (an unlinked open file
// has left the cached tree). The errors are otherwise Unmount's.
func (ns *MountNamespace) UnmountIdle(d *Dentry, users []*Dentry) error {
	return ns.unmount(d, users, false)
}

func (ns *MountNamespace) unmount(d *Dentry, users []*Dentry, lazy bool) error {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.listLocked()
	if d == ns.root || ns.findLocked(d) == nil {
		return unix.EINVAL
	}
	if !lazy {
		for _, m := range ns.mounts {
			if m.root != d && parentMount(m.root) == d {
				return unix.EBUSY
			}
		}
		if mountInUse(d, users) {
			return unix.EBUSY
		}
	}
	if err := d.Unmount(); err != nil {
		return err
	}
	ns.mounts = slices.DeleteFunc(ns.mounts, func(m *mount) bool {
		if isBelow(m.root, d) {
			leavePeers(m.prop.Shared)
			releaseMountNamespace(m)
			return true
		}
		return false
	})
	return nil
}

// Move moves the mount rooted at src, with everything mounted below it,
// onto target (mount(2) with MS_MOVE), with Linux's checks: EINVAL when
// src is not the root of a mount of the namespace (or is its root), when
// target is not in the namespace, when one is a directory and the other
// is not, when src's parent is shared or a tree with unbindable mounts
// would go under a shared one; ELOOP when target lies below src.
func (ns *MountNamespace) Move(src, target *Dentry) error {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.listLocked()
	target = target.top()
	tm := ns.findLocked(target.mountRoot())
	sm := ns.findLocked(src)
	if tm == nil || sm == nil || src == ns.root {
		return unix.EINVAL
	}
	srcDir, err := src.isDir()
	if err != nil {
		return err
	}
	if dstDir, err := target.isDir(); err != nil {
		return err
	} else if srcDir != dstDir {
		return unix.EINVAL
	}
	if pm := ns.findLocked(parentMount(src)); pm != nil && pm.prop.Shared != 0 {
		return unix.EINVAL
	}
	if tm.prop.Shared != 0 {
		for _, m := range ns.mounts {
			if m.prop.Unbindable && isBelow(m.root, src) {
				return unix.EINVAL
			}
		}
	}
	if isBelow(target.mountRoot(), src) {
		return unix.ELOOP
	}
	src.mu.Lock()
	oldMP := src.mountpoint
	src.mu.Unlock()
	oldMP.mu.Lock()
	if oldMP.mounted == src {
		oldMP.mounted = nil
	}
	oldMP.mu.Unlock()
	target.mu.Lock()
	name := target.name
	target.mounted = src
	target.mu.Unlock()
	src.mu.Lock()
	src.mountpoint, src.name = target, name
	src.mu.Unlock()
	return nil
}

// Pivot implements pivot_root(2) for a task whose root is root: the mount
// of newRoot takes the place of root's mount, which goes onto putOld. It
// returns the old root mount (tasks whose root or working directory was
// it move to newRoot, as Linux's chroot_fs_refs does). Errors are
// Linux's: EBUSY when newRoot or putOld is on root's mount; EINVAL when
// root or newRoot is not a mount point or not in the namespace, when
// putOld is not at or below newRoot or newRoot not below root, or a mount
// involved is shared; ENOENT when newRoot was removed.
func (ns *MountNamespace) Pivot(root, newRoot, putOld *Dentry) (*Dentry, error) {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.listLocked()
	putOld = putOld.top()
	rootMnt, newMnt, oldMnt := root.mountRoot(), newRoot.mountRoot(), putOld.mountRoot()
	rm, nm, om := ns.findLocked(rootMnt), ns.findLocked(newMnt), ns.findLocked(oldMnt)
	shared := func(r *Dentry) bool {
		m := ns.findLocked(r)
		return m != nil && m.prop.Shared != 0
	}
	switch {
	case om == nil || shared(oldMnt) || shared(parentMount(newMnt)) || shared(parentMount(rootMnt)):
		return nil, unix.EINVAL
	case rm == nil || nm == nil:
		return nil, unix.EINVAL
	case newRoot.Deleted():
		return nil, unix.ENOENT
	case newMnt == rootMnt || oldMnt == rootMnt:
		return nil, unix.EBUSY
	case root != rootMnt:
		return nil, unix.EINVAL // the root is not a mount point
	case rootMnt != ns.root && parentMount(rootMnt) == nil:
		return nil, unix.EINVAL // the root is not attached
	case newRoot != newMnt || parentMount(newMnt) == nil:
		return nil, unix.EINVAL // new_root is not a mount point
	case !reachable(putOld, newRoot) || !reachable(newRoot, root):
		return nil, unix.EINVAL
	}
	// Detach new_root from where it is mounted.
	newMP := newMnt.mountpoint
	newMP.mu.Lock()
	if newMP.mounted == newMnt {
		newMP.mounted = nil
	}
	newMP.mu.Unlock()
	// The old root goes onto put_old (the top of it, now that new_root
	// left: "." names new_root itself in the pivot_root(".", ".")
	// idiom).
	rootMnt.mu.Lock()
	rootMP, rootName := rootMnt.mountpoint, rootMnt.name
	rootMnt.mu.Unlock()
	putOld = putOld.top()
	putOld.mu.Lock()
	putOld.mounted = rootMnt
	oldName := putOld.name
	putOld.mu.Unlock()
	rootMnt.mu.Lock()
	rootMnt.mountpoint, rootMnt.name = putOld, oldName
	rootMnt.mu.Unlock()
	// new_root takes the old root's place.
	newMnt.mu.Lock()
	newMnt.mountpoint, newMnt.name = rootMP, rootName
	newMnt.mu.Unlock()
	if rootMP != nil {
		rootMP.mu.Lock()
		rootMP.mounted = newMnt
		rootMP.mu.Unlock()
	}
	if rootMnt == ns.root {
		ns.root = newMnt
	}
	return rootMnt, nil
}

// reachable reports whether d is at or below dir, crossing mount points
// upward.
func reachable(d, dir *Dentry) bool {
	for {
		if d == dir {
			return true
		}
		d.mu.Lock()
		p, mp := d.parent, d.mountpoint
		d.mu.Unlock()
		switch {
		case p != nil:
			d = p
		case mp != nil:
			d = mp
		default:
			return false
		}
	}
}

// SetPropagation changes the propagation type of the mount rooted at d
// (mount(2) with one of MS_SHARED, MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE),
// of every mount below it with MS_REC: EINVAL when d is not the root of a
// mount of the namespace.
func (ns *MountNamespace) SetPropagation(d *Dentry, flag uint64, recursive bool) error {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.listLocked()
	if d.mountRoot() != d || ns.findLocked(d) == nil {
		return unix.EINVAL
	}
	for _, m := range ns.mounts {
		if m.root != d && !(recursive && isBelow(m.root, d)) {
			continue
		}
		switch flag {
		case unix.MS_SHARED:
			if m.prop.Shared == 0 {
				m.prop.Shared = nextPeerGroup.Add(1)
				joinPeers(m.prop.Shared)
			}
			m.prop.Unbindable = false
		case unix.MS_SLAVE:
			// A shared mount receives from its peers from now on; one
			// without peers has nothing to receive from and keeps
			// its master, if any (do_make_slave).
			if m.prop.Shared != 0 && ns.hasPeerLocked(m) {
				m.prop.Master = m.prop.Shared
			}
			leavePeers(m.prop.Shared)
			m.prop.Shared = 0
		case unix.MS_PRIVATE, unix.MS_UNBINDABLE:
			leavePeers(m.prop.Shared)
			m.prop = Propagation{Unbindable: flag == unix.MS_UNBINDABLE}
		}
	}
	return nil
}

// hasPeerLocked reports whether another mount is in m's peer group;
// ns.mu is held.
func (ns *MountNamespace) hasPeerLocked(m *mount) bool {
	peersMu.Lock()
	defer peersMu.Unlock()
	return peerCount[m.prop.Shared] > 1
}

// joinPeers and leavePeers count the members of peer group g.
func joinPeers(g int64) {
	if g == 0 {
		return
	}
	peersMu.Lock()
	defer peersMu.Unlock()
	peerCount[g]++
}

func leavePeers(g int64) {
	if g == 0 {
		return
	}
	peersMu.Lock()
	defer peersMu.Unlock()
	if peerCount[g]--; peerCount[g] <= 0 {
		delete(peerCount, g)
	}
}

var (
	// peersMu protects peerCount.
	peersMu sync.Mutex
	// peerCount counts the mounts of each peer group: a shared mount
	// and its copies in copied namespaces. A namespace that dies without
	// unmounting keeps its members counted.
	peerCount = map[int64]int{}
)

// Copy returns a copy of the namespace numbered id (unshare or clone with
// CLONE_NEWNS), and a function that maps a dentry of the namespace to its
// place in the copy, for the working directory and root of the task that
// moves to the copy. Shared mounts' copies are their peers, slaves' copies
// slaves of the same master, as Linux copies them.
func (ns *MountNamespace) Copy(id uint64) (*MountNamespace, func(*Dentry) *Dentry) {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	ns.listLocked()
	mounts := slices.Clone(ns.mounts)
	props := make(map[*mount]Propagation, len(mounts))
	for _, m := range mounts {
		props[m] = m.prop
	}
	root := ns.root
	ns.mu.Unlock()

	// Parents are copied before their children: order by depth, mount
	// order within a depth (MS_MOVE can put a mount below a later one).
	depth := make(map[*mount]int, len(mounts))
	for _, m := range mounts {
		for r := m.root; r != nil && r != root; r = parentMount(r) {
			depth[m]++
		}
	}
	ordered := slices.Clone(mounts)
	slices.SortStableFunc(ordered, func(a, b *mount) int { return depth[a] - depth[b] })

	copies := make(map[*Dentry]*Dentry, len(mounts))
	made := make(map[*mount]*mount, len(mounts))
	c := &MountNamespace{id: id, listed: true, copied: true}
	for _, m := range ordered {
		nr := &Dentry{name: m.root.Name(), inode: m.root.inode}
		nr.readOnly.Store(m.root.readOnly.Load())
		nr.noExec.Store(m.root.noExec.Load())
		nr.noSuid.Store(m.root.noSuid.Load())
		if m.root == root {
			c.root = nr
		} else {
			pm := parentMount(m.root)
			pc := copies[pm]
			if pc == nil {
				continue // not attached below the root
			}
			m.root.mu.Lock()
			mp := m.root.mountpoint
			m.root.mu.Unlock()
			cmp := copyPath(pc, pm, mp)
			if cmp == nil {
				continue
			}
			cmp.top().Mount(nr)
		}
		copies[m.root] = nr
		made[m] = &mount{
			id: nextMountID.Add(1), root: nr, info: m.info, origin: m.origin, originSeq: m.originSeq,
			fsRoot: m.fsRoot, prop: props[m],
		}
	}
	for _, m := range mounts {
		if cm := made[m]; cm != nil {
			c.mounts = append(c.mounts, cm)
			joinPeers(cm.prop.Shared)
			holdMountNamespace(cm)
		}
	}
	remap := func(d *Dentry) *Dentry {
		if d == nil {
			return nil
		}
		r := d.mountRoot()
		cr := copies[r]
		if cr == nil {
			return d
		}
		if cd := copyPath(cr, r, d); cd != nil {
			return cd
		}
		return d
	}
	return c, remap
}

// copyPath returns the dentry at d's place below copyRoot, a copy of
// origRoot (the root of d's mount), making the dentries on the way over
// the same inodes; nil if d is not below origRoot. A removed d gets a
// removed copy, outside the cache.
func copyPath(copyRoot, origRoot, d *Dentry) *Dentry {
	var chain []*Dentry
	for e := d; e != origRoot; {
		chain = append(chain, e)
		p := e.getParent()
		if p == nil {
			return nil
		}
		e = p
	}
	cur := copyRoot
	for i := len(chain) - 1; i >= 0; i-- {
		e := chain[i]
		e.mu.Lock()
		name, inode := e.name, e.inode
		e.mu.Unlock()
		if e.Deleted() {
			c := &Dentry{parent: cur, name: name, inode: inode}
			c.deleted.Store(true)
			cur = c
			continue
		}
		cur.mu.Lock()
		c, ok := cur.children[name]
		if !ok || c.inode == nil {
			c = &Dentry{parent: cur, name: name, inode: inode}
			cur.putChildLocked(name, c)
		}
		cur.mu.Unlock()
		cur = c
	}
	return cur
}

// MountOptions renders a mount's per-mount flags as /proc/mounts does.
func MountOptions(readOnly, noExec, noSuid bool) string {
	var b strings.Builder
	if readOnly {
		b.WriteString("ro")
	} else {
		b.WriteString("rw")
	}
	if noSuid {
		b.WriteString(",nosuid")
	}
	if noExec {
		b.WriteString(",noexec")
	}
	b.WriteString(",relatime")
	return b.String()
}

// nsfsDev is the st_dev of namespace files, as Linux's nsfs shows it.
var nsfsDev = unix.Mkdev(0, 4)

// NamespaceInode is the file a /proc/[pid]/ns link leads to (Linux's
// nsfs): a descriptor of it names the namespace for setns(2).
type NamespaceInode struct {
	// Namespace is the namespace the file stands for.
	Namespace any
	// Ino is the namespace's inode number.
	Ino uint64
}

// Stat implements Inode.Stat.
func (n *NamespaceInode) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Ino: n.Ino, Dev: nsfsDev, Mode: unix.S_IFREG | 0o444, Nlink: 1, Blksize: 4096}, nil
}

// Lookup implements Inode.Lookup.
func (n *NamespaceInode) Lookup(string) (Inode, error) { return nil, unix.ENOTDIR }

// Readlink implements Inode.Readlink.
func (n *NamespaceInode) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements Inode.Open: the open file holds the namespace
// (nsfs.go).
func (n *NamespaceInode) Open(int) (FileImpl, error) { return openNamespaceFile(n), nil }
