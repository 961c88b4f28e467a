package mm_test

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// patcherAS is a fake address space that runs patched sites: its
// trampolines are a recognisable byte string holding the site's number.
type patcherAS struct {
	*fakeAS
	table uint64
}

func (as *patcherAS) SyscallTrampoline(addr, ret uint64, sysno uint32) []byte {
	code := []byte{0xcc, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(code[1:], sysno)
	return code
}

// SyscallTrampolineRAX writes 0xcd, the replaced instructions and 0xcd.
func (as *patcherAS) SyscallTrampolineRAX(addr, ret uint64, replaced []byte) []byte {
	return append(append([]byte{0xcd}, replaced...), 0xcd)
}

func (as *patcherAS) SetTrapTable(addr uint64) { as.table = addr }

func newPatchMM(t *testing.T) (*mm.MemoryManager, *patcherAS) {
	t.Helper()
	mf, err := memfile.New("mm-test", memfileSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	as := &patcherAS{fakeAS: newFakeAS(t)}
	return mm.New(mf, as, testMaxAddr), as
}

// site is `mov $39,%eax; syscall` at offset 0x100 of a code page.
var site = []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05}

// mapCode maps one private read+execute page at base holding code at 0x100.
func mapCode(t *testing.T, m *mm.MemoryManager, code []byte) uint64 {
	t.Helper()
	return mapCodeAt(t, m, base, code)
}

func read(t *testing.T, m *mm.MemoryManager, addr uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := m.Peek(addr, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPatchSyscall(t *testing.T) {
	m, as := newPatchMM(t)
	at := mapCode(t, m, site)
	if m.PatchSyscall(at+7, 39) {
		t.Fatal("patched a site on its first call")
	}
	if !m.PatchSyscall(at+7, 39) {
		t.Fatal("did not patch the mov-syscall site on its second call")
	}
	if as.table != mm.TrapTableAddr {
		t.Fatalf("trap table at %#x, want %#x", as.table, mm.TrapTableAddr)
	}
	got := read(t, m, at, 7)
	entry := uint64(binary.LittleEndian.Uint32(got[3:]))
	if !bytes.Equal(got[:3], []byte{0xff, 0x24, 0x25}) || got[5] != 0x06 || entry != mm.TrapTableAddr+mm.TrapEntrySize {
		t.Fatalf("site is % x, want jmp *%#x", got, mm.TrapTableAddr+mm.TrapEntrySize)
	}
	e := read(t, m, entry, 13)
	if binary.LittleEndian.Uint64(e) != entry+8 || !bytes.Equal(e[8:], []byte{0xcc, 39, 0, 0, 0}) {
		t.Fatalf("entry is % x", e)
	}
	// The table shows in the maps, read+execute.
	found := false
	for _, v := range m.VMAs(false) {
		if v.Start == mm.TrapTableAddr {
			found = v.Name == "[usertrap]" && v.Perms == r|x
		}
	}
	if !found {
		t.Fatal("no [usertrap] mapping")
	}

	// A restarted call rewinds onto the invalid byte: the task runs the
	// jump again; restart_syscall is made at once.
	regs := arch.Registers{Rip: at + 5, Rax: 39}
	if sys, ok := m.PatchedSiteFault(&regs); !ok || sys || regs.Rip != at {
		t.Fatalf("restart: syscall %v handled %v rip %#x", sys, ok, regs.Rip)
	}
	regs = arch.Registers{Rip: at + 5, Rax: 219}
	if sys, ok := m.PatchedSiteFault(&regs); !ok || !sys || regs.Rip != at+7 || regs.Orig_rax != 219 {
		t.Fatalf("restart_syscall: syscall %v handled %v rip %#x", sys, ok, regs.Rip)
	}
	// A thread that met the jump's first byte while it was being
	// written (it is invalid then) runs the jump.
	regs = arch.Registers{Rip: at, Rax: 39}
	if sys, ok := m.PatchedSiteFault(&regs); !ok || sys || regs.Rip != at {
		t.Fatalf("first byte: syscall %v handled %v rip %#x", sys, ok, regs.Rip)
	}
	// A SIGILL anywhere else is the task's.
	regs = arch.Registers{Rip: at + 0x40, Rax: 39}
	if _, ok := m.PatchedSiteFault(&regs); ok {
		t.Fatal("an unrelated SIGILL was taken for a patched site")
	}

	// A fork keeps the patched code and its table.
	child := m.Fork(&patcherAS{fakeAS: newFakeAS(t)})
	defer child.Release()
	if !bytes.Equal(read(t, child, at, 7), got) || child.AddressSpace().(*patcherAS).table != mm.TrapTableAddr {
		t.Fatal("the child lost the patch or its table")
	}

	// When the application maps over the table, the sites are put back.
	mustMMap(t, m, anon(mm.TrapTableAddr, 1, rw))
	if as.table != 0 {
		t.Fatal("the platform still has a table")
	}
	if b := read(t, m, at, 7); !bytes.Equal(b, site) {
		t.Fatalf("site after the table went is % x, want % x", b, site)
	}
	if m.PatchSyscall(at+7, 39) || m.PatchSyscall(at+7, 39) {
		t.Fatal("patched again without a table")
	}
}

func TestPatchSyscallRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte
		nr   uint64
		prep func(t *testing.T, m *mm.MemoryManager)
	}{
		{"other form", []byte{0x48, 0xc7, 0xc0, 39, 0, 0, 0, 0x0f, 0x05}, 39, nil},
		{"number differs", site, 60, nil},
		{"rt_sigreturn", []byte{0xb8, 15, 0, 0, 0, 0x0f, 0x05}, 15, nil},
		// Each run of these needs the FP state, which the fast path
		// does not carry.
		{"clone", []byte{0xb8, 56, 0, 0, 0, 0x0f, 0x05}, 56, nil},
		{"fork", []byte{0xb8, 57, 0, 0, 0, 0x0f, 0x05}, 57, nil},
		{"vfork", []byte{0xb8, 58, 0, 0, 0, 0x0f, 0x05}, 58, nil},
		{"execve", []byte{0xb8, 59, 0, 0, 0, 0x0f, 0x05}, 59, nil},
		{"clone3", []byte{0xb8, 0xb3, 1, 0, 0, 0x0f, 0x05}, 435, nil},
		{"execveat", []byte{0xb8, 0x42, 1, 0, 0, 0x0f, 0x05}, 322, nil},
		{"table place taken", site, 39, func(t *testing.T, m *mm.MemoryManager) {
			mustMMap(t, m, anon(mm.TrapTableAddr+0x8000, 1, rw))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newPatchMM(t)
			if tc.prep != nil {
				tc.prep(t, m)
			}
			at := mapCode(t, m, tc.code)
			ret := at + uint64(len(tc.code))
			if m.PatchSyscall(ret, tc.nr) || m.PatchSyscall(ret, tc.nr) {
				t.Fatal("patched")
			}
			if b := read(t, m, at, len(tc.code)); !bytes.Equal(b, tc.code) {
				t.Fatalf("code changed to % x", b)
			}
		})
	}
	// A shared mapping is never written.
	m, _ := newPatchMM(t)
	mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: pageSize, Perms: rw})
	if _, err := m.CopyOut(base, site); err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(base, pageSize, r|x, false); err != nil {
		t.Fatal(err)
	}
	if m.PatchSyscall(base+7, 39) || m.PatchSyscall(base+7, 39) {
		t.Fatal("patched a shared mapping")
	}
	// Without a patching platform nothing happens.
	plain, _, _ := newTestMM(t)
	mapCode(t, plain, site)
	if plain.PatchSyscall(base+0x107, 39) || plain.PatchSyscall(base+0x107, 39) {
		t.Fatal("patched on a platform that cannot run patches")
	}
	var _ platform.SyscallPatcher = (*patcherAS)(nil)
}

