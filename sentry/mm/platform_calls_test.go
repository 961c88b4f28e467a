package mm_test

import (
	"testing"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// Each platform call is a round trip to a host process on the systrap and
// ptrace platforms; these tests pin down the calls mm saves.

// cachedFile is a fakeFile with a page cache, as goferfs files have: private
// mappings of it share the cache's pages copy-on-write.
type cachedFile struct {
	*fakeFile
	cache *mm.SharedMemory
}

func newCachedFile(t *testing.T, data []byte) *cachedFile {
	return &cachedFile{fakeFile: &fakeFile{t: t, data: data}, cache: mm.NewPageCache()}
}

func (f *cachedFile) SharedMemory() *mm.SharedMemory { return f.cache }

func (f *cachedFile) ReadAtUncached(p []byte, off int64) (int, error) {
	return f.fakeFile.ReadAt(p, off)
}

func (f *cachedFile) WriteBack(*mm.SharedMemory, uint64, uint64) {}

func TestUnmapOfUntouchedMemoryMakesNoPlatformCall(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 4, rw))
	if err := m.Munmap(addr, 4*pageSize); err != nil {
		t.Fatal(err)
	}
	// A fixed mapping over untouched memory replaces it without a call.
	addr = mustMMap(t, m, anon(base, 4, rw))
	mustMMap(t, m, anon(base, 2, r))
	if as.unmaps != 0 {
		t.Errorf("%d Unmap calls for memory never mapped in the platform, want 0", as.unmaps)
	}
	expectFault(t, m, pg(addr, 3), w, faultOK)
	if err := m.Munmap(addr, 4*pageSize); err != nil {
		t.Fatal(err)
	}
	if as.unmaps != 1 {
		t.Errorf("%d Unmap calls after munmap of a touched page, want 1", as.unmaps)
	}
	as.expectUnmapped(t, addr, pg(addr, 4))
}

// TestMadviseOfUntouchedMemoryMakesNoPlatformCall: MADV_DONTNEED of a range
// with no page mapped (glibc advises away the unused part of an exiting
// thread's stack) makes no Unmap call; with a page mapped it makes one
// and the page reads zero again.
func TestMadviseOfUntouchedMemoryMakesNoPlatformCall(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 8, rw))
	if err := m.Madvise(addr, 8*pageSize, mm.MadvDontneed); err != nil {
		t.Fatal(err)
	}
	if as.unmaps != 0 {
		t.Errorf("%d Unmap calls for advice on memory never mapped in the platform, want 0", as.unmaps)
	}
	expectFault(t, m, pg(addr, 5), w, faultOK)
	mustCopyOut(t, m, pg(addr, 5), []byte("data"))
	if err := m.Madvise(addr, 8*pageSize, mm.MadvDontneed); err != nil {
		t.Fatal(err)
	}
	if as.unmaps != 1 {
		t.Errorf("%d Unmap calls after advice on a touched page, want 1", as.unmaps)
	}
	as.expectUnmapped(t, addr, pg(addr, 8))
	if got := mustCopyIn(t, m, pg(addr, 5), 4); string(got) != "\x00\x00\x00\x00" {
		t.Errorf("after MADV_DONTNEED the page reads %q, want zeroes", got)
	}
}

