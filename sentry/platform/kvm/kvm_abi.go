package kvm

// The Linux KVM ABI this package uses: ioctl numbers, capabilities, exit
// reasons and the x86 structure layouts, transcribed from
// include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h. Field order
// and types follow the C declarations exactly, so Go lays them out as the
// kernel does (every field is naturally aligned, with no implicit padding);
// abi_unsafe_test.go checks every size and the kvm_run offsets this file
// relies on.

// ioctl request encoding, include/uapi/asm-generic/ioctl.h (x86 uses the
// generic layout): bits 0-7 the number, 8-15 the type, 16-29 the argument
// size, 30-31 the direction.
const (
	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30

	iocNone  = 0 // _IOC_NONE
	iocWrite = 1 // _IOC_WRITE: user space writes, the kernel reads
	iocRead  = 2 // _IOC_READ: the kernel writes

	// kvmio is KVMIO, the ioctl type of every KVM request.
	kvmio = 0xae
)

// Sizes of the argument structures, as the kernel declares them. The ioctl
// numbers below embed them; the test checks them against unsafe.Sizeof of
// the Go types and against the kernel's published request numbers.
const (
	sizeofKVMRegs          = 144  // struct kvm_regs
	sizeofKVMSregs         = 312  // struct kvm_sregs
	sizeofKVMVCPUEvents    = 64   // struct kvm_vcpu_events
	sizeofKVMCPUID2        = 8    // struct kvm_cpuid2 without its entries
	sizeofKVMCPUIDEntry2   = 40   // struct kvm_cpuid_entry2
	sizeofKVMMemoryRegion  = 32   // struct kvm_userspace_memory_region
	sizeofKVMMSRs          = 8    // struct kvm_msrs without its entries
	sizeofKVMMSREntry      = 16   // struct kvm_msr_entry
	sizeofKVMFPU           = 416  // struct kvm_fpu
	sizeofKVMXSAVE         = 4096 // struct kvm_xsave (region[1024])
	sizeofKVMXCRs          = 392  // struct kvm_xcrs
	sizeofKVMSyncRegsArea  = 2048 // SYNC_REGS_SIZE_BYTES: the union s in kvm_run
	sizeofKVMRunExitUnion  = 256  // the exit-reason union in kvm_run
	offsetofKVMRunExit     = 32   // offset of that union in kvm_run
	offsetofKVMRunValid    = 288  // offset of kvm_valid_regs
	offsetofKVMRunSyncRegs = 304  // offset of s.regs
)

