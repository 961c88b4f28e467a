package mm_test

import (
	"testing"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// programImage maps, as the loader does, a file of 8 pages: a text segment
// (pages 0-3, r-x), a data segment (pages 4-5, rw-) and 3 pages of .bss.
func programImage(t *testing.T, m *mm.MemoryManager, f *cachedFile) (text, data, bss uint64) {
	t.Helper()
	text = mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: r | x, Private: true, File: f})
	data = mustMMap(t, m, mm.MMapOpts{Addr: pg(base, 4), Fixed: true, Length: 2 * pageSize, Perms: rw, Private: true, File: f, Offset: 4 * pageSize})
	bss = mustMMap(t, m, anon(pg(base, 6), 3, rw))
	return text, data, bss
}

// TestMapProgramAhead: a program's segments are mapped before it runs, so
// it takes no fault to reach main: text shared with the page cache, its
// own data copied and writable, .bss zeroed and writable.
func TestMapProgramAhead(t *testing.T) {
	contents := pattern(8*pageSize, 5)
	f := newCachedFile(t, contents)
	m, as, _ := newTestMM(t)
	text, data, bss := programImage(t, m, f)
	m.MapProgramAhead(text, pg(text, 4), true)
	m.MapProgramAhead(data, pg(bss, 3), true)

	as.expectMapped(t, text, pg(text, 4), r|x)
	as.expectMapped(t, data, pg(data, 2), rw)
	as.expectMapped(t, bss, pg(bss, 3), rw)
	if got := mustCopyIn(t, m, data, pageSize); string(got) != string(contents[4*pageSize:5*pageSize]) {
		t.Error("the copied data page does not hold the file's data")
	}
	if got := mustCopyIn(t, m, bss, 16); string(got) != string(make([]byte, 16)) {
		t.Errorf(".bss holds %q, want zeroes", got)
	}
	// The text is the page cache's own page; the data is a copy.
	other, otherAS, _ := newTestMM(t)
	programImage(t, other, f)
	expectFault(t, other, text, r, faultOK)
	expectFault(t, other, data, r, faultOK)
	if a, b := as.pages[text], otherAS.pages[text]; a.off != b.off {
		t.Errorf("text page at memory file %#x and %#x, want the page cache's", a.off, b.off)
	}
	if a, b := as.pages[data], otherAS.pages[data]; a.off == b.off {
		t.Error("the program's data page is the page cache's, want a copy")
	}
}

// TestMapInterpreterAhead: an interpreter's writable segment is mapped
// copy-on-write from the page cache, as a fault would map it: its file
// may change while it runs (execve denies writing only the program).
func TestMapInterpreterAhead(t *testing.T) {
	f := newCachedFile(t, pattern(8*pageSize, 6))
	m, as, _ := newTestMM(t)
	_, data, bss := programImage(t, m, f)
	m.MapProgramAhead(data, pg(bss, 3), false)
	as.expectMapped(t, data, pg(data, 2), r)
	as.expectMapped(t, bss, pg(bss, 3), rw)
	expectFault(t, m, data, w, faultOK)
	as.expectMapped(t, data, pg(data, 1), rw)
}

// TestMapProgramAheadOfALargeTextMapsOnlyResidentPages: the text of a
// large program is not read ahead (most of it never runs); what the page
// cache already holds is mapped.
func TestMapProgramAheadOfALargeTextMapsOnlyResidentPages(t *testing.T) {
	const n = 512 // 2 MiB: more than is read ahead
	f := newCachedFile(t, pattern(n*pageSize, 7))
	first, _, _ := newTestMM(t)
	text := mustMMap(t, first, mm.MMapOpts{Addr: base, Fixed: true, Length: n * pageSize, Perms: r | x, Private: true, File: f})
	expectFault(t, first, pg(text, 300), r, faultOK) // reads a window into the cache

	m, as, _ := newTestMM(t)
	mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: n * pageSize, Perms: r | x, Private: true, File: f})
	reads := f.reads
	m.MapProgramAhead(text, pg(text, n), true)
	if f.reads != reads {
		t.Errorf("%d file reads mapping a large text ahead, want none", f.reads-reads)
	}
	as.expectMapped(t, pg(text, 300), pg(text, 301), r|x)
	as.expectUnmapped(t, text, pg(text, 1))
}

// TestMapProgramAheadStopsAtTheFileEnd: a segment longer than its file maps
// only the file's pages; the rest still faults with SIGBUS.
func TestMapProgramAheadStopsAtTheFileEnd(t *testing.T) {
	f := newCachedFile(t, pattern(2*pageSize, 8))
	m, as, _ := newTestMM(t)
	text := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: r | x, Private: true, File: f})
	m.MapProgramAhead(text, pg(text, 4), true)
	as.expectMapped(t, text, pg(text, 2), r|x)
	as.expectUnmapped(t, pg(text, 2), pg(text, 4))
	expectFault(t, m, pg(text, 3), r, busAdr)
}

// TestBrkMapsTheStartOfAnExtension: malloc writes the start of the memory
// brk gives it at once, so Brk maps the first pages of an extension.
func TestBrkMapsTheStartOfAnExtension(t *testing.T) {
	m, as, _ := newTestMM(t)
	m.SetBrkStart(base)
	if got := m.Brk(base + 100); got != base+100 {
		t.Fatalf("brk = %#x", got)
	}
	as.expectMapped(t, base, pg(base, 1), rw)
	if got := m.Brk(pg(base, 40)); got != pg(base, 40) {
		t.Fatalf("brk = %#x", got)
	}
	as.expectMapped(t, pg(base, 1), pg(base, 17), rw)
	as.expectUnmapped(t, pg(base, 17), pg(base, 40))
	if got := mustCopyIn(t, m, pg(base, 16), 8); string(got) != string(make([]byte, 8)) {
		t.Errorf("new heap holds %q, want zeroes", got)
	}
}