func TestForkWriteProtectsByMappingReadOnly(t *testing.T) {
	m, as, _ := newTestMM(t)
	// Larger than what fork copies outright.
	const n = 64
	addr := mustMMap(t, m, anon(base, n, rw))
	for i := 0; i < n; i++ {
		mustCopyOut(t, m, pg(addr, i), []byte{'p', byte(i)})
	}
	as.expectMapped(t, addr, pg(addr, n), rw)
	child := m.Fork(newFakeAS(t))
	defer child.DecUsers()
	if as.unmaps != 0 {
		t.Errorf("fork of four runs made %d Unmap calls, want none", as.unmaps)
	}
	// Reads need no fault; a write copies its page.
	as.expectMapped(t, addr, pg(addr, n), r)
	expectFault(t, m, pg(addr, 3), w, faultOK)
	as.expectMapped(t, pg(addr, 3), pg(addr, 4), rw)
	as.expectMapped(t, pg(addr, 4), pg(addr, n), r)
	// A write far from it copies its page alone too (scattered writes).
	expectFault(t, m, pg(addr, 40), w, faultOK)
	as.expectMapped(t, pg(addr, 40), pg(addr, 41), rw)
	as.expectMapped(t, pg(addr, 32), pg(addr, 40), r)
	as.expectMapped(t, pg(addr, 41), pg(addr, 48), r)
	// The next write close to it copies the rest of its window, in one
	// call (dense writes, cow.go).
	calls := len(as.calls)
	expectFault(t, m, pg(addr, 42), w, faultOK)
	if got := len(as.calls) - calls; got > 2 {
		t.Errorf("a copy-on-write fault of a window made %d MapFile calls, want at most 2", got)
	}
	as.expectMapped(t, pg(addr, 32), pg(addr, 48), rw)
	as.expectMapped(t, pg(addr, 48), pg(addr, n), r)
	for _, i := range []int{3, 32, 40, 42, 47} {
		mustCopyOut(t, m, pg(addr, i), []byte{'P'})
		if got := mustCopyIn(t, child, pg(addr, i), 2); string(got) != string([]byte{'p', byte(i)}) {
			t.Errorf("child sees %q at page %d after the parent's write, want %q", got, i, []byte{'p', byte(i)})
		}
	}
}

// TestForkCopiesHotPagesAndMapsChildAhead: the pages around the forking
// thread's stack pointer are copied for the child, so neither side faults
// writing them, and the child starts with its parent's pages mapped.
func TestForkCopiesHotPagesAndMapsChildAhead(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 32, rw))
	for i := 0; i < 16; i++ {
		mustCopyOut(t, m, pg(addr, i), []byte{'p', byte(i)})
	}
	as.expectMapped(t, addr, pg(addr, 16), rw)
	childAS := newFakeAS(t)
	child := m.Fork(childAS, pg(addr, 8)+100)
	defer child.DecUsers()
	as.expectMapped(t, addr, pg(addr, 7), r)
	as.expectMapped(t, pg(addr, 7), pg(addr, 10), rw)
	as.expectMapped(t, pg(addr, 10), pg(addr, 16), r)
	childAS.expectMapped(t, addr, pg(addr, 7), r)
	childAS.expectMapped(t, pg(addr, 7), pg(addr, 10), rw)
	childAS.expectMapped(t, pg(addr, 10), pg(addr, 16), r)
	mustCopyOut(t, m, pg(addr, 8), []byte("P"))
	mustCopyOut(t, child, pg(addr, 9), []byte("C"))
	if got := mustCopyIn(t, child, pg(addr, 8), 2); string(got) != "p\x08" {
		t.Errorf("child's hot page holds %q after the parent's write, want %q", got, "p\x08")
	}
	if got := mustCopyIn(t, m, pg(addr, 9), 2); string(got) != "p\x09" {
		t.Errorf("parent's hot page holds %q after the child's write, want %q", got, "p\x09")
	}
}

