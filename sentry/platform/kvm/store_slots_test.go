package kvm

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// TestKVMStoreSlotsMadeOnFirstMap: a page of the store is reachable from
// the guest once mapped, and only the slot covering it was made.
func TestKVMStoreSlotsMadeOnFirstMap(t *testing.T) {
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
	for i, made := range p.m.storeSlots.made {
		if made {
			t.Fatalf("store slot %d made before anything was mapped", i)
		}
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
	n := 0
	for _, made := range p.m.storeSlots.made {
		if made {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d store slots made for one page, want 1 (of %d)", n, len(p.m.storeSlots.made))
	}
}
