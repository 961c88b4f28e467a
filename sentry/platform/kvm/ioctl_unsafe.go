package kvm

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// ioctl issues a KVM request whose argument is a plain integer.
func ioctl(fd int, req uintptr, arg uintptr) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
	if errno != 0 {
		return r, errno
	}
	return r, nil
}

// ioctlPtr issues a KVM request whose argument is a structure in Go memory.
// The pointer stays valid for the call (unsafe.Pointer rule 4: converted to
// uintptr in the argument list of the system call itself).
func ioctlPtr(fd int, req uintptr, p unsafe.Pointer) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
	if errno != 0 {
		return r, errno
	}
	return r, nil
}

// runVCPU is KVM_RUN. It uses Syscall, not RawSyscall, so the Go runtime
// hands the thread's P to other goroutines while the guest runs and never
// tries to preempt the goroutine with SIGURG while it is in the guest.
func runVCPU(fd int) unix.Errno {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), kvmRunIoctl, 0)
	return errno
}

// mapRun maps the vCPU's kvm_run page.
func mapRun(fd, size int) ([]byte, *kvmRun, error) {
	if size < int(unsafe.Sizeof(kvmRun{})) {
		return nil, nil, unix.EINVAL
	}
	b, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, (*kvmRun)(unsafe.Pointer(&b[0])), nil
}

// sliceAddress is the host address of b's first byte (b is memory the Go
// heap does not move: a mapping).
func sliceAddress(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// memfileHostAddress returns the address of the sentry's mapping of the
// memory file (or its store) from base, which KVM maps as guest physical
// memory.
func memfileHostAddress(mf *memfile.File, base, size uint64) uintptr {
	return uintptr(unsafe.Pointer(&mf.Slice(memfile.Range{Start: base, End: base + size})[0]))
}

// setImmediateExit stores v into kvm_run.immediate_exit. The byte shares
// the first aligned 32-bit word of kvm_run with request_interrupt_window
// (always 0 here) and two padding bytes, so a 32-bit atomic store writes it
// without a data race with the vCPU thread, and the kernel, which reads the
// byte with READ_ONCE at the start of KVM_RUN, sees either value whole.
func setImmediateExit(run *kvmRun, v uint8) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(run)), uint32(v)<<8)
}

// tableView returns the 512 entries of the page-table page b (4096 bytes
// of the memory file's mapping).
func tableView(b []byte) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(&b[0]))
}

// Typed wrappers, so that no other file needs unsafe.

func checkExtension(kvmFD int, capability uintptr) (int, error) {
	r, err := ioctl(kvmFD, kvmCheckExtension, capability)
	return int(r), err
}

func getSupportedCPUID(kvmFD int, c *kvmCPUID2) error {
	_, err := ioctlPtr(kvmFD, kvmGetSupportedCPUID, unsafe.Pointer(c))
	return err
}

func setUserMemoryRegion(vmFD int, r *kvmUserspaceMemoryRegion) error {
	_, err := ioctlPtr(vmFD, kvmSetUserMemoryRegion, unsafe.Pointer(r))
	return err
}

func setCPUID2(fd int, c *kvmCPUID2) error {
	_, err := ioctlPtr(fd, kvmSetCPUID2, unsafe.Pointer(c))
	return err
}

// setMSRs returns the number of MSRs KVM set (it stops at the first it
// refuses).
func setMSRs(fd int, m *kvmMSRs) (int, error) {
	r, err := ioctlPtr(fd, kvmSetMSRs, unsafe.Pointer(m))
	return int(r), err
}

func setXCRs(fd int, x *kvmXCRs) error {
	_, err := ioctlPtr(fd, kvmSetXCRs, unsafe.Pointer(x))
	return err
}

func getRegs(fd int, r *kvmRegs) error {
	_, err := ioctlPtr(fd, kvmGetRegs, unsafe.Pointer(r))
	return err
}

func setRegs(fd int, r *kvmRegs) error {
	_, err := ioctlPtr(fd, kvmSetRegs, unsafe.Pointer(r))
	return err
}

func getSregs(fd int, s *kvmSregs) error {
	_, err := ioctlPtr(fd, kvmGetSregs, unsafe.Pointer(s))
	return err
}

func setSregs(fd int, s *kvmSregs) error {
	_, err := ioctlPtr(fd, kvmSetSregs, unsafe.Pointer(s))
	return err
}

// getXSAVE reads the vCPU's XSAVE image into buf (sizeofKVMXSAVE bytes).
func getXSAVE(fd int, buf []byte) error {
	if len(buf) < sizeofKVMXSAVE {
		return unix.EINVAL
	}
	_, err := ioctlPtr(fd, kvmGetXSAVE, unsafe.Pointer(&buf[0]))
	return err
}

// setXSAVE loads buf (sizeofKVMXSAVE bytes) as the vCPU's XSAVE image.
func setXSAVE(fd int, buf []byte) error {
	if len(buf) < sizeofKVMXSAVE {
		return unix.EINVAL
	}
	_, err := ioctlPtr(fd, kvmSetXSAVE, unsafe.Pointer(&buf[0]))
	return err
}

func getFPU(fd int, f *kvmFPU) error {
	_, err := ioctlPtr(fd, kvmGetFPU, unsafe.Pointer(f))
	return err
}

func setFPU(fd int, f *kvmFPU) error {
	_, err := ioctlPtr(fd, kvmSetFPU, unsafe.Pointer(f))
	return err
}

// immediateExit reads kvm_run.immediate_exit (the counterpart of
// setImmediateExit).
func immediateExit(run *kvmRun) uint8 {
	return uint8(atomic.LoadUint32((*uint32)(unsafe.Pointer(run))) >> 8)
}
