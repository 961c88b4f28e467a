package mm_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

func TestBrk(t *testing.T) {
	m, as, _ := newTestMM(t)
	// The heap starts at the page after the data.
	m.SetBrkStart(base + 0x123)
	start := base + pageSize
	if got := m.Brk(0); got != start {
		t.Fatalf("Brk(0) = %#x, want the start %#x", got, start)
	}
	// Below the start: refused, the break is returned.
	if got := m.Brk(start - 1); got != start {
		t.Errorf("Brk below the start = %#x, want %#x", got, start)
	}
	if got := m.Brk(testMaxAddr); got != start {
		t.Errorf("Brk(maxAddr) = %#x, want %#x", got, start)
	}

	// Grow by 3 pages and a bit: 4 pages of heap.
	end := start + 3*pageSize + 5
	if got := m.Brk(end); got != end {
		t.Fatalf("Brk(%#x) = %#x", end, got)
	}
	mustCopyOut(t, m, start, pattern(4*pageSize, 1))
	if _, err := m.CopyOut(pg(start, 4), []byte{1}); err != unix.EFAULT {
		t.Errorf("CopyOut past the heap: %v, want EFAULT", err)
	}
	// Growing again extends the same VMA: growing the whole heap with
	// mremap works only on one VMA (EFAULT across two).
	if got := m.Brk(pg(start, 6)); got != pg(start, 6) {
		t.Fatalf("second grow: %#x", got)
	}
	if got, err := m.Mremap(start, 6*pageSize, 7*pageSize, 0, 0); err != nil || got != start {
		t.Errorf("Mremap growing the whole heap = %#x, %v: the heap is not one VMA", got, err)
	}
	if got, err := m.Mremap(start, 7*pageSize, 6*pageSize, 0, 0); err != nil || got != start {
		t.Fatalf("Mremap shrinking the heap back = %#x, %v", got, err)
	}

	// Shrink to 1 page and a bit: pages 2.. go, from the platform too.
	as.expectMapped(t, start, pg(start, 4), rw)
	if got := m.Brk(start + pageSize + 1); got != start+pageSize+1 {
		t.Fatalf("shrink: %#x", got)
	}
	as.expectUnmapped(t, pg(start, 2), pg(start, 6))
	as.expectMapped(t, start, pg(start, 2), rw)
	if _, err := m.CopyOut(pg(start, 2), []byte{1}); err != unix.EFAULT {
		t.Errorf("CopyOut past the shrunk heap: %v, want EFAULT", err)
	}
	// Growing back gives zeroed pages.
	if got := m.Brk(pg(start, 4)); got != pg(start, 4) {
		t.Fatalf("regrow: %#x", got)
	}
	if got := mustCopyIn(t, m, pg(start, 2), 2*pageSize); !isZero(got) {
		t.Errorf("regrown heap is not zero")
	}
	// All the way back to the start.
	if got := m.Brk(start); got != start {
		t.Fatalf("Brk(start) = %#x", got)
	}
	if isMapped(m, start, 1) {
		t.Errorf("heap still mapped after Brk(start)")
	}
	as.expectUnmapped(t, start, pg(start, 6))
}

func TestBrkRefusesOverlap(t *testing.T) {
	m, _, _ := newTestMM(t)
	m.SetBrkStart(base)
	other := mustMMap(t, m, anon(pg(base, 8), 1, rw))
	mustCopyOut(t, m, other, []byte("mine"))
	if got := m.Brk(pg(base, 4)); got != pg(base, 4) {
		t.Fatalf("Brk: %#x", got)
	}
	if got := m.Brk(pg(base, 9)); got != pg(base, 4) {
		t.Errorf("Brk over a mapping = %#x, want the old break %#x", got, pg(base, 4))
	}
	if got := m.Brk(pg(base, 8) + 1); got != pg(base, 4) {
		t.Errorf("Brk into a mapping = %#x, want the old break %#x", got, pg(base, 4))
	}
	if got := mustCopyIn(t, m, other, 4); string(got) != "mine" {
		t.Errorf("mapping above the heap reads %q", got)
	}
	// A heap larger than all memory is refused.
	m2, _, _ := newTestMM(t)
	m2.SetBrkStart(base)
	if got := m2.Brk(base + memfileSize + pageSize); got != base {
		t.Errorf("Brk beyond all memory = %#x, want %#x", got, base)
	}
}

