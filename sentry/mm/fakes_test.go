package mm_test

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

const (
	pageSize = arch.PageSize
	// testMaxAddr is the end of the test address spaces.
	testMaxAddr = uint64(1) << 40
	// base is aligned to the fault-around window (16 pages) and lies far
	// below the top-down mmap area, so fixed mappings there never collide
	// with hint-less ones.
	base = uint64(0x10_0000_0000)
	// memfileSize is the memory file of every test, and so the commit
	// limit of its memory manager.
	memfileSize = uint64(1) << 30
)

const (
	r   = platform.Read
	w   = platform.Write
	x   = platform.Execute
	rw  = r | w
	rwx = r | w | x
)

var (
	faultOK = mm.FaultResult{}
	segvMap = mm.FaultResult{Signo: int(unix.SIGSEGV), Code: mm.SegvMapErr}
	segvAcc = mm.FaultResult{Signo: int(unix.SIGSEGV), Code: mm.SegvAccErr}
	busAdr  = mm.FaultResult{Signo: int(unix.SIGBUS), Code: mm.BusAdrErr}
)

// pg returns the address of page n after addr.
func pg(addr uint64, n int) uint64 { return addr + uint64(n)*pageSize }

// mapping is one page of the fake address space.
type mapping struct {
	off   uint64
	perms platform.AccessType
}

// mapCall records one MapFile call.
type mapCall struct {
	addr  uint64
	fr    memfile.Range
	perms platform.AccessType
}

// fakeAS is a platform.AddressSpace that records its mappings page by
// page. It reports an alias (one memory file page mapped at two addresses)
// as a test error: mm never shares pages, so an alias means a page was
// freed and reused while a stale translation still pointed at it.
type fakeAS struct {
	t        *testing.T
	pages    map[uint64]mapping
	byOff    map[uint64]uint64
	calls    []mapCall
	unmaps   int
	released bool
	// onRelease, when set, runs in Release.
	onRelease func()
}

func newFakeAS(t *testing.T) *fakeAS {
	return &fakeAS{t: t, pages: make(map[uint64]mapping), byOff: make(map[uint64]uint64)}
}

func (as *fakeAS) MapFile(addr uint64, fr memfile.Range, perms platform.AccessType) error {
	if addr%pageSize != 0 || fr.Start%pageSize != 0 || fr.End%pageSize != 0 || fr.End <= fr.Start {
		as.t.Errorf("MapFile(%#x, %+v, %v): not a page-aligned, non-empty range", addr, fr, perms)
		return unix.EINVAL
	}
	if as.released {
		as.t.Errorf("MapFile(%#x) after Release", addr)
	}
	as.calls = append(as.calls, mapCall{addr, fr, perms})
	for o := uint64(0); o < fr.Length(); o += pageSize {
		a, off := addr+o, fr.Start+o
		if old, ok := as.pages[a]; ok {
			delete(as.byOff, old.off)
		}
		if other, ok := as.byOff[off]; ok && other != a {
			as.t.Errorf("memory file page %#x mapped at %#x and %#x", off, other, a)
		}
		as.pages[a] = mapping{off, perms}
		as.byOff[off] = a
	}
	return nil
}

func (as *fakeAS) Unmap(addr, length uint64) {
	as.unmaps++
	end := addr + length
	for a, m := range as.pages {
		if a >= addr && a < end {
			delete(as.pages, a)
			delete(as.byOff, m.off)
		}
	}
}

func (as *fakeAS) Release() {
	as.released = true
	if as.onRelease != nil {
		as.onRelease()
	}
}

// mapped returns the mapping of the page at addr.
func (as *fakeAS) mapped(addr uint64) (mapping, bool) {
	m, ok := as.pages[addr]
	return m, ok
}

