package mm_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

func TestHandleFaultPermissions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		perms  platform.AccessType
		access platform.AccessType
		want   mm.FaultResult
	}{
		{"read of read-only", r, r, faultOK},
		{"write of read-only", r, w, segvAcc},
		{"exec of read-write", rw, x, segvAcc},
		{"exec of read-exec", r | x, x, faultOK},
		{"write of read-write", rw, w, faultOK},
		{"read of write-only (x86 implies read)", w, r, faultOK},
		{"read of exec-only (x86 implies read)", x, r, faultOK},
		{"unknown access of read-only", r, 0, faultOK},
		{"read of PROT_NONE", 0, r, segvAcc},
		{"unknown access of PROT_NONE", 0, 0, segvAcc},
		{"write of PROT_NONE", 0, w, segvAcc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as, _ := newTestMM(t)
			addr := mustMMap(t, m, anon(base, 1, tc.perms))
			expectFault(t, m, addr+10, tc.access, tc.want)
			if tc.want == faultOK {
				as.expectMapped(t, addr, addr+pageSize, tc.perms)
			} else {
				as.expectUnmapped(t, addr, addr+pageSize)
			}
		})
	}
}

func TestHandleFaultWithoutMapping(t *testing.T) {
	m, as, _ := newTestMM(t)
	mustMMap(t, m, anon(base, 1, rw))
	for _, a := range []uint64{0, 0x1000, base - 1, base + pageSize, testMaxAddr, ^uint64(0)} {
		expectFault(t, m, a, r, segvMap)
	}
	if len(as.calls) != 0 {
		t.Errorf("faults without a mapping mapped pages: %+v", as.calls)
	}
}

// A fault on a page already mapped as its page-table entry allows is
// spurious, as Linux calls it: another thread upgraded the page between the
// fault and now, or the platform's mapping fell behind. The page is mapped
// again as the entry says and the access retried, once: the same task
// faulting on it again at once is refused (SEGV_ACCERR), not looped on.
func TestHandleFaultOnMappedPage(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 1, rw))
	expectFault(t, m, addr, w, faultOK)
	as.calls = nil
	expectFault(t, m, addr, w, faultOK)
	expectFault(t, m, addr, 0, faultOK)
	if len(as.calls) != 2 {
		t.Fatalf("spurious faults made %d mapping calls, want 2: %+v", len(as.calls), as.calls)
	}
	as.expectMapped(t, addr, addr+pageSize, rw)

	var st mm.FaultState
	if got := m.HandleTaskFault(addr, 0, false, &st); got != faultOK {
		t.Errorf("first spurious fault of a task: %+v, want a retry", got)
	}
	if got := m.HandleTaskFault(addr, 0, false, &st); got != segvAcc {
		t.Errorf("second fault of the task on the page: %+v, want SEGV_ACCERR", got)
	}
	if got := m.HandleTaskFault(addr, 0, false, &st); got != faultOK {
		t.Errorf("a later fault of the task: %+v, want a retry", got)
	}
	st.Reset()
	if got := m.HandleTaskFault(addr, 0, false, &st); got != faultOK {
		t.Errorf("fault after Reset: %+v, want a retry", got)
	}
}

// A write to a read-only mapping that the platform reports without its
// write bit looks, to the page tables, like a spurious fault: the task's
// second fault there is SIGSEGV, which the memory manager knows was a
// write (the only data access a readable mapping refuses).
func TestHandleFaultUnreportedWrite(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 1, r))
	expectFault(t, m, addr, r, faultOK)
	var st mm.FaultState
	if got := m.HandleTaskFault(addr, 0, false, &st); got != faultOK {
		t.Fatalf("first fault: %+v", got)
	}
	want := segvAcc
	want.Access = platform.Write
	if got := m.HandleTaskFault(addr, 0, false, &st); got != want {
		t.Fatalf("second fault: %+v, want SEGV_ACCERR of a write", got)
	}
}

// A PROT_NONE mapping refuses every access at once: nothing tells which
// one an unreported access was.
func TestHandleFaultUnreportedProtNone(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 1, 0))
	var st mm.FaultState
	if got := m.HandleTaskFault(addr, 0, true, &st); got != segvAcc {
		t.Fatalf("fault: %+v, want SEGV_ACCERR with no access", got)
	}
}

