package kernel

import (
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// MountUsers returns the dentries the sandbox's tasks hold that keep a
// mount busy for umount2(2) (vfs.MountNamespace.UnmountIdle), as each of
// them holds a reference on its vfsmount in Linux: the working directory
// and chroot root of every file-system context, the file of every
// descriptor of every descriptor table, and the file behind every file
// mapping of every address space (a mapping keeps its file, and so the
// mount, after the descriptor is closed and the file unlinked). Every
// live task is asked, not one thread per process: a thread that
// unshared CLONE_FS or CLONE_FILES, or was cloned without them, holds a
// context or table no other thread of its group shares.
func (k *Kernel) MountUsers() []*vfs.Dentry {
	// The contexts, tables and address spaces are gathered under k.mu,
	// which the tasks' changes of t.fs, t.fds and t.mm hold; they are
	// read after it, since each has a lock of its own that is not to be
	// taken inside k.mu.
	var (
		fss  []*FSContext
		fdts []*FDTable
		mms  []*mm.MemoryManager
	)
	seen := make(map[any]struct{})
	first := func(p any) bool {
		if _, ok := seen[p]; ok {
			return false
		}
		seen[p] = struct{}{}
		return true
	}
	k.mu.Lock()
	for _, tg := range k.threadGroups {
		for t := range tg.tasks {
			if t.fs != nil && first(t.fs) {
				fss = append(fss, t.fs)
			}
			if t.fds != nil && first(t.fds) {
				fdts = append(fdts, t.fds)
			}
			if t.mm != nil && first(t.mm) {
				mms = append(mms, t.mm)
			}
		}
	}
	k.mu.Unlock()

	var users []*vfs.Dentry
	for _, fs := range fss {
		users = append(users, fs.Cwd())
		if r := fs.Root(); r != nil {
			users = append(users, r)
		}
	}
	for _, fdt := range fdts {
		entries, _ := fdt.Snapshot()
		for _, e := range entries {
			if d := e.File.Dentry(); d != nil {
				users = append(users, d)
			}
			e.File.DecRef()
		}
	}
	for _, m := range mms {
		for _, v := range m.VMAs(false) {
			if v.File == nil {
				continue
			}
			if f := MappingFile(v.File); f != nil {
				if d := f.Dentry(); d != nil {
					users = append(users, d)
				}
			}
		}
	}
	return users
}