// KVM ioctl requests. Each comment is the kernel's definition.
const (
	kvmGetAPIVersion       = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x00                                            // _IO(KVMIO, 0x00)
	kvmCreateVM            = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x01                                            // _IO(KVMIO, 0x01)
	kvmCheckExtension      = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x03                                            // _IO(KVMIO, 0x03)
	kvmGetVCPUMmapSize     = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x04                                            // _IO(KVMIO, 0x04)
	kvmGetSupportedCPUID   = (iocRead|iocWrite)<<iocDirShift | sizeofKVMCPUID2<<iocSizeShift | kvmio<<iocTypeShift | 0x05 // _IOWR(KVMIO, 0x05, struct kvm_cpuid2)
	kvmCreateVCPU          = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x41                                            // _IO(KVMIO, 0x41)
	kvmSetUserMemoryRegion = iocWrite<<iocDirShift | sizeofKVMMemoryRegion<<iocSizeShift | kvmio<<iocTypeShift | 0x46     // _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
	kvmSetTSSAddr          = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x47                                            // _IO(KVMIO, 0x47)
	kvmRunIoctl            = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x80                                            // _IO(KVMIO, 0x80)
	kvmGetRegs             = iocRead<<iocDirShift | sizeofKVMRegs<<iocSizeShift | kvmio<<iocTypeShift | 0x81              // _IOR(KVMIO, 0x81, struct kvm_regs)
	kvmSetRegs             = iocWrite<<iocDirShift | sizeofKVMRegs<<iocSizeShift | kvmio<<iocTypeShift | 0x82             // _IOW(KVMIO, 0x82, struct kvm_regs)
	kvmGetSregs            = iocRead<<iocDirShift | sizeofKVMSregs<<iocSizeShift | kvmio<<iocTypeShift | 0x83             // _IOR(KVMIO, 0x83, struct kvm_sregs)
	kvmSetSregs            = iocWrite<<iocDirShift | sizeofKVMSregs<<iocSizeShift | kvmio<<iocTypeShift | 0x84            // _IOW(KVMIO, 0x84, struct kvm_sregs)
	kvmSetMSRs             = iocWrite<<iocDirShift | sizeofKVMMSRs<<iocSizeShift | kvmio<<iocTypeShift | 0x89             // _IOW(KVMIO, 0x89, struct kvm_msrs)
	kvmGetFPU              = iocRead<<iocDirShift | sizeofKVMFPU<<iocSizeShift | kvmio<<iocTypeShift | 0x8c               // _IOR(KVMIO, 0x8c, struct kvm_fpu)
	kvmSetFPU              = iocWrite<<iocDirShift | sizeofKVMFPU<<iocSizeShift | kvmio<<iocTypeShift | 0x8d              // _IOW(KVMIO, 0x8d, struct kvm_fpu)
	kvmSetCPUID2           = iocWrite<<iocDirShift | sizeofKVMCPUID2<<iocSizeShift | kvmio<<iocTypeShift | 0x90           // _IOW(KVMIO, 0x90, struct kvm_cpuid2)
	kvmGetXSAVE            = iocRead<<iocDirShift | sizeofKVMXSAVE<<iocSizeShift | kvmio<<iocTypeShift | 0xa4             // _IOR(KVMIO, 0xa4, struct kvm_xsave)
	kvmSetXSAVE            = iocWrite<<iocDirShift | sizeofKVMXSAVE<<iocSizeShift | kvmio<<iocTypeShift | 0xa5            // _IOW(KVMIO, 0xa5, struct kvm_xsave)
	kvmSetXCRs             = iocWrite<<iocDirShift | sizeofKVMXCRs<<iocSizeShift | kvmio<<iocTypeShift | 0xa7             // _IOW(KVMIO, 0xa7, struct kvm_xcrs)
)

// kvmAPIVersion is the only stable KVM API version (KVM_API_VERSION).
const kvmAPIVersion = 12

// Capabilities (KVM_CAP_*) queried with KVM_CHECK_EXTENSION.
const (
	capUserMemory    = 3   // KVM_CAP_USER_MEMORY
	capSetTSSAddr    = 4   // KVM_CAP_SET_TSS_ADDR
	capExtCPUID      = 7   // KVM_CAP_EXT_CPUID: KVM_GET_SUPPORTED_CPUID exists
	capNRVCPUs       = 9   // KVM_CAP_NR_VCPUS: recommended maximum
	capNRMemslots    = 10  // KVM_CAP_NR_MEMSLOTS: slots per address space
	capXSAVE         = 55  // KVM_CAP_XSAVE
	capXCRs          = 56  // KVM_CAP_XCRS
	capMaxVCPUs      = 66  // KVM_CAP_MAX_VCPUS
	capSyncRegs      = 74  // KVM_CAP_SYNC_REGS: returns the valid field mask
	capImmediateExit = 136 // KVM_CAP_IMMEDIATE_EXIT
)

// kvm_run.kvm_valid_regs / kvm_dirty_regs bits (KVM_SYNC_X86_*).
const (
	syncRegs   = 1 << 0 // KVM_SYNC_X86_REGS: s.regs.regs
	syncSregs  = 1 << 1 // KVM_SYNC_X86_SREGS: s.regs.sregs
	syncEvents = 1 << 2 // KVM_SYNC_X86_EVENTS: s.regs.events

	// syncValid is what this package asks KVM to store on every exit.
	syncValid = syncRegs | syncSregs | syncEvents
)

