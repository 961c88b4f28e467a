package proc

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/loader"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// nopAS is a platform address space that maps nothing: the memory
// manager's own view is all these tests read.
type nopAS struct{}

func (nopAS) MapFile(uint64, memfile.Range, platform.AccessType) error { return nil }
func (nopAS) Unmap(uint64, uint64)                                     {}
func (nopAS) Release()                                                 {}

// memFile is an in-memory executable.
type memFile struct{ b []byte }

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(f.b)) {
		return 0, nil
	}
	return copy(p, f.b[off:]), nil
}
func (f *memFile) Size() (int64, error) { return int64(len(f.b)), nil }

// staticELF returns a minimal static x86-64 executable: one read+exec
// PT_LOAD of its first page at 0x400000.
func staticELF() []byte {
	b := make([]byte, 0x1000)
	le := binary.LittleEndian
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], 0x400078) // entry
	le.PutUint64(b[32:], 64)       // phoff
	le.PutUint16(b[52:], 64)       // ehsize
	le.PutUint16(b[54:], 56)       // phentsize
	le.PutUint16(b[56:], 1)        // phnum
	ph := b[64:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // PF_R|PF_X
	le.PutUint64(ph[16:], 0x400000)
	le.PutUint64(ph[24:], 0x400000)
	le.PutUint64(ph[32:], 0x1000)
	le.PutUint64(ph[40:], 0x1000)
	le.PutUint64(ph[48:], 0x1000)
	copy(b[0x78:], bytes.Repeat([]byte{0xCC}, 16))
	return b
}

