package vfs

import (
	"sync"
	"weak"
)

// The file systems sync(2) waits for. Weak pointers: a container's tree
// goes with the container, and the registry must not keep it.
var (
	// fsSyncersMu protects fsSyncers.
	fsSyncersMu sync.Mutex
	fsSyncers   []weak.Pointer[fsSyncerBox]
)

// fsSyncerBox holds a registered FSSyncer; the registrant keeps the box.
type fsSyncerBox struct{ s FSSyncer }

// FSSyncRegistration keeps a file system registered with RegisterFSSyncer
// for as long as it is reachable.
type FSSyncRegistration struct{ box *fsSyncerBox }

// RegisterFSSyncer adds s to the file systems SyncAll syncs, until the
// returned registration, which the file system keeps, is unreachable.
func RegisterFSSyncer(s FSSyncer) *FSSyncRegistration {
	box := &fsSyncerBox{s: s}
	fsSyncersMu.Lock()
	defer fsSyncersMu.Unlock()
	live := fsSyncers[:0]
	for _, w := range fsSyncers {
		if w.Value() != nil {
			live = append(live, w)
		}
	}
	fsSyncers = append(live, weak.Make(box))
	return &FSSyncRegistration{box: box}
}

// SyncAll syncs every registered file system (sync(2)) and returns the
// first error.
func SyncAll() error {
	fsSyncersMu.Lock()
	var all []FSSyncer
	for _, w := range fsSyncers {
		if b := w.Value(); b != nil {
			all = append(all, b.s)
		}
	}
	fsSyncersMu.Unlock()
	var first error
	for _, s := range all {
		if err := s.SyncFS(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
