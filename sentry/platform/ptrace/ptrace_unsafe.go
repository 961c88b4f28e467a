package ptrace

import (
	"encoding/binary"
	"unsafe"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"golang.org/x/sys/unix"
)

// siginfo is the prefix of Linux's siginfo_t that fault stops need.
type siginfo struct {
	Signo int32
	Errno int32
	Code  int32
	_     int32
	// Addr is si_addr for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP.
	Addr uint64
	_    [128 - 24]byte
}

// getSiginfo returns the siginfo of the signal the thread is stopped for.
func getSiginfo(tid int) (siginfo, error) {
	var info siginfo
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(&info)), 0, 0)
	if errno != 0 {
		return info, errno
	}
	return info, nil
}

// ntX86XState is the regset of the XSAVE image (elf.h NT_X86_XSTATE).
const ntX86XState = 0x202

// maxXStateSize bounds the XSAVE image a regset read may return.
const maxXStateSize = 16 << 10

// getFPRegs returns the thread's FP state (arch.State.FP's layouts): its
// XSAVE image (PTRACE_GETREGSET NT_X86_XSTATE) when the host has XSAVE,
// else its FXSAVE area; in dst when it is large enough.
func getFPRegs(tid int, dst []byte) ([]byte, error) {
	if !arch.HostXState().HasXSAVE() {
		if cap(dst) < arch.FPStateSize {
			dst = make([]byte, arch.FPStateSize)
		}
		dst = dst[:arch.FPStateSize]
		if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETFPREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(&dst[0])), 0, 0); errno != 0 {
			return nil, errno
		}
		return dst, nil
	}
	img, err := getXState(tid)
	if err != nil {
		return nil, err
	}
	// The software-reserved bytes are the host kernel's, not the task's.
	clear(img[arch.FPSwBytesOffset:arch.FPStateSize])
	if cap(dst) >= len(img) {
		return append(dst[:0], img...), nil
	}
	return img, nil
}

// getXState reads the thread's whole XSAVE image.
func getXState(tid int) ([]byte, error) {
	buf := make([]byte, maxXStateSize)
	iov := unix.Iovec{Base: &buf[0], Len: uint64(len(buf))}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGSET, uintptr(tid), ntX86XState, uintptr(unsafe.Pointer(&iov)), 0, 0); errno != 0 {
		return nil, errno
	}
	return buf[:iov.Len], nil
}

// setFPRegs makes buf (an FXSAVE area or XSAVE image) the thread's FP
// state. Components buf does not hold are reset, as XRSTOR does for those
// its header leaves out.
func setFPRegs(tid int, buf []byte) error {
	if !arch.HostXState().HasXSAVE() {
		if len(buf) < arch.FPStateSize {
			return unix.EINVAL
		}
		if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SETFPREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(&buf[0])), 0, 0); errno != 0 {
			return errno
		}
		return nil
	}
	// The kernel takes only an image of exactly its own size: read the
	// current one for its size and overlay buf.
	img, err := getXState(tid)
	if err != nil {
		return err
	}
	if len(img) < arch.XSaveHeaderEnd {
		return unix.EINVAL
	}
	copy(img[:arch.FPSwBytesOffset], buf)
	le := binary.LittleEndian
	bv := uint64(arch.XFeatureX87 | arch.XFeatureSSE)
	if len(buf) >= arch.XSaveHeaderEnd {
		n := min(len(buf), len(img))
		copy(img[arch.XSaveHeaderEnd:n], buf[arch.XSaveHeaderEnd:n])
		bv |= arch.HostXState().Fit(le.Uint64(buf[arch.XSaveHeaderOffset:]), n)
	}
	clear(img[arch.XSaveHeaderOffset:arch.XSaveHeaderEnd])
	le.PutUint64(img[arch.XSaveHeaderOffset:], bv)
	iov := unix.Iovec{Base: &img[0], Len: uint64(len(img))}
	if _, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(tid), ntX86XState, uintptr(unsafe.Pointer(&iov)), 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// currentCPU returns the CPU the calling thread runs on.
func currentCPU() (int, error) {
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		return 0, errno
	}
	return int(cpu), nil
}
