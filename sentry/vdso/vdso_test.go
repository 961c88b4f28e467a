package vdso

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exported are the functions Linux's x86-64 vDSO exports (vdso.lds.S),
// without __vdso_getrandom and __vdso_sgx_enter_enclave.
var exported = []string{"clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"}

func TestImageIsASharedObject(t *testing.T) {
	img := Image()
	if len(img) != ImageSize || ImageSize != 4096 || DataSize != 4096 {
		// mm never splits the mappings only because each is one page.
		t.Fatalf("image is %d bytes (ImageSize %d, DataSize %d), want one page each", len(img), ImageSize, DataSize)
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_DYN || f.Machine != elf.EM_X86_64 {
		t.Errorf("header: %v %v %v %v", f.Class, f.Data, f.Type, f.Machine)
	}
	var load, dynamic, eh *elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			if load != nil {
				t.Errorf("more than one PT_LOAD")
			}
			load = p
		case elf.PT_DYNAMIC:
			dynamic = p
		case elf.PT_GNU_EH_FRAME:
			eh = p
		default:
			t.Errorf("unexpected program header %v", p.Type)
		}
	}
	if load == nil || load.Off != 0 || load.Vaddr != 0 || load.Flags != elf.PF_R|elf.PF_X || load.Filesz != load.Memsz || load.Filesz > ImageSize {
		t.Errorf("PT_LOAD %+v", load)
	}
	if dynamic == nil || dynamic.Flags != elf.PF_R {
		t.Errorf("PT_DYNAMIC %+v, want read-only", dynamic)
	}
	if eh == nil || f.Section(".eh_frame_hdr") == nil || eh.Off != f.Section(".eh_frame_hdr").Offset {
		t.Errorf("PT_GNU_EH_FRAME %+v", eh)
	}
	if so, err := f.DynString(elf.DT_SONAME); err != nil || len(so) != 1 || so[0] != "linux-vdso.so.1" {
		t.Errorf("DT_SONAME %q %v", so, err)
	}
	for _, tag := range []elf.DynTag{elf.DT_HASH, elf.DT_GNU_HASH, elf.DT_STRTAB, elf.DT_SYMTAB, elf.DT_VERSYM, elf.DT_VERDEF} {
		if v, err := f.DynValue(tag); err != nil || len(v) != 1 {
			t.Errorf("%v: %v %v", tag, v, err)
		}
	}
	for _, name := range []string{".hash", ".gnu.hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".dynamic", ".text", ".eh_frame"} {
		if f.Section(name) == nil {
			t.Errorf("no %s section", name)
		}
	}

	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	byName := map[string]elf.Symbol{}
	for _, s := range syms {
		byName[s.Name] = s
		if s.Version != "LINUX_2.6" {
			t.Errorf("%s has version %q, want LINUX_2.6", s.Name, s.Version)
		}
	}
	for _, name := range exported {
		g, w := byName["__vdso_"+name], byName[name]
		if elf.ST_TYPE(g.Info) != elf.STT_FUNC || elf.ST_BIND(g.Info) != elf.STB_GLOBAL {
			t.Errorf("__vdso_%s: %+v, want a global function", name, g)
		}
		if elf.ST_TYPE(w.Info) != elf.STT_FUNC || elf.ST_BIND(w.Info) != elf.STB_WEAK {
			t.Errorf("%s: %+v, want a weak function (Linux's alias)", name, w)
		}
		if g.Value != w.Value || g.Size != w.Size || g.Size == 0 {
			t.Errorf("%s and __vdso_%s differ: %+v %+v", name, name, w, g)
		}
		if g.Value < text.Addr || g.Value+g.Size > text.Addr+text.Size || int(g.Section) != textSection {
			t.Errorf("__vdso_%s at %#x+%d is not in .text", name, g.Value, g.Size)
		}
	}
	if v := byName["LINUX_2.6"]; v.Section != elf.SHN_ABS || elf.ST_TYPE(v.Info) != elf.STT_OBJECT {
		t.Errorf("LINUX_2.6 symbol: %+v", v)
	}
	if len(syms) != 2*len(exported)+1 {
		t.Errorf("%d symbols, want %d", len(syms), 2*len(exported)+1)
	}
}

func TestImageIsReproducible(t *testing.T) {
	a, _ := build()
	b, _ := build()
	if !bytes.Equal(a, b) || !bytes.Equal(a, Image()) {
		t.Fatal("two builds of the image differ")
	}
}

