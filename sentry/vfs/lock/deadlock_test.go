package lock

import (
	"testing"

	"golang.org/x/sys/unix"
)

func mustLock(t *testing.T, l *Locks, o *owner, typ Type, start, end uint64) {
	t.Helper()
	if err := l.LockRange(o, pidOf(o.name), typ, Range{start, end}, nil); err != nil {
		t.Fatalf("%v %v [%d,%d): %v", o, typ, start, end, err)
	}
}

func checkGraphEmpty(t *testing.T) {
	t.Helper()
	if n := graphLen(); n != 0 {
		t.Errorf("waits-for graph has %d owners, want 0", n)
	}
}

func TestDeadlockTwoOwners(t *testing.T) {
	var l Locks
	a, b := &owner{"A"}, &owner{"B"}
	mustLock(t, &l, a, wr, 0, 1)
	mustLock(t, &l, b, wr, 1, 2)

	wa := newTW()
	doneA := async(func() error { return l.LockRange(a, 1, wr, Range{1, 2}, wa.wait) })
	wa.blocked(t)

	// F_SETLK just fails with EAGAIN; F_SETLKW would deadlock.
	if err := l.LockRange(b, 2, wr, Range{0, 1}, nil); err != unix.EAGAIN {
		t.Errorf("non-blocking: got %v, want EAGAIN", err)
	}
	wb := newTW()
	if err := l.LockRange(b, 2, rd, Range{0, 1}, wb.wait); err != unix.EDEADLK {
		t.Fatalf("blocking: got %v, want EDEADLK", err)
	}
	if len(wb.waiting) != 0 {
		t.Error("deadlocking request waited")
	}
	if inGraph(b) {
		t.Error("EDEADLK left B in the graph")
	}
	expectPending(t, doneA)

	l.ReleasePOSIX(b)
	expectDone(t, doneA, nil)
	l.ReleasePOSIX(a)
	checkGraphEmpty(t)
}

func TestDeadlockThreeOwners(t *testing.T) {
	var l Locks
	a, b, c := &owner{"A"}, &owner{"B"}, &owner{"C"}
	mustLock(t, &l, a, wr, 0, 1)
	mustLock(t, &l, b, wr, 1, 2)
	mustLock(t, &l, c, wr, 2, 3)

	wa, wb, wc := newTW(), newTW(), newTW()
	doneA := async(func() error { return l.LockRange(a, 1, wr, Range{1, 2}, wa.wait) }) // A -> B
	wa.blocked(t)
	doneB := async(func() error { return l.LockRange(b, 2, wr, Range{2, 3}, wb.wait) }) // B -> C
	wb.blocked(t)
	if err := l.LockRange(c, 3, wr, Range{0, 1}, wc.wait); err != unix.EDEADLK { // C -> A
		t.Fatalf("got %v, want EDEADLK", err)
	}
	// F_SETLK is EAGAIN as ever.
	if err := l.LockRange(c, 3, wr, Range{0, 1}, nil); err != unix.EAGAIN {
		t.Fatalf("got %v, want EAGAIN", err)
	}
	expectPending(t, doneA)
	expectPending(t, doneB)

	l.ReleasePOSIX(c) // B gets [2,3), then holds [1,3).
	expectDone(t, doneB, nil)
	wa.blocked(t) // A was woken too, and blocked again on B.
	expectPending(t, doneA)
	l.ReleasePOSIX(b)
	expectDone(t, doneA, nil)
	l.ReleasePOSIX(a)
	checkGraphEmpty(t)
}

