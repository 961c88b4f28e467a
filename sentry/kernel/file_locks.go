package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/vfs/lock"
)

// lockTable finds the record and flock locks of an inode by identity, so
// that every name and lookup of a file shares them. The open files that
// used them hold them (vfs.File.UseLocks); the table only points at them
// weakly: once no file does, no lock can be left (closes released them)
// and they go, with their entry, as Linux's file_lock_context goes with
// its inode. A pod that locks a new file every transaction keeps none.
type lockTable struct {
	// used is set once any file was locked, so closes skip the lookup
	// in sandboxes that never lock.
	used atomic.Bool
	// mu protects locks.
	mu    sync.Mutex
	locks map[fifoKey]weak.Pointer[lock.Locks]
}

// lookup returns the lock state of f's inode if a file still uses it.
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
	return lt.locks[fifoKey{st.Dev, st.Ino}].Value()
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
	l := k.fileLocks.forInode(fifoKey{st.Dev, st.Ino})
	f.UseLocks(l)
	return f.Locks(), nil
}

// forInode returns the lock state of the inode key, made when no file
// uses one.
func (lt *lockTable) forInode(key fifoKey) *lock.Locks {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if l := lt.locks[key].Value(); l != nil {
		return l
	}
	if lt.locks == nil {
		lt.locks = make(map[fifoKey]weak.Pointer[lock.Locks])
	}
	l := &lock.Locks{}
	wp := weak.Make(l)
	lt.locks[key] = wp
	lt.used.Store(true)
	runtime.AddCleanup(l, lt.forget, lockEntry{key, wp})
	return l
}

// lockEntry is a table entry, for the cleanup that removes it.
type lockEntry struct {
	key fifoKey
	wp  weak.Pointer[lock.Locks]
}

// forget removes an entry whose locks were collected, unless the key
// has another since.
func (lt *lockTable) forget(e lockEntry) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.locks[e.key] == e.wp {
		delete(lt.locks, e.key)
	}
}
