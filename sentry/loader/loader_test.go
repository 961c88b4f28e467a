package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// makeELF builds an ELF64 x86-64 file of size bytes with phs at offset 64,
// the rest filled with 0xAA so unzeroed bytes show.
func makeELF(typ uint16, entry uint64, phs []progHeader, size int) []byte {
	b := bytes.Repeat([]byte{0xAA}, size)
	le := binary.LittleEndian
	copy(b, elfMagic)
	b[4], b[5], b[6] = elfClass64, elfData2LSB, 1
	clear(b[7:16])
	le.PutUint16(b[16:], typ)
	le.PutUint16(b[18:], emX86_64)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], entry)
	le.PutUint64(b[32:], ehdrSize)
	le.PutUint64(b[40:], 0)
	le.PutUint32(b[48:], 0)
	le.PutUint16(b[52:], ehdrSize)
	le.PutUint16(b[54:], phdrSize)
	le.PutUint16(b[56:], uint16(len(phs)))
	le.PutUint16(b[58:], 64)
	le.PutUint16(b[60:], 0)
	le.PutUint16(b[62:], 0)
	for i, ph := range phs {
		putPhdr(b, i, ph)
	}
	return b
}

func putPhdr(b []byte, i int, ph progHeader) {
	le := binary.LittleEndian
	p := b[ehdrSize+i*phdrSize:]
	le.PutUint32(p[0:], ph.typ)
	le.PutUint32(p[4:], ph.flags)
	le.PutUint64(p[8:], ph.off)
	le.PutUint64(p[16:], ph.vaddr)
	le.PutUint64(p[24:], ph.vaddr)
	le.PutUint64(p[32:], ph.filesz)
	le.PutUint64(p[40:], ph.memsz)
	le.PutUint64(p[48:], ph.align)
}

// basePhdrs describe a small static ET_EXEC: headers, code, and data whose
// last file page is followed by 0xAA garbage and more bss pages.
func basePhdrs() []progHeader {
	return []progHeader{
		{typ: ptLoad, flags: pfR, off: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x200, align: 0x1000},
		{typ: ptLoad, flags: pfR | pfX, off: 0x1000, vaddr: 0x401000, filesz: 0x100, memsz: 0x100, align: 0x1000},
		{typ: ptLoad, flags: pfR | pfW, off: 0x1100, vaddr: 0x403100, filesz: 0x50, memsz: 0x3000, align: 0x1000},
		{typ: ptGNUStack, flags: pfR | pfW},
	}
}

func baseELF() []byte {
	b := makeELF(etExec, 0x401000, basePhdrs(), 0x1200)
	copy(b[0x1000:0x1100], bytes.Repeat([]byte{0xCC}, 0x100))
	copy(b[0x1100:0x1150], bytes.Repeat([]byte{0x11}, 0x50))
	return b
}

func testArgs(file []byte) Args {
	a := Args{
		Filename: "/bin/prog",
		File:     &memFile{file},
		Argv:     []string{"prog", "a"},
		Envv:     []string{"X=1"},
		Opener:   &fakeOpener{host: true},
		HWCap:    0x178bfbff,
		HWCap2:   2,
		UID:      1000, EUID: 1001, GID: 1002, EGID: 1003,
	}
	for i := range a.Random {
		a.Random[i] = byte(0xF0 + i)
	}
	return a
}

func mustLoad(t *testing.T, mem *fakeMem, args Args) Result {
	t.Helper()
	res, err := Load(mem, args)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(mem.bugs) > 0 {
		t.Fatalf("loader made bad requests: %q", mem.bugs)
	}
	return res
}

