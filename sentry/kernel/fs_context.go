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

	// mu protects cwd and umask.
	mu    sync.Mutex
	cwd   *vfs.Dentry
	umask uint32
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

// fork returns an independent copy.
func (f *FSContext) fork() *FSContext {
	f.mu.Lock()
	defer f.mu.Unlock()
	return NewFSContext(f.cwd, f.umask)
}

func (f *FSContext) incRef() { f.refs.Add(1) }
func (f *FSContext) decRef() { f.refs.Add(-1) }
