package loader

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// ELF constants (elf.h).
const (
	elfMagic     = "\x7fELF"
	elfClass64   = 2
	elfData2LSB  = 1
	etExec       = 2
	etDyn        = 3
	emX86_64     = 62
	ehdrSize     = 64
	phdrSize     = 56
	ptLoad       = 1
	ptInterp     = 3
	ptPhdr       = 6
	ptGNUStack   = 0x6474e551
	pfX          = 1
	pfW          = 2
	pfR          = 4
	pageMask     = arch.PageSize - 1
	maxPhdrBytes = arch.PageSize // load_elf_phdrs: ELF_MIN_ALIGN
)

// allPerms is MaxPerms for private mappings, which mprotect may make
// anything.
const allPerms = platform.Read | platform.Write | platform.Execute

// progHeader is one Elf64_Phdr.
type progHeader struct {
	typ    uint32
	flags  uint32
	off    uint64
	vaddr  uint64
	filesz uint64
	memsz  uint64
	align  uint64
}

// elfFile is a parsed and validated ELF executable or interpreter.
type elfFile struct {
	file  File
	typ   uint16
	entry uint64
	phnum int
	loads []progHeader
	// interp is the PT_INTERP path, for an executable.
	interp string
	// isInterp is set for an interpreter.
	isInterp bool
	// execStack is PT_GNU_STACK's PF_X.
	execStack bool
	// phdrVaddr is the link-time address of the program headers, valid if
	// hasPhdr.
	phdrVaddr uint64
	hasPhdr   bool
	// maxAlign is the largest power-of-two PT_LOAD alignment, at least a
	// page.
	maxAlign uint64
	// first and end bound the page-rounded link-time span of the PT_LOADs.
	first, end uint64

	// Set by place (executables) or load (interpreters).
	bias   uint64
	placed bool
}

// isELF reports whether head starts with the ELF magic.
func isELF(head []byte) bool {
	return len(head) >= len(elfMagic) && string(head[:len(elfMagic)]) == elfMagic
}