func TestDeadlockAcrossInodes(t *testing.T) {
	var l1, l2 Locks
	a, b := &owner{"A"}, &owner{"B"}
	mustLock(t, &l1, a, wr, 0, EOF)
	mustLock(t, &l2, b, rd, 0, EOF)

	wa := newTW()
	doneA := async(func() error { return l2.LockRange(a, 1, wr, Range{0, 1}, wa.wait) })
	wa.blocked(t)
	wb := newTW()
	if err := l1.LockRange(b, 2, rd, Range{50, 60}, wb.wait); err != unix.EDEADLK {
		t.Fatalf("got %v, want EDEADLK", err)
	}
	expectPending(t, doneA)

	// A third inode and owner: C holds l3 and waits on l1 (A); then B wants
	// l3: B -> C -> A -> B.
	var l3 Locks
	c := &owner{"C"}
	mustLock(t, &l3, c, wr, 0, 1)
	wc := newTW()
	doneC := async(func() error { return l1.LockRange(c, 3, wr, Range{0, 1}, wc.wait) })
	wc.blocked(t)
	if err := l3.LockRange(b, 2, wr, Range{0, 1}, wb.wait); err != unix.EDEADLK {
		t.Fatalf("three inodes: got %v, want EDEADLK", err)
	}

	l2.ReleasePOSIX(b)
	expectDone(t, doneA, nil)
	expectPending(t, doneC)
	l1.ReleasePOSIX(a)
	expectDone(t, doneC, nil)
	l1.ReleasePOSIX(c)
	l2.ReleasePOSIX(a)
	l3.ReleasePOSIX(c)
	checkGraphEmpty(t)
}

func TestNoFalseDeadlock(t *testing.T) {
	var l Locks
	a, b, c := &owner{"A"}, &owner{"B"}, &owner{"C"}
	mustLock(t, &l, a, wr, 0, 1)
	mustLock(t, &l, b, wr, 1, 2)

	// A -> B, then C -> A: a chain, not a cycle.
	wa, wc := newTW(), newTW()
	doneA := async(func() error { return l.LockRange(a, 1, wr, Range{1, 2}, wa.wait) })
	wa.blocked(t)
	doneC := async(func() error { return l.LockRange(c, 3, wr, Range{0, 2}, wc.wait) })
	wc.blocked(t)
	expectPending(t, doneC)

	// Being waited for does not stop B from taking other locks.
	if err := l.LockRange(b, 2, rd, Range{5, 6}, newTW().wait); err != nil {
		t.Fatalf("non-conflicting request: %v", err)
	}

	close(wa.intr)
	close(wc.intr)
	expectDone(t, doneA, unix.EINTR)
	expectDone(t, doneC, unix.EINTR)
	l.ReleasePOSIX(a)
	l.ReleasePOSIX(b)
	checkGraphEmpty(t)
}

// TestDeadlockAnyBlocker checks that a cycle through any conflicting owner
// is found, not only through the first one (Linux looks at the first only).
func TestDeadlockAnyBlocker(t *testing.T) {
	var l Locks
	a, b, c := &owner{"A"}, &owner{"B"}, &owner{"C"}
	mustLock(t, &l, a, wr, 100, 101)
	mustLock(t, &l, b, rd, 0, 1)
	mustLock(t, &l, c, rd, 1, 2)
	wc := newTW()
	doneC := async(func() error { return l.LockRange(c, 3, rd, Range{100, 101}, wc.wait) }) // C -> A
	wc.blocked(t)
	if err := l.LockRange(a, 1, wr, Range{0, 2}, newTW().wait); err != unix.EDEADLK { // A -> {B, C}
		t.Fatalf("got %v, want EDEADLK", err)
	}
	close(wc.intr)
	expectDone(t, doneC, unix.EINTR)
	checkGraphEmpty(t)
}

// TestWakeClearsEdges checks that a woken waiter is out of the graph even
// before it runs again, as Linux's __locks_wake_up_blocks does, so that its
// former blocker does not get a false EDEADLK meanwhile.
func TestWakeClearsEdges(t *testing.T) {
	var l Locks
	a, b := &owner{"A"}, &owner{"B"}
	mustLock(t, &l, a, wr, 0, 1)
	mustLock(t, &l, b, wr, 1, 2)

	woken := make(chan struct{})
	gate := make(chan struct{})
	waiting := make(chan struct{}, 10)
	slowWait := func(ch <-chan struct{}) error {
		waiting <- struct{}{}
		<-ch
		woken <- struct{}{}
		<-gate
		return nil
	}
	doneA := async(func() error { return l.LockRange(a, 1, wr, Range{1, 2}, slowWait) })
	<-waiting
	if err := l.LockRange(b, 2, un, Range{0, EOF}, nil); err != nil {
		t.Fatal(err)
	}
	<-woken // A is woken but has not retried yet.
	if inGraph(a) {
		t.Error("woken waiter still in the graph")
	}
	wb := newTW()
	doneB := async(func() error { return l.LockRange(b, 2, wr, Range{0, 1}, wb.wait) })
	wb.blocked(t)
	expectPending(t, doneB) // Blocked on A, not EDEADLK.
	close(gate)
	expectDone(t, doneA, nil)
	l.ReleasePOSIX(a)
	expectDone(t, doneB, nil)
	l.ReleasePOSIX(b)
	checkGraphEmpty(t)
}

