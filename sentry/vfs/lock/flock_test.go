package lock

import (
	"maps"
	"testing"

	"golang.org/x/sys/unix"
)

// flockState returns each owner's flock(2) lock by name.
func flockState(l *Locks) map[string]Type {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Type)
	for o, t := range l.flocks {
		out[o.(*owner).name] = t
	}
	return out
}

func TestFlockNonBlocking(t *testing.T) {
	type fop struct {
		owner string
		typ   Type
		want  error
	}
	for _, tc := range []struct {
		name string
		ops  []fop
		want map[string]Type
	}{
		{
			name: "shared locks share",
			ops:  []fop{{"A", rd, nil}, {"B", rd, nil}, {"C", rd, nil}},
			want: map[string]Type{"A": rd, "B": rd, "C": rd},
		},
		{
			name: "exclusive excludes shared",
			ops:  []fop{{"A", wr, nil}, {"B", rd, unix.EWOULDBLOCK}},
			want: map[string]Type{"A": wr},
		},
		{
			name: "shared excludes exclusive",
			ops:  []fop{{"A", rd, nil}, {"B", wr, unix.EWOULDBLOCK}},
			want: map[string]Type{"A": rd},
		},
		{
			name: "exclusive excludes exclusive",
			ops:  []fop{{"A", wr, nil}, {"B", wr, unix.EWOULDBLOCK}},
			want: map[string]Type{"A": wr},
		},
		{
			name: "relock same type is a no-op",
			ops:  []fop{{"A", wr, nil}, {"A", wr, nil}, {"A", wr, nil}},
			want: map[string]Type{"A": wr},
		},
		{
			name: "unlock with nothing held",
			ops:  []fop{{"A", un, nil}},
			want: map[string]Type{},
		},
		{
			name: "unlock then other locks",
			ops:  []fop{{"A", wr, nil}, {"A", un, nil}, {"B", wr, nil}},
			want: map[string]Type{"B": wr},
		},
		{
			name: "upgrade alone",
			ops:  []fop{{"A", rd, nil}, {"A", wr, nil}},
			want: map[string]Type{"A": wr},
		},
		{
			name: "downgrade lets readers in",
			ops:  []fop{{"A", wr, nil}, {"A", rd, nil}, {"B", rd, nil}},
			want: map[string]Type{"A": rd, "B": rd},
		},
		{
			// Not atomic: the failed conversion dropped A's shared lock.
			name: "failed upgrade loses the lock",
			ops:  []fop{{"A", rd, nil}, {"B", rd, nil}, {"A", wr, unix.EWOULDBLOCK}, {"B", wr, nil}},
			want: map[string]Type{"B": wr},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Locks
			m := ownerMap()
			for _, o := range tc.ops {
				if err := l.Flock(m[o.owner], o.typ, nil); err != o.want {
					t.Fatalf("%+v: got %v", o, err)
				}
			}
			if got := flockState(&l); !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFlockIndependentOfRecordLocks(t *testing.T) {
	var l Locks
	a, b := &owner{"A"}, &owner{"B"}
	mustLock(t, &l, a, wr, 0, EOF)
	if err := l.LockRangeOFD(a, wr, Range{0, EOF}, nil); err == nil {
		t.Fatal("OFD lock of the same value should conflict with the POSIX lock")
	}
	if err := l.Flock(b, wr, nil); err != nil {
		t.Fatalf("flock with a POSIX lock held: %v", err)
	}
	if err := l.Flock(a, rd, nil); err != unix.EWOULDBLOCK {
		t.Fatalf("got %v, want EWOULDBLOCK", err)
	}
	// Releasing the flock lock leaves record locks alone and vice versa.
	l.ReleaseFlock(b)
	if got := snapshot(&l); len(got) != 1 {
		t.Errorf("record locks changed: %v", got)
	}
	if err := l.Flock(a, wr, nil); err != nil {
		t.Fatal(err)
	}
	l.ReleasePOSIX(a)
	if got := flockState(&l); got["A"] != wr {
		t.Errorf("flock lock changed: %v", got)
	}
}

func TestFlockWaiters(t *testing.T) {
	var l Locks
	os := owners("X", "S1", "S2", "E")
	x := os[0]
	if err := l.Flock(x, wr, nil); err != nil {
		t.Fatal(err)
	}
	ws1, ws2, we := newTW(), newTW(), newTW()
	done1 := async(func() error { return l.Flock(os[1], rd, ws1.wait) })
	ws1.blocked(t)
	done2 := async(func() error { return l.Flock(os[2], rd, ws2.wait) })
	ws2.blocked(t)
	doneE := async(func() error { return l.Flock(os[3], wr, we.wait) })
	we.blocked(t)

	// Record lock activity does not wake flock waiters.
	mustLock(t, &l, x, wr, 0, 1)
	l.ReleasePOSIX(x)
	expectPending(t, done1)

	// Downgrading wakes everyone: the readers get in, the writer waits.
	if err := l.Flock(x, rd, nil); err != nil {
		t.Fatal(err)
	}
	expectDone(t, done1, nil)
	expectDone(t, done2, nil)
	we.blocked(t)
	expectPending(t, doneE)

	l.ReleaseFlock(x)
	we.blocked(t)
	l.ReleaseFile(os[1])
	we.blocked(t)
	expectPending(t, doneE)
	if err := l.Flock(os[2], un, nil); err != nil {
		t.Fatal(err)
	}
	expectDone(t, doneE, nil)
	if got, want := flockState(&l), map[string]Type{"E": wr}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestFlockBlockingConversion shows that a blocking conversion releases the
// old lock first, letting others in before it completes.
func TestFlockBlockingConversion(t *testing.T) {
	var l Locks
	a, b, c := &owner{"A"}, &owner{"B"}, &owner{"C"}
	for _, o := range []*owner{a, b} {
		if err := l.Flock(o, rd, nil); err != nil {
			t.Fatal(err)
		}
	}
	wa := newTW()
	doneA := async(func() error { return l.Flock(a, wr, wa.wait) })
	wa.blocked(t)
	if got, want := flockState(&l), map[string]Type{"B": rd}; !maps.Equal(got, want) {
		t.Errorf("during conversion: got %v, want %v", got, want)
	}
	// C gets a shared lock while A waits to upgrade.
	if err := l.Flock(c, rd, nil); err != nil {
		t.Fatal(err)
	}
	l.ReleaseFlock(b)
	wa.blocked(t)
	expectPending(t, doneA)
	l.ReleaseFlock(c)
	expectDone(t, doneA, nil)
	if got, want := flockState(&l), map[string]Type{"A": wr}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestFlockInterrupted(t *testing.T) {
	var l Locks
	a, b, c := &owner{"A"}, &owner{"B"}, &owner{"C"}
	if err := l.Flock(a, wr, nil); err != nil {
		t.Fatal(err)
	}
	wc := newTW()
	done := async(func() error { return l.Flock(c, rd, wc.wait) })
	wc.blocked(t)
	close(wc.intr)
	expectDone(t, done, unix.EINTR)
	if got, want := flockState(&l), map[string]Type{"A": wr}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	// An interrupted conversion has dropped the old lock.
	if err := l.Flock(a, rd, nil); err != nil { // Downgrade.
		t.Fatal(err)
	}
	if err := l.Flock(b, rd, nil); err != nil {
		t.Fatal(err)
	}
	wa := newTW()
	doneA := async(func() error { return l.Flock(a, wr, wa.wait) })
	wa.blocked(t)
	close(wa.intr)
	expectDone(t, doneA, unix.EINTR)
	if got, want := flockState(&l), map[string]Type{"B": rd}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