// Two threads write to a page shared copy-on-write after a fork: the first
// fault served breaks the sharing, and the second, reported while the page
// was still read-only, must be retried rather than turned into SIGSEGV.
func TestHandleFaultStaleCOWWrite(t *testing.T) {
	m, as, _ := newTestMM(t)
	// Larger than what fork copies outright.
	addr := mustMMap(t, m, anon(base, 32, rw))
	expectFault(t, m, addr, w, faultOK)
	child := m.Fork(newFakeAS(t))
	defer child.DecUsers()
	expectFault(t, m, addr, w, faultOK) // breaks copy-on-write
	expectFault(t, m, addr, w, faultOK) // the other thread's stale fault
	as.expectMapped(t, addr, addr+pageSize, rw)
}

// checkMaximalRuns fails the test if two of calls could have been one
// (adjacent in the address space and in the memory file, same perms).
func checkMaximalRuns(t *testing.T, calls []mapCall) {
	t.Helper()
	for _, a := range calls {
		for _, b := range calls {
			if a.addr+a.fr.Length() == b.addr && a.fr.End == b.fr.Start && a.perms == b.perms {
				t.Errorf("MapFile calls %+v and %+v could have been one", a, b)
			}
		}
	}
}

func TestFaultAround(t *testing.T) {
	const window = 16
	for _, tc := range []struct {
		name       string
		start      uint64 // of the VMA
		pages      int
		fault      int // page index in the VMA
		wantFirst  int // first page mapped, index in the VMA
		wantPages  int
		wantCallsN int
	}{
		{"aligned window, fault inside", base, 2 * window, 5, 0, window, 1},
		{"second window", base, 2 * window, window + 3, window, window, 1},
		{"clipped to the VMA start", base + 3*pageSize, 20, 0, 0, window - 3, 1},
		{"clipped to the VMA end", base + 3*pageSize, 20, window - 3, window - 3, 7, 1},
		{"small VMA", base + 5*pageSize, 2, 1, 0, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as, _ := newTestMM(t)
			// Neighbours that must not be touched.
			mustMMap(t, m, anon(tc.start-pageSize, 1, rw))
			mustMMap(t, m, anon(pg(tc.start, tc.pages), 1, rw))
			addr := mustMMap(t, m, anon(tc.start, tc.pages, rw))
			expectFault(t, m, pg(addr, tc.fault)+7, r, faultOK)
			first, end := pg(addr, tc.wantFirst), pg(addr, tc.wantFirst+tc.wantPages)
			as.expectMapped(t, first, end, rw)
			if got := as.mappedIn(0, ^uint64(0)); len(got) != tc.wantPages {
				t.Errorf("%d pages mapped, want %d (%#x..%#x)", len(got), tc.wantPages, first, end)
			}
			if len(as.calls) != tc.wantCallsN {
				t.Errorf("%d MapFile calls %+v, want %d", len(as.calls), as.calls, tc.wantCallsN)
			}
		})
	}
}

