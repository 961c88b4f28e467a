package kvm

import (
	"testing"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// checkRange checks that every page of [va, va+length) translates to
// [phys, ...) with the rights perms give.
func checkRange(t *testing.T, w mmu, root, va, length, phys uint64, perms platform.AccessType, nx bool) {
	t.Helper()
	for off := uint64(0); off < length; off += pageSize {
		tr := w.walk(root, va+off)
		if !tr.present {
			t.Fatalf("%#x: not present", va+off)
		}
		if tr.phys != phys+off {
			t.Fatalf("%#x: maps %#x, want %#x", va+off, tr.phys, phys+off)
		}
		if !tr.user {
			t.Fatalf("%#x: not user accessible", va+off)
		}
		if tr.write != (perms&platform.Write != 0) {
			t.Fatalf("%#x: writable %v with perms %v", va+off, tr.write, perms)
		}
		if wantNX := nx && perms&platform.Execute == 0; tr.nx != wantNX {
			t.Fatalf("%#x: NX %v with perms %v (nx %v)", va+off, tr.nx, perms, nx)
		}
		if tr.leaf&(pteAccessed|pteDirty) != pteAccessed|pteDirty {
			t.Fatalf("%#x: leaf %#x lacks preset A/D bits", va+off, tr.leaf)
		}
		for i, table := range tr.tables[1:] {
			e := w.entry(tr.tables[i], (va+off)>>(39-9*uint(i))&511)
			if e&pteAccessed == 0 || e&pteAddrMask != table {
				t.Fatalf("%#x: level %d entry %#x", va+off, 3-i, e)
			}
		}
	}
}

func checkAbsent(t *testing.T, w mmu, root, va, length uint64) {
	t.Helper()
	for off := uint64(0); off < length; off += pageSize {
		if tr := w.walk(root, va+off); tr.present {
			t.Fatalf("%#x: still maps %#x", va+off, tr.phys)
		}
	}
}

func TestPageTablesMapUnmapRemap(t *testing.T) {
	for _, nx := range []bool{true, false} {
		t.Run(map[bool]string{true: "nx", false: "no-nx"}[nx], func(t *testing.T) {
			mf := newTestMemfile(t, 8<<30)
			m := newTestMachine(t, mf, nx)
			w := mmu{t, mf}
			as, err := newAddressSpace(m)
			if err != nil {
				t.Fatal(err)
			}
			code, _ := mf.Allocate(3 * pageSize)
			data, _ := mf.Allocate(pageSize)
			for _, c := range []struct {
				va    uint64
				fr    memfile.Range
				perms platform.AccessType
			}{
				{0x400000, code, platform.Read | platform.Execute},
				{0x600000, data, platform.Read | platform.Write},
				{0x1000, data, platform.Read},
				{0x7000, data, platform.Write},                                                       // write implies read
				{0x9000, data, platform.Execute},                                                     // execute implies read
				{maxUserAddress - pageSize, data, platform.Read | platform.Write | platform.Execute}, // last user page
			} {
				if err := as.MapFile(c.va, c.fr, c.perms); err != nil {
					t.Fatal(err)
				}
				checkRange(t, w, as.root, c.va, c.fr.Length(), physBase+c.fr.Start, c.perms, nx)
			}
			// Pages around the mappings are not present.
			checkAbsent(t, w, as.root, 0, pageSize)
			checkAbsent(t, w, as.root, 0x3ff000, pageSize)
			checkAbsent(t, w, as.root, 0x403000, pageSize)
			checkAbsent(t, w, as.root, 0x2000, 5*pageSize)

			// Remap read-write as read-only: W is gone, same page.
			if err := as.MapFile(0x600000, data, platform.Read); err != nil {
				t.Fatal(err)
			}
			checkRange(t, w, as.root, 0x600000, pageSize, physBase+data.Start, platform.Read, nx)
			// Remap to another page.
			other, _ := mf.Allocate(pageSize)
			if err := as.MapFile(0x600000, other, platform.Read|platform.Write); err != nil {
				t.Fatal(err)
			}
			checkRange(t, w, as.root, 0x600000, pageSize, physBase+other.Start, platform.Read|platform.Write, nx)

			// Unmap the middle code page only.
			as.Unmap(0x401000, pageSize)
			checkAbsent(t, w, as.root, 0x401000, pageSize)
			checkRange(t, w, as.root, 0x400000, pageSize, physBase+code.Start, platform.Read|platform.Execute, nx)
			checkRange(t, w, as.root, 0x402000, pageSize, physBase+code.Start+2*pageSize, platform.Read|platform.Execute, nx)

			// MapFile with no permissions is an unmap.
			if err := as.MapFile(0x1000, data, 0); err != nil {
				t.Fatal(err)
			}
			checkAbsent(t, w, as.root, 0x1000, pageSize)

			// Unmap everything: no table is left under the user half.
			as.Unmap(0, maxUserAddress)
			checkAbsent(t, w, as.root, 0x400000, 3*pageSize)
			checkAbsent(t, w, as.root, maxUserAddress-pageSize, pageSize)
			if n := w.countTables(as.root); n != 0 {
				t.Fatalf("%d tables left after unmapping everything", n)
			}
			as.Release()
		})
	}
}

func TestPageTablesRejectBadRanges(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	as, _ := newAddressSpace(m)
	fr, _ := mf.Allocate(2 * pageSize)
	for _, c := range []struct {
		va uint64
		fr memfile.Range
	}{
		{0x1001, fr}, // unaligned address
		{0x1000, memfile.Range{Start: 1, End: 4097}},    // unaligned range
		{0x1000, memfile.Range{Start: 4096, End: 4096}}, // empty
		{maxUserAddress - pageSize, fr},                 // crosses into the trampoline
		{maxUserAddress, fr},                            // in the trampoline
		{codeVA, fr},
		{^uint64(0) &^ (pageSize - 1), fr},                                   // wraps
		{0x1000, memfile.Range{Start: m.memSize, End: m.memSize + pageSize}}, // past the memory file
	} {
		if err := as.MapFile(c.va, c.fr, platform.Read); err == nil {
			t.Errorf("MapFile(%#x, %+v) succeeded", c.va, c.fr)
		}
	}
	// Nothing reached the trampoline's tables.
	w := mmu{t, mf}
	if tr := w.walk(as.root, codeVA); !tr.present || tr.user {
		t.Fatalf("trampoline code: %+v", tr)
	}
}

func TestPageTablesHugeRanges(t *testing.T) {
	mf := newTestMemfile(t, 8<<30)
	m := newTestMachine(t, mf, true)
	w := mmu{t, mf}
	as, _ := newAddressSpace(m)
	big, err := mf.Allocate(1<<30 + 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	// Crosses PD, PDPT (1 GiB) boundaries, starting 2 MiB before one.
	start := uint64(3<<30 - 2<<20)
	if err := as.MapFile(start, big, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	checkRange(t, w, as.root, start, big.Length(), physBase+big.Start, platform.Read|platform.Write, true)
	// 1 GiB + 4 MiB of 4 KiB pages from an unaligned start: 3 PDs (the
	// range touches three 1 GiB regions: 2 MiB, 1 GiB, 2 MiB), 1 PDPT and
	// 514 PTs.
	if n := w.countTables(as.root); n != 1+3+514 {
		t.Fatalf("%d tables for the range, want %d", n, 1+3+514)
	}
	// Crosses a PML4 boundary (512 GiB).
	small, _ := mf.Allocate(4 * pageSize)
	if err := as.MapFile(512<<30-2*pageSize, small, platform.Read); err != nil {
		t.Fatal(err)
	}
	checkRange(t, w, as.root, 512<<30-2*pageSize, 4*pageSize, physBase+small.Start, platform.Read, true)
	// Unmapping a huge sparse range visits only what is mapped.
	as.Unmap(0, maxUserAddress)
	if n := w.countTables(as.root); n != 0 {
		t.Fatalf("%d tables left", n)
	}
	as.Release()
}

func TestPageTablesTablesFreedAndReused(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	w := mmu{t, mf}
	as, _ := newAddressSpace(m)
	fr, _ := mf.Allocate(2 * pageSize)
	// Two pages in the same PT, a third in another PT of the same PD.
	must(t, as.MapFile(0x200000, memfile.Range{Start: fr.Start, End: fr.Start + pageSize}, platform.Read))
	must(t, as.MapFile(0x201000, memfile.Range{Start: fr.Start + pageSize, End: fr.End}, platform.Read))
	must(t, as.MapFile(0x400000, memfile.Range{Start: fr.Start, End: fr.Start + pageSize}, platform.Read))
	if n := w.countTables(as.root); n != 4 { // PDPT, PD, 2 PTs
		t.Fatalf("%d tables, want 4", n)
	}
	pt := w.walk(as.root, 0x200000).tables[3]
	// Unmapping one of the two pages keeps their PT.
	as.Unmap(0x200000, pageSize)
	if got := w.walk(as.root, 0x201000).tables[3]; got != pt {
		t.Fatalf("PT moved from %#x to %#x", pt, got)
	}
	// Mapping it again reuses the PT.
	must(t, as.MapFile(0x200000, memfile.Range{Start: fr.Start, End: fr.Start + pageSize}, platform.Read))
	if got := w.walk(as.root, 0x200000).tables[3]; got != pt {
		t.Fatalf("PT not reused: %#x, was %#x", got, pt)
	}
	if n := w.countTables(as.root); n != 4 {
		t.Fatalf("%d tables, want 4", n)
	}
	// Unmapping both frees the PT; the PD stays for 0x400000.
	as.Unmap(0x200000, 2*pageSize)
	if n := w.countTables(as.root); n != 3 {
		t.Fatalf("%d tables after freeing a PT, want 3", n)
	}
	// The freed page went back to the memory file: the next allocation
	// reuses it, zeroed.
	r, _ := mf.Allocate(pageSize)
	if physBase+r.Start != pt {
		t.Logf("freed PT %#x not reused first (got %#x)", pt, physBase+r.Start)
	}
	for _, b := range mf.Slice(r) {
		if b != 0 {
			t.Fatal("reused table page not zeroed")
		}
	}
	// Unmapping the last page frees every level.
	as.Unmap(0x400000, pageSize)
	if n := w.countTables(as.root); n != 0 {
		t.Fatalf("%d tables left", n)
	}
	// An unmap of nothing changes nothing and does not need a shootdown.
	gen := as.gen.Load()
	as.Unmap(0x10000000, 1<<30)
	if as.gen.Load() != gen {
		t.Fatal("an unmap of nothing bumped the generation")
	}
	as.Release()
}

// TestTrampolineSupervisorOnly checks that the trampoline is mapped, the
// same, in every address space, and that user mode can reach none of it.
func TestTrampolineSupervisorOnly(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	w := mmu{t, mf}
	var vcpus []*vCPU
	for i := 0; i < 3; i++ {
		v, err := m.pool.acquire(nil, int32(100+i))
		if err != nil {
			t.Fatal(err)
		}
		vcpus = append(vcpus, v)
	}
	roots := []uint64{m.idleRoot}
	for i := 0; i < 3; i++ {
		as, err := newAddressSpace(m)
		if err != nil {
			t.Fatal(err)
		}
		fr, _ := mf.Allocate(pageSize)
		must(t, as.MapFile(0x1000, fr, platform.Read|platform.Write|platform.Execute))
		roots = append(roots, as.root)
	}
	type page struct {
		va          uint64
		phys        uint64
		write, exec bool
	}
	pages := []page{
		{codeVA, physBase + m.codePage.Start, false, true},
		{idtVA, physBase + m.idtPage.Start, false, false},
	}
	for _, v := range vcpus {
		for k := 0; k < vcpuPages; k++ {
			pages = append(pages, page{vcpuPageVA(v.id, k), physBase + v.area.Start + uint64(k)*pageSize, true, false})
		}
	}
	for _, root := range roots {
		if e := w.entry(root, kernelPML4Index); e != w.entry(m.idleRoot, kernelPML4Index) || e&pteUser != 0 {
			t.Fatalf("root %#x: PML4[255] = %#x, idle root has %#x", root, e, w.entry(m.idleRoot, kernelPML4Index))
		}
		for i := uint64(256); i < 512; i++ {
			if e := w.entry(root, i); e != 0 {
				t.Fatalf("root %#x: upper-half entry %d = %#x", root, i, e)
			}
		}
		for _, p := range pages {
			tr := w.walk(root, p.va)
			if !tr.present || tr.phys != p.phys {
				t.Fatalf("root %#x: %#x maps %+v, want %#x", root, p.va, tr, p.phys)
			}
			if tr.user || tr.leaf&pteUser != 0 {
				t.Fatalf("root %#x: trampoline page %#x is user accessible", root, p.va)
			}
			if tr.write != p.write || tr.nx == p.exec {
				t.Fatalf("root %#x: %#x write %v nx %v", root, p.va, tr.write, tr.nx)
			}
		}
		for _, v := range vcpus {
			// Guard pages: one between each pair of area pages.
			for k := 0; k < vcpuPages; k++ {
				checkAbsent(t, w, root, vcpuPageVA(v.id, k)+pageSize, pageSize)
			}
		}
		// Nothing else of the trampoline's GiB is mapped.
		checkAbsent(t, w, root, codeVA+2*pageSize, 14*pageSize)
		checkAbsent(t, w, root, vcpuAreaVA(len(vcpus)), vcpuAreaSize)
	}
}

func TestRestricts(t *testing.T) {
	base := uint64(0x123000 | ptePresent | pteUser | pteAccessed | pteDirty)
	for _, c := range []struct {
		old, nw uint64
		want    bool
	}{
		{base, base, false},
		{base, base | pteWrite, false},
		{base | pteNX, base, false},
		{base | pteWrite, base, true},
		{base, base | pteNX, true},
		{base, base &^ pteUser, true},
		{base, base + pageSize, true},
		{base, 0, true},
	} {
		if got := restricts(c.old, c.nw); got != c.want {
			t.Errorf("restricts(%#x, %#x) = %v", c.old, c.nw, got)
		}
	}
}

func TestTranslateAndAllows(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	as, _ := newAddressSpace(m)
	fr, _ := mf.Allocate(pageSize)
	must(t, as.MapFile(0x5000, fr, platform.Read))
	phys, rights, ok := as.pt.translate(0x5123)
	if !ok || phys != physBase+fr.Start+0x123 {
		t.Fatalf("translate: %#x %v", phys, ok)
	}
	if !allows(rights, platform.Read, true) || allows(rights, platform.Write, true) || allows(rights, platform.Execute, true) {
		t.Fatalf("rights %#x", rights)
	}
	// Without NX, a readable page is executable.
	if !allows(rights, platform.Execute, false) {
		t.Fatal("no-NX page not executable")
	}
	if as.permits(0x5000, platform.Write) || !as.permits(0x5000, platform.Read) || as.permits(0x6000, platform.Read) {
		t.Fatal("permits")
	}
	// The trampoline is never permitted to user mode.
	_, rights, ok = as.pt.translate(codeVA)
	if !ok || allows(rights, platform.Read, true) {
		t.Fatalf("trampoline rights %#x", rights)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
