package kvm

import (
	"testing"
	"unsafe"
)

// The sizes and offsets below are those of the Linux x86-64 KVM ABI
// (include/uapi/linux/kvm.h, arch/x86/include/uapi/asm/kvm.h).
func TestABISizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"kvm_regs", unsafe.Sizeof(kvmRegs{}), 144},
		{"kvm_segment", unsafe.Sizeof(kvmSegment{}), 24},
		{"kvm_dtable", unsafe.Sizeof(kvmDTable{}), 16},
		{"kvm_sregs", unsafe.Sizeof(kvmSregs{}), 312},
		{"kvm_vcpu_events", unsafe.Sizeof(kvmVCPUEvents{}), 64},
		{"kvm_sync_regs", unsafe.Sizeof(kvmSyncRegs{}), 144 + 312 + 64},
		{"kvm_run up to s", unsafe.Sizeof(kvmRun{}), 304 + 2048},
		{"kvm_cpuid_entry2", unsafe.Sizeof(kvmCPUIDEntry2{}), 40},
		{"kvm_cpuid2", unsafe.Sizeof(kvmCPUID2{}), 8 + 40*maxCPUIDEntries},
		{"kvm_userspace_memory_region", unsafe.Sizeof(kvmUserspaceMemoryRegion{}), 32},
		{"kvm_msr_entry", unsafe.Sizeof(kvmMSREntry{}), 16},
		{"kvm_msrs", unsafe.Sizeof(kvmMSRs{}), 8 + 16*8},
		{"kvm_fpu", unsafe.Sizeof(kvmFPU{}), 416},
		{"kvm_xcr", unsafe.Sizeof(kvmXCR{}), 16},
		{"kvm_xcrs", unsafe.Sizeof(kvmXCRs{}), 392},
		// The constants the ioctl numbers embed.
		{"sizeofKVMRegs", sizeofKVMRegs, unsafe.Sizeof(kvmRegs{})},
		{"sizeofKVMSregs", sizeofKVMSregs, unsafe.Sizeof(kvmSregs{})},
		{"sizeofKVMVCPUEvents", sizeofKVMVCPUEvents, unsafe.Sizeof(kvmVCPUEvents{})},
		{"sizeofKVMCPUIDEntry2", sizeofKVMCPUIDEntry2, unsafe.Sizeof(kvmCPUIDEntry2{})},
		{"sizeofKVMMemoryRegion", sizeofKVMMemoryRegion, unsafe.Sizeof(kvmUserspaceMemoryRegion{})},
		{"sizeofKVMMSREntry", sizeofKVMMSREntry, unsafe.Sizeof(kvmMSREntry{})},
		{"sizeofKVMFPU", sizeofKVMFPU, unsafe.Sizeof(kvmFPU{})},
		{"sizeofKVMXCRs", sizeofKVMXCRs, unsafe.Sizeof(kvmXCRs{})},
	} {
		if c.got != c.want {
			t.Errorf("%s: size %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestABIOffsets(t *testing.T) {
	var run kvmRun
	var s kvmSregs
	var ev kvmVCPUEvents
	var f kvmFPU
	var seg kvmSegment
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"kvm_run.immediate_exit", unsafe.Offsetof(run.ImmediateExit), 1},
		{"kvm_run.exit_reason", unsafe.Offsetof(run.ExitReason), 8},
		{"kvm_run.cr8", unsafe.Offsetof(run.CR8), 16},
		{"kvm_run exit union", unsafe.Offsetof(run.Exit), offsetofKVMRunExit},
		{"kvm_run.kvm_valid_regs", unsafe.Offsetof(run.ValidRegs), offsetofKVMRunValid},
		{"kvm_run.kvm_dirty_regs", unsafe.Offsetof(run.DirtyRegs), offsetofKVMRunValid + 8},
		{"kvm_run.s.regs", unsafe.Offsetof(run.Sync), offsetofKVMRunSyncRegs},
		{"kvm_sync_regs.sregs", unsafe.Offsetof(run.Sync.Sregs), 144},
		{"kvm_sync_regs.events", unsafe.Offsetof(run.Sync.Events), 144 + 312},
		{"kvm_regs.rip", unsafe.Offsetof(run.Sync.Regs.RIP), 128},
		{"kvm_segment.selector", unsafe.Offsetof(seg.Selector), 12},
		{"kvm_segment.type", unsafe.Offsetof(seg.Type), 14},
		{"kvm_segment.unusable", unsafe.Offsetof(seg.Unusable), 22},
		{"kvm_sregs.tr", unsafe.Offsetof(s.TR), 6 * 24},
		{"kvm_sregs.gdt", unsafe.Offsetof(s.GDT), 8 * 24},
		{"kvm_sregs.cr0", unsafe.Offsetof(s.CR0), 224},
		{"kvm_sregs.cr3", unsafe.Offsetof(s.CR3), 240},
		{"kvm_sregs.efer", unsafe.Offsetof(s.EFER), 264},
		{"kvm_sregs.interrupt_bitmap", unsafe.Offsetof(s.InterruptBitmap), 280},
		{"kvm_vcpu_events.exception.error_code", unsafe.Offsetof(ev.ExceptionErrorCode), 4},
		{"kvm_vcpu_events.interrupt", unsafe.Offsetof(ev.InterruptInjected), 8},
		{"kvm_vcpu_events.nmi", unsafe.Offsetof(ev.NMIInjected), 12},
		{"kvm_vcpu_events.sipi_vector", unsafe.Offsetof(ev.SIPIVector), 16},
		{"kvm_vcpu_events.flags", unsafe.Offsetof(ev.Flags), 20},
		{"kvm_vcpu_events.triple_fault", unsafe.Offsetof(ev.TripleFaultPending), 28},
		{"kvm_vcpu_events.exception_has_payload", unsafe.Offsetof(ev.ExceptionHasPayload), 55},
		{"kvm_vcpu_events.exception_payload", unsafe.Offsetof(ev.ExceptionPayload), 56},
		{"kvm_fpu.fcw", unsafe.Offsetof(f.FCW), 128},
		{"kvm_fpu.last_ip", unsafe.Offsetof(f.LastIP), 136},
		{"kvm_fpu.xmm", unsafe.Offsetof(f.XMM), 152},
		{"kvm_fpu.mxcsr", unsafe.Offsetof(f.MXCSR), 408},
	} {
		if c.got != c.want {
			t.Errorf("%s: offset %d, want %d", c.name, c.got, c.want)
		}
	}
}