// load execs a static program with argv and envv into a fresh memory
// manager.
func load(t *testing.T, argv, envv []string) (*mm.MemoryManager, loader.Result) {
	t.Helper()
	mf, err := memfile.New("proc-test", 64<<20)
	if err != nil {
		t.Skipf("memory file: %v", err)
	}
	t.Cleanup(func() { mf.Close() })
	m := mm.New(mf, nopAS{}, 0x7ffffffff000)
	res, err := loader.Load(m, loader.Args{
		Filename: "/bin/prog", File: &memFile{staticELF()},
		Argv: argv, Envv: envv, PageSize: 4096, StackRandom: 0x5000,
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m, res
}

func stackTop(m *mm.MemoryManager) uint64 {
	var top uint64
	for _, v := range m.VMAs(false) {
		if v.Name == "[stack]" {
			top = max(top, v.End)
		}
	}
	return top
}

func wantExecInfo(res loader.Result, argc, envc int) ExecInfo {
	auxv := res.StackPointer + 8*uint64(argc+envc+3)
	return ExecInfo{
		ArgStart: res.ArgvStart, ArgEnd: res.ArgvEnd, EnvStart: res.EnvvStart, EnvEnd: res.EnvvEnd,
		AuxvStart: auxv, AuxvEnd: auxv + 16*uint64(len(res.Auxv)+1),
		StackStart: res.StackPointer,
	}
}

func TestDeriveExecInfo(t *testing.T) {
	for _, tc := range []struct {
		name       string
		argv, envv []string
	}{
		{"plain", []string{"prog", "-v", "a b"}, []string{"HOME=/root", "X=1"}},
		{"empty strings", []string{"", "", "x", ""}, []string{"", "A=", ""}},
		{"no env", []string{"prog"}, nil},
		{"empty argv", nil, []string{"K=V"}},
		{"many", strings.Fields(strings.Repeat("arg ", 3000)), strings.Fields(strings.Repeat("E=value ", 2000))},
		{"long", []string{strings.Repeat("a", 100000)}, []string{"B=" + strings.Repeat("b", 20000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, res := load(t, tc.argv, tc.envv)
			argc := max(len(tc.argv), 1) // an empty argv becomes {""}
			want := wantExecInfo(res, argc, len(tc.envv))
			got, ok := DeriveExecInfo(stackTop(m), m.Peek)
			if !ok || got != want {
				t.Fatalf("DeriveExecInfo = %+v, %v\nwant %+v", got, ok, want)
			}
			args := strings.Join(tc.argv, "\x00") + "\x00"
			if tc.argv == nil {
				args = "\x00"
			}
			if c, err := cmdline(got, m.Peek); err != nil || string(c) != args {
				t.Errorf("cmdline = %.80q, %v, want %.80q", c, err, args)
			}
			if env := readRange(got.EnvStart, got.EnvEnd, m.Peek); len(tc.envv) > 0 && string(env) != strings.Join(tc.envv, "\x00")+"\x00" {
				t.Errorf("environ = %.80q", env)
			}
			auxv := readRange(got.AuxvStart, got.AuxvEnd, m.Peek)
			for i, kv := range append(res.Auxv, [2]uint64{}) {
				if k, v := binary.LittleEndian.Uint64(auxv[16*i:]), binary.LittleEndian.Uint64(auxv[16*i+8:]); k != kv[0] || v != kv[1] {
					t.Errorf("auxv[%d] = {%d, %#x}, want {%d, %#x}", i, k, v, kv[0], kv[1])
				}
			}
		})
	}
}

func TestDeriveExecInfoRewritten(t *testing.T) {
	argv, envv := []string{"", "prog", "x"}, []string{"A=1", "", "C=3"}
	m, res := load(t, argv, envv)
	want := wantExecInfo(res, len(argv), len(envv))
	top := stackTop(m)
	// A program that reorders argv (getopt) or points argv[0] and
	// envp[0] elsewhere: the counts and the strings still tell.
	junk := make([]byte, 8)
	binary.LittleEndian.PutUint64(junk, 0x1234567)
	if _, err := m.CopyOut(res.StackPointer+8, junk); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CopyOut(res.StackPointer+8*uint64(len(argv)+2), junk); err != nil {
		t.Fatal(err)
	}
	if got, ok := DeriveExecInfo(top, m.Peek); !ok || got != want {
		t.Errorf("DeriveExecInfo = %+v, %v\nwant %+v", got, ok, want)
	}

	// setproctitle(3): the argument area overwritten without a NUL at its
	// end; cmdline runs on into the environment up to a NUL.
	title := bytes.Repeat([]byte{'T'}, int(res.ArgvEnd-res.ArgvStart))
	if _, err := m.CopyOut(res.ArgvStart, title); err != nil {
		t.Fatal(err)
	}
	if got, _ := cmdline(want, m.Peek); string(got) != string(title)+"A=1\x00" {
		t.Errorf("cmdline after setproctitle = %q", got)
	}

	// Not a loader stack: nothing derived, no crash.
	if _, ok := DeriveExecInfo(top-4096, m.Peek); ok {
		t.Error("derived from the middle of the stack")
	}
	if _, ok := DeriveExecInfo(0x400000+4096, m.Peek); ok {
		t.Error("derived from program text")
	}
	if _, ok := DeriveExecInfo(1<<40, m.Peek); ok {
		t.Error("derived from unmapped memory")
	}
}

func TestMemoryIntrospection(t *testing.T) {
	m, res := load(t, []string{"prog"}, []string{"A=1"})
	vmas := m.VMAs(true)
	var text, stack *mm.VMAInfo
	for i := range vmas {
		switch {
		case vmas[i].Start == 0x400000:
			text = &vmas[i]
		case vmas[i].Name == "[stack]":
			stack = &vmas[i]
		}
	}
	if text == nil || stack == nil {
		t.Fatalf("VMAs = %+v", vmas)
	}
	// The loader maps the program's segments ahead (mm/exec_ahead.go):
	// the one page of text is resident.
	if text.File == nil || text.Perms != platform.Read|platform.Execute || !text.Private || text.Resident != 1 {
		t.Errorf("text VMA = %+v", *text)
	}
	if !stack.GrowsDown || stack.Resident == 0 || stack.PssBytes != stack.Resident*pageSize || stack.SharedResident != 0 {
		t.Errorf("stack VMA = %+v", *stack)
	}
	u := m.Usage()
	if u.ResidentPages != text.Resident+stack.Resident || u.VirtualBytes != (text.End-text.Start)+(stack.End-stack.Start) {
		t.Errorf("Usage = %+v", u)
	}

	// Peek reads file memory without populating it.
	buf := make([]byte, 16)
	if n, err := m.Peek(0x400078, buf); n != 16 || err != nil || !bytes.Equal(buf, bytes.Repeat([]byte{0xCC}, 16)) {
		t.Errorf("Peek text = %x, %d, %v", buf, n, err)
	}
	mapped, err := m.MMap(mm.MMapOpts{Length: pageSize, Perms: platform.Read, Private: true, File: &memFile{staticELF()}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m.Peek(mapped+0x78, buf); n != 16 || err != nil || !bytes.Equal(buf, bytes.Repeat([]byte{0xCC}, 16)) {
		t.Errorf("Peek of a file mapping never touched = %x, %d, %v", buf, n, err)
	}
	if after := m.Usage().ResidentPages; after != u.ResidentPages {
		t.Errorf("Peek populated %d pages", after-u.ResidentPages)
	}
	if err := m.Munmap(mapped, pageSize); err != nil {
		t.Fatal(err)
	}
	// Unpopulated anonymous memory reads as zeroes; reads stop at a hole.
	low := stack.Start
	if n, err := m.Peek(low, buf); n != 16 || err != nil || !bytes.Equal(buf, make([]byte, 16)) {
		t.Errorf("Peek unpopulated stack = %x, %d, %v", buf, n, err)
	}
	if n, err := m.Peek(text.End-8, buf); n != 8 || err != nil {
		t.Errorf("Peek across the end of text = %d, %v, want 8", n, err)
	}
	if _, err := m.Peek(text.End, buf); err != unix.EFAULT {
		t.Errorf("Peek of a hole: %v, want EFAULT", err)
	}
	// Peek ignores permissions, as FOLL_FORCE does.
	if err := m.Mprotect(0x400000, 4096, 0, false); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Peek(0x400078, buf); n != 16 || err != nil || buf[0] != 0xCC {
		t.Errorf("Peek of PROT_NONE = %x, %d, %v", buf, n, err)
	}

	// Used memory counts each page once, however many address spaces
	// map it.
	pages, shmem := mm.ResidentMemory([]*mm.MemoryManager{m})
	if pages != u.ResidentPages || shmem != 0 {
		t.Errorf("ResidentMemory = %d, %d, want %d, 0", pages, shmem, u.ResidentPages)
	}
	child := m.Fork(nopAS{})
	if p2, _ := mm.ResidentMemory([]*mm.MemoryManager{m, child}); p2 != pages {
		t.Errorf("ResidentMemory after fork = %d, want %d", p2, pages)
	}
	for _, v := range child.VMAs(true) {
		if v.Name == "[stack]" && (v.SharedResident != v.Resident || v.PssBytes != v.Resident*pageSize/2) {
			t.Errorf("forked stack = %+v: pages shared by two, Pss halved", v)
		}
	}
	// A shared anonymous mapping is Shmem; its object's pages count even
	// where no page table maps them.
	addr, err := m.MMap(mm.MMapOpts{Length: 2 * pageSize, Perms: platform.Read | platform.Write})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CopyOut(addr, make([]byte, 2*pageSize)); err != nil {
		t.Fatal(err)
	}
	if err := m.Madvise(addr, 2*pageSize, mm.MadvDontneed); err != nil {
		t.Fatal(err)
	}
	if p3, s3 := mm.ResidentMemory([]*mm.MemoryManager{m, child}); p3 != pages+2 || s3 != 2 {
		t.Errorf("ResidentMemory with shared memory = %d, %d, want %d, 2", p3, s3, pages+2)
	}
	_ = res
}
