package memfile

import "testing"

// TestGiveBackPunchesGapsWithTheBatch: pages released between pages given
// back earlier are punched in one call with the free pages between them,
// and every page reads zero and is reused afterwards.
func TestGiveBackPunchesGapsWithTheBatch(t *testing.T) {
	f, err := New("memfile-gaps-test", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run, err := f.Allocate(8 * pageSize)
	if err != nil {
		t.Fatal(err)
	}
	page := func(i uint64) Range {
		return Range{run.Start + i*pageSize, run.Start + (i+1)*pageSize}
	}
	for i := range uint64(8) {
		f.Slice(page(i))[0] = byte(i + 1)
	}
	for _, i := range []uint64{0, 2, 4, 6} {
		f.Release(page(i))
	}
	f.Flush()
	before := f.punches.Load()
	for _, i := range []uint64{1, 3, 5} {
		f.Release(page(i))
	}
	f.Flush()
	if n := f.punches.Load() - before; n != 1 {
		t.Errorf("pages 1, 3 and 5 between free pages 0-6 took %d punches, want 1", n)
	}
	f.mu.Lock()
	free := append([]Range(nil), f.free...)
	f.mu.Unlock()
	if len(free) != 1 || free[0] != (Range{page(0).Start, page(6).End}) {
		t.Errorf("free list %v, want the one run of pages 0-6", free)
	}
	for i := range uint64(7) {
		if b := f.Slice(page(i)); b[0] != 0 {
			t.Errorf("page %d reads %d after it was given back, want 0", i, b[0])
		}
	}
	if r, err := f.Allocate(7 * pageSize); err != nil || r != (Range{page(0).Start, page(6).End}) {
		t.Errorf("Allocate of 7 pages = %v, %v; want the freed run", r, err)
	}
}
