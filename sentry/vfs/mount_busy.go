package vfs

// Busy mounts: umount2(2) without MNT_DETACH refuses a mount something
// still uses. Linux counts references on the vfsmount; here the users are
// found where they are: open files pin their dentries in the mount's
// cached tree, and the dentries tasks hold (working directories, roots,
// descriptors' files, which may have been unlinked) are passed in by the
// caller, which can see the tasks.

// MountRoot returns the root dentry of the mount d belongs to; the same
// directory seen through two mounts (a bind mount, a copied namespace)
// has a different one in each.
func (d *Dentry) MountRoot() *Dentry { return d.mountRoot() }

// mountInUse reports whether the mount rooted at r is in use: an open
// file's dentry in its cached tree (r included), or one of users inside
// it. Mounts below r are not entered: each of them makes r busy anyway.
func mountInUse(r *Dentry, users []*Dentry) bool {
	for _, u := range users {
		if u != nil && u.mountRoot() == r {
			return true
		}
	}
	stack := []*Dentry{r}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if d.pins.Load() != 0 {
			return true
		}
		d.mu.Lock()
		for _, c := range d.children {
			if c.inode != nil {
				stack = append(stack, c)
			}
		}
		d.mu.Unlock()
	}
	return false
}