func TestMremapShrink(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 4, rw))
	data := pattern(4*pageSize, 2)
	mustCopyOut(t, m, addr, data)
	got, err := m.Mremap(addr, 4*pageSize, 2*pageSize-100, 0, 0)
	if err != nil || got != addr {
		t.Fatalf("Mremap shrink = %#x, %v", got, err)
	}
	as.expectUnmapped(t, pg(addr, 2), pg(addr, 4))
	if isMapped(m, pg(addr, 2), 1) {
		t.Errorf("shrunk-off pages still have a VMA")
	}
	if b := mustCopyIn(t, m, addr, 2*pageSize); string(b) != string(data[:2*pageSize]) {
		t.Errorf("remaining pages changed")
	}
}

// Linux always allows a shrinking mremap: it just unmaps the tail, even
// across VMA boundaries.
func TestMremapShrinkAcrossVMAs(t *testing.T) {
	m, as, _ := newTestMM(t)
	mustMMap(t, m, anon(base, 2, rw))
	mustMMap(t, m, anon(pg(base, 2), 2, r))
	mustCopyOut(t, m, base, []byte("head"))
	expectFault(t, m, pg(base, 3), r, faultOK)
	got, err := m.Mremap(base, 4*pageSize, pageSize, 0, 0)
	if err != nil || got != base {
		t.Fatalf("Mremap shrink across VMAs = %#x, %v; want %#x", got, err, base)
	}
	as.expectUnmapped(t, pg(base, 1), pg(base, 4))
	if !isMapped(m, base, 1) || isMapped(m, pg(base, 1), 1) || isMapped(m, pg(base, 3), 1) {
		t.Errorf("after the shrink the VMAs are not just [base, +1 page)")
	}
	if b := mustCopyIn(t, m, base, 4); string(b) != "head" {
		t.Errorf("first page reads %q", b)
	}
}

func TestMremapGrowInPlace(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	mustCopyOut(t, m, addr, []byte("stays"))
	got, err := m.Mremap(addr, 2*pageSize, 5*pageSize, 0, 0)
	if err != nil || got != addr {
		t.Fatalf("Mremap grow = %#x, %v", got, err)
	}
	if !isMapped(m, addr, 5) {
		t.Errorf("grown mapping does not cover 5 pages")
	}
	if b := mustCopyIn(t, m, addr, 5); string(b) != "stays" {
		t.Errorf("contents moved: %q", b)
	}
	mustCopyOut(t, m, pg(addr, 4), []byte{1})
	as.expectMapped(t, addr, pg(addr, 5), rw)
}

func TestMremapGrowBlocked(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	mustMMap(t, m, anon(pg(base, 3), 1, rw))
	mustCopyOut(t, m, addr, []byte("stays"))
	calls := len(as.calls)
	_, err := m.Mremap(addr, 2*pageSize, 4*pageSize, 0, 0)
	expectErr(t, "Mremap grow into a mapping without MAYMOVE", err, unix.ENOMEM)
	if isMapped(m, pg(addr, 2), 1) {
		t.Errorf("failed grow changed the mapping")
	}
	if as.unmaps != 0 || len(as.calls) != calls {
		t.Errorf("failed grow touched the platform")
	}
}

