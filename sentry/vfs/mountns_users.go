package vfs

// The lifetime of a copied mount namespace.
//
// A namespace made by Copy (unshare or clone with CLONE_NEWNS) ends when
// nothing is in it any more: no file-system context of a task (Enter,
// Leave) and no open file or bind mount of its namespace file
// (NamespaceHolder). Linux then unmounts its whole tree (put_mnt_ns).
// Here the copy's dentries would otherwise stay in the dentry cache,
// where one cached name pins the copy's whole tree and its mounts, and
// its mounts would keep the namespaces bind-mounted in it and their peer
// groups counted: a pod that runs `unshare -m` in a loop (a build tool's
// sandbox, a service with a private /tmp) kept up to the cache's bound
// of dead trees. Initial namespaces (NewMountNamespace) are not counted:
// their owner, the sandbox or a container, ends them.

// Enter records a new file-system context in ns; it reports false for a
// copy that has already ended, which can no longer be entered.
func (ns *MountNamespace) Enter() bool { return ns.addUser() || !ns.copied }

// addUser counts a user of a copy that has not ended, and reports
// whether it counted one.
func (ns *MountNamespace) addUser() bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if !ns.copied || ns.ended {
		return false
	}
	ns.users++
	return true
}

// Leave drops what Enter added; the last user of a copy ends it. The
// caller must not hold mountMu.
func (ns *MountNamespace) Leave() {
	if ns.dropUser() {
		ns.end()
	}
}

// dropUser drops a user and reports whether it was a copy's last.
func (ns *MountNamespace) dropUser() bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if !ns.copied || ns.ended {
		return false
	}
	ns.users--
	ns.ended = ns.users == 0
	return ns.ended
}

// HoldNamespace implements NamespaceHolder: an open namespace file, or a
// bind mount of one, keeps a copy alive for setns(2).
func (ns *MountNamespace) HoldNamespace() bool { return ns.addUser() }

// ReleaseNamespace implements NamespaceHolder. It may run with mountMu
// held (a bind mount of the namespace file going in an unmount), so the
// last release ends the copy on a goroutine of its own.
func (ns *MountNamespace) ReleaseNamespace() {
	if ns.dropUser() {
		go ns.end()
	}
}

// end unmounts the tree of an ended copy, as umount_tree does: its mounts
// leave their peer groups and give back the namespaces they hold, and its
// dentries leave the dentry cache, so that the tree is garbage once no
// open file is below it.
func (ns *MountNamespace) end() {
	mountMu.Lock()
	defer mountMu.Unlock()
	ns.mu.Lock()
	mounts := ns.mounts
	ns.mounts = nil
	root := ns.root
	groups := make([]int64, len(mounts))
	for i, m := range mounts {
		groups[i] = m.prop.Shared
	}
	ns.mu.Unlock()
	for i, m := range mounts {
		leavePeers(groups[i])
		releaseMountNamespace(m)
	}
	forgetTree(root)
}

// forgetTree takes d and every dentry below it, across mounts, out of
// the dentry cache.
func forgetTree(d *Dentry) {
	dcache.remove(d)
	d.mu.Lock()
	below := make([]*Dentry, 0, len(d.children)+1)
	for _, c := range d.children {
		below = append(below, c)
	}
	if d.mounted != nil {
		below = append(below, d.mounted)
	}
	d.mu.Unlock()
	for _, c := range below {
		forgetTree(c)
	}
}
