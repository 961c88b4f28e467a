package kernel

import (
	"sync"
	"sync/atomic"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// FSContext is the file-system state tasks share with CLONE_FS: the
// working directory and the umask.
type FSContext struct {
	refs atomic.Int32

	// mu protects cwd, root, umask and mntns.
	mu    sync.Mutex
	cwd   *vfs.Dentry
	umask uint32
	// root is the chroot(2) root; nil means the root of mntns.
	root *vfs.Dentry
	// mntns is the mount namespace of the context's tasks; nil means
	// their owner's initial one (mounts.go).
	mntns *vfs.MountNamespace
}

// NewFSContext returns a context with one reference.
func NewFSContext(cwd *vfs.Dentry, umask uint32) *FSContext {
	f := &FSContext{cwd: cwd, umask: umask}
	f.refs.Store(1)
	return f
}

// Cwd returns the working directory.
func (f *FSContext) Cwd() *vfs.Dentry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cwd
}

// SetCwd sets the working directory.
func (f *FSContext) SetCwd(d *vfs.Dentry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cwd = d
}

// SwapUmask sets the umask and returns the old one.
func (f *FSContext) SwapUmask(mask uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.umask
	f.umask = mask & 0o777
	return old
}

// Root returns the chroot root, or nil for the sandbox's root.
func (f *FSContext) Root() *vfs.Dentry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.root
}

// SetRoot sets the chroot root.
func (f *FSContext) SetRoot(d *vfs.Dentry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.root = d
}

// fork returns an independent copy, in the same mount namespace.
func (f *FSContext) fork() *FSContext {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := NewFSContext(f.cwd, f.umask)
	c.root, c.mntns = f.root, f.mntns
	if c.mntns != nil {
		c.mntns.Enter() // cannot have ended: f is in it
	}
	return c
}

func (f *FSContext) incRef() { f.refs.Add(1) }

// decRef drops a reference; the last one takes the context out of its
// mount namespace, which a copied one does not outlive.
func (f *FSContext) decRef() {
	if f.refs.Add(-1) != 0 {
		return
	}
	f.mu.Lock()
	ns := f.mntns
	f.mu.Unlock()
	if ns != nil {
		ns.Leave()
	}
}

// setMountNamespace moves the context into ns, which it must have
// entered, and out of the one it was in.
func (f *FSContext) setMountNamespace(ns *vfs.MountNamespace, root, cwd *vfs.Dentry) {
	f.mu.Lock()
	old := f.mntns
	f.mntns, f.root, f.cwd = ns, root, cwd
	f.mu.Unlock()
	if old != nil {
		old.Leave()
	}
}
