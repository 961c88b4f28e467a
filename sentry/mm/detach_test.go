package mm_test

import "testing"

// TestDetachAndReattach: a memory manager that let its address space go
// makes no platform call and does not release it; given it back, it maps
// its pages again as they fault.
func TestDetachAndReattach(t *testing.T) {
	m, as, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 4, rw))
	mustCopyOut(t, m, addr, []byte("kept"))
	as.expectMapped(t, addr, pg(addr, 4), rw)
	if got := m.DetachAddressSpace(); got != as {
		t.Fatalf("DetachAddressSpace returned %v, want the address space", got)
	}
	calls, unmaps := len(as.calls), as.unmaps
	other := mustMMap(t, m, anon(pg(base, 16), 4, rw))
	expectFault(t, m, other, w, faultOK)
	if err := m.Munmap(addr, pageSize); err != nil {
		t.Fatal(err)
	}
	if len(as.calls) != calls || as.unmaps != unmaps {
		t.Errorf("detached: %d MapFile and %d Unmap calls reached the address space", len(as.calls)-calls, as.unmaps-unmaps)
	}

	// The platform removed everything meanwhile (an aborted reload).
	as.Unmap(base, pg(base, 32)-base)
	m.ReattachAddressSpace(as)
	// Nothing is mapped now: unmapping what was faulted in while
	// detached needs no platform call.
	unmaps = as.unmaps
	if err := m.Munmap(other, pageSize); err != nil {
		t.Fatal(err)
	}
	if as.unmaps != unmaps {
		t.Error("reattached: Munmap of a page mapped only while detached called Unmap; want every page unmapped")
	}
	expectFault(t, m, pg(addr, 1), r, faultOK)
	as.expectMapped(t, pg(addr, 1), pg(addr, 2), rw)
	if got := mustCopyIn(t, m, pg(addr, 1), 1); got[0] != 0 {
		t.Errorf("page 1 holds %q", got)
	}

	second, secondAS, _ := newTestMM(t)
	mustMMap(t, second, anon(base, 1, rw))
	second.DetachAddressSpace()
	second.Release()
	if secondAS.released {
		t.Error("a detached memory manager released the address space it let go")
	}
}
