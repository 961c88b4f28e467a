package kvm

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
)

// Register conversion between arch.Registers (Linux's user_regs_struct)
// and KVM's structures. Only general registers travel through kvm_regs;
// RIP, RSP and RFLAGS are set by the caller because where they go depends
// on how the vCPU returns to user mode (directly, via sysretq in RCX/R11,
// or via an iretq frame in guest memory). The segment state lives in
// kvm_sregs (segmentsFromSregs, applyUserSegments).

// userFlagsMask is the RFLAGS bits user mode controls: CF, PF, AF, ZF, SF,
// TF, DF, OF, AC and ID (SDM Vol. 1 3.4.3). IOPL, NT, RF, VM, VIF and VIP
// are kernel-only (as in Linux's FLAG_MASK for sigreturn and ptrace), and
// the reserved bits must be zero or VM entry fails.
const userFlagsMask = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | rflagsTF | rflagsDF | 0x800 | rflagsAC | 1<<21

// userRFlags returns the RFLAGS value user mode runs with: the user's own
// bits, IF set and the fixed bit 1 set.
func userRFlags(f uint64) uint64 {
	return f&userFlagsMask | rflagsIF | rflagsFixed
}

// kernelRFlags is RFLAGS while the trampoline runs: interrupts off, no
// trap flag, AC clear.
const kernelRFlags = rflagsFixed

// gprsToKVM copies the general registers except RSP and RIP.
func gprsToKVM(r *arch.Registers, k *kvmRegs) {
	k.RAX, k.RBX, k.RCX, k.RDX = r.Rax, r.Rbx, r.Rcx, r.Rdx
	k.RSI, k.RDI, k.RBP = r.Rsi, r.Rdi, r.Rbp
	k.R8, k.R9, k.R10, k.R11 = r.R8, r.R9, r.R10, r.R11
	k.R12, k.R13, k.R14, k.R15 = r.R12, r.R13, r.R14, r.R15
}

// gprsFromKVM copies the general registers except RSP and RIP.
func gprsFromKVM(k *kvmRegs, r *arch.Registers) {
	r.Rax, r.Rbx, r.Rcx, r.Rdx = k.RAX, k.RBX, k.RCX, k.RDX
	r.Rsi, r.Rdi, r.Rbp = k.RSI, k.RDI, k.RBP
	r.R8, r.R9, r.R10, r.R11 = k.R8, k.R9, k.R10, k.R11
	r.R12, r.R13, r.R14, r.R15 = k.R12, k.R13, k.R14, k.R15
}

// userSelector normalizes a data segment selector the kernel asks for:
// only null and the user data selector are valid in user mode here.
func userSelector(sel uint64) uint16 {
	if uint16(sel) == userSS && sel <= 0xffff {
		return userSS
	}
	return 0
}

// segmentsFromSregs reports the user's segment state: CS and SS are always
// the user selectors; DS, ES, FS, GS and the FS and GS bases are what the
// vCPU holds (they are never changed by the trampoline: SYSCALL, SYSRET,
// exceptions and IRET leave them alone for these selectors).
func segmentsFromSregs(s *kvmSregs, r *arch.Registers) {
	r.Cs, r.Ss = userCS, userSS
	r.Ds, r.Es = uint64(s.DS.Selector), uint64(s.ES.Selector)
	r.Fs, r.Gs = uint64(s.FS.Selector), uint64(s.GS.Selector)
	r.Fs_base, r.Gs_base = s.FS.Base, s.GS.Base
}

// userSegmentsDiffer reports whether the task's data segments differ from
// what the vCPU holds.
func userSegmentsDiffer(s *kvmSregs, r *arch.Registers) bool {
	return s.FS.Base != r.Fs_base || s.GS.Base != r.Gs_base ||
		s.DS.Selector != userSelector(r.Ds) || s.ES.Selector != userSelector(r.Es) ||
		s.FS.Selector != userSelector(r.Fs) || s.GS.Selector != userSelector(r.Gs)
}

// applyUserSegments loads the task's data segments into s.
func applyUserSegments(s *kvmSregs, r *arch.Registers) {
	s.DS = userDataSegment(userSelector(r.Ds), 0)
	s.ES = userDataSegment(userSelector(r.Es), 0)
	s.FS = userDataSegment(userSelector(r.Fs), r.Fs_base)
	s.GS = userDataSegment(userSelector(r.Gs), r.Gs_base)
}