// mappedIn returns the mapped page addresses in [start, end), sorted.
func (as *fakeAS) mappedIn(start, end uint64) []uint64 {
	var out []uint64
	for a := range as.pages {
		if a >= start && a < end {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// expectUnmapped fails the test if any page of [start, end) is mapped.
func (as *fakeAS) expectUnmapped(t *testing.T, start, end uint64) {
	t.Helper()
	if got := as.mappedIn(start, end); len(got) != 0 {
		t.Errorf("pages %#x still mapped in the platform after [%#x, %#x) went away", got, start, end)
	}
}

// expectMapped fails the test unless every page of [start, end) is mapped
// with perms.
func (as *fakeAS) expectMapped(t *testing.T, start, end uint64, perms platform.AccessType) {
	t.Helper()
	for a := start; a < end; a += pageSize {
		m, ok := as.pages[a]
		if !ok {
			t.Errorf("page %#x not mapped in the platform", a)
			continue
		}
		if m.perms != perms {
			t.Errorf("page %#x mapped %v, want %v", a, m.perms, perms)
		}
	}
}

// fakeFile is an mm.Mappable over a byte slice. When wrapped in refFile it
// also counts references; reading it after its last reference is gone is
// a test error (the mapping outlived the file).
type fakeFile struct {
	t       *testing.T
	data    []byte
	sizeErr error
	refs    int
	closes  int
	reads   int
}

func (f *fakeFile) ReadAt(p []byte, off int64) (int, error) {
	f.reads++
	if f.closes > 0 {
		f.t.Errorf("ReadAt(off %#x) on a file whose last reference was dropped", off)
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *fakeFile) Size() (int64, error) { return int64(len(f.data)), f.sizeErr }

// refFile is a fakeFile with IncRef and DecRef.
type refFile struct{ *fakeFile }

func (f refFile) IncRef() {
	if f.closes > 0 {
		f.t.Errorf("IncRef after the last DecRef closed the file")
	}
	f.refs++
}

func (f refFile) DecRef() {
	f.refs--
	switch {
	case f.refs == 0:
		f.closes++
	case f.refs < 0:
		f.t.Errorf("DecRef below zero references")
	}
}

// pattern returns n bytes that differ from page to page and from seed to
// seed, and are never zero.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%251) + byte(i/pageSize)*17 + seed | 1
	}
	return b
}

// newTestMM returns a memory manager over a fake address space and a
// real memory file.
func newTestMM(t *testing.T) (*mm.MemoryManager, *fakeAS, *memfile.File) {
	t.Helper()
	as := newFakeAS(t)
	m, mf := newMMOver(t, as, memfileSize)
	return m, as, mf
}

// newMMOver returns a memory manager over as and a new memory file of size
// bytes, which the test closes at its end.
func newMMOver(t *testing.T, as platform.AddressSpace, size uint64) (*mm.MemoryManager, *memfile.File) {
	t.Helper()
	mf, err := memfile.New("mm-test", size)
	if err != nil {
		t.Fatalf("memfile.New: %v", err)
	}
	t.Cleanup(func() { mf.Close() })
	return mm.New(mf, as, testMaxAddr), mf
}

// anon returns options for a private anonymous mapping of n pages at addr
// (fixed when addr is not 0).
func anon(addr uint64, n int, perms platform.AccessType) mm.MMapOpts {
	return mm.MMapOpts{Addr: addr, Fixed: addr != 0, Length: uint64(n) * pageSize, Perms: perms, Private: true}
}

func mustMMap(t *testing.T, m *mm.MemoryManager, opts mm.MMapOpts) uint64 {
	t.Helper()
	addr, err := m.MMap(opts)
	if err != nil {
		t.Fatalf("MMap(%+v): %v", opts, err)
	}
	return addr
}

func mustCopyOut(t *testing.T, m *mm.MemoryManager, addr uint64, b []byte) {
	t.Helper()
	if n, err := m.CopyOut(addr, b); err != nil || n != len(b) {
		t.Fatalf("CopyOut(%#x, %d bytes) = %d, %v", addr, len(b), n, err)
	}
}

func mustCopyIn(t *testing.T, m *mm.MemoryManager, addr uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if got, err := m.CopyIn(addr, b); err != nil || got != n {
		t.Fatalf("CopyIn(%#x, %d bytes) = %d, %v", addr, n, got, err)
	}
	return b
}

// isMapped reports whether mm has a VMA over every page of [addr,
// addr+n pages), using mincore's ENOMEM for holes.
func isMapped(m *mm.MemoryManager, addr uint64, n int) bool {
	_, err := m.Mincore(addr, uint64(n)*pageSize)
	return err == nil
}

func expectErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, errString(want))
	}
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return fmt.Sprint(err)
}

// expectFault checks the outcome of a fault; whether it was major is
// TestMajorFaults's to check.
func expectFault(t *testing.T, m *mm.MemoryManager, addr uint64, access platform.AccessType, want mm.FaultResult) {
	t.Helper()
	got := m.HandleFault(addr, access, false)
	got.Major = false
	if got != want {
		t.Errorf("HandleFault(%#x, %v) = %+v, want %+v", addr, access, got, want)
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

// protectingAS is a fakeAS that implements platform.Protector, as the
// systrap platform does, recording the calls. Protecting a page that is
// not mapped is a test error (the host's mprotect fails with ENOMEM).
type protectingAS struct {
	*fakeAS
	protects []mapCall
}

func newProtectingAS(t *testing.T) *protectingAS {
	return &protectingAS{fakeAS: newFakeAS(t)}
}

func (as *protectingAS) Protect(addr, length uint64, perms platform.AccessType) error {
	as.protects = append(as.protects, mapCall{addr: addr, fr: memfile.Range{Start: 0, End: length}, perms: perms})
	for a := addr; a < addr+length; a += pageSize {
		m, ok := as.pages[a]
		if !ok {
			as.t.Errorf("Protect(%#x, %#x): page %#x is not mapped", addr, length, a)
			return unix.ENOMEM
		}
		m.perms = perms
		as.pages[a] = m
	}
	return nil
}