// goSite is Go's internal/runtime/syscall/linux.Syscall6 up to its
// `syscall`, and glibcSite glibc's syscall(3): the number is in RAX.
var (
	goSite    = []byte{0x49, 0x89, 0xf2, 0x48, 0x89, 0xfa, 0x48, 0x89, 0xce, 0x48, 0x89, 0xdf, 0x0f, 0x05}
	glibcSite = []byte{0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6, 0x48, 0x89, 0xca, 0x4d, 0x89, 0xc2, 0x4d, 0x89, 0xc8, 0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05}
	// glibcReadSite is glibc's read(2) on its way to `syscall` in a
	// process with threads.
	glibcReadSite = []byte{0x48, 0x8b, 0x74, 0x24, 0x10, 0x41, 0x89, 0xc0, 0x8b, 0x7c, 0x24, 0x08, 0x31, 0xc0, 0x0f, 0x05}
	// glibcOpenSite is glibc's own open, openat(AT_FDCWD, ...).
	glibcOpenSite = []byte{0x89, 0xf2, 0xb8, 0x01, 0x01, 0x00, 0x00, 0x48, 0x89, 0xfe, 0xbf, 0x9c, 0xff, 0xff, 0xff, 0x0f, 0x05}
)

func TestPatchSyscallRAXSites(t *testing.T) {
	for _, tc := range []struct {
		name     string
		code     []byte
		patchLen int
		// stops are where SIGILLs land: rerun the jump or make the
		// call there.
		rerun []int
		call  int
	}{
		{"go", goSite, 8, []int{3}, 6},
		{"glibc", glibcSite, 7, nil, 5},
		{"glibc-read", glibcReadSite, 8, []int{4}, 6},
		{"glibc-open", glibcOpenSite, 7, nil, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as := newPatchMM(t)
			code := append(append([]byte(nil), tc.code...), 0x90)
			at := mapCode(t, m, code)
			ret := at + uint64(len(tc.code))
			jumpAt := ret - uint64(tc.patchLen)
			// Any number: the jumpAt takes it from RAX.
			if m.PatchSyscall(ret, 0) || !m.PatchSyscall(ret, 1) {
				t.Fatal("the jumpAt was not patched on its second call")
			}
			if as.table != mm.TrapTableAddr {
				t.Fatalf("trap table at %#x", as.table)
			}
			got := read(t, m, jumpAt, tc.patchLen+1)
			slot := uint64(binary.LittleEndian.Uint32(got[3:]))
			if !bytes.Equal(got[:3], []byte{0xff, 0x24, 0x25}) || slot != mm.TrapTableAddr+0xd606 {
				t.Fatalf("jumpAt is % x, want jmp *%#x", got, mm.TrapTableAddr+0xd606)
			}
			// Only the jump was written; what follows is as it was.
			if !bytes.Equal(got[7:], code[len(code)-tc.patchLen+7-1:][:len(got)-7]) {
				t.Fatalf("bytes after the jump changed: % x", got)
			}
			target := binary.LittleEndian.Uint64(read(t, m, slot, 8))
			replaced := tc.code[len(tc.code)-tc.patchLen : len(tc.code)-2]
			want := append(append([]byte{0xcd}, replaced...), 0xcd)
			e := read(t, m, target-8, 8+len(want))
			if target%mm.TrapEntrySize != 8 || binary.LittleEndian.Uint64(e) != target || !bytes.Equal(e[8:], want) {
				t.Fatalf("slot points at %#x holding % x, want a trampoline of % x", target, e, want)
			}

			for _, at := range append([]int{0}, tc.rerun...) {
				regs := arch.Registers{Rip: jumpAt + uint64(at), Rax: 7}
				if sys, ok := m.PatchedSiteFault(&regs); !ok || sys || regs.Rip != jumpAt {
					t.Errorf("SIGILL at +%d: syscall %v handled %v rip %#x, want the jump again", at, sys, ok, regs.Rip)
				}
			}
			// A restarted call, or a thread that ran the old code to
			// `syscall`: the call is made with the number in RAX.
			regs := arch.Registers{Rip: jumpAt + uint64(tc.call), Rax: 7, Rcx: 0x1234}
			if sys, ok := m.PatchedSiteFault(&regs); !ok || !sys || regs.Rip != ret || regs.Orig_rax != 7 || regs.Rcx != 0x1234 {
				t.Errorf("SIGILL at +%d: syscall %v handled %v rip %#x orig_rax %d", tc.call, sys, ok, regs.Rip, regs.Orig_rax)
			}
			// Offsets that are stops of no form (the jump alone tells
			// what a SIGILL means, whatever the form).
			for _, at := range []int{1, 2} {
				if at == tc.call || slices.Contains(tc.rerun, at) {
					continue
				}
				regs := arch.Registers{Rip: jumpAt + uint64(at)}
				if _, ok := m.PatchedSiteFault(&regs); ok {
					t.Errorf("a SIGILL at +%d was taken for the jumpAt's", at)
				}
			}

			// A forked child recognises the jumpAt too.
			child := m.Fork(&patcherAS{fakeAS: newFakeAS(t)})
			defer child.Release()
			regs = arch.Registers{Rip: jumpAt + uint64(tc.call), Rax: 9}
			if sys, ok := child.PatchedSiteFault(&regs); !ok || !sys || regs.Orig_rax != 9 {
				t.Errorf("the child does not know the jumpAt: syscall %v handled %v", sys, ok)
			}

			// A jumpAt moved with its mapping is still recognised.
			moved, err := m.Mremap(base, pageSize, pageSize, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, base+8*pageSize)
			if err != nil {
				t.Fatal(err)
			}
			regs = arch.Registers{Rip: moved + (jumpAt - base) + uint64(tc.call), Rax: 11}
			if sys, ok := m.PatchedSiteFault(&regs); !ok || !sys || regs.Orig_rax != 11 || regs.Rip != moved+(ret-base) {
				t.Errorf("moved jumpAt: syscall %v handled %v rip %#x", sys, ok, regs.Rip)
			}
			if _, err := m.Mremap(moved, pageSize, pageSize, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, base); err != nil {
				t.Fatal(err)
			}

			// The next such jumpAt takes the block below; a fixed-
			// number jumpAt still takes the first entry.
			second := mapCodeAt(t, m, base+pageSize, code)
			m.PatchSyscall(second+uint64(len(tc.code)), 0)
			m.PatchSyscall(second+uint64(len(tc.code)), 0)
			got2 := read(t, m, second+uint64(len(tc.code)-tc.patchLen), 7)
			if s := uint64(binary.LittleEndian.Uint32(got2[3:])); s != mm.TrapTableAddr+0xd506 {
				t.Errorf("second jumpAt jumps through %#x, want %#x", s, mm.TrapTableAddr+0xd506)
			}
			fixed := mapCodeAt(t, m, base+2*pageSize, site)
			m.PatchSyscall(fixed+7, 39)
			m.PatchSyscall(fixed+7, 39)
			if e := uint64(binary.LittleEndian.Uint32(read(t, m, fixed+3, 4))); e != mm.TrapTableAddr+mm.TrapEntrySize {
				t.Errorf("fixed-number jumpAt jumps through %#x", e)
			}

			// When the application maps over the table, the jumpAt is
			// put back as it was.
			mustMMap(t, m, anon(mm.TrapTableAddr, 1, rw))
			if b := read(t, m, at, len(code)); !bytes.Equal(b, code) {
				t.Fatalf("code after the table went is % x, want % x", b, code)
			}
		})
	}
}