// TestForkCopiesSmallWritableVMAs: the written pages of small writable
// private VMAs (a program's .data and .bss) are copied for the child
// instead of shared, up to a budget; larger VMAs stay copy-on-write.
func TestForkCopiesSmallWritableVMAs(t *testing.T) {
	m, as, _ := newTestMM(t)
	const small, smallVMAs = 4, 20 // 80 pages: more than the budget
	for i := 0; i < smallVMAs; i++ {
		a := mustMMap(t, m, anon(pg(base, 8*i), small, rw))
		for j := 0; j < small; j++ {
			mustCopyOut(t, m, pg(a, j), []byte{'s', byte(i), byte(j)})
		}
	}
	large := mustMMap(t, m, anon(pg(base, 1024), 32, rw))
	mustCopyOut(t, m, large, []byte("large"))
	childAS := newFakeAS(t)
	child := m.Fork(childAS)
	defer child.DecUsers()

	copied := 0
	for i := 0; i < smallVMAs; i++ {
		for j := 0; j < small; j++ {
			a := pg(base, 8*i+j)
			mp, ok := as.mapped(a)
			if !ok {
				t.Fatalf("page %#x unmapped in the parent", a)
			}
			if mp.perms != rw {
				continue
			}
			copied++
			// Each side writes its own copy without a fault.
			cp, ok := childAS.mapped(a)
			if !ok || cp.perms != rw || cp.off == mp.off {
				t.Errorf("copied page %#x: child %+v %v, parent %+v", a, cp, ok, mp)
			}
		}
	}
	if copied != 64 {
		t.Errorf("%d pages of small VMAs copied, want the budget, 64", copied)
	}
	as.expectMapped(t, large, pg(large, 16), r)
	childAS.expectMapped(t, large, pg(large, 16), r)
	mustCopyOut(t, m, pg(base, 0), []byte("P"))
	mustCopyOut(t, child, pg(base, 1), []byte("C"))
	if got := mustCopyIn(t, child, pg(base, 0), 3); string(got) != "s\x00\x00" {
		t.Errorf("child sees %q after the parent's write, want its own copy", got)
	}
	if got := mustCopyIn(t, m, pg(base, 1), 3); string(got) != "s\x00\x01" {
		t.Errorf("parent sees %q after the child's write, want its own copy", got)
	}
}

// A process with more than one thread forks sharing every private page
// copy-on-write: another thread's stores must reach the child up to one
// point in its run, which copies made while it runs do not give.
func TestForkOfAThreadedProcessCopiesNothing(t *testing.T) {
	m, as, _ := newTestMM(t)
	small := mustMMap(t, m, anon(base, 4, rw))
	mustCopyOut(t, m, small, []byte("small"))
	stack := mustMMap(t, m, anon(pg(base, 1024), 32, rw))
	mustCopyOut(t, m, pg(stack, 8), []byte("stack"))
	m.IncUsers() // a second thread
	defer m.DecUsers()
	childAS := newFakeAS(t)
	child := m.Fork(childAS, pg(stack, 8))
	defer child.DecUsers()
	for _, a := range []uint64{small, pg(stack, 8)} {
		mp, ok := as.mapped(a)
		if !ok || mp.perms != r {
			t.Errorf("parent's page %#x: %+v %v, want it read-only, shared copy-on-write", a, mp, ok)
		}
		if cp, ok := childAS.mapped(a); ok && (cp.perms != r || cp.off != mp.off) {
			t.Errorf("child's page %#x: %+v, want the parent's page (%+v), read-only", a, cp, mp)
		}
	}
}

// TestReleaseFreesPagesAfterThePlatform: the memory file pages of an
// address space are freed only once the platform address space is
// released; before, a page could be handed to another process while a
// thread of this one could still reach it.
func TestReleaseFreesPagesAfterThePlatform(t *testing.T) {
	m, as, mf := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 4, rw))
	mustCopyOut(t, m, addr, make([]byte, 4*pageSize))
	inUse := mf.InUse()
	as.onRelease = func() {
		if got := mf.InUse(); got != inUse {
			t.Errorf("%d bytes of the memory file in use while the platform releases, want %d: pages freed first", got, inUse)
		}
	}
	m.DecUsers()
	if !as.released {
		t.Fatal("the platform address space was not released")
	}
	if got := mf.InUse(); got >= inUse {
		t.Errorf("%d bytes in use after the release, want less than %d", got, inUse)
	}
}