// checkStack decodes the stack and checks what every load must satisfy.
func checkStack(t *testing.T, mem *fakeMem, args Args, res Result) *initialStack {
	t.Helper()
	if res.StackPointer%16 != 0 {
		t.Errorf("sp %#x not 16-byte aligned", res.StackPointer)
	}
	st, err := mem.decodeStack(res.StackPointer)
	if err != nil {
		t.Fatalf("decode stack: %v", err)
	}
	if st.argc != uint64(len(res.Argv)) || !reflect.DeepEqual(st.argv, res.Argv) {
		t.Errorf("argv = %d %q, want %q", st.argc, st.argv, res.Argv)
	}
	if !reflect.DeepEqual(st.envv, args.Envv) && !(len(st.envv) == 0 && len(args.Envv) == 0) {
		t.Errorf("envv = %q, want %q", st.envv, args.Envv)
	}
	if !reflect.DeepEqual(st.auxv, res.Auxv) {
		t.Errorf("auxv on stack %v != Result.Auxv %v", st.auxv, res.Auxv)
	}
	var keys []uint64
	for _, kv := range st.auxv {
		keys = append(keys, kv[0])
	}
	wantKeys := []uint64{AtMinSigStkSz, AtHWCap, AtPagesz, AtClkTck, AtPhdr, AtPhent, AtPhnum, AtBase,
		AtFlags, AtEntry, AtUID, AtEUID, AtGID, AtEGID, AtSecure, AtRandom, AtHWCap2, AtExecFn, AtPlatform}
	if args.VDSO != nil {
		wantKeys = append([]uint64{AtSysinfoEHdr}, wantKeys...)
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("auxv keys = %v, want %v", keys, wantKeys)
	}
	want := map[uint64]uint64{
		AtHWCap: args.HWCap, AtHWCap2: args.HWCap2, AtPagesz: 4096, AtClkTck: 100, AtPhent: 56,
		AtFlags: 0, AtUID: uint64(args.UID), AtEUID: uint64(args.EUID), AtGID: uint64(args.GID),
		AtEGID: uint64(args.EGID), AtSecure: boolToUint(args.Secure), AtMinSigStkSz: MinSigStackSize,
	}
	for k, v := range want {
		if got, _ := st.aux(k); got != v {
			t.Errorf("auxv[%d] = %#x, want %#x", k, got, v)
		}
	}
	rnd, _ := st.aux(AtRandom)
	if b, err := mem.read(rnd, 16); err != nil || !bytes.Equal(b, args.Random[:]) {
		t.Errorf("AT_RANDOM %#x -> %x %v, want %x", rnd, b, err, args.Random)
	}
	execfn, _ := st.aux(AtExecFn)
	if s, err := mem.cstring(execfn); err != nil || s != args.Filename {
		t.Errorf("AT_EXECFN -> %q %v, want %q", s, err, args.Filename)
	}
	plat, _ := st.aux(AtPlatform)
	if s, err := mem.cstring(plat); err != nil || s != "x86_64" {
		t.Errorf("AT_PLATFORM -> %q %v", s, err)
	}
	if plat <= rnd || rnd < st.auxvAddr+uint64(len(st.auxv)+1)*16 {
		t.Errorf("AT_RANDOM %#x, AT_PLATFORM %#x out of order (auxv at %#x)", rnd, plat, st.auxvAddr)
	}
	// String bounds.
	if len(st.argvPtrs) > 0 && (st.argvPtrs[0] != res.ArgvStart || res.ArgvEnd != res.EnvvStart) {
		t.Errorf("argv bounds [%#x,%#x) vs ptr %#x", res.ArgvStart, res.ArgvEnd, st.argvPtrs[0])
	}
	if len(st.envvPtrs) > 0 && st.envvPtrs[0] != res.EnvvStart {
		t.Errorf("envv start %#x vs ptr %#x", res.EnvvStart, st.envvPtrs[0])
	}
	if res.EnvvEnd != execfn {
		t.Errorf("envv end %#x, execfn %#x", res.EnvvEnd, execfn)
	}
	if b, err := mem.read(res.ArgvStart, res.ArgvEnd-res.ArgvStart); err != nil ||
		string(b) != strings.Join(res.Argv, "\x00")+"\x00" {
		t.Errorf("argv area %q %v", b, err)
	}
	// The stack mapping.
	var stack *vma
	for i := range mem.vmas {
		if mem.vmas[i].opts.Name == "[stack]" {
			stack = &mem.vmas[i]
		}
	}
	if stack == nil || !stack.opts.GrowsDown || !stack.opts.Private || stack.opts.File != nil ||
		stack.end != mem.max-arch.PageRoundDown(args.StackRandom) || stack.start > res.StackPointer-StackExpand {
		t.Errorf("stack mapping %+v", stack)
	}
	if top, _ := mem.u64(stack.end - 8); top != 0 {
		t.Errorf("top of stack %#x, want 0", top)
	}
	return st
}

// checkImage checks that every PT_LOAD of file is mapped at bias with its
// contents, zeroed bss and permissions, and returns the ELF.
func checkImage(t *testing.T, mem *fakeMem, file []byte, bias uint64) *elf.File {
	t.Helper()
	ef, err := elf.NewFile(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	for _, p := range ef.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		addr := p.Vaddr + bias
		got, err := mem.read(addr, p.Filesz)
		if err != nil || !bytes.Equal(got, file[p.Off:p.Off+p.Filesz]) {
			t.Errorf("segment at %#x: contents differ (%v)", addr, err)
		}
		bss, err := mem.read(addr+p.Filesz, p.Memsz-p.Filesz)
		if err != nil || bytes.Count(bss, []byte{0}) != len(bss) {
			t.Errorf("bss at %#x not zero (%v)", addr+p.Filesz, err)
		}
		if p.Flags&elf.PF_W != 0 && p.Memsz > p.Filesz {
			end := addr + p.Filesz
			tail, _ := mem.read(end, arch.PageSize-end&pageMask)
			if bytes.Count(tail, []byte{0}) != len(tail) {
				t.Errorf("tail of last file page at %#x not zeroed", end)
			}
		}
		var want platform.AccessType
		if p.Flags&elf.PF_R != 0 {
			want |= platform.Read
		}
		if p.Flags&elf.PF_W != 0 {
			want |= platform.Write
		}
		if p.Flags&elf.PF_X != 0 {
			want |= platform.Execute
		}
		for a := arch.PageRoundDown(addr); a < addr+p.Memsz; a += arch.PageSize {
			// Pages shared with a neighbour belong to the later one.
			if a < addr && a+arch.PageSize > addr {
				continue
			}
			v := mem.find(a)
			if v == nil || v.opts.Perms != want || !v.opts.Private || v.opts.MaxPerms != allPerms {
				t.Errorf("page %#x: %+v, want perms %v", a, v, want)
				break
			}
		}
	}
	return ef
}

