package mm

import (
	"slices"
	"testing"
)

func TestPageTable(t *testing.T) {
	pt := newPageTable()
	pg := &physPage{}
	// Pages on both sides of chunk boundaries, and far apart.
	chunk := uint64(ptChunkPages * pageSize)
	addrs := []uint64{0x1000, chunk - pageSize, chunk, chunk + pageSize, 5 * chunk, 1 << 46}
	for _, a := range addrs {
		pt.set(a, pte{page: pg, writable: true})
	}
	pt.set(chunk, pte{page: pg}) // again: replaces, no new entry
	if pt.len() != len(addrs) {
		t.Fatalf("len %d, want %d", pt.len(), len(addrs))
	}
	if p := pt.get(chunk); p == nil || p.writable {
		t.Errorf("get(%#x) = %+v, want the replaced entry", chunk, p)
	}
	if pt.has(2*pageSize) || pt.get(3*chunk) != nil {
		t.Error("an absent page has an entry")
	}
	in := func(start, end uint64) []uint64 {
		var got []uint64
		pt.eachIn(start, end, func(a uint64, _ *pte) bool {
			got = append(got, a)
			return true
		})
		return got
	}
	if got := in(0, ^uint64(0)); !slices.Equal(got, addrs) {
		t.Errorf("eachIn(all) = %#x, want %#x in order", got, addrs)
	}
	// A range walked chunk by chunk, and one walked through the table.
	if got, want := in(chunk-pageSize, chunk+pageSize), addrs[1:3]; !slices.Equal(got, want) {
		t.Errorf("eachIn(small) = %#x, want %#x", got, want)
	}
	if got, want := in(chunk+pageSize, 1<<47), addrs[3:]; !slices.Equal(got, want) {
		t.Errorf("eachIn(large) = %#x, want %#x", got, want)
	}
	n := 0
	pt.eachIn(0, ^uint64(0), func(uint64, *pte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("eachIn went on after false: %d calls", n)
	}
	// Removing the entry being visited, emptying chunks.
	pt.eachIn(0, 2*chunk, func(a uint64, _ *pte) bool {
		pt.remove(a)
		return true
	})
	pt.remove(3 * chunk) // absent: nothing
	if got := in(0, ^uint64(0)); !slices.Equal(got, addrs[4:]) || pt.len() != 2 || len(pt.chunks) != 2 {
		t.Errorf("after removing: %#x, len %d, %d chunks", got, pt.len(), len(pt.chunks))
	}
	seen := 0
	pt.each(func(uint64, *pte) { seen++ })
	pt.clear()
	if seen != 2 || pt.len() != 0 || pt.has(5*chunk) {
		t.Errorf("each saw %d; after clear len %d", seen, pt.len())
	}
}
