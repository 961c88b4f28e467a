package systrap

import (
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

const pg = 0x1000

func mmapOp(addr, length uint64, fd, off, prot uintptr) editOp {
	return editOp{nr: unix.SYS_MMAP, args: [6]uintptr{uintptr(addr), uintptr(length), prot, unix.MAP_SHARED | unix.MAP_FIXED, fd, off}}
}

func mprotectOp(addr, length uint64, prot uintptr) editOp {
	return editOp{nr: unix.SYS_MPROTECT, args: [6]uintptr{uintptr(addr), uintptr(length), prot}}
}

// contents lists the mappings as [start, end, off, prot, kept] rows.
func contents(m *hostMaps) [][5]uint64 {
	var rows [][5]uint64
	m.t.Ascend(func(e *hostMapping) bool {
		k := uint64(0)
		if e.kept {
			k = 1
		}
		rows = append(rows, [5]uint64{e.start, e.end, uint64(e.off), uint64(e.prot), k})
		return true
	})
	return rows
}

func TestHostMapsRecordsEdits(t *testing.T) {
	m := newHostMaps()
	m.apply(mmapOp(0x10*pg, 8*pg, 0, 0x100*pg, unix.PROT_READ))
	m.apply(mmapOp(0x20*pg, 2*pg, 0, 0x200*pg, unix.PROT_READ))
	// An mmap over the middle of the first splits it, keeping each
	// side's file offset.
	m.apply(mmapOp(0x12*pg, 2*pg, 0, 0x300*pg, unix.PROT_READ|unix.PROT_WRITE))
	// A munmap across the end of the first and into nothing.
	m.apply(munmapOp(0x17*pg, 4*pg))
	// An mprotect of part of the last.
	m.apply(mprotectOp(0x21*pg, pg, unix.PROT_NONE))
	want := [][5]uint64{
		{0x10 * pg, 0x12 * pg, 0x100 * pg, unix.PROT_READ, 0},
		{0x12 * pg, 0x14 * pg, 0x300 * pg, unix.PROT_READ | unix.PROT_WRITE, 0},
		{0x14 * pg, 0x17 * pg, 0x104 * pg, unix.PROT_READ, 0},
		{0x20 * pg, 0x21 * pg, 0x200 * pg, unix.PROT_READ, 0},
		{0x21 * pg, 0x22 * pg, 0x201 * pg, unix.PROT_NONE, 0},
	}
	if got := contents(&m); !slices.Equal(got, want) {
		t.Fatalf("mappings\n%x\nwant\n%x", got, want)
	}
	m.apply(munmapOp(0, stubStart))
	if n := m.t.Len(); n != 0 {
		t.Fatalf("%d mappings left after unmapping everything", n)
	}
}

func TestHostMapsKeptClaimedAndPurged(t *testing.T) {
	m := newHostMaps()
	m.apply(mmapOp(0x10*pg, 8*pg, 0, 0x100*pg, unix.PROT_READ|unix.PROT_EXEC))
	m.apply(mmapOp(0x18*pg, 1*pg, 0, 0x400*pg, unix.PROT_READ|unix.PROT_EXEC))
	m.apply(mmapOp(0x30*pg, 2*pg, 0, 0x500*pg, unix.PROT_READ))
	m.apply(mmapOp(0x40*pg, 2*pg, 0, 0x600*pg, unix.PROT_READ))
	m.keepAll()
	if m.kept != 4 {
		t.Fatalf("%d kept, want 4", m.kept)
	}

	// Not the same: another page, another protection, a range only
	// partly mapped.
	for _, op := range []editOp{
		mmapOp(0x10*pg, pg, 0, 0x101*pg, unix.PROT_READ|unix.PROT_EXEC),
		mmapOp(0x10*pg, pg, 0, 0x100*pg, unix.PROT_READ),
		mmapOp(0x17*pg, 3*pg, 0, 0x107*pg, unix.PROT_READ|unix.PROT_EXEC),
	} {
		if m.claim(op) {
			t.Fatalf("claimed %+v", op.args)
		}
	}
	// Two pages out of the middle of a mapping, and a range that spans
	// two mappings whose pages are not contiguous in the file: the
	// second is not claimed.
	if !m.claim(mmapOp(0x12*pg, 2*pg, 0, 0x102*pg, unix.PROT_READ|unix.PROT_EXEC)) {
		t.Fatal("two pages inside a kept mapping were not claimed")
	}
	if m.claim(mmapOp(0x17*pg, 2*pg, 0, 0x107*pg, unix.PROT_READ|unix.PROT_EXEC)) {
		t.Fatal("claimed a range whose second page maps another file page")
	}
	// The whole of the third.
	if !m.claim(mmapOp(0x30*pg, 2*pg, 0, 0x500*pg, unix.PROT_READ)) {
		t.Fatal("a kept mapping was not claimed")
	}
	// A new mapping replaces part of the fourth.
	m.apply(mmapOp(0x41*pg, pg, 0, 0x700*pg, unix.PROT_READ))

	// What is left kept: [0x10,0x12) [0x14,0x18) [0x18,0x19), one
	// stretch up to the claimed [0x12,0x14) and one after it, and
	// [0x40,0x41), after the claimed third.
	ops := m.purgeKept()
	want := []editOp{munmapOp(0x10*pg, 2*pg), munmapOp(0x14*pg, 5*pg), munmapOp(0x40*pg, pg)}
	if !slices.Equal(ops, want) {
		t.Fatalf("purge %v, want %v", ops, want)
	}
	wantLeft := [][5]uint64{
		{0x12 * pg, 0x14 * pg, 0x102 * pg, unix.PROT_READ | unix.PROT_EXEC, 0},
		{0x30 * pg, 0x32 * pg, 0x500 * pg, unix.PROT_READ, 0},
		{0x41 * pg, 0x42 * pg, 0x700 * pg, unix.PROT_READ, 0},
	}
	if got := contents(&m); !slices.Equal(got, wantLeft) {
		t.Fatalf("mappings after the purge\n%x\nwant\n%x", got, wantLeft)
	}
	if m.kept != 0 || m.purgeKept() != nil {
		t.Fatal("a second purge found more to unmap")
	}

	// Once a request failed nothing is claimed.
	m.lost = true
	if m.claim(mmapOp(0x30*pg, 2*pg, 0, 0x500*pg, unix.PROT_READ)) {
		t.Fatal("claimed with the mappings lost")
	}
}

// modelPage is one page of the model TestHostMapsMatchesAPageModel keeps.
type modelPage struct {
	mapped    bool
	off, prot uintptr
	kept      bool
}

// TestHostMapsMatchesAPageModel runs random edits, claims, keeps and
// purges on hostMaps and on a page-by-page model, and compares them after
// each: what the set says is mapped, kept and purged.
func TestHostMapsMatchesAPageModel(t *testing.T) {
	const pages = 48
	rng := rand.New(rand.NewPCG(1, 2))
	m := newHostMaps()
	var model [pages]modelPage
	check := func(step int, what string) {
		t.Helper()
		var got [pages]modelPage
		kept := 0
		m.t.Ascend(func(e *hostMapping) bool {
			if e.kept {
				kept++
			}
			for a := e.start; a < e.end; a += pg {
				got[a/pg] = modelPage{true, e.off + uintptr(a-e.start), e.prot, e.kept}
			}
			return true
		})
		if got != model {
			t.Fatalf("step %d (%s): set\n%v\nmodel\n%v", step, what, got, model)
		}
		if kept != m.kept {
			t.Fatalf("step %d (%s): %d kept entries, count says %d", step, what, kept, m.kept)
		}
	}
	for step := range 5000 {
		a := uint64(rng.IntN(pages))
		n := uint64(1 + rng.IntN(min(8, pages-int(a))))
		off := uintptr(rng.IntN(4)) * 0x100 * pg
		prot := uintptr(1 + rng.IntN(2))
		what := ""
		switch r := rng.IntN(10); {
		case r < 4:
			what = "mmap"
			op := mmapOp(a*pg, n*pg, 0, off, prot)
			if rng.IntN(2) == 0 {
				what = "claim"
				claimed := m.claim(op)
				same := true
				for i := a; i < a+n; i++ {
					p := model[i]
					same = same && p.mapped && p.prot == prot && p.off == off+uintptr(i-a)*pg
				}
				if claimed != same {
					t.Fatalf("step %d: claim of %d pages at %d = %v, model says %v", step, n, a, claimed, same)
				}
				if claimed {
					for i := a; i < a+n; i++ {
						model[i].kept = false
					}
					break
				}
			}
			m.apply(op)
			for i := a; i < a+n; i++ {
				model[i] = modelPage{true, off + uintptr(i-a)*pg, prot, false}
			}
		case r < 6:
			what = "munmap"
			m.apply(munmapOp(a*pg, n*pg))
			for i := a; i < a+n; i++ {
				model[i] = modelPage{}
			}
		case r < 8:
			what = "mprotect"
			m.apply(mprotectOp(a*pg, n*pg, prot))
			for i := a; i < a+n; i++ {
				if model[i].mapped {
					model[i].prot = prot
				}
			}
		case r < 9:
			what = "keep"
			m.keepAll()
			for i := range model {
				model[i].kept = model[i].mapped
			}
		default:
			what = "purge"
			ops := m.purgeKept()
			// Every kept page is unmapped by the purge; no current
			// one is.
			var hit [pages]bool
			for _, op := range ops {
				for p := uint64(op.args[0]) / pg; p < uint64(op.args[0]+op.args[1])/pg; p++ {
					hit[p] = true
				}
			}
			for i := range model {
				if model[i].kept && !hit[i] || model[i].mapped && !model[i].kept && hit[i] {
					t.Fatalf("step %d: purge %v vs page %d %+v", step, ops, i, model[i])
				}
				if model[i].kept {
					model[i] = modelPage{}
				}
			}
		}
		check(step, what)
	}
}
