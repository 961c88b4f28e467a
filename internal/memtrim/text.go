package memtrim

import (
	"debug/elf"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropExecutablePages unmaps, from this process's page tables only, the
// pages of the executable's read-only segments (code and read-only data).
//
// Every package's init function, scattered through a 30 MiB binary, runs
// in every cocoon process, and each page it touches brings its neighbours
// along (the kernel maps file pages around a fault): a freshly started
// sentry or gofer maps most of the binary though it runs little of it
// afterwards. The pages stay in the page cache, shared with the daemon;
// dropping the mappings lets an idle process map back only what it runs,
// one minor fault at a time. Writable segments are never touched: for a
// private mapping MADV_DONTNEED would discard their changes.
func dropExecutablePages() {
	for _, seg := range readOnlySegments() {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, seg[0], seg[1]-seg[0], unix.MADV_DONTNEED)
	}
}

// Auxiliary vector keys (linux/auxvec.h), which x/sys does not name.
const (
	atPHDR  = 3
	atPHNUM = 5
)

// readOnlySegments returns the page-aligned [start, end) ranges at which
// the executable's loadable segments without write permission are mapped,
// from its program headers (found through the auxiliary vector, as a
// dynamic loader finds them: no /proc needed, so a confined gofer can use
// it).
func readOnlySegments() [][2]uintptr {
	auxv, err := unix.Auxv()
	if err != nil {
		return nil
	}
	var phdr, phnum uintptr
	for _, kv := range auxv {
		switch kv[0] {
		case atPHDR:
			phdr = kv[1]
		case atPHNUM:
			phnum = kv[1]
		}
	}
	if phdr == 0 || phnum == 0 || phnum > 64 {
		return nil
	}
	// The headers lie in the executable's first segment, which the kernel
	// mapped and nothing ever unmaps.
	progs := unsafe.Slice((*elf.Prog64)(unsafe.Add(unsafe.Pointer(nil), phdr)), phnum)
	// A position-independent executable is loaded at a bias: where
	// PT_PHDR says the headers are against where they are.
	var bias uintptr
	for _, p := range progs {
		if elf.ProgType(p.Type) == elf.PT_PHDR {
			bias = phdr - uintptr(p.Vaddr)
		}
	}
	page := uintptr(unix.Getpagesize())
	var segs [][2]uintptr
	for _, p := range progs {
		if elf.ProgType(p.Type) != elf.PT_LOAD || elf.ProgFlag(p.Flags)&elf.PF_W != 0 || p.Memsz == 0 {
			continue
		}
		start := (bias + uintptr(p.Vaddr)) &^ (page - 1)
		end := (bias + uintptr(p.Vaddr+p.Memsz) + page - 1) &^ (page - 1)
		segs = append(segs, [2]uintptr{start, end})
	}
	return segs
}
