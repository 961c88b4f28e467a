package seccomp

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// SysSeccomp is SYS_SECCOMP, the si_code of a seccomp SIGSYS.
const SysSeccomp = 1

// SizeofSigInfo is sizeof(siginfo_t).
const SizeofSigInfo = 128

// Offsets of the SIGSYS fields in siginfo_t on x86-64: si_signo, si_errno,
// si_code, then (after 4 bytes of padding, the union being 8-byte aligned)
// the _sigsys member of the union: void *_call_addr; int _syscall;
// unsigned int _arch.
const (
	SigInfoOffsetSigno    = 0
	SigInfoOffsetErrno    = 4
	SigInfoOffsetCode     = 8
	SigInfoOffsetCallAddr = 16
	SigInfoOffsetSyscall  = 24
	SigInfoOffsetArch     = 28
)

// SigSysFields returns the siginfo_t of the SIGSYS Linux's
// force_sig_seccomp sends: si_signo SIGSYS, si_errno the filter's data,
// si_code SYS_SECCOMP, si_call_addr the instruction pointer (the address
// after the syscall instruction), si_syscall the number and si_arch the
// AUDIT_ARCH. kernel.DecodeSigInfo reads it.
func SigSysFields(nr int32, ip uint64, arch uint32, errno int32) [SizeofSigInfo]byte {
	var b [SizeofSigInfo]byte
	le := binary.LittleEndian
	le.PutUint32(b[SigInfoOffsetSigno:], uint32(unix.SIGSYS))
	le.PutUint32(b[SigInfoOffsetErrno:], uint32(errno))
	le.PutUint32(b[SigInfoOffsetCode:], SysSeccomp)
	le.PutUint64(b[SigInfoOffsetCallAddr:], ip)
	le.PutUint32(b[SigInfoOffsetSyscall:], uint32(nr))
	le.PutUint32(b[SigInfoOffsetArch:], arch)
	return b
}
