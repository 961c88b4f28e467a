package vfs

import "golang.org/x/sys/unix"

// NamespaceHolder is implemented by namespaces that an open namespace
// file keeps alive, as a Linux nsfs inode holds a reference on its
// namespace: setns(2) through a kept descriptor then finds the namespace
// whole (its hostname, IPC objects, network stack) after every process
// in it exited. Namespaces without it (mount, UTS, PID) live as long as
// anything points at them.
type NamespaceHolder interface {
	// HoldNamespace takes a reference for an open file. It reports
	// false when it took none: the namespace cannot end (an initial
	// one), or it ended before the file was opened.
	HoldNamespace() bool
	// ReleaseNamespace drops a reference HoldNamespace took.
	ReleaseNamespace()
}

// openNamespaceFile opens n, taking a reference on its namespace that the
// description's Close gives back.
func openNamespaceFile(n *NamespaceInode) *namespaceFile {
	f := &namespaceFile{n: n}
	if h, ok := n.Namespace.(NamespaceHolder); ok && h.HoldNamespace() {
		f.held = h
	}
	return f
}

// namespaceFile is an open namespace file: it can only be named (setns,
// fstat), not read or written.
type namespaceFile struct {
	n *NamespaceInode
	// held is the namespace the file holds a reference on, nil when
	// none; written only by openNamespaceFile (Close runs once, on the
	// description's last reference).
	held NamespaceHolder
}

// NamespaceIoctl serves the ioctls of namespace files (NS_GET_USERNS,
// NS_GET_PARENT, NS_GET_NSTYPE, NS_GET_OWNER_UID) for the namespace the
// file stands for; set once, at start-up, by the package that knows
// namespaces and descriptor tables (sentry/kernel). Without it they are
// ENOTTY.
var NamespaceIoctl func(io IoctlIO, ns any, request, arg uint64) (uint64, error)

// Ioctl implements Ioctler.
func (f *namespaceFile) Ioctl(io IoctlIO, request, arg uint64) (uint64, error) {
	if NamespaceIoctl == nil {
		return 0, unix.ENOTTY
	}
	return NamespaceIoctl(io, f.n.Namespace, request, arg)
}

func (f *namespaceFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EINVAL }
func (f *namespaceFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }
func (f *namespaceFile) Stat() (unix.Stat_t, error)         { return f.n.Stat() }

func (f *namespaceFile) Close() error {
	if f.held != nil {
		f.held.ReleaseNamespace()
	}
	return nil
}

// Bind mounts of namespace files.
//
// mount --bind /proc/PID/ns/KIND FILE (what `ip netns add` does) makes a
// mount whose root is the namespace file. As on Linux, where the mount
// pins the nsfs dentry and so the namespace, the mount holds the
// namespace while it is in a mount namespace: unmounting it gives the
// reference back, and a copy of it in a copied mount namespace takes one
// of its own. A copied mount namespace that ends with such mounts in it
// gives their references back (mountns_users.go).

// nsfsInfo describes a bind mount of a namespace file in mountinfo, as
// Linux shows one (the nsfs internal mount's source and type).
var nsfsInfo = MountInfo{Source: "nsfs", FSType: "nsfs", Dev: nsfsDev, NoDev: true}

// mountHolds maps the mounts of namespace files that hold their
// namespace to it; protected by mountMu (every change of a mount tree
// holds it).
var mountHolds = map[*mount]NamespaceHolder{}

// checkBindNamespace says whether the namespace file n may be bound in
// ns, the caller's mount namespace (Linux's do_loopback lets an nsfs file
// be bound although its mount is in no namespace). A mount namespace's
// file may be bound only in an older namespace (EINVAL otherwise: Linux's
// mnt_ns_loop), so that no namespace holds itself through a chain of
// such mounts; namespace inode numbers grow in creation order.
func (ns *MountNamespace) checkBindNamespace(n *NamespaceInode) error {
	if m, ok := n.Namespace.(*MountNamespace); ok && m.id <= ns.id {
		return unix.EINVAL
	}
	return nil
}

// bindNamespaceLocked mounts the namespace file src on target (an
// attached dentry of ns, mountMu and ns.mu held) and returns the new
// mount's root, which holds the namespace.
func (ns *MountNamespace) bindNamespaceLocked(src, target *Dentry, n *NamespaceInode) (*Dentry, error) {
	if err := ns.checkBindNamespace(n); err != nil {
		return nil, err
	}
	// The mount shows the namespace file's name at its root, as Linux's
	// mountinfo does ("net:[4026532...]"), also when src is itself such
	// a mount.
	fsRoot := src.Name()
	if sm := ns.findLocked(src.mountRoot()); sm != nil && sm.root == src && sm.info != nil && sm.info.FSType == nsfsInfo.FSType {
		fsRoot = sm.fsRoot
	}
	info := nsfsInfo
	top := target.MountInode(n)
	m := &mount{id: nextMountID.Add(1), root: top, info: &info, fsRoot: fsRoot}
	ns.mounts = append(ns.mounts, m)
	holdMountNamespace(m)
	return top, nil
}

// holdMountNamespace takes the reference a mount of a namespace file
// holds (none for other mounts, or for a namespace that cannot end);
// mountMu is held.
func holdMountNamespace(m *mount) {
	n, ok := m.root.inode.(*NamespaceInode)
	if !ok {
		return
	}
	if h, ok := n.Namespace.(NamespaceHolder); ok && h.HoldNamespace() {
		mountHolds[m] = h
	}
}

// releaseMountNamespace gives back the reference of m, a mount leaving
// its namespace; mountMu is held.
func releaseMountNamespace(m *mount) {
	if h, ok := mountHolds[m]; ok {
		delete(mountHolds, m)
		h.ReleaseNamespace()
	}
}
