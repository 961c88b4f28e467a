package syscalls

import (
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// mountUsers returns the dentries the sandbox's processes hold that keep
// a mount busy for umount2(2) (vfs.MountNamespace.UnmountIdle): their
// working directories, chroot roots and the files of their descriptor
// tables. Open files still in the cached tree are found by the VFS
// itself; descriptors are listed here because an unlinked open file has
// left that tree. A process whose threads unshared their file-system
// context or descriptor table counts by its representative thread's.
func mountUsers(t *kernel.Task) []*vfs.Dentry {
	k := t.Kernel()
	ns := k.RootPIDNamespace()
	var users []*vfs.Dentry
	for _, pid := range k.ProcessIDs(ns) {
		p, ok := k.ProcessSnapshot(ns, pid)
		if !ok || p.Zombie {
			continue
		}
		if p.FS != nil {
			users = append(users, p.FS.Cwd())
			if r := p.FS.Root(); r != nil {
				users = append(users, r)
			}
		}
		if p.FDs != nil {
			entries, _ := p.FDs.Snapshot()
			for _, e := range entries {
				if d := e.File.Dentry(); d != nil {
					users = append(users, d)
				}
				e.File.DecRef()
			}
		}
	}
	return users
}