// A window whose pages are partly populated (kept across an mprotect) and
// partly missing (dropped by MADV_DONTNEED) is mapped in as few calls as
// the memory file's contiguity allows, keeping the populated pages'
// memory.
func TestFaultAroundMixedWindow(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 16, rw))
	data := pattern(16*pageSize, 9)
	mustCopyOut(t, m, addr, data)
	before := map[uint64]uint64{}
	for a, mp := range as.pages {
		before[a] = mp.off
	}
	if err := m.Madvise(pg(addr, 3), 2*pageSize, mm.MadvDontneed); err != nil {
		t.Fatal(err)
	}
	// Through PROT_NONE, which unmaps, and back.
	if err := m.Mprotect(addr, 16*pageSize, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(addr, 16*pageSize, rw, false); err != nil {
		t.Fatal(err)
	}
	as.expectUnmapped(t, addr, pg(addr, 16))
	calls := len(as.calls)
	expectFault(t, m, pg(addr, 10), w, faultOK)
	as.expectMapped(t, addr, pg(addr, 16), rw)
	newCalls := as.calls[calls:]
	checkMaximalRuns(t, newCalls)
	// Count the runs the final layout forces.
	runs := 1
	for i := 1; i < 16; i++ {
		if as.pages[pg(addr, i)].off != as.pages[pg(addr, i-1)].off+pageSize {
			runs++
		}
	}
	if len(newCalls) != runs {
		t.Errorf("%d MapFile calls for %d contiguous runs: %+v", len(newCalls), runs, newCalls)
	}
	for i := range 16 {
		a := pg(addr, i)
		if i == 3 || i == 4 {
			continue
		}
		if as.pages[a].off != before[a] {
			t.Errorf("page %d moved from memory file offset %#x to %#x", i, before[a], as.pages[a].off)
		}
	}
	got := mustCopyIn(t, m, addr, 16*pageSize)
	for i := range 16 {
		p := got[i*pageSize : (i+1)*pageSize]
		if i == 3 || i == 4 {
			if !isZero(p) {
				t.Errorf("page %d not zero after MADV_DONTNEED", i)
			}
		} else if string(p) != string(data[i*pageSize:(i+1)*pageSize]) {
			t.Errorf("page %d lost its contents", i)
		}
	}
}

func TestFileBackedFault(t *testing.T) {
	// Two and a half pages of file, mapped from its second page: the
	// mapping's page 0 is file page 1, page 1 the half page, page 2 and
	// on lie wholly past the end.
	fileData := pattern(2*pageSize+pageSize/2, 5)
	f := &fakeFile{t: t, data: fileData}
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 6 * pageSize, Perms: rw, Private: true, File: f, Offset: pageSize})

	expectFault(t, m, addr, r, faultOK)
	// Fault-around stops at the end of the file.
	as.expectMapped(t, addr, pg(addr, 2), rw)
	as.expectUnmapped(t, pg(addr, 2), pg(addr, 6))

	got := mustCopyIn(t, m, addr, 2*pageSize)
	if string(got[:pageSize]) != string(fileData[pageSize:2*pageSize]) {
		t.Errorf("page 0 does not hold file page 1")
	}
	if string(got[pageSize:pageSize+pageSize/2]) != string(fileData[2*pageSize:]) {
		t.Errorf("page 1 does not start with the file's last half page")
	}
	if !isZero(got[pageSize+pageSize/2:]) {
		t.Errorf("the tail of the last file page is not zero")
	}

	// Pages wholly past the end of the file: SIGBUS, and EFAULT for copies.
	for _, i := range []int{2, 3, 5} {
		expectFault(t, m, pg(addr, i)+1, r, busAdr)
	}
	if n, err := m.CopyIn(pg(addr, 1)+pageSize-2, make([]byte, 4)); err != unix.EFAULT || n != 2 {
		t.Errorf("CopyIn across the end of the file = %d, %v; want 2, EFAULT", n, err)
	}

	// Private writes do not reach the file.
	mustCopyOut(t, m, addr, []byte("private"))
	if string(f.data[pageSize:pageSize+7]) == "private" {
		t.Errorf("a private mapping wrote through to the file")
	}
	if got := mustCopyIn(t, m, addr, 7); string(got) != "private" {
		t.Errorf("private write lost: %q", got)
	}
}

func TestFileBackedFaultSizeError(t *testing.T) {
	f := &fakeFile{t: t, data: make([]byte, pageSize), sizeErr: errors.New("stale")}
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: pageSize, Perms: r, Private: true, File: f})
	expectFault(t, m, addr, r, busAdr)
	as.expectUnmapped(t, addr, addr+pageSize)
}

