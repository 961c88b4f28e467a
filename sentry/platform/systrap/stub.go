package systrap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"
)

// The stub is the host program whose process becomes an application address
// space. Like the ptrace platform's, it is a minimal static ELF that the
// sentry executes once, at start-up, to create the master stub; every
// further address space is a fork of the master made by injecting fork(2)
// with ptrace, and every application thread is a clone of a stub process's
// first thread. Unlike the ptrace platform, application threads run
// untraced: a seccomp filter turns each of their system calls into a
// SIGSYS, and the stub's signal handler (stub_amd64.s) hands the registers
// to the sentry through shared memory.
//
// Address layout of every stub process:
//
//	[0, stubStart)                      application (MaxUserAddress)
//	stubStart                           code page: ELF headers, the injection
//	                                    point, the handler, the thread start,
//	                                    the syscall thread, the syshandler,
//	                                    the hand-off (read, execute)
//	stubDataAddr                        data page: sigaction and seccomp
//	                                    programs (read-only once the master is set up)
//	sysPageAddr                         the syscall thread's requests
//	                                    (memory file, read-only)
//	regionBase + i*regionSize           thread i's region: sysmsg page +
//	                                    signal stack (memory file, shared)
const (
	stubStart = 0x7f0000000000
	// stubCodeOffset is the offset of the injection point within the code
	// page, just after the ELF header (64 bytes) and two program headers.
	stubCodeOffset = 64 + 2*56
	// stubSyscallAddr is the `syscall` the factory points RIP at to inject
	// a system call; the `int3` after it stops the thread again.
	stubSyscallAddr = stubStart + stubCodeOffset
	// stubHandlerOffset is where the code of stub_amd64.s starts.
	stubHandlerOffset = 256
	stubCodeAddr      = stubStart + stubHandlerOffset
	// Entry points within the copied code; stub_amd64.s lays them out.
	stubRestorerAddr    = stubCodeAddr + 0
	stubThreadEntryAddr = stubCodeAddr + 8
	stubParkAddr        = stubCodeAddr + 16
	stubHandlerAddr     = stubCodeAddr + 32
	// stubThreadStartOffset is where a new application thread starts
	// (threadStartCode in stub_amd64.s).
	stubThreadStartOffset = 0x400
	stubThreadStartAddr   = stubStart + stubThreadStartOffset
	// stubCodeEnd is the end of the page whose instruction pointers the
	// seccomp filters treat as the stub's own.
	stubCodeEnd  = stubStart + 0x1000
	stubDataAddr = stubStart + 0x1000
	stubDataSize = 0x1000
	stubEnd      = stubStart + 0x2000

	// regionBase is where the thread regions start; each is regionSize
	// bytes, aligned to its size so the handler finds its sysmsg from its
	// stack pointer.
	regionBase = stubStart + 0x100000
	regionSize = 0x10000
	// maxRegions bounds the threads of one stub process.
	maxRegions = 1 << 16

	// hostUserEnd is the end of the host's user address range (4-level
	// paging), up to where the master unmaps everything above itself.
	hostUserEnd = 0x7ffffffff000
)

// Offsets in the data page.
const (
	dataHandlerAction = 0x00  // struct sigaction for the handled signals
	dataIgnoreAction  = 0x20  // struct sigaction{SIG_IGN}
	dataProgMaster    = 0x40  // struct sock_fprog for masterFilter
	dataProgThread    = 0x50  // struct sock_fprog for threadFilter
	dataZeroRlimit    = 0x70  // struct rlimit{0, 0}
	dataDoneTimeout   = 0x80  // struct timespec: handoffDoneTimeout
	dataFilterMaster  = 0x100 // masterFilter's instructions
	dataFilterThread  = 0x400 // threadFilter's instructions
)

// injection is the only code of the stub the factory runs directly.
var injection = []byte{
	0x0f, 0x05, // syscall
	0xcc, // int3
}

// stubCode is the stub's code in stub_amd64.s; it is copied, never called.
func stubCode()

// stubCodeStart returns the address of stubCode.
func stubCodeStart() unsafe.Pointer

