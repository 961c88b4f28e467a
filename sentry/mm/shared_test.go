package mm_test

import (
	"bytes"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// sharedFile is a file whose data lives in a SharedMemory, as a tmpfs file.
type sharedFile struct {
	mf   *memfile.File
	obj  *mm.SharedMemory
	mu   sync.Mutex
	size int64
}

func (f *sharedFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	size := f.size
	f.mu.Unlock()
	if off >= size {
		return 0, nil
	}
	return f.obj.ReadAt(f.mf, p[:min(int64(len(p)), size-off)], off)
}

func (f *sharedFile) Size() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.size, nil
}

func (f *sharedFile) SharedMemory() *mm.SharedMemory { return f.obj }

// Two address spaces mapping one SharedMappable MAP_SHARED share its pages
// with each other and with the object's ReadAt and WriteAt; a private
// mapping copies.
func TestSharedMappableMappings(t *testing.T) {
	m1, _, mf := newTestMM(t)
	m2 := mm.New(mf, newFakeAS(t), testMaxAddr)
	m3 := mm.New(mf, newFakeAS(t), testMaxAddr)
	obj := mm.NewSharedMemory()
	f := &sharedFile{mf: mf, obj: obj, size: 8 * pageSize}
	// Page 1 has data before anything maps the file; the rest are holes.
	early := pattern(pageSize, 3)
	if n, err := obj.WriteAt(mf, early, pageSize); err != nil || n != pageSize {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}

	shared := mm.MMapOpts{Addr: base, Fixed: true, Length: 8 * pageSize, Perms: rw, File: f}
	a1 := mustMMap(t, m1, shared)
	a2 := mustMMap(t, m2, shared)
	private := shared
	private.Private = true
	a3 := mustMMap(t, m3, private)

	if got := mustCopyIn(t, m2, pg(a2, 1), pageSize); !bytes.Equal(got, early) {
		t.Errorf("the mapping does not see data written before it")
	}
	// A fault on a hole must neither deadlock nor read the file.
	if got := mustCopyIn(t, m1, pg(a1, 5), 16); !isZero(got) {
		t.Errorf("hole reads %x", got)
	}
	data := pattern(3*pageSize, 7)
	mustCopyOut(t, m1, pg(a1, 2)+100, data)
	if got := mustCopyIn(t, m2, pg(a2, 2)+100, len(data)); !bytes.Equal(got, data) {
		t.Errorf("the second address space does not see the first's writes")
	}
	buf := make([]byte, len(data))
	if _, err := obj.ReadAt(mf, buf, 2*pageSize+100); err != nil || !bytes.Equal(buf, data) {
		t.Errorf("ReadAt does not see writes through a mapping (%v)", err)
	}
	more := pattern(100, 9)
	if _, err := obj.WriteAt(mf, more, 6*pageSize+5); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		mm   *mm.MemoryManager
		addr uint64
	}{{m1, a1}, {m2, a2}} {
		if got := mustCopyIn(t, m.mm, pg(m.addr, 6)+5, len(more)); !bytes.Equal(got, more) {
			t.Errorf("a mapping does not see WriteAt")
		}
	}
	// The private mapping reads the file but its writes stay its own.
	if got := mustCopyIn(t, m3, pg(a3, 2)+100, len(data)); !bytes.Equal(got, data) {
		t.Errorf("the private mapping does not read the file")
	}
	mustCopyOut(t, m3, pg(a3, 7), []byte("private"))
	if _, err := obj.ReadAt(mf, buf[:7], 7*pageSize); err != nil || !isZero(buf[:7]) {
		t.Errorf("a private write reached the file")
	}
	// Peek of an unpopulated page of the shared mapping reads the object.
	peek := make([]byte, len(more))
	if _, err := m2.Peek(pg(a2, 6)+5, peek); err != nil || !bytes.Equal(peek, more) {
		t.Errorf("Peek = %x, %v", peek, err)
	}
	if got, want := obj.Resident(), uint64(8*pageSize); got > want || got < 4*pageSize {
		t.Errorf("Resident = %d", got)
	}

	// The object outlives the file's reference while mapped.
	obj.DecRef(mf)
	mustCopyOut(t, m1, pg(a1, 3), []byte("still"))
	if got := mustCopyIn(t, m2, pg(a2, 3), 5); string(got) != "still" {
		t.Errorf("after the file's DecRef, got %q", got)
	}
	m1.Release()
	m2.Release()
	m3.Release()
}

