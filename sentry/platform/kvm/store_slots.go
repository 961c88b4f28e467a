package kvm

import (
	"fmt"
	"sync"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// The store's memory slots.
//
// The store's address range is the size of the disk holding it (hundreds
// of GiB), of which a pod uses what its containers write. KVM keeps
// per-page metadata for every slot, allocated and zeroed when the slot is
// made: on a host that shadows page tables, 8 bytes of reverse map per
// 4 KiB page, about half a GiB of host kernel memory and most of a second
// of start-up for one 250 GiB slot. So the store is covered by slots of
// storeSlotSize made the first time a range inside them is mapped; a
// store range is never mapped before its slot exists.
type storeSlots struct {
	// chunk is the size of each slot (the last may be shorter) and size
	// the store's; immutable after init.
	chunk, size uint64

	// mu protects made.
	mu sync.Mutex
	// made[i] is set once slot firstStoreSlot+i exists.
	made []bool
}

const (
	// storeSlotSize is the size of a store slot when KVM allows enough
	// of them.
	storeSlotSize = 1 << 30
	// discardSlot is the slot whose deletion discards KVM's shadow
	// tables (shadow.go); slot 0 is the memory file.
	discardSlot = 1
	// firstStoreSlot is the slot number of the store's first chunk.
	firstStoreSlot = 2
	// defaultMemslots is KVM's slot count when it does not say
	// (KVM_CAP_NR_MEMSLOTS absent: 32, the oldest x86 limit).
	defaultMemslots = 32
)

// init sizes the slots of a store of size bytes for the slots KVM allows.
func (s *storeSlots) init(kvmFD int, size uint64) {
	slots, err := checkExtension(kvmFD, capNRMemslots)
	if err != nil || slots <= firstStoreSlot {
		slots = defaultMemslots
	}
	avail := uint64(slots - firstStoreSlot)
	chunk := uint64(storeSlotSize)
	for (size+chunk-1)/chunk > avail {
		chunk *= 2
	}
	s.chunk, s.size = chunk, size
	s.made = make([]bool, (size+chunk-1)/chunk)
}

// ensureStoreSlots makes the slots of the store that cover fr, a range
// of the store.
func (m *machine) ensureStoreSlots(fr memfile.Range) error {
	s := &m.storeSlots
	if fr.Start < m.storeBase || fr.End > m.storeEnd || s.chunk == 0 {
		return fmt.Errorf("kvm: MapFile: range %#x-%#x beyond the memory file", fr.Start, fr.End)
	}
	first := (fr.Start - m.storeBase) / s.chunk
	last := (fr.End - 1 - m.storeBase) / s.chunk
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := first; i <= last; i++ {
		if s.made[i] {
			continue
		}
		off := i * s.chunk
		size := min(s.chunk, s.size-off)
		region := kvmUserspaceMemoryRegion{
			Slot:          uint32(firstStoreSlot + i),
			GuestPhysAddr: physBase + m.storeBase + off,
			MemorySize:    size,
			UserspaceAddr: uint64(memfileHostAddress(m.mf, m.storeBase+off, size)),
		}
		if err := setUserMemoryRegion(m.vmFD, &region); err != nil {
			return fmt.Errorf("kvm: KVM_SET_USER_MEMORY_REGION of the store's %#x-%#x: %w", off, off+size, err)
		}
		s.made[i] = true
	}
	return nil
}