// mapCodeAt maps one private read+execute page at addr holding code at
// offset 0x100.
func mapCodeAt(t *testing.T, m *mm.MemoryManager, addr uint64, code []byte) uint64 {
	t.Helper()
	mustMMap(t, m, anon(addr, 1, rw))
	if _, err := m.CopyOut(addr+0x100, code); err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(addr, pageSize, r|x, false); err != nil {
		t.Fatal(err)
	}
	return addr + 0x100
}

func TestPatchSyscallRAXSitesRefused(t *testing.T) {
	for name, code := range map[string][]byte{
		// The form's last instructions after a different one.
		"go, other start":    append([]byte{0x49, 0x89, 0xf3}, goSite[3:]...),
		"glibc, other start": append([]byte{0x48, 0x89, 0xf9}, glibcSite[3:]...),
		// Too little of the form.
		"go tail": goSite[6:],
	} {
		t.Run(name, func(t *testing.T) {
			m, _ := newPatchMM(t)
			at := mapCode(t, m, code)
			ret := at + uint64(len(code))
			if m.PatchSyscall(ret, 0) || m.PatchSyscall(ret, 0) {
				t.Fatal("patched")
			}
			if b := read(t, m, at, len(code)); !bytes.Equal(b, code) {
				t.Fatalf("code changed to % x", b)
			}
		})
	}
}

