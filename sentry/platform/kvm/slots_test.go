package kvm

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// TestKVMSlotsMadeOnFirstMap: the platform makes only the memory slots
// the guest can reach: none of the store's and few of the memory file's
// at start; a page of the store is reachable once mapped, with the one
// slot covering it made.
func TestKVMSlotsMadeOnFirstMap(t *testing.T) {
	requireKVM(t)
	mf := newTestMemfile(t, 256<<20)
	fd, err := unix.Open(filepath.Join(t.TempDir(), "store"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	store, err := mf.AttachStore(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	p, err := New(mf)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	if n := p.m.storeSlots.slotsMade(); n != 0 {
		t.Fatalf("%d store slots made before anything was mapped", n)
	}
	if n := p.m.memSlots.slotsMade(); n == 0 || n > 2 {
		t.Fatalf("%d of the memory file's %d slots made at start, want 1 or 2", n, len(p.m.memSlots.made))
	}

	ctx := threadContext(t, p)
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	code := newPage(t, mf, loadThenGetppid)
	data := newPage(t, store, []byte{0x5a})
	if err := as.MapFile(codeAddr, code, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	if err := as.MapFile(dataAddr, data, platform.Read); err != nil {
		t.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
	if trap := switchUntil(t, ctx, as, st); trap.Kind != platform.TrapSyscall || st.Regs.Rdx != 0x5a {
		t.Fatalf("load from the store: trap %+v, loaded %#x", trap, st.Regs.Rdx)
	}
	if n := p.m.storeSlots.slotsMade(); n != 1 {
		t.Fatalf("%d store slots made for one page, want 1 (of %d)", n, len(p.m.storeSlots.made))
	}
}

// slotsMade counts the slots made in s.
func (s *lazySlots) slotsMade() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, made := range s.made {
		if made {
			n++
		}
	}
	return n
}