func TestForkOfManyRunsUnmaps(t *testing.T) {
	const n = 48
	f := newCachedFile(t, pattern(n*pageSize, 4))
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: n * pageSize, Perms: rw, Private: true, File: f})
	// Writing every other page of a private file mapping copies only the
	// written pages (the others still show the file), which leaves the
	// VMA in n runs of the memory file. (One read fault maps all n
	// pages; a fault on a page mapped read-only in a writable mapping
	// is a write.)
	expectFault(t, m, addr, r, faultOK)
	for i := 0; i < n; i += 2 {
		expectFault(t, m, pg(addr, i), w, faultOK)
	}
	before := as.unmaps
	child := m.Fork(newFakeAS(t))
	defer child.DecUsers()
	if as.unmaps != before+1 {
		t.Errorf("fork of %d runs made %d Unmap calls, want 1", n, as.unmaps-before)
	}
	as.expectUnmapped(t, addr, pg(addr, n))
	expectFault(t, m, pg(addr, 1), r, faultOK)
	if mp, ok := as.mapped(pg(addr, 1)); !ok || mp.perms != r {
		t.Errorf("page 1 after a read fault: %+v %v, want mapped read-only", mp, ok)
	}
}

func TestWriteFaultOnPrivateFilePageCopiesAtOnce(t *testing.T) {
	data := pattern(8*pageSize, 3)
	f := newCachedFile(t, data)
	m, as, mf := newTestMM(t)
	addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 8 * pageSize, Perms: rw, Private: true, File: f})
	expectFault(t, m, pg(addr, 2), w, faultOK)
	as.expectMapped(t, pg(addr, 2), pg(addr, 3), rw)
	as.expectMapped(t, addr, pg(addr, 2), r)
	mustCopyOut(t, m, pg(addr, 2), []byte("mine"))
	// The cache page, which other processes' mappings share, is
	// untouched.
	other := mm.New(mf, newFakeAS(t), testMaxAddr)
	defer other.DecUsers()
	mustMMap(t, other, mm.MMapOpts{Addr: base, Fixed: true, Length: 8 * pageSize, Perms: r, Private: true, File: f})
	if got := mustCopyIn(t, other, pg(addr, 2), 4); string(got) != string(data[2*pageSize:2*pageSize+4]) {
		t.Errorf("another mapping of the file sees %q, want the file's bytes", got)
	}
}

func TestFaultMapsResidentCachePages(t *testing.T) {
	const filePages = 512
	f := newCachedFile(t, pattern(filePages*pageSize, 9))
	m, as, mf := newTestMM(t)
	opts := mm.MMapOpts{Addr: base, Fixed: true, Length: filePages * pageSize, Perms: r | x, Private: true, File: f}
	addr := mustMMap(t, m, opts)
	expectFault(t, m, addr, r, faultOK)
	// A window of missing pages is one piece of the memory file.
	if len(as.calls) != 1 {
		t.Errorf("a fault on a 64-page window made %d MapFile calls, want 1", len(as.calls))
	}
	expectFault(t, m, pg(addr, 100), r, faultOK)
	reads := f.reads

	// Another process maps the file (the program started again).
	as2 := newFakeAS(t)
	m2 := mm.New(mf, as2, testMaxAddr)
	defer m2.DecUsers()
	if got := mustMMap(t, m2, opts); got != addr {
		t.Fatalf("second mapping at %#x, want %#x", got, addr)
	}
	expectFault(t, m2, addr, r, faultOK)
	if f.reads != reads {
		t.Errorf("mapping resident pages read the file %d times", f.reads-reads)
	}
	// The pages both windows populated are mapped at once; those never
	// read stay unmapped.
	as2.expectMapped(t, addr, pg(addr, 128), r|x)
	as2.expectUnmapped(t, pg(addr, 128), pg(addr, filePages))
	for i := 0; i < 128; i++ {
		a, b := mustCopyIn(t, m, pg(addr, i), 16), mustCopyIn(t, m2, pg(addr, i), 16)
		if string(a) != string(b) {
			t.Fatalf("page %d differs between the processes", i)
		}
	}
}