// TestMultiThreadedOwner checks that an owner (thread group) with several
// blocked threads keeps one record per thread.
func TestMultiThreadedOwner(t *testing.T) {
	var l1, l2 Locks
	a, b, c := &owner{"A"}, &owner{"B"}, &owner{"C"}
	mustLock(t, &l1, a, wr, 0, 1)
	mustLock(t, &l1, b, wr, 1, 2)
	mustLock(t, &l2, c, wr, 0, 1)

	w1, w2 := newTW(), newTW()
	done1 := async(func() error { return l1.LockRange(a, 1, wr, Range{1, 2}, w1.wait) }) // A(thread 1) -> B
	w1.blocked(t)
	done2 := async(func() error { return l2.LockRange(a, 1, wr, Range{0, 1}, w2.wait) }) // A(thread 2) -> C
	w2.blocked(t)

	if err := l1.LockRange(b, 2, wr, Range{0, 1}, newTW().wait); err != unix.EDEADLK {
		t.Fatalf("B: got %v, want EDEADLK", err)
	}
	if err := l1.LockRange(c, 3, wr, Range{0, 1}, newTW().wait); err != unix.EDEADLK {
		t.Fatalf("C: got %v, want EDEADLK", err)
	}
	close(w1.intr)
	expectDone(t, done1, unix.EINTR)
	// Thread 1 withdrew: B may wait for A now; C still may not.
	wb := newTW()
	doneB := async(func() error { return l1.LockRange(b, 2, wr, Range{0, 1}, wb.wait) })
	wb.blocked(t)
	if err := l1.LockRange(c, 3, wr, Range{0, 1}, newTW().wait); err != unix.EDEADLK {
		t.Fatalf("C after withdrawal: got %v, want EDEADLK", err)
	}
	l2.ReleasePOSIX(c)
	expectDone(t, done2, nil)
	l1.ReleasePOSIX(a)
	expectDone(t, doneB, nil)
	l1.ReleasePOSIX(b)
	l2.ReleasePOSIX(a)
	checkGraphEmpty(t)
}

func TestOFDNoDeadlockDetection(t *testing.T) {
	var l Locks
	f1, f2 := &owner{"F1"}, &owner{"F2"}
	if err := l.LockRangeOFD(f1, wr, Range{0, 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.LockRangeOFD(f2, wr, Range{1, 2}, nil); err != nil {
		t.Fatal(err)
	}
	w1, w2 := newTW(), newTW()
	done1 := async(func() error { return l.LockRangeOFD(f1, wr, Range{1, 2}, w1.wait) })
	w1.blocked(t)
	done2 := async(func() error { return l.LockRangeOFD(f2, wr, Range{0, 1}, w2.wait) })
	w2.blocked(t) // A real deadlock that Linux does not detect either.
	expectPending(t, done1)
	expectPending(t, done2)
	checkGraphEmpty(t)
	close(w1.intr)
	expectDone(t, done1, unix.EINTR)
	l.ReleaseOFD(f1)
	expectDone(t, done2, nil)

	// A POSIX owner waiting on an OFD lock is in the graph, but no cycle can
	// run through the OFD owner.
	p := &owner{"P"}
	mustLock(t, &l, p, wr, 10, 11)
	wp := newTW()
	doneP := async(func() error { return l.LockRange(p, 1, wr, Range{0, 1}, wp.wait) })
	wp.blocked(t)
	wf := newTW()
	doneF := async(func() error { return l.LockRangeOFD(f2, wr, Range{10, 11}, wf.wait) })
	wf.blocked(t)
	expectPending(t, doneP)
	expectPending(t, doneF)
	close(wp.intr)
	close(wf.intr)
	expectDone(t, doneP, unix.EINTR)
	expectDone(t, doneF, unix.EINTR)
	checkGraphEmpty(t)
}
