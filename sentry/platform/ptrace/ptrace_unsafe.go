package ptrace

import (
	"unsafe"

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

// getFPRegs reads the thread's FXSAVE area into buf (512 bytes).
func getFPRegs(tid int, buf []byte) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETFPREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(&buf[0])), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// setFPRegs loads buf (512 bytes, FXSAVE layout) into the thread.
func setFPRegs(tid int, buf []byte) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SETFPREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(&buf[0])), 0, 0)
	if errno != 0 {
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