// TestForkAndMprotectOfAHugeReservation: fork and mprotect of a mapping
// cost what its populated pages cost, not what its length does. The
// mapping below is 2^34 pages with two touched; a walk of its range page
// by page (what both did) would take hours, and the test would time out.
func TestForkAndMprotectOfAHugeReservation(t *testing.T) {
	_, _, mf := newTestMM(t)
	as := newFakeAS(t)
	m := mm.New(mf, as, 1<<47)
	defer m.DecUsers()
	const length = uint64(1) << 46
	addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: length, Perms: rw, Private: true, NoReserve: true})
	far := addr + length/2
	mustCopyOut(t, m, addr, []byte("near"))
	mustCopyOut(t, m, far, []byte("far"))
	// Written after the fork's copy-on-write sharing: the parent faults
	// for its own copies, the child keeps the old bytes.
	child := m.Fork(newFakeAS(t))
	defer child.DecUsers()
	as.expectMapped(t, addr, pg(addr, 1), r)
	as.expectMapped(t, far, pg(far, 1), r)
	mustCopyOut(t, m, far, []byte("FAR"))
	if got := mustCopyIn(t, child, far, 3); string(got) != "far" {
		t.Errorf("child reads %q after the parent's write, want %q", got, "far")
	}
	if err := m.Mprotect(addr, length, r, false); err != nil {
		t.Fatal(err)
	}
	as.expectMapped(t, far, pg(far, 1), r)
	if got := mustCopyIn(t, m, far, 3); string(got) != "FAR" {
		t.Errorf("parent reads %q after mprotect, want %q", got, "FAR")
	}
}

// TestCopyOnWriteWindowOutOfMemory: when the memory file cannot hold
// copies of a fault's whole window, the fault still gets its own page.
func TestCopyOnWriteWindowOutOfMemory(t *testing.T) {
	as := newFakeAS(t)
	m, _ := newMMOver(t, as, 40*pageSize)
	defer m.DecUsers()
	addr := mustMMap(t, m, anon(base, 32, rw))
	for i := 0; i < 32; i++ {
		mustCopyOut(t, m, pg(addr, i), []byte{'p', byte(i)})
	}
	child := m.Fork(newFakeAS(t))
	defer child.DecUsers()
	// Two writes close together: the second copies its window, for
	// which the 6 pages left are not enough.
	expectFault(t, m, pg(addr, 2), w, faultOK)
	expectFault(t, m, pg(addr, 3), w, faultOK)
	as.expectMapped(t, pg(addr, 2), pg(addr, 4), rw)
	as.expectMapped(t, pg(addr, 4), pg(addr, 16), r)
	mustCopyOut(t, m, pg(addr, 3), []byte("P"))
	if got := mustCopyIn(t, child, pg(addr, 3), 2); string(got) != "p\x03" {
		t.Errorf("child sees %q after the parent's write, want %q", got, "p\x03")
	}
}