// The window around a file fault is clipped to the VMA, whatever its size.
func TestFileBackedFaultAroundStaysInVMA(t *testing.T) {
	f := &fakeFile{t: t, data: pattern(256*pageSize, 2)}
	m, as, _ := newTestMM(t)
	mustMMap(t, m, anon(pg(base, 2), 1, rw))
	addr := mustMMap(t, m, mm.MMapOpts{Addr: pg(base, 3), Fixed: true, Length: 100 * pageSize, Perms: r, Private: true, File: f, Offset: 7 * pageSize})
	expectFault(t, m, pg(addr, 50), r, faultOK)
	mapped := as.mappedIn(0, ^uint64(0))
	if len(mapped) == 0 {
		t.Fatal("nothing mapped")
	}
	if mapped[0] < addr || mapped[len(mapped)-1] >= pg(addr, 100) {
		t.Errorf("fault-around mapped %#x..%#x outside the VMA [%#x, %#x)", mapped[0], mapped[len(mapped)-1], addr, pg(addr, 100))
	}
	if _, ok := as.mapped(pg(addr, 50)); !ok {
		t.Errorf("the faulting page is not mapped")
	}
	checkMaximalRuns(t, as.calls)
	for _, a := range mapped {
		i := int((a - addr) / pageSize)
		got := mustCopyIn(t, m, a, pageSize)
		if string(got) != string(f.data[(7+i)*pageSize:(8+i)*pageSize]) {
			t.Errorf("page %d does not hold file page %d", i, 7+i)
		}
	}
}

func TestMprotect(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 4, rw))
	data := pattern(4*pageSize, 4)
	mustCopyOut(t, m, addr, data)
	as.expectMapped(t, addr, pg(addr, 4), rw)
	offs := map[uint64]uint64{}
	for a, mp := range as.pages {
		offs[a] = mp.off
	}

	if err := m.Mprotect(pg(addr, 1), 2*pageSize, r, false); err != nil {
		t.Fatal(err)
	}
	// The affected pages are mapped again read-only, with the same
	// memory; the others keep their mappings.
	as.expectMapped(t, pg(addr, 1), pg(addr, 3), r)
	as.expectMapped(t, addr, pg(addr, 1), rw)
	as.expectMapped(t, pg(addr, 3), pg(addr, 4), rw)

	expectFault(t, m, pg(addr, 1), w, segvAcc)
	if _, err := m.CopyOut(pg(addr, 2), []byte{1}); err != unix.EFAULT {
		t.Errorf("CopyOut to a read-only page: %v, want EFAULT", err)
	}
	expectFault(t, m, pg(addr, 1), r, faultOK)
	// Re-mapped read-only, with the same memory (no copy).
	as.expectMapped(t, pg(addr, 1), pg(addr, 3), r)
	for i := 1; i < 3; i++ {
		if got := as.pages[pg(addr, i)].off; got != offs[pg(addr, i)] {
			t.Errorf("page %d now at memory file offset %#x, was %#x", i, got, offs[pg(addr, i)])
		}
	}
	if got := mustCopyIn(t, m, addr, 4*pageSize); string(got) != string(data) {
		t.Errorf("contents changed across mprotect")
	}

	// Back to writable.
	if err := m.Mprotect(addr, 4*pageSize, rw, false); err != nil {
		t.Fatal(err)
	}
	as.expectMapped(t, addr, pg(addr, 4), rw)
	expectFault(t, m, pg(addr, 2), w, faultOK)
	as.expectMapped(t, pg(addr, 2), pg(addr, 3), rw)

	// PROT_NONE: no access at all, for faults and copies.
	if err := m.Mprotect(addr, pageSize, 0, false); err != nil {
		t.Fatal(err)
	}
	as.expectUnmapped(t, addr, pg(addr, 1))
	expectFault(t, m, addr, r, segvAcc)
	if _, err := m.CopyIn(addr, make([]byte, 1)); err != unix.EFAULT {
		t.Errorf("CopyIn from PROT_NONE: %v, want EFAULT", err)
	}
}