// A MAYMOVE grow that cannot happen in place moves the pages, without
// copying them, and leaves nothing at the old address.
func TestMremapMayMove(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 3, rw))
	mustMMap(t, m, anon(pg(base, 3), 1, rw))
	data := pattern(3*pageSize, 6)
	mustCopyOut(t, m, addr, data)
	offs := []uint64{as.pages[addr].off, as.pages[pg(addr, 1)].off, as.pages[pg(addr, 2)].off}

	got, err := m.Mremap(addr, 3*pageSize, 8*pageSize, mm.MremapMaymove, 0)
	if err != nil {
		t.Fatalf("Mremap MAYMOVE: %v", err)
	}
	if got == addr || (got < pg(addr, 4) && addr < pg(got, 8)) {
		t.Fatalf("moved to %#x, overlapping the old place or the blocker", got)
	}
	as.expectUnmapped(t, addr, pg(addr, 3))
	expectFault(t, m, addr, r, segvMap)
	if isMapped(m, addr, 1) {
		t.Errorf("old address still has a VMA")
	}
	if b := mustCopyIn(t, m, got, 3*pageSize); string(b) != string(data) {
		t.Errorf("contents did not move")
	}
	if b := mustCopyIn(t, m, pg(got, 3), 5*pageSize); !isZero(b) {
		t.Errorf("grown part is not zero")
	}
	// Reads of untouched memory no longer populate it, so fault the moved
	// pages in to see which memory file pages back them.
	expectFault(t, m, got, r, faultOK)
	for i, off := range offs {
		if mp, ok := as.mapped(pg(got, i)); !ok || mp.off != off {
			t.Errorf("page %d at %#x: mapping %+v, want the old memory file page %#x", i, pg(got, i), mp, off)
		}
	}
}

func TestMremapFixed(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	data := pattern(2*pageSize, 8)
	mustCopyOut(t, m, addr, data)
	dst := pg(base, 64)
	victim := mustMMap(t, m, anon(pg(dst, 1), 4, rw))
	mustCopyOut(t, m, victim, pattern(4*pageSize, 9))

	got, err := m.Mremap(addr, 2*pageSize, 3*pageSize, mm.MremapMaymove|mm.MremapFixed, dst)
	if err != nil || got != dst {
		t.Fatalf("Mremap FIXED = %#x, %v; want %#x", got, err, dst)
	}
	as.expectUnmapped(t, addr, pg(addr, 2))
	if isMapped(m, addr, 1) {
		t.Errorf("old range still mapped")
	}
	if b := mustCopyIn(t, m, dst, 2*pageSize); string(b) != string(data) {
		t.Errorf("contents did not move to the fixed address")
	}
	// The part of the victim under the new range was replaced (zero),
	// the rest survives.
	if b := mustCopyIn(t, m, pg(dst, 2), pageSize); !isZero(b) {
		t.Errorf("replaced part of the old mapping at the destination is not zero")
	}
	if b := mustCopyIn(t, m, pg(dst, 3), 2*pageSize); string(b) != string(pattern(4*pageSize, 9)[2*pageSize:]) {
		t.Errorf("rest of the mapping at the destination changed")
	}
}

func TestMremapErrors(t *testing.T) {
	const mv, fx = mm.MremapMaymove, mm.MremapFixed
	for _, tc := range []struct {
		name           string
		old            uint64
		oldLen, newLen uint64
		flags          int
		newAddr        uint64
		want           error
	}{
		{"unaligned old address", base + 1, pageSize, pageSize, 0, 0, unix.EINVAL},
		{"unknown flag", base, pageSize, pageSize, 8, 0, unix.EINVAL},
		{"FIXED without MAYMOVE", base, pageSize, pageSize, fx, pg(base, 64), unix.EINVAL},
		{"new length zero", base, pageSize, 0, mv, 0, unix.EINVAL},
		{"nothing at the old address", pg(base, 32), pageSize, 2 * pageSize, mv, 0, unix.EFAULT},
		{"grow beyond the VMA", base, 5 * pageSize, 6 * pageSize, mv, 0, unix.EFAULT},
		{"old length zero on a private mapping", base, 0, pageSize, mv, 0, unix.EINVAL},
		{"FIXED unaligned new address", base, pageSize, pageSize, mv | fx, pg(base, 64) + 1, unix.EINVAL},
		{"FIXED overlapping", base, 2 * pageSize, 2 * pageSize, mv | fx, pg(base, 1), unix.EINVAL},
		{"FIXED past the end", base, pageSize, 2 * pageSize, mv | fx, testMaxAddr - pageSize, unix.EINVAL},
		{"FIXED below mmap_min_addr", base, pageSize, pageSize, mv | fx, 0, unix.EPERM},
		{"FIXED beyond the VMA", base, 5 * pageSize, 5 * pageSize, mv | fx, pg(base, 64), unix.EFAULT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as, _ := newTestMM(t)
			mustMMap(t, m, anon(base, 4, rw))
			mustMMap(t, m, anon(pg(base, 4), 1, r))
			mustCopyOut(t, m, base, []byte("data"))
			_, err := m.Mremap(tc.old, tc.oldLen, tc.newLen, tc.flags, tc.newAddr)
			expectErr(t, "Mremap", err, tc.want)
			if b := mustCopyIn(t, m, base, 4); string(b) != "data" {
				t.Errorf("failed mremap changed the mapping: %q", b)
			}
			as.expectMapped(t, base, pg(base, 4), rw)
			as.expectUnmapped(t, 0, 0x10000)
		})
	}
}

