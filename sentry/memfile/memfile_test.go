package memfile_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

const pageSize = 4096

func newFile(t *testing.T, size uint64) *memfile.File {
	t.Helper()
	f, err := memfile.New("memfile-test", size)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

func mustAllocate(t *testing.T, f *memfile.File, length uint64) memfile.Range {
	t.Helper()
	r, err := f.Allocate(length)
	if err != nil {
		t.Fatalf("Allocate(%#x): %v", length, err)
	}
	return r
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestNew(t *testing.T) {
	f := newFile(t, 1<<30)
	if f.Size() != 1<<30 {
		t.Errorf("Size = %#x", f.Size())
	}
	if f.FD() < 0 {
		t.Errorf("FD = %d", f.FD())
	}
}

func TestAllocateBadLengths(t *testing.T) {
	f := newFile(t, 64*pageSize)
	for _, length := range []uint64{0, 1, pageSize - 1, pageSize + 1, 3*pageSize + 100} {
		if r, err := f.Allocate(length); err == nil {
			t.Errorf("Allocate(%#x) = %+v, want an error", length, r)
		}
	}
	// The failures consumed nothing.
	if r := mustAllocate(t, f, pageSize); r.Start != pageSize {
		t.Errorf("first allocation after bad ones at %#x, want %#x", r.Start, pageSize)
	}
}

// A length so large that it wraps the file's bookkeeping must fail, not
// hand out a bogus range.
func TestAllocateHugeLength(t *testing.T) {
	f := newFile(t, 64*pageSize)
	for _, length := range []uint64{^uint64(0) &^ (pageSize - 1), 1 << 63, ^uint64(0) - 2*pageSize + 1} {
		r, err := f.Allocate(length)
		if !errors.Is(err, memfile.ErrNoMemory) {
			t.Errorf("Allocate(%#x) = %+v, %v; want ErrNoMemory", length, r, err)
		}
	}
	r := mustAllocate(t, f, pageSize)
	if r.Start != pageSize || r.Length() != pageSize {
		t.Errorf("allocation after huge requests = %+v", r)
	}
}

func TestAllocate(t *testing.T) {
	f := newFile(t, 1<<20)
	var got []memfile.Range
	for _, n := range []uint64{1, 3, 1, 16} {
		r := mustAllocate(t, f, n*pageSize)
		if r.Start%pageSize != 0 || r.End%pageSize != 0 || r.Length() != n*pageSize {
			t.Errorf("Allocate(%d pages) = %+v", n, r)
		}
		if r.Start == 0 {
			t.Errorf("offset 0 handed out: a zero Range must mean none")
		}
		if r.End > f.Size() {
			t.Errorf("%+v past the end of the file", r)
		}
		for _, o := range got {
			if r.Start < o.End && o.Start < r.End {
				t.Errorf("%+v overlaps %+v", r, o)
			}
		}
		s := f.Slice(r)
		if uint64(len(s)) != r.Length() || uint64(cap(s)) != r.Length() {
			t.Errorf("Slice(%+v) has len %d cap %d", r, len(s), cap(s))
		}
		if !isZero(s) {
			t.Errorf("fresh %+v is not zero", r)
		}
		fill(s, 0x5a)
		got = append(got, r)
	}
	// Writes through one range's slice stay in it.
	for _, r := range got {
		for i, b := range f.Slice(r) {
			if b != 0x5a {
				t.Fatalf("%+v byte %d = %#x", r, i, b)
			}
		}
	}
}

// Allocate reuses released ranges, zeroed, before growing the file.
func TestReleaseZeroesAndReuses(t *testing.T) {
	f := newFile(t, 1<<20)
	a := mustAllocate(t, f, 4*pageSize)
	b := mustAllocate(t, f, pageSize)
	fill(f.Slice(a), 0xff)
	fill(f.Slice(b), 0xee)
	f.Release(a)
	// A smaller allocation is carved out of the released range.
	c := mustAllocate(t, f, pageSize)
	if c.Start < a.Start || c.End > a.End {
		t.Errorf("Allocate(1 page) after Release(%+v) = %+v, want reuse", a, c)
	}
	if !isZero(f.Slice(c)) {
		t.Errorf("reused range is not zero")
	}
	// The rest of it is used before the file grows.
	d := mustAllocate(t, f, 3*pageSize)
	if d.Start < a.Start || d.End > a.End || (d.Start < c.End && c.Start < d.End) {
		t.Errorf("Allocate(3 pages) = %+v, want the rest of %+v beside %+v", d, a, c)
	}
	// Neighbours keep their contents.
	for _, v := range f.Slice(b) {
		if v != 0xee {
			t.Fatalf("a neighbour of the released range changed")
		}
	}
	// Nothing is left: the next allocation grows the file.
	e := mustAllocate(t, f, pageSize)
	if e.Start < b.End {
		t.Errorf("Allocate after the free list is used up = %+v, want past %#x", e, b.End)
	}
	f.Release(memfile.Range{}) // a no-op
}

// A run of pages released one by one, in any order (as a process exit
// releases them), is handed out again whole: its pages are still the
// host's, where a hole or a new part of the file costs a host page fault
// per page on first touch.
func TestPagesReleasedSinglyAreReusedAsARun(t *testing.T) {
	f := newFile(t, 1<<20)
	const n = 8
	run := mustAllocate(t, f, n*pageSize)
	mustAllocate(t, f, pageSize) // keeps the run off the file's end
	fill(f.Slice(run), 0xaa)
	for _, i := range []uint64{5, 0, 7, 2, 6, 1, 4, 3} {
		f.Release(memfile.Range{Start: run.Start + i*pageSize, End: run.Start + (i+1)*pageSize})
	}
	again := mustAllocate(t, f, n*pageSize)
	if again != run {
		t.Errorf("Allocate(%d pages) after releasing %+v page by page = %+v, want it back", n, run, again)
	}
	if !isZero(f.Slice(again)) {
		t.Errorf("reused run is not zero")
	}
}

// A released range too small for a request is skipped, not split across.
func TestReleaseTooSmallIsSkipped(t *testing.T) {
	f := newFile(t, 1<<20)
	a := mustAllocate(t, f, pageSize)
	mustAllocate(t, f, pageSize)
	f.Release(a)
	r := mustAllocate(t, f, 2*pageSize)
	if r.Start < a.End && a.Start < r.End {
		t.Errorf("2-page allocation %+v overlaps the 1-page hole %+v", r, a)
	}
	if r2 := mustAllocate(t, f, pageSize); r2 != a {
		t.Errorf("1-page allocation = %+v, want the hole %+v", r2, a)
	}
}

func TestErrNoMemory(t *testing.T) {
	// Offset 0 is never handed out, so 4 pages of file hold 3 pages.
	f := newFile(t, 4*pageSize)
	r := mustAllocate(t, f, 3*pageSize)
	if _, err := f.Allocate(pageSize); !errors.Is(err, memfile.ErrNoMemory) {
		t.Errorf("Allocate from a full file: %v, want ErrNoMemory", err)
	}
	f.Release(r)
	if _, err := f.Allocate(4 * pageSize); !errors.Is(err, memfile.ErrNoMemory) {
		t.Errorf("Allocate larger than the file: %v, want ErrNoMemory", err)
	}
	if got := mustAllocate(t, f, 3*pageSize); got != r {
		t.Errorf("Allocate after Release = %+v, want %+v", got, r)
	}
}

func TestConcurrentAllocateRelease(t *testing.T) {
	f := newFile(t, 1<<24)
	done := make(chan []memfile.Range)
	for g := range 8 {
		go func() {
			var kept []memfile.Range
			for i := range 200 {
				r, err := f.Allocate(uint64(1+i%3) * pageSize)
				if err != nil {
					t.Errorf("Allocate: %v", err)
					break
				}
				if !isZero(f.Slice(r)) {
					t.Errorf("allocation %+v not zero", r)
				}
				fill(f.Slice(r), byte(g+1))
				if i%2 == 0 {
					f.Release(r)
				} else {
					kept = append(kept, r)
				}
			}
			done <- kept
		}()
	}
	owner := map[uint64]int{}
	for g := range 8 {
		for _, r := range <-done {
			for o := r.Start; o < r.End; o += pageSize {
				if prev, ok := owner[o]; ok {
					t.Errorf("page %#x held by goroutines %d and %d", o, prev, g)
				}
				owner[o] = g
			}
		}
	}
}

// isHole reports whether r holds no host pages (SEEK_DATA finds none in it).
func isHole(t *testing.T, f *memfile.File, r memfile.Range) bool {
	t.Helper()
	off, err := unix.Seek(f.FD(), int64(r.Start), unix.SEEK_DATA)
	if err == unix.ENXIO {
		return true
	}
	if err != nil {
		t.Fatalf("SEEK_DATA: %v", err)
	}
	return uint64(off) >= r.End
}

// Released pages go back to the host on Flush, or by themselves once
// enough of them wait; those reused before that come back zeroed.
func TestReleasedPagesReturnToTheHost(t *testing.T) {
	f := newFile(t, 1<<30)
	a := mustAllocate(t, f, 16*pageSize)
	fill(f.Slice(a), 0xaa)
	f.Release(a)
	f.Flush()
	if !isHole(t, f, a) {
		t.Errorf("flushed range %+v still holds host pages", a)
	}
	if got := mustAllocate(t, f, 16*pageSize); got != a || !isZero(f.Slice(got)) {
		t.Errorf("allocation after Flush = %+v (zero %v), want %+v zeroed", got, isZero(f.Slice(got)), a)
	}

	// Many scattered single pages, more than the dirty limit in all:
	// released every other one, so they coalesce only among themselves.
	const n = 2 * (32 << 20) / pageSize
	pages := make([]memfile.Range, n)
	for i := range pages {
		pages[i] = mustAllocate(t, f, pageSize)
		f.Slice(pages[i])[0] = 1
	}
	for i := 0; i < n; i += 2 {
		f.Release(pages[i])
	}
	holes := 0
	for i := 0; i < n; i += 2 {
		if isHole(t, f, pages[i]) {
			holes++
		}
	}
	if holes == 0 {
		t.Errorf("none of %d released pages (%d MiB) went back to the host", n/2, n/2*pageSize>>20)
	}
	for i := 1; i < n; i += 2 {
		if f.Slice(pages[i])[0] != 1 {
			t.Fatalf("page %+v, still allocated, lost its contents", pages[i])
		}
	}
}
