package mm

import "github.com/cocoonrt/cocoon/sentry/arch"

// System V shared memory support (sentry/kernel/shm.go): a segment is
// attached by mapping a Mappable that shares the segment's object, one
// Mappable per shmat, so every VMA of an attach (fragments made by
// mprotect or munmap, and the copies fork makes) holds a reference on it,
// which is how the segment counts its attaches as Linux's shm_nattch does.

// ShmAttachment is implemented by the Mappable of one shmat: SegmentSize is
// the segment's size in bytes.
type ShmAttachment interface {
	Mappable
	SegmentSize() uint64
}

// Overlaps reports whether any VMA intersects [addr, addr+length).
func (mm *MemoryManager) Overlaps(addr, length uint64) bool {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.overlapsLocked(addr, addr+length)
}

// DetachShm unmaps what shmdt(addr) unmaps (ipc/shm.c ksys_shmdt): the
// first VMA at or after addr that maps a segment attachment from offset
// vma.start-addr, then every later VMA of that same attachment mapped the
// same way that ends within the segment's size from addr. It fails with
// EINVAL when there is none.
func (mm *MemoryManager) DetachShm(addr uint64) error {
	if addr%pageSize != 0 {
		return errInval
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var ranges [][2]uint64
	var att ShmAttachment
	i := mm.findLocked(addr)
	for ; i < len(mm.vmas); i++ {
		v := mm.vmas[i]
		a, ok := v.file.(ShmAttachment)
		if ok && v.start >= addr && v.start-addr == v.off {
			att = a
			ranges = append(ranges, [2]uint64{v.start, v.end})
			i++
			break
		}
	}
	if att == nil {
		return errInval
	}
	size, _ := arch.PageRoundUp(att.SegmentSize())
	for ; i < len(mm.vmas) && mm.vmas[i].end-addr <= size; i++ {
		v := mm.vmas[i]
		if a, ok := v.file.(ShmAttachment); ok && a == att && v.start-addr == v.off {
			ranges = append(ranges, [2]uint64{v.start, v.end})
		}
	}
	for _, r := range ranges {
		mm.removeRangeLocked(r[0], r[1])
	}
	return nil
}
