package mm_test

import (
	"bytes"
	"encoding/binary"
	"testing"

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
	mustMMap(t, m, anon(base, 1, rw))
	if _, err := m.CopyOut(base+0x100, code); err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(base, pageSize, r|x, false); err != nil {
		t.Fatal(err)
	}
	return base + 0x100
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
	if as.table != 0x60000 {
		t.Fatalf("trap table at %#x, want 0x60000", as.table)
	}
	got := read(t, m, at, 7)
	entry := uint64(binary.LittleEndian.Uint32(got[3:]))
	if !bytes.Equal(got[:3], []byte{0xff, 0x24, 0x25}) || got[5] != 0x06 || entry != 0x60040 {
		t.Fatalf("site is % x, want jmp *0x60040", got)
	}
	e := read(t, m, entry, 13)
	if binary.LittleEndian.Uint64(e) != entry+8 || !bytes.Equal(e[8:], []byte{0xcc, 39, 0, 0, 0}) {
		t.Fatalf("entry is % x", e)
	}
	// The table shows in the maps, read+execute.
	found := false
	for _, v := range m.VMAs(false) {
		if v.Start == 0x60000 {
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
	// A SIGILL anywhere else is the task's.
	regs = arch.Registers{Rip: at + 0x40, Rax: 39}
	if _, ok := m.PatchedSiteFault(&regs); ok {
		t.Fatal("an unrelated SIGILL was taken for a patched site")
	}

	// A fork keeps the patched code and its table.
	child := m.Fork(&patcherAS{fakeAS: newFakeAS(t)})
	defer child.Release()
	if !bytes.Equal(read(t, child, at, 7), got) || child.AddressSpace().(*patcherAS).table != 0x60000 {
		t.Fatal("the child lost the patch or its table")
	}

	// When the application maps over the table, the sites are put back.
	mustMMap(t, m, anon(0x60000, 1, rw))
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
		{"table place taken", site, 39, func(t *testing.T, m *mm.MemoryManager) {
			mustMMap(t, m, anon(0x68000, 1, rw))
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
