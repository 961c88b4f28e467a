package kernel

import (
	"sync"
	"sync/atomic"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/vfs/lock"
)

// lockTable holds the record and flock locks of every inode that was ever
// locked, keyed by identity so every name and lookup of a file shares
// them. Entries are small and are kept for the life of the sandbox.
type lockTable struct {
	// used is set once any file was locked, so closes skip the lookup
	// in sandboxes that never lock.
	used atomic.Bool
	// mu protects locks.
	mu    sync.Mutex
	locks map[fifoKey]*lock.Locks
}

// lookup returns the lock state of f's inode if it was ever locked.
func (lt *lockTable) lookup(f *vfs.File) *lock.Locks {
	if !lt.used.Load() {
		return nil
	}
	st, err := f.Impl().Stat()
	if err != nil {
		return nil
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.locks[fifoKey{st.Dev, st.Ino}]
}

// FileLocks returns the lock state of f's inode and records it on f, so
// that closes release what f's holders locked.
func (k *Kernel) FileLocks(f *vfs.File) (*lock.Locks, error) {
	if l := f.Locks(); l != nil {
		return l, nil
	}
	st, err := f.Impl().Stat()
	if err != nil {
		return nil, err
	}
	key := fifoKey{st.Dev, st.Ino}
	k.fileLocks.mu.Lock()
	l, ok := k.fileLocks.locks[key]
	if !ok {
		if k.fileLocks.locks == nil {
			k.fileLocks.locks = make(map[fifoKey]*lock.Locks)
		}
		l = &lock.Locks{}
		k.fileLocks.locks[key] = l
		k.fileLocks.used.Store(true)
	}
	k.fileLocks.mu.Unlock()
	f.UseLocks(l)
	return f.Locks(), nil
}
