package mm_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

func TestMMapErrors(t *testing.T) {
	file := &fakeFile{t: t, data: make([]byte, pageSize)}
	for _, tc := range []struct {
		name string
		opts mm.MMapOpts
		want error
	}{
		{"zero length", mm.MMapOpts{Length: 0, Perms: rw, Private: true}, unix.EINVAL},
		{"length overflows when rounded", mm.MMapOpts{Length: ^uint64(0), Perms: r, Private: true}, unix.ENOMEM},
		{"length beyond the address space", mm.MMapOpts{Length: testMaxAddr + pageSize, Perms: r, Private: true}, unix.ENOMEM},
		{"fixed unaligned", mm.MMapOpts{Addr: base + 1, Fixed: true, Length: pageSize, Perms: rw, Private: true}, unix.EINVAL},
		{"fixed at 0", mm.MMapOpts{Addr: 0, Fixed: true, Length: pageSize, Perms: rw, Private: true}, unix.EPERM},
		{"fixed below mmap_min_addr", mm.MMapOpts{Addr: 0xf000, Fixed: true, Length: pageSize, Perms: rw, Private: true}, unix.EPERM},
		{"fixed straddling mmap_min_addr", mm.MMapOpts{Addr: 0xf000, Fixed: true, Length: 4 * pageSize, Perms: rw, Private: true}, unix.EPERM},
		{"fixed past the end", mm.MMapOpts{Addr: testMaxAddr - pageSize, Fixed: true, Length: 2 * pageSize, Perms: rw, Private: true}, unix.ENOMEM},
		{"fixed wrapping", mm.MMapOpts{Addr: ^uint64(0) &^ (pageSize - 1), Fixed: true, Length: 2 * pageSize, Perms: rw, Private: true}, unix.ENOMEM},
		{"file offset unaligned", mm.MMapOpts{Length: pageSize, Perms: r, Private: true, File: file, Offset: 100}, unix.EINVAL},
		{"file offset overflows", mm.MMapOpts{Length: 2 * pageSize, Perms: r, Private: true, File: file, Offset: ^uint64(0) &^ (pageSize - 1)}, unix.EOVERFLOW},
		{"perms beyond max perms", mm.MMapOpts{Length: pageSize, Perms: rw, MaxPerms: r | x, File: file}, unix.EACCES},
		{"no room below the mmap base", mm.MMapOpts{Length: testMaxAddr - 64<<20, Perms: r, Private: true}, unix.ENOMEM},
		{"private writable larger than memory", mm.MMapOpts{Length: memfileSize + pageSize, Perms: rw, Private: true}, unix.ENOMEM},
		{"shared anonymous larger than memory", mm.MMapOpts{Length: memfileSize + pageSize, Perms: r}, unix.ENOMEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as, _ := newTestMM(t)
			addr, err := m.MMap(tc.opts)
			expectErr(t, "MMap", err, tc.want)
			if err == nil {
				t.Errorf("MMap returned %#x", addr)
			}
			if len(as.calls) != 0 {
				t.Errorf("failed MMap mapped pages: %+v", as.calls)
			}
		})
	}
}

// Linux's overcommit heuristic only refuses accountable mappings larger
// than all memory; MAP_NORESERVE, read-only private and shared file
// mappings are not accounted.
func TestMMapLargeUnaccountedMappings(t *testing.T) {
	file := &fakeFile{t: t, data: make([]byte, pageSize)}
	big := memfileSize + pageSize
	for _, tc := range []struct {
		name string
		opts mm.MMapOpts
	}{
		{"private writable with NoReserve", mm.MMapOpts{Length: big, Perms: rw, Private: true, NoReserve: true}},
		{"shared anonymous with NoReserve", mm.MMapOpts{Length: big, Perms: rw, NoReserve: true}},
		{"private read-only", mm.MMapOpts{Length: big, Perms: r, Private: true}},
		{"shared file", mm.MMapOpts{Length: big, Perms: rw, File: file}},
		{"private writable of exactly all memory", mm.MMapOpts{Length: memfileSize, Perms: rw, Private: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTestMM(t)
			addr := mustMMap(t, m, tc.opts)
			if !isMapped(m, addr, int(tc.opts.Length/pageSize)) {
				t.Errorf("mapping at %#x not all there", addr)
			}
		})
	}
}

func TestMMapHint(t *testing.T) {
	m, _, _ := newTestMM(t)
	// A free hint is used as is, rounded down to a page.
	if got := mustMMap(t, m, mm.MMapOpts{Addr: base + 123, Length: 2 * pageSize, Perms: rw, Private: true}); got != base {
		t.Errorf("free hint %#x: got %#x, want %#x", base+123, got, base)
	}
	// An occupied hint is not replaced: the mapping goes elsewhere.
	mustCopyOut(t, m, base, []byte("keep"))
	other := mustMMap(t, m, mm.MMapOpts{Addr: base + pageSize, Length: 4 * pageSize, Perms: rw, Private: true})
	if other < base+2*pageSize && base < other+4*pageSize {
		t.Errorf("occupied hint: got %#x, overlapping [%#x, %#x)", other, base, base+2*pageSize)
	}
	if got := mustCopyIn(t, m, base, 4); string(got) != "keep" {
		t.Errorf("the hinted-over mapping now reads %q", got)
	}
	// A hint that does not fit below the end of the address space is
	// ignored too.
	if got := mustMMap(t, m, mm.MMapOpts{Addr: testMaxAddr - pageSize, Length: 2 * pageSize, Perms: rw, Private: true}); got+2*pageSize > testMaxAddr {
		t.Errorf("hint past the end: got %#x", got)
	}
}

