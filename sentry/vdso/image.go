package vdso

import (
	"encoding/binary"
	"sort"
	"sync"
)

// ImageSize is the size of the [vdso] mapping: the image, zero-padded to a
// page.
const ImageSize = 4096

// Names the image defines (vdso.lds.S).
const (
	soname  = "linux-vdso.so.1"
	version = "LINUX_2.6"
)

// ELF constants used by the writer.
const (
	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64
	symSize  = 24
	dynSize  = 16

	ptLoad        = 1
	ptDynamic     = 2
	ptGNUEHFrame  = 0x6474e550
	pfX, pfW, pfR = 1, 2, 4

	shtProgbits  = 1
	shtStrtab    = 3
	shtHash      = 5
	shtDynamic   = 6
	shtDynsym    = 11
	shtGNUHash   = 0x6ffffff6
	shtGNUVerdef = 0x6ffffffd
	shtGNUVersym = 0x6fffffff
	shfAlloc     = 2
	shfExec      = 4

	stbGlobal = 1
	stbWeak   = 2
	sttObject = 1
	sttFunc   = 2
	shnAbs    = 0xfff1

	dtNull       = 0
	dtHash       = 4
	dtStrtab     = 5
	dtSymtab     = 6
	dtStrsz      = 10
	dtSyment     = 11
	dtSoname     = 14
	dtSymbolic   = 16
	dtFlags      = 30
	dtGNUHash    = 0x6ffffef5
	dtVersym     = 0x6ffffff0
	dtFlags1     = 0x6ffffffb
	dtVerdef     = 0x6ffffffc
	dtVerdefnum  = 0x6ffffffd
	dfSymbolic   = 0x2
	dfBindNow    = 0x8
	df1Now       = 0x1
	verFlgBase   = 0x1
	verNdxGlobal = 2 // LINUX_2.6's index; 1 is the base version

	// The .text section's index in the section headers (see build).
	textSection = 10
)

// elfHash is the System V ABI's symbol hash (DT_HASH, vd_hash).
func elfHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
		}
		h &^= 0xf0000000
	}
	return h
}

// gnuHash is the DT_GNU_HASH symbol hash (Bernstein's).
func gnuHash(name string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(name); i++ {
		h = h*33 + uint32(name[i])
	}
	return h
}

// symbol is one .dynsym entry.
type symbol struct {
	name        string
	info        byte
	shndx       uint16
	value, size uint64
}

// writer lays out the image: sections are appended at aligned offsets,
// which are also their addresses (the image is linked at 0).
type writer struct {
	b        []byte
	sections []section
}

type section struct {
	name             string
	typ              uint32
	flags            uint64
	off, size        uint64
	link, info       uint32
	align, entsize   uint64
	nameOff          uint32
	contentsAssigned bool
}

// reserve appends size zero bytes aligned to align and returns their
// offset.
func (w *writer) reserve(size, align int) uint64 {
	for len(w.b)%align != 0 {
		w.b = append(w.b, 0)
	}
	off := len(w.b)
	w.b = append(w.b, make([]byte, size)...)
	return uint64(off)
}

// add appends a section with contents and returns its offset.
func (w *writer) add(s section, contents []byte) uint64 {
	s.off = w.reserve(len(contents), int(s.align))
	s.size = uint64(len(contents))
	copy(w.b[s.off:], contents)
	w.sections = append(w.sections, s)
	return s.off
}

var (
	imageOnce sync.Once
	imageData []byte
	imageFns  []function
)

// Image returns the vDSO's ELF image, ImageSize bytes. The slice is
// shared: callers must not modify it.
func Image() []byte {
	imageOnce.Do(func() { imageData, imageFns = build() })
	return imageData
}