// handlerCode returns the bytes of stub_amd64.s's stubCode up to its end
// marker, after checking the fixed entry points.
func handlerCode() ([]byte, error) {
	base := stubCodeStart()
	const max = 2048
	code := unsafe.Slice((*byte)(base), max)
	end := bytes.Index(code, []byte("COCOONED"))
	if end < 0 {
		return nil, fmt.Errorf("systrap: stub code end marker not found")
	}
	code = code[:end]
	prefix := []byte{0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05, 0xcc, 0xcc, 0xeb, 0xfd, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
		0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7}
	if !bytes.HasPrefix(code, prefix) {
		return nil, fmt.Errorf("systrap: stub code entry points moved: % x", code[:len(prefix)])
	}
	if stubHandlerOffset+len(code) > stubSyshandlerOffset {
		return nil, fmt.Errorf("systrap: stub code too large (%d bytes)", len(code))
	}
	return append([]byte(nil), code...), nil
}

// threadStartCode is a new thread's first code in stub_amd64.s; copied,
// never called.
func threadStartCode()

// threadStartCodeStart returns the address of threadStartCode.
func threadStartCodeStart() unsafe.Pointer

// threadStartBytes is threadStartCode's bytes; stubImage fails with
// threadStartErr.
var threadStartBytes, threadStartErr = loadCode(threadStartCodeStart(), "thread start", stubThreadStartOffset, stubSysThreadOffset)

// loadCode returns the bytes of the stub code at start, up to its end
// marker, checking that copied at offset in the code page it ends before
// limit.
func loadCode(start unsafe.Pointer, name string, offset, limit int) ([]byte, error) {
	code := unsafe.Slice((*byte)(start), 1024)
	end := bytes.Index(code, []byte("COCOONED"))
	if end < 0 {
		return nil, fmt.Errorf("systrap: %s code end marker not found", name)
	}
	if offset+end > limit {
		return nil, fmt.Errorf("systrap: %s code too large (%d bytes)", name, end)
	}
	return append([]byte(nil), code[:end]...), nil
}

// stubImage returns the stub's ELF image: an ELF64 header, a read+execute
// PT_LOAD covering the headers, the injection point and the handler at
// stubStart, and a read+write zero-filled PT_LOAD at stubDataAddr.
func stubImage() ([]byte, error) {
	code, err := handlerCode()
	if err != nil {
		return nil, err
	}
	if syshErr != nil {
		return nil, syshErr
	}
	if sysThreadErr != nil {
		return nil, sysThreadErr
	}
	if stubHandlerOffset+len(code) > stubThreadStartOffset {
		return nil, fmt.Errorf("systrap: stub code too large (%d bytes)", len(code))
	}
	if threadStartErr != nil {
		return nil, threadStartErr
	}
	if handoffErr != nil {
		return nil, handoffErr
	}
	if yieldErr != nil {
		return nil, yieldErr
	}
	const (
		ehdrSize = 64
		phdrSize = 56
		ptLoad   = 1
		pfX      = 1
		pfW      = 2
		pfR      = 4
	)
	img := make([]byte, stubHandoffOffset+len(handoffBytes))
	le := binary.LittleEndian

	copy(img[0:], []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* SysV ABI */})
	le.PutUint16(img[16:], 2)                 // e_type: ET_EXEC
	le.PutUint16(img[18:], 62)                // e_machine: EM_X86_64
	le.PutUint32(img[20:], 1)                 // e_version
	le.PutUint64(img[24:], stubSyscallAddr+2) // e_entry: the int3
	le.PutUint64(img[32:], ehdrSize)          // e_phoff
	le.PutUint16(img[52:], ehdrSize)          // e_ehsize
	le.PutUint16(img[54:], phdrSize)          // e_phentsize
	le.PutUint16(img[56:], 2)                 // e_phnum
	le.PutUint16(img[58:], 64)                // e_shentsize

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
	putPhdr(ehdrSize+phdrSize, pfR|pfW, 0, stubDataAddr, 0, stubDataSize)

	copy(img[stubCodeOffset:], injection)
	copy(img[stubHandlerOffset:], code)
	copy(img[stubThreadStartOffset:], threadStartBytes)
	copy(img[stubSysThreadOffset:], sysThreadBytes)
	copy(img[stubSyshandlerOffset:], sysh.code)
	copy(img[stubYieldOffset:], yieldBytes)
	copy(img[stubHandoffOffset:], handoffBytes)
	return img, nil
}
