package kvm

import (
	"encoding/binary"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// newTestMemfile returns a sparse memory file of size bytes.
func newTestMemfile(t testing.TB, size uint64) *memfile.File {
	t.Helper()
	mf, err := memfile.New("kvm-test", size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	return mf
}

// newPage allocates a page of mf (or of its store) holding content.
func newPage(t testing.TB, mf *memfile.File, content []byte) memfile.Range {
	t.Helper()
	fr, err := mf.Allocate(pageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(mf.Slice(fr), content)
	return fr
}

// newTestMachine builds everything of a machine that needs no /dev/kvm:
// the trampoline pages and tables, and a pool whose vCPUs have their areas
// set up and a kvm_run in ordinary memory but no KVM vCPU behind them.
func newTestMachine(t testing.TB, mf *memfile.File, nx bool) *machine {
	t.Helper()
	m := &machine{kvmFD: -1, vmFD: -1, mf: mf, memSize: mf.Size() &^ (pageSize - 1), nx: nx, fp: fpXSAVE, xcr0: xfeatureX87 | xfeatureSSE | xfeatureAVX}
	if err := m.setUpTrampoline(); err != nil {
		t.Fatal(err)
	}
	m.pool = newPool(8, func(id int) (*vCPU, error) {
		v := &vCPU{id: id, fd: -1, m: m, run: new(kvmRun)}
		if err := m.setUpVCPUArea(v); err != nil {
			return nil, err
		}
		v.cr3 = m.idleRoot
		return v, nil
	})
	return m
}

// mmu walks the page tables rooted at root the way the processor does
// (SDM Vol. 3A 4.5), reading every entry from the memory file with plain
// little-endian loads: independent of the code under test.
type mmu struct {
	t  testing.TB
	mf *memfile.File
}

type translation struct {
	phys            uint64
	present         bool
	write, user, nx bool
	tables          [4]uint64 // the table read at each level, PML4 first
	leaf            uint64
}

func (w mmu) entry(table, index uint64) uint64 {
	off := table - physBase + 8*index
	if table < physBase || off+8 > w.mf.Size() {
		w.t.Fatalf("table at physical %#x is outside the memory file", table)
	}
	return binary.LittleEndian.Uint64(w.mf.Slice(memfile.Range{Start: off &^ (pageSize - 1), End: off&^(pageSize-1) + pageSize})[off%pageSize:])
}

func (w mmu) walk(root, va uint64) translation {
	tr := translation{write: true, user: true}
	table := root
	for level := 3; level >= 0; level-- {
		tr.tables[3-level] = table
		idx := (va >> (12 + 9*uint(level))) & 511
		e := w.entry(table, idx)
		if e&1 == 0 {
			return translation{}
		}
		if e&(1<<7) != 0 {
			w.t.Fatalf("PS bit set at level %d for %#x", level, va)
		}
		tr.write = tr.write && e&2 != 0
		tr.user = tr.user && e&4 != 0
		tr.nx = tr.nx || e&(1<<63) != 0
		if level == 0 {
			tr.present = true
			tr.leaf = e
			tr.phys = e&0x000ffffffffff000 | va&0xfff
			return tr
		}
		table = e & 0x000ffffffffff000
	}
	panic("unreachable")
}

// countTables returns the number of table pages reachable from root's user
// half (PML4 entries 0-254), root excluded.
func (w mmu) countTables(root uint64) int {
	var count func(table uint64, level int) int
	count = func(table uint64, level int) int {
		n := 1
		if level == 0 {
			return n
		}
		for i := uint64(0); i < 512; i++ {
			if e := w.entry(table, i); e&1 != 0 {
				n += count(e&0x000ffffffffff000, level-1)
			}
		}
		return n
	}
	n := 0
	for i := uint64(0); i < 255; i++ {
		if e := w.entry(root, i); e&1 != 0 {
			n += count(e&0x000ffffffffff000, 2)
		}
	}
	return n
}

func memfileRange(off, n uint64) memfile.Range {
	return memfile.Range{Start: off, End: off + n}
}