// Without a hint, mappings are placed top-down, each below the last, and
// never overlap.
func TestMMapTopDown(t *testing.T) {
	m, _, _ := newTestMM(t)
	var addrs []uint64
	for i := range 4 {
		addr := mustMMap(t, m, anon(0, 3, rw))
		if addr%pageSize != 0 || addr < 0x10000 || addr+3*pageSize > testMaxAddr {
			t.Fatalf("mapping %d at %#x", i, addr)
		}
		if i > 0 && addr+3*pageSize > addrs[i-1] {
			t.Errorf("mapping %d at %#x, want below the previous one at %#x", i, addr, addrs[i-1])
		}
		addrs = append(addrs, addr)
	}
	// The highest hole that fits is reused.
	hole := addrs[1]
	if err := m.Munmap(hole, 3*pageSize); err != nil {
		t.Fatal(err)
	}
	if got := mustMMap(t, m, anon(0, 2, rw)); got != hole+pageSize {
		t.Errorf("after unmapping [%#x, +3 pages): got %#x, want the top of the hole %#x", hole, got, hole+pageSize)
	}
}

func TestMMapFixedReplaces(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 4, rw))
	mustCopyOut(t, m, addr, pattern(4*pageSize, 1))
	// Replace the middle two pages.
	if got := mustMMap(t, m, anon(pg(addr, 1), 2, r)); got != pg(addr, 1) {
		t.Fatalf("fixed mapping at %#x, want %#x", got, pg(addr, 1))
	}
	as.expectUnmapped(t, pg(addr, 1), pg(addr, 3))
	as.expectMapped(t, addr, pg(addr, 1), rw)
	as.expectMapped(t, pg(addr, 3), pg(addr, 4), rw)
	if got := mustCopyIn(t, m, pg(addr, 1), 2*pageSize); !isZero(got) {
		t.Errorf("replaced pages do not read as zeroes")
	}
	want := pattern(4*pageSize, 1)
	if got := mustCopyIn(t, m, addr, pageSize); string(got) != string(want[:pageSize]) {
		t.Errorf("page before the replacement changed")
	}
	if got := mustCopyIn(t, m, pg(addr, 3), pageSize); string(got) != string(want[3*pageSize:]) {
		t.Errorf("page after the replacement changed")
	}
	// The new mapping is read-only.
	expectFault(t, m, pg(addr, 1), w, segvAcc)
}

func TestMMapFixedNoReplace(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	mustCopyOut(t, m, addr, []byte("data"))
	calls := len(as.calls)
	for _, start := range []uint64{pg(addr, -1), addr, pg(addr, 1)} {
		opts := anon(start, 2, rw)
		opts.NoReplace = true
		_, err := m.MMap(opts)
		expectErr(t, "MAP_FIXED_NOREPLACE over a mapping", err, unix.EEXIST)
	}
	if got := mustCopyIn(t, m, addr, 4); string(got) != "data" {
		t.Errorf("existing mapping reads %q after refused replacements", got)
	}
	if len(as.calls) != calls {
		t.Errorf("refused replacements changed platform mappings")
	}
	as.expectMapped(t, addr, pg(addr, 2), rw)
	// Next to the mapping, NoReplace succeeds.
	opts := anon(pg(addr, 2), 1, rw)
	opts.NoReplace = true
	if got := mustMMap(t, m, opts); got != pg(addr, 2) {
		t.Errorf("NoReplace in a free range: %#x", got)
	}
}

func TestMMapFixedAtMmapMinAddr(t *testing.T) {
	m, _, _ := newTestMM(t)
	if got := mustMMap(t, m, anon(0x10000, 1, rw)); got != 0x10000 {
		t.Errorf("got %#x", got)
	}
}

func TestMMapPopulate(t *testing.T) {
	m, as, _ := newTestMM(t)
	opts := anon(base+3*pageSize, 40, rw)
	opts.Populate = true
	addr := mustMMap(t, m, opts)
	as.expectMapped(t, addr, pg(addr, 40), rw)
	vec, err := m.Mincore(addr, 40*pageSize)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vec {
		if v != 1 {
			t.Errorf("page %d not resident after MAP_POPULATE", i)
		}
	}
	as.expectUnmapped(t, base, addr)
	as.expectUnmapped(t, pg(addr, 40), pg(addr, 64))
}

// MAP_POPULATE of a file mapping longer than the file populates what the
// file backs and still succeeds.
func TestMMapPopulatePastEOF(t *testing.T) {
	m, as, _ := newTestMM(t)
	f := &fakeFile{t: t, data: pattern(pageSize+10, 3)}
	addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: r, Private: true, File: f, Populate: true})
	as.expectMapped(t, addr, pg(addr, 2), r)
	as.expectUnmapped(t, pg(addr, 2), pg(addr, 4))
}

