package mm

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// MMap creates a mapping and returns its address.
func (mm *MemoryManager) MMap(opts MMapOpts) (uint64, error) {
	if opts.Length == 0 {
		return 0, errInval
	}
	length, ok := arch.PageRoundUp(opts.Length)
	if !ok || length > mm.maxAddr {
		return 0, errNoMem
	}
	if mm.exceedsCommit(opts, length) {
		return 0, errNoMem
	}
	if (opts.File != nil || opts.Object != nil) && opts.Offset%pageSize != 0 {
		return 0, errInval
	}
	if opts.Object != nil && (!opts.Private || opts.File != nil) {
		return 0, errInval
	}
	if opts.Offset+length < opts.Offset {
		return 0, errOverflow
	}
	if opts.MaxPerms == 0 {
		opts.MaxPerms = platform.Read | platform.Write | platform.Execute
	}
	if opts.Perms&^opts.MaxPerms != 0 {
		return 0, errAccess
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.mappedLocked()+length > mm.asLimit {
		return 0, errNoMem
	}

	var addr uint64
	if opts.Fixed {
		addr = opts.Addr
		if addr%pageSize != 0 {
			return 0, errInval
		}
		if addr+length > mm.maxAddr || addr+length < addr {
			return 0, errNoMem
		}
		if addr < minMmapAddr {
			return 0, errPerm
		}
		if mm.overlapsLocked(addr, addr+length) {
			if opts.NoReplace {
				return 0, errExist
			}
			mm.removeRangeLocked(addr, addr+length)
		}
	} else {
		var err error
		if addr, err = mm.findFreeLocked(arch.PageRoundDown(opts.Addr), length); err != nil {
			return 0, err
		}
	}
	v := &vma{
		start:     addr,
		end:       addr + length,
		perms:     opts.Perms,
		maxPerms:  opts.MaxPerms,
		private:   opts.Private,
		growsDown: opts.GrowsDown,
		file:      opts.File,
		off:       opts.Offset,
		name:      opts.Name,
	}
	fresh := false
	if opts.Private && opts.File != nil {
		v.cache = sharedObjectOf(opts.File)
	}
	if opts.Object != nil {
		v.cache, v.special = opts.Object, true
	}
	if !opts.Private {
		// A file that keeps its data in a shared object (tmpfs) is
		// mapped through that object, so all its mappings and its
		// read(2)/write(2) share pages; other files and anonymous
		// memory get a new object.
		if v.shared = sharedObjectOf(opts.File); v.shared == nil {
			v.shared = newSharedMemory()
			fresh = true
		}
	}
	mm.insertLocked(v)
	if fresh {
		v.shared.decRef(mm.mf) // insertLocked took the VMA's reference
	}
	switch {
	case opts.Locked || mm.lockFuture == lockedNow:
		v.lock = lockedNow
	case mm.lockFuture == lockedOnFault:
		v.lock = lockedOnFault
	}
	if opts.Populate || v.lock == lockedNow {
		mm.populateVMALocked(v)
	}
	return addr, nil
}

// exceedsCommit applies Linux's default overcommit heuristic: one
// accountable mapping (private writable, or shared anonymous, without
// MAP_NORESERVE) larger than all the memory the sandbox can have fails at
// once instead of being killed later.
func (mm *MemoryManager) exceedsCommit(opts MMapOpts, length uint64) bool {
	if opts.NoReserve {
		return false
	}
	accountable := (opts.Private && opts.Perms&platform.Write != 0) || (!opts.Private && opts.File == nil)
	return accountable && length > mm.commitLimit
}

// findFreeLocked returns the address of a free range of length bytes: hint
// if it is free, else the highest free range below mmapBase.
func (mm *MemoryManager) findFreeLocked(hint, length uint64) (uint64, error) {
	if hint >= minMmapAddr && hint+length <= mm.maxAddr && hint+length > hint && !mm.overlapsLocked(hint, hint+length) {
		return hint, nil
	}
	top := mm.mmapBase
	for i := len(mm.vmas) - 1; i >= -1; i-- {
		var gapStart uint64 = minMmapAddr
		if i >= 0 {
			gapStart = mm.vmas[i].end
			if mm.vmas[i].start >= top {
				continue
			}
		}
		gapEnd := top
		if i+1 < len(mm.vmas) && mm.vmas[i+1].start < gapEnd {
			gapEnd = mm.vmas[i+1].start
		}
		if gapEnd > gapStart && gapEnd-gapStart >= length {
			return gapEnd - length, nil
		}
		if i >= 0 && mm.vmas[i].start < top {
			top = mm.vmas[i].start
		}
	}
	return 0, errNoMem
}

// Munmap implements munmap(2).
func (mm *MemoryManager) Munmap(addr, length uint64) error {
	if addr%pageSize != 0 || length == 0 {
		return errInval
	}
	length, ok := arch.PageRoundUp(length)
	if !ok || addr+length > mm.maxAddr || addr+length < addr {
		return errInval
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.removeRangeLocked(addr, addr+length)
	return nil
}

// Mprotect implements mprotect(2).
func (mm *MemoryManager) Mprotect(addr, length uint64, perms platform.AccessType, growsDown bool) error {
	if addr%pageSize != 0 {
		return errInval
	}
	length, ok := arch.PageRoundUp(length)
	if !ok || addr+length < addr {
		return errNoMem
	}
	if length == 0 {
		return nil
	}
	end := addr + length
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if growsDown {
		v := mm.vmaAtLocked(addr)
		if v == nil {
			return errNoMem
		}
		if !v.growsDown {
			return errInval
		}
		addr = v.start
	}
	// The whole range must be mapped, and every VMA must allow perms.
	for a := addr; a < end; {
		v := mm.vmaAtLocked(a)
		if v == nil {
			return errNoMem
		}
		if perms&^v.maxPerms != 0 {
			return errAccess
		}
		a = v.end
	}
	mm.splitLocked(addr)
	mm.splitLocked(end)
	for i := mm.findLocked(addr); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		v := mm.vmas[i]
		v.perms = perms
		// The mapped pages get the new permissions now (a program's
		// RELRO pages are read right after their mprotect); many runs,
		// or none allowed, are unmapped and fault back in.
		mm.remapLocked(v, v.start, v.end, func(*pte) bool { return true })
	}
	return nil
}

// unmapPlatformLocked removes [start, end) from the platform address space,
// keeping the pages.
func (mm *MemoryManager) unmapPlatformLocked(start, end uint64) {
	if !mm.anyMappedLocked(start, end) {
		return
	}
	mm.as.Unmap(start, end-start)
	mm.forEachPageLocked(start, end, func(_ uint64, p *pte) { p.mapped = false })
}

// SetBrkStart sets the start of the heap (the end of the executable's data).
func (mm *MemoryManager) SetBrkStart(addr uint64) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	addr, _ = arch.PageRoundUp(addr)
	mm.brkStart, mm.brk = addr, addr
}

