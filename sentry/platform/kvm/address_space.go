package kvm

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// addressSpace is one application address space: a PML4 whose user half
// the sentry fills, and whose entry 255 is the shared trampoline.
//
// Stale translations. A vCPU that runs the address space may hold any of
// its translations in its TLB and paging-structure caches, and keeps using
// them while it stays in the guest. A change that removes or reduces a
// translation (Unmap; MapFile over a present page with another page or
// fewer rights; Release) therefore:
//
//  1. sets modifying, so that no vCPU enters the address space;
//  2. kicks every vCPU inside it and waits until each has left the guest;
//  3. changes the tables;
//  4. increments gen: a vCPU enters an address space whose gen differs
//     from the one it last flushed for only through the cr3+iret stub,
//     whose MOV to CR3 invalidates all TLB entries and paging-structure
//     caches (CR4.PCIDE=0, no global pages; SDM Vol. 3A 4.10.4.1) before
//     any user instruction runs;
//  5. clears modifying.
//
// When the method returns, every vCPU that could hold an old translation is
// outside the guest and will flush before it next runs user code. Why that
// suffices:
//
//   - VMX/SVM with EPT/NPT: the guest's linear translations are cached
//     tagged by VPID/ASID and survive exits and entries; only an
//     invalidation by the guest drops them, and step 4 is one. The MMU
//     walks the guest tables from guest memory directly, so the sentry's
//     stores are what it reads after the flush.
//   - Shadow paging (KVM without EPT/NPT, the PVM of the development
//     hosts): the hypervisor's own tables do not follow the sentry's
//     stores at all, CR3 writes included; the change also drops the
//     hypervisor's shadow of what it took away (shadow.go), while the
//     vCPUs are out (step 2), before step 4.
//
// Adding a translation where none was present, or adding rights, needs no
// shootdown: no TLB caches a non-present entry, and a stale entry with
// fewer rights only causes a spurious page fault, which the vCPU loop
// retries after checking the tables (context.go).
//
// The entry gate, run by the vCPU loop before each KVM_RUN, and the
// modifier's step 1-2 are a Dekker pair of sequentially consistent atomics:
//
//	vCPU:     v.as = as;  if as.modifying { v.as = nil; wait for mu; retry }
//	modifier: as.modifying = true;  for each vCPU: if v.as == as { kick; wait until v.as != as }
//
// so either the vCPU sees modifying and backs off, or the modifier sees the
// vCPU and waits for it; a vCPU kicked between the gate and KVM_RUN leaves
// at once because the kick sets immediate_exit.
type addressSpace struct {
	m *machine
	// root is the PML4's guest physical address; immutable.
	root uint64

	// modifying is set by a modifier holding mu during steps 1-5.
	modifying atomic.Bool
	// gen counts the changes that required a flush.
	gen atomic.Uint64
	// released is set once Release has begun.
	released atomic.Bool

	// mu serializes changes to the tables (MapFile, Unmap, Release and the
	// fault path's reads of them); vCPUs held at the entry gate wait on
	// it.
	mu sync.Mutex
	// pt is the address space's tables, protected by mu (the MMU reads
	// them concurrently; see pagetables.go).
	pt pageTables
}

var _ platform.AddressSpace = (*addressSpace)(nil)

func newAddressSpace(m *machine) (*addressSpace, error) {
	root, err := m.newRoot()
	if err != nil {
		return nil, fmt.Errorf("kvm: allocating a root page table: %w", err)
	}
	return &addressSpace{m: m, root: root, pt: pageTables{mem: m.tableMemory(), root: root}}, nil
}

// MapFile implements platform.AddressSpace.MapFile.
func (as *addressSpace) MapFile(addr uint64, fr memfile.Range, perms platform.AccessType) error {
	length := fr.Length()
	switch {
	case addr%pageSize != 0 || fr.Start%pageSize != 0 || fr.End%pageSize != 0 || fr.End <= fr.Start:
		return fmt.Errorf("kvm: MapFile(%#x, %#x-%#x): unaligned or empty", addr, fr.Start, fr.End)
	case addr+length < addr || addr+length > maxUserAddress:
		return fmt.Errorf("kvm: MapFile(%#x, %#x bytes): beyond the user range", addr, length)
	case fr.End > as.m.memSize && (fr.Start < as.m.storeBase || fr.End > as.m.storeEnd):
		return fmt.Errorf("kvm: MapFile: range %#x-%#x beyond the memory file", fr.Start, fr.End)
	}
	if perms == 0 {
		as.Unmap(addr, length)
		return nil
	}
	if err := as.m.ensureSlots(fr); err != nil {
		return err
	}
	leaf := userLeafFlags(perms, as.m.nx)
	phys := physBase + fr.Start
	end := addr + length
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released.Load() {
		return fmt.Errorf("kvm: MapFile on a released address space")
	}
	if !as.pt.wouldRestrict(addr, end, phys, leaf) {
		if err := as.pt.mapRange(addr, end, phys, leaf, userTableFlags, nil); err != nil {
			return fmt.Errorf("kvm: building page tables: %w", err)
		}
		return nil
	}
	as.beginChangeLocked()
	defer as.endChangeLocked()
	taken := as.takenRuns()
	err := as.pt.mapRange(addr, end, phys, leaf, userTableFlags, taken)
	// Even a failed mapRange may have replaced some leaves.
	as.dropShadows(taken)
	if err != nil {
		return fmt.Errorf("kvm: building page tables: %w", err)
	}
	return nil
}

