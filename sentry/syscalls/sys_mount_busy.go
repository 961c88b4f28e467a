package syscalls

import (
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// mountUsers returns the dentries the sandbox's tasks hold that keep a
// mount busy for umount2(2) (vfs.MountNamespace.UnmountIdle): every
// task's working directory and root, the files of every descriptor
// table, and the files every address space maps (kernel.MountUsers).
// Open files still in the cached tree are found by the VFS itself; the
// descriptors and mappings are listed as well because an unlinked file
// has left that tree.
func mountUsers(t *kernel.Task) []*vfs.Dentry {
	return t.Kernel().MountUsers()
}