// parseELF parses the ELF file whose first bytes are head and checks
// everything the loader will rely on. A bad interpreter header fails with
// ELIBBAD as in Linux; every other malformation with ENOEXEC.
func parseELF(f File, head []byte, isInterp bool) (*elfFile, error) {
	badHeader := error(unix.ENOEXEC)
	if isInterp {
		badHeader = unix.ELIBBAD
	}
	if !isELF(head) || len(head) < ehdrSize {
		return nil, badHeader
	}
	le := binary.LittleEndian
	if head[4] != elfClass64 || head[5] != elfData2LSB || le.Uint16(head[18:]) != emX86_64 {
		return nil, badHeader
	}
	e := &elfFile{file: f, typ: le.Uint16(head[16:]), isInterp: isInterp}
	if e.typ != etExec && e.typ != etDyn {
		return nil, unix.ENOEXEC
	}
	e.entry = le.Uint64(head[24:])
	phoff := le.Uint64(head[32:])
	phentsize := le.Uint16(head[54:])
	e.phnum = int(le.Uint16(head[56:]))
	if phentsize != phdrSize || e.phnum == 0 || e.phnum*phdrSize > maxPhdrBytes {
		return nil, unix.ENOEXEC
	}
	size, err := f.Size()
	if err != nil {
		return nil, ioError(err)
	}
	if size < 0 {
		return nil, unix.ENOEXEC
	}
	fileSize := uint64(size)
	phBytes := uint64(e.phnum * phdrSize)
	if phoff > fileSize || phBytes > fileSize-phoff {
		return nil, unix.ENOEXEC
	}
	raw := make([]byte, phBytes)
	if n, err := readFull(f, raw, int64(phoff)); err != nil {
		return nil, err
	} else if n != len(raw) {
		return nil, unix.ENOEXEC
	}

	var interpPH *progHeader
	var prevEnd uint64
	for i := 0; i < e.phnum; i++ {
		b := raw[i*phdrSize:]
		ph := progHeader{
			typ:    le.Uint32(b[0:]),
			flags:  le.Uint32(b[4:]),
			off:    le.Uint64(b[8:]),
			vaddr:  le.Uint64(b[16:]),
			filesz: le.Uint64(b[32:]),
			memsz:  le.Uint64(b[40:]),
			align:  le.Uint64(b[48:]),
		}
		switch ph.typ {
		case ptLoad:
			if err := checkLoad(ph, fileSize); err != nil {
				return nil, err
			}
			// Sorted by address and not overlapping (pages may be
			// shared).
			if len(e.loads) > 0 && ph.vaddr < prevEnd {
				return nil, unix.ENOEXEC
			}
			prevEnd = ph.vaddr + ph.memsz
			e.loads = append(e.loads, ph)
			if a := ph.align; a&(a-1) == 0 && a > e.maxAlign {
				e.maxAlign = a
			}
		case ptInterp:
			// Linux uses the first one; an interpreter's is ignored.
			if interpPH == nil && !isInterp {
				p := ph
				interpPH = &p
			}
		case ptPhdr:
			if !e.hasPhdr {
				e.phdrVaddr, e.hasPhdr = ph.vaddr, true
			}
		case ptGNUStack:
			e.execStack = ph.flags&pfX != 0
		}
	}
	if len(e.loads) == 0 {
		return nil, unix.ENOEXEC
	}
	if e.maxAlign < arch.PageSize {
		e.maxAlign = arch.PageSize
	}
	e.first = arch.PageRoundDown(e.loads[0].vaddr)
	end, ok := arch.PageRoundUp(prevEnd)
	if !ok || end == 0 {
		return nil, unix.ENOEXEC
	}
	e.end = end
	if e.end == e.first {
		return nil, unix.ENOEXEC // nothing to map
	}

	// AT_PHDR without PT_PHDR: the PT_LOAD whose file contents hold the
	// program headers (Linux's rule).
	if !e.hasPhdr {
		for _, ph := range e.loads {
			if ph.off <= phoff && phoff-ph.off < ph.filesz && phBytes <= ph.filesz-(phoff-ph.off) {
				e.phdrVaddr, e.hasPhdr = phoff-ph.off+ph.vaddr, true
				break
			}
		}
	}

	if interpPH != nil {
		ph := interpPH
		if ph.filesz < 2 || ph.filesz > PathMax || ph.off > fileSize || ph.filesz > fileSize-ph.off {
			return nil, unix.ENOEXEC
		}
		b := make([]byte, ph.filesz)
		if n, err := readFull(f, b, int64(ph.off)); err != nil {
			return nil, err
		} else if n != len(b) {
			return nil, unix.ENOEXEC
		}
		if b[len(b)-1] != 0 {
			return nil, unix.ENOEXEC
		}
		e.interp = cstr(string(b))
		if e.interp == "" {
			// open_exec("") fails with ENOENT.
			return nil, unix.ENOENT
		}
	}
	return e, nil
}

// checkLoad validates one PT_LOAD against the file: sizes that fit, file
// contents inside the file, and an offset congruent to the address modulo
// the page size so both can be rounded down to a page.
func checkLoad(ph progHeader, fileSize uint64) error {
	switch {
	case ph.filesz > ph.memsz:
		return unix.ENOEXEC
	case ph.off&pageMask != ph.vaddr&pageMask:
		return unix.ENOEXEC
	case ph.off > fileSize || ph.filesz > fileSize-ph.off:
		return unix.ENOEXEC
	case ph.vaddr+ph.memsz < ph.vaddr:
		return unix.ENOEXEC
	}
	if _, ok := arch.PageRoundUp(ph.vaddr + ph.memsz); !ok {
		return unix.ENOEXEC
	}
	return nil
}

// etDynBase returns Linux's ELF_ET_DYN_BASE for an address space ending at
// maxAddr: two thirds of it, page-aligned (0x555555554000 for 47 bits).
func etDynBase(maxAddr uint64) uint64 {
	return arch.PageRoundDown(maxAddr / 3 * 2)
}

// place chooses the load bias of the main executable: none for ET_EXEC,
// ELF_ET_DYN_BASE plus rnd (aligned to the largest segment alignment) for
// ET_DYN. It fails with ENOEXEC for an ET_EXEC outside the user range and
// ENOMEM for an ET_DYN that does not fit.
func (e *elfFile) place(maxAddr, rnd uint64) error {
	span := e.end - e.first
	if e.typ == etExec {
		if e.end > maxAddr {
			return unix.ENOEXEC
		}
		e.bias, e.placed = 0, true
		return nil
	}
	base := etDynBase(maxAddr)
	if rnd < maxAddr-base {
		base += arch.PageRoundDown(rnd)
	}
	if a := e.maxAlign; a <= base {
		base &^= a - 1
	}
	if base >= maxAddr || span > maxAddr-base {
		return unix.ENOMEM
	}
	e.bias, e.placed = base-e.first, true
	return nil
}