// Protect implements platform.Protector: the present leaves of
// [addr, addr+length) get the rights perms give, keeping their pages. Like
// MapFile, a change that takes a right away is made with every vCPU of the
// address space out of the guest, and drops the host's shadows of the
// pages it restricted.
func (as *addressSpace) Protect(addr, length uint64, perms platform.AccessType) error {
	end := addr + length
	if addr%pageSize != 0 || length%pageSize != 0 || length == 0 || end < addr || end > maxUserAddress {
		return fmt.Errorf("kvm: Protect(%#x, %#x bytes): unaligned, empty or beyond the user range", addr, length)
	}
	if perms == 0 {
		as.Unmap(addr, length)
		return nil
	}
	leaf := userLeafFlags(perms, as.m.nx)
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released.Load() {
		return fmt.Errorf("kvm: Protect on a released address space")
	}
	restrict := false
	as.pt.visitLeaves(addr, end, func(_, old uint64) bool {
		restrict = restricts(old, old&pteAddrMask|leaf)
		return !restrict
	})
	if !restrict {
		as.pt.protectRange(addr, end, leaf, nil)
		return nil
	}
	as.beginChangeLocked()
	defer as.endChangeLocked()
	taken := as.takenRuns()
	as.pt.protectRange(addr, end, leaf, taken)
	as.dropShadows(taken)
	return nil
}

var _ platform.Protector = (*addressSpace)(nil)

// Unmap implements platform.AddressSpace.Unmap.
func (as *addressSpace) Unmap(addr, length uint64) {
	start := arch.PageRoundDown(addr)
	end, ok := arch.PageRoundUp(addr + length)
	if !ok || addr+length < addr || end > maxUserAddress {
		end = maxUserAddress
	}
	if start >= end {
		return
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released.Load() || !as.pt.anyPresent(start, end) {
		return
	}
	as.beginChangeLocked()
	taken := as.takenRuns()
	as.pt.unmapRange(start, end, taken)
	as.dropShadows(taken)
	as.endChangeLocked()
}

// takenRuns returns a collector of the pages whose translations a change
// takes away when the host shadows page tables, nil otherwise.
func (as *addressSpace) takenRuns() *frameRuns {
	if as.m.shadow.on {
		return &frameRuns{}
	}
	return nil
}

// dropShadows makes the host forget the translations a change took away
// (shadow.go); a no-op unless the host shadows page tables.
func (as *addressSpace) dropShadows(taken *frameRuns) {
	if taken != nil {
		as.m.dropShadows(taken)
	}
}

// Release implements platform.AddressSpace.Release. The root goes back to
// the machine's pool of roots, never to the memory file (machine.freeRoots).
// On a host that shadows page tables, the tables and the root are
// quarantined until KVM has forgotten them (shadow.go), so the
// translations they held need not be dropped one by one: nothing reaches
// them until then.
func (as *addressSpace) Release() {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released.Swap(true) {
		return
	}
	as.beginChangeLocked()
	as.pt.freeUserTables()
	as.endChangeLocked()
	as.m.freeRoot(as.root)
}

// beginChangeLocked is steps 1 and 2: after it, no vCPU is in the guest in
// this address space, and none enters until endChangeLocked.
//
// Preconditions: as.mu is held.
func (as *addressSpace) beginChangeLocked() {
	as.modifying.Store(true)
	for _, v := range as.m.pool.vcpus() {
		if v.as.Load() != as {
			continue
		}
		v.kick()
		waitLeft(v, as)
	}
}

// endChangeLocked is steps 4 and 5.
//
// Preconditions: as.mu is held; beginChangeLocked was called.
func (as *addressSpace) endChangeLocked() {
	as.gen.Add(1)
	as.modifying.Store(false)
}

// waitLeft waits until v is no longer in or entering as. The kick is
// enough (see kick and the entry gate); it is repeated now and then only
// as insurance against a lost signal.
func waitLeft(v *vCPU, as *addressSpace) {
	for i := 1; v.as.Load() == as; i++ {
		switch {
		case i < 64:
			runtime.Gosched()
		case i%1024 == 0:
			v.kick()
			fallthrough
		default:
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// enter is the vCPU side of the entry gate: it publishes that v enters as,
// waiting while a change is in progress. It fails if as is released.
func (as *addressSpace) enter(v *vCPU) error {
	for {
		v.as.Store(as)
		if as.released.Load() {
			v.as.Store(nil)
			return fmt.Errorf("kvm: running in a released address space")
		}
		if !as.modifying.Load() {
			return nil
		}
		v.as.Store(nil)
		// The modifier holds mu from step 1 to step 5: taking it
		// waits for the change to finish.
		as.mu.Lock()
		as.mu.Unlock()
	}
}

// permits reports whether the tables now allow access at addr: a page fault
// for such an access was spurious (a stale TLB entry, or a mapping added
// while the vCPU ran).
func (as *addressSpace) permits(addr uint64, access platform.AccessType) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released.Load() {
		return false
	}
	_, rights, ok := as.pt.translate(addr)
	return ok && allows(rights, access, as.m.nx)
}

// opIntN is the opcode of `int imm8`.
const opIntN = 0xcd

// firstByte returns the byte at user address addr as the tables map it,
// or -1 when they do not.
func (as *addressSpace) firstByte(addr uint64) int {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released.Load() {
		return -1
	}
	phys, _, ok := as.pt.translate(addr)
	if !ok {
		return -1
	}
	off := phys - physBase
	return int(as.m.mf.Slice(memfile.Range{Start: off, End: off + 1})[0])
}