// phdrsAt checks that AT_PHDR points at the file's program headers.
func checkPhdrs(t *testing.T, mem *fakeMem, st *initialStack, file []byte) {
	t.Helper()
	phoff := binary.LittleEndian.Uint64(file[32:])
	phnum := uint64(binary.LittleEndian.Uint16(file[56:]))
	phdr, _ := st.aux(AtPhdr)
	if n, _ := st.aux(AtPhnum); n != phnum {
		t.Errorf("AT_PHNUM %d, want %d", n, phnum)
	}
	got, err := mem.read(phdr, phnum*phdrSize)
	if err != nil || !bytes.Equal(got, file[phoff:phoff+phnum*phdrSize]) {
		t.Errorf("AT_PHDR %#x does not point at the program headers (%v)", phdr, err)
	}
}

func TestSyntheticStatic(t *testing.T) {
	file := baseELF()
	mem := newFakeMem()
	args := testArgs(file)
	res := mustLoad(t, mem, args)
	st := checkStack(t, mem, args, res)
	checkImage(t, mem, file, 0)
	checkPhdrs(t, mem, st, file)

	if res.Entry != 0x401000 || res.Interpreter != "" || res.Name != "prog" || res.ExePath != "/bin/prog" {
		t.Errorf("result %+v", res)
	}
	if v, _ := st.aux(AtEntry); v != 0x401000 {
		t.Errorf("AT_ENTRY %#x", v)
	}
	if v, _ := st.aux(AtBase); v != 0 {
		t.Errorf("AT_BASE %#x", v)
	}
	if mem.brk != 0x407000 || mem.brkN != 1 || res.BrkStart != mem.brk {
		t.Errorf("brk %#x (%d calls)", mem.brk, mem.brkN)
	}
	// The exact layout Linux produces (no randomisation).
	const top = testMaxAddr
	wantAddrs := map[string][2]uint64{
		"argv":  {res.ArgvStart, top - 8 - 10 - 4 - 2 - 5},
		"envv":  {res.EnvvStart, top - 8 - 10 - 4},
		"end":   {res.EnvvEnd, top - 8 - 10},
		"plat":  {res.Auxv[18][1], (top-8-10-4-2-5)&^15 - 7},
		"rand":  {res.Auxv[15][1], (top-8-10-4-2-5)&^15 - 7 - 16},
		"sp":    {res.StackPointer, ((top-8-10-4-2-5)&^15 - 7 - 16 - 20*16 - 6*8) &^ 15},
		"phdr":  {res.Auxv[4][1], 0x400040},
		"phnum": {res.Auxv[6][1], 4},
	}
	for name, v := range wantAddrs {
		if v[0] != v[1] {
			t.Errorf("%s = %#x, want %#x", name, v[0], v[1])
		}
	}
	// The data segment: file bytes, then zeros to the end of the page,
	// then anonymous pages.
	if b, _ := mem.read(0x403100, 0x60); !bytes.Equal(b, append(bytes.Repeat([]byte{0x11}, 0x50), make([]byte, 0x10)...)) {
		t.Errorf("data page %x", b)
	}
	if v := mem.find(0x406000); v == nil || v.opts.File != nil || v.end != 0x407000 {
		t.Errorf("bss mapping %+v", v)
	}
	// Between segments: reserved and inaccessible.
	if v := mem.find(0x402000); v == nil || v.opts.Perms != 0 {
		t.Errorf("gap %+v", v)
	}
	// The stack is mapped before the image and is not executable.
	if len(mem.calls) == 0 || mem.calls[0].Name != "[stack]" || mem.calls[0].Perms != platform.Read|platform.Write {
		t.Errorf("first mapping %+v", mem.calls[0])
	}
}

func TestExecStack(t *testing.T) {
	phs := basePhdrs()
	phs[3].flags |= pfX
	file := makeELF(etExec, 0x401000, phs, 0x1200)
	mem := newFakeMem()
	mustLoad(t, mem, testArgs(file))
	if p := mem.calls[0].Perms; p != platform.Read|platform.Write|platform.Execute {
		t.Errorf("stack perms %v", p)
	}
	// No PT_GNU_STACK: not executable on x86-64.
	file = makeELF(etExec, 0x401000, phs[:3], 0x1200)
	mem = newFakeMem()
	mustLoad(t, mem, testArgs(file))
	if p := mem.calls[0].Perms; p != platform.Read|platform.Write {
		t.Errorf("stack perms %v", p)
	}
}

