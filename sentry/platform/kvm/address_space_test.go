package kvm

import (
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// runningVCPU simulates a vCPU inside KVM_RUN in as: it stays "in the
// guest" until kicked, then leaves like the vCPU loop does (clearing
// immediate_exit, then the entry gate's v.as). It reports each kick on
// kicked.
func runningVCPU(t *testing.T, v *vCPU, as *addressSpace) (kicked chan struct{}, stop func()) {
	t.Helper()
	if err := as.enter(v); err != nil {
		t.Fatal(err)
	}
	kicked = make(chan struct{}, 16)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				v.as.Store(nil)
				return
			default:
			}
			if immediateExit(v.run) != 0 {
				setImmediateExit(v.run, 0)
				v.as.Store(nil)
				kicked <- struct{}{}
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	return kicked, func() { close(done); <-finished }
}

func TestShootdownOnUnmap(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	w := mmu{t, mf}
	as, _ := newAddressSpace(m)
	fr, _ := mf.Allocate(2 * pageSize)
	must(t, as.MapFile(0x10000, fr, platform.Read|platform.Write))
	inAS, _ := m.pool.acquire(nil, 1)
	other, _ := m.pool.acquire(nil, 2)
	otherAS, _ := newAddressSpace(m)

	kicked, stop := runningVCPU(t, inAS, as)
	defer stop()
	_, stopOther := runningVCPU(t, other, otherAS)
	defer stopOther()

	// Adding a mapping needs no shootdown: it returns while the vCPU runs.
	more, _ := mf.Allocate(pageSize)
	must(t, as.MapFile(0x20000, more, platform.Read))
	// So does adding a right to a present page.
	must(t, as.MapFile(0x10000, fr, platform.Read|platform.Write|platform.Execute))
	select {
	case <-kicked:
		t.Fatal("an addition kicked the vCPU")
	default:
	}
	gen := as.gen.Load()

	unmapped := make(chan struct{})
	go func() {
		as.Unmap(0x10000, pageSize)
		close(unmapped)
	}()
	select {
	case <-kicked:
	case <-time.After(5 * time.Second):
		t.Fatal("the vCPU in the address space was not kicked")
	}
	select {
	case <-unmapped:
	case <-time.After(5 * time.Second):
		t.Fatal("Unmap did not return after the vCPU left")
	}
	if as.gen.Load() != gen+1 || as.modifying.Load() {
		t.Fatalf("gen %d (was %d), modifying %v", as.gen.Load(), gen, as.modifying.Load())
	}
	checkAbsent(t, w, as.root, 0x10000, pageSize)
	// The vCPU in another address space was left alone.
	if other.as.Load() != otherAS || immediateExit(other.run) != 0 {
		t.Fatal("a vCPU of another address space was kicked")
	}
}

// TestShootdownWaitsBeforeChanging checks that the tables change only once
// every vCPU of the address space is out of the guest.
func TestShootdownWaitsBeforeChanging(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	w := mmu{t, mf}
	as, _ := newAddressSpace(m)
	fr, _ := mf.Allocate(pageSize)
	must(t, as.MapFile(0x10000, fr, platform.Read|platform.Write))
	v, _ := m.pool.acquire(nil, 1)
	// A vCPU that ignores kicks for a while (its thread is slow to run).
	must(t, as.enter(v))
	done := make(chan struct{})
	go func() {
		if err := as.MapFile(0x10000, fr, platform.Read); err != nil { // takes write away
			t.Error(err)
		}
		close(done)
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("MapFile returned while a vCPU was still in the guest")
	default:
	}
	if !w.walk(as.root, 0x10000).write {
		t.Fatal("the PTE changed while a vCPU was in the guest")
	}
	if immediateExit(v.run) == 0 {
		t.Fatal("not kicked")
	}
	// No vCPU may enter meanwhile.
	v2, _ := m.pool.acquire(nil, 2)
	entered := make(chan struct{})
	go func() {
		if err := as.enter(v2); err != nil {
			t.Error(err)
		}
		close(entered)
	}()
	time.Sleep(5 * time.Millisecond)
	select {
	case <-entered:
		t.Fatal("a vCPU entered during the change")
	default:
	}
	v.as.Store(nil) // leaves the guest
	<-done
	<-entered
	if tr := w.walk(as.root, 0x10000); !tr.present || tr.write {
		t.Fatalf("after the change: %+v", tr)
	}
	v2.as.Store(nil)
}

func TestReleaseKicksAndRecyclesRoot(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	w := mmu{t, mf}
	as, _ := newAddressSpace(m)
	fr, _ := mf.Allocate(pageSize)
	must(t, as.MapFile(0x10000, fr, platform.Read))
	must(t, as.MapFile(0x7f0000000000, fr, platform.Read))
	v, _ := m.pool.acquire(nil, 1)
	kicked, stop := runningVCPU(t, v, as)
	defer stop()
	as.Release()
	select {
	case <-kicked:
	default:
		t.Fatal("Release returned without kicking the vCPU")
	}
	if n := w.countTables(as.root); n != 0 {
		t.Fatalf("%d tables left", n)
	}
	if err := as.enter(v); err == nil {
		t.Fatal("entered a released address space")
	}
	if err := as.MapFile(0x10000, fr, platform.Read); err == nil {
		t.Fatal("MapFile on a released address space")
	}
	as.Release() // idempotent
	// The root is reused, still a valid root: PML4 entry 255 intact.
	as2, _ := newAddressSpace(m)
	if as2.root != as.root {
		t.Fatalf("root %#x not recycled (got %#x)", as.root, as2.root)
	}
	if tr := w.walk(as2.root, codeVA); !tr.present || tr.user {
		t.Fatal("recycled root lost the trampoline")
	}
	checkAbsent(t, w, as2.root, 0x10000, pageSize)
}

// TestProtectKeepsPagesAndShootsDownRestrictions: Protect changes the
// rights of the present pages of a range, whatever memory-file pieces
// they map and with holes between them, keeping each page; taking a right
// away kicks the vCPUs in the address space first, adding one does not.
func TestProtectKeepsPagesAndShootsDownRestrictions(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	w := mmu{t, mf}
	as, _ := newAddressSpace(m)
	rw := platform.Read | platform.Write
	a, _ := mf.Allocate(2 * pageSize)
	_, _ = mf.Allocate(pageSize) // so that b does not follow a
	b, _ := mf.Allocate(pageSize)
	must(t, as.MapFile(0x10000, a, rw))
	must(t, as.MapFile(0x13000, b, rw)) // 0x12000 stays a hole
	v, _ := m.pool.acquire(nil, 1)
	kicked, stop := runningVCPU(t, v, as)
	defer stop()

	done := make(chan struct{})
	go func() {
		must(t, as.Protect(0x10000, 4*pageSize, platform.Read))
		close(done)
	}()
	select {
	case <-kicked:
	case <-time.After(5 * time.Second):
		t.Fatal("taking write away did not kick the vCPU in the address space")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Protect did not return after the vCPU left")
	}
	checkRange(t, w, as.root, 0x10000, 2*pageSize, physBase+a.Start, platform.Read, true)
	checkAbsent(t, w, as.root, 0x12000, pageSize)
	checkRange(t, w, as.root, 0x13000, pageSize, physBase+b.Start, platform.Read, true)

	// Giving write back needs no shootdown.
	v2, _ := m.pool.acquire(nil, 2)
	kicked2, stop2 := runningVCPU(t, v2, as)
	defer stop2()
	must(t, as.Protect(0x10000, 4*pageSize, rw))
	select {
	case <-kicked2:
		t.Fatal("adding a right kicked the vCPU")
	default:
	}
	checkRange(t, w, as.root, 0x10000, 2*pageSize, physBase+a.Start, rw, true)
	checkRange(t, w, as.root, 0x13000, pageSize, physBase+b.Start, rw, true)
	if err := as.Protect(0x10001, pageSize, rw); err == nil {
		t.Error("an unaligned Protect succeeded")
	}
}