// TestForkAndMprotectProtectRanges: on a platform that can change
// permissions in place (platform.Protector), fork's write protection and
// mprotect take one call per run of consecutive mapped pages, however many
// pieces of the memory file back it, and the pages stay mapped where they
// were.
func TestForkAndMprotectProtectRanges(t *testing.T) {
	as := newProtectingAS(t)
	m, _ := newMMOver(t, as, memfileSize)
	defer m.DecUsers()
	const n = 64
	addr := mustMMap(t, m, anon(base, n, rw))
	other := mustMMap(t, m, anon(pg(base, 2*n), n, r))
	// Each fault-around window of the VMA populated after one of another
	// VMA: the VMA is 4 pieces of the memory file, not one.
	for i := 0; i < n; i++ {
		if i%16 == 0 {
			expectFault(t, m, pg(other, i), r, faultOK)
		}
		mustCopyOut(t, m, pg(addr, i), []byte{'p', byte(i)})
	}
	before := make(map[uint64]uint64)
	pieces := 0
	for i := 0; i < n; i++ {
		mp, _ := as.mapped(pg(addr, i))
		before[pg(addr, i)] = mp.off
		if i == 0 || mp.off != before[pg(addr, i-1)]+pageSize {
			pieces++
		}
	}
	if pieces < 2 {
		t.Fatalf("the VMA is %d piece of the memory file; the test needs more", pieces)
	}
	calls := len(as.calls)
	child := m.Fork(newFakeAS(t))
	defer child.DecUsers()
	if len(as.protects) != 1 || as.protects[0].addr != addr || as.protects[0].fr.End != n*pageSize || as.protects[0].perms != r {
		t.Errorf("fork's write protection made Protect calls %+v, want one of [%#x, +%#x) read-only", as.protects, addr, n*pageSize)
	}
	if len(as.calls) != calls || as.unmaps != 0 {
		t.Errorf("fork's write protection made %d MapFile and %d Unmap calls, want none", len(as.calls)-calls, as.unmaps)
	}
	for a, off := range before {
		if mp, ok := as.mapped(a); !ok || mp.off != off || mp.perms != r {
			t.Errorf("page %#x after fork: %+v %v, want its page %#x read-only", a, mp, ok, off)
		}
	}
	// The parent's write still copies; the child keeps the old bytes.
	mustCopyOut(t, m, pg(addr, 5), []byte("P"))
	if got := mustCopyIn(t, child, pg(addr, 5), 2); string(got) != "p\x05" {
		t.Errorf("child sees %q after the parent's write, want %q", got, "p\x05")
	}
	// mprotect of part of the VMA: one call for its mapped run.
	protects := len(as.protects)
	if err := m.Mprotect(pg(addr, 32), 32*pageSize, r, false); err != nil {
		t.Fatal(err)
	}
	if got := as.protects[protects:]; len(got) != 1 || got[0].addr != pg(addr, 32) || got[0].fr.End != 32*pageSize {
		t.Errorf("mprotect made Protect calls %+v, want one of [%#x, +%#x)", got, pg(addr, 32), 32*pageSize)
	}
	as.expectMapped(t, pg(addr, 32), pg(addr, n), r)
}

// TestCopyOnWriteWindowOutOfMemoryTakesOver: out of memory for a window's
// copies, the pages of the window nobody else holds any more are still
// taken over and mapped writable.
func TestCopyOnWriteWindowOutOfMemoryTakesOver(t *testing.T) {
	as := newFakeAS(t)
	m, _ := newMMOver(t, as, 48*pageSize)
	defer m.DecUsers()
	addr := mustMMap(t, m, anon(base, 32, rw))
	for i := 0; i < 32; i++ {
		mustCopyOut(t, m, pg(addr, i), []byte{'p', byte(i)})
	}
	child := m.Fork(newFakeAS(t))
	defer child.DecUsers()
	// The child copies pages 0 and 1 (its second write's window does
	// not fit either): the parent holds them alone again.
	mustCopyOut(t, child, pg(addr, 0), []byte("C"))
	mustCopyOut(t, child, pg(addr, 1), []byte("C"))
	// The parent writes far away, then close to that: the second
	// write's window would copy 14 pages, more than is left.
	expectFault(t, m, pg(addr, 20), w, faultOK)
	expectFault(t, m, pg(addr, 6), w, faultOK)
	as.expectMapped(t, addr, pg(addr, 2), rw)
	as.expectMapped(t, pg(addr, 2), pg(addr, 6), r)
	as.expectMapped(t, pg(addr, 6), pg(addr, 7), rw)
	as.expectMapped(t, pg(addr, 7), pg(addr, 16), r)
	if got := mustCopyIn(t, m, addr, 2); string(got) != "p\x00" {
		t.Errorf("parent reads %q at page 0, want %q", got, "p\x00")
	}
}