// build writes the image. Every size and offset below follows from the
// contents, so the image is the same on every run.
func build() ([]byte, []function) {
	le := binary.LittleEndian
	// The layout depends on the code's size, and the code's data
	// references on its address: assemble once to learn the size.
	code, fns := text(0)

	// Dynamic symbols: for each function its __vdso_ name (global) and
	// Linux's weak alias, and the version's own absolute symbol.
	syms := []symbol{{}} // index 0: the undefined symbol
	for _, f := range fns {
		syms = append(syms,
			symbol{name: f.alias, info: stbWeak<<4 | sttFunc, shndx: textSection, value: f.off, size: f.size},
			symbol{name: f.name, info: stbGlobal<<4 | sttFunc, shndx: textSection, value: f.off, size: f.size})
	}
	syms = append(syms, symbol{name: version, info: stbGlobal<<4 | sttObject, shndx: shnAbs})
	// DT_GNU_HASH wants the hashed symbols grouped by bucket.
	const nbuckets = 3
	defined := syms[1:]
	sort.SliceStable(defined, func(i, j int) bool {
		return gnuHash(defined[i].name)%nbuckets < gnuHash(defined[j].name)%nbuckets
	})

	// .dynstr
	dynstr := []byte{0}
	strOff := map[string]uint32{}
	str := func(s string) uint32 {
		if off, ok := strOff[s]; ok {
			return off
		}
		off := uint32(len(dynstr))
		dynstr = append(append(dynstr, s...), 0)
		strOff[s] = off
		return off
	}
	str(soname)
	str(version)
	for _, s := range syms[1:] {
		str(s.name)
	}

	w := &writer{}
	w.reserve(ehdrSize, 1)
	const nphdr = 3
	phoff := w.reserve(nphdr*phdrSize, 8)

	// .hash: nbucket, nchain, buckets, chains (chain[i] is the next
	// symbol in i's bucket).
	hash := make([]uint32, 2+nbuckets+len(syms))
	hash[0], hash[1] = nbuckets, uint32(len(syms))
	for i := len(syms) - 1; i >= 1; i-- {
		b := elfHash(syms[i].name) % nbuckets
		hash[2+nbuckets+i] = hash[2+b]
		hash[2+b] = uint32(i)
	}
	hashOff := w.add(section{name: ".hash", typ: shtHash, flags: shfAlloc, link: 3, align: 8, entsize: 4}, u32s(hash))

	// .gnu.hash: nbuckets, symoffset, bloom size, bloom shift, the bloom
	// filter (one 64-bit word), buckets, then one hash per symbol with
	// the low bit marking the last of its bucket.
	const symoffset, bloomShift = 1, 6
	var bloom uint64
	gnuBuckets := make([]uint32, nbuckets)
	chain := make([]uint32, len(syms)-symoffset)
	for i := symoffset; i < len(syms); i++ {
		h := gnuHash(syms[i].name)
		bloom |= 1<<(h%64) | 1<<((h>>bloomShift)%64)
		b := h % nbuckets
		if gnuBuckets[b] == 0 {
			gnuBuckets[b] = uint32(i)
		}
		chain[i-symoffset] = h &^ 1
		if i+1 == len(syms) || gnuHash(syms[i+1].name)%nbuckets != b {
			chain[i-symoffset] |= 1
		}
	}
	gnu := u32s([]uint32{nbuckets, symoffset, 1, bloomShift})
	gnu = le.AppendUint64(gnu, bloom)
	gnu = append(gnu, u32s(gnuBuckets)...)
	gnu = append(gnu, u32s(chain)...)
	gnuHashOff := w.add(section{name: ".gnu.hash", typ: shtGNUHash, flags: shfAlloc, link: 3, align: 8}, gnu)

	// .dynsym: the code's offset is known only once the layout is, so
	// the values are patched below.
	dynsymOff := w.add(section{name: ".dynsym", typ: shtDynsym, flags: shfAlloc, link: 4, info: 1, align: 8, entsize: symSize},
		make([]byte, len(syms)*symSize))
	dynstrOff := w.add(section{name: ".dynstr", typ: shtStrtab, flags: shfAlloc, align: 1}, dynstr)

	// .gnu.version: every defined symbol is LINUX_2.6.
	versym := make([]byte, 2*len(syms))
	for i := 1; i < len(syms); i++ {
		le.PutUint16(versym[2*i:], verNdxGlobal)
	}
	versymOff := w.add(section{name: ".gnu.version", typ: shtGNUVersym, flags: shfAlloc, link: 3, align: 2, entsize: 2}, versym)

	// .gnu.version_d: the base version (the soname) and LINUX_2.6, each
	// a Verdef (20 bytes) with one Verdaux (8 bytes).
	verdef := func(flags, ndx uint16, name string, last bool) []byte {
		b := make([]byte, 28)
		le.PutUint16(b[0:], 1) // vd_version
		le.PutUint16(b[2:], flags)
		le.PutUint16(b[4:], ndx)
		le.PutUint16(b[6:], 1) // vd_cnt
		le.PutUint32(b[8:], elfHash(name))
		le.PutUint32(b[12:], 20) // vd_aux
		if !last {
			le.PutUint32(b[16:], 28) // vd_next
		}
		le.PutUint32(b[20:], str(name)) // vda_name; vda_next 0
		return b
	}
	vd := append(verdef(verFlgBase, 1, soname, false), verdef(0, verNdxGlobal, version, true)...)
	verdefOff := w.add(section{name: ".gnu.version_d", typ: shtGNUVerdef, flags: shfAlloc, link: 4, info: 2, align: 8}, vd)

	// .dynamic
	var dyn []byte
	for _, d := range [][2]uint64{
		{dtSoname, uint64(str(soname))},
		{dtSymbolic, 0},
		{dtHash, hashOff},
		{dtGNUHash, gnuHashOff},
		{dtStrtab, dynstrOff},
		{dtSymtab, dynsymOff},
		{dtStrsz, uint64(len(dynstr))},
		{dtSyment, symSize},
		{dtVerdef, verdefOff},
		{dtVerdefnum, 2},
		{dtFlags, dfSymbolic | dfBindNow},
		{dtFlags1, df1Now},
		{dtVersym, versymOff},
		{dtNull, 0},
	} {
		dyn = le.AppendUint64(dyn, d[0])
		dyn = le.AppendUint64(dyn, d[1])
	}
	dynamicOff := w.add(section{name: ".dynamic", typ: shtDynamic, flags: shfAlloc, link: 4, align: 8, entsize: dynSize}, dyn)

	// .eh_frame_hdr and .eh_frame are sized from the function count;
	// their contents depend on .text's address, so they are filled in
	// after it is placed.
	ehHdrOff := w.add(section{name: ".eh_frame_hdr", typ: shtProgbits, flags: shfAlloc, align: 4}, make([]byte, ehFrameHdrSize(len(fns))))
	ehOff := w.add(section{name: ".eh_frame", typ: shtProgbits, flags: shfAlloc, align: 8}, make([]byte, ehFrameSize(len(fns))))

	textOff := w.add(section{name: ".text", typ: shtProgbits, flags: shfAlloc | shfExec, align: 16}, code)
	// Now that .text has its address, assemble again with the data
	// references resolved; the size cannot change.
	code, fns = text(textOff)
	copy(w.b[textOff:], code)
	copy(w.b[ehOff:], ehFrame(ehOff, textOff, fns))
	copy(w.b[ehHdrOff:], ehFrameHdr(ehHdrOff, ehOff, textOff, fns))
	for i, s := range syms[1:] {
		e := w.b[dynsymOff+uint64(i+1)*symSize:]
		le.PutUint32(e[0:], str(s.name))
		e[4] = s.info
		le.PutUint16(e[6:], s.shndx)
		if s.shndx == textSection {
			s.value += textOff
		}
		le.PutUint64(e[8:], s.value)
		le.PutUint64(e[16:], s.size)
	}

	// .shstrtab and the section headers end the image.
	shstr := []byte{0}
	for i := range w.sections {
		w.sections[i].nameOff = uint32(len(shstr))
		shstr = append(append(shstr, w.sections[i].name...), 0)
	}
	shstrOff := uint32(len(shstr))
	shstr = append(append(shstr, ".shstrtab"...), 0)
	w.add(section{name: ".shstrtab", typ: shtStrtab, align: 1, nameOff: shstrOff}, shstr)
	shnum := len(w.sections) + 1
	shoff := w.reserve(shnum*shdrSize, 8)
	for i, s := range w.sections {
		h := w.b[shoff+uint64(i+1)*shdrSize:]
		le.PutUint32(h[0:], s.nameOff)
		le.PutUint32(h[4:], s.typ)
		le.PutUint64(h[8:], s.flags)
		if s.flags&shfAlloc != 0 {
			le.PutUint64(h[16:], s.off) // sh_addr: linked at 0
		}
		le.PutUint64(h[24:], s.off)
		le.PutUint64(h[32:], s.size)
		le.PutUint32(h[40:], s.link)
		le.PutUint32(h[44:], s.info)
		le.PutUint64(h[48:], s.align)
		le.PutUint64(h[56:], s.entsize)
	}
	if w.sections[textSection-1].name != ".text" || len(w.b) > ImageSize {
		panic("vdso: image layout is wrong")
	}
	size := uint64(len(w.b))

	// The ELF header.
	h := w.b
	copy(h, []byte{0x7f, 'E', 'L', 'F', 2 /* ELFCLASS64 */, 1 /* little-endian */, 1 /* EV_CURRENT */, 0 /* System V */})
	le.PutUint16(h[16:], 3)  // e_type: ET_DYN
	le.PutUint16(h[18:], 62) // e_machine: EM_X86_64
	le.PutUint32(h[20:], 1)  // e_version
	le.PutUint64(h[24:], 0)  // e_entry: none
	le.PutUint64(h[32:], phoff)
	le.PutUint64(h[40:], shoff)
	le.PutUint16(h[52:], ehdrSize)
	le.PutUint16(h[54:], phdrSize)
	le.PutUint16(h[56:], nphdr)
	le.PutUint16(h[58:], shdrSize)
	le.PutUint16(h[60:], uint16(shnum))
	le.PutUint16(h[62:], uint16(shnum-1)) // .shstrtab is last

	// Program headers: the whole image as one read+execute PT_LOAD, and
	// PT_DYNAMIC read-only (glibc relocates a writable one in place).
	phdr := func(i int, typ, flags uint32, off, size, align uint64) {
		p := w.b[phoff+uint64(i)*phdrSize:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], off) // p_vaddr
		le.PutUint64(p[24:], off) // p_paddr
		le.PutUint64(p[32:], size)
		le.PutUint64(p[40:], size)
		le.PutUint64(p[48:], align)
	}
	phdr(0, ptLoad, pfR|pfX, 0, size, 4096)
	phdr(1, ptDynamic, pfR, dynamicOff, uint64(len(dyn)), 8)
	phdr(2, ptGNUEHFrame, pfR, ehHdrOff, uint64(ehFrameHdrSize(len(fns))), 4)

	img := make([]byte, ImageSize)
	copy(img, w.b)
	for i := range fns {
		fns[i].off += textOff
	}
	return img, fns
}

func u32s(v []uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}
