package ptrace

import (
	"encoding/binary"
)

// The stub is the host program whose process becomes an application address
// space. It is a minimal static ELF that the sentry writes into a memfd and
// executes once, at start-up, to create the "master" stub; every further
// address space is a fork of the master made by injecting fork(2) into it,
// so after start-up the sentry executes no host program and opens no host
// path.
//
// The stub never runs code of its own: the tracer stops it at the exec, and
// from then on drives it only through injected system calls (the
// `syscall; int3` pair below) and PTRACE_SYSEMU, which stops every
// application system call before the host executes it.
const (
	// stubStart is where the stub's pages live in every address space. The
	// application may use everything below it: MaxUserAddress. It sits well
	// below the host's randomised stack and vDSO so the exec never collides
	// with them, and the stub unmaps those right after the exec.
	stubStart = 0x7f0000000000
	// stubCodeOffset is the offset of the code within the stub's first page,
	// just after the ELF header (64 bytes) and two program headers (56 each).
	stubCodeOffset = 64 + 2*56
	// stubSyscallAddr is the address of the `syscall` instruction the tracer
	// points RIP at to inject a system call; the `int3` after it stops the
	// stub again with SIGTRAP once the call returns.
	stubSyscallAddr = stubStart + stubCodeOffset
	// stubDataAddr is a zero-filled read-write page used to pass structures
	// to injected system calls (PTRACE_POKEDATA writes there).
	stubDataAddr = stubStart + 0x1000
	// stubEnd is the end of the stub's pages.
	stubEnd = stubStart + 0x2000
	// hostUserEnd is the end of the host's user address range (4-level
	// paging), up to where the stub unmaps everything above itself.
	hostUserEnd = 0x7ffffffff000
	// stubTrapAddr is the stub's `int3`: the entry and restorer of its
	// SIGSEGV handler (faultprobe.go), so a delivered SIGSEGV stops the
	// stub at once with its frame written.
	stubTrapAddr = stubSyscallAddr + 2
)

// Each stub thread has a slot of its own in the probe area, the stack its
// SIGSEGV frames are written to (faultprobe.go). The master maps the area
// once, private and untouched, so forks inherit it for free; a slot holds a
// signal frame with the largest XSAVE image a host has (AMX: ~11 KiB).
const (
	probeAreaAddr = hostVDSOLimit
	probeSlotSize = 32 << 10
	probeSlots    = 1024
	probeAreaSize = probeSlots * probeSlotSize
)

// stubCode is the only code the stub contains.
var stubCode = []byte{
	0x0f, 0x05, // syscall
	0xcc, // int3
}

// stubImage returns the stub's ELF image: an ELF64 header, a read+execute
// PT_LOAD covering the headers and code at stubStart, and a read+write
// zero-filled PT_LOAD at stubDataAddr.
func stubImage() []byte {
	const (
		ehdrSize = 64
		phdrSize = 56
		ptLoad   = 1
		pfX      = 1
		pfW      = 2
		pfR      = 4
	)
	img := make([]byte, stubCodeOffset+len(stubCode))
	le := binary.LittleEndian

	// ELF header.
	copy(img[0:], []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* SysV ABI */})
	le.PutUint16(img[16:], 2)                          // e_type: ET_EXEC
	le.PutUint16(img[18:], 62)                         // e_machine: EM_X86_64
	le.PutUint32(img[20:], 1)                          // e_version
	le.PutUint64(img[24:], stubStart+stubCodeOffset+2) // e_entry: the int3
	le.PutUint64(img[32:], ehdrSize)                   // e_phoff
	le.PutUint64(img[40:], 0)                          // e_shoff: no sections
	le.PutUint32(img[48:], 0)                          // e_flags
	le.PutUint16(img[52:], ehdrSize)                   // e_ehsize
	le.PutUint16(img[54:], phdrSize)                   // e_phentsize
	le.PutUint16(img[56:], 2)                          // e_phnum
	le.PutUint16(img[58:], 64)                         // e_shentsize
	le.PutUint16(img[60:], 0)                          // e_shnum
	le.PutUint16(img[62:], 0)                          // e_shstrndx

	putPhdr := func(off int, flags uint32, fileOff, vaddr, filesz, memsz uint64) {
		p := img[off:]
		le.PutUint32(p[0:], ptLoad)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], fileOff)
		le.PutUint64(p[16:], vaddr)
		le.PutUint64(p[24:], vaddr) // p_paddr
		le.PutUint64(p[32:], filesz)
		le.PutUint64(p[40:], memsz)
		le.PutUint64(p[48:], 0x1000) // p_align
	}
	putPhdr(ehdrSize, pfR|pfX, 0, stubStart, uint64(len(img)), uint64(len(img)))
	putPhdr(ehdrSize+phdrSize, pfR|pfW, 0, stubDataAddr, 0, 0x1000)

	copy(img[stubCodeOffset:], stubCode)
	return img
}
