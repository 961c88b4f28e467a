package mm_test

import (
	"testing"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

func expectUsage(t *testing.T, what string, c *mm.MemCgroup, pages int) {
	t.Helper()
	if got := c.Usage(); got != uint64(pages)*pageSize {
		t.Errorf("%s: usage %d pages, want %d", what, got/pageSize, pages)
	}
}

// TryCharge charges only what fits under the limit, counting the charges
// that did not fit, and never signals the OOM killer.
func TestTryCharge(t *testing.T) {
	c := mm.NewMemCgroup()
	c.SetLimit(4 * pageSize)
	if !c.TryCharge(3) {
		t.Fatal("TryCharge(3) under a 4-page limit failed")
	}
	if c.TryCharge(2) {
		t.Fatal("TryCharge(2) past the limit succeeded")
	}
	if c.Failcnt() != 1 {
		t.Errorf("failcnt %d, want 1", c.Failcnt())
	}
	if !c.TryCharge(1) {
		t.Fatal("TryCharge(1) up to the limit failed")
	}
	expectUsage(t, "at the limit", c, 4)
	if c.Peak() != 4*pageSize || c.Over() {
		t.Errorf("peak %d, over %v", c.Peak(), c.Over())
	}
	select {
	case <-c.OverLimit():
		t.Error("TryCharge signalled the OOM killer")
	default:
	}
	var none *mm.MemCgroup
	if !none.TryCharge(100) {
		t.Error("TryCharge on no account failed")
	}
}

// Pages a precharged write or allocation adds to an object are charged to
// the writer's account, once; pages already present cost nothing; the
// pages go back to the account when the object drops them, or when the
// last mapping of a dropped page goes.
func TestSharedMemoryChargedPages(t *testing.T) {
	m1, _, mf := newTestMM(t)
	writer := mm.NewMemCgroup()
	mapper := mm.NewMemCgroup()
	m1.SetMemCgroup(mapper)
	acct := mm.Account{Memcg: writer}
	obj := mm.NewSharedMemory()

	write := func(n int, off int64, pages int64) {
		t.Helper()
		ch, ok := acct.TryPrecharge(pages)
		if !ok {
			t.Fatalf("TryPrecharge(%d) failed", pages)
		}
		if w, err := obj.WriteAtCharged(mf, pattern(n, 1), off, ch); err != nil || w != n {
			t.Fatalf("WriteAtCharged = %d, %v", w, err)
		}
		ch.Release()
	}
	write(3*pageSize, 0, 3)
	expectUsage(t, "after writing 3 pages", writer, 3)
	// Overwriting present pages: the precharge comes back unused.
	write(2*pageSize, pageSize, 2)
	expectUsage(t, "after an overwrite", writer, 3)
	// A precharge short of the pages needed charges the rest as it
	// goes, like a fault would.
	write(2*pageSize, 3*pageSize, 1)
	expectUsage(t, "after a short precharge", writer, 5)

	ch, _ := acct.TryPrecharge(3)
	if err := obj.AllocateCharged(mf, 4*pageSize, 3*pageSize, ch); err != nil {
		t.Fatal(err)
	}
	ch.Release()
	expectUsage(t, "after allocating pages 5 and 6", writer, 7)

	// A shared mapping of the object uses its pages without charging
	// them again; a fault on a hole charges the faulting address space.
	f := &sharedFile{mf: mf, obj: obj, size: 8 * pageSize}
	a := mustMMap(t, m1, mm.MMapOpts{Addr: base, Fixed: true, Length: 8 * pageSize, Perms: rw, File: f})
	mustCopyOut(t, m1, pg(a, 0), []byte("x"))
	mustCopyOut(t, m1, pg(a, 7), []byte("y"))
	expectUsage(t, "writer, after mapping", writer, 7)
	expectUsage(t, "mapper, after faulting the hole", mapper, 1)

	obj.Punch(mf, pageSize, pageSize)
	expectUsage(t, "after punching page 1", writer, 6)
	obj.Truncate(mf, 2*pageSize)
	expectUsage(t, "after truncating to 2 pages", writer, 1)
	expectUsage(t, "mapper, after truncating", mapper, 0)

	// Page 0 is still mapped: it stays charged until the last
	// reference goes.
	obj.DecRef(mf)
	expectUsage(t, "after the object's last reference", writer, 1)
	if err := m1.Munmap(a, 8*pageSize); err != nil {
		t.Fatal(err)
	}
	expectUsage(t, "after unmapping", writer, 0)
	m1.Release()
}

// A precharge that does not fit charges nothing; Reclaim says whether the
// owner made room.
func TestPrechargeOverLimit(t *testing.T) {
	c := mm.NewMemCgroup()
	c.SetLimit(2 * pageSize)
	var asked int64
	acct := mm.Account{Memcg: c, OOM: func(pages int64) bool { asked = pages; return false }}
	if _, ok := acct.TryPrecharge(3); ok {
		t.Fatal("TryPrecharge(3) past a 2-page limit succeeded")
	}
	expectUsage(t, "after a failed precharge", c, 0)
	if acct.Reclaim(3) || asked != 3 {
		t.Errorf("Reclaim: asked for %d", asked)
	}
	if (mm.Account{Memcg: c}).Reclaim(1) {
		t.Error("Reclaim without an OOM path succeeded")
	}
	if ch, ok := (mm.Account{}).TryPrecharge(1 << 40); !ok || ch != nil {
		t.Errorf("TryPrecharge without an account = %v, %v", ch, ok)
	}
}

// MAP_POPULATE stops once the account is past its limit (the caller's
// OOM killer takes over), instead of charging the whole mapping.
func TestPopulateStopsPastLimit(t *testing.T) {
	m, _, _ := newTestMM(t)
	c := mm.NewMemCgroup()
	c.SetLimit(64 * pageSize)
	m.SetMemCgroup(c)
	opts := anon(base, 1024, rw)
	opts.Populate = true
	mustMMap(t, m, opts)
	if !c.Over() {
		t.Errorf("usage %d pages under a 64-page limit after populating 1024", c.Usage()/pageSize)
	}
	// One fault-around window (16 pages) may go past the limit.
	if got := c.Usage() / pageSize; got > 64+16 {
		t.Errorf("usage %d pages after populating past a 64-page limit, want at most one window past it", got)
	}
}

// The address space whose fault took the account past its limit says so
// once, for its task to run the OOM path; another address space of the
// same account that populated nothing does not.
func TestChargedOverTellsTheCharger(t *testing.T) {
	charger, _, _ := newTestMM(t)
	bystander, _, _ := newTestMM(t)
	c := mm.NewMemCgroup()
	c.SetLimit(4 * pageSize)
	charger.SetMemCgroup(c)
	bystander.SetMemCgroup(c)
	addr := mustMMap(t, charger, anon(base, 64, rw))
	var st mm.FaultState
	if res := charger.HandleTaskFault(addr, platform.Write, true, &st); res.Signo != 0 {
		t.Fatalf("fault: signal %d", res.Signo)
	}
	if !c.Over() {
		t.Fatalf("usage %d pages under a 4-page limit after a fault-around window", c.Usage()/pageSize)
	}
	if bystander.TakeChargedOver() {
		t.Errorf("an address space that populated nothing reports a charge past the limit")
	}
	if !charger.TakeChargedOver() {
		t.Errorf("the faulting address space does not report its charge past the limit")
	}
	if charger.TakeChargedOver() {
		t.Errorf("the charge past the limit is reported twice")
	}
}