// Exit reasons (kvm_run.exit_reason, KVM_EXIT_*).
const (
	exitUnknown       = 0
	exitException     = 1
	exitIO            = 2
	exitHypercall     = 3
	exitDebug         = 4
	exitHLT           = 5
	exitMMIO          = 6
	exitShutdown      = 8
	exitFailEntry     = 9
	exitIntr          = 10
	exitInternalError = 17
	exitSystemEvent   = 24
)

// kvm_run.io.direction values.
const (
	ioDirIn  = 0 // KVM_EXIT_IO_IN
	ioDirOut = 1 // KVM_EXIT_IO_OUT
)

// MSR indices (Intel SDM Vol. 4, "Model-Specific Registers").
const (
	msrSysenterCS   = 0x174      // IA32_SYSENTER_CS
	msrSysenterESP  = 0x175      // IA32_SYSENTER_ESP
	msrSysenterEIP  = 0x176      // IA32_SYSENTER_EIP
	msrSTAR         = 0xc0000081 // IA32_STAR: SYSCALL/SYSRET selectors
	msrLSTAR        = 0xc0000082 // IA32_LSTAR: 64-bit SYSCALL target
	msrCSTAR        = 0xc0000083 // IA32_CSTAR: compatibility-mode SYSCALL target (AMD)
	msrSFMASK       = 0xc0000084 // IA32_FMASK: RFLAGS bits SYSCALL clears
	msrKernelGSBase = 0xc0000102 // IA32_KERNEL_GS_BASE: SWAPGS's other base
)

// kvmRegs is struct kvm_regs.
type kvmRegs struct {
	RAX, RBX, RCX, RDX uint64
	RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11   uint64
	R12, R13, R14, R15 uint64
	RIP, RFLAGS        uint64
}

// kvmSegment is struct kvm_segment.
type kvmSegment struct {
	Base     uint64
	Limit    uint32
	Selector uint16
	Type     uint8
	Present  uint8
	DPL      uint8
	DB       uint8
	S        uint8
	L        uint8
	G        uint8
	AVL      uint8
	Unusable uint8
	_        uint8
}

// kvmDTable is struct kvm_dtable.
type kvmDTable struct {
	Base  uint64
	Limit uint16
	_     [3]uint16
}

// kvmSregs is struct kvm_sregs.
type kvmSregs struct {
	CS, DS, ES, FS, GS, SS kvmSegment
	TR, LDT                kvmSegment
	GDT, IDT               kvmDTable
	CR0, CR2, CR3, CR4     uint64
	CR8                    uint64
	EFER                   uint64
	APICBase               uint64
	InterruptBitmap        [4]uint64 // (KVM_NR_INTERRUPTS + 63) / 64
}

// kvmVCPUEvents is struct kvm_vcpu_events.
type kvmVCPUEvents struct {
	ExceptionInjected     uint8
	ExceptionNr           uint8
	ExceptionHasErrorCode uint8
	ExceptionPending      uint8
	ExceptionErrorCode    uint32
	InterruptInjected     uint8
	InterruptNr           uint8
	InterruptSoft         uint8
	InterruptShadow       uint8
	NMIInjected           uint8
	NMIPending            uint8
	NMIMasked             uint8
	_                     uint8
	SIPIVector            uint32
	Flags                 uint32
	SMISMM                uint8
	SMIPending            uint8
	SMIInsideNMI          uint8
	SMILatchedInit        uint8
	TripleFaultPending    uint8
	_                     [26]uint8
	ExceptionHasPayload   uint8
	ExceptionPayload      uint64
}

// kvmSyncRegs is struct kvm_sync_regs, the start of kvm_run.s.
type kvmSyncRegs struct {
	Regs   kvmRegs
	Sregs  kvmSregs
	Events kvmVCPUEvents
}

