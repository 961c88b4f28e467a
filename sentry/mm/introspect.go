package mm

// Read-only accessors for /proc (sentry/fs/proc). None of them populates a
// page or calls into the platform address space: they are called from the
// goroutine of whichever task reads /proc, and a platform call from a
// thread that does not run this address space would attach that thread to
// the address space's stub (ptrace), which must never happen for a mere
// read.

import (
	"math/bits"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// VMAInfo describes one VMA as /proc/[pid]/maps and smaps show it.
type VMAInfo struct {
	Start, End uint64
	// Perms are the current permissions; MaxPerms what mprotect may grant.
	Perms, MaxPerms platform.AccessType
	// Private is MAP_PRIVATE ('p' in maps), else MAP_SHARED ('s').
	Private bool
	// GrowsDown marks a stack (VM_GROWSDOWN).
	GrowsDown bool
	// File is the mapped file; nil for anonymous memory. Callers use it
	// only to name the mapping.
	File Mappable
	// Offset is the file (or shared object) offset that Start maps.
	Offset uint64
	// Name is "[heap]", "[stack]" or "" for other mappings.
	Name string

	// The page counts below are filled only when asked for (VMAs(true)).

	// Resident is the number of pages of the VMA populated in this
	// address space.
	Resident uint64
	// SharedResident counts the resident pages also mapped elsewhere
	// (another address space after fork, or another mapping of the same
	// shared object).
	SharedResident uint64
	// PssBytes is the proportional set size: each resident page divided
	// by the number of address spaces mapping it.
	PssBytes uint64
}

// VMAs returns the address space's VMAs in address order. With
// countPages, the page counts are filled in one pass over the page table.
func (mm *MemoryManager) VMAs(countPages bool) []VMAInfo {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	out := make([]VMAInfo, len(mm.vmas))
	for i, v := range mm.vmas {
		out[i] = VMAInfo{
			Start: v.start, End: v.end,
			Perms: v.perms, MaxPerms: v.maxPerms,
			Private: v.private, GrowsDown: v.growsDown,
			File: v.file, Offset: v.off, Name: v.name,
		}
	}
	if !countPages {
		return out
	}
	mm.pages.each(func(addr uint64, p *pte) {
		i := mm.findLocked(addr)
		if i >= len(mm.vmas) || mm.vmas[i].start > addr {
			return // a page outside every VMA is a bug elsewhere; skip it
		}
		info := &out[i]
		info.Resident++
		// A page's references are its page-table entries in every
		// address space plus, for shared memory, the object's own.
		maps := p.page.refs.Load()
		if mm.vmas[i].shared != nil {
			maps--
		}
		if maps < 1 {
			maps = 1
		}
		if maps > 1 {
			info.SharedResident++
		}
		info.PssBytes += pageSize / uint64(maps)
	})
	return out
}

// Usage is an address space's size in the units /proc/[pid]/stat uses.
type Usage struct {
	// VirtualBytes is the total size of the VMAs.
	VirtualBytes uint64
	// ResidentPages is the number of populated pages.
	ResidentPages uint64
	// BrkStart and Brk are the start of the heap and the current break.
	BrkStart, Brk uint64
	// LockedBytes is the size of the locked VMAs (VmLck).
	LockedBytes uint64
}

// Usage returns the address space's size without walking its pages.
func (mm *MemoryManager) Usage() Usage {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	u := Usage{ResidentPages: uint64(mm.pages.len()), BrkStart: mm.brkStart, Brk: mm.brk}
	for _, v := range mm.vmas {
		u.VirtualBytes += v.end - v.start
		if v.lock != unlocked {
			u.LockedBytes += v.end - v.start
		}
	}
	return u
}

// Peek copies application memory at addr into dst as access_remote_vm
// with FOLL_FORCE does for /proc/[pid]/cmdline and environ, without
// populating anything: populated pages are copied, unpopulated ones read
// as what a fault would put there (the file's contents for file mappings,
// the shared object's page for shared memory, zeroes otherwise). Mapping
// permissions are ignored, as FOLL_FORCE ignores them. It stops at the
// first address no VMA covers and returns EFAULT if it copied nothing.
func (mm *MemoryManager) Peek(addr uint64, dst []byte) (int, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	done := 0
	for done < len(dst) {
		a := addr + uint64(done)
		if a < addr {
			break
		}
		v := mm.vmaAtLocked(a)
		if v == nil {
			break
		}
		pageAddr := a &^ (pageSize - 1)
		chunk := dst[done:min(len(dst), done+int(pageSize-(a-pageAddr)))]
		if p, ok := mm.pages.lookup(pageAddr); ok {
			pg := mm.mf.Slice(memfile.Range{Start: p.page.off, End: p.page.off + pageSize})
			copy(chunk, pg[a-pageAddr:])
		} else {
			mm.peekUnpopulatedLocked(v, a, chunk)
		}
		done += len(chunk)
	}
	if done == 0 && len(dst) > 0 {
		return 0, errFault
	}
	return done, nil
}

// peekUnpopulatedLocked fills dst with what the unpopulated memory at addr
// in v holds, as populateLocked would fill it.
func (mm *MemoryManager) peekUnpopulatedLocked(v *vma, addr uint64, dst []byte) {
	clear(dst)
	off := v.fileOffset(addr)
	obj := v.shared
	if obj == nil {
		obj = v.cache
	}
	if obj != nil {
		obj.mu.Lock()
		pg, ok := obj.pages[off&^(pageSize-1)]
		obj.mu.Unlock()
		if ok {
			src := mm.mf.Slice(memfile.Range{Start: pg.off, End: pg.off + pageSize})
			copy(dst, src[off%pageSize:])
			return
		}
		if obj.fileData {
			// The object is the file's data (tmpfs): a missing page
			// is a hole. Reading the file here would take its lock,
			// which truncation holds while it waits for mm.mu.
			return
		}
	}
	if v.file != nil {
		// Bytes past the end of the file stay zero, as a fault leaves
		// them.
		_, _ = v.file.ReadAt(dst, int64(off))
	} else if v.cache != nil {
		// A kernel object (the vDSO).
		_, _ = v.cache.ReadAt(mm.mf, dst, int64(off))
	}
}

// ResidentMemory returns how many distinct memory-file pages the address
// spaces in mms hold, each counted once however many of them map it (the
// sandbox's used memory for /proc/meminfo), and how many of those belong to
// shared anonymous memory (Shmem). Pages of shared objects that are not
// mapped in any page table at the moment (after MADV_DONTNEED) are counted
// too: the object keeps them.
func ResidentMemory(mms []*MemoryManager) (pages, shmemPages uint64) {
	if len(mms) == 0 {
		return 0, 0
	}
	// One bit per page of the memory file: O(pages) with no allocation
	// per page (a 16 GiB file takes a 512 KiB bitmap).
	seen := make([]uint64, (mms[0].mf.Size()/pageSize+63)/64)
	mark := func(off uint64) bool {
		i := off / pageSize
		if i/64 >= uint64(len(seen)) {
			return false
		}
		w, b := &seen[i/64], uint64(1)<<(i%64)
		if *w&b != 0 {
			return false
		}
		*w |= b
		return true
	}
	shmem := make([]uint64, len(seen))
	for _, m := range mms {
		m.mu.Lock()
		m.pages.each(func(_ uint64, p *pte) { mark(p.page.off) })
		for _, v := range m.vmas {
			if v.shared == nil {
				continue
			}
			anon := v.file == nil
			v.shared.mu.Lock()
			for _, pg := range v.shared.pages {
				mark(pg.off)
				if anon {
					i := pg.off / pageSize
					if i/64 < uint64(len(shmem)) {
						shmem[i/64] |= 1 << (i % 64)
					}
				}
			}
			v.shared.mu.Unlock()
		}
		m.mu.Unlock()
	}
	for i := range seen {
		pages += uint64(bits.OnesCount64(seen[i]))
		shmemPages += uint64(bits.OnesCount64(shmem[i]))
	}
	return pages, shmemPages
}

// ResidentByKind returns the address space's resident pages by what they
// hold, as /proc/[pid]/status's RssAnon, RssFile and RssShmem count
// them: file mappings, shared anonymous memory, and the rest.
func (mm *MemoryManager) ResidentByKind() (anon, file, shmem uint64) {
	for _, v := range mm.VMAs(true) {
		switch {
		case v.File != nil:
			file += v.Resident
		case !v.Private:
			shmem += v.Resident
		default:
			anon += v.Resident
		}
	}
	return anon, file, shmem
}
