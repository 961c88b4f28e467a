package kvm

import (
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// Hosts whose KVM shadows the guest's page tables.
//
// With EPT or NPT the processor walks the sentry's tables in guest memory,
// so what the sentry stores there is what the next walk after a flush
// reads. KVM's shadow paging (its MMU without EPT/NPT, and the PVM of the
// development hosts, DESIGN.md §3) instead builds tables of its own from
// the guest's and keeps them in sync by write-protecting the guest's
// table pages *in the guest*: it sees the writes a guest kernel makes,
// never the sentry's, which are plain stores through the sentry's own
// mapping of the memory file. The guest's CR3 reload does not help
// either: KVM re-reads only tables it had let the guest write. On such a
// host a translation the sentry takes away stays in KVM's tables for as
// long as they live, and a table page the sentry reuses brings its old
// shadow with it. The start-up probe finds out (probe.go); on such a host
// the platform keeps KVM's tables honest two ways:
//
//   - Translations taken away (Unmap, a MapFile that restricts): after
//     changing the tables, while no vCPU runs the address space, the
//     sentry drops its own host mapping of the pages whose translations
//     went (madvise MADV_DONTNEED on the memory slot's range). That is an
//     invalidation of the slot's host addresses, on which KVM's MMU
//     notifier removes every shadow entry that maps those pages, in every
//     address space; the next access walks the guest's tables again. The
//     memory file is a shared mapping, so the pages keep their contents
//     and the sentry's next access to them only takes a minor fault.
//   - Table pages (and roots) that leave an address space are not reused
//     until KVM has forgotten their shadows: they wait in a quarantine,
//     zeroed, and when it holds quarantineLimit pages the platform
//     deletes and re-adds a one-page memory slot of its own, which
//     nothing maps: deleting any slot makes KVM zap every shadow page it
//     holds and make every vCPU reload its roots before it next runs
//     (Documentation/virt/kvm/api.rst, KVM_X86_QUIRK_SLOT_ZAP_ALL, on
//     by default), so the quarantine can be reused when the ioctl
//     returns, and running vCPUs need not be stopped. A table unlinked
//     from a live address space may still be reached through that
//     address space's shadow until then; only that address space can
//     reach it, and every translation KVM builds through it is computed
//     from the guest's current tables, so it translates as the tables
//     say.
type shadowState struct {
	// on is set by the start-up probe when the host shadows the tables;
	// read-only afterwards.
	on bool

	// mu protects quarantine, quarantinedRoots and clean, and serializes
	// discards.
	mu sync.Mutex
	// quarantine holds table pages, zeroed, that KVM may still shadow.
	quarantine []uint64
	// quarantinedRoots holds released roots (user half empty) that KVM
	// may still shadow.
	quarantinedRoots []uint64
	// clean holds table pages, zeroed, freed by a discard.
	clean []uint64
	// discards counts discards of KVM's shadow tables.
	discards atomic.Uint64

	// discardMem is the page behind the discard slot; made with the
	// slot by enableShadow.
	discardMem []byte
}

// quarantineLimit is how many table pages wait for a discard of KVM's
// shadow tables before one is made. A discard costs every address space
// the rebuilding of its shadow, fault by fault; 512 pages (2 MiB) is
// about 50 exited processes' tables.
var quarantineLimit = 512

// frameRuns collects the pages whose translations a change of the tables
// took away, as runs of contiguous guest physical addresses.
type frameRuns struct {
	runs []physRange
}

type physRange struct{ start, end uint64 }

// add records the page at phys.
func (f *frameRuns) add(phys uint64) {
	if n := len(f.runs); n > 0 && f.runs[n-1].end == phys {
		f.runs[n-1].end += pageSize
		return
	}
	f.runs = append(f.runs, physRange{phys, phys + pageSize})
}

// dropShadows makes KVM forget every translation of the pages in taken.
// Call it after changing the tables and before any vCPU can run the
// address space again.
func (m *machine) dropShadows(taken *frameRuns) {
	for _, r := range taken.runs {
		b := m.mf.Slice(memfile.Range{Start: r.start - physBase, End: r.end - physBase})
		if err := unix.Madvise(b, unix.MADV_DONTNEED); err != nil {
			// The range is the sentry's own mapping; failing here
			// would leave a translation the tables no longer grant.
			panic(fmt.Sprintf("kvm: dropping KVM's shadow of %#x-%#x: %v", r.start, r.end, err))
		}
	}
}

// shadowTables is the table memory of address spaces on a host that
// shadows them: freed tables go to the quarantine, and tables come from
// pages a discard has freed before new memory-file pages.
type shadowTables struct {
	m *machine
}

func (s shadowTables) allocTable() (uint64, error) {
	sh := &s.m.shadow
	sh.mu.Lock()
	if len(sh.clean) == 0 && len(sh.quarantine)+len(sh.quarantinedRoots) >= quarantineLimit {
		if err := s.m.discardShadowsLocked(); err != nil {
			sh.mu.Unlock()
			return 0, err
		}
	}
	if t, ok := popPage(&sh.clean); ok {
		sh.mu.Unlock()
		return t, nil
	}
	sh.mu.Unlock()
	return memfileTables{s.m}.allocTable()
}

func (s shadowTables) freeTable(phys uint64) {
	clear(s.table(phys)[:])
	sh := &s.m.shadow
	sh.mu.Lock()
	sh.quarantine = append(sh.quarantine, phys)
	sh.mu.Unlock()
}

func (s shadowTables) table(phys uint64) *[512]uint64 {
	return memfileTables{s.m}.table(phys)
}

// quarantineRoot keeps a released root until KVM has forgotten it.
func (m *machine) quarantineRoot(root uint64) {
	m.shadow.mu.Lock()
	m.shadow.quarantinedRoots = append(m.shadow.quarantinedRoots, root)
	m.shadow.mu.Unlock()
}

// enableShadow switches the platform to what a host that shadows page
// tables needs (the probe calls it) and makes the discard slot.
func (m *machine) enableShadow() error {
	mem, err := unix.Mmap(-1, 0, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("kvm: the shadow discard slot's page: %w", err)
	}
	m.shadow.discardMem = mem
	r := m.discardRegion()
	if err := setUserMemoryRegion(m.vmFD, &r); err != nil {
		return fmt.Errorf("kvm: KVM_SET_USER_MEMORY_REGION of the shadow discard slot: %w", err)
	}
	m.shadow.on = true
	return nil
}

// discardRegion is the discard slot.
func (m *machine) discardRegion() kvmUserspaceMemoryRegion {
	return kvmUserspaceMemoryRegion{
		Slot:          discardSlot,
		GuestPhysAddr: discardSlotAddr,
		MemorySize:    pageSize,
		UserspaceAddr: uint64(sliceAddress(m.shadow.discardMem)),
	}
}

// discardShadowsLocked makes KVM throw away every shadow table it holds,
// by deleting and re-adding the discard slot, then frees the
// quarantine.
//
// Preconditions: m.shadow.mu is held.
func (m *machine) discardShadowsLocked() error {
	sh := &m.shadow
	region := m.discardRegion()
	region.MemorySize = 0
	if err := setUserMemoryRegion(m.vmFD, &region); err != nil {
		return fmt.Errorf("kvm: deleting the discard slot: %w", err)
	}
	region.MemorySize = pageSize
	if err := setUserMemoryRegion(m.vmFD, &region); err != nil {
		// The next discard's deletion would fail: no more reuse.
		return fmt.Errorf("kvm: re-adding the discard slot: %w", err)
	}
	sh.discards.Add(1)
	sh.clean = append(sh.clean, sh.quarantine...)
	sh.quarantine = sh.quarantine[:0]
	m.rootsMu.Lock()
	m.freeRoots = append(m.freeRoots, sh.quarantinedRoots...)
	m.rootsMu.Unlock()
	sh.quarantinedRoots = sh.quarantinedRoots[:0]
	return nil
}

// releaseShadowMemory returns the quarantined and clean tables and roots
// to the memory file. The caller guarantees that no vCPU runs.
func (m *machine) releaseShadowMemory() {
	sh := &m.shadow
	sh.mu.Lock()
	defer sh.mu.Unlock()
	mem := memfileTables{m}
	for _, list := range [][]uint64{sh.quarantine, sh.quarantinedRoots, sh.clean} {
		for _, t := range list {
			mem.freeTable(t)
		}
	}
	sh.quarantine, sh.quarantinedRoots, sh.clean = nil, nil, nil
	if sh.discardMem != nil {
		_ = unix.Munmap(sh.discardMem)
		sh.discardMem = nil
	}
}

// popPage takes the last page of *pages, if any.
func popPage(pages *[]uint64) (uint64, bool) {
	n := len(*pages)
	if n == 0 {
		return 0, false
	}
	p := (*pages)[n-1]
	*pages = (*pages)[:n-1]
	return p, true
}