func TestHashes(t *testing.T) {
	// The Go runtime compares the version definition's hash with this
	// constant (runtime/vdso_linux_amd64.go), glibc with the hash of the
	// name it asks for.
	if h := elfHash("LINUX_2.6"); h != 0x3ae75f6 {
		t.Errorf("elfHash(LINUX_2.6) = %#x", h)
	}
	// Known values from the GNU hash's definition.
	if h := gnuHash(""); h != 5381 {
		t.Errorf("gnuHash(\"\") = %d", h)
	}
	if h := gnuHash("printf"); h != 0x156b2bb8 {
		t.Errorf("gnuHash(printf) = %#x", h)
	}
	if h := elfHash("printf"); h != 0x077905a6 {
		t.Errorf("elfHash(printf) = %#x", h)
	}
}

// image is a parsed view of the image through its dynamic section only, the
// way libc and the Go runtime read a vDSO (they never look at sections).
type image struct {
	b                                      []byte
	strtab, symtab, hash, gnuhash, versym  uint64
	verdef                                 uint64
	hasHash, hasGNUHash, hasVersym, hasDef bool
}

func parseDynamic(t *testing.T, b []byte) *image {
	le := binary.LittleEndian
	im := &image{b: b}
	phoff, phnum := le.Uint64(b[32:]), int(le.Uint16(b[56:]))
	var dyn uint64
	for i := 0; i < phnum; i++ {
		p := b[phoff+uint64(i)*56:]
		if le.Uint32(p) == 2 {
			dyn = le.Uint64(p[8:])
		}
	}
	if dyn == 0 {
		t.Fatal("no PT_DYNAMIC")
	}
	for d := b[dyn:]; ; d = d[16:] {
		tag, val := le.Uint64(d), le.Uint64(d[8:])
		switch tag {
		case 0:
			return im
		case dtStrtab:
			im.strtab = val
		case dtSymtab:
			im.symtab = val
		case dtHash:
			im.hash, im.hasHash = val, true
		case dtGNUHash:
			im.gnuhash, im.hasGNUHash = val, true
		case dtVersym:
			im.versym, im.hasVersym = val, true
		case dtVerdef:
			im.verdef, im.hasDef = val, true
		}
	}
}

func (im *image) str(off uint32) string {
	s := im.b[im.strtab+uint64(off):]
	return string(s[:bytes.IndexByte(s, 0)])
}

// match checks symbol i the way the Go runtime's vdsoParseSymbols and
// musl's checkver do: a defined function or object with the name, whose
// version definition has the version's name and hash.
func (im *image) match(i uint32, name, ver string) (uint64, bool) {
	le := binary.LittleEndian
	s := im.b[im.symtab+uint64(i)*symSize:]
	if im.str(le.Uint32(s)) != name || le.Uint16(s[6:]) == 0 {
		return 0, false
	}
	ndx := le.Uint16(im.b[im.versym+2*uint64(i):]) & 0x7fff
	for d := im.b[im.verdef:]; ; {
		if le.Uint16(d[2:])&verFlgBase == 0 && le.Uint16(d[4:])&0x7fff == ndx {
			aux := d[le.Uint32(d[12:]):]
			return le.Uint64(s[8:]), im.str(le.Uint32(aux)) == ver && le.Uint32(d[8:]) == elfHash(ver)
		}
		next := le.Uint32(d[16:])
		if next == 0 {
			return 0, false
		}
		d = d[next:]
	}
}

// lookupHash finds name through DT_HASH, as musl does.
func (im *image) lookupHash(name, ver string) (uint64, bool) {
	le := binary.LittleEndian
	h := im.b[im.hash:]
	nbucket := le.Uint32(h)
	nchain := le.Uint32(h[4:])
	for i := le.Uint32(h[8+4*(elfHash(name)%nbucket):]); i != 0; i = le.Uint32(h[8+4*nbucket+4*i:]) {
		if i >= nchain {
			return 0, false
		}
		if v, ok := im.match(i, name, ver); ok {
			return v, true
		}
	}
	return 0, false
}

// lookupGNUHash finds name through DT_GNU_HASH, bloom filter included, as
// glibc's do_lookup_x and the Go runtime do.
func (im *image) lookupGNUHash(name, ver string) (uint64, bool) {
	le := binary.LittleEndian
	g := im.b[im.gnuhash:]
	nbuckets, symoff, bloomSize, shift := le.Uint32(g), le.Uint32(g[4:]), le.Uint32(g[8:]), le.Uint32(g[12:])
	h := gnuHash(name)
	word := le.Uint64(g[16+8*((h/64)&(bloomSize-1)):])
	if (word>>(h%64))&(word>>((h>>shift)%64))&1 == 0 {
		return 0, false
	}
	buckets := g[16+8*bloomSize:]
	chain := buckets[4*nbuckets:]
	i := le.Uint32(buckets[4*(h%nbuckets):])
	if i < symoff {
		return 0, false
	}
	for ; ; i++ {
		ch := le.Uint32(chain[4*(i-symoff):])
		if ch|1 == h|1 {
			if v, ok := im.match(i, name, ver); ok {
				return v, true
			}
		}
		if ch&1 != 0 {
			return 0, false
		}
	}
}

