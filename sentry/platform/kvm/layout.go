package kvm

// Guest memory layout.
//
// Guest physical memory is the memory file, registered as one KVM memory
// slot: guest physical address = physBase + memory-file offset. Everything
// the guest can reach is therefore application memory or a page this
// platform allocated from the memory file for itself (page tables, the
// trampoline code, the IDT, each vCPU's GDT, TSS and ring-0 stacks); no host
// or sentry address is ever mapped.
//
// Guest virtual memory, identical in every address space:
//
//	[0, maxUserAddress)              application (PML4 entries 0-254),
//	                                 filled by MapFile
//	[maxUserAddress, 1<<47)          PML4 entry 255, supervisor only, shared
//	                                 by all address spaces:
//	  trampolineBase + 0x0000          trampoline code (read, execute)
//	  trampolineBase + 0x1000          IDT (read)
//	  vcpuAreaVA(i)                    vCPU i: GDT and TSS page, then four
//	                                   ring-0 stacks, each below an unmapped
//	                                   guard page
//	[1<<47, 1<<64 - 1<<47)           non-canonical
//	upper half                       unused
//
// The trampoline sits at the top of the lower half, not in the upper half,
// on purpose: on PVM ("Pagetable-based Virtual Machine") the upper half
// belongs to the host kernel, page walks there fail, and LSTAR must be a
// lower-half address (pvm-spec.rst, "Guest address space"). On VMX and SVM
// the position is irrelevant; the supervisor-only U/S bit is what keeps
// user mode out, on every host.
const (
	pageSize  = 4096
	pageShift = 12

	// physBase is the guest physical address of memory-file offset 0. It
	// leaves the first 4 GiB of guest physical space empty, so the region
	// can never collide with what KVM itself may place there on VMX hosts
	// without unrestricted-guest support (the real-mode TSS we put at
	// tssAddr and the EPT identity map page at 0xfffbc000).
	physBase = 1 << 32

	// tssAddr is the 3-page guest physical region given to
	// KVM_SET_TSS_ADDR, the value Firecracker and QEMU use.
	tssAddr = 0xfffbd000

	// discardSlotAddr is the guest physical page of the memory slot
	// whose deletion makes KVM discard its shadow tables (shadow.go):
	// below physBase, away from tssAddr, mapped by no page table.
	discardSlotAddr = 0x10000

	// maxUserAddress is the end of the application's range: PML4 entries
	// 0-254. PML4 entry 255 holds the trampoline.
	maxUserAddress = 255 << 39 // 0x7f8000000000

	// kernelPML4Index is the PML4 entry shared by every address space.
	kernelPML4Index = 255

	// trampolineBase is the start of the last GiB below 1<<47 (PML4 entry
	// 255, PDPT entry 511): the trampoline code page.
	trampolineBase = 1<<47 - 1<<30 // 0x7fffc0000000

	codeVA = trampolineBase
	idtVA  = trampolineBase + 0x1000

	// vcpuAreaBase is where the per-vCPU areas start; each is
	// vcpuAreaSize bytes of virtual space.
	vcpuAreaBase = trampolineBase + 0x10000
	vcpuAreaSize = 0x10000

	// maxVCPUSlots is how many vCPU areas fit in the trampoline's GiB.
	maxVCPUSlots = (1<<30 - 0x10000) / vcpuAreaSize

	// vcpuPages is the number of memory-file pages of a vCPU area:
	// page 0 holds its GDT and TSS, pages 1-4 its stacks. Page k is mapped
	// at vcpuAreaVA(i) + k*vcpuPageStride, so an unmapped guard page
	// separates consecutive pages and catches a stack overflow.
	vcpuPages      = 5
	vcpuPageStride = 2 * pageSize

	// Offsets of the descriptor tables in page 0 of a vCPU area.
	gdtOffset = 0x000
	tssOffset = 0x080
)

// Stacks of a vCPU, by memory-file page of its area.
const (
	stackRSP0 = 1 // TSS.RSP0: exceptions from user mode
	stackIST1 = 2 // #DF
	stackIST2 = 3 // NMI
	stackIST3 = 4 // #MC
)

// vcpuAreaVA returns the virtual address of vCPU slot i's area.
func vcpuAreaVA(i int) uint64 {
	return vcpuAreaBase + uint64(i)*vcpuAreaSize
}

// vcpuPageVA returns the virtual address of page k of vCPU slot i's area.
func vcpuPageVA(i, k int) uint64 {
	return vcpuAreaVA(i) + uint64(k)*vcpuPageStride
}

// stackTop returns the initial stack pointer of stack page k of vCPU slot
// i: the end of the page, 16-byte aligned as the CPU aligns RSP before
// pushing an interrupt frame in 64-bit mode (SDM Vol. 3A 6.14.2).
func stackTop(i, k int) uint64 {
	return vcpuPageVA(i, k) + pageSize
}
