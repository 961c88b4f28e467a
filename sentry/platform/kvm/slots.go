package kvm

import (
	"fmt"
	"sync"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// The memory slots of the memory file and its store.
//
// KVM keeps per-page metadata for every memory slot, allocated and zeroed
// when the slot is made: on a host that shadows page tables, 8 bytes of
// reverse map per 4 KiB page. The memory file is sized to the pod's
// memory limit (16 GiB by default: 32 MiB of host kernel memory) and the
// store to the disk holding it (hundreds of GiB: half a GiB and most of a
// second of start-up for one slot), while a pod uses a fraction of
// either. So both are covered by slots of slotSize made the first time
// the guest can reach a page inside them: when a page table entry is
// about to point there (MapFile's range, a new table page, a trampoline
// page) or a root is made. A page is never reachable before its slot
// exists.
type lazySlots struct {
	// Immutable after init: base is the memory-file offset of the first
	// slot's start, size the length covered, chunk the size of each
	// slot (the last may be shorter), first the first slot's number.
	base, size, chunk uint64
	first             uint32

	// mu protects made.
	mu sync.Mutex
	// made[i] is set once slot first+i exists.
	made []bool
}

const (
	// slotSize is the size of a slot when KVM allows enough of them.
	slotSize = 1 << 30
	// discardSlot is the slot whose deletion discards KVM's shadow
	// tables (shadow.go).
	discardSlot = 0
	// firstLazySlot is the first slot of the memory file's.
	firstLazySlot = 1
	// defaultMemslots is KVM's slot count when it does not say
	// (KVM_CAP_NR_MEMSLOTS absent: 32, the oldest x86 limit).
	defaultMemslots = 32
)

// setUpSlots sizes the slots of the memory file and of its store for the
// slots KVM allows; none is made yet.
func (m *machine) setUpSlots(storeBase, storeSize uint64) {
	n, err := checkExtension(m.kvmFD, capNRMemslots)
	if err != nil || n <= firstLazySlot+2 {
		n = defaultMemslots
	}
	avail := uint64(n - firstLazySlot)
	chunk := uint64(slotSize)
	for (m.memSize+chunk-1)/chunk+(storeSize+chunk-1)/chunk > avail {
		chunk *= 2
	}
	m.memSlots.init(0, m.memSize, chunk, firstLazySlot)
	if storeSize > 0 {
		m.storeSlots.init(storeBase, storeSize, chunk, firstLazySlot+uint32(len(m.memSlots.made)))
	}
}

func (s *lazySlots) init(base, size, chunk uint64, first uint32) {
	s.base, s.size, s.chunk, s.first = base, size, chunk, first
	s.made = make([]bool, (size+chunk-1)/chunk)
}

// covers reports whether fr lies in s.
func (s *lazySlots) covers(fr memfile.Range) bool {
	return s.chunk != 0 && fr.Start >= s.base && fr.End <= s.base+s.size && fr.Start < fr.End
}

// ensureSlots makes the slots that cover fr, a range of the memory file or
// of its store. A machine whose slots were never set up (the tests'
// machines without KVM) has nothing to make.
func (m *machine) ensureSlots(fr memfile.Range) error {
	for _, s := range []*lazySlots{&m.memSlots, &m.storeSlots} {
		if s.covers(fr) {
			return m.makeSlots(s, fr)
		}
	}
	if m.memSlots.chunk == 0 {
		return nil
	}
	return fmt.Errorf("kvm: range %#x-%#x beyond the memory file", fr.Start, fr.End)
}

func (m *machine) makeSlots(s *lazySlots, fr memfile.Range) error {
	first := (fr.Start - s.base) / s.chunk
	last := (fr.End - 1 - s.base) / s.chunk
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := first; i <= last; i++ {
		if s.made[i] {
			continue
		}
		off := s.base + i*s.chunk
		size := min(s.chunk, s.base+s.size-off)
		region := kvmUserspaceMemoryRegion{
			Slot:          s.first + uint32(i),
			GuestPhysAddr: physBase + off,
			MemorySize:    size,
			UserspaceAddr: uint64(memfileHostAddress(m.mf, off, size)),
		}
		if err := setUserMemoryRegion(m.vmFD, &region); err != nil {
			return fmt.Errorf("kvm: KVM_SET_USER_MEMORY_REGION of %#x-%#x: %w", off, off+size, err)
		}
		s.made[i] = true
	}
	return nil
}