func TestMprotectErrors(t *testing.T) {
	for _, tc := range []struct {
		name         string
		addr, length uint64
		perms        platform.AccessType
		growsDown    bool
		want         error
	}{
		{"unaligned", base + 1, pageSize, r, false, unix.EINVAL},
		{"zero length", base, 0, r, false, nil},
		{"zero length in a hole", base + 64*pageSize, 0, r, false, nil},
		{"length overflows", base, ^uint64(0), r, false, unix.ENOMEM},
		{"wraps", base, ^base + 1, r, false, unix.ENOMEM},
		{"hole at the start", base - pageSize, 2 * pageSize, r, false, unix.ENOMEM},
		{"hole in the middle", base, 6 * pageSize, r, false, unix.ENOMEM},
		{"beyond max perms", base, pageSize, rwx, false, unix.EACCES},
		{"beyond max perms in the second VMA", base, 5 * pageSize, rw, false, unix.EACCES},
		{"growsdown on a normal VMA", base, pageSize, r, true, unix.EINVAL},
		{"growsdown in a hole", base + 64*pageSize, pageSize, r, true, unix.ENOMEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as, _ := newTestMM(t)
			// [base, +4 pages) rw with max rw, then a hole, then
			// [+5, +6) read-only with max r|x.
			opts := anon(base, 4, rw)
			opts.MaxPerms = rw
			mustMMap(t, m, opts)
			opts = anon(pg(base, 4), 1, r)
			opts.MaxPerms = r | x
			mustMMap(t, m, opts)
			mustMMap(t, m, anon(pg(base, 6), 1, r))
			mustCopyOut(t, m, base, []byte{1})
			calls, unmaps := len(as.calls), as.unmaps
			expectErr(t, "Mprotect", m.Mprotect(tc.addr, tc.length, tc.perms, tc.growsDown), tc.want)
			if as.unmaps != unmaps || len(as.calls) != calls {
				t.Errorf("mprotect changed platform mappings")
			}
			if tc.want != nil {
				// Nothing changed: the first VMA is still writable.
				if _, err := m.CopyOut(pg(base, 3), []byte{1}); err != nil {
					t.Errorf("CopyOut after a failed mprotect: %v", err)
				}
			}
		})
	}
}

// PROT_GROWSDOWN extends the change down to the start of the GrowsDown
// VMA that contains addr.
func TestMprotectGrowsDown(t *testing.T) {
	m, as, _ := newTestMM(t)
	stack := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw, Private: true, GrowsDown: true})
	mustCopyOut(t, m, stack, make([]byte, 4*pageSize))
	if err := m.Mprotect(pg(stack, 2), pageSize, r, true); err != nil {
		t.Fatal(err)
	}
	as.expectMapped(t, stack, pg(stack, 3), r)
	as.expectMapped(t, pg(stack, 3), pg(stack, 4), rw)
	expectFault(t, m, stack, w, segvAcc)
	expectFault(t, m, stack, r, faultOK)
	as.expectMapped(t, stack, pg(stack, 3), r)
	if _, err := m.CopyOut(pg(stack, 3), []byte{1}); err != nil {
		t.Errorf("page above the range lost its write permission: %v", err)
	}
}

func TestStackGrowth(t *testing.T) {
	const stackPages = 4
	stackTop := pg(base, 4096) // far above base, so 8 MiB fit below
	stack := stackTop - stackPages*pageSize
	const gap = 256 // pages of stack_guard_gap
	limit := uint64(8 << 20)
	for _, tc := range []struct {
		name  string
		below *mm.MMapOpts // mapping below the stack, if any
		fault uint64
		grows bool
	}{
		{"just below", nil, stack - 1, true},
		{"far below, within the limit", nil, stackTop - limit, true},
		{"one page past the limit", nil, stackTop - limit - 1, false},
		// The mapping below ends at stack-(gap+2) pages: the stack may
		// grow to stack-2 pages, not one page further.
		{"accessible mapping exactly a guard gap below", &mm.MMapOpts{Addr: stack - (gap+4)*pageSize, Length: 2 * pageSize, Perms: r}, stack - 2*pageSize, true},
		{"accessible mapping one page inside the guard gap", &mm.MMapOpts{Addr: stack - (gap+4)*pageSize, Length: 2 * pageSize, Perms: r}, stack - 2*pageSize - 1, false},
		{"accessible mapping just above its end", &mm.MMapOpts{Addr: stack - (gap+4)*pageSize, Length: 2 * pageSize, Perms: r}, stack - (gap+2)*pageSize + 5, false},
		{"accessible mapping right below", &mm.MMapOpts{Addr: stack - 2*pageSize, Length: pageSize, Perms: rw}, stack - pageSize, false},
		{"PROT_NONE mapping right below", &mm.MMapOpts{Addr: stack - 2*pageSize, Length: pageSize, Perms: 0}, stack - pageSize, true},
		{"another stack right below", &mm.MMapOpts{Addr: stack - 2*pageSize, Length: pageSize, Perms: rw, GrowsDown: true}, stack - pageSize, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, as, _ := newTestMM(t)
			if tc.below != nil {
				o := *tc.below
				o.Fixed, o.Private = true, true
				mustMMap(t, m, o)
			}
			mustMMap(t, m, mm.MMapOpts{Addr: stack, Fixed: true, Length: stackPages * pageSize, Perms: rw, Private: true, GrowsDown: true})
			res := m.HandleFault(tc.fault, w, false)
			newStart := tc.fault &^ (pageSize - 1)
			if !tc.grows {
				if res != segvMap {
					t.Errorf("HandleFault(%#x) = %+v, want SEGV_MAPERR", tc.fault, res)
				}
				if isMapped(m, stack-pageSize, 1) {
					t.Errorf("the stack grew")
				}
				as.expectUnmapped(t, newStart, newStart+pageSize)
				return
			}
			if res != faultOK {
				t.Fatalf("HandleFault(%#x) = %+v, want the stack to grow", tc.fault, res)
			}
			if !isMapped(m, newStart, int((stackTop-newStart)/pageSize)) {
				t.Errorf("the stack does not cover [%#x, %#x) after growing", newStart, stackTop)
			}
			as.expectMapped(t, newStart, newStart+pageSize, rw)
			if got := mustCopyIn(t, m, newStart, pageSize); !isZero(got) {
				t.Errorf("new stack page is not zero")
			}
		})
	}
}

