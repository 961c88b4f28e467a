package mm

import (
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Handing the platform address space over (an execve that reloads the
// process: platform.Reloadable, kernel/exec.go). The old program's memory
// manager lets the address space go before the new one maps anything
// into it; if the execve fails, it gets it back with nothing mapped.

// DetachAddressSpace returns mm's platform address space and leaves mm
// with none: its later platform calls do nothing, and its Release
// releases the pages only. The caller must make sure no context runs in
// the address space with mm's pages mapped once they may be freed.
func (mm *MemoryManager) DetachAddressSpace() platform.AddressSpace {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	as := mm.as
	mm.as = detachedAddressSpace{}
	return as
}

// ReattachAddressSpace gives mm back as, which must map nothing of mm's
// any more: every page faults in again.
func (mm *MemoryManager) ReattachAddressSpace(as platform.AddressSpace) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.as = as
	mm.pages.each(func(_ uint64, p *pte) { p.mapped = false })
}

// detachedAddressSpace is the address space of a memory manager that let
// its own go.
type detachedAddressSpace struct{}

func (detachedAddressSpace) MapFile(uint64, memfile.Range, platform.AccessType) error { return nil }
func (detachedAddressSpace) Unmap(uint64, uint64)                                     {}
func (detachedAddressSpace) Release()                                                 {}
