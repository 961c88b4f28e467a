// Package arch holds the amd64 machine state of an application task: its
// general registers, its floating-point state and the conventions that tie
// them to Linux system calls.
package arch

import "golang.org/x/sys/unix"

// Registers is the general register file in the layout of Linux's
// struct user_regs_struct, so the ptrace platform can use it as is and the KVM
// platform converts it field by field.
type Registers = unix.PtraceRegs

// PageSize is the size of the pages the sentry maps into application address
// spaces.
const PageSize = 4096

// FPStateSize is the size of the legacy FXSAVE area, the state every x86-64
// CPU has. Larger XSAVE areas grow FPState as the platform asks.
const FPStateSize = 512

// State is everything a platform needs to run a task: its registers and its
// floating-point/vector state.
type State struct {
	Regs Registers
	// FP is the FXSAVE/XSAVE image of the task. It is owned by the platform
	// between Switch calls; the kernel only copies it for signal frames.
	FP []byte
}

// SyscallArgs are the six argument registers of the Linux x86-64 syscall ABI.
type SyscallArgs [6]uint64

// SyscallNo returns the number of the system call the task is making.
func (s *State) SyscallNo() uint64 { return s.Regs.Orig_rax }

// Args returns the task's system call arguments.
func (s *State) Args() SyscallArgs {
	r := &s.Regs
	return SyscallArgs{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}
}

// SetReturn stores a system call result in the return register.
func (s *State) SetReturn(v uint64) { s.Regs.Rax = v }

// IsCanonical reports whether addr is a canonical 48-bit address.
func IsCanonical(addr uint64) bool {
	return addr < 0x0000800000000000 || addr >= 0xffff800000000000
}

// PageRoundDown rounds addr down to a page boundary.
func PageRoundDown(addr uint64) uint64 { return addr &^ (PageSize - 1) }

// PageRoundUp rounds addr up to a page boundary; ok is false on overflow.
func PageRoundUp(addr uint64) (rounded uint64, ok bool) {
	rounded = (addr + PageSize - 1) &^ (PageSize - 1)
	return rounded, rounded >= addr
}

// InitialFPState returns the FXSAVE image of a freshly reset FPU: x87
// control word 0x37f, MXCSR 0x1f80, everything else zero (what a new
// process or a signal handler starts with).
func InitialFPState() []byte {
	fp := make([]byte, FPStateSize)
	fp[0], fp[1] = 0x7f, 0x03   // FCW
	fp[24], fp[25] = 0x80, 0x1f // MXCSR
	fp[28], fp[29] = 0xff, 0xff // MXCSR_MASK: all bits supported
	return fp
}