func TestMadviseDontneed(t *testing.T) {
	fileData := pattern(4*pageSize, 3)
	for _, tc := range []struct {
		name     string
		opts     mm.MMapOpts
		wantKept bool  // written data survives
		wantFile bool  // reads back the file
		wantErr  error // for MADV_FREE
		advice   int   // MadvDontneed unless set
	}{
		{name: "private anonymous reads zeroes", opts: anon(base, 4, rw)},
		{name: "private file re-reads the file", opts: mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw, Private: true}, wantFile: true},
		{name: "shared anonymous keeps its contents", opts: mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw}, wantKept: true},
		{name: "MADV_FREE on shared memory", opts: mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw}, advice: mm.MadvFree, wantErr: unix.EINVAL, wantKept: true},
		{name: "MADV_FREE on a private file mapping", opts: mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw, Private: true}, advice: mm.MadvFree, wantErr: unix.EINVAL, wantKept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as, _ := newTestMM(t)
			opts := tc.opts
			if tc.wantFile || (tc.advice == mm.MadvFree && opts.Private) {
				opts.File = &fakeFile{t: t, data: fileData}
			}
			addr := mustMMap(t, m, opts)
			written := pattern(4*pageSize, 77)
			mustCopyOut(t, m, addr, written)
			advice := tc.advice
			if advice == 0 {
				advice = mm.MadvDontneed
			}
			err := m.Madvise(pg(addr, 1), 2*pageSize, advice)
			expectErr(t, "Madvise", err, tc.wantErr)
			if err == nil {
				as.expectUnmapped(t, pg(addr, 1), pg(addr, 3))
			}
			as.expectMapped(t, addr, pg(addr, 1), rw)
			as.expectMapped(t, pg(addr, 3), pg(addr, 4), rw)
			got := mustCopyIn(t, m, addr, 4*pageSize)
			mid := got[pageSize : 3*pageSize]
			switch {
			case tc.wantKept:
				if string(mid) != string(written[pageSize:3*pageSize]) {
					t.Errorf("advised pages lost their contents")
				}
			case tc.wantFile:
				if string(mid) != string(fileData[pageSize:3*pageSize]) {
					t.Errorf("advised pages do not read the file again")
				}
			default:
				if !isZero(mid) {
					t.Errorf("advised pages do not read as zeroes")
				}
			}
			if string(got[:pageSize]) != string(written[:pageSize]) || string(got[3*pageSize:]) != string(written[3*pageSize:]) {
				t.Errorf("pages outside the advised range changed")
			}
		})
	}
}

func TestMadviseFreePrivateAnonymous(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	mustCopyOut(t, m, addr, pattern(2*pageSize, 1))
	if err := m.Madvise(addr, 2*pageSize, mm.MadvFree); err != nil {
		t.Fatalf("MADV_FREE: %v", err)
	}
	// The pages may be freed or kept; either way the mapping still works
	// and writes after MADV_FREE stick.
	mustCopyOut(t, m, addr, []byte("new"))
	if b := mustCopyIn(t, m, addr, 3); string(b) != "new" {
		t.Errorf("write after MADV_FREE reads back %q", b)
	}
	checkNoAlias(t, as)
}

func checkNoAlias(t *testing.T, as *fakeAS) {
	t.Helper()
	seen := map[uint64]uint64{}
	for a, mp := range as.pages {
		if other, ok := seen[mp.off]; ok {
			t.Errorf("memory file page %#x mapped at %#x and %#x", mp.off, a, other)
		}
		seen[mp.off] = a
	}
}