// kvmRun is struct kvm_run up to and including the sync-regs area, the
// part of the vCPU's shared page this package reads and writes.
type kvmRun struct {
	RequestInterruptWindow     uint8
	ImmediateExit              uint8
	_                          [6]uint8
	ExitReason                 uint32
	ReadyForInterruptInjection uint8
	IFFlag                     uint8
	Flags                      uint16
	CR8                        uint64
	APICBase                   uint64
	// Exit is the union of per-reason exit data; see ioExit and the
	// accessors in exit.go.
	Exit      [sizeofKVMRunExitUnion]byte
	ValidRegs uint64
	DirtyRegs uint64
	Sync      kvmSyncRegs
	_         [sizeofKVMSyncRegsArea - sizeofKVMRegs - sizeofKVMSregs - sizeofKVMVCPUEvents]byte
}

// kvmCPUIDEntry2 is struct kvm_cpuid_entry2.
type kvmCPUIDEntry2 struct {
	Function uint32
	Index    uint32
	Flags    uint32
	EAX      uint32
	EBX      uint32
	ECX      uint32
	EDX      uint32
	_        [3]uint32
}

// maxCPUIDEntries is KVM_MAX_CPUID_ENTRIES, the most KVM returns or takes.
const maxCPUIDEntries = 256

// kvmCPUID2 is struct kvm_cpuid2 with room for every entry KVM may return.
type kvmCPUID2 struct {
	NEnt    uint32
	_       uint32
	Entries [maxCPUIDEntries]kvmCPUIDEntry2
}

// kvmUserspaceMemoryRegion is struct kvm_userspace_memory_region.
type kvmUserspaceMemoryRegion struct {
	Slot          uint32
	Flags         uint32
	GuestPhysAddr uint64
	MemorySize    uint64
	UserspaceAddr uint64
}

// kvmMSREntry is struct kvm_msr_entry.
type kvmMSREntry struct {
	Index uint32
	_     uint32
	Data  uint64
}

// kvmMSRs is struct kvm_msrs with room for the MSRs this package sets.
type kvmMSRs struct {
	NMSRs   uint32
	_       uint32
	Entries [8]kvmMSREntry
}

// kvmFPU is struct kvm_fpu, the legacy FPU/SSE state.
type kvmFPU struct {
	FPR        [8][16]uint8
	FCW        uint16
	FSW        uint16
	FTWX       uint8 // abridged tag word, as FXSAVE stores it
	_          uint8
	LastOpcode uint16
	LastIP     uint64
	LastDP     uint64
	XMM        [16][16]uint8
	MXCSR      uint32
	_          uint32
}

// kvmXCR is struct kvm_xcr.
type kvmXCR struct {
	XCR   uint32
	_     uint32
	Value uint64
}

// kvmXCRs is struct kvm_xcrs.
type kvmXCRs struct {
	NrXCRs uint32
	Flags  uint32
	XCRs   [16]kvmXCR // KVM_MAX_XCRS
	_      [16]uint64
}

// ioExit is the io member of kvm_run's exit union, decoded.
type ioExit struct {
	Direction uint8
	Size      uint8
	Port      uint16
	Count     uint32
}

// decodeIOExit reads kvm_run.io from the exit union: direction (u8),
// size (u8), port (u16), count (u32), data_offset (u64).
func decodeIOExit(u *[sizeofKVMRunExitUnion]byte) ioExit {
	return ioExit{
		Direction: u[0],
		Size:      u[1],
		Port:      uint16(u[2]) | uint16(u[3])<<8,
		Count:     uint32(u[4]) | uint32(u[5])<<8 | uint32(u[6])<<16 | uint32(u[7])<<24,
	}
}

// exitUnionU64 reads the little-endian u64 at off in kvm_run's exit union
// (fail_entry.hardware_entry_failure_reason at 0, internal.data at 8...).
func exitUnionU64(u *[sizeofKVMRunExitUnion]byte, off int) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(u[off+i])
	}
	return v
}
