package seccomp

import "encoding/binary"

// AuditArchX86_64 is AUDIT_ARCH_X86_64, the arch of every system call a
// Cocoon task makes with the syscall instruction (x32 calls, with
// X32SyscallBit in the number, have it too).
const AuditArchX86_64 = 0xc000003e

// X32SyscallBit is __X32_SYSCALL_BIT.
const X32SyscallBit = 0x40000000

// SeccompData is the input of a filter, Linux's struct seccomp_data.
type SeccompData struct {
	// Nr is the system call number: the low 32 bits of orig_rax, as a
	// signed int.
	Nr int32
	// Arch is an AUDIT_ARCH_* value.
	Arch uint32
	// InstructionPointer is the address after the syscall instruction.
	InstructionPointer uint64
	// Args are rdi, rsi, rdx, r10, r8, r9.
	Args [6]uint64
}

// Offsets in struct seccomp_data (little-endian, 64 bytes: a 64-bit value
// is loaded as its low word at its offset and its high word 4 bytes
// later).
const (
	OffsetNr                 = 0
	OffsetArch               = 4
	OffsetInstructionPointer = 8
	OffsetArgs               = 16
	SizeofSeccompData        = 64
)

// OffsetArgLow returns the offset of the low 32 bits of argument i.
func OffsetArgLow(i int) uint32 { return OffsetArgs + 8*uint32(i) }

// OffsetArgHigh returns the offset of the high 32 bits of argument i.
func OffsetArgHigh(i int) uint32 { return OffsetArgs + 8*uint32(i) + 4 }

// NewData returns the seccomp_data of an x86-64 system call: orig_rax,
// the instruction pointer after the syscall instruction, and the six
// argument registers.
func NewData(origRax uint64, ip uint64, args [6]uint64) SeccompData {
	return SeccompData{Nr: int32(origRax), Arch: AuditArchX86_64, InstructionPointer: ip, Args: args}
}

// word returns the 32-bit word at byte offset 4*i (i < 16).
func (d *SeccompData) word(i uint32) uint32 {
	switch i {
	case 0:
		return uint32(d.Nr)
	case 1:
		return d.Arch
	case 2:
		return uint32(d.InstructionPointer)
	case 3:
		return uint32(d.InstructionPointer >> 32)
	}
	v := d.Args[((i-4)/2)%6]
	if i&1 != 0 {
		return uint32(v >> 32)
	}
	return uint32(v)
}

// Bytes encodes the data as struct seccomp_data.
func (d *SeccompData) Bytes() [SizeofSeccompData]byte {
	var b [SizeofSeccompData]byte
	le := binary.LittleEndian
	le.PutUint32(b[OffsetNr:], uint32(d.Nr))
	le.PutUint32(b[OffsetArch:], d.Arch)
	le.PutUint64(b[OffsetInstructionPointer:], d.InstructionPointer)
	for i, a := range d.Args {
		le.PutUint64(b[OffsetArgs+8*i:], a)
	}
	return b
}