// glibcReadSingle is glibc's read(2) in a single-threaded process, up to
// its `syscall`: cmpb $0,flag(%rip) (flag 0x1000 past the cmpb); je +0x17;
// xor %eax,%eax.
var glibcReadSingle = []byte{0x80, 0x3d, 0x00, 0x10, 0x00, 0x00, 0x00, 0x74, 0x17, 0x31, 0xc0, 0x0f, 0x05}

func TestPatchSyscallSingleThreadedRead(t *testing.T) {
	m, as := newPatchMM(t)
	code := append(append([]byte(nil), glibcReadSingle...), 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff)
	at := mapCode(t, m, code)
	ret := at + 13
	if m.PatchSyscall(ret, 0) || !m.PatchSyscall(ret, 0) {
		t.Fatal("the site was not patched on its second call")
	}
	if as.table != mm.TrapTableAddr {
		t.Fatalf("trap table at %#x", as.table)
	}
	got := read(t, m, at, 19)
	slot := uint64(binary.LittleEndian.Uint32(got[3:]))
	want := []byte{0xff, 0x24, 0x25, 0, 0, 0, 0, 0x06, 0x06, 0x06, 0x06, 0x06, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff}
	binary.LittleEndian.PutUint32(want[3:], uint32(mm.TrapTableAddr+0xd606))
	if !bytes.Equal(got, want) {
		t.Fatalf("function is % x, want % x", got, want)
	}
	// The slot leads to the prologue: the flag's and the cancellable
	// path's addresses made absolute, then a jump to the next entry,
	// where the platform's code enters (no replaced bytes: the
	// prologue did their work).
	entry := binary.LittleEndian.Uint64(read(t, m, slot, 8))
	flag, cancellable := at+7+0x1000, at+9+0x17
	pro := []byte{0x49, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0x80, 0x3b, 0x00, 0x75, 13,
		0x49, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0xff, 0xe3, 0x31, 0xc0, 0xeb, 31}
	binary.LittleEndian.PutUint64(pro[2:], flag)
	binary.LittleEndian.PutUint64(pro[18:], cancellable)
	if e := read(t, m, entry, len(pro)); !bytes.Equal(e, pro) {
		t.Fatalf("prologue at %#x is % x, want % x", entry, e, pro)
	}
	if e := read(t, m, entry+64, 2); !bytes.Equal(e, []byte{0xcd, 0xcd}) {
		t.Fatalf("entering code at %#x is % x, want the platform's", entry+64, e)
	}
	if next := entry + uint64(len(pro)) + uint64(int8(pro[len(pro)-1])); next != entry+64 {
		t.Fatalf("the prologue jumps to %#x, want %#x", next, entry+64)
	}
	// A thread that ran the cmpb, or the je, runs the jump again; at
	// the old `syscall` the call is made.
	for _, stop := range []uint64{7, 9} {
		regs := arch.Registers{Rip: at + stop}
		if sys, ok := m.PatchedSiteFault(&regs); !ok || sys || regs.Rip != at {
			t.Errorf("SIGILL at +%d: syscall %v handled %v rip %#x", stop, sys, ok, regs.Rip)
		}
	}
	regs := arch.Registers{Rip: at + 11, Rax: 0}
	if sys, ok := m.PatchedSiteFault(&regs); !ok || !sys || regs.Rip != ret || regs.Orig_rax != 0 {
		t.Errorf("SIGILL at +11: syscall %v handled %v rip %#x", sys, ok, regs.Rip)
	}
	// Put back whole when the table goes.
	mustMMap(t, m, anon(mm.TrapTableAddr, 1, rw))
	if b := read(t, m, at, len(code)); !bytes.Equal(b, code) {
		t.Fatalf("code after the table went is % x, want % x", b, code)
	}
}