// brkAheadPages is how many pages of a heap extension Brk populates and
// maps: a fault there costs a platform round trip (see exec_ahead.go), and
// malloc writes the start of each extension as soon as it has it.
const brkAheadPages = 16

// Brk implements brk(2): it returns the new break, or the old one when the
// request cannot be met.
func (mm *MemoryManager) Brk(addr uint64) uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if addr < mm.brkStart || addr >= mm.maxAddr {
		return mm.brk
	}
	oldEnd, _ := arch.PageRoundUp(mm.brk)
	newEnd, _ := arch.PageRoundUp(addr)
	switch {
	case newEnd > oldEnd:
		if newEnd-oldEnd > mm.commitLimit || mm.overlapsLocked(oldEnd, newEnd) || mm.mappedLocked()+newEnd-oldEnd > mm.asLimit {
			return mm.brk
		}
		v := &vma{
			start:    oldEnd,
			end:      newEnd,
			perms:    platform.Read | platform.Write,
			maxPerms: platform.Read | platform.Write | platform.Execute,
			private:  true,
			name:     "[heap]",
			lock:     mm.lockFuture,
		}
		mm.insertLocked(v)
		if v.lock == lockedNow {
			mm.populateVMALocked(v)
		} else {
			// malloc writes the new memory's first bytes at once
			// (chunk headers): map them now rather than on a fault.
			// Failures are left to the fault.
			end := min(newEnd, oldEnd+brkAheadPages*pageSize)
			if mm.populatePrivateLocked(v, oldEnd, end) == nil {
				_ = mm.mapRunsLocked(v, oldEnd, end)
			}
			mm.notePeakLocked()
		}
		mm.mergeAdjacentLocked(oldEnd)
	case newEnd < oldEnd:
		mm.removeRangeLocked(newEnd, oldEnd)
	}
	mm.brk = addr
	return addr
}