// Stack growth applies to copies too, as a kernel access below the stack
// faults and grows it on Linux.
func TestStackGrowthByCopy(t *testing.T) {
	m, _, _ := newTestMM(t)
	stack := mustMMap(t, m, mm.MMapOpts{Addr: pg(base, 64), Fixed: true, Length: pageSize, Perms: rw, Private: true, GrowsDown: true})
	mustCopyOut(t, m, stack-3*pageSize-8, []byte("pushed"))
	if !isMapped(m, stack-4*pageSize, 5) {
		t.Errorf("CopyOut below the stack did not grow it")
	}
}

// A stack never grows below mmap_min_addr.
func TestStackGrowthStopsAtMmapMinAddr(t *testing.T) {
	m, _, _ := newTestMM(t)
	stack := mustMMap(t, m, mm.MMapOpts{Addr: 0x12000, Fixed: true, Length: pageSize, Perms: rw, Private: true, GrowsDown: true})
	expectFault(t, m, 0xffff, w, segvMap)
	expectFault(t, m, 0x10000, w, faultOK)
	if !isMapped(m, 0x10000, int((stack+pageSize-0x10000)/pageSize)) {
		t.Errorf("stack did not grow to mmap_min_addr")
	}
}

// Only GrowsDown mappings grow.
func TestNoGrowthBelowNormalMapping(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 1, rw))
	expectFault(t, m, addr-1, w, segvMap)
	if _, err := m.CopyOut(addr-1, []byte{1, 2}); err != unix.EFAULT {
		t.Errorf("CopyOut below a normal mapping: %v, want EFAULT", err)
	}
}

// TestMajorFaults: a fault that reads file data is major; one served
// from memory (anonymous pages, a copy-on-write break) is minor.
func TestMajorFaults(t *testing.T) {
	f := &fakeFile{t: t, data: pattern(4*pageSize, 3)}
	m, _, _ := newTestMM(t)
	file := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 4 * pageSize, Perms: rw, Private: true, File: f})
	anon := mustMMap(t, m, mm.MMapOpts{Addr: base + 16*pageSize, Fixed: true, Length: pageSize, Perms: rw, Private: true})
	if res := m.HandleFault(file, r, true); res.Signo != 0 || !res.Major {
		t.Errorf("first fault of a file mapping: %+v, want a major fault", res)
	}
	if res := m.HandleFault(anon, w, true); res.Signo != 0 || res.Major {
		t.Errorf("fault of anonymous memory: %+v, want a minor fault", res)
	}
	if res := m.HandleFault(file, w, false); res.Signo != 0 || res.Major {
		t.Errorf("write to a private file page read before: %+v, want a minor fault", res)
	}
}