func TestStackRandomAndEmptyArgv(t *testing.T) {
	mem := newFakeMem()
	args := testArgs(baseELF())
	args.StackRandom = 0x123000
	args.Argv = nil
	args.Envv = nil
	args.Secure = true
	args.Filename = "/a/very-long-program-name-indeed"
	res := mustLoad(t, mem, args)
	if !reflect.DeepEqual(res.Argv, []string{""}) {
		t.Errorf("argv %q", res.Argv)
	}
	checkStack(t, mem, args, res)
	if res.Name != "very-long-progr" {
		t.Errorf("name %q", res.Name)
	}
	if res.StackPointer > testMaxAddr-0x123000 || res.StackPointer < testMaxAddr-0x124000 {
		t.Errorf("sp %#x", res.StackPointer)
	}
}

func TestHostLs(t *testing.T) {
	file, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Skipf("no /bin/ls: %v", err)
	}
	ef, err := elf.NewFile(bytes.NewReader(file))
	if err != nil || ef.Type != elf.ET_DYN {
		t.Skipf("/bin/ls is not a PIE here")
	}
	interpPath := ""
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			b, _ := io.ReadAll(p.Open())
			interpPath = strings.TrimRight(string(b), "\x00")
		}
	}
	interpFile, err := os.ReadFile(interpPath)
	if err != nil {
		t.Skipf("interpreter %q: %v", interpPath, err)
	}

	mem := newFakeMem()
	args := testArgs(file)
	args.Filename = "/bin/ls"
	args.Argv = []string{"ls", "-l", "/"}
	args.Envv = []string{"PATH=/bin", "HOME=/", ""}
	opener := &fakeOpener{host: true}
	args.Opener = opener
	res := mustLoad(t, mem, args)
	st := checkStack(t, mem, args, res)

	const bias = 0x555555554000
	if res.Interpreter != interpPath || !reflect.DeepEqual(opener.opened, []string{interpPath}) {
		t.Errorf("interpreter %q, opened %q", res.Interpreter, opener.opened)
	}
	checkImage(t, mem, file, bias)
	checkPhdrs(t, mem, st, file)
	if v, _ := st.aux(AtEntry); v != bias+ef.Entry {
		t.Errorf("AT_ENTRY %#x, want %#x", v, bias+ef.Entry)
	}
	base, _ := st.aux(AtBase)
	if base == 0 || base&pageMask != 0 {
		t.Fatalf("AT_BASE %#x", base)
	}
	ief := checkImage(t, mem, interpFile, base)
	if res.Entry != base+ief.Entry {
		t.Errorf("entry %#x, want %#x", res.Entry, base+ief.Entry)
	}
	if magic, _ := mem.read(base, 4); string(magic) != elfMagic {
		t.Errorf("no ELF header at AT_BASE")
	}
	// The interpreter was reserved in one piece where mem chose, then
	// filled in with fixed mappings inside the reservation.
	var idx int
	for idx = range mem.calls {
		if !mem.calls[idx].Fixed {
			break
		}
	}
	r := mem.calls[idx]
	if r.Perms != 0 || r.File != nil || !r.Private {
		t.Errorf("interpreter reservation %+v", r)
	}
	for _, c := range mem.calls[idx+1:] {
		if !c.Fixed || c.NoReplace || c.Addr < base || c.Addr+c.Length > base+r.Length {
			t.Errorf("interpreter mapping %+v outside [%#x,%#x)", c, base, base+r.Length)
		}
	}
	var end uint64
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			end = max(end, p.Vaddr+p.Memsz)
		}
	}
	if want, _ := arch.PageRoundUp(bias + end); mem.brk != want {
		t.Errorf("brk %#x, want %#x", mem.brk, want)
	}
}

func TestHostScript(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	script := []byte("#!/bin/sh -e\necho hi\n")
	mem := newFakeMem()
	args := testArgs(script)
	args.Filename = "/tmp/x.sh"
	args.Argv = []string{"x.sh", "one", "two"}
	res := mustLoad(t, mem, args)
	checkStack(t, mem, args, res)
	want := []string{"/bin/sh", "-e", "/tmp/x.sh", "one", "two"}
	if !reflect.DeepEqual(res.Argv, want) {
		t.Errorf("argv %q, want %q", res.Argv, want)
	}
	if res.ExePath != "/bin/sh" || res.Name != "x.sh" {
		t.Errorf("exe %q name %q", res.ExePath, res.Name)
	}
	sh, _ := os.ReadFile("/bin/sh")
	if ef, err := elf.NewFile(bytes.NewReader(sh)); err == nil && ef.Type == elf.ET_DYN {
		checkImage(t, mem, sh, 0x555555554000)
	}
}