// Holes, Missing, Truncate, Punch and Allocate of a SharedMemory.
func TestSharedMemoryOps(t *testing.T) {
	_, _, mf := newTestMM(t)
	obj := mm.NewSharedMemory()
	defer obj.DecRef(mf)
	read := func(off int64, n int) []byte {
		t.Helper()
		b := bytes.Repeat([]byte{0xff}, n)
		if got, err := obj.ReadAt(mf, b, off); err != nil || got != n {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", off, n, got, err)
		}
		return b
	}
	if !isZero(read(12345, 3*pageSize)) || obj.Resident() != 0 {
		t.Fatalf("reading holes allocated or read non-zero")
	}
	if got := obj.Missing(10, 2*pageSize); got != 3*pageSize {
		t.Errorf("Missing = %d, want 3 pages", got)
	}
	data := pattern(4*pageSize, 5)
	if n, err := obj.WriteAt(mf, data, pageSize); err != nil || n != len(data) {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if obj.Resident() != 4*pageSize || obj.Missing(0, 6*pageSize) != 2*pageSize {
		t.Errorf("Resident %d, Missing %d", obj.Resident(), obj.Missing(0, 6*pageSize))
	}
	// Punch inside one page, across pages, and a whole page.
	obj.Punch(mf, pageSize+10, 20)
	want := append([]byte(nil), data...)
	clear(want[10:30])
	obj.Punch(mf, 2*pageSize-5, pageSize+10) // end of page 1, all of page 2, start of page 3
	clear(want[pageSize-5 : 2*pageSize+5])
	if got := read(pageSize, len(data)); !bytes.Equal(got, want) {
		t.Errorf("punch: contents differ")
	}
	if obj.Resident() != 3*pageSize {
		t.Errorf("punch: Resident %d, want 3 pages", obj.Resident())
	}
	obj.Punch(mf, 3*pageSize, 10) // page-aligned start, within one page
	clear(want[2*pageSize : 2*pageSize+10])
	if got := read(pageSize, len(data)); !bytes.Equal(got, want) {
		t.Errorf("aligned punch: contents differ")
	}
	// Truncate to the middle of page 3: page 4 goes, page 3's tail is
	// zero.
	obj.Truncate(mf, 3*pageSize+100)
	if obj.Resident() != 2*pageSize {
		t.Errorf("truncate: Resident %d, want 2 pages", obj.Resident())
	}
	if got := read(3*pageSize, pageSize); !bytes.Equal(got[:100], want[2*pageSize:2*pageSize+100]) || !isZero(got[100:]) {
		t.Errorf("truncate: last page wrong")
	}
	if err := obj.Allocate(mf, 10*pageSize, 2*pageSize+1); err != nil {
		t.Fatal(err)
	}
	if obj.Resident() != 5*pageSize {
		t.Errorf("allocate: Resident %d, want 5 pages", obj.Resident())
	}
	obj.Truncate(mf, 0)
	if obj.Resident() != 0 {
		t.Errorf("truncate 0: Resident %d", obj.Resident())
	}
	if _, err := obj.ReadAt(mf, make([]byte, 1), -1); err != unix.EINVAL {
		t.Errorf("negative offset: %v", err)
	}
}

// WriteAt stops at the first page the memory file cannot supply.
func TestSharedMemoryWriteOutOfMemory(t *testing.T) {
	mf, err := memfile.New("mm-test-small", 8*pageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	obj := mm.NewSharedMemory()
	defer obj.DecRef(mf)
	// Page 0 of the file is never handed out: 7 pages fit.
	n, err := obj.WriteAt(mf, make([]byte, 10*pageSize), 0)
	if n != 7*pageSize || err != unix.ENOSPC {
		t.Errorf("WriteAt = %d, %v; want 7 pages, ENOSPC", n, err)
	}
}

// Truncating an object unmaps the dropped pages from every address space
// mapping it: the shared mappings and a private one's copy alike fault
// again (SIGBUS past the new end), while a punched hole drops only the
// pages still shared with the object, not a private copy.
func TestTruncateUnmapsMappers(t *testing.T) {
	m1, as1, mf := newTestMM(t)
	as2 := newFakeAS(t)
	m2 := mm.New(mf, as2, testMaxAddr)
	obj := mm.NewSharedMemory()
	f := &sharedFile{mf: mf, obj: obj, size: 4 * pageSize}
	shared := mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw, File: f}
	a1 := mustMMap(t, m1, shared)
	private := shared
	private.Private = true
	a2 := mustMMap(t, m2, private)
	for i := range 4 {
		mustCopyOut(t, m1, pg(a1, i), []byte{byte(i + 1)})
	}
	_ = mustCopyIn(t, m2, pg(a2, 2), 1)          // shares the object's page
	mustCopyOut(t, m2, pg(a2, 3), []byte("own")) // a private copy
	as1.expectMapped(t, pg(a1, 2), pg(a1, 4), rw)

	// A hole over page 2 and 3: the shared mapping and the private
	// mapping's shared page go, the private copy stays.
	obj.Punch(mf, 2*pageSize, 2*pageSize)
	as1.expectUnmapped(t, pg(a1, 2), pg(a1, 4))
	as2.expectUnmapped(t, pg(a2, 2), pg(a2, 3))
	if _, ok := as2.mapped(pg(a2, 3)); !ok {
		t.Errorf("punch: the private copy was unmapped")
	}
	if got := mustCopyIn(t, m2, pg(a2, 3), 3); string(got) != "own" {
		t.Errorf("the private copy reads %q after the punch", got)
	}

	// Truncation to one page drops everything past it, copies too.
	f.mu.Lock()
	f.size = pageSize
	f.mu.Unlock()
	obj.Truncate(mf, pageSize)
	as1.expectUnmapped(t, pg(a1, 1), pg(a1, 4))
	as2.expectUnmapped(t, pg(a2, 1), pg(a2, 4))
	expectFault(t, m1, pg(a1, 2), platform.Read, mm.FaultResult{Signo: int(unix.SIGBUS), Code: mm.BusAdrErr})
	m1.Release()
	m2.Release()
	obj.DecRef(mf)
}

// A write that allocates pages (which goes to the memory file with
// pwrite), one over present pages (a copy through the memory file's
// mapping) and one that does both, at unaligned offsets, read back the
// same through ReadAt, which copies out of the mapping, also after the
// memory file was fragmented by released pages.
func TestSharedMemoryWritesOfNewPagesAreCoherent(t *testing.T) {
	_, _, mf := newTestMM(t)
	// Fragment the file: allocate pages, then release every other one,
	// so that a later run of new pages is not contiguous in it.
	var held []memfile.Range
	for range 16 {
		r, err := mf.Allocate(pageSize)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	for i, r := range held {
		if i%2 == 0 {
			mf.Release(r)
		}
	}
	mf.Flush()
	obj := mm.NewSharedMemory()
	defer obj.DecRef(mf)
	want := make([]byte, 12*pageSize)
	write := func(off int, data []byte) {
		t.Helper()
		if n, err := obj.WriteAt(mf, data, int64(off)); err != nil || n != len(data) {
			t.Fatalf("WriteAt(%d, %d) = %d, %v", off, len(data), n, err)
		}
		copy(want[off:], data)
	}
	write(100, pattern(5*pageSize, 1))          // new pages, partial at both ends
	write(pageSize+7, pattern(2*pageSize, 2))   // present pages only
	write(4*pageSize+9, pattern(6*pageSize, 3)) // present, then new
	got := make([]byte, len(want))
	if n, err := obj.ReadAt(mf, got, 0); err != nil || n != len(got) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("ReadAt: contents differ from what was written")
	}
	for off := 0; off < len(want); off += pageSize {
		page := make([]byte, pageSize)
		if _, err := obj.ReadAt(mf, page, int64(off)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(page, want[off:off+pageSize]) {
			t.Errorf("page at %#x differs", off)
		}
	}
	// Unaligned reads of runs long enough for pread, and past the
	// written pages into a hole.
	for _, span := range [][2]int{{333, 10 * pageSize}, {5*pageSize + 1, 6*pageSize - 1}, {8*pageSize - 5, 6 * pageSize}} {
		got := make([]byte, span[1])
		if n, err := obj.ReadAt(mf, got, int64(span[0])); err != nil || n != len(got) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", span[0], span[1], n, err)
		}
		exp := make([]byte, span[1])
		copy(exp, want[min(span[0], len(want)):])
		if !bytes.Equal(got, exp) {
			t.Errorf("ReadAt(%d, %d): contents differ", span[0], span[1])
		}
	}
	for i, r := range held {
		if i%2 == 1 {
			mf.Release(r)
		}
	}
}