// TestWriteAfterChildExitTakesOverRange: once a forked child is gone, a
// write fault of the parent on a platform that changes permissions in
// place makes every page of its 2 MiB that nobody else holds writable,
// with one Protect per run, and copies nothing.
func TestWriteAfterChildExitTakesOverRange(t *testing.T) {
	as := newProtectingAS(t)
	m, mf := newMMOver(t, as, memfileSize)
	defer m.DecUsers()
	const n = 64
	addr := mustMMap(t, m, anon(base, n, rw))
	for i := 0; i < n; i++ {
		mustCopyOut(t, m, pg(addr, i), []byte{'p', byte(i)})
	}
	child := m.Fork(newFakeAS(t))
	mustCopyOut(t, child, pg(addr, 40), []byte("C")) // the child's own copy
	child.DecUsers()
	inUse := mf.InUse()
	calls, protects := len(as.calls), len(as.protects)
	expectFault(t, m, pg(addr, 3), w, faultOK)
	if got := as.protects[protects:]; len(got) != 1 || got[0].addr != addr || got[0].fr.End != n*pageSize || got[0].perms != rw {
		t.Errorf("the write made Protect calls %+v, want one of [%#x, +%#x) read-write", got, addr, n*pageSize)
	}
	if len(as.calls) != calls || mf.InUse() != inUse {
		t.Errorf("the write made %d MapFile calls and allocated %d bytes, want none", len(as.calls)-calls, mf.InUse()-inUse)
	}
	as.expectMapped(t, addr, pg(addr, n), rw)
	mustCopyOut(t, m, pg(addr, 40), []byte("P"))
	if got := mustCopyIn(t, m, pg(addr, 41), 2); string(got) != "p\x29" {
		t.Errorf("parent reads %q at page 41, want %q", got, "p\x29")
	}
}

// TestForkCopiesWhatWasWrittenAfterEarlierForks: a page the parent, or a
// child forked from it, wrote copy-on-write after a fork is copied for the
// child at later forks, so neither side's next write to it takes a fault.
func TestForkCopiesWhatWasWrittenAfterEarlierForks(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 32, rw))
	for i := 0; i < 32; i++ {
		mustCopyOut(t, m, pg(addr, i), []byte{'p', byte(i)})
	}
	first := m.Fork(newFakeAS(t))
	defer first.DecUsers()
	as.expectMapped(t, addr, pg(addr, 32), r)
	// After the fork the parent writes page 20, the child page 25:
	// copy-on-write faults both.
	expectFault(t, m, pg(addr, 20)+8, w, faultOK)
	expectFault(t, first, pg(addr, 25)+8, w, faultOK)
	for range 2 {
		childAS := newFakeAS(t)
		child := m.Fork(childAS)
		defer child.DecUsers()
		mp, ok := as.mapped(pg(addr, 20))
		if !ok || mp.perms != rw {
			t.Fatalf("the page the parent wrote after a fork is %+v %v in the parent, want writable", mp, ok)
		}
		for _, i := range []int{20, 25} {
			mp, _ := as.mapped(pg(addr, i))
			cp, ok := childAS.mapped(pg(addr, i))
			if !ok || cp.perms != rw || cp.off == mp.off {
				t.Fatalf("the child's page %d is %+v %v, parent's %+v: want a writable copy of its own", i, cp, ok, mp)
			}
		}
		mustCopyOut(t, m, pg(addr, 20), []byte("P"))
		if got := mustCopyIn(t, child, pg(addr, 20), 2); string(got) != "p\x14" {
			t.Errorf("the child sees %q after the parent's write, want its own copy", got)
		}
		mustCopyOut(t, m, pg(addr, 20), []byte("p"))
	}
	// Pages nobody wrote stay shared.
	as.expectMapped(t, pg(addr, 21), pg(addr, 25), r)
}
