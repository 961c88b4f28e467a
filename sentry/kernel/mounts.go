package kernel

import (
	"sync"
)

// MountRecord is one mount made by mount(2) inside the sandbox, as
// /proc/mounts shows it.
type MountRecord struct {
	Source, Target, FSType, Options string
	Dev                             uint64
	NoDev                           bool
}

// mountRecords are the mounts made after boot, in order.
type mountRecords struct {
	// mu protects list.
	mu   sync.Mutex
	list []MountRecord
}

// AddMount records a mount made by mount(2).
func (k *Kernel) AddMount(r MountRecord) {
	k.mounts.mu.Lock()
	defer k.mounts.mu.Unlock()
	k.mounts.list = append(k.mounts.list, r)
}

// RemoveMount forgets the most recent mount at target.
func (k *Kernel) RemoveMount(target string) {
	k.mounts.mu.Lock()
	defer k.mounts.mu.Unlock()
	for i := len(k.mounts.list) - 1; i >= 0; i-- {
		if k.mounts.list[i].Target == target {
			k.mounts.list = append(k.mounts.list[:i], k.mounts.list[i+1:]...)
			return
		}
	}
}

// MountRecords returns the mounts made by mount(2).
func (k *Kernel) MountRecords() []MountRecord {
	k.mounts.mu.Lock()
	defer k.mounts.mu.Unlock()
	return append([]MountRecord(nil), k.mounts.list...)
}