// gccBinary compiles a trivial C program with flags, or skips without gcc.
func gccBinary(t *testing.T, flag string) []byte {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "t.c")
	out := filepath.Join(dir, "t")
	if err := os.WriteFile(src, []byte("int x[1000]; int y = 7;\nint main(void) { return x[3] + y; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(gcc, flag, "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", flag, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGCCStatic(t *testing.T) {
	file := gccBinary(t, "-static")
	mem := newFakeMem()
	args := testArgs(file)
	res := mustLoad(t, mem, args)
	st := checkStack(t, mem, args, res)
	ef := checkImage(t, mem, file, 0)
	checkPhdrs(t, mem, st, file)
	if ef.Type != elf.ET_EXEC || res.Entry != ef.Entry || res.Interpreter != "" {
		t.Errorf("type %v entry %#x (want %#x) interp %q", ef.Type, res.Entry, ef.Entry, res.Interpreter)
	}
	if v, _ := st.aux(AtBase); v != 0 {
		t.Errorf("AT_BASE %#x", v)
	}
}

func TestGCCStaticPIE(t *testing.T) {
	file := gccBinary(t, "-static-pie")
	mem := newFakeMem()
	args := testArgs(file)
	res := mustLoad(t, mem, args)
	st := checkStack(t, mem, args, res)
	const bias = 0x555555554000
	ef := checkImage(t, mem, file, bias)
	checkPhdrs(t, mem, st, file)
	if ef.Type != elf.ET_DYN || res.Entry != bias+ef.Entry || res.Interpreter != "" {
		t.Errorf("type %v entry %#x (want %#x) interp %q", ef.Type, res.Entry, bias+ef.Entry, res.Interpreter)
	}
	if v, _ := st.aux(AtEntry); v != res.Entry {
		t.Errorf("AT_ENTRY %#x", v)
	}
	if v, _ := st.aux(AtBase); v != 0 {
		t.Errorf("AT_BASE %#x", v)
	}

	// MMapRandom moves the image.
	mem = newFakeMem()
	args.MMapRandom = 0x7000
	res = mustLoad(t, mem, args)
	checkImage(t, mem, file, bias+0x7000)
	if res.Entry != bias+0x7000+ef.Entry {
		t.Errorf("randomised entry %#x", res.Entry)
	}
}

func TestParseScript(t *testing.T) {
	long := "#!/" + strings.Repeat("x", 300)
	for _, tc := range []struct {
		in, name, arg string
		err           error
	}{
		{"#!/bin/sh\n", "/bin/sh", "", nil},
		{"#!/bin/sh", "/bin/sh", "", nil},
		{"#! \t/bin/sh \t\n", "/bin/sh", "", nil},
		{"#!/bin/sh -e\nfoo", "/bin/sh", "-e", nil},
		{"#!/usr/bin/env  python3 -u  \t\r\n", "/usr/bin/env", "python3 -u  \t\r", nil},
		{"#!/bin/sh\t-x -y\n", "/bin/sh", "-x -y", nil},
		{"#!/bin/s\x00h -x\n", "/bin/s", "", nil},
		{"#!/bin/sh \x00x\n", "/bin/sh", "<empty>", nil},
		{"#!/bin/sh -a\x00b\n", "/bin/sh", "-a", nil},
		{"#!\n", "", "", unix.ENOEXEC},
		{"#!   \n", "", "", unix.ENOEXEC},
		// Linux passes an empty name on to open_exec.
		{"#!", "", "", nil},
		{"#!\x00/bin/sh\n", "", "", nil},
		{"#", "", "", unix.ENOEXEC},
		{"", "", "", unix.ENOEXEC},
		{"!#/bin/sh\n", "", "", unix.ENOEXEC},
		{"#!" + strings.Repeat(" ", 300), "", "", unix.ENOEXEC},
		{long, "", "", unix.ENOEXEC}, // path cut off
		{"#!/bin/sh " + strings.Repeat("a", 300), "/bin/sh", strings.Repeat("a", 245), nil}, // arg cut off
	} {
		name, argp, err := parseScript([]byte(tc.in))
		arg := "<none>"
		if argp != nil {
			arg = *argp
		}
		switch tc.arg {
		case "":
			tc.arg = "<none>"
		case "<empty>":
			tc.arg = ""
		}
		if name != tc.name || arg != tc.arg || !errors.Is(err, tc.err) && !(err == nil && tc.err == nil) {
			t.Errorf("parseScript(%q) = %q, %q, %v; want %q, %q, %v", tc.in, name, arg, err, tc.name, tc.arg, tc.err)
		}
	}
}

func TestNestedScripts(t *testing.T) {
	elfFile := baseELF()
	files := map[string][]byte{"/bin/real": elfFile}
	prev := "/bin/real"
	for i := 0; i <= 6; i++ {
		name := "/s" + string(rune('0'+i))
		files[name] = []byte("#!" + prev + "\n")
		prev = name
	}
	for i := 0; i <= 6; i++ {
		mem := newFakeMem()
		args := testArgs(files["/s0"])
		name := "/s" + string(rune('0'+i))
		args.Filename = name
		args.File = &memFile{files[name]}
		args.Opener = &fakeOpener{files: files}
		args.Argv = []string{"arg0", "x"}
		res, err := Load(mem, args)
		// Linux runs five nested scripts and refuses a sixth.
		if i <= 4 {
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			want := []string{"/bin/real"}
			for j := 0; j <= i; j++ {
				want = append(want, "/s"+string(rune('0'+j)))
			}
			want[len(want)-1] = name
			want = append(want, "x")
			if !reflect.DeepEqual(res.Argv, want) || res.ExePath != "/bin/real" {
				t.Errorf("%s: argv %q, want %q; exe %q", name, res.Argv, want, res.ExePath)
			}
			checkStack(t, mem, args, res)
		} else if err != unix.ELOOP {
			t.Errorf("%s: err %v, want ELOOP", name, err)
		} else if len(mem.calls) != 0 {
			t.Errorf("%s: mapped something before failing", name)
		}
	}
}

func TestScriptErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		files  map[string][]byte
		want   error
	}{
		{"missing interpreter", "#!/nope\n", nil, unix.ENOENT},
		{"not executable format", "#!/data\n", map[string][]byte{"/data": []byte("hello")}, unix.ENOEXEC},
		{"self loop", "#!/self\n", map[string][]byte{"/self": []byte("#!/self\n")}, unix.ELOOP},
	} {
		mem := newFakeMem()
		args := testArgs([]byte(tc.script))
		args.Opener = &fakeOpener{files: tc.files}
		if _, err := Load(mem, args); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestArgLimits(t *testing.T) {
	big := strings.Repeat("a", MaxArgStrLen-1)
	for _, tc := range []struct {
		name       string
		argv, envv []string
		want       error
	}{
		{"longest string", []string{big}, nil, nil},
		{"string too long", []string{big + "a"}, nil, unix.E2BIG},
		{"env string too long", []string{"x"}, []string{big + "a"}, unix.E2BIG},
		{"total too big", []string{"x"}, slicesRepeat(big, 16), unix.E2BIG},
		{"total fits", []string{"x"}, slicesRepeat(big, 15), nil},
		{"too many pointers", make([]string, ArgBudget/8), nil, unix.E2BIG},
	} {
		mem := newFakeMem()
		args := testArgs(baseELF())
		args.Argv, args.Envv = tc.argv, tc.envv
		res, err := Load(mem, args)
		if err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if err == nil {
			checkStack(t, mem, args, res)
		}
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestBadELF(t *testing.T) {
	le := binary.LittleEndian
	mutate := func(f func(b []byte) []byte) []byte { return f(baseELF()) }
	withPhdrs := func(f func(phs []progHeader)) []byte {
		phs := basePhdrs()
		f(phs)
		b := baseELF()
		for i, ph := range phs {
			putPhdr(b, i, ph)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, unix.ENOEXEC},
		{"text", []byte("hello world\n"), unix.ENOEXEC},
		{"magic only", []byte(elfMagic), unix.ENOEXEC},
		{"truncated header", mutate(func(b []byte) []byte { return b[:40] }), unix.ENOEXEC},
		{"truncated phdrs", mutate(func(b []byte) []byte { return b[:100] }), unix.ENOEXEC},
		{"class 32", mutate(func(b []byte) []byte { b[4] = 1; return b }), unix.ENOEXEC},
		{"big endian", mutate(func(b []byte) []byte { b[5] = 2; return b }), unix.ENOEXEC},
		{"machine i386", mutate(func(b []byte) []byte { le.PutUint16(b[18:], 3); return b }), unix.ENOEXEC},
		{"ET_REL", mutate(func(b []byte) []byte { le.PutUint16(b[16:], 1); return b }), unix.ENOEXEC},
		{"ET_CORE", mutate(func(b []byte) []byte { le.PutUint16(b[16:], 4); return b }), unix.ENOEXEC},
		{"phentsize", mutate(func(b []byte) []byte { le.PutUint16(b[54:], 32); return b }), unix.ENOEXEC},
		{"phnum 0", mutate(func(b []byte) []byte { le.PutUint16(b[56:], 0); return b }), unix.ENOEXEC},
		{"phnum huge", mutate(func(b []byte) []byte { le.PutUint16(b[56:], 0xffff); return b }), unix.ENOEXEC},
		{"phoff past EOF", mutate(func(b []byte) []byte { le.PutUint64(b[32:], 0x100000); return b }), unix.ENOEXEC},
		{"phoff overflow", mutate(func(b []byte) []byte { le.PutUint64(b[32:], ^uint64(0)-10); return b }), unix.ENOEXEC},
		{"no PT_LOAD", withPhdrs(func(p []progHeader) {
			for i := range p {
				p[i].typ = 4
			}
		}), unix.ENOEXEC},
		{"filesz > memsz", withPhdrs(func(p []progHeader) { p[1].memsz = 0x10 }), unix.ENOEXEC},
		{"offset not congruent", withPhdrs(func(p []progHeader) { p[1].off = 0x1010 }), unix.ENOEXEC},
		{"file range past EOF", withPhdrs(func(p []progHeader) { p[2].filesz = 0x1000 }), unix.ENOEXEC},
		{"offset overflow", withPhdrs(func(p []progHeader) { p[1].off = ^uint64(0) &^ pageMask }), unix.ENOEXEC},
		{"vaddr overflow", withPhdrs(func(p []progHeader) { p[2].memsz = ^uint64(0) - 0x1000 }), unix.ENOEXEC},
		{"page round overflow", withPhdrs(func(p []progHeader) {
			p[2].vaddr = ^uint64(0) - 0x1fff
			p[2].off = 0x1
			p[2].memsz = 0x1ffe
			p[2].filesz = 0
		}), unix.ENOEXEC},
		{"overlapping", withPhdrs(func(p []progHeader) { p[1].vaddr, p[1].off = 0x400000, 0 }), unix.ENOEXEC},
		{"unsorted", withPhdrs(func(p []progHeader) { p[0], p[2] = p[2], p[0] }), unix.ENOEXEC},
		{"beyond user space", withPhdrs(func(p []progHeader) { p[2].vaddr = 0x800000000100 }), unix.ENOEXEC},
		{"entry beyond user space", mutate(func(b []byte) []byte { le.PutUint64(b[24:], 1<<63); return b }), unix.ENOEXEC},
		{"interp not NUL-terminated", withPhdrs(func(p []progHeader) {
			p[3] = progHeader{typ: ptInterp, off: 0x1000, filesz: 8}
		}), unix.ENOEXEC},
		{"interp too long", withPhdrs(func(p []progHeader) {
			p[3] = progHeader{typ: ptInterp, off: 0, filesz: PathMax + 1}
		}), unix.ENOEXEC},
		{"interp past EOF", withPhdrs(func(p []progHeader) {
			p[3] = progHeader{typ: ptInterp, off: 0x11f0, filesz: 0x20}
		}), unix.ENOEXEC},
	} {
		mem := newFakeMem()
		args := testArgs(tc.file)
		args.Opener = &fakeOpener{}
		_, err := Load(mem, args)
		if err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if len(mem.calls) != 0 || len(mem.bugs) != 0 {
			t.Errorf("%s: mapped %d things before failing (bugs %q)", tc.name, len(mem.calls), mem.bugs)
		}
	}
}

// interpELF returns an executable with PT_INTERP path and a small ET_DYN
// interpreter.
func interpELF(path string) (exe, interp []byte) {
	phs := basePhdrs()
	phs = append(phs, progHeader{typ: ptInterp, off: 0x180, filesz: uint64(len(path) + 1), memsz: uint64(len(path) + 1), vaddr: 0x400180})
	exe = makeELF(etExec, 0x401000, phs, 0x1200)
	copy(exe[0x180:], path+"\x00")
	interp = makeELF(etDyn, 0x1010, []progHeader{
		{typ: ptLoad, flags: pfR | pfX, off: 0, vaddr: 0, filesz: 0x1100, memsz: 0x1100, align: 0x1000},
		{typ: ptLoad, flags: pfR | pfW, off: 0x1100, vaddr: 0x3100, filesz: 0x80, memsz: 0x2000, align: 0x1000},
	}, 0x1180)
	return exe, interp
}

func TestInterpreter(t *testing.T) {
	exe, interp := interpELF("/lib/ld.so")
	mem := newFakeMem()
	args := testArgs(exe)
	args.Opener = &fakeOpener{files: map[string][]byte{"/lib/ld.so": interp}}
	res := mustLoad(t, mem, args)
	st := checkStack(t, mem, args, res)
	base, _ := st.aux(AtBase)
	checkImage(t, mem, interp, base)
	checkImage(t, mem, exe, 0)
	if res.Entry != base+0x1010 || base != 0x7ffff7fff000-0x6000 {
		t.Errorf("entry %#x base %#x", res.Entry, base)
	}
	if v, _ := st.aux(AtEntry); v != 0x401000 {
		t.Errorf("AT_ENTRY %#x", v)
	}
	if mem.brk != 0x407000 {
		t.Errorf("brk %#x follows the interpreter?", mem.brk)
	}
	// The gap inside the interpreter stays reserved.
	if v := mem.find(base + 0x2000); v == nil || v.opts.Perms != 0 {
		t.Errorf("interpreter gap %+v", v)
	}
	// Every segment is mapped ahead; only the program's own are the
	// program's (mm copies their writable pages).
	for _, c := range mem.ahead {
		inInterp := c.start >= base && c.end <= base+0x6000
		if c.program == inInterp {
			t.Errorf("MapProgramAhead(%#x, %#x, program %v), interpreter at %#x", c.start, c.end, c.program, base)
		}
	}
	if n := len(mem.ahead); n != 2+3 { // the PT_LOADs of both
		t.Errorf("%d segments mapped ahead: %+v", n, mem.ahead)
	}

	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  error
	}{
		{"missing", nil, unix.ENOENT},
		{"not ELF", map[string][]byte{"/lib/ld.so": []byte("#!/bin/sh\n")}, unix.ELIBBAD},
		{"wrong machine", map[string][]byte{"/lib/ld.so": func() []byte {
			b := bytes.Clone(interp)
			binary.LittleEndian.PutUint16(b[18:], 183)
			return b
		}()}, unix.ELIBBAD},
		{"bad phdrs", map[string][]byte{"/lib/ld.so": func() []byte {
			b := bytes.Clone(interp)
			binary.LittleEndian.PutUint16(b[56:], 0)
			return b
		}()}, unix.ENOEXEC},
	} {
		mem := newFakeMem()
		args := testArgs(exe)
		args.Opener = &fakeOpener{files: tc.files}
		if _, err := Load(mem, args); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if len(mem.calls) != 0 {
			t.Errorf("%s: mapped before failing", tc.name)
		}
	}
}

func TestMemoryErrors(t *testing.T) {
	exe, interp := interpELF("/lib/ld.so")
	for n := 1; ; n++ {
		mem := newFakeMem()
		mem.failMMap = n
		args := testArgs(exe)
		args.Opener = &fakeOpener{files: map[string][]byte{"/lib/ld.so": interp}}
		_, err := Load(mem, args)
		if len(mem.calls) < n {
			if err != nil {
				t.Errorf("no failure injected, got %v", err)
			}
			break
		}
		if err != unix.ENOMEM {
			t.Errorf("MMap %d failing: %v", n, err)
		}
	}
	mem := newFakeMem()
	mem.failCopyOut = true
	if _, err := Load(mem, testArgs(baseELF())); err != unix.EFAULT {
		t.Errorf("CopyOut failing: %v", err)
	}
	// An occupied stack range.
	mem = newFakeMem()
	mem.MMap(mmOpts(testMaxAddr-0x1000, 0x1000))
	mem.calls = nil
	if _, err := Load(mem, testArgs(baseELF())); err != unix.EEXIST {
		t.Errorf("occupied stack: %v", err)
	}
}

// TestMutations loads randomly corrupted executables: nothing may panic,
// and whatever loads must produce a sane stack.
func TestMutations(t *testing.T) {
	exe, interp := interpELF("/i")
	seeds := [][]byte{baseELF(), exe, interp}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		b := bytes.Clone(seeds[i%len(seeds)])
		for k := 1 + r.Intn(4); k > 0; k-- {
			switch off := r.Intn(ehdrSize + 4*phdrSize); r.Intn(3) {
			case 0:
				b[off] = byte(r.Intn(256))
			case 1:
				b[off] ^= 1 << r.Intn(8)
			default:
				if off+8 <= len(b) {
					binary.LittleEndian.PutUint64(b[off:], []uint64{0, ^uint64(0), 1 << 63, 0x1000, 0xfff}[r.Intn(5)])
				}
			}
		}
		loadAnything(t, b)
	}
}

func loadAnything(t *testing.T, b []byte) {
	t.Helper()
	_, interp := interpELF("/i")
	mem := newFakeMem()
	args := testArgs(b)
	args.Opener = &fakeOpener{files: map[string][]byte{"/i": interp, "/self": b}}
	res, err := Load(mem, args)
	if len(mem.bugs) > 0 {
		t.Fatalf("bad requests for %x: %q", b[:min(len(b), 300)], mem.bugs)
	}
	if err != nil {
		if _, ok := err.(unix.Errno); !ok {
			t.Fatalf("error %v is not an Errno", err)
		}
		return
	}
	if res.StackPointer%16 != 0 {
		t.Fatalf("sp %#x", res.StackPointer)
	}
	if _, err := mem.decodeStack(res.StackPointer); err != nil {
		t.Fatalf("stack: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	exe, interp := interpELF("/i")
	f.Add(baseELF())
	f.Add(exe)
	f.Add(interp)
	f.Add([]byte("#!/self\n"))
	f.Add([]byte("#!/i -x\n"))
	f.Add([]byte(elfMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		loadAnything(t, b)
	})
}

func mmOpts(addr, length uint64) mm.MMapOpts {
	return mm.MMapOpts{Addr: addr, Length: length, Fixed: true, Perms: platform.Read, MaxPerms: allPerms, Private: true}
}
