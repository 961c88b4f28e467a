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

// AddMount records a mount made by mount(2) in the sandbox's (non-pod)
// mount namespace; tasks use Task.AddMount, which picks theirs.
func (k *Kernel) AddMount(r MountRecord) { k.mounts.add(r) }

// RemoveMount forgets the most recent mount at target.
func (k *Kernel) RemoveMount(target string) { k.mounts.remove(target) }

// MountRecords returns the mounts made by mount(2) outside containers.
func (k *Kernel) MountRecords() []MountRecord { return k.mounts.all() }
