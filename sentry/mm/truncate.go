package mm

// When a file shrinks (or a hole is punched in it), Linux unmaps the
// dropped range from every address space that maps the file
// (unmap_mapping_range), so that a later access faults again: past the
// new end of file that fault is SIGBUS, inside a hole it maps a fresh
// zero page. Page-table entries hold references of their own on the
// pages they map, so dropping a page from its object is not enough: the
// object keeps the address spaces that map it (mappers) and tells each to
// drop its entries for the range.

func (s *SharedMemory) addMapper(mm *MemoryManager) {
	s.mappersMu.Lock()
	defer s.mappersMu.Unlock()
	if s.mappers == nil {
		s.mappers = make(map[*MemoryManager]int)
	}
	s.mappers[mm]++
}

func (s *SharedMemory) removeMapper(mm *MemoryManager) {
	s.mappersMu.Lock()
	defer s.mappersMu.Unlock()
	if s.mappers[mm]--; s.mappers[mm] <= 0 {
		delete(s.mappers, mm)
	}
}

// unmapRange drops, in every address space mapping s, the page-table
// entries for object offsets [start, end). With evenCOWs (truncation)
// private copies made from those pages go too, as Linux's truncate does;
// without (a punched hole) only entries still mapping one of the object's
// dropped pages do.
//
// Preconditions: s.mu is not held (a fault holds MemoryManager.mu and
// then takes s.mu).
func (s *SharedMemory) unmapRange(start, end uint64, evenCOWs bool, dropped map[*physPage]struct{}) {
	s.mappersMu.Lock()
	mms := make([]*MemoryManager, 0, len(s.mappers))
	for mm := range s.mappers {
		mms = append(mms, mm)
	}
	s.mappersMu.Unlock()
	for _, mm := range mms {
		mm.unmapObjectRange(s, start, end, evenCOWs, dropped)
	}
}

// unmapObjectRange is unmapRange for one address space.
func (mm *MemoryManager) unmapObjectRange(s *SharedMemory, start, end uint64, evenCOWs bool, dropped map[*physPage]struct{}) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for _, v := range mm.vmas {
		if v.shared != s && v.cache != s {
			continue
		}
		vOffEnd := v.off + (v.end - v.start)
		lo, hi := max(start, v.off), min(end, vOffEnd)
		if lo >= hi {
			continue
		}
		a, b := v.start+(lo-v.off), v.start+(hi-v.off)
		if evenCOWs || v.shared == s {
			mm.as.Unmap(a, b-a)
			mm.releasePagesLocked(a, b)
			continue
		}
		// A private mapping keeps the copies it made; only entries
		// that still map the object's dropped pages go.
		mm.forEachPageLocked(a, b, func(addr uint64, p *pte) {
			if _, ok := dropped[p.page]; !ok {
				return
			}
			mm.as.Unmap(addr, pageSize)
			p.page.decRef(mm.mf)
			mm.pages.remove(addr)
		})
	}
}