// isJump reports whether the 7 bytes at at are a patched site's jump.
func isJump(t *testing.T, m *mm.MemoryManager, at uint64) bool {
	t.Helper()
	return bytes.Equal(read(t, m, at, 3), []byte{0xff, 0x24, 0x25})
}

func TestPatchSyscallInForkParent(t *testing.T) {
	parent, parentAS := newPatchMM(t)
	at := mapCode(t, parent, site)
	fork := func() *mm.MemoryManager {
		c := parent.Fork(&patcherAS{fakeAS: newFakeAS(t)})
		t.Cleanup(c.Release)
		return c
	}

	// Children that run a site once each, as a server's child per
	// request does: the parent patches it at the second child's trap,
	// and the children keep their own code.
	first, second := fork(), fork()
	if first.PatchSyscall(at+7, 39) || second.PatchSyscall(at+7, 39) {
		t.Fatal("a child patched a site it ran once")
	}
	if !isJump(t, parent, at) {
		t.Fatalf("the parent's site is % x after two children trapped there, want a jump", read(t, parent, at, 7))
	}
	if parentAS.table != mm.TrapTableAddr {
		t.Fatalf("the parent's platform has its trap table at %#x, want %#x", parentAS.table, mm.TrapTableAddr)
	}
	for _, c := range []*mm.MemoryManager{first, second} {
		if b := read(t, c, at, 7); !bytes.Equal(b, site) {
			t.Fatalf("a child's site changed to % x with its parent's", b)
		}
	}
	// A child forked now runs it patched.
	if later := fork(); !isJump(t, later, at) {
		t.Fatal("a child forked after the parent's patch traps at the site")
	}

	// The parent patches only code of its own with the child's form:
	// here it mapped other code at the address since the fork.
	other := uint64(0x20_0000_0000)
	mapCodeAt(t, parent, other, site)
	child := fork()
	if err := parent.Munmap(other, pageSize); err != nil {
		t.Fatal(err)
	}
	otherCode := []byte{0xb8, 60, 0, 0, 0, 0x0f, 0x05}
	mapCodeAt(t, parent, other, otherCode)
	child.PatchSyscall(other+0x107, 39)
	if !child.PatchSyscall(other+0x107, 39) {
		t.Fatal("the child did not patch its own site on its second trap")
	}
	if b := read(t, parent, other+0x100, 7); !bytes.Equal(b, otherCode) {
		t.Fatalf("the parent's different code at the site changed to % x", b)
	}

	// A parent that is gone is left alone.
	orphan := fork()
	third := uint64(0x30_0000_0000)
	mapCodeAt(t, orphan, third, site)
	parent.Release()
	orphan.PatchSyscall(third+0x107, 39)
	if !orphan.PatchSyscall(third+0x107, 39) {
		t.Fatal("a child whose parent is released did not patch its own site")
	}
}
