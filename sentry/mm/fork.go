package mm

import "github.com/cocoonrt/cocoon/sentry/platform"

// Fork returns a copy of the address space for a child process, as fork(2)
// makes it: private memory is shared copy-on-write by both, MAP_SHARED
// memory stays shared. as is the child's empty platform address space.
func (mm *MemoryManager) Fork(as platform.AddressSpace) *MemoryManager {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	c := New(mm.mf, as, mm.maxAddr)
	c.brkStart, c.brk = mm.brkStart, mm.brk
	c.mmapBase, c.stackLimit, c.commitLimit, c.asLimit = mm.mmapBase, mm.stackLimit, mm.commitLimit, mm.asLimit
	c.memcg = mm.memcg
	c.vmas = make([]*vma, 0, len(mm.vmas))
	for _, v := range mm.vmas {
		nv := *v
		nv.hold(c)
		c.vmas = append(c.vmas, &nv)
		// The parent's writable private pages must fault on the next
		// write so it gets its own copy: drop their platform mappings
		// (one call per VMA); they come back read-only on access.
		if v.shared == nil && v.perms&platform.Write != 0 {
			mm.unmapPlatformLocked(v.start, v.end)
		}
	}
	for addr, p := range mm.pages {
		p.page.refs.Add(1)
		shared := p.writable && mm.vmaAtLocked(addr).shared != nil
		if !shared {
			p.writable = false
		}
		// The child starts with nothing mapped: its pages fault in
		// lazily.
		c.pages[addr] = &pte{page: p.page, writable: shared}
	}
	return c
}