// mergeAdjacentLocked merges the anonymous VMA starting at addr into the
// one ending there when they are alike, so a growing heap stays one VMA.
func (mm *MemoryManager) mergeAdjacentLocked(addr uint64) {
	i := mm.findLocked(addr)
	if i == 0 || i >= len(mm.vmas) {
		return
	}
	prev, v := mm.vmas[i-1], mm.vmas[i]
	if prev.end != v.start || prev.file != nil || v.file != nil || prev.perms != v.perms ||
		prev.maxPerms != v.maxPerms || prev.private != v.private || prev.growsDown != v.growsDown || prev.name != v.name ||
		prev.lock != v.lock {
		return
	}
	prev.end = v.end
	mm.vmas = append(mm.vmas[:i], mm.vmas[i+1:]...)
}

// Mremap flags.
const (
	MremapMaymove   = 1
	MremapFixed     = 2
	MremapDontunmap = 4
)

// Mremap implements mremap(2).
func (mm *MemoryManager) Mremap(oldAddr, oldLen, newLen uint64, flags int, newAddr uint64) (uint64, error) {
	if oldAddr%pageSize != 0 || flags&^(MremapMaymove|MremapFixed|MremapDontunmap) != 0 {
		return 0, errInval
	}
	if flags&MremapFixed != 0 && flags&MremapMaymove == 0 {
		return 0, errInval
	}
	if flags&MremapDontunmap != 0 {
		return 0, errInval // not supported yet: Linux limits it to private anonymous mappings
	}
	oldLen, _ = arch.PageRoundUp(oldLen)
	newLen, ok := arch.PageRoundUp(newLen)
	if newLen == 0 || !ok {
		return 0, errInval
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if newLen > oldLen && mm.mappedLocked()+newLen-oldLen > mm.asLimit {
		return 0, errNoMem
	}
	v := mm.vmaAtLocked(oldAddr)
	if v == nil {
		return 0, errFault
	}
	if oldLen == 0 {
		// Duplicating a mapping needs a shared one.
		return 0, errInval
	}
	if v.special && newLen > oldLen {
		// vma_to_resize: VM_DONTEXPAND.
		return 0, errFault
	}
	if flags&MremapFixed != 0 {
		if newAddr%pageSize != 0 || newAddr+newLen > mm.maxAddr || newAddr+newLen < newAddr {
			return 0, errInval
		}
		if newAddr < oldAddr+oldLen && oldAddr < newAddr+newLen {
			return 0, errInval
		}
		// Only the part that moves must lie in one VMA; the rest of a
		// shrinking range is just unmapped.
		if oldAddr+min(oldLen, newLen) > v.end {
			return 0, errFault
		}
		if newAddr < minMmapAddr {
			return 0, errPerm
		}
		mm.removeRangeLocked(newAddr, newAddr+newLen)
		v = mm.vmaAtLocked(oldAddr)
		return mm.moveLocked(v, oldAddr, oldLen, newLen, newAddr), nil
	}
	if newLen <= oldLen {
		// Linux always allows a shrink, across VMAs and holes too: it
		// unmaps the tail. The same size changes nothing (an empty
		// removal would still split the VMA).
		if newLen < oldLen {
			mm.removeRangeLocked(oldAddr+newLen, oldAddr+oldLen)
		}
		return oldAddr, nil
	}
	if oldAddr+oldLen > v.end {
		return 0, errFault
	}
	// Grow in place when the VMA ends at the old range's end and the space
	// after it is free.
	if oldAddr+oldLen == v.end && oldAddr+newLen <= mm.maxAddr && !mm.overlapsLocked(v.end, oldAddr+newLen) {
		v.end = oldAddr + newLen
		return oldAddr, nil
	}
	if flags&MremapMaymove == 0 {
		return 0, errNoMem
	}
	dst, err := mm.findFreeLocked(0, newLen)
	if err != nil {
		return 0, err
	}
	return mm.moveLocked(v, oldAddr, oldLen, newLen, dst), nil
}

// moveLocked moves [oldAddr, oldAddr+oldLen) of v to dst, sized newLen,
// carrying its pages without copying.
func (mm *MemoryManager) moveLocked(v *vma, oldAddr, oldLen, newLen, dst uint64) uint64 {
	nv := *v
	nv.start, nv.end = dst, dst+newLen
	nv.off = v.fileOffset(oldAddr)
	keep := oldLen
	if newLen < keep {
		keep = newLen
	}
	mm.as.Unmap(oldAddr, oldLen)
	moved := make(map[uint64]pte)
	mm.forEachPageLocked(oldAddr, oldAddr+keep, func(a uint64, p *pte) {
		p.mapped = false
		moved[dst+(a-oldAddr)] = *p
		mm.pages.remove(a)
	})
	// Insert the new VMA before removing the old one: the file and shared
	// object must never lose their last reference in between.
	mm.insertLocked(&nv)
	mm.removeRangeLocked(oldAddr, oldAddr+oldLen)
	for a, pg := range moved {
		mm.pages.set(a, pg)
	}
	return dst
}

// Madvise advice values that change memory contents.
const (
	MadvDontneed = 4
	MadvFree     = 8
)

// Madvise implements madvise(2) for the advice values that matter to
// correctness; others are hints and succeed.
func (mm *MemoryManager) Madvise(addr, length uint64, advice int) error {
	if addr%pageSize != 0 {
		return errInval
	}
	length, ok := arch.PageRoundUp(length)
	if !ok {
		return errInval
	}
	if length == 0 {
		return nil
	}
	end := addr + length
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for a := addr; a < end; {
		v := mm.vmaAtLocked(a)
		if v == nil {
			return errNoMem
		}
		a = v.end
	}
	switch advice {
	case MadvFree:
		// MADV_FREE is only for private anonymous memory.
		for a := addr; a < end; {
			v := mm.vmaAtLocked(a)
			if !v.private || v.file != nil {
				return errInval
			}
			a = v.end
		}
		fallthrough
	case MadvDontneed:
		// Private pages read back as zeroes (anonymous) or the file's
		// contents (file-backed) after this; shared memory keeps its
		// contents, only the mappings go.
		for a := addr; a < end; {
			v := mm.vmaAtLocked(a)
			vEnd := min(v.end, end)
			// Shared memory keeps its contents in its object;
			// dropping the address space's references is all it
			// takes either way. A range with nothing mapped (glibc
			// advises away the unused part of an exiting thread's
			// stack) needs no platform round trip.
			if mm.anyMappedLocked(a, vEnd) {
				mm.as.Unmap(a, vEnd-a)
			}
			mm.releasePagesLocked(a, vEnd)
			a = vEnd
		}
	}
	return nil
}

// Mincore implements mincore(2): vec gets one byte per page, 1 when the page
// is resident.
func (mm *MemoryManager) Mincore(addr, length uint64) ([]byte, error) {
	if addr%pageSize != 0 {
		return nil, errInval
	}
	length, ok := arch.PageRoundUp(length)
	if !ok || addr+length < addr {
		return nil, errNoMem
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for a := addr; a < addr+length; {
		v := mm.vmaAtLocked(a)
		if v == nil {
			return nil, errNoMem
		}
		a = v.end
	}
	vec := make([]byte, length/pageSize)
	for i := range vec {
		if mm.pages.has(addr + uint64(i)*pageSize) {
			vec[i] = 1
		}
	}
	return vec, nil
}

// Msync implements msync(2): private and anonymous memory has nothing to
// write back; the range must be mapped.
func (mm *MemoryManager) Msync(addr, length uint64) error {
	if addr%pageSize != 0 {
		return errInval
	}
	length, _ = arch.PageRoundUp(length)
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for a := addr; a < addr+length; {
		v := mm.vmaAtLocked(a)
		if v == nil {
			return errNoMem
		}
		v.writeBack(a, min(v.end, addr+length))
		a = v.end
	}
	return nil
}
