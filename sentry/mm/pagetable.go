package mm

import "slices"

// pageTable maps the address of each populated page of an address space
// to its entry. Entries live in chunks of ptChunkPages consecutive pages,
// so that what walks many pages (fork copying a process's entries, a
// range of a mapping in address order, release) works through arrays
// rather than one hash lookup per page, and an entry costs 16 bytes
// rather than a map slot and an allocation of its own.
//
// Entries are stored by value: a *pte from the table stays valid until
// its page is removed (set again, it is a new entry).
type pageTable struct {
	// chunks holds the chunks with at least one entry, by chunk number
	// (address >> ptChunkShift).
	chunks map[uint64]*ptChunk
	// n counts the entries.
	n int
}

const (
	ptChunkShift = 6 + 12 // 64 pages, 256 KiB of address space
	ptChunkPages = 1 << (ptChunkShift - 12)
)

var _ [pageSize - 1<<12]struct{} // the shift above assumes 4 KiB pages

// ptChunk is the entries of ptChunkPages consecutive pages; an entry with
// a nil page is absent.
type ptChunk struct {
	ptes [ptChunkPages]pte
	n    int
}

func newPageTable() pageTable {
	return pageTable{chunks: make(map[uint64]*ptChunk)}
}

func ptSlot(addr uint64) (chunk uint64, i int) {
	return addr >> ptChunkShift, int(addr>>12) % ptChunkPages
}

// get returns the entry of the page at addr, or nil.
func (t *pageTable) get(addr uint64) *pte {
	k, i := ptSlot(addr)
	if c := t.chunks[k]; c != nil && c.ptes[i].page != nil {
		return &c.ptes[i]
	}
	return nil
}

// lookup is get with the comma-ok form.
func (t *pageTable) lookup(addr uint64) (*pte, bool) {
	p := t.get(addr)
	return p, p != nil
}

// has reports whether the page at addr has an entry.
func (t *pageTable) has(addr uint64) bool { return t.get(addr) != nil }

// set makes e (whose page is not nil) the entry of the page at addr and
// returns it in the table.
func (t *pageTable) set(addr uint64, e pte) *pte {
	k, i := ptSlot(addr)
	c := t.chunks[k]
	if c == nil {
		c = new(ptChunk)
		t.chunks[k] = c
	}
	if c.ptes[i].page == nil {
		c.n++
		t.n++
	}
	c.ptes[i] = e
	return &c.ptes[i]
}

// remove deletes the entry of the page at addr, if any.
func (t *pageTable) remove(addr uint64) {
	k, i := ptSlot(addr)
	c := t.chunks[k]
	if c == nil || c.ptes[i].page == nil {
		return
	}
	c.ptes[i] = pte{}
	t.n--
	if c.n--; c.n == 0 {
		delete(t.chunks, k)
	}
}

// len returns the number of entries.
func (t *pageTable) len() int { return t.n }

// clear removes every entry.
func (t *pageTable) clear() {
	clear(t.chunks)
	t.n = 0
}

// each calls fn for every entry, in no particular order. fn may remove
// the entry it is given, and no other.
func (t *pageTable) each(fn func(addr uint64, p *pte)) {
	for k, c := range t.chunks {
		for i := range c.ptes {
			if c.ptes[i].page != nil {
				fn(k<<ptChunkShift+uint64(i)<<12, &c.ptes[i])
			}
		}
	}
}

// eachIn calls fn for every entry of a page in [start, end), in address
// order, until fn returns false, walking whichever of the range's chunks
// and the table's is fewer. fn may remove the entry it is given, and no
// other.
func (t *pageTable) eachIn(start, end uint64, fn func(addr uint64, p *pte) bool) {
	if end <= start || t.n == 0 {
		return
	}
	first, last := start>>ptChunkShift, (end-1)>>ptChunkShift
	visit := func(k uint64, c *ptChunk) bool {
		lo, hi := 0, ptChunkPages
		if k == first {
			_, lo = ptSlot(start)
		}
		if k == last {
			_, hi = ptSlot(end - 1)
			hi++
		}
		for i := lo; i < hi; i++ {
			if c.ptes[i].page != nil && !fn(k<<ptChunkShift+uint64(i)<<12, &c.ptes[i]) {
				return false
			}
		}
		return true
	}
	if last-first < uint64(len(t.chunks)) {
		for k := first; ; k++ {
			if c := t.chunks[k]; c != nil && !visit(k, c) {
				return
			}
			if k == last {
				return
			}
		}
	}
	keys := make([]uint64, 0, 8)
	for k := range t.chunks {
		if k >= first && k <= last {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if c := t.chunks[k]; c != nil && !visit(k, c) {
			return
		}
	}
}