// placeInterp checks that an interpreter fits below maxAddr and places an
// ET_EXEC one at its own addresses; load places an ET_DYN one where mem
// chooses.
func (e *elfFile) placeInterp(maxAddr uint64) error {
	if e.typ == etExec {
		if e.end > maxAddr {
			return unix.ENOEXEC
		}
		e.bias, e.placed = 0, true
		return nil
	}
	if e.end-e.first > maxAddr {
		return unix.ENOMEM
	}
	return nil
}

// brk returns the page-rounded end of the highest PT_LOAD, relocated.
func (e *elfFile) brk() uint64 { return e.end + e.bias }

// phdrAddr returns AT_PHDR, or 0 if the program headers are not mapped (the
// bias alone, as in Linux).
func (e *elfFile) phdrAddr() uint64 {
	if !e.hasPhdr {
		return e.bias
	}
	return e.phdrVaddr + e.bias
}

// load maps e into mem at the place chosen by place or placeInterp, or, for
// an ET_DYN interpreter, where mem chooses.
//
// The whole span is first reserved with one inaccessible mapping, and the
// segments are then mapped over it, so the image is contiguous and the gaps
// between segments stay reserved.
func (e *elfFile) load(mem Memory) error {
	span := e.end - e.first
	reserve := mm.MMapOpts{
		Length:   span,
		MaxPerms: allPerms,
		Private:  true,
	}
	if e.placed {
		reserve.Addr, reserve.Fixed, reserve.NoReplace = e.first+e.bias, true, true
	}
	addr, err := mem.MMap(reserve)
	if err != nil {
		return err
	}
	if addr&pageMask != 0 || (reserve.Fixed && addr != reserve.Addr) || addr+span < addr {
		return unix.ENOMEM
	}
	if !e.placed {
		e.bias, e.placed = addr-e.first, true
	}

	for _, ph := range e.loads {
		if err := e.mapSegment(mem, ph); err != nil {
			return err
		}
	}
	return nil
}

// mapSegment maps one PT_LOAD as Linux's elf_load does: the file pages
// privately, the rest of the last file page zeroed if writable, and
// anonymous memory up to p_memsz.
func (e *elfFile) mapSegment(mem Memory, ph progHeader) error {
	if ph.memsz == 0 {
		return nil
	}
	var perms platform.AccessType
	if ph.flags&pfR != 0 {
		perms |= platform.Read
	}
	if ph.flags&pfW != 0 {
		perms |= platform.Write
	}
	if ph.flags&pfX != 0 {
		perms |= platform.Execute
	}
	pageOff := ph.vaddr & pageMask
	start := ph.vaddr - pageOff + e.bias // page-aligned
	fileEnd := ph.vaddr + ph.filesz + e.bias
	memEnd := ph.vaddr + ph.memsz + e.bias

	anonStart := start
	if ph.filesz > 0 {
		length, _ := arch.PageRoundUp(pageOff + ph.filesz) // checked by end
		if _, err := mem.MMap(mm.MMapOpts{
			Addr:     start,
			Length:   length,
			Fixed:    true,
			Perms:    perms,
			MaxPerms: allPerms,
			Private:  true,
			File:     e.file,
			Offset:   ph.off - pageOff,
		}); err != nil {
			return err
		}
		anonStart, _ = arch.PageRoundUp(fileEnd)
		if ph.memsz > ph.filesz && fileEnd&pageMask != 0 && perms&platform.Write != 0 {
			// padzero: the file's bytes past p_filesz on the last page
			// are not part of the segment.
			zeros := make([]byte, arch.PageSize-fileEnd&pageMask)
			if _, err := mem.CopyOut(fileEnd, zeros); err != nil {
				return err
			}
		}
	}
	anonEnd, _ := arch.PageRoundUp(memEnd)
	if anonEnd > anonStart {
		if _, err := mem.MMap(mm.MMapOpts{
			Addr:     anonStart,
			Length:   anonEnd - anonStart,
			Fixed:    true,
			Perms:    perms,
			MaxPerms: allPerms,
			Private:  true,
		}); err != nil {
			return err
		}
	}
	if perms != 0 {
		mem.MapProgramAhead(start, max(anonStart, anonEnd), !e.isInterp)
	}
	return nil
}
