package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Mount namespaces: pivot_root(2) and setns(2). unshare and clone with
// CLONE_NEWNS are the kernel's (kernel/mounts.go).

// PivotRoot implements Linux syscall pivot_root(2).
func PivotRoot(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if !t.FSCreds().HasCap(vfs.CapSysAdmin) {
		return 0, unix.EPERM
	}
	resolveDir := func(addr uint64) (*vfs.Dentry, error) {
		p, err := copyInPath(t, addr)
		if err != nil {
			return nil, err
		}
		if p == "" {
			return nil, unix.ENOENT
		}
		start, err := startDir(t, atFDCWD, p)
		if err != nil {
			return nil, err
		}
		return vfs.Resolve(t.Root(), start, p, vfs.ResolveOpts{FollowFinal: true, WantDir: true, Creds: t.FSCreds()})
	}
	newRoot, err := resolveDir(args[0])
	if err != nil {
		return 0, err
	}
	putOld, err := resolveDir(args[1])
	if err != nil {
		return 0, err
	}
	return 0, t.PivotRoot(newRoot, putOld)
}

// Setns implements Linux syscall setns(2) for mount namespaces: fd is a
// /proc/[pid]/ns/mnt file (nstype 0 or CLONE_NEWNS) or a pidfd (nstype
// CLONE_NEWNS). Joining the other kinds of namespace is not implemented
// (their /proc links cannot be opened; a pidfd asking for them gets
// EINVAL).
func Setns(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	nstype := args[1]
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	var ns *vfs.MountNamespace
	if p, ok := f.Impl().(*kernel.PIDFD); ok {
		if nstype != unix.CLONE_NEWNS {
			return 0, unix.EINVAL
		}
		if ns, err = p.ThreadGroup().MountNamespace(); err != nil {
			return 0, err
		}
	} else {
		d := f.Dentry()
		if d == nil {
			return 0, unix.EINVAL
		}
		ni, ok := d.Inode().(*vfs.NamespaceInode)
		if !ok {
			return 0, unix.EINVAL
		}
		if ns, ok = ni.Namespace.(*vfs.MountNamespace); !ok || (nstype != 0 && nstype != unix.CLONE_NEWNS) {
			return 0, unix.EINVAL
		}
	}
	return 0, t.SetMountNamespace(ns)
}
