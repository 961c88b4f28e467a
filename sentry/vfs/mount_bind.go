package vfs

import (
	"path"
	"slices"

	"golang.org/x/sys/unix"
)

// Bind mounts the directory or file src on target (mount(2) with
// MS_BIND) and returns the new mount's root. The new mount shows src's
// file system from src down, with the per-mount flags of src's mount, as
// Linux's clone_mnt copies them; with recursive (MS_REC) the mounts below
// src come along, each copied onto its place in the new tree (Linux's
// copy_tree), save unbindable ones and what lies below them. EINVAL when
// src's mount is unbindable or src or target is not in the namespace. A
// namespace file (/proc/[pid]/ns/*, or a bind mount of one) makes a
// mount that holds its namespace (nsfs.go).
func (ns *MountNamespace) Bind(src, target *Dentry, recursive bool) (*Dentry, error) {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.listLocked()
	target = target.top()
	srcMnt := src.mountRoot()
	if n, ok := src.inode.(*NamespaceInode); ok {
		if ns.findLocked(target.mountRoot()) == nil {
			return nil, unix.EINVAL
		}
		return ns.bindNamespaceLocked(src, target, n)
	}
	sm := ns.findLocked(srcMnt)
	if sm == nil || sm.prop.Unbindable || ns.findLocked(target.mountRoot()) == nil {
		return nil, unix.EINVAL
	}
	// The mounts to copy, taken before the new one joins the list (a
	// bind of a tree onto a place inside it copies the tree as it was),
	// parents before children.
	var below []*mount
	if recursive {
		for _, m := range ns.mounts {
			if m.root != srcMnt && !m.prop.Unbindable && isBelow(m.root, srcMnt) {
				below = append(below, m)
			}
		}
		depth := make(map[*mount]int, len(below))
		for _, m := range below {
			for r := m.root; r != nil && r != srcMnt; r = parentMount(r) {
				depth[m]++
			}
		}
		slices.SortStableFunc(below, func(a, b *mount) int { return depth[a] - depth[b] })
	}

	top := target.MountInode(src.inode)
	ns.mounts = append(ns.mounts, cloneMount(sm, top, path.Join(sm.fsRoot, src.Path(srcMnt))))

	// copies maps an original mount's root to its copy's root and to the
	// dentry of the original the copy's root stands for (src for the
	// top).
	type placed struct{ copy, orig *Dentry }
	copies := map[*Dentry]placed{srcMnt: {top, src}}
	for _, m := range below {
		pm := parentMount(m.root)
		pc, ok := copies[pm]
		if !ok {
			continue // below an unbindable mount
		}
		m.root.mu.Lock()
		mp := m.root.mountpoint
		m.root.mu.Unlock()
		cmp := copyPath(pc.copy, pc.orig, mp)
		if cmp == nil {
			continue // mounted outside the part of its parent bound
		}
		nr := cmp.top().MountInode(m.root.inode)
		ns.mounts = append(ns.mounts, cloneMount(m, nr, m.fsRoot))
		copies[m.root] = placed{nr, m.root}
	}
	return top, nil
}

// cloneMount returns a new mount rooted at r that describes the same file
// system as m, from fsRoot, with m's per-mount flags. Like Linux's
// clone_mnt for a bind mount, the copy of a shared mount is its peer and
// the copy of a slave a slave of the same master; ns.mu is held.
func cloneMount(m *mount, r *Dentry, fsRoot string) *mount {
	r.readOnly.Store(m.root.readOnly.Load())
	r.noExec.Store(m.root.noExec.Load())
	r.noSuid.Store(m.root.noSuid.Load())
	c := &mount{
		id: nextMountID.Add(1), root: r, info: m.info, origin: m.origin, originSeq: m.originSeq,
		fsRoot: fsRoot, prop: Propagation{Shared: m.prop.Shared, Master: m.prop.Master},
	}
	joinPeers(c.prop.Shared)
	return c
}