func TestMadviseErrors(t *testing.T) {
	m, _, _ := newTestMM(t)
	mustMMap(t, m, anon(base, 2, rw))
	for _, tc := range []struct {
		name         string
		addr, length uint64
		want         error
	}{
		{"unaligned", base + 1, pageSize, unix.EINVAL},
		{"zero length", base, 0, nil},
		{"length overflows", base, ^uint64(0), unix.EINVAL},
		{"hole", base, 3 * pageSize, unix.ENOMEM},
		{"unmapped", pg(base, 8), pageSize, unix.ENOMEM},
		{"hint advice", base, 2 * pageSize, nil},
	} {
		advice := mm.MadvDontneed
		if tc.name == "hint advice" {
			advice = unix.MADV_WILLNEED
		}
		expectErr(t, tc.name, m.Madvise(tc.addr, tc.length, advice), tc.want)
	}
}

func TestMincore(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 20, rw))
	vec, err := m.Mincore(addr, 20*pageSize)
	if err != nil {
		t.Fatal(err)
	}
	if !isZero(vec) || len(vec) != 20 {
		t.Errorf("untouched mapping: %v", vec)
	}
	mustCopyOut(t, m, pg(addr, 17), []byte{1})
	vec, err = m.Mincore(addr, 20*pageSize-1)
	if err != nil {
		t.Fatal(err)
	}
	if len(vec) != 20 {
		t.Fatalf("%d entries for 20 pages (length rounded up)", len(vec))
	}
	if vec[17] != 1 {
		t.Errorf("touched page not resident: %v", vec)
	}
	for i, v := range vec {
		if i < 16 && v != 0 {
			t.Errorf("page %d resident, outside the touched window", i)
		}
	}
	for _, tc := range []struct {
		name         string
		addr, length uint64
		want         error
	}{
		{"unaligned", addr + 1, pageSize, unix.EINVAL},
		{"hole after", addr, 21 * pageSize, unix.ENOMEM},
		{"hole before", addr - pageSize, 2 * pageSize, unix.ENOMEM},
		{"wraps", addr, ^uint64(0) - addr, unix.ENOMEM},
	} {
		_, err := m.Mincore(tc.addr, tc.length)
		expectErr(t, tc.name, err, tc.want)
	}
}

// An mremap to the same size changes nothing: in particular it does not
// split the VMA, so the whole mapping can still be grown in place.
func TestMremapSameSize(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 4, rw))
	if got, err := m.Mremap(addr, 2*pageSize, 2*pageSize, 0, 0); err != nil || got != addr {
		t.Fatalf("Mremap same size = %#x, %v", got, err)
	}
	if got, err := m.Mremap(addr, 4*pageSize, 6*pageSize, 0, 0); err != nil || got != addr {
		t.Errorf("growing the whole mapping after a same-size mremap = %#x, %v", got, err)
	}
}

// Moving a MAP_SHARED mapping keeps its memory object: after the move, the
// pages dropped by MADV_DONTNEED come back from the object, not as zeroes.
func TestMremapMovesSharedMemory(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		m, _, _ := newTestMM(t)
		addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw})
		mustMMap(t, m, anon(pg(base, 4), 1, rw)) // blocks growing in place
		data := pattern(4*pageSize, 12)
		mustCopyOut(t, m, addr, data)
		var to uint64
		var err error
		if fixed {
			to, err = m.Mremap(addr, 4*pageSize, 4*pageSize, mm.MremapMaymove|mm.MremapFixed, pg(base, 64))
		} else {
			to, err = m.Mremap(addr, 4*pageSize, 8*pageSize, mm.MremapMaymove, 0)
		}
		if err != nil {
			t.Fatalf("fixed=%v: Mremap: %v", fixed, err)
		}
		if err := m.Madvise(to, 4*pageSize, mm.MadvDontneed); err != nil {
			t.Fatal(err)
		}
		if got := mustCopyIn(t, m, to, 4*pageSize); string(got) != string(data) {
			t.Errorf("fixed=%v: shared memory lost its contents in the move", fixed)
		}
	}
}
