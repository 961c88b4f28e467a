package kernel

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Mount namespaces. The kernel (outside pod mode) and each container own
// an initial mount namespace over their file tree; a task is in its
// FSContext's namespace, its owner's initial one until it unshares
// (unshare or clone with CLONE_NEWNS) or joins another (setns). An
// FSContext is never shared across namespaces: CLONE_NEWNS refuses
// CLONE_FS, unshare(CLONE_NEWNS) unshares the context first, and setns
// refuses a shared one, as on Linux.

// InitialMountNamespaceID is the inode number of the initial mount
// namespace, as Linux numbers it (PROC_DYNAMIC_FIRST + 1).
const InitialMountNamespaceID = 0xF0000001

// capSysChroot is CAP_SYS_CHROOT, which setns(2) into a mount namespace
// needs besides CAP_SYS_ADMIN.
const capSysChroot = 18

// MountRecord is one mount made by mount(2) inside the sandbox, as
// /proc/mounts shows it.
type MountRecord struct {
	Source, Target, FSType, Options string
	Dev                             uint64
	NoDev                           bool
}

// mountRecords is the mount state of a namespace's owner (the kernel, a
// container): the mounts the sandbox recorded by path (masked and
// read-only paths, mounts made after boot), and the initial namespace.
type mountRecords struct {
	// mu protects list.
	mu   sync.Mutex
	list []MountRecord

	// nsOnce makes ns, the initial mount namespace, on first use.
	nsOnce sync.Once
	ns     *vfs.MountNamespace
}

func (m *mountRecords) add(r MountRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, r)
}

func (m *mountRecords) remove(target string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.list) - 1; i >= 0; i-- {
		if m.list[i].Target == target {
			m.list = append(m.list[:i], m.list[i+1:]...)
			return
		}
	}
}

func (m *mountRecords) all() []MountRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]MountRecord(nil), m.list...)
}

// namespace returns the initial mount namespace over root, numbered id()
// when it is made.
func (m *mountRecords) namespace(root *vfs.Dentry, id func() uint64) *vfs.MountNamespace {
	m.nsOnce.Do(func() { m.ns = vfs.NewMountNamespace(root, id()) })
	return m.ns
}

// newMountNSID numbers a mount namespace other than the initial one.
func newMountNSID() uint64 {
	nsIDsInit.Do(func() { nextNSID.Store(firstDynamicNSID) })
	return nextNSID.Add(1)
}

// AddMount records a mount made by mount(2) in the sandbox's (non-pod)
// mount namespace; tasks use Task.AddMount, which picks theirs.
func (k *Kernel) AddMount(r MountRecord) { k.mounts.add(r) }

// RemoveMount forgets the most recent mount at target.
func (k *Kernel) RemoveMount(target string) { k.mounts.remove(target) }

// MountRecords returns the mounts made by mount(2) outside containers.
func (k *Kernel) MountRecords() []MountRecord { return k.mounts.all() }

// MountNamespace returns the sandbox's initial mount namespace (outside
// pod mode), over Root.
func (k *Kernel) MountNamespace() *vfs.MountNamespace {
	return k.mounts.namespace(k.Root, func() uint64 { return InitialMountNamespaceID })
}

// MountNamespace returns the container's initial mount namespace.
func (c *Container) MountNamespace() *vfs.MountNamespace {
	return c.mounts.namespace(c.root, newMountNSID)
}

// MountNamespace returns the task's mount namespace.
func (t *Task) MountNamespace() *vfs.MountNamespace {
	if ns := t.fs.MountNamespace(); ns != nil {
		return ns
	}
	return t.initialMountNamespace()
}

// initialMountNamespace returns the namespace of the task's owner: its
// container's, or the sandbox's.
func (t *Task) initialMountNamespace() *vfs.MountNamespace {
	if c := t.container; c != nil {
		return c.MountNamespace()
	}
	return t.k.MountNamespace()
}

// MountNamespace returns the namespace of the context's tasks; nil means
// their owner's initial one.
func (f *FSContext) MountNamespace() *vfs.MountNamespace {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mntns
}

// moveToCopy moves the context into a copy of ns: its working directory
// and root go to their places in the copy.
func (f *FSContext) moveToCopy(ns *vfs.MountNamespace) {
	c, remap := ns.Copy(newMountNSID())
	c.Enter()
	f.mu.Lock()
	root, cwd := f.root, remap(f.cwd)
	f.mu.Unlock()
	if root != nil {
		root = remap(root)
	}
	f.setMountNamespace(c, root, cwd)
}

// unshareMountNamespace implements unshare(CLONE_NEWNS), which unshares
// the file-system context too. The caller (UnshareNamespaces) checks
// CAP_SYS_ADMIN in the user namespace that will own it.
func (t *Task) unshareMountNamespace() error {
	ns := t.MountNamespace()
	if t.fs.refs.Load() > 1 {
		own := t.fs.fork()
		old := t.fs
		t.k.mu.Lock()
		t.fs = own
		t.k.mu.Unlock()
		old.decRef()
	}
	t.fs.moveToCopy(ns)
	return nil
}

// SetMountNamespace implements setns(2) for a mount namespace: the task's
// root and working directory become the namespace's root. It needs
// CAP_SYS_ADMIN and CAP_SYS_CHROOT (EPERM) and a file-system context of
// its own (EINVAL).
func (t *Task) SetMountNamespace(ns *vfs.MountNamespace) error {
	if !t.creds.HasCap(CapSysAdmin) || !t.creds.HasCap(capSysChroot) {
		return unix.EPERM
	}
	if t.fs.refs.Load() > 1 {
		return unix.EINVAL
	}
	if !ns.Enter() {
		// A copy whose last task left between the open of its file
		// and now: nothing holds it.
		return unix.EINVAL
	}
	t.fs.setMountNamespace(ns, nil, ns.Root())
	return nil
}

// PivotRoot implements pivot_root(2): newRoot's mount becomes the root of
// the caller's, and the old root goes onto putOld. Every task whose root
// or working directory was the old root moves to newRoot (tasks without a
// chroot of their own follow the namespace's root by themselves).
func (t *Task) PivotRoot(newRoot, putOld *vfs.Dentry) error {
	if !t.creds.HasCap(CapSysAdmin) {
		return unix.EPERM
	}
	old, err := t.MountNamespace().Pivot(t.Root(), newRoot, putOld)
	if err != nil {
		return err
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, task := range k.tasks {
		f := task.fs
		f.mu.Lock()
		if f.root == old {
			f.root = newRoot
		}
		if f.cwd == old {
			f.cwd = newRoot
		}
		f.mu.Unlock()
	}
	return nil
}

// MountNamespace returns the mount namespace of the process (its leader's,
// or another live thread's once the leader exited); ESRCH once it has
// exited.
func (tg *ThreadGroup) MountNamespace() (*vfs.MountNamespace, error) {
	k := tg.k
	k.mu.Lock()
	var rep *Task
	if !tg.zombie {
		if _, live := tg.tasks[tg.leader]; live {
			rep = tg.leader
		} else {
			for t := range tg.tasks {
				rep = t
				break
			}
		}
	}
	var fs *FSContext
	if rep != nil {
		fs = rep.fs
	}
	k.mu.Unlock()
	if rep == nil {
		return nil, unix.ESRCH
	}
	if ns := fs.MountNamespace(); ns != nil {
		return ns, nil
	}
	return rep.initialMountNamespace(), nil
}