func TestMunmapErrors(t *testing.T) {
	m, _, _ := newTestMM(t)
	for _, tc := range []struct {
		name         string
		addr, length uint64
		want         error
	}{
		{"unaligned", base + 1, pageSize, unix.EINVAL},
		{"zero length", base, 0, unix.EINVAL},
		{"past the end", testMaxAddr - pageSize, 2 * pageSize, unix.EINVAL},
		{"length overflows", base, ^uint64(0), unix.EINVAL},
		{"nothing mapped", base, pageSize, nil},
		{"length rounded up", base, 1, nil},
	} {
		expectErr(t, tc.name, m.Munmap(tc.addr, tc.length), tc.want)
	}
}

// Munmap in the middle of a mapping splits it, takes the pages out of the
// platform address space (a stale translation would let the application
// reach memory that is given to someone else next) and frees them for
// reuse, zeroed.
func TestMunmapMiddle(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 8, rw))
	data := pattern(8*pageSize, 7)
	mustCopyOut(t, m, addr, data)
	as.expectMapped(t, addr, pg(addr, 8), rw)
	freed := map[uint64]bool{}
	for a := pg(addr, 3); a < pg(addr, 5); a += pageSize {
		freed[as.pages[a].off] = true
	}

	if err := m.Munmap(pg(addr, 3), 2*pageSize); err != nil {
		t.Fatal(err)
	}
	as.expectUnmapped(t, pg(addr, 3), pg(addr, 5))
	as.expectMapped(t, addr, pg(addr, 3), rw)
	as.expectMapped(t, pg(addr, 5), pg(addr, 8), rw)
	expectFault(t, m, pg(addr, 3), r, segvMap)
	expectFault(t, m, pg(addr, 4)+100, w, segvMap)
	if _, err := m.CopyIn(pg(addr, 3), make([]byte, 1)); err != unix.EFAULT {
		t.Errorf("CopyIn from the hole: %v, want EFAULT", err)
	}
	// Two mappings remain, with their contents.
	if !isMapped(m, addr, 3) || !isMapped(m, pg(addr, 5), 3) || isMapped(m, addr, 8) {
		t.Errorf("VMAs after the split are not [0,3) and [5,8)")
	}
	if got := mustCopyIn(t, m, addr, 3*pageSize); string(got) != string(data[:3*pageSize]) {
		t.Errorf("lower half changed")
	}
	if got := mustCopyIn(t, m, pg(addr, 5), 3*pageSize); string(got) != string(data[5*pageSize:]) {
		t.Errorf("upper half changed")
	}

	// The freed memory file pages are handed out again, zeroed.
	opts := anon(pg(addr, 32), 1, rw)
	opts.Populate = true
	n := mustMMap(t, m, opts)
	got, ok := as.mapped(n)
	if !ok {
		t.Fatalf("populated page not mapped")
	}
	if !freed[got.off] {
		t.Errorf("new page got memory file offset %#x, want one of the freed %v", got.off, freed)
	}
	if b := mustCopyIn(t, m, n, pageSize); !isZero(b) {
		t.Errorf("reused page is not zero")
	}
}

// Unmapping a range that spans several mappings and holes removes all of
// them.
func TestMunmapAcrossMappings(t *testing.T) {
	m, as, _ := newTestMM(t)
	mustMMap(t, m, anon(base, 2, rw))
	mustMMap(t, m, anon(pg(base, 3), 2, r))
	mustMMap(t, m, anon(pg(base, 6), 2, rw))
	for _, a := range []uint64{base, pg(base, 3), pg(base, 6)} {
		if res := m.HandleFault(a, r, false); res != faultOK {
			t.Fatalf("fault at %#x: %+v", a, res)
		}
	}
	if err := m.Munmap(pg(base, 1), 6*pageSize); err != nil {
		t.Fatal(err)
	}
	as.expectUnmapped(t, pg(base, 1), pg(base, 7))
	as.expectMapped(t, base, pg(base, 1), rw)
	as.expectMapped(t, pg(base, 7), pg(base, 8), rw)
	for i := 1; i < 7; i++ {
		if isMapped(m, pg(base, i), 1) {
			t.Errorf("page %d still has a VMA", i)
		}
	}
}

// Release frees every page and the platform address space.
func TestRelease(t *testing.T) {
	m, as, mf := newTestMM(t)
	opts := anon(base, 5, rw)
	opts.Populate = true
	mustMMap(t, m, opts)
	offs := map[uint64]bool{}
	for _, mp := range as.pages {
		offs[mp.off] = true
	}
	m.Release()
	if !as.released {
		t.Errorf("platform address space not released")
	}
	fr, err := mf.Allocate(pageSize)
	if err != nil {
		t.Fatal(err)
	}
	if !offs[fr.Start] {
		t.Errorf("memory file handed out %#x after Release, want a released page from %v", fr.Start, offs)
	}
}