func TestSymbolLookups(t *testing.T) {
	im := parseDynamic(t, Image())
	if !im.hasHash || !im.hasGNUHash || !im.hasVersym || !im.hasDef {
		t.Fatalf("dynamic section lacks a table: %+v", im)
	}
	f, err := elf.NewFile(bytes.NewReader(Image()))
	if err != nil {
		t.Fatal(err)
	}
	syms, _ := f.DynamicSymbols()
	for _, s := range syms {
		a, ok1 := im.lookupHash(s.Name, "LINUX_2.6")
		b, ok2 := im.lookupGNUHash(s.Name, "LINUX_2.6")
		if !ok1 || !ok2 || a != s.Value || b != s.Value {
			t.Errorf("%s: DT_HASH %#x %v, DT_GNU_HASH %#x %v, want %#x", s.Name, a, ok1, b, ok2, s.Value)
		}
		if _, ok := im.lookupGNUHash(s.Name, "LINUX_2.5"); ok {
			t.Errorf("%s found with the wrong version", s.Name)
		}
	}
	for _, name := range []string{"__vdso_getrandom", "clock_settime", "x"} {
		if _, ok := im.lookupHash(name, "LINUX_2.6"); ok {
			t.Errorf("DT_HASH finds %s", name)
		}
		if _, ok := im.lookupGNUHash(name, "LINUX_2.6"); ok {
			t.Errorf("DT_GNU_HASH finds %s", name)
		}
	}
}

func TestUnwindTable(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(Image()))
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := f.Section(".eh_frame_hdr").Data()
	ehs := f.Section(".eh_frame")
	le := binary.LittleEndian
	hdrAddr := f.Section(".eh_frame_hdr").Addr
	if hdr[0] != 1 || uint64(int64(hdrAddr)+4+int64(int32(le.Uint32(hdr[4:])))) != ehs.Addr {
		t.Fatalf("eh_frame_hdr does not point at .eh_frame")
	}
	Image()
	n := int(le.Uint32(hdr[8:]))
	if n != len(imageFns) {
		t.Fatalf("%d FDEs for %d functions", n, len(imageFns))
	}
	eh, _ := ehs.Data()
	for i, fn := range imageFns {
		loc := uint64(int64(hdrAddr) + int64(int32(le.Uint32(hdr[12+8*i:]))))
		fde := uint64(int64(hdrAddr)+int64(int32(le.Uint32(hdr[16+8*i:])))) - ehs.Addr
		if loc != fn.off {
			t.Errorf("%s: table says %#x, function at %#x", fn.name, loc, fn.off)
		}
		// The FDE's pc_begin is PC-relative, at FDE+8.
		begin := uint64(int64(ehs.Addr+fde+8) + int64(int32(le.Uint32(eh[fde+8:]))))
		if begin != fn.off || uint64(le.Uint32(eh[fde+12:])) != fn.size {
			t.Errorf("%s: FDE covers %#x+%d, function is %#x+%d", fn.name, begin, le.Uint32(eh[fde+12:]), fn.off, fn.size)
		}
	}
	if readelf, err := exec.LookPath("readelf"); err == nil {
		path := filepath.Join(t.TempDir(), "vdso.so")
		if err := os.WriteFile(path, Image(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(readelf, "--debug-dump=frames", path).CombinedOutput()
		if err != nil || strings.Count(string(out), "FDE cie=00000000") != len(imageFns) || strings.Contains(string(out), "rror") {
			t.Errorf("readelf --debug-dump=frames: %v\n%s", err, out)
		}
	}
}

// TestTrampolines runs the image's code natively (testdata/exercise.c):
// forwarding to the data page's functions, and the system call fallback.
func TestTrampolines(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "exercise")
	if out, err := exec.Command(gcc, "-static", "-O1", "-Wall", "-o", bin, "testdata/exercise.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "vdso.so")
	if err := os.WriteFile(path, Image(), 0o644); err != nil {
		t.Fatal(err)
	}
	off := map[string]uint64{}
	for _, fn := range imageFns {
		off[fn.name] = fn.off
	}
	args := []string{path, ""}
	for _, v := range []uint64{
		off["__vdso_clock_gettime"], off["__vdso_gettimeofday"], off["__vdso_time"], off["__vdso_getcpu"], off["__vdso_clock_getres"],
		dataClockGettime, dataGettimeofday, dataTime, dataClockGetres, dataCPU, dataNode, ImageSize,
	} {
		args = append(args, fmt.Sprint(v))
	}
	for _, mode := range []string{"forward", "syscall"} {
		args[1] = mode
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil || string(out) != "ok\n" {
			t.Errorf("%s: %v\n%s", mode, err, out)
		}
	}
}