// ioc is the kernel's _IOC macro, written out independently of the
// constant expressions in kvm_abi.go.
func ioc(dir, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | 0xae<<8 | nr
}

func TestIoctlNumbers(t *testing.T) {
	for _, c := range []struct {
		name    string
		got     uintptr
		derived uintptr // _IO/_IOR/_IOW/_IOWR from the struct size
		known   uintptr // the value in the kernel headers
	}{
		{"KVM_GET_API_VERSION", kvmGetAPIVersion, ioc(0, 0x00, 0), 0xae00},
		{"KVM_CREATE_VM", kvmCreateVM, ioc(0, 0x01, 0), 0xae01},
		{"KVM_CHECK_EXTENSION", kvmCheckExtension, ioc(0, 0x03, 0), 0xae03},
		{"KVM_GET_VCPU_MMAP_SIZE", kvmGetVCPUMmapSize, ioc(0, 0x04, 0), 0xae04},
		{"KVM_GET_SUPPORTED_CPUID", kvmGetSupportedCPUID, ioc(3, 0x05, 8), 0xc008ae05},
		{"KVM_CREATE_VCPU", kvmCreateVCPU, ioc(0, 0x41, 0), 0xae41},
		{"KVM_SET_USER_MEMORY_REGION", kvmSetUserMemoryRegion, ioc(1, 0x46, unsafe.Sizeof(kvmUserspaceMemoryRegion{})), 0x4020ae46},
		{"KVM_SET_TSS_ADDR", kvmSetTSSAddr, ioc(0, 0x47, 0), 0xae47},
		{"KVM_RUN", kvmRunIoctl, ioc(0, 0x80, 0), 0xae80},
		{"KVM_GET_REGS", kvmGetRegs, ioc(2, 0x81, unsafe.Sizeof(kvmRegs{})), 0x8090ae81},
		{"KVM_SET_REGS", kvmSetRegs, ioc(1, 0x82, unsafe.Sizeof(kvmRegs{})), 0x4090ae82},
		{"KVM_GET_SREGS", kvmGetSregs, ioc(2, 0x83, unsafe.Sizeof(kvmSregs{})), 0x8138ae83},
		{"KVM_SET_SREGS", kvmSetSregs, ioc(1, 0x84, unsafe.Sizeof(kvmSregs{})), 0x4138ae84},
		{"KVM_SET_MSRS", kvmSetMSRs, ioc(1, 0x89, 8), 0x4008ae89},
		{"KVM_GET_FPU", kvmGetFPU, ioc(2, 0x8c, unsafe.Sizeof(kvmFPU{})), 0x81a0ae8c},
		{"KVM_SET_FPU", kvmSetFPU, ioc(1, 0x8d, unsafe.Sizeof(kvmFPU{})), 0x41a0ae8d},
		{"KVM_SET_CPUID2", kvmSetCPUID2, ioc(1, 0x90, 8), 0x4008ae90},
		{"KVM_GET_XSAVE", kvmGetXSAVE, ioc(2, 0xa4, 4096), 0x9000aea4},
		{"KVM_SET_XSAVE", kvmSetXSAVE, ioc(1, 0xa5, 4096), 0x5000aea5},
		{"KVM_SET_XCRS", kvmSetXCRs, ioc(1, 0xa7, unsafe.Sizeof(kvmXCRs{})), 0x4188aea7},
	} {
		if c.got != c.derived || c.got != c.known {
			t.Errorf("%s = %#x; derived %#x, kernel %#x", c.name, c.got, c.derived, c.known)
		}
	}
}

func TestDecodeIOExit(t *testing.T) {
	var run kvmRun
	// direction OUT, size 4, port 0x1234, count 1, data_offset 0x1000.
	copy(run.Exit[:], []byte{1, 4, 0x34, 0x12, 1, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0})
	io := decodeIOExit(&run.Exit)
	if io != (ioExit{Direction: ioDirOut, Size: 4, Port: 0x1234, Count: 1}) {
		t.Fatalf("decoded %+v", io)
	}
	if got := exitUnionU64(&run.Exit, 8); got != 0x1000 {
		t.Fatalf("data_offset %#x", got)
	}
}

func TestSetImmediateExit(t *testing.T) {
	var run kvmRun
	setImmediateExit(&run, 1)
	if run.ImmediateExit != 1 || run.RequestInterruptWindow != 0 {
		t.Fatalf("immediate_exit %d, request_interrupt_window %d", run.ImmediateExit, run.RequestInterruptWindow)
	}
	setImmediateExit(&run, 0)
	if run.ImmediateExit != 0 {
		t.Fatal("not cleared")
	}
}
